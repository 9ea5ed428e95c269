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

// Review 25 (hostile review of 2239b9d and its mutant 14d109d). Findings 1 and 2 fixed: a
// promotion is always numbered past this node's own lock and mark, and a mark that cannot be
// read refuses the promote. Finding 3 fixed by taking back review 23's rule for unnumbered
// marks: they prove nothing once the node published a promotion.

// The lock half of ownNumbers (a mutant review 25 found untested): node1's lock names its
// promotion #5, its point and mark are gone (an admin's cleanup), node2 published #4. The
// next promotion of node1 must be numbered past #5, or a mark of the run #5 ended, restored
// or written by a demote that read only the lock (latestPromotion), would pass for it.
func TestReview25PromotionNumberedPastItsOwnLock(t *testing.T) {
	fake := &crmattr.Fake{}
	r23Set(t, fake, "node2", map[string]string{"pgsql-promote-point": r23Point("node2", 4)})
	r := r22Replica(t, "node1", []string{"node1", "node2"}, nil, fake, nil)
	r.c.PgData = t.TempDir()
	if err := WriteLock(r.c.TmpDir, LockRecord{Event: lockEventPromoted, Node: "node1", Timeline: 3, LSN: 0x5000000, At: time.Now(), Seq: 5}); err != nil {
		t.Fatal(err)
	}
	chain, err := r.pendingPromoteChain(context.Background(), pgctl.LocalState{InRecovery: true, Timeline: 3, ReplayLSN: 0x6000000})
	if err != nil {
		t.Fatal(err)
	}
	if chain[0].Seq <= 5 {
		t.Errorf("node1's lock names promotion #5; its next promotion is numbered #%d", chain[0].Seq)
	}
}

// Finding 1: review 24's fix numbers a promotion past the node's own lock and mark only when
// its own point is MALFORMED. A point that is ABSENT hides the same number: latestPromotion
// (the demote's numbering) treats an absent own point exactly like an unreadable one and
// falls back to the lock's promote_seq, so a mark numbered #5 with no point beside it is
// something the agent itself produces (point removed by an admin or lost in a CIB restore,
// lock still naming #5). pendingPromoteChain then numbers the new promotion past the others
// only: #5 again, and node1's stale mark of its earlier run passes MarkOfLatestRun.
func TestReview25AbsentOwnPointLetsAPromotionReuseItsNumber(t *testing.T) {
	r24StaleMarkAtTheNextPromotion(t, "", nil)
}

// flakyOwnMark fails every read of node1's <rsc>-demoted-lsn.
type flakyOwnMark struct{ *crmattr.Fake }

func (f flakyOwnMark) Get(ctx context.Context, node, name string, lt crmattr.Lifetime) (string, bool, error) {
	if node == "node1" && strings.HasSuffix(name, "-demoted-lsn") {
		return "", false, errors.New("attrd: timed out")
	}
	return f.Fake.Get(ctx, node, name, lt)
}

// Finding 2: ownNumbers swallows a failed read of the node's own mark (err != nil: the mark
// is skipped). pendingPromoteChain refuses when a promote point cannot be read because it
// "could hide a higher number"; the mark, the one place review 24 found the hidden number,
// is then silently taken as absent and the promotion reuses #5 (the same outcome the
// mutant 14d109d models, reached with the fix in place).
func TestReview25UnreadableOwnMarkIsTakenAsAbsent(t *testing.T) {
	r24StaleMarkAtTheNextPromotion(t, "node1:2:0000000004000000:3", func(r *replica, fake *crmattr.Fake) {
		r.a.Attrs = flakyOwnMark{fake}
	})
}

// Finding 3: the exact point is now the server's own timeline, but the unnumbered-mark rule
// it feeds still trusts a timeline NUMBER. PostgreSQL reuses one a node's pg_wal (and
// archive) no longer holds: node1, primary of timeline 5 (an older build's run: unnumbered
// mark 5:0/9000000, its removal failed), rebuilt by pg_basebackup from node2 on timeline 4
// (whose history never had 5), is promoted again; findNewestTimeLine(4) finds no
// 00000005.history and picks 5. pg_walfile_name says 5, 00000005.history says 4 -> 5 at
// 0/6000000: the exact point is right, and the stale mark of the other timeline 5 lies "on
// the new timeline past the fork". MarkOfLatestRun's own comment claims such a mark is
// "nowhere in this history" and does not pass.
func TestReview25ReusedTimelineNumberLetsAStaleUnnumberedMarkPass(t *testing.T) {
	pgdata := t.TempDir()
	r24History(t, pgdata, r24Version, 5, "1\t0/3000000\tno recovery target specified\n2\t0/4000000\tno recovery target specified\n3\t0/5000000\tno recovery target specified\n4\t0/6000000\tno recovery target specified\n")
	fake := &crmattr.Fake{}
	r := r22Replica(t, "node1", []string{"node1", "node2", "node3"}, nil, fake, nil)
	r.c.PgData, r.server.PgData, r.sys.Version = pgdata, pgdata, r24Version
	exact, ok := r.switchPromotePoint(PromotePoint{Node: "node1", OldTLI: 4, Fork: 0x6000000, Seq: 7}, 5)
	if !ok {
		t.Fatal("no exact point")
	}
	chain := PromoteChain{exact}
	stale := DemoteMark{Point: WALPoint{Timeline: 5, LSN: 0x9000000}} // the earlier life's timeline 5
	if latest, why := MarkOfLatestRun("node1", stale, AttrRead{Value: chain.Attribute(), Found: true}); latest {
		t.Errorf("a mark of node1's earlier timeline 5 (before its rebuild) passes for promotion #7's demote: %s", why)
	}
}
