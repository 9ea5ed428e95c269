package agent

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/crmattr"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Second review of issue #13 (session 6), finding 3: a reused timeline number with the same parent and switch point.
//
// node1 and node3 both replayed the dead primary's WAL to its end S on timeline 2.
// node1 is promoted (#6: 2 -> 3 at S), writes as primary to 0/4800000, dies before node3
// ever streamed from it (node3 never got 00000003.history). node3 is then promoted
// (#7) and, knowing no timeline 3, picks timeline 3 again: 2 -> 3 at the same S. Its point
// is correctly Unlinked (it followed #5, not #6). node1's history file is byte-identical to
// node3's, so the Switch membership matches #7 as well as #6, member() keeps the highest,
// j == k and DecideRejoin lifts node1's lock although node1 holds 8 MB of timeline-3 WAL
// node3's timeline 3 never had.
func TestRejoinTimelineReuseSameSwitchPoint(t *testing.T) {
	const s = pgctl.LSN(0x4000000)
	p6 := PromotePoint{Node: "node1", OldTLI: 2, Fork: s, NewTLI: 3, Seq: 6}
	p7 := PromotePoint{Node: "node3", OldTLI: 2, Fork: s, NewTLI: 3, Seq: 7, Unlinked: true}
	points := map[string]AttrRead{
		"node1": {Value: PromoteChain{p6}.Attribute(), Found: true},
		"node2": {},
		"node3": {Value: PromoteChain{p7, p6}.Attribute(), Found: true},
	}
	own := WALEnd{Known: true, Timeline: 3, Last: 0x4800000, LastLow: 0x4800000, RanAsPrimary: true,
		Source: "test", Switch: &pgctl.TimelineSwitch{Parent: 2, At: s}}
	lock := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "timeline": "3", "promote_seq": "6"}}
	plan := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Locked: true, Lock: lock, Own: own, Points: points})
	if plan.Start || plan.Unlock {
		t.Errorf("node1 wrote timeline 3 past %s as #6's primary; node3's #7 reused timeline 3 from the same point: %+v", s, plan)
	}
	// Without a lock (e.g. a standby of node1 on node1's timeline 3), same answer: it starts
	// with no refusal, PostgreSQL cannot tell the two timeline 3s apart.
	plan = DecideRejoin(RejoinFacts{Self: "node2", AutoRejoin: true, Own: WALEnd{Known: true, Timeline: 3, Last: 0x4800000,
		LastLow: 0x4800000, Source: "test", Switch: &pgctl.TimelineSwitch{Parent: 2, At: s}}, Points: points})
	if !plan.Lock {
		t.Logf("unlocked standby of node1's timeline 3 (expected today, no proof): %+v", plan)
	}
}

// Second review of issue #13 (session 6), finding 4: a chain ChainFor starts afresh (no readable latest chain, seq > 0)
// is not marked Unlinked, yet DecideRejoin takes its oldest point as linked to the
// promotion just below it (j + 1 == oldest), which is exactly the unproven link.
//
// Two heads #6 exist (node1's and node2's: e.g. node2's promotion could not parse node1's
// ":u" chain in a mixed-version upgrade, or node1's head names another node). node3, which
// followed node2's #6, is promoted: LatestPromotion is nil (duplicate), ChainFor starts
// [#7] unmarked. Later node2 is promoted again (#8, linked: it followed node3). The duplicate
// head is gone. node1 (crashed primary of its own #6, timeline 3 created at 0/4000000,
// WAL to 0/4800000) has promote_seq 6 in its lock: j = 6 (at least), forks after it: #7 at
// 0/5000000 and #8: its last record is before both, nothing unlinked: lock lifted. But
// node3's #7 continued node2's #6, a different timeline 3.
func TestRejoinFreshChainIsUnlinked(t *testing.T) {
	own7 := PromotePoint{Node: "node3", OldTLI: 3, Fork: 0x5000000}
	chain7, why := ChainFor(nil, 6, StreamRecord{Run: "r", Seq: 6, Node: "node2"}, true, own7)
	if chain7[0].Unlinked {
		t.Logf("fresh chain unlinked (fixed): %s", why)
	}
	chain7[0].NewTLI = 4 // exact after pg_promote()
	p8 := PromotePoint{Node: "node2", OldTLI: 4, Fork: 0x6000000, NewTLI: 5}
	chain8, _ := ChainFor(chain7, 7, StreamRecord{Run: "r", Seq: 7, Node: "node3"}, true, p8)
	points := map[string]AttrRead{
		"node1": {Value: PromoteChain{{Node: "node1", OldTLI: 2, Fork: 0x4000000, NewTLI: 3, Seq: 6}}.Attribute(), Found: true},
		"node2": {Value: chain8.Attribute(), Found: true},
		"node3": {Value: chain7.Attribute(), Found: true},
	}
	own := WALEnd{Known: true, Timeline: 3, Last: 0x4800000, LastLow: 0x4800000, RanAsPrimary: true, Source: "test",
		Switch: &pgctl.TimelineSwitch{Parent: 2, At: 0x4000000}}
	lock := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "timeline": "3", "promote_seq": "6"}}
	plan := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Locked: true, Lock: lock, Own: own, Points: points})
	if plan.Start || plan.Unlock {
		t.Errorf("#7 started a fresh chain after a duplicate #6 and was never shown to follow node1's #6: %+v", plan)
	}
}

