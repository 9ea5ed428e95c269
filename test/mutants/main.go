// Command mutants plants each listed safety bug (mutations.go) in a copy of the repository,
// runs the test suites against it and reports which the tests kill (issue #10). A mutant that
// survives every suite fails the run. The lab is not run (LAB_AGENTS=none): each mutant is
// judged by the unit tests, the simulator and the acceptance tests on real PostgreSQL.
//
// Usage (as root, from the repository root): go run ./test/mutants [-only NAME]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	only := flag.String("only", "", "run only the mutant with this name")
	keep := flag.Bool("keep", false, "keep the copies (their paths are printed)")
	flag.Parse()
	os.Exit(run(*only, *keep))
}

func run(only string, keep bool) int {
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var survivors, killed []string
	for _, m := range mutations {
		if only != "" && m.Name != only {
			continue
		}
		began := time.Now()
		verdict, err := judge(root, m, keep)
		if err != nil {
			fmt.Printf("%-40s ERROR %v\n", m.Name, err)
			return 2
		}
		fmt.Printf("%-40s %s (%.0fs)\n", m.Name, verdict, time.Since(began).Seconds())
		if strings.HasPrefix(verdict, "killed") {
			killed = append(killed, m.Name)
		} else {
			survivors = append(survivors, m.Name)
		}
	}
	fmt.Printf("mutants: %d killed, %d survived\n", len(killed), len(survivors))
	if len(survivors) > 0 {
		fmt.Printf("survivors: %s\n", strings.Join(survivors, ", "))
		return 1
	}
	return 0
}

// judge plants m in a fresh copy and runs the suites: the tests named in m.KilledBy first (so
// a mutant usually dies in seconds), then every suite in full. Only a mutant that passes
// everything survives.
func judge(root string, m mutation, keep bool) (string, error) {
	dir, err := os.MkdirTemp("/var/tmp", "pgsql-ra-mutant-")
	if err != nil {
		return "", err
	}
	if keep {
		fmt.Println("copy:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := copyTracked(root, dir); err != nil {
		return "", err
	}
	if err := plant(dir, m); err != nil {
		return "", err
	}
	suites := [][]string{}
	if m.KilledBy != "" {
		suites = append(suites, []string{"-run", m.KilledBy, "./agent/", "./pgctl/...", "./test/"})
	}
	suites = append(suites,
		[]string{"./agent/", "./pgctl/...", "./crmattr/", "./metadata/"},
		[]string{"-failfast", "./test/"})
	for _, args := range suites {
		failed, out := goTest(dir, args)
		if brokenBuild(out) {
			// A copy that does not compile kills nothing: the mutation (or the copy) is wrong.
			return "", fmt.Errorf("the mutated copy does not build:\n%s", out)
		}
		if failed {
			return "killed by " + firstFailure(out), nil
		}
	}
	return "SURVIVED", nil
}

func goTest(dir string, args []string) (bool, string) {
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-timeout", "30m"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LAB_AGENTS=none", "SIM_BUDGET=5s", "PGSQL_RA_AGENT=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return err != nil, out.String()
}

func brokenBuild(out string) bool {
	return strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]")
}

func firstFailure(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "--- FAIL: "); ok {
			return strings.Fields(t)[0]
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "FAIL") || strings.Contains(line, "error") {
			return strings.TrimSpace(line)
		}
	}
	return "a failing build"
}

// copyTracked copies the files git tracks, as they are in the working tree.
func copyTracked(root, dir string) error {
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	list, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		if err := copyFile(filepath.Join(root, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	info, err := os.Lstat(from)
	if err != nil || !info.Mode().IsRegular() {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// plant replaces the mutation's From, which must occur exactly once, by To.
func plant(dir string, m mutation) error {
	path := filepath.Join(dir, m.File)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if n := strings.Count(string(b), m.From); n != 1 {
		return fmt.Errorf("%s: the code to mutate occurs %d times in %s (the list is out of date)", m.Name, n, m.File)
	}
	return os.WriteFile(path, []byte(strings.Replace(string(b), m.From, m.To, 1)), 0o644)
}
