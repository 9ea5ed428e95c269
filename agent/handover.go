package agent

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// The hand-over of a demoted primary (docs/design.md, "The lock's life cycle"). A demote
// keeps PGSQL.lock and publishes where its WAL ends: the timeline and LSN of its shutdown
// checkpoint, the last record it wrote, as the persistent attribute <rsc>-demoted-lsn (it
// must survive a stop of the demoted node and the node leaving the cluster, which takes its
// transient attributes with it: Pacemaker runs demote, stop, then promote in one
// transition). The node being promoted waits until it has replayed past that record, then
// acknowledges it in the persistent attribute <rsc>-handover on the demoted node. Only that
// acknowledgement frees the demoted node of its lock (issue #10, defects 4 and 5).

// WALPoint is a place in one timeline's WAL.
type WALPoint struct {
	Timeline uint32
	LSN      pgctl.LSN
}

func (p WALPoint) String() string { return fmt.Sprintf("%s on timeline %d", p.LSN, p.Timeline) }

// Attribute renders the point as "<timeline>:<16 hex digits>".
func (p WALPoint) Attribute() string { return fmt.Sprintf("%d:%s", p.Timeline, p.LSN.Attribute()) }

// ParseWALPoint reads what Attribute wrote.
func ParseWALPoint(s string) (WALPoint, error) {
	tli, lsn, found := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseUint(tli, 10, 32)
	if !found || err != nil || n == 0 {
		return WALPoint{}, fmt.Errorf("%q is not <timeline>:<lsn>", s)
	}
	l, err := pgctl.ParseAttributeLSN(lsn)
	if err != nil {
		return WALPoint{}, err
	}
	return WALPoint{Timeline: uint32(n), LSN: l}, nil
}

// noHandover is the mark of a demote that found PostgreSQL already stopped (crashed): it
// hands no WAL over, and a promote does not wait for it.
const noHandover = "none"

// DemoteMark is <rsc>-demoted-lsn: what a demote of the node published. Point is where its
// WAL ends (its shutdown checkpoint); None says the demote found PostgreSQL stopped and hands
// nothing over. Seq is the promotion whose run as primary that demote ended (the head of the
// node's own <rsc>-promote-point, its lock's promote_seq where that cannot be read; 0: not
// known): it tells a mark of the node's latest run from one an earlier demote left behind,
// which proves nothing about a later run (review 22, finding 3).
type DemoteMark struct {
	None  bool
	Point WALPoint
	Seq   uint64
}

// Attribute renders "<timeline>:<16 hex digits>:<seq>" or "none:<seq>".
func (m DemoteMark) Attribute() string {
	if m.None {
		return fmt.Sprintf("%s:%d", noHandover, m.Seq)
	}
	return fmt.Sprintf("%s:%d", m.Point.Attribute(), m.Seq)
}

// ParseDemoteMark reads what Attribute wrote, and the forms without the promotion's number
// ("none", "<timeline>:<lsn>"), whose Seq is 0.
func ParseDemoteMark(s string) (DemoteMark, error) {
	s = strings.TrimSpace(s)
	body, seq := s, uint64(0)
	if i := strings.LastIndexByte(s, ':'); i >= 0 && (strings.Count(s, ":") == 2 || strings.HasPrefix(s, noHandover+":")) {
		n, err := strconv.ParseUint(s[i+1:], 10, 64)
		if err != nil {
			return DemoteMark{}, fmt.Errorf("%q: the promotion number %q is not a number", s, s[i+1:])
		}
		body, seq = s[:i], n
	}
	if body == noHandover {
		return DemoteMark{None: true, Seq: seq}, nil
	}
	point, err := ParseWALPoint(body)
	if err != nil {
		return DemoteMark{}, err
	}
	return DemoteMark{Point: point, Seq: seq}, nil
}

