package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// execsOf runs one agent action under strace and returns the programs it executed, the
// agent itself first.
func execsOf(t *testing.T, c *cluster, action string) []string {
	t.Helper()
	env := []string{"OCF_RESKEY_CRM_meta_timeout=15000", "OCF_RESKEY_CRM_meta_interval=10000"}
	for k, v := range c.params() {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	return execsOfEnv(t, c, action, env)
}

// execsOfEnv is execsOf with the agent's environment (besides PATH and the instance) given.
func execsOfEnv(t *testing.T, c *cluster, action string, env []string) []string {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatalf("strace not installed (run test/install-deps.sh): %v", err)
	}
	trace := filepath.Join(c.Dir, "trace")
	defer os.Remove(trace)
	cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", trace, agentBinary(t), action)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_RESOURCE_INSTANCE=pgsqltest"}, env...)
	// The action's own exit code is its answer (8 for a primary's monitor), not a failure.
	if out, err := cmd.CombinedOutput(); err != nil {
		if _, exited := err.(*exec.ExitError); !exited {
			t.Fatalf("%s under strace: %v\n%s", action, err, out)
		}
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var programs []string
	for _, line := range strings.Split(string(b), "\n") {
		if _, rest, ok := strings.Cut(line, `execve("`); ok && strings.Contains(line, "= 0") {
			program, _, _ := strings.Cut(rest, `"`)
			programs = append(programs, filepath.Base(program))
		}
	}
	return programs
}

// TestMonitorSpawnsNoChild: a monitor in rep_mode none answers from the pid file and one SQL
// session; it runs no child process (the old agent ran psql through su or runuser, ~35 ms).
func TestMonitorSpawnsNoChild(t *testing.T) {
	c := newCluster(t)
	mustRC(t, 0, "start", c.params(), nil)
	defer mustRC(t, 0, "stop", c.params(), nil)
	programs := execsOf(t, c, "monitor")
	if len(programs) != 1 {
		t.Fatalf("monitor executed %v; want only the agent itself", programs)
	}
	if stop := execsOf(t, c, "stop"); len(stop) != 1 {
		t.Errorf("stop executed %v; want only the agent itself (it signals the postmaster)", stop)
	}
}
