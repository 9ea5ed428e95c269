package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A dirty power cycle of the whole cluster (issue #13 §3): the standby loses power first, the
// primary commits alone, then loses power too. The crashed primary holds the newest data and
// its promote lock. It starts as a standby that follows no primary, its lock kept, wins the
// election and is promoted; the stale standby, booted first, never claims.

// dirtyPowerCycle leaves node1 (the rig's promoted primary) crashed after committing row 7,
// which node2 (crashed before it) lacks, and node2 started again as a standby with no primary
// to follow.
func dirtyPowerCycle(t *testing.T, restartOnPromote bool) (*replicationRig, *cluster, *rigPeer) {
	t.Helper()
	r, standby, node2 := rejoinRig(t, restartOnPromote)
	r.c.sql(t, "INSERT INTO audit VALUES (1)")
	waitAuditRow(t, standby, 1, "node2 does not stream from node1")
	standby.crashPostmaster(t)
	r.must(t, 8, "monitor") // node1 writes node2 off
	if got := r.attr(t, "node2", "pgsqltest-data-status", "forever"); got != "DISCONNECT" {
		t.Fatalf("node2's data-status %q after its crash, want DISCONNECT", got)
	}
	r.c.sql(t, "INSERT INTO audit VALUES (7)")
	r.c.kill(t)
	node2.must(t, 0, "stop") // what is left of its crashed PostgreSQL
	node2.must(t, 0, "start")
	return r, standby, node2
}

// lockFileOf is node c's PGSQL.lock in the rig's layout.
func lockFileOf(c *cluster) string { return filepath.Join(c.Dir, "tmp", "PGSQL.lock") }

// startLockedStandby starts the crashed node1 and checks that it runs as a standby that
// follows no primary, its lock kept.
func startLockedStandby(t *testing.T, r *replicationRig) {
	t.Helper()
	started := r.must(t, 0, "start")
	if !strings.Contains(started.Stderr, "follows no primary") {
		t.Errorf("the start does not say it follows no primary:\n%s", started.Stderr)
	}
	if !r.inRecovery(t) {
		t.Fatal("node1 did not start as a standby")
	}
	if got := strings.TrimSpace(r.c.sql(t, "show primary_conninfo")); got != "" {
		t.Errorf("node1 runs locked with primary_conninfo %q, want none", got)
	}
	if content, err := os.ReadFile(lockFileOf(r.c)); err != nil || !strings.Contains(string(content), "event=promoted") {
		t.Errorf("node1's promote lock after its start: %q, %v", content, err)
	}
	// Only the election, which compares positions, may make it promotable.
	if got := r.attr(t, "node1", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("the locked standby's score after its start is %q, want -INFINITY until it wins the election", got)
	}
}

// With restart_on_promote=true too (the CFEngine guide's setting): a later promotion would
// have published its point before promoting, so the locked node's own point being the latest
// proves none came after it.
func TestDirtyPowerCycleNewestNodeWins(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "pg_promote", true: "restart_on_promote"}[restart], func(t *testing.T) {
			t.Parallel() // its own rigs (ports, directories): CI time, at most -parallel at once
			r, standby, node2 := dirtyPowerCycle(t, restart)
			// The stale node booted first waits: it was written off, and node1 may hold newer data.
			for range 4 {
				node2.must(t, 0, "monitor")
			}
			if got := r.attr(t, "node2", scoreAttr, "reboot"); got == "1000" || got == "100" {
				t.Fatalf("the stale node2 made itself promotable (score %s) with node1 still down", got)
			}
			startLockedStandby(t, r)
			var score string
			for i := 0; i < 10 && score != "1000"; i++ {
				r.must(t, 0, "monitor")
				node2.must(t, 0, "monitor")
				score = r.attr(t, "node1", scoreAttr, "reboot")
			}
			if score != "1000" {
				t.Fatalf("node1, holding the newest data, never won the election (score %q)", score)
			}
			if got := r.attr(t, "node2", scoreAttr, "reboot"); got == "1000" || got == "100" {
				t.Fatalf("node2 promotable (score %s) beside node1's claim", got)
			}
			r.must(t, 0, "promote", "notify_promote_uname", "node1")
			if r.inRecovery(t) {
				t.Fatal("node1 still in recovery after its promote")
			}
			if got := strings.TrimSpace(r.c.sql(t, "select count(*) from audit where id in (1, 7)")); got != "2" {
				t.Fatalf("the promoted node1 has %s of the rows 1 and 7, want both", got)
			}
			r.c.sql(t, "INSERT INTO audit VALUES (8)")
			waitAuditRow(t, standby, 8, "node2 does not follow the promoted node1")
			r.must(t, 8, "monitor")
			node2.must(t, 0, "stop")
		})
	}
}

// Once a primary runs elsewhere, the locked standby fails its monitor so that a restart checks
// the rejoin evidence; it never starts following while locked. Its postgresql.auto.conf
// names a primary and an archive (pg_basebackup -R writes primary_conninfo there) and a
// recovery target (a point-in-time restore leaves one), which would override the agent's
// empty values: the start's command line pins them (reviews 30, 31), after start_opt,
// whose comment pg_ctl's shell must not extend over the pins (review 33).
func TestLockedStandbyFailsWhenAPrimaryRunsElsewhere(t *testing.T) {
	r, _, node2 := dirtyPowerCycle(t, false)
	r.params["start_opt"] = "-c work_mem=8MB # sized for the nightly batch"
	r.c.appendAutoConf(t, fmt.Sprintf("primary_conninfo = 'host=%s port=%d user=postgres'\nrestore_command = 'cp /nonexistent/%%f %%p'\n"+
		"recovery_target_timeline = 'latest'\nrecovery_target_time = '2000-01-01 00:00:00+00'\nrecovery_target_action = 'promote'\n"+
		"archive_cleanup_command = 'pg_archivecleanup /nonexistent %%r'\npromote_trigger_file = '/nonexistent/promote'\n", primaryHost, r.c.Port))
	startLockedStandby(t, r)
	for _, name := range []string{"restore_command", "recovery_target_timeline", "recovery_target_time", "work_mem", "archive_cleanup_command", "promote_trigger_file"} {
		if got, want := strings.TrimSpace(r.c.sql(t, "show "+name)), map[string]string{"recovery_target_timeline": "current", "work_mem": "8MB"}[name]; got != want {
			t.Errorf("the locked standby's %s is %q, want %q", name, got, want)
		}
	}
	r.useCIB(t, "two-nodes-node2-promoted.xml")
	mon := r.must(t, 1, "monitor")
	if reasons := mon.reasons(); len(reasons) != 1 || !strings.Contains(reasons[0], "follows no primary") {
		t.Errorf("exit reasons %q, want one saying the locked standby follows no primary", reasons)
	}
	if _, err := os.Stat(lockFileOf(r.c)); err != nil {
		t.Errorf("node1's lock after the failed monitor: %v", err)
	}
	if got := strings.TrimSpace(r.c.sql(t, "show primary_conninfo")); got != "" {
		t.Errorf("node1 follows %q while locked", got)
	}
	r.must(t, 0, "stop")
	node2.must(t, 0, "stop")
}
