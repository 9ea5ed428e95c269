package test

import (
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// runOCFTester runs resource-agents' real ocf-tester against the agent with the given
// parameters and returns its output; it fails the test unless ocf-tester passes.
func runOCFTester(t *testing.T, params map[string]string, extraEnv ...string) string {
	t.Helper()
	tester, err := exec.LookPath("ocf-tester")
	if err != nil {
		t.Fatalf("ocf-tester not installed (run test/install-deps.sh): %v", err)
	}
	args := []string{"-v", "-n", "pgsqltest"}
	var keys []string
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-o", k+"="+params[k])
	}
	args = append(args, agentBinary(t))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tester, args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, extraEnv...)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Fatalf("ocf-tester failed (%v):\n%s", err, out)
	}
	return string(out)
}

// TestOCFTesterStandalone: acceptance 2 of the foundation issue, rep_mode none, the agent
// connecting as pgdba over the socket (peer authentication).
func TestOCFTesterStandalone(t *testing.T) {
	c := newCluster(t)
	out := runOCFTester(t, c.params())
	// rep_mode none answers promote/demote with 3, which ocf-tester reads as "not promotable"
	// instead of aborting (the old agent returned 6 and failed here).
	if !strings.Contains(out, "does not support promotable clones") {
		t.Errorf("ocf-tester did not recognise a non-promotable agent:\n%s", out)
	}
	if pid := c.postmasterPID(); pid != 0 {
		t.Errorf("ocf-tester left PostgreSQL running (pid %d)", pid)
	}
}

// TestOCFTesterMonitorUser: the same with monitor_user/monitor_password: the monitor query
// then authenticates with a password (scram) instead of peer authentication.
func TestOCFTesterMonitorUser(t *testing.T) {
	c := newCluster(t)
	// Password authentication for the monitor role only; everything else stays peer.
	c.prependHBA(t, "local all pgra_monitor scram-sha-256")
	mustRC(t, 0, "start", c.params(), nil)
	c.sql(t, "CREATE ROLE pgra_monitor LOGIN PASSWORD 's3cret pass'")
	mustRC(t, 0, "stop", c.params(), nil)

	params := with(c.params(), "monitor_user", "pgra_monitor", "monitor_password", "s3cret pass",
		"monitor_sql", "select 1")
	out := runOCFTester(t, params)
	if strings.Contains(out, "s3cret") {
		t.Errorf("the monitor password appears in the agent's output:\n%s", out)
	}

	// A wrong password must make the monitor fail (so the test above really used it).
	mustRC(t, 0, "start", c.params(), nil)
	defer mustRC(t, 0, "stop", c.params(), nil)
	r := runAgent(t, "monitor", with(params, "monitor_password", "wrong"), map[string]string{"interval": "10000"})
	if r.RC != 1 || len(r.reasons()) != 1 {
		t.Fatalf("monitor with a wrong password: rc %d, reasons %q, want rc 1 and one reason", r.RC, r.reasons())
	}
	if strings.Contains(r.Stderr, "wrong") {
		t.Errorf("the password appears on stderr: %s", r.Stderr)
	}
}

// TestOCFTesterReplication: ocf-tester's promotable sequence (demote, promote, demote twice,
// promote twice, demote) in rep_mode=async, with node attributes in a CIB file instead of a
// live cluster. The old agent failed here: its demote stopped PostgreSQL, so the next promote
// had nothing to promote. node_list names this node alone: ocf-tester runs actions outside
// any transition, and with another node in node_list a demote keeps PGSQL.lock until a next
// primary acknowledges its WAL, so the restart at the end would (rightly) be refused.
func TestOCFTesterReplication(t *testing.T) {
	r := newReplicationRig(t)
	r.params["node_list"] = "node1"
	params := with(r.params, "CRM_meta_promotable", "true", "CRM_meta_clone_max", "2",
		"CRM_meta_promoted_max", "1", "CRM_meta_notify", "true", "CRM_meta_on_node", "node1")
	out := runOCFTester(t, params, r.extraEnv()...)
	for _, step := range []string{"Testing: demotion of demoted resource", "Testing: promotion of promoted resource"} {
		if !strings.Contains(out, step) {
			t.Errorf("ocf-tester did not run %q:\n%s", step, out)
		}
	}
	if pid := r.c.postmasterPID(); pid != 0 {
		t.Errorf("ocf-tester left PostgreSQL running (pid %d)", pid)
	}
}
