package agent

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// LockedStandbyFacts are what decides whether a locked crashed primary may run as a standby
// that follows no primary (MayRunLockedStandby).
type LockedStandbyFacts struct {
	Self       string
	AutoRejoin bool
	Lock       LockInfo
	// Points are every node_list member's <rsc>-promote-point.
	Points map[string]AttrRead
	// DataStatus is every node_list member's data-status; nil when one could not be read.
	DataStatus map[string]string
	// Promoted are the nodes crm_mon lists with a promoted instance; ViewErr says it could
	// not be read.
	Promoted []string
	ViewErr  error
}

// MayRunLockedStandby decides the start of a node whose rejoin evidence kept its lock: after
// a dirty power cycle of the whole cluster (the standby lost first, the primary committing
// alone, then lost too) the crashed primary holds the newest data, and refusing its start
// leaves the cluster with no primary (issue #13 §3). Such a node may start PostgreSQL in
// recovery with no primary_conninfo, its lock kept (docs/design.md §5, "A locked standby"):
//
//   - it follows nobody, so nothing it holds is overwritten and it replays only its own WAL;
//   - it publishes that end of WAL and takes part in the election (I7), which waits for every
//     contender and compares timelines first;
//   - it is promoted only as the election's winner (not by the last primary's claim at
//     start, which compares no positions); once a primary runs elsewhere its monitor fails,
//     and the restart runs the rejoin check against that primary's promote point.
//
// Three records must agree that no promotion came after this node's own, each written by
// every later promotion of this agent: the latest promote point is the one this node's lock
// names (a promote publishes its point, numbered past every other, before it promotes, and
// refuses when it cannot), this node still holds data-status LATEST (a promote writes the
// other nodes DISCONNECT, its primary's monitors too) and no other node does (a promote
// writes its own, or fails). Only this node's own promote lock qualifies: a diverged lock
// (the pre-promote guard, a split brain) names WAL past another node's fork, a demote lock
// has its own hand-over, and the shell agent's empty lock says nothing.
func MayRunLockedStandby(f LockedStandbyFacts) (bool, string) {
	seq, hasSeq := f.Lock.promoteSeq()
	switch {
	case !f.AutoRejoin:
		return false, "auto_rejoin=false"
	case f.Lock.Fields["event"] != lockEventPromoted:
		return false, "the lock was not taken by this node's promote"
	case f.Lock.Fields["node"] != f.Self:
		return false, "the lock names another node (" + f.Lock.Fields["node"] + ")"
	case !hasSeq:
		return false, "the lock records no promotion number"
	case f.ViewErr != nil:
		return false, "cannot read the cluster state: " + f.ViewErr.Error()
	case len(f.Promoted) > 0:
		return false, "a primary runs (" + strings.Join(f.Promoted, ", ") + "): the rejoin evidence decides"
	case f.DataStatus == nil:
		return false, "cannot read every node's data-status"
	case f.DataStatus[f.Self] != dataLatest:
		return false, "this node's data-status is " + quoteOrNone(f.DataStatus[f.Self]) + ", not LATEST: another node may have been promoted since"
	}
	for _, node := range slices.Sorted(maps.Keys(f.DataStatus)) {
		if node != f.Self && f.DataStatus[node] == dataLatest {
			return false, node + " holds data-status LATEST: it may have been promoted since"
		}
	}
	latest, why := LatestPromotion(f.Points)
	switch {
	case latest == nil:
		return false, why
	case latest[0].Node != f.Self || latest[0].Seq != seq:
		return false, fmt.Sprintf("the latest promotion is %s's #%d, not this node's #%d", latest[0].Node, latest[0].Seq, seq)
	}
	return true, fmt.Sprintf("no primary runs and no promotion came after this node's #%d: "+
		"starting as a standby that follows no primary, the lock kept, to take part in the election", seq)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "not set"
	}
	return s
}

// LockedStandbyMustRestart: a locked standby that follows no primary, once a primary runs
// elsewhere, fails its monitor so that Pacemaker restarts it: the start then checks the
// rejoin evidence against that primary (it never starts to follow while locked).
func LockedStandbyMustRestart(lock LockInfo, locked, streaming, primaryElsewhere bool) bool {
	return locked && lock.Fields["event"] == lockEventPromoted && !streaming && primaryElsewhere
}
