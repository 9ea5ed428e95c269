package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs labctl with args and returns its exit code, stdout and stderr.
func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRunBadArguments(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"faults-report"},
		{"faults-report", "a.jsonl", "b.jsonl"},
		{"faults-report", "-nope", "a.jsonl"},
		{"faults-report", "-note"},
		{"bench-report"},
		{"bench-report", "-agents"},
		{"bench-report", "a.jsonl", "b.jsonl"},
		{"faults", "-runs", "0"},
		{"faults", "-faults", "1 99"},
		{"faults", "-faults", "primary-kil"},
		{"soak", "-sequence", "1 primary-kill"},
		{"faults", "-agents", "pgpool"},
		{"faults", "-agents", ""},
		{"faults", "1"},
		{"faults", "-results", ""},
		{"soak", "-duration", "-1s"},
		{"soak", "-duration", "thirty"},
		{"soak", "-seed", "x"},
		{"bench", "-rounds", "0"},
		{"bench", "-load-tps", "-1"},
		{"bench", "-agents", "stock,pgpool"},
	} {
		code, stdout, stderr := run(args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "usage: labctl faults") || !strings.Contains(stderr, "labctl bench-report") {
			t.Errorf("labctl %q: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", args, code, stdout, stderr)
		}
	}
	if _, _, stderr := run("frobnicate"); !strings.HasPrefix(stderr, `labctl: unknown command "frobnicate"`) {
		t.Errorf("unknown command: stderr %q", stderr)
	}
	// A driver refused for its arguments writes nothing (the results directory is not made).
	results := filepath.Join(t.TempDir(), "results")
	if code, _, stderr := run("faults", "-runs", "0", "-results", results); code != 2 || !strings.HasPrefix(stderr, "labctl faults: -runs 0: at least 1") {
		t.Errorf("faults -runs 0: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(results); !os.IsNotExist(err) {
		t.Errorf("a refused run touched %s: %v", results, err)
	}
	if code, stdout, stderr := run("help"); code != 0 || !strings.HasPrefix(stdout, "usage: labctl") || stderr != "" {
		t.Errorf("labctl help: %d, %q, %q", code, stdout, stderr)
	}
}

// records is the path of a copy of ../labreport/testdata/name in a fresh directory, where
// labctl may write its reports: the records only (the committed reports are removed, so
// that a report found there is labctl's).
func records(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "labreport", "testdata"))); err != nil {
		t.Fatal(err)
	}
	reports, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, r := range reports {
		if err := os.Remove(r); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// faults-report on the committed run of 2026-11-28 04:25 writes its .md again: the same from
// the table on (the header's run facts are not in the records, the note stands for them).
func TestFaultsReport(t *testing.T) {
	raw := records(t, "faults-2026-11-28-0425.jsonl")
	code, stdout, stderr := run("faults-report", "-note", "Re-rendered.", raw)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	md := readFile(t, strings.TrimSuffix(raw, ".jsonl")+".md")
	if stdout != md+"\n(written to "+strings.TrimSuffix(raw, ".jsonl")+".md)\n" {
		t.Errorf("stdout is not the .md and where it went:\n%s", stdout)
	}
	if !strings.HasPrefix(md, "# pgsql-ra fault matrix (issue #12 §3)\n\nRe-rendered. Raw records: faults-2026-11-28-0425.jsonl.\n\n| fault | ours |\n") {
		t.Errorf("header:\n%s", md)
	}
	_, want, _ := strings.Cut(readFile(t, "../labreport/testdata/faults-2026-11-28-0425.md"), "\n| fault |")
	if _, got, _ := strings.Cut(md, "\n| fault |"); got != want || want == "" {
		t.Errorf("from the table on:\n%s\nwant (the committed .md):\n%s", got, want)
	}
}

func TestFaultsReportMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "faults-none.jsonl")
	code, stdout, stderr := run("faults-report", missing)
	if code != 1 || stdout != "" || !strings.Contains(stderr, missing) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the error naming the file", code, stdout, stderr)
	}
}

// bench-report on the committed run of 2026-11-28 04:29 writes its .md again: the title's
// time from the file's name, the columns from the records, the same table and legend.
func TestBenchReport(t *testing.T) {
	raw := records(t, "2026-11-28-0429.jsonl")
	committed := readFile(t, "../labreport/testdata/2026-11-28-0429.md")
	header, _, _ := strings.Cut(committed, "\n| metric |")
	note := strings.TrimSuffix(strings.SplitN(header, "\n\n", 2)[1], " Raw records: 2026-11-28-0429.jsonl.\n")
	if _, err := exec.LookPath("gnuplot"); err != nil {
		committed = strings.Replace(committed, "\n![failover timelines: one bar per power cut](2026-11-28-0429-failover.png)\n", "", 1)
	}
	code, stdout, stderr := run("bench-report", "-note", note, raw)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	md := readFile(t, strings.TrimSuffix(raw, ".jsonl")+".md")
	if md != committed {
		t.Errorf(".md differs from the committed one:\n%s\nwant:\n%s", md, committed)
	}
	if !strings.Contains(stdout, "| M CPU ms per monitor, primary, p50 | ≤ 10 |") || !strings.HasSuffix(stdout, "(written to "+strings.TrimSuffix(raw, ".jsonl")+".md and "+raw+")\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestBenchReportAgents(t *testing.T) {
	raw := records(t, "bench-small.jsonl")
	if code, _, stderr := run("bench-report", "-agents", "ours,paf", raw); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if md := readFile(t, strings.TrimSuffix(raw, ".jsonl")+".md"); !strings.Contains(md, "\n| metric | target | ours | paf | ours/stock | ours/paf |\n") {
		t.Errorf("-agents ours,paf: columns:\n%s", md)
	}
	if code, _, stderr := run("bench-report", raw); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if md := readFile(t, strings.TrimSuffix(raw, ".jsonl")+".md"); !strings.Contains(md, "\n| metric | target | stock | ours | ours/stock | ours/paf |\n") {
		t.Errorf("without -agents: the records' agents, stock first:\n%s", md)
	}
}
