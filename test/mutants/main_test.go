package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMutationsStillApply: every listed mutation's code occurs exactly once in its file, so a
// change that rewrites a mutated line fails here, in make test, and not an hour into make
// mutants (issue #10; twice the list went stale after a review's fix).
func TestMutationsStillApply(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range mutations {
		if names[m.Name] {
			t.Errorf("mutation %s listed twice", m.Name)
		}
		names[m.Name] = true
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join(root, m.File))
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, m.File)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, m.File), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := plant(dir, m); err != nil {
			t.Error(err)
		}
		if m.From == m.To {
			t.Errorf("%s changes nothing", m.Name)
		}
	}
}
