package safefs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// byName are the os calls that resolve a path and act on what they find: outside this
// package they would let the database owner steer the root agent (#11).
var byName = regexp.MustCompile(`\bos\.(Chown|Lchown|Chmod|ReadFile|Open|OpenFile|Create|WriteFile|Mkdir|MkdirAll|Remove|RemoveAll|Rename|Truncate|Symlink|Link)\(`)

// allowed are the exceptions, each a file and the text of the call, with the reason it
// touches no path pgdba controls.
var allowed = []struct{ file, call, why string }{
	{"pgctl/postmaster.go", `os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))`, "/proc, written by the kernel"},
	{"pgctl/postmaster.go", `os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))`, "/proc, written by the kernel"},
	{"pgctl/run.go", `os.Remove(f.Name())`, "the agent's own temporary file, just created by os.CreateTemp in root's TMPDIR"},
	{"agent/log.go", `os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)`, "HA_LOGFILE/HA_DEBUGLOG, root's logs named by Pacemaker"},
}

// TestNoPathCallsOutsideSafefs greps the non-test Go sources of agent/ and pgctl/ for os
// calls by path; every one must be in allowed.
func TestNoPathCallsOutsideSafefs(t *testing.T) {
	var found int
	for dir, label := range map[string]string{"../../agent": "agent", "..": "pgctl"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go sources in %s: %v", dir, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rel := label + "/" + filepath.Base(file)
			for n, line := range strings.Split(string(b), "\n") {
				if !byName.MatchString(line) {
					continue
				}
				found++
				if !isAllowed(rel, line) {
					t.Errorf("%s:%d calls the os package by path; use pgctl/safefs (or add a justified exception): %s",
						rel, n+1, strings.TrimSpace(line))
				}
			}
		}
	}
	if found < len(allowed) {
		t.Errorf("found %d calls, fewer than the %d allowed ones: is the grep still looking?", found, len(allowed))
	}
}

func isAllowed(file, line string) bool {
	for _, a := range allowed {
		if a.file == file && strings.Contains(line, a.call) {
			return true
		}
	}
	return false
}
