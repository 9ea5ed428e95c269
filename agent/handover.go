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
	Node string
	Mark WALPoint
}

// PromoteDemands decides, before a promote, which demoted primaries' WAL this node must hold.
// Every published mark counts (a demote in an earlier transition too). A node that the
// notification names as demoted in this transition must have published one, and no mark
// may be unreadable: the promote refuses rather than guess.
func PromoteDemands(self string, n Notification, marks map[string]AttrRead) ([]HandoverDemand, error) {
	var demands []HandoverDemand
	for node, read := range marks {
		if node == self {
			continue
		}
		switch {
		case read.Err != nil:
			return nil, fmt.Errorf("cannot read %s's shutdown checkpoint: %w", node, read.Err)
		case !read.Found && Has(n.Demote, node):
			return nil, fmt.Errorf("%s was demoted in this transition but published no shutdown checkpoint", node)
		case !read.Found:
			continue
		}
		mark, err := ParseWALPoint(read.Value)
		if err != nil {
			return nil, fmt.Errorf("%s's shutdown checkpoint: %w", node, err)
		}
		demands = append(demands, HandoverDemand{Node: node, Mark: mark})
	}
	return demands, nil
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
// recent writes exist nowhere else. Without notify data this cannot be told apart, so only
// a cluster of this node alone may restart as a standby.
func DecideDemote(self string, nodeList []string, n Notification) (DemoteOutcome, string) {
	if !n.Present {
		if len(nodeList) <= 1 {
			return DemoteToStandby, "no notification, and node_list has no other node"
		}
		return DemoteAndStop, "no notification data (clone meta notify=true is needed): another primary cannot be ruled out"
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

// MayUnlock decides whether a lock may go: only a lock a demote took, and only on the next
// primary's acknowledgement that it replayed past the checkpoint the lock records.
func MayUnlock(lock LockInfo, ack AttrRead) (bool, string) {
	if lock.Fields["event"] != lockEventDemoted {
		return false, "the lock was not taken by a clean demote"
	}
	mark, err := lock.walPoint()
	if err != nil {
		return false, "the lock records no readable shutdown checkpoint"
	}
	if ack.Err != nil || !ack.Found {
		return false, "no node has acknowledged this node's shutdown checkpoint"
	}
	node, point, _ := strings.Cut(ack.Value, ":")
	got, err := ParseWALPoint(point)
	if err != nil {
		return false, "the hand-over acknowledgement is malformed"
	}
	if got.Timeline != mark.Timeline || got.LSN <= mark.LSN {
		return false, fmt.Sprintf("%s acknowledged %s, not past the shutdown checkpoint %s", node, got, mark)
	}
	return true, fmt.Sprintf("%s replayed to %s, past this node's shutdown checkpoint %s", node, got, mark)
}

// formatHandover is the acknowledgement: "<promotee>:<timeline>:<replayed LSN>".
func formatHandover(node string, p WALPoint) string { return node + ":" + p.Attribute() }
