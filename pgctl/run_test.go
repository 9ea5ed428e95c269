package pgctl

import (
	"os"
	"strings"
	"testing"
)

// TestReadLastLines: the last lines of a child's output, each cut to lineHead bytes, however
// long the lines (pg_waldump prints a message's payload in hex on one line).
func TestReadLastLines(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	long := strings.Repeat("78 ", 100000)
	f.WriteString("first\n" + long + "\nsecond\nthird")
	got := string(readLastLines(f, 3))
	want := long[:lineHead] + "\nsecond\nthird\n"
	if got != want {
		t.Errorf("readLastLines = %.80q... (%d bytes), want %d bytes ending %q", got, len(got), len(want), "second\nthird\n")
	}
}