// MarkOfLatestRun decides whether node's mark was published by the demote that ended its
// latest run as primary, given its <rsc>-promote-point (point): every promotion publishes
// that, numbered, before it promotes (a promote that cannot refuses), and its demote numbers
// the mark with it. A mark numbered otherwise outlived a later promotion (the promote removes
// its own mark only after promoting, best effort) and says nothing about whether the node
// still runs as primary. An unnumbered mark (no promotion known to the demote, or an earlier
// build) passes only where the node published no promotion at all: its position cannot tell
// a later run from an earlier one, since timeline numbers are reused after a rebuild (review
// 25 broke the rule that let it pass past the latest fork).
func MarkOfLatestRun(node string, mark DemoteMark, point AttrRead) (bool, string) {
	switch {
	case point.Err != nil:
		return false, fmt.Sprintf("its promote point cannot be read (%v)", point.Err)
	case !point.Found && mark.Seq == 0:
		return true, "no promotion of it is published"
	case !point.Found:
		return false, fmt.Sprintf("its mark names promotion #%d, but it published no promote point", mark.Seq)
	}
	chain, err := ParsePromoteChain(point.Value)
	if err != nil || chain[0].Node != node {
		return false, fmt.Sprintf("its promote point %q is not one of its own", point.Value)
	}
	switch latest := chain[0]; {
	case mark.Seq == 0:
		return false, fmt.Sprintf("its mark carries no promotion number (an earlier build's) and it published promotion #%d", latest.Seq)
	case latest.Seq != mark.Seq:
		return false, fmt.Sprintf("its mark is from the demote after promotion #%d, but it was promoted since (#%d)", mark.Seq, latest.Seq)
	}
	return true, fmt.Sprintf("its mark ends promotion #%d, its latest", mark.Seq)
}

// HandoverReceived decides whether a standby that has replayed up to replayEnd (the end of
// the last record it replayed) on timeline holds all WAL of a primary whose last record is
// its shutdown checkpoint at mark. Replay ends at record boundaries, so an end beyond the
// checkpoint's start means the whole checkpoint record was replayed; a received position
// could stop inside it.
func HandoverReceived(mark WALPoint, timeline uint32, replayEnd pgctl.LSN) (bool, string) {
	switch {
	case timeline > mark.Timeline:
		return true, fmt.Sprintf("this node's timeline %d is past the demoted primary's %s", timeline, mark)
	case timeline < mark.Timeline:
		return false, fmt.Sprintf("this node is on timeline %d, the demoted primary ended at %s", timeline, mark)
	case replayEnd > mark.LSN:
		return true, fmt.Sprintf("replayed to %s, past the shutdown checkpoint at %s", replayEnd, mark)
	}
	return false, fmt.Sprintf("replayed to %s, not past the shutdown checkpoint at %s", replayEnd, mark)
}

// AttrRead is the outcome of reading one attribute.
type AttrRead struct {
	Value string
	Found bool
	Err   error
}

// HandoverDemand is what a promote must wait for.
type HandoverDemand struct {
	Node     string
	Mark     WALPoint
	Replayed pgctl.LSN // set once this node replayed past Mark
}

// MarkEndsTheHistory decides whether node's mark shows a hand-over that ends the cluster's
// history, for the pre-promote guard: a mark of a demote with WAL (not "none") of node's
// latest run (MarkOfLatestRun) whose number is the highest promotion any node published.
// A mark of node's latest run proves node is no primary any more, not that no one was
// promoted after it: where a later primary failed, the standbys must still be compared
// (review 26). Every point must be readable: one that is not could hide a higher number.
func MarkEndsTheHistory(node string, mark AttrRead, points map[string]AttrRead) (bool, string) {
	if mark.Err != nil || !mark.Found {
		return false, "no mark read"
	}
	m, err := ParseDemoteMark(mark.Value)
	switch {
	case err != nil:
		return false, err.Error()
	case m.None:
		return false, "its demote handed no WAL over"
	}
	if latest, why := MarkOfLatestRun(node, m, points[node]); !latest {
		return false, why
	}
	var highest uint64
	for other, read := range points {
		chain, err := ParsePromoteChain(read.Value)
		switch {
		case read.Err != nil || read.Found && err != nil:
			return false, fmt.Sprintf("%s's promote point cannot be read", other)
		case read.Found:
			highest = max(highest, chain[0].Seq)
		}
	}
	if m.Seq != highest {
		return false, fmt.Sprintf("its mark ends promotion #%d, and #%d was published since", m.Seq, highest)
	}
	return true, fmt.Sprintf("its mark ends promotion #%d, the latest", m.Seq)
}

