package agent

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Evidence-based rejoin (issue #13 §1; docs/design.md §5 "Rejoin"). At every start as a
// standby the node compares where its own WAL ends with where the most recent promotion
// forked the history it would follow. A locked node starts, and its lock goes, only when that
// evidence proves all its WAL is in the new primary's history; an unlocked node is refused
// (and locked) only when the evidence proves it is not. Anything that cannot be decided
// keeps the lock: an unavailable node is a page, a lost commit a lost customer (§1).

// WALEnd is the evidence of where this node's WAL ends, read while PostgreSQL is stopped.
type WALEnd struct {
	Known        bool
	Timeline     uint32
	Last         pgctl.LSN // the start of the last valid record, or an upper bound of it
	LastLow      pgctl.LSN // a lower bound of it (= Last when known exactly)
	RanAsPrimary bool      // the control data says the last run was out of recovery
	Source       string    // how it was read, for the log
	Problem      string    // why it is not known
}

func (e WALEnd) String() string {
	if !e.Known {
		return "unknown (" + e.Problem + ")"
	}
	if e.LastLow != e.Last {
		return fmt.Sprintf("last record between %s and %s on timeline %d (%s)", e.LastLow, e.Last, e.Timeline, e.Source)
	}
	return fmt.Sprintf("last record at %s on timeline %d (%s)", e.Last, e.Timeline, e.Source)
}

// PromotePoint is what every promote publishes in <rsc>-promote-point (persistent): which
// node was promoted, the timeline it left, the fork position on it, the timeline it went to
// and a sequence number counting promotions. Every record of OldTLI that starts before Fork
// is in Node's history, and (once NewTLI is set) none that starts at or after it: for
// pg_promote() Fork is the switch point of the new timeline's history file (the end of the
// last record replayed); with restart_on_promote (NewTLI = OldTLI) it is one past the start
// of the last valid record the stopped standby held, which its restart as a primary
// replayed last. NewTLI 0 is the value written before the promotion: Fork is then the
// replay position read before it, for the log only: no rejoin is decided on it (the replay
// timeline of a standby whose WAL receiver is down is not known exactly, docs/design.md §8).
type PromotePoint struct {
	Node   string
	OldTLI uint32
	Fork   pgctl.LSN
	NewTLI uint32
	Seq    uint64
}

// Exact reports whether the promotion completed and published its fork position.
func (p PromotePoint) Exact() bool { return p.NewTLI != 0 }

// Attribute renders "<node>:<old tli>:<fork 16 hex>:<new tli>:<seq>".
func (p PromotePoint) Attribute() string {
	return fmt.Sprintf("%s:%d:%s:%d:%d", p.Node, p.OldTLI, p.Fork.Attribute(), p.NewTLI, p.Seq)
}

// ParsePromotePoint reads what Attribute wrote.
func ParsePromotePoint(s string) (PromotePoint, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	bad := fmt.Errorf("%q is not <node>:<old timeline>:<lsn>:<new timeline>:<seq>", s)
	if len(parts) != 5 || parts[0] == "" {
		return PromotePoint{}, bad
	}
	oldTLI, err1 := strconv.ParseUint(parts[1], 10, 32)
	fork, err2 := pgctl.ParseAttributeLSN(parts[2])
	newTLI, err3 := strconv.ParseUint(parts[3], 10, 32)
	seq, err4 := strconv.ParseUint(parts[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || oldTLI == 0 || seq == 0 ||
		(newTLI != 0 && newTLI < oldTLI) {
		return PromotePoint{}, bad
	}
	return PromotePoint{Node: parts[0], OldTLI: uint32(oldTLI), Fork: fork, NewTLI: uint32(newTLI), Seq: seq}, nil
}

func (p PromotePoint) String() string {
	switch {
	case !p.Exact():
		return fmt.Sprintf("%s's promotion #%d from timeline %d after %s (not confirmed)", p.Node, p.Seq, p.OldTLI, p.Fork)
	case p.NewTLI == p.OldTLI:
		return fmt.Sprintf("%s's promotion #%d forked timeline %d at %s (restart_on_promote)", p.Node, p.Seq, p.OldTLI, p.Fork)
	}
	return fmt.Sprintf("%s's promotion #%d forked timeline %d at %s to timeline %d", p.Node, p.Seq, p.OldTLI, p.Fork, p.NewTLI)
}

// RejoinFacts is what DecideRejoin decides on.
type RejoinFacts struct {
	Self       string
	AutoRejoin bool
	Locked     bool     // PGSQL.lock exists (MayUnlock did not lift it)
	Lock       LockInfo // its contents
	Own        WALEnd
	Points     map[string]AttrRead // every node_list member's <rsc>-promote-point
}

// LatestPromotion picks the most recent promotion among the points each node published of
// its own (the highest sequence number). Any point that cannot be read or parsed, or two
// with one number, leave it undecided.
func LatestPromotion(points map[string]AttrRead) (PromotePoint, bool, string) {
	var latest PromotePoint
	found := false
	for node, read := range points {
		switch {
		case read.Err != nil:
			return PromotePoint{}, false, fmt.Sprintf("cannot read %s's promote point: %v", node, read.Err)
		case !read.Found:
			continue
		}
		p, err := ParsePromotePoint(read.Value)
		if err != nil || p.Node != node {
			return PromotePoint{}, false, fmt.Sprintf("%s's promote point %q is malformed", node, read.Value)
		}
		if found && p.Seq == latest.Seq {
			return PromotePoint{}, false, fmt.Sprintf("%s and %s both published promotion #%d", latest.Node, p.Node, p.Seq)
		}
		if !found || p.Seq > latest.Seq {
			latest, found = p, true
		}
	}
	if !found {
		return PromotePoint{}, false, "no promotion has published a promote point"
	}
	return latest, true, ""
}

// RejoinPlan is what the start does.
type RejoinPlan struct {
	Start  bool   // start as a standby
	Unlock bool   // remove the lock (it existed)
	Lock   bool   // refuse and take the lock (event diverged): the evidence proves divergence
	Proven bool   // the refusal rests on evidence of divergence, not on its absence
	Why    string // the evidence in words
	Reason string // with a refusal on evidence: the exit reason (at most 128 bytes)
}

// DecideRejoin decides a start as a standby from the evidence. The comparison is with the
// most recent promotion only: every promote publishes its point, numbered one past every
// published one, before promoting, so the highest names the latest, and its history holds
// OldTLI up to Fork.
//
//   - Same timeline, last record before the fork: all this node's WAL is a prefix of the
//     promotee's. With pg_promote() each promotion starts a new timeline, so timeline OldTLI
//     has one writer and the comparison is sound. With restart_on_promote several primaries
//     write one timeline: it is sound only for the WAL of the primary the promotee followed,
//     so a locked node also needs its lock to name the promotion just before this one
//     (promote_seq + 1 = Seq); otherwise a second promotion may have happened since its WAL
//     was written and it stays locked.
//   - Same timeline, last record at or past the fork: this node has WAL the promotee lacks,
//     proven when the fork is exact and either each promotion has its own timeline or this
//     node wrote that WAL itself as a primary (with restart_on_promote a standby past the
//     fork may have streamed it from the new primary).
//   - This node on the promotee's new timeline (pg_promote()): only the promotee writes it.
//   - Anything else (several switches since, no point, no evidence): not decided.
//
// Undecided keeps a lock and refuses; without a lock the start goes on (today's behaviour:
// PostgreSQL's own timeline check still refuses a forked pg_promote() history).
func DecideRejoin(f RejoinFacts) RejoinPlan {
	undecided := func(why string) RejoinPlan {
		if f.Locked {
			return RejoinPlan{Why: why}
		}
		return RejoinPlan{Start: true, Why: "no proof of divergence: " + why}
	}
	if f.Locked && !f.AutoRejoin {
		return RejoinPlan{Why: "auto_rejoin=false: only an admin removes the lock"}
	}
	p, ok, why := LatestPromotion(f.Points)
	if !ok {
		return undecided(why)
	}
	if !p.Exact() {
		return undecided(p.String() + ": in progress or failed, its fork position is not known")
	}
	if p.Node == f.Self {
		return undecided("this node was the last one promoted (" + p.String() + "): no later history to compare with")
	}
	if _, ok := f.Lock.promoteSeq(); f.Locked && f.Lock.Fields["event"] == lockEventDiverged && !ok {
		// The pre-promote guard's lock (guard.go) anticipates a promotion that may not have
		// published its point yet: compared with the previous one, this node's WAL could pass.
		return undecided("the lock was taken against a promotion it does not number (the pre-promote guard's)")
	}
	if !f.Own.Known {
		return undecided("this node's end of WAL is unknown: " + f.Own.Problem)
	}
	own := f.Own
	oneTimeline := p.NewTLI == p.OldTLI
	switch {
	case own.Timeline == p.OldTLI && own.Last < p.Fork:
		if f.Locked && oneTimeline {
			seq, ok := f.Lock.promoteSeq()
			if !ok || seq+1 != p.Seq {
				return undecided(fmt.Sprintf("this node's %s is before %s, but with restart_on_promote every primary writes timeline %d "+
					"and the lock does not name promotion #%d as this node's: another promotion may have forked it earlier",
					own, p, p.OldTLI, p.Seq-1))
			}
		}
		return RejoinPlan{Start: true, Unlock: f.Locked,
			Why: fmt.Sprintf("this node's %s is before %s: %s holds all of this node's WAL", own, p, p.Node)}
	case own.Timeline == p.OldTLI && own.LastLow < p.Fork:
		return undecided(fmt.Sprintf("this node's %s may be before or past %s", own, p))
	case own.Timeline == p.OldTLI:
		why := fmt.Sprintf("this node's %s is at or past %s: this node has %d bytes or more of WAL %s lacks",
			own, p, uint64(own.LastLow-p.Fork)+1, p.Node)
		proven := !oneTimeline || own.RanAsPrimary
		if !proven {
			return undecided(why + " unless " + p.Node + " streamed it to this node")
		}
		return RejoinPlan{Lock: !f.Locked, Proven: true, Why: why,
			Reason: fmt.Sprintf("WAL to %s (timeline %d) past %s's fork at %s: PGSQL.lock kept, take a base backup", own.LastLow, own.Timeline, p.Node, p.Fork)}
	case !oneTimeline && own.Timeline == p.NewTLI:
		return RejoinPlan{Start: true, Unlock: f.Locked,
			Why: fmt.Sprintf("this node's %s is on the timeline %s created: only %s writes it", own, p, p.Node)}
	}
	return undecided(fmt.Sprintf("this node's %s is on another timeline than %s: the history between them is not known here", own, p))
}

// promoteSeq is the promotion the lock's WAL belongs to (promote_seq, written by promote and
// carried by the demote that rewrites the lock).
func (l LockInfo) promoteSeq() (uint64, bool) {
	n, err := strconv.ParseUint(l.Fields["promote_seq"], 10, 64)
	return n, err == nil && n > 0
}
