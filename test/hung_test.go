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
