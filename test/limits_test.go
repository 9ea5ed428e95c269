package test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoPromoteNodes (issue #13 §4): in rep_mode=sync with three nodes, node2 is a reporting
// replica (no_promote_nodes=node2). It streams and shows HS:async, but its score stays
// -INFINITY on the primary's monitors and its own, it is never named the synchronous standby
// (node3 is, and earns 100), and a promote there fails with the reason.
func TestNoPromoteNodes(t *testing.T) {
	r := promotedRig(t, "sync", "node1", "node2", "node3")
	r.params["no_promote_nodes"] = "node2"
	node2c, node3c := newStandbyOf(t, r.c, primaryHost), newStandbyOf(t, r.c, primaryHost)
	node2, node3 := r.peer(node2c, "node2"), r.peer(node3c, "node3")
	node2.params["no_promote_nodes"], node3.params["no_promote_nodes"] = "node2", "node2"
	node2.must(t, 0, "start")
	node3.must(t, 0, "start")

	deadline := time.Now().Add(20 * time.Second)
	for r.attr(t, "node3", scoreAttr, "reboot") != "100" {
		if time.Now().After(deadline) {
			t.Fatalf("node3 never became promotable: score %s, synchronous_standby_names %s",
				r.attr(t, "node3", scoreAttr, "reboot"), r.c.sql(t, "show synchronous_standby_names"))
		}
		r.must(t, 8, "monitor")
		time.Sleep(300 * time.Millisecond)
	}
	node2.must(t, 0, "monitor")
	r.must(t, 8, "monitor")
	if got := strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")); got != `"node3"` {
		t.Errorf("synchronous_standby_names = %q, want \"node3\": a no_promote node is never named", got)
	}
	if walReceiverStatus(t, node2c) != "streaming" {
		t.Error("the reporting replica node2 does not stream")
	}
	r.expectAttrs(t, "node2", map[string]string{scoreAttr: "-INFINITY", "pgsqltest-status": "HS:async",
		"pgsqltest-data-status": "STREAMING|ASYNC"})
	r.expectAttrs(t, "node3", map[string]string{scoreAttr: "100", "pgsqltest-status": "HS:sync",
		"pgsqltest-data-status": "STREAMING|SYNC"})

	promoted := node2.run(t, "promote")
	if reasons := promoted.reasons(); promoted.RC != 1 || len(reasons) != 1 || !strings.Contains(reasons[0], "no_promote_nodes") {
		t.Errorf("promote on node2: rc %d, reasons %q; want 1 with one reason naming no_promote_nodes", promoted.RC, reasons)
	}
	if strings.TrimSpace(node2c.sql(t, "select pg_is_in_recovery()")) != "t" {
		t.Error("node2 left recovery")
	}
	node2.must(t, 0, "stop")
	node3.must(t, 0, "stop")
}

// TestMaxLag (issue #13 §4): a standby that is streaming but further behind than max_lag (by
// the primary's view) is lowered to -INFINITY with the reason in the primary's log. The lag
// is made deterministic by stopping the standby's WAL receiver (SIGSTOP): its
// pg_stat_replication row still says streaming, its flush position stays, and the primary
// writes on.
func TestMaxLag(t *testing.T) {
	r := promotedRig(t, "async")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	waitReceived(t, r.c, standby)
	r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Fatalf("node2 not promotable while streaming: %q", got)
	}

	pid, _ := strconv.Atoi(strings.TrimSpace(standby.sql(t, "select coalesce((select pid from pg_stat_wal_receiver), 0)")))
	if pid == 0 || syscall.Kill(pid, syscall.SIGSTOP) != nil {
		t.Fatal("cannot stop the standby's WAL receiver")
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	r.c.sql(t, "CREATE TABLE lagging AS SELECT generate_series(1, 10000) AS x")

	// Without max_lag a few hundred kB behind is within the one-segment bound.
	r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Fatalf("without max_lag node2's score is %q, want 100 (the lag is within one segment)", got)
	}
	r.params["max_lag"] = "1"
	lowered := r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("max_lag=1 and node2 behind: score %q, want -INFINITY", got)
	}
	if !strings.Contains(lowered.Stderr, "more than max_lag=1") {
		t.Errorf("the primary's log does not say why node2 was lowered:\n%s", lowered.Stderr)
	}
	r.expectAttrs(t, "node2", map[string]string{"pgsqltest-status": "HS:async", "pgsqltest-data-status": "STREAMING|ASYNC"})

	// Caught up again, it is promotable again (a generous bound: it only has to catch up once).
	syscall.Kill(pid, syscall.SIGCONT)
	r.params["max_lag"] = "1048576"
	deadline := time.Now().Add(20 * time.Second)
	for r.attr(t, "node2", scoreAttr, "reboot") != "100" {
		if time.Now().After(deadline) {
			t.Fatal("node2 never became promotable again after catching up")
		}
		time.Sleep(300 * time.Millisecond)
		r.must(t, 8, "monitor")
	}
	node2.must(t, 0, "stop")
}

// TestPromotionLimitsValidate (issue #13 §4): bad values of max_lag and no_promote_nodes give
// validate-all rc 6 (OCF_ERR_CONFIGURED) with one exit reason naming the parameter, and
// change nothing on disk.
func TestPromotionLimitsValidate(t *testing.T) {
	r := newReplicationRig(t)
	before := treeDigest(t, r.c.Dir)
	for _, tc := range []struct{ name, value string }{
		{"max_lag", "16MB"}, {"max_lag", "-5"}, {"no_promote_nodes", "node9"}, {"no_promote_nodes", "node1 node2"},
	} {
		r.params[tc.name] = tc.value
		res := r.run(t, "validate-all")
		delete(r.params, tc.name)
		if reasons := res.reasons(); res.RC != 6 || len(reasons) != 1 || !strings.Contains(reasons[0], tc.name) {
			t.Errorf("validate-all %s=%q: rc %d, reasons %q; want 6 and one reason naming %s", tc.name, tc.value, res.RC, reasons, tc.name)
		}
	}
	if after := treeDigest(t, r.c.Dir); after != before {
		t.Error("validate-all changed files")
	}
}
