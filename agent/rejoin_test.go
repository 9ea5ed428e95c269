package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

func TestPromotePointRoundTrip(t *testing.T) {
	p := PromotePoint{Node: "node2", OldTLI: 3, Fork: 0x5000580, NewTLI: 4, Seq: 7}
	if got, err := ParsePromotePoint(p.Attribute()); err != nil || got != p {
		t.Errorf("ParsePromotePoint(%q) = %+v, %v", p.Attribute(), got, err)
	}
	for _, bad := range []string{"", "node2:3:0000000005000580:4", ":3:0000000005000580:4:1", "node2:0:0000000005000580:4:1",
		"node2:3:5/580:4:1", "node2:3:0000000005000580:2:1", "node2:3:0000000005000580:4:0", "node2:3:0000000005000580:x:1"} {
		if _, err := ParsePromotePoint(bad); err == nil {
			t.Errorf("ParsePromotePoint(%q) accepted", bad)
		}
	}
	c := PromoteChain{{"node2", 3, 0x5000580, 4, 7, false}, {"node1", 2, 0x4000000, 3, 6, false}}
	if got, err := ParsePromoteChain(c.Attribute()); err != nil || len(got) != 2 || got[0] != c[0] || got[1] != c[1] {
		t.Errorf("ParsePromoteChain(%q) = %+v, %v", c.Attribute(), got, err)
	}
	for _, bad := range []string{"", "node2:3:0000000005000580:4:7 node1:2:0000000004000000:3:5", "node2:3:0000000005000580:4:7 x"} {
		if _, err := ParsePromoteChain(bad); err == nil {
			t.Errorf("ParsePromoteChain(%q) accepted", bad)
		}
	}
	long := PromoteChain(nil)
	for i := 0; i < promoteChainMax+3; i++ {
		long = long.Extend(PromotePoint{Node: "n", OldTLI: 1, Fork: pgctl.LSN(i), NewTLI: 1})
	}
	if len(long) != promoteChainMax || long[0].Seq != promoteChainMax+3 {
		t.Errorf("Extend kept %d points, head #%d", len(long), long[0].Seq)
	}
	if _, err := ParsePromoteChain(long.Attribute()); err != nil {
		t.Errorf("an extended chain does not parse: %v", err)
	}
}

