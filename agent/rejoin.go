package agent

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Evidence-based rejoin (issue #13 §1; docs/design.md §5 "Rejoin"). At every start as a
// standby the node compares where its own WAL ends with where the promotions since its WAL
// was written forked the history it would follow (the chain of promote points). A locked node starts, and its lock goes, only when that
// evidence proves all its WAL is in the new primary's history; an unlocked node is refused
// (and locked) only when the evidence proves it is not. Anything that cannot be decided
// keeps the lock: an unavailable node is a page, a lost commit a lost customer (§1).

// WALEnd is the evidence of where this node's WAL ends, read while PostgreSQL is stopped.
type WALEnd struct {
	Known    bool
	Timeline uint32
	Last     pgctl.LSN // the start of the last valid record, or an upper bound of it (Known)
	LastLow  pgctl.LSN // a lower bound of it (= Last when known exactly; also when not Known, 0: none)
	// EndLow (0: none) is where a record this node replayed ends (its minimum recovery
	// point): its WAL reaches at least there, known or not.
	EndLow       pgctl.LSN
	RanAsPrimary bool   // the control data says the last run was out of recovery
	Source       string // how it was read, for the log
	Problem      string // why it is not known
	// Switch is the last line of this node's timeline's history file (timeline > 1): which
	// promotion created the timeline its last record is on (nil: not read).
	Switch *pgctl.TimelineSwitch
}

func (e WALEnd) String() string {
	if !e.Known {
		if e.LastLow == 0 && e.EndLow == 0 {
			return "unknown (" + e.Problem + ")"
		}
		return fmt.Sprintf("last record at or past %s on timeline %d, its WAL reaching at least %s, end unknown (%s)", e.LastLow, e.Timeline, e.EndLow, e.Problem)
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
	// Unlinked: the promotee did not show that it followed the promotion before it in the
	// chain (ChainFor), so the chain below this point may describe a history this one never
	// had: it still proves divergence, never safety.
	Unlinked bool
}

// Exact reports whether the promotion completed and published its fork position.
func (p PromotePoint) Exact() bool { return p.NewTLI != 0 }

// Attribute renders "<node>:<old tli>:<fork 16 hex>:<new tli>:<seq>[:u]" (u: Unlinked).
func (p PromotePoint) Attribute() string {
	a := fmt.Sprintf("%s:%d:%s:%d:%d", p.Node, p.OldTLI, p.Fork.Attribute(), p.NewTLI, p.Seq)
	if p.Unlinked {
		a += ":u"
	}
	return a
}

// ParsePromotePoint reads what Attribute wrote.
func ParsePromotePoint(s string) (PromotePoint, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	bad := fmt.Errorf("%q is not <node>:<old timeline>:<lsn>:<new timeline>:<seq>[:u]", s)
	unlinked := len(parts) == 6 && parts[5] == "u"
	if unlinked {
		parts = parts[:5]
	}
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
	return PromotePoint{Node: parts[0], OldTLI: uint32(oldTLI), Fork: fork, NewTLI: uint32(newTLI), Seq: seq, Unlinked: unlinked}, nil
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

// PromoteChain is what <rsc>-promote-point holds: this node's latest promotion and the ones
// before it that the promotee knew of, newest first, numbered without a gap, at most
// promoteChainMax. Each promotion's history is the one before it up to its fork, then its
// own WAL: promotions are linear, since only a node whose WAL is a prefix of the current
// history may be promoted (invariant I3).
type PromoteChain []PromotePoint

const promoteChainMax = 16

// Attribute renders the chain, space-separated.
func (c PromoteChain) Attribute() string {
	var parts []string
	for _, p := range c {
		parts = append(parts, p.Attribute())
	}
	return strings.Join(parts, " ")
}

// ParsePromoteChain reads what Attribute wrote.
func ParsePromoteChain(s string) (PromoteChain, error) {
	var c PromoteChain
	for _, field := range strings.Fields(s) {
		p, err := ParsePromotePoint(field)
		if err != nil {
			return nil, err
		}
		if len(c) > 0 && p.Seq+1 != c[len(c)-1].Seq {
			return nil, fmt.Errorf("%q: promotion #%d follows #%d", s, p.Seq, c[len(c)-1].Seq)
		}
		c = append(c, p)
	}
	if len(c) == 0 || len(c) > promoteChainMax {
		return nil, fmt.Errorf("%q holds %d promote points", s, len(c))
	}
	return c, nil
}

// Extend is the chain a new promotion of node publishes: its own point first, numbered one
// past the latest.
func (c PromoteChain) Extend(p PromotePoint) PromoteChain {
	if len(c) > 0 {
		p.Seq = c[0].Seq + 1
	} else {
		p.Seq = 1
	}
	out := append(PromoteChain{p}, c...)
	if len(out) > promoteChainMax {
		out = out[:promoteChainMax]
	}
	return out
}

// ChainFor is the chain a promotion publishes (before promoting, with own as its pending
// point numbered one past seq, the highest published). It continues latest; the link is
// proven only when this node followed latest's head: it streamed, in its current run, from
// the primary of that confirmed promotion (StreamRecord). Otherwise its WAL need not be a
// prefix of that promotion's history (a standby that was ahead and never locked, a reused
// timeline number), and an older node compared through the link could be unlocked although
// it diverged (review of issue #13): the point is marked Unlinked, and the chain below it
// then proves divergence only.
func ChainFor(latest PromoteChain, seq uint64, followed StreamRecord, followedKnown bool, own PromotePoint) (PromoteChain, string) {
	own.Seq = seq + 1
	switch {
	case seq == 0:
		return PromoteChain{own}, "no earlier promotion to continue"
	case latest == nil || latest[0].Seq != seq:
		// A new chain after promotion #seq, which DecideRejoin would take as its link
		// (second review of issue #13, session 6): unproven, so unlinked.
		own.Unlinked = true
		return PromoteChain{own}, fmt.Sprintf("the highest promotion #%d published no readable chain: a new chain, unlinked", seq)
	}
	why := fmt.Sprintf("continues %s, which this node followed", latest[0])
	switch {
	case !followedKnown:
		own.Unlinked = true
		why = fmt.Sprintf("continues %s, unlinked: this node was not seen following it in its current run", latest[0])
	case followed.Seq != latest[0].Seq || followed.Node != latest[0].Node:
		own.Unlinked = true
		why = fmt.Sprintf("continues %s, unlinked: this node followed %s's promotion #%d", latest[0], followed.Node, followed.Seq)
	}
	chain := latest.Extend(own)
	chain[0].Seq = seq + 1
	return chain, why
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

// LatestPromotion picks the chain of the most recent promotion among those every node
// published (the highest number). Any point that cannot be read or parsed, or two with one
// number, leave it undecided. A node's own exact point replaces the same promotion's
// unconfirmed entry in the chain (the promotee read it before that node confirmed it).
func LatestPromotion(points map[string]AttrRead) (PromoteChain, string) {
	var latest PromoteChain
	heads := map[uint64]PromotePoint{}
	for node, read := range points {
		switch {
		case read.Err != nil:
			return nil, fmt.Sprintf("cannot read %s's promote point: %v", node, read.Err)
		case !read.Found:
			continue
		}
		c, err := ParsePromoteChain(read.Value)
		if err != nil || c[0].Node != node {
			return nil, fmt.Sprintf("%s's promote point %q is malformed", node, read.Value)
		}
		if other, dup := heads[c[0].Seq]; dup {
			return nil, fmt.Sprintf("%s and %s both published promotion #%d", other.Node, node, c[0].Seq)
		}
		heads[c[0].Seq] = c[0]
		if latest == nil || c[0].Seq > latest[0].Seq {
			latest = c
		}
	}
	if latest == nil {
		return nil, "no promotion has published a promote point"
	}
	merged := append(PromoteChain(nil), latest...)
	for i, p := range merged {
		if h, ok := heads[p.Seq]; ok && h.Node == p.Node && !p.Exact() && h.Exact() {
			merged[i] = h
		}
	}
	return merged, ""
}

// RejoinPlan is what the start does.
type RejoinPlan struct {
	Start  bool   // start as a standby
	Unlock bool   // remove the lock (it existed)
	Lock   bool   // refuse and take the lock (event diverged): the evidence proves divergence
	Proven bool   // the refusal rests on evidence of divergence, not on its absence
	Why    string // the evidence in words
	Reason string // with a refusal on evidence: the exit reason (at most 128 bytes)
	// Diverged (with Proven): the fork the refusal rests on, for DecideRewind.
	Diverged *Divergence
}

// Divergence is the proof of a refusal on evidence: this node's WAL reaches To (on
// Timeline) at least, past Fork, the earliest fork it is proven to pass; Chain is the latest
// promotion's chain the proof was read from.
type Divergence struct {
	Fork     PromotePoint
	To       pgctl.LSN
	Timeline uint32
	Chain    PromoteChain
}

// Bytes is how much of this node's WAL at least lies past the fork.
func (d Divergence) Bytes() uint64 { return uint64(d.To-d.Fork.Fork) + 1 }

// DecideRejoin decides a start as a standby from the evidence. LSNs grow along any one
// history whatever its timelines, so if this node's WAL lies in the history of promotion j
// (its membership), it lies in the latest one's, k, exactly when its last record starts
// before every fork of the promotions after j (j < i <= k): each kept the history before it
// only up to its fork. Its membership is known
//   - from its timeline's history file, when a pg_promote() promotion in the chain created
//     that timeline with that very switch point (a timeline number alone could be reused by
//     a node that never saw it);
//   - when it last ran as a primary: its own latest promotion in the chain (it wrote that
//     history);
//   - from its lock's promote_seq: at least that promotion (a demoted node may have
//     streamed a later one's WAL since, so this one proves safety, never divergence);
//   - on timeline 1 with a chain back to the first promotion, which left timeline 1 by
//     pg_promote(): before any promotion.
//
// With restart_on_promote every promotion shares one timeline, so only the second and third
// apply (PostgreSQL cannot tell the histories apart). A start with its last record past a
// fork (j < i <= k) and an exact membership is refused and locked, lock or no lock; one
// before every fork lifts the lock. Anything else is undecided: a lock stays, and without
// one the start goes on (today's behaviour; PostgreSQL's own timeline check still refuses to
// follow a forked pg_promote() history).
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
	chain, why := LatestPromotion(f.Points)
	if chain == nil {
		return undecided(why)
	}
	k := chain[0]
	if !k.Exact() {
		return undecided(k.String() + ": in progress or failed, its fork position is not known")
	}
	lockSeq, hasLockSeq := f.Lock.promoteSeq()
	if k.Node == f.Self {
		// Also after a crash as the primary of the latest promotion (a dirty power cycle):
		// a promotion that published no point (another agent, an admin, a CIB rolled back)
		// or one made while this start runs could have forked from its WAL, and with two
		// nodes no guard stops it from following that one (third review of issue #13,
		// session 6). An admin decides: docs/design.md §8.
		return undecided("this node was the last one promoted (" + k.String() + "): no later history to compare with")
	}
	if f.Locked && f.Lock.Fields["event"] == lockEventDiverged && !hasLockSeq {
		// The pre-promote guard's lock (guard.go) anticipates a promotion that may not have
		// published its point yet: compared with the previous one, this node's WAL could pass.
		return undecided("the lock was taken against a promotion it does not number (the pre-promote guard's)")
	}
	own := f.Own
	if !own.Known && own.LastLow == 0 && own.EndLow == 0 {
		return undecided("this node's end of WAL is unknown: " + own.Problem)
	}
	j, exact, from := int64(-1), false, ""
	member := func(seq uint64, isExact bool, source string) {
		if seq > k.Seq {
			return // a lock numbering a promotion nobody published: no evidence
		}
		if int64(seq) > j || (int64(seq) == j && isExact) {
			j, exact, from = int64(seq), isExact, source
		}
	}
	createdOwnTimeline := func(p PromotePoint) bool {
		return own.Switch != nil && p.Exact() && p.NewTLI != p.OldTLI && p.NewTLI == own.Timeline &&
			p.OldTLI == own.Switch.Parent && p.Fork == own.Switch.At
	}
	creators := 0
	for _, p := range chain {
		if createdOwnTimeline(p) {
			creators++
		}
	}
	for i, p := range chain {
		if creators == 1 && createdOwnTimeline(p) {
			// Two promotions that created the same timeline from the same switch point (a
			// node that never saw the first one reused its number) leave identical history
			// files: the file then names neither (second review of issue #13, session 6).
			// A later restart_on_promote promotion that went on on this timeline (chain[:i]
			// is newer) may have written this node's last records: the timeline then
			// names the earliest promotion its WAL may be in, not the one.
			continued := false
			for _, later := range chain[:i] {
				continued = continued || (later.OldTLI == own.Timeline && later.NewTLI == own.Timeline)
			}
			if continued {
				member(p.Seq, false, fmt.Sprintf("its timeline %d is the one %s created, which a later restart_on_promote promotion went on with", own.Timeline, p))
			} else {
				member(p.Seq, true, fmt.Sprintf("its timeline %d is the one %s created", own.Timeline, p))
			}
		}
	}
	if own.RanAsPrimary {
		for _, p := range chain {
			if p.Node == f.Self {
				member(p.Seq, true, fmt.Sprintf("it last ran as the primary of %s", p))
				break
			}
		}
	}
	if f.Locked && hasLockSeq {
		member(lockSeq, false, fmt.Sprintf("its lock names promotion #%d", lockSeq))
	}
	if oldest := chain[len(chain)-1]; own.Timeline == 1 && oldest.Seq == 1 && oldest.OldTLI == 1 &&
		oldest.Exact() && oldest.NewTLI != 1 {
		member(0, true, "it is on timeline 1, which the first promotion left by pg_promote()")
	}
	if j < 0 {
		return undecided(fmt.Sprintf("this node's %s is in no history the promote points (down to #%d) describe", own, chain[len(chain)-1].Seq))
	}
	var unlinked *PromotePoint // a promotion after j whose link to the one before is not proven
	for i, p := range chain {
		if p.Seq > uint64(j) && p.Unlinked {
			unlinked = &chain[i]
		}
	}
	if uint64(j) == k.Seq && own.Known {
		return RejoinPlan{Start: true, Unlock: f.Locked,
			Why: fmt.Sprintf("this node's %s is in the history of the latest promotion: %s", own, from)}
	}
	if uint64(j) == k.Seq {
		return undecided(fmt.Sprintf("this node's %s: only an end of WAL that is known proves it (%s)", own, from))
	}
	if uint64(j)+1 < chain[len(chain)-1].Seq {
		return undecided(fmt.Sprintf("this node's WAL is in the history of promotion #%d (%s), older than the promote points kept (down to #%d)",
			j, from, chain[len(chain)-1].Seq))
	}
	var first PromotePoint  // the earliest fork after j
	var passed PromotePoint // a pg_promote() fork after j that a record ending at EndLow passes
	for _, p := range chain {
		if p.Seq <= uint64(j) {
			break
		}
		if !p.Exact() {
			return undecided(p.String() + ": its fork position is not known")
		}
		if first.Node == "" || p.Fork < first.Fork {
			first = p
		}
		// A pg_promote() fork is where the promotee's last replayed record ends: a record of
		// this node's that ends past it leaves WAL starting at or after the fork. (A
		// restart_on_promote fork is one past a record's start: a record ending past it may
		// be that very record.)
		if p.NewTLI != p.OldTLI && own.EndLow > p.Fork && (passed.Node == "" || p.Fork < passed.Fork) {
			passed = p
		}
	}
	switch {
	case !exact && !own.Known:
	case !own.Known && own.LastLow < first.Fork && passed.Node != "":
		why := fmt.Sprintf("this node's %s: a record it replayed ends at %s, past %s (%s): this node has %d bytes or more of WAL that %s's history lacks",
			own, own.EndLow, passed, from, uint64(own.EndLow-passed.Fork), k.Node)
		return RejoinPlan{Lock: !f.Locked, Proven: true, Why: why,
			Reason:   fmt.Sprintf("WAL to %s (timeline %d) past %s's fork at %s: PGSQL.lock kept, take a base backup", own.EndLow, own.Timeline, passed.Node, passed.Fork),
			Diverged: &Divergence{Fork: passed, To: own.EndLow - 1, Timeline: own.Timeline, Chain: chain}}
	case !own.Known && own.LastLow < first.Fork:
	case own.Known && own.Last < first.Fork && unlinked != nil:
		// Safety would rest on the chain below it, which its promotee may never have had.
		return undecided(fmt.Sprintf("this node's %s is before %s (%s), but %s did not show it followed the promotion before it",
			own, first, from, *unlinked))
	case own.Known && own.Last < first.Fork:
		return RejoinPlan{Start: true, Unlock: f.Locked,
			Why: fmt.Sprintf("this node's %s is before %s (%s; %d promotion(s) since): %s holds all of this node's WAL",
				own, first, from, k.Seq-uint64(j), k.Node)}
	case own.LastLow >= first.Fork && exact:
		why := fmt.Sprintf("this node's %s is at or past %s (%s): this node has %d bytes or more of WAL that %s's history lacks",
			own, first, from, uint64(own.LastLow-first.Fork)+1, k.Node)
		return RejoinPlan{Lock: !f.Locked, Proven: true, Why: why,
			Reason:   fmt.Sprintf("WAL to %s (timeline %d) past %s's fork at %s: PGSQL.lock kept, take a base backup", own.LastLow, own.Timeline, first.Node, first.Fork),
			Diverged: &Divergence{Fork: first, To: own.LastLow, Timeline: own.Timeline, Chain: chain}}
	}
	return undecided(fmt.Sprintf("this node's %s may be before or past %s (%s)", own, first, from))
}

// promoteSeq is the promotion the lock's WAL belongs to (promote_seq, written by promote and
// carried by the demote that rewrites the lock).
func (l LockInfo) promoteSeq() (uint64, bool) {
	n, err := strconv.ParseUint(l.Fields["promote_seq"], 10, 64)
	return n, err == nil && n > 0
}
