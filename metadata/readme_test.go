package metadata

import (
	"os"
	"strings"
	"testing"
)

const (
	readmePath  = "../README.md"
	paramsBegin = "<!-- parameters:begin (generated: go test ./metadata -update) -->\n"
	paramsEnd   = "<!-- parameters:end -->"
)

// TestREADMEParameters keeps README's parameter table equal to the one parameter table;
// `go test ./metadata -update` rewrites it.
func TestREADMEParameters(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	begin, end := strings.Index(readme, paramsBegin), strings.Index(readme, paramsEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the markers %q ... %q", paramsBegin, paramsEnd)
	}
	got := readme[begin+len(paramsBegin) : end]
	want := MarkdownTable()
	if got == want {
		return
	}
	if *update {
		readme = readme[:begin+len(paramsBegin)] + want + readme[end:]
		if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's parameter table differs from metadata.Params; run go test ./metadata -update")
}