// MarkReads is what a promote read of the other nodes: each one's <rsc>-demoted-lsn and
// <rsc>-promote-point, keyed by its node_list name.
type MarkReads struct {
	Marks  map[string]AttrRead
	Points map[string]AttrRead
}

// PromoteDemands decides, before a promote, which demoted primaries' WAL this node must hold.
// Every published mark counts (a demote in an earlier transition too). A node that the
// notification names as demoted in this transition must have published a mark of its latest
// run as primary (MarkOfLatestRun), unless offline says the cluster shows it offline and clean
// (ShownFenced; review 20): Pacemaker lists a fenced or lost primary as demoted although no
// demote ran there, and that is a failover, not a hand-over (seen in the fenced lab, issue
// #12). No mark may be unreadable: the promote refuses rather than guess.
func PromoteDemands(self string, n Notification, reads MarkReads, offline map[string]bool) ([]HandoverDemand, error) {
	for _, node := range DemotedUnproven(self, n, reads) {
		if !offline[node] {
			return nil, fmt.Errorf("%s was demoted in this transition but %s, and it is not shown offline and clean: it may still run as the primary",
				node, demoteUnproven(node, reads))
		}
	}
	var demands []HandoverDemand
	for node, read := range reads.Marks {
		if node == self {
			continue
		}
		switch {
		case read.Err != nil:
			return nil, fmt.Errorf("cannot read %s's shutdown checkpoint: %w", node, read.Err)
		case !read.Found:
			continue
		}
		mark, err := ParseDemoteMark(read.Value)
		if err != nil {
			return nil, fmt.Errorf("%s's shutdown checkpoint: %w", node, err)
		}
		if !mark.None {
			demands = append(demands, HandoverDemand{Node: node, Mark: mark.Point})
		}
	}
	return demands, nil
}

// DemotedUnproven: the nodes other than self that the notification lists as demoted for which
// no demote of their latest run as primary is on record: no mark, one that outlived a later
// promotion of the node (review 22, finding 3), or none read because node_list does not name
// them (review 22, finding 4). Only a fence excuses them: PromoteDemands refuses unless
// offline says so, and offlineUnproven asks crm_mon about exactly these. An unreadable or
// malformed mark is not among them: PromoteDemands refuses it whatever crm_mon shows.
func DemotedUnproven(self string, n Notification, reads MarkReads) []string {
	var out []string
	for _, node := range n.Demote {
		if node != self && !Has(out, node) && demoteUnproven(node, reads) != "" {
			out = append(out, node)
		}
	}
	return out
}

// demoteUnproven says why node's demote is not on record ("" when it is).
func demoteUnproven(node string, reads MarkReads) string {
	read, listed := reads.Marks[node]
	switch {
	case !listed:
		return "it is not in node_list, so its shutdown checkpoint was not read"
	case read.Err != nil:
		return ""
	case !read.Found:
		return "it published no shutdown checkpoint"
	}
	mark, err := ParseDemoteMark(read.Value)
	if err != nil {
		return ""
	}
	if ok, why := MarkOfLatestRun(node, mark, reads.Points[node]); !ok {
		return why
	}
	return ""
}

// DemoteOutcome is what a demote does with the primary.
type DemoteOutcome int

const (
	// DemoteToStandby: clean shutdown, restart as a standby; the lock stays until the next
	// primary acknowledges the hand-over.
	DemoteToStandby DemoteOutcome = iota
	// DemoteAndStop: this node's data may have diverged: stop, keep the lock.
	DemoteAndStop
)

// DecideDemote tells what a demote does. A transition that promotes no other node while
// another node is already promoted ends a split brain: both were primaries and this node's
// recent writes exist nowhere else. Without notify data (an action run by hand: Pacemaker
// always passes them, and validate refuses notify=false) a split brain cannot be ruled out:
// the node may still restart as a standby, locked, only where PostgreSQL itself refuses to
// follow a forked history, i.e. when each promotion starts a new timeline.
func DecideDemote(self string, nodeList []string, restartOnPromote bool, n Notification) (DemoteOutcome, string) {
	if !n.Present {
		switch {
		case len(nodeList) <= 1:
			return DemoteToStandby, "no notification, and node_list has no other node"
		case restartOnPromote:
			return DemoteAndStop, "no notification data and restart_on_promote=true: another primary on this timeline cannot be ruled out"
		}
		return DemoteToStandby, "no notification data: restarting as a locked standby (PostgreSQL refuses a forked timeline)"
	}
	if len(n.Promote) == 0 {
		for _, node := range n.Promoted {
			if node != self {
				return DemoteAndStop, fmt.Sprintf("%s is primary too: this node's data may have diverged", node)
			}
		}
	}
	return DemoteToStandby, "a hand-over: the next primary must first replay this node's shutdown checkpoint"
}