// Second review of issue #13 (session 6), finding 2: restart_on_promote with the standby's
// WAL ending exactly at a segment boundary inside a record (the continuation is in the
// missing next segment). PostgreSQL's crash recovery at the restart aborts that incomplete
// record and writes OVERWRITE_CONTRECORD at the boundary, so the fork is one past the start
// of the last complete record before it (pgctl's LastWALRecord lists the last segment for
// it: test/walend_test.go), not the boundary. The old primary, whose last record is the
// aborted one (complete in its own WAL), is then past the fork: refused.
func TestRejoinRestartForkAtSegmentBoundary(t *testing.T) {
	const lastComplete = pgctl.LSN(0x4FFE000) // the promotee's last complete record
	const aborted = pgctl.LSN(0x4FFF000)      // start of the record spanning the boundary
	p6 := PromotePoint{Node: "node1", OldTLI: 1, Fork: 0x3000000, NewTLI: 1, Seq: 6}
	p7 := PromotePoint{Node: "node2", OldTLI: 1, Fork: lastComplete + 1, NewTLI: 1, Seq: 7}
	points := map[string]AttrRead{
		"node1": {Value: PromoteChain{p6}.Attribute(), Found: true},
		"node2": {Value: PromoteChain{p7, p6}.Attribute(), Found: true},
	}
	own := WALEnd{Known: true, Timeline: 1, Last: aborted, LastLow: aborted, RanAsPrimary: true, Source: "test"}
	lock := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "timeline": "1", "promote_seq": "6"}}
	plan := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Locked: true, Lock: lock, Own: own, Points: points})
	if plan.Start || plan.Unlock || !plan.Proven {
		t.Errorf("node1's last record at %s is the one node2's restart aborted: %+v, want refused on proof", aborted, plan)
	}
}

// Second review of issue #13 (session 6), finding 1: the Unlinked mark is lost when the exact point replaces the pending
// one. The promote publishes ChainFor's chain (head Unlinked), but switchPromotePoint
// and restartPromotePoint build a fresh PromotePoint without the flag and
// publishPromotePoint puts that at the head: every exact point is published linked. (The
// simulator writes ChainFor's exact chain directly and never runs these two functions.)
func TestRejoinExactPointKeepsUnlinked(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pg_wal"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A standby on timeline 3 (it followed node1's #6), promoted by pg_promote() to 4.
	for tli, content := range map[uint32]string{3: "1\t0/3000000\tx\n2\t0/4000000\tx\n", 4: "1\t0/3000000\tx\n2\t0/4000000\tx\n3\t0/5000000\tx\n"} {
		if err := os.WriteFile(pgctl.HistoryFile(dir, r24Version, tli), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store := &crmattr.Fake{}
	log := NewLogger(LogSettings{}, io.Discard)
	a := &Agent{Env: Env{Instance: "pgsql:1"}, Attrs: store, Log: log}
	r := &replica{a: a, c: Config{PgData: dir}, server: pgctl.Server{PgData: dir}, sys: System{Version: r24Version}, self: "node2", names: attrNames{resource: "pgsql"},
		pub: newPublisher(store, "pgsql", "", false, log)}
	p6 := PromotePoint{Node: "node1", OldTLI: 2, Fork: 0x4000000, NewTLI: 3, Seq: 6}
	// node2 was not seen following #6 in its current run (it followed #5).
	pending, why := ChainFor(PromoteChain{p6}, 6, StreamRecord{Run: "r", Seq: 5, Node: "node3"}, true,
		PromotePoint{Node: "node2", OldTLI: 3, Fork: 0x5000000})
	if !pending[0].Unlinked {
		t.Fatalf("ChainFor did not mark the point unlinked: %s", why)
	}
	exact, ok := r.switchPromotePoint(pending[0], 4) // PostgreSQL reports timeline 4
	if !ok {
		t.Fatal("switchPromotePoint found no point")
	}
	r.publishPromotePoint(context.Background(), pending, exact)
	value, found, err := store.Get(context.Background(), "node2", "pgsql-promote-point", crmattr.Forever)
	if err != nil || !found {
		t.Fatalf("no promote point published: %v", err)
	}
	chain, err := ParsePromoteChain(value)
	if err != nil {
		t.Fatal(err)
	}
	if !chain[0].Exact() || !chain[0].Unlinked {
		t.Errorf("published %q: the exact point lost the Unlinked mark ChainFor gave the pending one (%q)", value, pending.Attribute())
	}
}
