package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 23 (hostile review of c17f43f). Findings 2 and 4 were fixed. 1a and 1c were fixed
// (an unnumbered mark past the latest fork passed) until review 25 showed a timeline number
// reused after a rebuild lets a stale one pass: 1a, 1b, 1c and 3 are kept as refusals, and
// their tests below pin that and say why.

func r23Point(node string, seq uint64) string {
	return PromoteChain{{Node: node, OldTLI: 1, Fork: 0x4000000, NewTLI: 2, Seq: seq}}.Attribute()
}

func r23Set(t *testing.T, fake *crmattr.Fake, node string, attrs map[string]string) {
	t.Helper()
	for name, value := range attrs {
		if err := fake.Set(context.Background(), node, name, value, crmattr.Forever); err != nil {
			t.Fatal(err)
		}
	}
}

// Finding 1a, kept: the agent before c17f43f published promote points (since issue #13)
// but wrote the mark without a number ("<tli>:<lsn>"). node1 (old binary, primary of
// promotion #4) is switched over to node2 (new binary): the unnumbered mark cannot tell this
// run from an earlier one, so node2 refuses while node1 is online, and waits for its WAL
// once crm_mon shows it fenced. The README's "Upgrading pgsql-ra" says to install the new
// build on every node before the next switchover.
func TestReview23PreviousAgentsMarkNeedsAFence(t *testing.T) {
	n := Notification{Present: true, Promote: []string{"node2"}, Demote: []string{"node1"}}
	reads := MarkReads{
		Marks:  map[string]AttrRead{"node1": {Value: "2:0000000005000028", Found: true}},
		Points: map[string]AttrRead{"node1": {Value: r23Point("node1", 4), Found: true}},
	}
	if demands, err := PromoteDemands("node2", n, reads, map[string]bool{}); err == nil {
		t.Errorf("an earlier build's unnumbered mark, node1 online: promote allowed (demands %v)", demands)
	}
	if demands, err := PromoteDemands("node2", n, reads, map[string]bool{"node1": true}); err != nil || len(demands) != 1 {
		t.Errorf("an earlier build's unnumbered mark, node1 fenced: demands %v, error %v; want its WAL waited for", demands, err)
	}
}

// Finding 1b, kept: the previous agent's demote of a crashed primary publishes "none", with
// no number and no position. node1 (old binary) is online, PostgreSQL crashed: Pacemaker
// demotes node1, promotes node2 (new binary). The same unnumbered "none" could be left from
// a crash before node1's promotion #4, so it proves nothing about the run of #4: node2
// refuses while node1 is online and promotes once crm_mon shows it fenced. The cost falls on
// a rolling upgrade only (README, "Upgrading").
func TestReview23PreviousAgentsNoneMarkNeedsAFence(t *testing.T) {
	n := Notification{Present: true, Promote: []string{"node2"}, Demote: []string{"node1"}}
	reads := MarkReads{
		Marks:  map[string]AttrRead{"node1": {Value: "none", Found: true}},
		Points: map[string]AttrRead{"node1": {Value: r23Point("node1", 4), Found: true}},
	}
	if _, err := PromoteDemands("node2", n, reads, map[string]bool{}); err == nil {
		t.Errorf("an unnumbered none, node1 promoted as #4 and online: promote allowed")
	}
	if _, err := PromoteDemands("node2", n, reads, map[string]bool{"node1": true}); err != nil {
		t.Errorf("an unnumbered none, node1 fenced: promote refused: %v", err)
	}
}

// Finding 1c, kept: the same unnumbered mark does not switch the pre-promote guard off (3+
// nodes): a standby ahead of the promotee locks itself, where the mark may be one a later
// promotion of node1 outlived.
func TestReview23PreviousAgentsMarkKeepsTheGuardUp(t *testing.T) {
	fake := &crmattr.Fake{}
	r23Set(t, fake, "node1", map[string]string{"pgsql-demoted-lsn": "2:0000000005000028", "pgsql-promote-point": r23Point("node1", 4)})
	r := r22Replica(t, "node3", []string{"node1", "node2", "node3"}, []string{"node1"}, fake, nil)
	if r.handsOver(context.Background(), []string{"node1"}) {
		t.Errorf("an earlier build's unnumbered mark of node1, promoted as #4, switched the guard off")
	}
}

