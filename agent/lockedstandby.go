package agent

import "strings"

// LockedStandbyFacts are what decides whether a locked crashed primary may run as a standby
// that follows no primary (MayRunLockedStandby).
type LockedStandbyFacts struct {
	Self             string
	AutoRejoin       bool
	RestartOnPromote bool
	Lock             LockInfo
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
//     contender and compares timelines first: a later promotion elsewhere (a higher timeline,
//     data-status LATEST on another node) wins over it;
//   - it is promoted only as the election's winner (not by the last primary's claim at
//     start, which compares no positions); once a primary runs elsewhere its monitor fails,
//     and the restart runs the rejoin check against that primary's promote point.
//
// Only this node's own promote lock qualifies: a diverged lock (the pre-promote guard, a
// split brain) names WAL past another node's fork, a demote lock has its own hand-over, and
// the shell agent's empty lock says nothing. With restart_on_promote=true a later promotion
// keeps the timeline, so the election could not tell its history from this node's: refused.
func MayRunLockedStandby(f LockedStandbyFacts) (bool, string) {
	switch {
	case !f.AutoRejoin:
		return false, "auto_rejoin=false"
	case f.RestartOnPromote:
		return false, "restart_on_promote=true: a later promotion keeps the timeline, so an election cannot tell the histories apart"
	case f.Lock.Fields["event"] != lockEventPromoted:
		return false, "the lock was not taken by this node's promote"
	case f.Lock.Fields["node"] != f.Self:
		return false, "the lock names another node (" + f.Lock.Fields["node"] + ")"
	case f.ViewErr != nil:
		return false, "cannot read the cluster state: " + f.ViewErr.Error()
	case len(f.Promoted) > 0:
		return false, "a primary runs (" + strings.Join(f.Promoted, ", ") + "): the rejoin evidence decides"
	}
	return true, "no primary runs: starting as a standby that follows no primary, the lock kept, to take part in the election"
}

// LockedStandbyMustRestart: a locked standby that follows no primary, once a primary runs
// elsewhere, fails its monitor so that Pacemaker restarts it: the start then checks the
// rejoin evidence against that primary (it never starts to follow while locked).
func LockedStandbyMustRestart(lock LockInfo, locked, streaming, primaryElsewhere bool) bool {
	return locked && lock.Fields["event"] == lockEventPromoted && !streaming && primaryElsewhere
}
