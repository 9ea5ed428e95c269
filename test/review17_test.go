package test

import (
	"strings"
	"testing"
	"time"
)

// TestReview17PostStopKeepsAnUncleanStandbysWalSender (docs/design.md §4, "A stopped
// standby's walsender"): stonith-enabled is the cluster's, but Pacemaker orders a lost node's
// implied stop, and so the post-stop notification, after its fence only for a resource that
// requires fencing. With requires=quorum (or nothing) the notification names the node while
// its fence is still pending or failing, and crm_mon shows it UNCLEAN: the node may still
// run, connected to the primary over a path the cluster lost, and be the one its side
// promotes. Its walsender must stay (the commit keeps waiting, node2 stays named) until the
// node is fenced; then the same notification ends it.
func TestReview17PostStopKeepsAnUncleanStandbysWalSender(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)
	syncNames := func() string { return strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")) }
	committed := r.waitingCommit(t) // node2 receives nothing

	r.setClusterOption(t, "stonith-enabled", "true")
	// Lost, not fenced: crm_mon shows node2 UNCLEAN (offline).
	r.cibadmin(t, "--modify", "--xml-text", `<node_state id="2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="member"/>`)
	r.must(t, 0, "notify", postStopOfNode2...)
	if got := walSender(); got != before {
		t.Errorf("node2 unclean (not fenced): its walsender %s became %s after the post-stop notification; want it left alone", before, got)
	}
	if got := syncNames(); got != `"node2"` {
		t.Errorf("node2 unclean (not fenced): synchronous_standby_names = %q after the post-stop notification, want \"node2\" kept", got)
	}
	if !r.commitWaits(t) {
		t.Error("node2 unclean (not fenced): the commit stopped waiting for node2")
	}

	// Fenced: node2 is offline and clean.
	r.cibadmin(t, "--modify", "--xml-text", `<node_state id="2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="down"/>`)
	notified := time.Now()
	r.must(t, 0, "notify", postStopOfNode2...)
	if !commitReturned(t, committed, notified) {
		t.Error("the commit still waits 10 s after the post-stop notification, node2 fenced")
	}
	if got := walSender(); got == before {
		t.Errorf("node2's walsender %s still runs after the post-stop notification, node2 fenced", got)
	}
}
