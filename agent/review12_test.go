package agent

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Review 12: the probe file lies in tmpdir, which the postgres user owns. Whatever stands at
// its name (a symbolic link to a file root must keep, a FIFO nobody writes to, a directory),
// the probe must not write or delete anything outside tmpdir, must not hang, and must not
// leave the lock behind (docs/design.md §7).
func TestReview12ProbeLockTrapsInTmpdir(t *testing.T) {
	rec := LockRecord{Event: lockEventPromoted, Node: "node2", Timeline: 2, At: time.Now()}
	for _, tc := range []struct {
		name  string
		plant func(probe, victim string) error
	}{
		{"symlink to a file", func(probe, victim string) error { return os.Symlink(victim, probe) }},
		{"FIFO", func(probe, _ string) error { return syscall.Mkfifo(probe, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, victim := t.TempDir(), rootsFileOutside(t)
			probe := filepath.Join(dir, ".PGSQL.lock.probe")
			if err := tc.plant(probe, victim); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- ProbeLock(dir, rec) }()
			select {
			case err := <-done:
				t.Logf("ProbeLock: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("ProbeLock hangs")
			}
			rootsFileIntact(t, victim)
			if _, err := os.Lstat(LockFile(dir)); err == nil {
				t.Error("ProbeLock created the lock")
			}
		})
	}
}

// Review 12: a directory (or anything unlinkat will not remove) at the probe's fixed name
// refuses every promote, with the reason "cannot create .../PGSQL.lock (is a directory)",
// although PGSQL.lock itself can be written: the admin is sent to the wrong file, and whoever
// can write in tmpdir blocks failovers with a name that nothing else reads (docs/design.md §7).
// The probe must answer for what the lock needs (a writable tmpdir with room), nothing else.
func TestReview12ProbeLockIgnoresWhatStandsAtAFixedName(t *testing.T) {
	dir := t.TempDir()
	rec := LockRecord{Event: lockEventPromoted, Node: "node2", Timeline: 2, At: time.Now()}
	if err := os.Mkdir(filepath.Join(dir, ".PGSQL.lock.probe"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteLock(dir, rec); err != nil {
		t.Fatalf("the lock itself cannot be written: %v", err)
	}
	if err := os.Remove(LockFile(dir)); err != nil {
		t.Fatal(err)
	}
	if err := ProbeLock(dir, rec); err != nil {
		t.Errorf("ProbeLock refuses a tmpdir where the lock can be written: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Errorf("ProbeLock left %v (%v) in tmpdir (only the planted directory was there)", entries, err)
	}
}

// rootsFileOutside is a file of root's outside tmpdir, which a link planted in tmpdir may
// point at; rootsFileIntact fails the test if anything wrote to it.
func rootsFileOutside(t *testing.T) string {
	t.Helper()
	victim := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(victim, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return victim
}

func rootsFileIntact(t *testing.T, victim string) {
	t.Helper()
	if b, err := os.ReadFile(victim); err != nil || string(b) != "root's\n" {
		t.Errorf("the file outside tmpdir changed: %q, %v", b, err)
	}
}
