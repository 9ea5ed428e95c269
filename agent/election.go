package agent

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Position is a node's place in the WAL history: timeline first, then LSN (a higher timeline
// has seen a promotion the lower one has not).
type Position struct {
	Timeline uint32
	LSN      uint64
}

// Less orders positions: timeline first, then LSN.
func (p Position) Less(o Position) bool {
	if p.Timeline != o.Timeline {
		return p.Timeline < o.Timeline
	}
	return p.LSN < o.LSN
}

func (p Position) String() string {
	return fmt.Sprintf("tli %d lsn %X/%X", p.Timeline, p.LSN>>32, p.LSN&0xFFFFFFFF)
}

// ElectionState is what a standby remembers between monitors while no primary exists: the
// positions every node published, and for how many consecutive monitors they stayed equal.
type ElectionState struct {
	Snapshot map[string]Position `json:"snapshot"`
	Rounds   int                 `json:"rounds"`
}

// Verdict is the outcome of one election round on this node.
type Verdict int

const (
	// Wait: positions are still moving or too few rounds have passed.
	Wait Verdict = iota
	// Win: this node holds the newest data and may be promoted (score 1000).
	Win
	// Lose: another node holds newer data; this one must not be promoted.
	Lose
)

// ElectionInput is one round's observation.
type ElectionInput struct {
	Self       string
	NodeOrder  []string            // node_list, for a deterministic tie-break
	Published  map[string]Position // positions nodes published (self included)
	LastLatest map[string]bool     // nodes whose data-status says LATEST (the last primary)
	CheckCount int                 // xlog_check_count
	// Contenders are the other node_list members whose data-status lets them hold the newest
	// data (ElectionEligible: LATEST, never written, streaming). None of them may be passed
	// over unseen: until each has published a position nobody wins (issue #13 §3, cold
	// start: a stale node booted first must not promote itself while the node with the
	// newest data is still down).
	Contenders []string
	// Streamed: this node's WAL receiver was seen streaming in the postmaster's current run:
	// it followed a primary that failed while it ran. That is a failover, not a cold
	// start, and unseen contenders do not hold it back: a lost primary's unsent WAL is what
	// async accepts to lose, and in sync mode an eligible standby holds every acknowledged
	// commit (second review of issue #13 §3: 3+ async nodes fail over only by election).
	Streamed bool
	// NoPromote are no_promote_nodes: they take part (their position counts, so a node
	// behind one of them does not win) but never win a tie and never claim (issue #13 §4).
	NoPromote []string
}

// DecideElection is the master-less election (docs/design.md §2) with timelines compared before
// LSNs: nodes publish their positions; once the set stays unchanged for CheckCount
// consecutive rounds after a seeding round, the node with the newest position wins. A tie is
// broken in favour of the last primary (data-status LATEST), then node_list order, so exactly
// one node claims promotion (the old agent let every tied node claim it).
func DecideElection(prev ElectionState, in ElectionInput) (ElectionState, Verdict, string) {
	next := ElectionState{Snapshot: in.Published, Rounds: 0}
	if sameSnapshot(prev.Snapshot, in.Published) {
		next.Rounds = prev.Rounds + 1
	}
	if next.Rounds < in.CheckCount {
		return next, Wait, fmt.Sprintf("no primary: positions stable for %d of %d rounds", next.Rounds, in.CheckCount)
	}
	if unseen := in.awaited(); len(unseen) > 0 {
		return next, Wait, fmt.Sprintf("no primary: waiting for %s to publish a position: %s may hold newer data "+
			"(to promote without %s, set its data-status to DISCONNECT)", strings.Join(unseen, ", "), pluralIt(unseen), strings.Join(unseen, ", "))
	}
	winner := electWinner(in)
	if Has(in.NoPromote, winner) {
		// Its data is newer than every promotable node's: promoting one of them would lose
		// what only it holds, so nobody claims and nobody gives up (a loser would write
		// itself DISCONNECT, and the newest node must stay a contender): an admin decides
		// (docs/design.md §4a; second review).
		return next, Wait, fmt.Sprintf("no primary: %s has the newest data (%s, here %s) but is in no_promote_nodes: no node claims",
			winner, in.Published[winner], in.Published[in.Self])
	}
	if winner == in.Self {
		return ElectionState{}, Win, fmt.Sprintf("no primary: this node has the newest data (%s)", in.Published[in.Self])
	}
	return ElectionState{}, Lose, fmt.Sprintf("no primary: %s has newer or preferred data (%s, here %s)",
		winner, in.Published[winner], in.Published[in.Self])
}

// awaited are the contenders this round waits for: none after a failover (Streamed).
func (in ElectionInput) awaited() []string {
	if in.Streamed {
		return nil
	}
	var unseen []string
	for _, node := range in.Contenders {
		if _, ok := in.Published[node]; !ok && node != in.Self {
			unseen = append(unseen, node)
		}
	}
	return unseen
}

func pluralIt(nodes []string) string {
	if len(nodes) == 1 {
		return "it"
	}
	return "they"
}

func electWinner(in ElectionInput) string {
	order := map[string]int{}
	for i, n := range in.NodeOrder {
		order[n] = i
	}
	var nodes []string
	for n := range in.Published {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool {
		a, b := in.Published[nodes[i]], in.Published[nodes[j]]
		if a != b {
			return b.Less(a) // newest first
		}
		if np := Has(in.NoPromote, nodes[i]); np != Has(in.NoPromote, nodes[j]) {
			return !np
		}
		if in.LastLatest[nodes[i]] != in.LastLatest[nodes[j]] {
			return in.LastLatest[nodes[i]]
		}
		return order[nodes[i]] < order[nodes[j]]
	})
	if len(nodes) == 0 {
		return ""
	}
	return nodes[0]
}

func sameSnapshot(a, b map[string]Position) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ElectionEligible reports whether a node with this data-status may take part: never one
// that a primary saw disconnected or lagging, except when it never had a data-status.
func ElectionEligible(mode RepMode, dataStatus string) bool {
	switch dataStatus {
	case "", dataLatest, dataStreamingSync:
		return true
	case dataStreamingAsyn:
		return mode == RepAsync
	}
	return false
}

func formatTimeline(tli uint32) string { return fmt.Sprintf("%d", tli) }

// parseTimeline reads the xlog-tli attribute; 0 (no timeline) for anything that is not a
// decimal timeline, "1A" and "3 junk" included (#11).
func parseTimeline(s string) uint32 {
	tli, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(tli)
}
