package agent

import (
	"context"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 26 (hostile review of e1df9ed). Finding 1 fixed: the guard stands down only for a
// mark that ends the latest promotion any node published (MarkEndsTheHistory).

// Finding 1 (the pre-promote guard stands down in a failover): handsOver takes a mark of
// node1's latest run (its seq = the head of node1's own chain) for a switchover. That proves
// node1 is not primary any more, not that node1's shutdown checkpoint ends the history: here
// node2 was promoted (#6) after node1's demote (#5) and crashed. node1's mark outlived the
// hand-over (acknowledgeHandovers removes it best effort, only warning), node1 was unlocked by
// the acknowledgement, and node1's promote in the failover refused before publishing a point
// (node2's fence pending past promoteFenceWait, or e1df9ed's unreadable own mark): Pacemaker
// recovers the failed promote with a demote, so node1 is listed as demoted in the next
// transition, which promotes node3. Every standby's guard stands down on node1's stale mark,
// although node4 may hold more of node2's WAL than node3: nothing compares them.
func TestReview26StaleMarkOfAnEarlierPrimaryStandsTheGuardDown(t *testing.T) {
	fake := r26SwitchedOver(t)
	r := r22Replica(t, "node4", []string{"node1", "node2", "node3", "node4"}, []string{"node1"}, fake, nil)
	if r.handsOver(context.Background(), []string{"node1"}) {
		t.Errorf("node1's mark ends promotion #5, but node2 was promoted since (#6): the guard stood down although node1's checkpoint is not the end of the history")
	}
}

// r26SwitchedOver: node1, primary #5, demoted (its mark #5 left behind), node2 promoted #6.
func r26SwitchedOver(t *testing.T) *crmattr.Fake {
	fake := &crmattr.Fake{}
	r23Set(t, fake, "node1", map[string]string{
		"pgsql-demoted-lsn":   DemoteMark{Point: WALPoint{Timeline: 2, LSN: 0x5000028}, Seq: 5}.Attribute(),
		"pgsql-promote-point": r23Point("node1", 5),
	})
	r23Set(t, fake, "node2", map[string]string{
		"pgsql-promote-point": PromoteChain{
			{Node: "node2", OldTLI: 2, Fork: 0x5000058, NewTLI: 3, Seq: 6},
			{Node: "node1", OldTLI: 1, Fork: 0x4000000, NewTLI: 2, Seq: 5},
		}.Attribute(),
	})
	return fake
}

// Held (a): in a normal cycle the own numbers never exceed the published heads, so the new
// numbering continues the latest chain. node1, primary #5, demoted with its point unreadable
// (the mark numbered from the lock: 5), node2 promoted #6; node1 promoted back continues #6.
func TestReview26OwnNumbersContinueTheChainAfterASwitchover(t *testing.T) {
	fake := r26SwitchedOver(t)
	r := r22Replica(t, "node1", []string{"node1", "node2"}, nil, fake, nil)
	r.c.PgData = t.TempDir()
	if err := WriteLock(r.c.TmpDir, LockRecord{Event: lockEventDemoted, Node: "node1", Timeline: 2, LSN: 0x5000028, At: time.Now(), Seq: 5}); err != nil {
		t.Fatal(err)
	}
	chain, err := r.pendingPromoteChain(context.Background(), pgctl.LocalState{InRecovery: true, Timeline: 3, ReplayLSN: 0x7000000})
	if err != nil {
		t.Fatal(err)
	}
	if chain[0].Seq != 7 || len(chain) < 2 {
		t.Errorf("node1 promoted after node2's #6: chain %s; want #7 continuing #6", chain.Attribute())
	}
}