// Finding 2 (availability): a primary whose lock carries no promote_seq (an admin removed
// PGSQL.lock while it ran, docs §5 "lifted by ... an admin"; a lock tmpdir cannot read) but
// which published promote point #4. PostgreSQL crashes; the real demote publishes
// "none:0", which MarkOfLatestRun reads as "promoted since (#4)": node2's failover refuses
// while node1 is online. Before c17f43f "none" made it a failover.
func TestReview23CrashedPrimaryWithoutLockSeqRefusesFailover(t *testing.T) {
	fake := &crmattr.Fake{}
	r23Set(t, fake, "node1", map[string]string{"pgsql-promote-point": r23Point("node1", 4)})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	node1 := r22Replica(t, "node1", []string{"node1", "node2"}, []string{"node1"}, fake, nil)
	node1.a.Env.Action = "demote"
	node1.a.Env.Notify.Promote = []string{"node2"}
	node1.c.PgData = t.TempDir() // no postmaster.pid: PostgreSQL crashed
	if err := node1.demote(ctx); err != nil {
		t.Fatalf("demote: %v", err)
	}
	mark, _, _ := fake.Get(ctx, "node1", "pgsql-demoted-lsn", crmattr.Forever)
	tools := func(ctx context.Context, argv []string) ([]byte, int, error) {
		return monDoc(true, `<node name="node1" online="true" unclean="false"/>`, `<node name="node2" online="true" unclean="false"/>`), 0, nil
	}
	node2 := r22Replica(t, "node2", []string{"node1", "node2"}, []string{"node1"}, fake, tools)
	st := pgctl.LocalState{InRecovery: true, Timeline: 2, ReplayLSN: 0x7000000}
	if _, err := node2.awaitDemotedPrimaries(ctx, &st); err != nil {
		t.Errorf("node1's demote published %q; failover refused: %v", mark, err)
	}
}

// flakyPoints fails every read of <rsc>-promote-point.
type flakyPoints struct{ *crmattr.Fake }

func (f flakyPoints) Get(ctx context.Context, node, name string, lt crmattr.Lifetime) (string, bool, error) {
	if strings.HasSuffix(name, "-promote-point") {
		return "", false, errors.New("attrd: timed out")
	}
	return f.Fake.Get(ctx, node, name, lt)
}

// Finding 3, kept: handsOver needs a second attribute read; one that fails (attrd busy
// during the transition) turns a genuine switchover into "no hand-over", and the guard then
// compares this standby with the promotee and may lock it (an admin rebuilds it). Without
// the point the mark may be one a later promotion outlived, and the guard standing down for
// a node that may still run as primary is what the fix closes: the guard stays up.
func TestReview23GuardStaysUpWhenThePromotePointCannotBeRead(t *testing.T) {
	fake := &crmattr.Fake{}
	r23Set(t, fake, "node1", map[string]string{"pgsql-demoted-lsn": "2:0000000005000028:4", "pgsql-promote-point": r23Point("node1", 4)})
	r := r22Replica(t, "node3", []string{"node1", "node2", "node3"}, []string{"node1"}, fake, nil)
	if !r.handsOver(context.Background(), []string{"node1"}) {
		t.Fatalf("a mark of node1's latest run, its point readable: no hand-over")
	}
	r.a.Attrs = flakyPoints{fake}
	if r.handsOver(context.Background(), []string{"node1"}) {
		t.Errorf("node1's promote point unreadable: its mark was taken for a hand-over")
	}
}

// Finding 4 (safety of the guard, needs node_list to omit the node): pendingPromoteChain
// numbers a promotion past the points of node_list only. A node outside node_list (nothing
// validates that self is in it) reuses its own number: node1 ran as #3, was demoted (mark
// #3, its own removal later fails), and is promoted again: the new point is #3 again, so the
// stale mark passes MarkOfLatestRun and handsOver switches the guard off for a node that may
// still run as primary.
func TestReview23PromoteNumberReusedOutsideNodeList(t *testing.T) {
	fake := &crmattr.Fake{}
	r23Set(t, fake, "node1", map[string]string{"pgsql-promote-point": r23Point("node1", 3)})
	r23Set(t, fake, "node2", map[string]string{"pgsql-promote-point": r23Point("node2", 2)})
	r := r22Replica(t, "node1", []string{"node2", "node3", "node4"}, nil, fake, nil)
	r.c.PgData = t.TempDir()
	chain, err := r.pendingPromoteChain(context.Background(), pgctl.LocalState{InRecovery: true, Timeline: 2, ReplayLSN: 0x6000000})
	if err != nil {
		t.Fatal(err)
	}
	if chain[0].Seq <= 3 {
		t.Errorf("node1's new promotion is numbered #%d, not past its own published #3: a mark of its earlier run passes for this one", chain[0].Seq)
	}
}
