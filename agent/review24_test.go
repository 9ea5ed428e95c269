package agent

import (
	"context"
	"os"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 24 (hostile review of 9467c1c, a19025f, bf7a5a5). Both findings fixed: the exact
// point takes its new timeline from PostgreSQL (pgctl.QueryWriteTimeline), and a promotion
// whose own point is malformed is numbered past its lock's and mark's numbers (ownNumbers).

// r24Version is the PostgreSQL version of the replicas whose history files these tests write.
var r24Version = pgctl.Version{Major: 15}

// r24History writes pg_wal/<tli>.history (pg_xlog before 10) of a server of version v with
// the given lines.
func r24History(t *testing.T, pgdata string, v pgctl.Version, tli uint32, lines string) {
	t.Helper()
	if err := os.MkdirAll(pgctl.WALDir(pgdata, v), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pgctl.HistoryFile(pgdata, v, tli), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Finding 1: the unnumbered-mark rule (9467c1c) trusts the exact point's NewTLI, but
// switchPromotePoint takes the newest history file in pg_wal by probing upward from the old
// timeline and stops at the first gap. PostgreSQL picks the new timeline past every history
// file in pg_wal AND the archive (findNewestTimeLine via restore_command), and does not copy
// an archived file it only probed into pg_wal. So with 00000004.history in the archive only
// (an abandoned promotion elsewhere), node1 promoted from timeline 3 switches to timeline 5,
// while its "exact" point names timeline 3's own creation (2 -> 3 at 0/5000000): the
// promotion node1 made long ago. node1's unnumbered mark from that earlier run on timeline 3
// (an older build's demote, its removal failed) then lies "on the new timeline past the
// fork": it passes MarkOfLatestRun for a node now running as primary of timeline 5, and
// handsOver stands the guard down.
func TestReview24ExactPointMissesATimelineOnlyTheArchiveHeld(t *testing.T) {
	pgdata := t.TempDir()
	r24History(t, pgdata, r24Version, 3, "1\t0/3000000\tno recovery target specified\n2\t0/5000000\tno recovery target specified\n")
	// Written by PostgreSQL for this promotion: 4 exists in the archive only.
	r24History(t, pgdata, r24Version, 5, "1\t0/3000000\tno recovery target specified\n2\t0/5000000\tno recovery target specified\n3\t0/A000100\tno recovery target specified\n")
	fake := &crmattr.Fake{}
	r := r22Replica(t, "node1", []string{"node1", "node2", "node3"}, nil, fake, nil)
	r.c.PgData, r.server.PgData, r.sys.Version = pgdata, pgdata, r24Version
	pending := PromoteChain{{Node: "node1", OldTLI: 3, Fork: 0xA000100, Seq: 7}}
	exact, ok := r.switchPromotePoint(pending[0], 5) // what PostgreSQL says it writes WAL on
	if !ok || exact.NewTLI != 5 || exact.OldTLI != 3 {
		t.Errorf("PostgreSQL switched 3 -> 5 at 0/A000100; the exact point published is %s (ok %v)", exact, ok)
	}
	// What the cluster then reads.
	chain := append(PromoteChain{exact}, pending[1:]...)
	stale := DemoteMark{Point: WALPoint{Timeline: 3, LSN: 0x9000000}} // node1's earlier run on timeline 3
	if latest, why := MarkOfLatestRun("node1", stale, AttrRead{Value: chain.Attribute(), Found: true}); latest {
		t.Errorf("a mark of node1's run before promotion #7 passes for #7's demote: %s", why)
	}
	r23Set(t, fake, "node1", map[string]string{"pgsql-demoted-lsn": stale.Attribute(), "pgsql-promote-point": chain.Attribute()})
	guard := r22Replica(t, "node3", []string{"node1", "node2", "node3"}, []string{"node1"}, fake, nil)
	if guard.handsOver(context.Background(), []string{"node1"}) {
		t.Errorf("the pre-promote guard stands down for node1, primary of timeline 5, on its timeline-3 mark")
	}
}

// Finding 2 (defence in depth): review 23 finding 4 requires a promotion to be numbered past
// the node's own latest. pendingPromoteChain drops a malformed point, its own too, and numbers
// past the others only: node1 (point unreadable as a chain, its mark of run #5 left behind)
// is promoted as #5 again, and its stale mark "ends promotion #5, its latest". The node's own
// mark (and lock) carry that number and could bound the new one.
func TestReview24OwnMalformedPointLetsAPromotionReuseItsNumber(t *testing.T) {
	r24StaleMarkAtTheNextPromotion(t, "node1:2:0000000004000000:3", nil)
}

// r24StaleMarkAtTheNextPromotion: node1's mark of its run #5 is left behind, its own point is
// ownPoint ("": none), node2 published #4; adjust may change the replica (its attribute
// store). node1's next promotion must refuse or be numbered so that the mark does not pass.
func r24StaleMarkAtTheNextPromotion(t *testing.T, ownPoint string, adjust func(*replica, *crmattr.Fake)) {
	t.Helper()
	fake := &crmattr.Fake{}
	staleMark := DemoteMark{Point: WALPoint{Timeline: 2, LSN: 0x5000028}, Seq: 5}.Attribute()
	r23Set(t, fake, "node1", map[string]string{"pgsql-demoted-lsn": staleMark})
	if ownPoint != "" {
		r23Set(t, fake, "node1", map[string]string{"pgsql-promote-point": ownPoint})
	}
	r23Set(t, fake, "node2", map[string]string{"pgsql-promote-point": r23Point("node2", 4)})
	r := r22Replica(t, "node1", []string{"node1", "node2"}, nil, fake, nil)
	r.c.PgData = t.TempDir()
	if adjust != nil {
		adjust(r, fake)
	}
	chain, err := r.pendingPromoteChain(context.Background(), pgctl.LocalState{InRecovery: true, Timeline: 3, ReplayLSN: 0x6000000})
	if err != nil {
		return // refusing is a fix too
	}
	mark, _ := ParseDemoteMark(staleMark)
	if ok, why := MarkOfLatestRun("node1", mark, AttrRead{Value: chain.Attribute(), Found: true}); ok {
		t.Errorf("node1's own point %q: its new promotion is #%d, and its mark of the run before (%s) passes: %s", ownPoint, chain[0].Seq, staleMark, why)
	}
}

// Review 27: PostgreSQL 9.6 keeps its history files in pg_xlog. The exact promote point of a
// 9.6 promotion is read from there, and a file of the same name in a pg_wal the server never
// reads is not taken for it.
func TestSwitchPromotePointReadsTheVersionsWALDirectory(t *testing.T) {
	history := "1\t0/3000000\tno recovery target specified\n"
	for _, v := range []pgctl.Version{{Major: 9, Minor: 6}, {Major: 15}} {
		pgdata := t.TempDir()
		r24History(t, pgdata, v, 2, history)
		other := pgctl.Version{Major: 15}
		if v.Major == 15 {
			other = pgctl.Version{Major: 9, Minor: 6}
		}
		r24History(t, pgdata, other, 2, "1\t0/9000000\tno recovery target specified\n")
		r24History(t, pgdata, other, 3, history)
		r := r22Replica(t, "node1", []string{"node1", "node2"}, nil, &crmattr.Fake{}, nil)
		r.c.PgData, r.server.PgData, r.sys.Version = pgdata, pgdata, v
		exact, ok := r.switchPromotePoint(PromotePoint{Node: "node1", OldTLI: 1, Fork: 0x3000000, Seq: 2}, 2)
		if !ok || exact.OldTLI != 1 || exact.Fork != 0x3000000 || exact.NewTLI != 2 {
			t.Errorf("PostgreSQL %v switched 1 -> 2 at 0/3000000; the exact point is %s (ok %v)", v, exact, ok)
		}
		if has, err := (pgctl.Server{PgData: pgdata}).HasHistory(v, 3); has || err != nil {
			t.Errorf("PostgreSQL %v: timeline 3's history found (%v, %v), written only where the server does not look", v, has, err)
		}
		if has, err := (pgctl.Server{PgData: pgdata}).HasHistory(v, 2); !has || err != nil {
			t.Errorf("PostgreSQL %v: timeline 2's history not found (%v, %v)", v, has, err)
		}
	}
}
