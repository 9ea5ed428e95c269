package test

import (
	"strings"
	"testing"
	"time"
)

// TestReview18PostStopKeepsAnOnlineStandbysWalSender: crm_mon reads this node's replica of
// the CIB, which may trail the DC's: the record of node2's loss is a diff of its own, and a
// replica that failed to apply a diff serves its old copy until the DC resyncs it. With
// requires=quorum the post-stop notification of node2's implied stop comes before its fence;
// a replica that has not recorded the loss shows node2 online and clean (unclean="false"), and
// "clean" was taken for "fenced": node2's walsender was ended, node2 lowered on this side
// only, while it may still run and be promoted on its side. A node shown online is not fenced;
// its walsender stays until crm_mon shows it offline and clean.
func TestReview18PostStopKeepsAnOnlineStandbysWalSender(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)
	syncNames := func() string { return strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")) }
	committed := r.waitingCommit(t) // node2 receives nothing

	r.setClusterOption(t, "stonith-enabled", "true")
	// The replica still shows node2 a member: online, clean.
	r.must(t, 0, "notify", postStopOfNode2...)
	if got := walSender(); got != before {
		t.Errorf("node2 shown online (its loss not recorded here): its walsender %s became %s after the post-stop notification; want it left alone", before, got)
	}
	if got := syncNames(); got != `"node2"` {
		t.Errorf("node2 shown online: synchronous_standby_names = %q after the post-stop notification, want \"node2\" kept", got)
	}
	if !r.commitWaits(t) {
		t.Error("node2 shown online: the commit stopped waiting for node2")
	}

	r.fencedPostStopReleases(t, committed, walSender, before, "node2 fenced")
}

// TestReview18PostStopDoesNotWaitForANodeWithoutAWalSender: the wait for a fence record is for
// a stopped node whose walsender the notification would end. node3, stopped in the same
// transition and still unclean (its fence pending), has no walsender: node2's, fenced, is
// ended at once, not after node3's 3 s.
func TestReview18PostStopDoesNotWaitForANodeWithoutAWalSender(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)
	committed := r.waitingCommit(t) // node2 receives nothing
	r.setClusterOption(t, "stonith-enabled", "true")
	r.cibadmin(t, "--create", "-o", "nodes", "--xml-text", `<node id="3" uname="node3"/>`)
	r.cibadmin(t, "--create", "-o", "status", "--xml-text", `<node_state id="3" uname="node3" in_ccm="false" crmd="offline" join="down" expected="member"/>`)
	r.fenceNode2(t)
	notified := time.Now()
	r.must(t, 0, "notify", "notify_type", "post", "notify_operation", "stop", "notify_stop_uname", "node2 node3")
	if took := time.Since(notified); took > 2500*time.Millisecond {
		t.Errorf("the post-stop notification took %.1f s: it waited for node3's fence record, node3 has no walsender", took.Seconds())
	}
	if !commitReturned(t, committed, notified) {
		t.Error("the commit still waits 10 s after the post-stop notification, node2 fenced")
	}
	if got := walSender(); got == before {
		t.Errorf("node2's walsender %s still runs after the post-stop notification, node2 fenced", got)
	}
}