func TestDecideRejoin(t *testing.T) {
	// chain publishes a chain (newest first) on its head's node; node1 has none.
	chain := func(points ...PromotePoint) map[string]AttrRead {
		return map[string]AttrRead{points[0].Node: {Value: PromoteChain(points).Attribute(), Found: true}, "node1": {}}
	}
	const fork = pgctl.LSN(0x5000580)
	// node1 promoted #6 (2 -> 3 at 0/4000000), node2 #7 (3 -> 4 at fork).
	p6 := PromotePoint{"node1", 2, 0x4000000, 3, 6, false}
	p7 := PromotePoint{"node2", 3, fork, 4, 7, false}
	// restart_on_promote: one timeline.
	r6 := PromotePoint{"node1", 3, 0x4000000, 3, 6, false}
	r7 := PromotePoint{"node2", 3, fork, 3, 7, false}
	r8 := PromotePoint{"node3", 3, 0x6000000, 3, 8, false}
	primary := func(tli uint32, last pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: tli, Last: last, LastLow: last, RanAsPrimary: true, Source: "test"}
	}
	standby := func(tli uint32, last pgctl.LSN, sw *pgctl.TimelineSwitch) WALEnd {
		return WALEnd{Known: true, Timeline: tli, Last: last, LastLow: last, Source: "test", Switch: sw}
	}
	// WAL ending at a segment boundary: the last record starts after the checkpoint record at
	// low and before the boundary.
	boundary := func(tli uint32, low, end pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: tli, Last: end - 1, LastLow: low, RanAsPrimary: true, Source: "test"}
	}
	lock := func(fields ...string) LockInfo {
		l := LockInfo{Fields: map[string]string{}}
		for i := 0; i+1 < len(fields); i += 2 {
			l.Fields[fields[i]] = fields[i+1]
		}
		return l
	}
	promoted6 := lock("event", "promoted", "timeline", "2", "lsn", "0/3000000", "promote_seq", "6")
	promotedOld := lock("event", "promoted", "timeline", "2", "lsn", "0/3000000") // no promote_seq
	demoted6 := lock("event", "demoted", "timeline", "3", "lsn", "0/4800000", "promote_seq", "6")
	const (
		ok   = "start"
		unl  = "start+unlock"
		keep = "refuse (lock kept)"
		lk   = "refuse+lock"
	)
	for _, c := range []struct {
		name string
		f    RejoinFacts
		want string
		prov bool // the refusal rests on proof
		in   string
	}{
		// pg_promote(): a new timeline for every promotion.
		{"clean shutdown behind the fork, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork-0x58), Points: chain(p7, p6)}, unl, false, "holds all"},
		{"clean shutdown behind the fork, no lock", RejoinFacts{Own: primary(3, fork-0x58), Points: chain(p7, p6)}, ok, false, "holds all"},
		{"clean shutdown ahead, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork+0x20), Points: chain(p7, p6)}, keep, true, "bytes or more"},
		{"last record exactly at the fork, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork), Points: chain(p7, p6)}, keep, true, ""},
		{"crashed behind, old lock without promote_seq", RejoinFacts{Locked: true, Lock: promotedOld, Own: primary(3, fork-1), Points: chain(p7, p6)}, unl, false, "last ran as the primary"},
		{"crashed ahead, lock removed by an admin", RejoinFacts{Own: primary(3, fork+0x1000), Points: chain(p7, p6)}, lk, true, "lacks"},
		{"standby ahead, no lock, its timeline's history matches #6", RejoinFacts{Own: standby(3, fork+0x1000, &pgctl.TimelineSwitch{Parent: 2, At: 0x4000000}), Points: chain(p7, p6)}, lk, true, "created"},
		{"standby ahead, no lock, a timeline 3 of another promotion", RejoinFacts{Own: standby(3, fork+0x1000, &pgctl.TimelineSwitch{Parent: 2, At: 0x3000000}), Points: chain(p7, p6)}, ok, false, "no history"},
		{"on the new timeline, locked", RejoinFacts{Locked: true, Lock: demoted6, Own: standby(4, fork+0x9000, &pgctl.TimelineSwitch{Parent: 3, At: fork}), Points: chain(p7, p6)}, unl, false, "latest promotion"},
		{"on the new timeline with another switch point, locked", RejoinFacts{Locked: true, Lock: demoted6, Own: standby(4, fork+0x9000, &pgctl.TimelineSwitch{Parent: 3, At: fork - 8}), Points: chain(p7, p6)}, keep, false, "may be before or past"},
		{"demoted, streamed the next primary's WAL: no proof from the lock", RejoinFacts{Locked: true, Lock: demoted6, Own: standby(3, fork+8, nil), Points: chain(p7, p6)}, keep, false, "may be before or past"},
		{"own promotion older than the chain, locked", RejoinFacts{Locked: true, Lock: lock("event", "promoted", "promote_seq", "4"), Own: primary(3, 1), Points: chain(p7)}, keep, false, "older than"},
		{"a lock numbering a promotion nobody published", RejoinFacts{Locked: true, Lock: lock("event", "promoted", "promote_seq", "9"), Own: standby(3, 1, nil), Points: chain(p7)}, keep, false, "in no history"},
		{"own promotion not in the chain, no lock", RejoinFacts{Own: primary(2, 0x100), Points: chain(p7)}, ok, false, "no history"},
		{"two switches since, both forks after its WAL, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork-8),
			Points: chain(PromotePoint{"node3", 4, 0x6000000, 5, 8, false}, p7, p6)}, unl, false, "2 promotion(s) since"},
		{"two switches since, past the second fork, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 0x5800000),
			Points: chain(PromotePoint{"node3", 4, 0x5600000, 5, 8, false}, p7, p6)}, keep, true, ""},
		{"timeline 1 before the first promotion, no lock", RejoinFacts{Own: primary(1, 0x3000100), Points: chain(PromotePoint{"node2", 1, 0x3000000, 2, 1, false})}, lk, true, "timeline 1"},
		{"timeline 1 behind the first promotion, locked", RejoinFacts{Locked: true, Lock: promotedOld, Own: standby(1, 0x2000100, nil), Points: chain(PromotePoint{"node2", 1, 0x3000000, 2, 1, false})}, unl, false, ""},
		// The pending point written before the promotion decides nothing.
		{"unconfirmed point, behind, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork-1), Points: chain(PromotePoint{"node2", 3, fork, 0, 7, false}, p6)}, keep, false, "not confirmed"},
		{"unconfirmed point, ahead, no lock", RejoinFacts{Own: primary(3, fork+1), Points: chain(PromotePoint{"node2", 3, fork, 0, 7, false}, p6)}, ok, false, "no proof"},
		{"node2's confirmed head replaces the chain's unconfirmed entry", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork-8), Points: map[string]AttrRead{
			"node3": {Value: PromoteChain{{"node3", 4, 0x6000000, 5, 8, false}, {"node2", 3, fork, 0, 7, false}, p6}.Attribute(), Found: true},
			"node2": {Value: PromoteChain{p7, p6}.Attribute(), Found: true}}}, unl, false, ""},
		// WAL ending at a segment boundary.
		{"segment boundary before the fork, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: boundary(3, 0x4000060, 0x5000000), Points: chain(p7, p6)}, unl, false, ""},
		{"segment boundary after the fork, checkpoint before, no lock", RejoinFacts{Own: boundary(3, 0x4000060, 0x6000000), Points: chain(p7, p6)}, ok, false, "may be before or past"},
		{"segment boundary after the fork, checkpoint before, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: boundary(3, 0x4000060, 0x6000000), Points: chain(p7, p6)}, keep, false, "may be before or past"},
		{"segment boundary, checkpoint past the fork, no lock", RejoinFacts{Own: boundary(3, 0x5000600, 0x6000000), Points: chain(p7, p6)}, lk, true, ""},
		// restart_on_promote: one timeline, several writers.
		{"restart: behind, lock names the previous promotion", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, fork-8), Points: chain(r7, r6)}, unl, false, ""},
		{"restart: crashed primary ahead, lock removed", RejoinFacts{Own: primary(3, fork+0x80), Points: chain(r7, r6)}, lk, true, ""},
		{"restart: behind the latest fork, past an earlier one, lock removed", RejoinFacts{Own: primary(3, 0x5800000), Points: chain(r8, r7, r6)}, lk, true, "node2"},
		{"restart: behind the latest fork, past an earlier one, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 0x5800000), Points: chain(r8, r7, r6)}, keep, true, ""},
		{"restart: behind both forks, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 0x3000000), Points: chain(r8, r7, r6)}, unl, false, ""},
		{"restart: standby ahead, no lock (may have streamed it)", RejoinFacts{Own: standby(3, fork+0x80, nil), Points: chain(r7, r6)}, ok, false, "no history"},
		{"restart: standby ahead, locked", RejoinFacts{Locked: true, Lock: demoted6, Own: standby(3, fork+0x80, nil), Points: chain(r7, r6)}, keep, false, ""},
		// Missing or unreadable evidence.
		{"the guard's lock (no promote_seq)", RejoinFacts{Locked: true, Lock: lock("event", "diverged", "timeline", "3", "lsn", "0/5000000"), Own: primary(3, 1), Points: chain(p7, p6)}, keep, false, "guard"},
		{"no point, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 1), Points: map[string]AttrRead{"node1": {}, "node2": {}}}, keep, false, "no promotion"},
		{"no point, no lock", RejoinFacts{Own: primary(3, 1), Points: map[string]AttrRead{"node2": {}}}, ok, false, ""},
		{"point unreadable, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 1), Points: map[string]AttrRead{"node2": {Err: errors.New("timeout")}}}, keep, false, "cannot read"},
		{"point malformed, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 1), Points: map[string]AttrRead{"node2": {Value: "x", Found: true}}}, keep, false, "malformed"},
		{"point names another node, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 1), Points: map[string]AttrRead{"node2": {Value: PromoteChain{{"node3", 3, fork, 4, 7, false}}.Attribute(), Found: true}}}, keep, false, "malformed"},
		{"own end unknown, locked", RejoinFacts{Locked: true, Lock: promoted6, Own: WALEnd{Problem: "pg_waldump failed"}, Points: chain(p7, p6)}, keep, false, "pg_waldump failed"},
		{"own end unknown, no lock", RejoinFacts{Own: WALEnd{Problem: "pg_waldump failed"}, Points: chain(p7, p6)}, ok, false, ""},
		{"this node is the latest promotee, locked", RejoinFacts{Self: "node2", Locked: true, Lock: promoted6, Own: primary(4, fork+0x9000), Points: chain(p7, p6)}, keep, false, "last one promoted"},
		{"this node is the latest promotee, no lock", RejoinFacts{Self: "node2", Own: primary(4, fork+0x9000), Points: chain(p7, p6)}, ok, false, ""},
		// A crashed primary of the latest promotion (dirty power cycle, issue #12 §3) stays
		// locked: see DecideRejoin.
		{"crashed primary of the latest promotion, its lock", RejoinFacts{Self: "node2", Locked: true, Lock: lock("event", "promoted", "promote_seq", "7"), Own: primary(4, fork+0x9000), Points: chain(p7, p6)}, keep, false, "last one promoted"},
		{"two promotions with one number", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 1), Points: map[string]AttrRead{
			"node2": {Value: PromoteChain{p7}.Attribute(), Found: true},
			"node3": {Value: PromoteChain{{"node3", 3, fork, 4, 7, false}}.Attribute(), Found: true}}}, keep, false, "both published"},
		// auto_rejoin=false: a lock is refused whatever the evidence; the check without a
		// lock still refuses proven divergence.
		{"auto_rejoin=false, locked, behind", RejoinFacts{Locked: true, Lock: promoted6, Own: primary(3, 1), Points: chain(p7, p6)}, keep, false, "auto_rejoin=false"},
		{"auto_rejoin=false, no lock, ahead", RejoinFacts{Own: primary(3, fork+1), Points: chain(p7, p6)}, lk, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			if f.Self == "" {
				f.Self = "node1"
			}
			f.AutoRejoin = !strings.HasPrefix(c.name, "auto_rejoin=false")
			plan := DecideRejoin(f)
			got := keep
			switch {
			case plan.Start && plan.Unlock:
				got = unl
			case plan.Start:
				got = ok
			case plan.Lock:
				got = lk
			}
			if got != c.want || plan.Proven != c.prov || !strings.Contains(plan.Why, c.in) {
				t.Errorf("got %s proven=%v why %q; want %s proven=%v containing %q", got, plan.Proven, plan.Why, c.want, c.prov, c.in)
			}
			if plan.Unlock && !f.Locked || plan.Lock && f.Locked || plan.Start && (plan.Lock || plan.Proven) {
				t.Errorf("inconsistent plan %+v", plan)
			}
			if plan.Proven && (plan.Reason == "" || len(plan.Reason) > maxReason) {
				t.Errorf("exit reason %q (%d bytes)", plan.Reason, len(plan.Reason))
			}
			// The proof DecideRewind reads (issue #13 §1): the fork named in the reason, this
			// node's WAL past it.
			if d := plan.Diverged; (d != nil) != plan.Proven ||
				d != nil && (d.To < d.Fork.Fork || !strings.Contains(plan.Reason, "fork at "+d.Fork.Fork.String()) || len(d.Chain) == 0) {
				t.Errorf("proven %v, divergence %+v, reason %q", plan.Proven, d, plan.Reason)
			}
		})
	}
}

// TestChainFor (review of issue #13): a promotion continues the latest chain; the link is
// proven only when the promotee followed that promotion's primary in its current run.
func TestChainFor(t *testing.T) {
	p6 := PromotePoint{"node1", 2, 0x4000000, 3, 6, false}
	own := PromotePoint{Node: "node2", OldTLI: 3, Fork: 0x5000000}
	cases := []struct {
		name     string
		latest   PromoteChain
		seq      uint64
		followed StreamRecord
		known    bool
		wantLen  int
		unlinked bool
	}{
		{"followed the head: linked", PromoteChain{p6}, 6, StreamRecord{Seq: 6, Node: "node1"}, true, 2, false},
		{"not seen following anyone: unlinked", PromoteChain{p6}, 6, StreamRecord{}, false, 2, true},
		{"followed an older promotion: unlinked", PromoteChain{p6}, 6, StreamRecord{Seq: 5, Node: "node3"}, true, 2, true},
		{"same number, other node: unlinked", PromoteChain{p6}, 6, StreamRecord{Seq: 6, Node: "node3"}, true, 2, true},
		{"no chain: a new one", nil, 0, StreamRecord{}, false, 1, false},
		{"the highest number has no readable chain: a new one, unlinked", PromoteChain{p6}, 7, StreamRecord{Seq: 6, Node: "node1"}, true, 1, true},
		{"no readable chain below a known number: a new one, unlinked", nil, 6, StreamRecord{Seq: 6, Node: "node1"}, true, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, why := ChainFor(tc.latest, tc.seq, tc.followed, tc.known, own)
			if len(got) != tc.wantLen || got[0].Unlinked != tc.unlinked || got[0].Seq != tc.seq+1 || got[0].Node != "node2" {
				t.Errorf("ChainFor = %s (%s), want %d points, head unlinked=%v, #%d", got.Attribute(), why, tc.wantLen, tc.unlinked, tc.seq+1)
			}
			if back, err := ParsePromoteChain(got.Attribute()); err != nil || back[0] != got[0] {
				t.Errorf("round trip of %q: %+v, %v", got.Attribute(), back, err)
			}
		})
	}
}

// TestDecideRejoinUnlinked (review of issue #13, finding 1): node1's WAL is in the history of
// its own promotion #6; node2's promotion #7 did not show it followed #6. node1's last record
// before #7's fork then proves nothing (node2 may never have had #6's history): the lock
// stays. Past the fork it is still proven diverged.
func TestDecideRejoinUnlinked(t *testing.T) {
	p6 := PromotePoint{"node1", 1, 0x3000000, 1, 6, false}
	p7 := PromotePoint{"node2", 1, 0x5000000, 1, 7, true}
	points := map[string]AttrRead{"node2": {Value: PromoteChain{p7, p6}.Attribute(), Found: true}, "node1": {}}
	lock := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "promote_seq": "6"}}
	end := func(last pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: 1, Last: last, LastLow: last, RanAsPrimary: true, Source: "test"}
	}
	behind := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Locked: true, Lock: lock, Own: end(0x3800000), Points: points})
	if behind.Start || behind.Unlock {
		t.Errorf("behind an unlinked fork: %+v, want the lock kept", behind)
	}
	linked := map[string]AttrRead{"node2": {Value: PromoteChain{{"node2", 1, 0x5000000, 1, 7, false}, p6}.Attribute(), Found: true}, "node1": {}}
	if plan := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Locked: true, Lock: lock, Own: end(0x3800000), Points: linked}); !plan.Unlock {
		t.Errorf("behind a linked fork: %+v, want the lock lifted", plan)
	}
	ahead := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Own: end(0x5800000), Points: points})
	if !ahead.Lock || !ahead.Proven {
		t.Errorf("past an unlinked fork: %+v, want refused and locked", ahead)
	}
}
