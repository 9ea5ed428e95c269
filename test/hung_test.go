package test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHungPostgres: acceptance 5 of the foundation issue. With the postmaster stopped by
// SIGSTOP, monitor and stop answer with an error and a reason before the op timeout, instead
// of being killed by Pacemaker.
func TestHungPostgres(t *testing.T) {
	c := newCluster(t)
	params := c.params()
	mustRC(t, 0, "start", params, nil)
	pid := c.postmasterPID()
	if pid == 0 {
		t.Fatal("no postmaster.pid after start")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)

	const timeout = 5 * time.Second
	meta := map[string]string{"timeout": "5000", "interval": "10000"}
	for _, action := range []string{"monitor", "stop"} {
		r := runAgent(t, action, params, meta)
		if r.RC != 1 {
			t.Errorf("%s of a hung server: rc %d, want 1\n%s", action, r.RC, r.Stderr)
		}
		if r.Duration >= timeout {
			t.Errorf("%s took %v, not less than the %v op timeout", action, r.Duration, timeout)
		}
		reasons := r.reasons()
		if len(reasons) != 1 || !strings.Contains(reasons[0], "PostgreSQL") {
			t.Errorf("%s: exit reasons %q, want one about PostgreSQL", action, reasons)
		}
		t.Logf("%s: rc %d in %v: %q", action, r.RC, r.Duration.Round(time.Millisecond), reasons)
	}

	// Once the server runs again, the shutdown requests it queued take effect.
	syscall.Kill(pid, syscall.SIGCONT)
	mustRC(t, 0, "stop", params, nil)
	mustRC(t, 7, "monitor", params, meta)
}

// TestStoppedPrimaryFailsFast (issue #12, fault 3): a primary whose postmaster is stopped
// (SIGSTOP) accepts connections it never serves. The monitor, the demote and the stop say so
// at once instead of spending their whole timeout (the fenced lab: 55 s, 115 s, and a stop
// that timed out before the node was fenced), so that Pacemaker recovers within seconds; the
// stop's shutdown request takes effect once the postmaster runs again.
func TestStoppedPrimaryFailsFast(t *testing.T) {
	r := promotedRig(t, "async")
	pid := r.c.postmasterPID()
	if pid == 0 || syscall.Kill(pid, syscall.SIGSTOP) != nil {
		t.Fatal("cannot stop the postmaster")
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	for _, action := range []string{"monitor", "demote", "stop"} {
		res := r.run(t, action, "timeout", "30000")
		if res.RC != 1 || res.Duration > 5*time.Second {
			t.Errorf("%s of a stopped primary: rc %d after %v, want 1 within 5 s\n%s", action, res.RC, res.Duration, res.Stderr)
		}
		if reasons := res.reasons(); len(reasons) != 1 || !strings.Contains(reasons[0], "stopped") {
			t.Errorf("%s: reasons %q, want one saying the server is stopped", action, reasons)
		}
	}
	syscall.Kill(pid, syscall.SIGCONT)
	for deadline := time.Now().Add(30 * time.Second); r.c.postmasterPID() != 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	r.must(t, 7, "monitor")
}