// Handover is the acknowledgement the promotee writes: which mark it satisfied and how far it
// replayed. Quoting the mark binds it to one demote: it can never lift a later lock.
type Handover struct {
	Node     string
	Mark     WALPoint
	Replayed pgctl.LSN
}

// Attribute renders "<node>:<mark timeline>:<mark LSN>:<replayed LSN>".
func (h Handover) Attribute() string {
	return h.Node + ":" + h.Mark.Attribute() + ":" + h.Replayed.Attribute()
}

// ParseHandover reads what Attribute wrote.
func ParseHandover(s string) (Handover, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 4 || parts[0] == "" {
		return Handover{}, fmt.Errorf("%q is not <node>:<timeline>:<lsn>:<lsn>", s)
	}
	mark, err := ParseWALPoint(parts[1] + ":" + parts[2])
	if err != nil {
		return Handover{}, err
	}
	replayed, err := pgctl.ParseAttributeLSN(parts[3])
	if err != nil {
		return Handover{}, err
	}
	return Handover{Node: parts[0], Mark: mark, Replayed: replayed}, nil
}

// UnlockFacts is what MayUnlock decides on.
type UnlockFacts struct {
	Self     string
	NodeList []string
	Lock     LockInfo
	Ack      AttrRead // <rsc>-handover on this node
	Notify   Notification
	// DataStatus is every node_list member's <rsc>-data-status; only a start reads it (nil:
	// not read, or could not be read), since in a running switchover the demoted node still
	// holds LATEST until the promotee writes its own.
	DataStatus map[string]string
}

// MayUnlock decides whether a lock may go at this point: only a lock a clean demote took,
// and only when the next primary acknowledged replaying past exactly the checkpoint the lock
// records, or when no other node can have been promoted since: this node is the one promoted
// again in this transition (Pacemaker's recovery of a primary in place: demote, stop, start,
// promote), node_list names no other node, or this node still holds data-status LATEST and
// no other node does (every promote writes LATEST for itself and DISCONNECT for the others:
// a full-cluster stop and start). Its mark stays published in every case, so any other
// node promoted later must still hold its WAL.
func MayUnlock(f UnlockFacts) (bool, string) {
	if f.Lock.Fields["event"] != lockEventDemoted {
		return false, "the lock was not taken by a clean demote"
	}
	mark, err := f.Lock.walPoint()
	if err != nil {
		return false, "the lock records no readable shutdown checkpoint"
	}
	if len(f.Notify.Promote) == 1 && f.Notify.Promote[0] == f.Self {
		return true, "this node is promoted again in this transition: no other node was promoted since its demote"
	}
	if len(f.NodeList) == 1 && f.NodeList[0] == f.Self {
		return true, "node_list names no other node that could have been promoted"
	}
	if f.DataStatus != nil && f.DataStatus[f.Self] == dataLatest && len(f.Notify.Promote) == 0 {
		latestElsewhere := false
		for node, status := range f.DataStatus {
			latestElsewhere = latestElsewhere || (node != f.Self && status == dataLatest)
		}
		if !latestElsewhere {
			return true, "no node was promoted since this node's demote: it still holds data-status LATEST"
		}
	}
	ack := f.Ack
	if ack.Err != nil || !ack.Found {
		return false, "no node has acknowledged this node's shutdown checkpoint"
	}
	h, err := ParseHandover(ack.Value)
	if err != nil {
		return false, "the hand-over acknowledgement is malformed"
	}
	if h.Mark != mark || h.Replayed <= mark.LSN {
		return false, fmt.Sprintf("%s acknowledged %s up to %s, not this lock's shutdown checkpoint %s", h.Node, h.Mark, h.Replayed, mark)
	}
	return true, fmt.Sprintf("%s replayed to %s, past this node's shutdown checkpoint %s", h.Node, h.Replayed, mark)
}
