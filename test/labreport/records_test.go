package labreport

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRunTime(t *testing.T) {
	for _, name := range []string{"2026-11-28-0429.jsonl", "faults-2026-11-28-0429.jsonl"} {
		at, err := RunTime(filepath.Join("/nonexistent", name))
		if err != nil || !at.Equal(time.Date(2026, 11, 28, 4, 29, 0, 0, time.UTC)) {
			t.Errorf("RunTime(%s) = %v, %v; want 2026-11-28 04:29 UTC from the name", name, at, err)
		}
	}
	path := filepath.Join(t.TempDir(), "records.jsonl")
	os.WriteFile(path, nil, 0o644)
	mtime := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	os.Chtimes(path, mtime, mtime)
	if at, err := RunTime(path); err != nil || !at.Equal(mtime) {
		t.Errorf("RunTime without a time in the name = %v, %v; want the modification time %v", at, err, mtime)
	}
	if _, err := RunTime(filepath.Join(t.TempDir(), "x.jsonl")); err == nil {
		t.Errorf("RunTime of a missing file without a time in its name: no error")
	}
}
