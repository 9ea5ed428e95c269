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
}

func TestDecideRejoin(t *testing.T) {
	point := func(node string, old uint32, fork pgctl.LSN, newTLI uint32, seq uint64) map[string]AttrRead {
		return map[string]AttrRead{node: {Value: PromotePoint{node, old, fork, newTLI, seq}.Attribute(), Found: true}, "node1": {}}
	}
	clean := func(tli uint32, last pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: tli, Last: last, LastLow: last, RanAsPrimary: true, Source: "clean shutdown"}
	}
	crashed := func(tli uint32, last pgctl.LSN, primary bool) WALEnd {
		return WALEnd{Known: true, Timeline: tli, Last: last, LastLow: last, RanAsPrimary: primary, Source: "pg_waldump"}
	}
	// WAL ending at a segment boundary: the last record starts after the checkpoint record at
	// low and before the boundary.
	boundary := func(tli uint32, low, end pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: tli, Last: end - 1, LastLow: low, RanAsPrimary: true, Source: "pg_waldump"}
	}
	lock := func(fields ...string) LockInfo {
		l := LockInfo{Fields: map[string]string{}}
		for i := 0; i+1 < len(fields); i += 2 {
			l.Fields[fields[i]] = fields[i+1]
		}
		return l
	}
	promoted := lock("event", "promoted", "timeline", "3", "lsn", "0/3000000")
	promotedSeq6 := lock("event", "promoted", "timeline", "3", "lsn", "0/3000000", "promote_seq", "6")
	const (
		fork = pgctl.LSN(0x5000580)
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
		{"clean shutdown behind the fork, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, fork-0x58), Points: point("node2", 3, fork, 4, 7)}, unl, false, "holds all"},
		{"clean shutdown behind the fork, no lock", RejoinFacts{Own: clean(3, fork-0x58), Points: point("node2", 3, fork, 4, 7)}, ok, false, "holds all"},
		{"clean shutdown ahead, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, fork+0x20), Points: point("node2", 3, fork, 4, 7)}, keep, true, "bytes or more"},
		{"last record exactly at the fork, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, fork), Points: point("node2", 3, fork, 4, 7)}, keep, true, ""},
		{"crashed behind, locked", RejoinFacts{Locked: true, Lock: promoted, Own: crashed(3, fork-1, true), Points: point("node2", 3, fork, 4, 7)}, unl, false, ""},
		{"crashed ahead, lock removed by an admin", RejoinFacts{Own: crashed(3, fork+0x1000, true), Points: point("node2", 3, fork, 4, 7)}, lk, true, "lacks"},
		{"standby crashed ahead, no lock (pg_promote: proven)", RejoinFacts{Own: crashed(3, fork+0x1000, false), Points: point("node2", 3, fork, 4, 7)}, lk, true, ""},
		{"on the new timeline, locked", RejoinFacts{Locked: true, Lock: promoted, Own: crashed(4, fork+0x9000, false), Points: point("node2", 3, fork, 4, 7)}, unl, false, "only node2 writes it"},
		{"own timeline not the parent, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(2, 0x100), Points: point("node2", 3, fork, 4, 7)}, keep, false, "another timeline"},
		{"own timeline not the parent, no lock", RejoinFacts{Own: clean(2, 0x100), Points: point("node2", 3, fork, 4, 7)}, ok, false, "no proof"},
		{"several switches since (two timelines on), locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 0x100), Points: point("node2", 4, fork, 5, 8)}, keep, false, ""},
		// The point written before the promotion: a lower bound of the fork.
		{"unconfirmed point, behind, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, fork-1), Points: point("node2", 3, fork, 0, 7)}, keep, false, "not confirmed"},
		{"unconfirmed point, ahead, no lock: not proven", RejoinFacts{Own: clean(3, fork+1), Points: point("node2", 3, fork, 0, 7)}, ok, false, "no proof"},
		{"unconfirmed point, ahead, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, fork+1), Points: point("node2", 3, fork, 0, 7)}, keep, false, ""},
		{"segment boundary before the fork, locked", RejoinFacts{Locked: true, Lock: promoted, Own: boundary(3, 0x4000060, 0x5000000), Points: point("node2", 3, fork, 4, 7)}, unl, false, ""},
		{"segment boundary after the fork, checkpoint before, no lock", RejoinFacts{Own: boundary(3, 0x4000060, 0x6000000), Points: point("node2", 3, fork, 4, 7)}, ok, false, "may be before or past"},
		{"segment boundary after the fork, checkpoint before, locked", RejoinFacts{Locked: true, Lock: promoted, Own: boundary(3, 0x4000060, 0x6000000), Points: point("node2", 3, fork, 4, 7)}, keep, false, "may be before or past"},
		{"segment boundary, checkpoint past the fork, no lock", RejoinFacts{Own: boundary(3, 0x5000600, 0x6000000), Points: point("node2", 3, fork, 4, 7)}, lk, true, ""},
		// restart_on_promote: one timeline, several writers.
		{"restart: behind, lock names the previous promotion", RejoinFacts{Locked: true, Lock: promotedSeq6, Own: clean(3, fork-8), Points: point("node2", 3, fork, 3, 7)}, unl, false, ""},
		{"restart: behind, lock without promote_seq", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, fork-8), Points: point("node2", 3, fork, 3, 7)}, keep, false, "another promotion"},
		{"restart: behind, a promotion in between", RejoinFacts{Locked: true, Lock: promotedSeq6, Own: clean(3, fork-8), Points: point("node2", 3, fork, 3, 8)}, keep, false, ""},
		{"restart: behind, no lock", RejoinFacts{Own: crashed(3, fork-8, true), Points: point("node2", 3, fork, 3, 7)}, ok, false, ""},
		{"restart: crashed primary ahead, lock removed", RejoinFacts{Own: crashed(3, fork+0x80, true), Points: point("node2", 3, fork, 3, 7)}, lk, true, ""},
		{"restart: standby ahead, no lock (may have streamed it)", RejoinFacts{Own: crashed(3, fork+0x80, false), Points: point("node2", 3, fork, 3, 7)}, ok, false, "streamed"},
		{"restart: standby ahead, locked", RejoinFacts{Locked: true, Lock: promotedSeq6, Own: crashed(3, fork+0x80, false), Points: point("node2", 3, fork, 3, 7)}, keep, false, ""},
		{"restart: unconfirmed point, primary ahead, no lock", RejoinFacts{Own: crashed(3, fork+0x80, true), Points: point("node2", 3, fork, 0, 7)}, ok, false, ""},
		{"the guard's lock (no promote_seq)", RejoinFacts{Locked: true, Lock: lock("event", "diverged", "timeline", "3", "lsn", "0/5000000"), Own: crashed(4, fork+0x9000, false), Points: point("node2", 3, fork, 4, 7)}, keep, false, "guard"},
		{"a split-brain demote's lock (promote_seq kept), behind", RejoinFacts{Locked: true, Lock: lock("event", "diverged", "promote_seq", "6"), Own: clean(3, fork-8), Points: point("node2", 3, fork, 4, 7)}, unl, false, ""},
		// Missing or unreadable evidence.
		{"no point, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 1), Points: map[string]AttrRead{"node1": {}, "node2": {}}}, keep, false, "no promotion"},
		{"no point, no lock", RejoinFacts{Own: clean(3, 1), Points: map[string]AttrRead{"node2": {}}}, ok, false, ""},
		{"point unreadable, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 1), Points: map[string]AttrRead{"node2": {Err: errors.New("timeout")}}}, keep, false, "cannot read"},
		{"point malformed, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 1), Points: map[string]AttrRead{"node2": {Value: "x", Found: true}}}, keep, false, "malformed"},
		{"point names another node, locked", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 1), Points: map[string]AttrRead{"node2": {Value: PromotePoint{"node3", 3, fork, 4, 7}.Attribute(), Found: true}}}, keep, false, "malformed"},
		{"own end unknown, locked", RejoinFacts{Locked: true, Lock: promoted, Own: WALEnd{Problem: "pg_waldump failed"}, Points: point("node2", 3, fork, 4, 7)}, keep, false, "pg_waldump failed"},
		{"own end unknown, no lock", RejoinFacts{Own: WALEnd{Problem: "pg_waldump failed"}, Points: point("node2", 3, fork, 4, 7)}, ok, false, ""},
		{"this node is the latest promotee, locked", RejoinFacts{Self: "node2", Locked: true, Lock: promoted, Own: clean(4, fork+0x9000), Points: point("node2", 3, fork, 4, 7)}, keep, false, "last one promoted"},
		{"this node is the latest promotee, no lock", RejoinFacts{Self: "node2", Own: clean(4, fork+0x9000), Points: point("node2", 3, fork, 4, 7)}, ok, false, ""},
		{"the highest number counts", RejoinFacts{Locked: true, Lock: promoted, Own: clean(4, 0x7000000), Points: map[string]AttrRead{
			"node2": {Value: PromotePoint{"node2", 3, fork, 4, 7}.Attribute(), Found: true},
			"node3": {Value: PromotePoint{"node3", 4, 0x6000000, 5, 8}.Attribute(), Found: true}}}, keep, true, "node3"},
		{"two promotions with one number", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 1), Points: map[string]AttrRead{
			"node2": {Value: PromotePoint{"node2", 3, fork, 4, 7}.Attribute(), Found: true},
			"node3": {Value: PromotePoint{"node3", 3, fork, 4, 7}.Attribute(), Found: true}}}, keep, false, "both published"},
		// auto_rejoin=false: a lock is refused whatever the evidence; the check without a
		// lock still refuses proven divergence.
		{"auto_rejoin=false, locked, behind", RejoinFacts{Locked: true, Lock: promoted, Own: clean(3, 1), Points: point("node2", 3, fork, 4, 7)}, keep, false, "auto_rejoin=false"},
		{"auto_rejoin=false, no lock, ahead", RejoinFacts{Own: crashed(3, fork+1, true), Points: point("node2", 3, fork, 4, 7)}, lk, true, ""},
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
		})
	}
}
