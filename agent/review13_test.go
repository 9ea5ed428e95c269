package agent

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 13 (docs/design.md §7): ProbeLock stands for WriteLock before the promote's first
// write, but it looks only at tmpdir, never at what stands at PGSQL.lock. WriteLock refuses a
// PGSQL.lock that is not a regular file (a directory, a symbolic link, a FIFO: safefs never
// replaces or follows one), so with one there (tmpdir belongs to the postgres user, who can
// put one there while the node runs as a standby) the probe passes and the promote is refused
// only at WriteLock, after it published its pending promote point, which then outlives the
// refusal (review 11: a pending point keeps the crashed primary from running as a locked
// standby and leaves every rejoin compared with the chain undecided). Whatever WriteLock
// would refuse, the probe must refuse, and it must leave what it found as it was.
func TestReview13ProbeLockAnswersForWhatStandsAtTheLock(t *testing.T) {
	rec := LockRecord{Event: lockEventPromoted, Node: "node2", Timeline: 2, At: time.Now()}
	for _, tc := range []struct {
		name  string
		plant func(lock, victim string) error
	}{
		{"directory", func(lock, _ string) error { return os.Mkdir(lock, 0o700) }},
		{"symlink to a file", func(lock, victim string) error { return os.Symlink(victim, lock) }},
		{"FIFO", func(lock, _ string) error { return syscall.Mkfifo(lock, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, victim := t.TempDir(), rootsFileOutside(t)
			lock := LockFile(dir)
			if err := tc.plant(lock, victim); err != nil {
				t.Fatal(err)
			}
			before, err := os.Lstat(lock)
			if err != nil {
				t.Fatal(err)
			}
			werr := WriteLock(dir, rec)
			if werr == nil {
				t.Fatalf("WriteLock replaced a %s at PGSQL.lock: the test proves nothing", tc.name)
			}
			perr := ProbeLock(dir, rec)
			if perr == nil {
				t.Errorf("ProbeLock passes a tmpdir whose PGSQL.lock is a %s, which WriteLock then refuses: %v", tc.name, werr)
			}
			after, err := os.Lstat(lock)
			if err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
				t.Errorf("the %s at PGSQL.lock changed: %v, %v", tc.name, after, err)
			}
			rootsFileIntact(t, victim)
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
				t.Errorf("ProbeLock left %v (%v) in tmpdir (only the planted %s was there)", entries, err, tc.name)
			}
		})
	}
	// A regular lock (a locked standby's own, a demote's) is what WriteLock replaces: the
	// probe passes it and leaves it as it was.
	dir := t.TempDir()
	if err := os.WriteFile(LockFile(dir), []byte("event=demoted\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ProbeLock(dir, rec); err != nil {
		t.Errorf("ProbeLock refuses a tmpdir holding a regular PGSQL.lock: %v", err)
	}
	if b, err := os.ReadFile(LockFile(dir)); err != nil || string(b) != "event=demoted\n" {
		t.Errorf("ProbeLock changed the lock: %q, %v", b, err)
	}
}

// Review 13 (docs/design.md §1, I6): pgctl.Run answers up to pgctl.MaxOverrun after its
// deadline (commit 3925f2c: SIGTERM, killGrace, SIGKILL, killGrace more for a child in
// uninterruptible sleep, then it answers anyway), "within the safety margin" as its comment
// says. The margin is a tenth of the timeout but at least 0.5 s, so for every timeout under
// 10 s (a monitor, notify or start configured with timeout=5s; the defaults are 30 s and
// more) a child in D state at the deadline (a hung disk or NFS) makes the action answer after
// Pacemaker's timeout: Pacemaker then records a timeout instead of the agent's exit reason
// and answer, which I6 promises never happens. The overrun must fit in the
// smallest margin, with room left for the agent's exit (its reason and log lines).
func TestReview13RunOverrunFitsTheSafetyMargin(t *testing.T) {
	const exitRoom = 50 * time.Millisecond
	for _, timeout := range []time.Duration{time.Second, 5 * time.Second, 9 * time.Second} {
		if margin := SafetyMargin(timeout); pgctl.MaxOverrun+exitRoom > margin {
			t.Errorf("timeout %v: pgctl.Run may answer %v after the deadline, the margin is %v: the action answers after Pacemaker's timeout",
				timeout, pgctl.MaxOverrun, margin)
		}
	}
}
