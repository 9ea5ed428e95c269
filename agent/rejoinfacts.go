package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// The effects around DecideRejoin (issue #13; docs/design.md §5 "Rejoin"): reading this
// node's end of WAL, the published promote points, and publishing this node's own.

// walEnd reads where this node's WAL ends; PostgreSQL must be stopped. After a clean
// shutdown of a primary the shutdown checkpoint is the last record (pg_controldata); in
// every other state pg_waldump reads the WAL from the last checkpoint's REDO location to the
// last valid record, as crash recovery would, bounded by half of the action's remaining time.
func (r *replica) walEnd(ctx context.Context) WALEnd {
	cd, err := r.server.ReadControlData(ctx)
	if err != nil {
		return WALEnd{Problem: "pg_controldata: " + err.Error()}
	}
	e := WALEnd{Timeline: cd.CheckpointTLI, RanAsPrimary: cd.RanAsPrimary()}
	if label, err := pgctl.HasBackupLabel(r.c.PgData); err != nil || label {
		// A fresh base backup: pg_control is the primary's copy, this node never ran on it.
		e.RanAsPrimary = false
		if err != nil {
			r.a.Log.Info("cannot look for backup_label: not taken as a former primary", "error", err)
		}
	}
	if cd.CheckpointTLI > 1 {
		if sw, err := r.server.ReadTimelineSwitch(r.sys.Version, cd.CheckpointTLI); err == nil {
			e.Switch = &sw
		} else {
			r.a.Log.Info("cannot read this node's timeline history", "timeline", cd.CheckpointTLI, "error", err)
		}
	}
	// WAL past a timeline switch after the last checkpoint is in files of the newer timeline,
	// which one pg_waldump run on the checkpoint's timeline does not read: not decided.
	if newer, err := r.server.HasHistory(r.sys.Version, cd.CheckpointTLI+1); err != nil || newer {
		e.Problem = fmt.Sprintf("pg_wal holds the history of timeline %d, after the last checkpoint's timeline %d: its WAL may go on there",
			cd.CheckpointTLI+1, cd.CheckpointTLI)
		if err != nil {
			e.Problem = "cannot look for a newer timeline's history: " + err.Error()
		}
		return e
	}
	if cd.State == "shut down" {
		e.Known, e.Last, e.LastLow, e.Source = true, cd.CheckpointLSN, cd.CheckpointLSN, "the shutdown checkpoint (pg_controldata)"
		return e
	}
	if cd.RedoLSN == 0 {
		e.Problem = "pg_controldata gave no REDO location"
		return e
	}
	// Whatever pg_waldump finds, the checkpoint record starts in this node's WAL, and a
	// standby replayed a record that ends at its minimum recovery point: lower bounds that
	// can prove divergence when the end is not known (DecideRejoin).
	bounded := func(low pgctl.LSN, problem string) WALEnd {
		e.Known, e.Last, e.LastLow, e.EndLow, e.Problem = false, 0, max(low, cd.CheckpointLSN), cd.MinRecoveryLSN, problem
		return e
	}
	dumpCtx, cancel := context.WithDeadline(ctx, time.Now().Add(time.Until(deadlineOf(ctx))/2))
	defer cancel()
	tail, err := r.server.LastWALRecord(dumpCtx, cd.CheckpointTLI, cd.RedoLSN, cd.WALSegSize)
	if err != nil {
		return bounded(0, fmt.Sprintf("state %q: %v", cd.State, err))
	}
	e.Source = fmt.Sprintf("pg_waldump from the REDO location %s, state %q", cd.RedoLSN, cd.State)
	switch {
	case tail.Exact && tail.Last < cd.CheckpointLSN:
		return bounded(tail.Last, fmt.Sprintf("pg_waldump ends WAL at %s, before the checkpoint at %s", tail.Last, cd.CheckpointLSN))
	case tail.Exact && cd.MinRecoveryLSN > tail.Last && (tail.Next == 0 || cd.MinRecoveryLSN > tail.Next):
		// A record replayed (from an archive, say) ends past the WAL pg_wal holds: the end
		// pg_waldump found is not this node's end.
		return bounded(tail.Last, fmt.Sprintf("the minimum recovery point %s is past the last record pg_waldump finds (at %s, next expected at %s): WAL replayed here is no longer in pg_wal",
			cd.MinRecoveryLSN, tail.Last, tail.Next))
	case tail.Exact:
		e.Known, e.Last, e.LastLow = true, tail.Last, tail.Last
	default:
		return bounded(0, "pg_waldump reported no last record")
	}
	return e
}

// promotePoints reads every node_list member's <rsc>-promote-point, and this node's own
// where node_list does not name it: a promotion must be numbered past this node's own
// latest, or a mark of that run would pass for one of the next (MarkOfLatestRun; review 23).
func (r *replica) promotePoints(ctx context.Context) map[string]AttrRead {
	points := map[string]AttrRead{}
	nodes := r.c.NodeList
	if !Has(nodes, r.self) {
		nodes = append([]string{r.self}, nodes...)
	}
	for _, node := range nodes {
		value, found, err := r.get(ctx, node, r.names.PromotePoint())
		points[node] = AttrRead{Value: value, Found: found, Err: err}
	}
	return points
}

// checkRejoin runs at every start as a standby while PostgreSQL is stopped: DecideRejoin on
// the evidence, then the lock goes, stays, or is taken; on proof of divergence DecideRewind
// may rewind the node instead (rewind=auto, rewindrun.go).
func (r *replica) checkRejoin(ctx context.Context, lock LockInfo, locked bool, handoverWhy string) error {
	own := r.walEnd(ctx)
	facts := RejoinFacts{Self: r.self, AutoRejoin: r.c.AutoRejoin, Locked: locked, Lock: lock,
		Own: own, Points: r.promotePoints(ctx)}
	plan := DecideRejoin(facts)
	if plan.Proven {
		var control *pgctl.ControlData
		if r.c.Rewind == RewindAuto {
			if cd, err := r.server.ReadControlData(ctx); err == nil {
				control = &cd
			} else {
				r.a.Log.Warn("cannot read the control data for rewind=auto", "error", err)
			}
		}
		rw := DecideRewind(RewindFacts{Mode: r.c.Rewind, Rejoin: facts, Plan: plan, Control: control})
		if rw.Rewind {
			return r.rewind(ctx, plan, rw, *control, lock, locked)
		}
		if r.c.Rewind == RewindAuto {
			plan.Why += "; " + rw.Why
		}
		plan.Reason = rw.Reason
	}
	switch {
	case plan.Start && plan.Unlock:
		if err := pgctl.RemoveFile(LockFile(r.c.TmpDir)); err != nil {
			return fail(ErrGeneric, err, "start: cannot remove %s", LockFile(r.c.TmpDir))
		}
		r.a.Log.Info("lock removed on the evidence: rejoining as a standby", "evidence", plan.Why, "lock", lock.String())
	case plan.Start:
		r.a.Log.Info("rejoin evidence checked", "evidence", plan.Why)
	case plan.Lock:
		rec := LockRecord{Event: lockEventDiverged, Node: r.self, Timeline: own.Timeline, LSN: max(own.Last, own.LastLow, own.EndLow), At: time.Now(), Reason: plan.Why}
		if err := WriteLock(r.c.TmpDir, rec); err != nil {
			r.a.Log.Error("cannot take the lock", "error", err)
		}
		return &Error{RC: ErrGeneric, Reason: plan.Reason,
			Err: errors.New(LockRefusal(r.c.TmpDir) + " " + plan.Why + "; " + LockFile(r.c.TmpDir) + " taken")}
	default:
		if ok, why := r.mayRunLockedStandby(ctx, lock, locked, facts.Points); ok {
			r.followNobody = true
			r.a.Log.Info("lock kept: starting as a standby that follows no primary", "why", why, "evidence", plan.Why, "lock", lock.String())
			return nil
		}
		reason := LockRefusal(r.c.TmpDir)
		if plan.Proven {
			reason = plan.Reason
		}
		return &Error{RC: ErrGeneric, Reason: reason,
			Err: fmt.Errorf("%s; the lock records %s; %s; %s", LockRefusal(r.c.TmpDir), lock, handoverWhy, plan.Why)}
	}
	return nil
}

// mayRunLockedStandby gathers the facts of MayRunLockedStandby (points: the ones the rejoin
// decision read).
func (r *replica) mayRunLockedStandby(ctx context.Context, lock LockInfo, locked bool, points map[string]AttrRead) (bool, string) {
	if !locked {
		return false, "not locked"
	}
	f := LockedStandbyFacts{Self: r.self, AutoRejoin: r.c.AutoRejoin, Lock: lock, Points: points, DataStatus: r.dataStatuses(ctx)}
	view, err := crmattr.ReadClusterView(ctx, r.a.Tools, r.a.Env.Resource())
	f.Promoted, f.ViewErr = view.Promoted, err
	ok, why := MayRunLockedStandby(f)
	if !ok {
		r.a.Log.Info("the lock keeps PostgreSQL stopped", "why", why)
	}
	return ok, why
}

// pendingPromoteChain numbers this promotion one past every published one and puts it at
// the head of the latest chain, which the promote publishes before promoting (rejoin.go):
// a point that cannot be read could hide a higher number, and the promote refuses rather
// than publish a number that is not the highest. It writes nothing, so that such a refusal
// comes before the promote's first write (review 11).
func (r *replica) pendingPromoteChain(ctx context.Context, st pgctl.LocalState) (PromoteChain, error) {
	points := r.promotePoints(ctx)
	// Past this node's own numbers too: its point may be missing or malformed while its lock
	// or mark names its latest promotion, and a mark of that run must not pass for this
	// one's (MarkOfLatestRun; reviews 24, 25).
	seq, err := r.ownNumbers(ctx)
	if err != nil {
		return nil, err
	}
	for node, read := range points {
		if read.Err != nil {
			return nil, fmt.Errorf("cannot read %s's promote point: %w", node, read.Err)
		}
		if _, err := ParsePromoteChain(read.Value); read.Found && err != nil {
			// A chain that cannot be read is left out: this promotion starts a new chain
			// above the others (a rejoin compared with it stays undecided where it would
			// have needed the missing points).
			r.a.Log.Warn("ignoring a malformed promote point", "node", node, "value", read.Value)
			delete(points, node)
		}
	}
	for _, read := range points {
		if c, err := ParsePromoteChain(read.Value); read.Found && err == nil {
			seq = max(seq, c[0].Seq)
		}
	}
	latest, _ := LatestPromotion(points)
	followed, known := r.followedPromotion()
	chain, why := ChainFor(latest, seq, followed, known, PromotePoint{Node: r.self, OldTLI: max(st.Timeline, 1), Fork: st.ReplayLSN})
	r.a.Log.Info("promote point chain", "length", len(chain), "why", why)
	return chain, nil
}

// ownNumbers is the highest promotion this node's lock or hand-over mark names. A mark that
// cannot be read could hide the highest: the promote refuses, as for a point (review 25).
func (r *replica) ownNumbers(ctx context.Context) (uint64, error) {
	seq := r.lockSeq()
	value, found, err := r.get(ctx, r.self, r.names.DemotedLSN())
	if err != nil {
		return 0, fmt.Errorf("cannot read this node's own shutdown checkpoint: %w", err)
	}
	if mark, err := ParseDemoteMark(value); found && err == nil {
		seq = max(seq, mark.Seq)
	}
	return seq, nil
}

// publishPromotePoint replaces the pending point at the chain's head with the exact one. If
// that fails, the pending point stays: it decides no rejoin, so the only loss is
// availability.
func (r *replica) publishPromotePoint(ctx context.Context, chain PromoteChain, exact PromotePoint) {
	exact.Unlinked = chain[0].Unlinked // ChainFor's verdict on the pending point holds for the exact one
	chain = append(PromoteChain{exact}, chain[1:]...)
	if _, err := r.pub.set(ctx, r.self, r.names.PromotePoint(), chain.Attribute()); err != nil {
		r.a.Log.Warn("cannot publish the promote point: rejoins against this promotion stay undecided", "point", exact.String(), "error", err)
		return
	}
	r.a.Log.Info("promote point published", "point", exact.String())
}

// restartPromotePoint: with restart_on_promote the stopped standby's WAL end is where its
// restart as a primary forks the timeline (crash recovery replays to the last valid record,
// the same record pg_waldump finds, and aborts an incomplete one at a segment boundary). One
// past the start of that record is after its last record's start and not after where the
// next record can begin: exactly what the fork must be (rejoin.go).
func (r *replica) restartPromotePoint(ctx context.Context, pending PromotePoint) (PromotePoint, bool) {
	own := r.walEnd(ctx)
	if !own.Known || own.LastLow != own.Last {
		// An upper bound of the last record's start would put the fork past a record the
		// restart may abort (second review of issue #13, session 6): stay pending.
		r.a.Log.Warn("the fork position of this promotion is not known", "why", own.String())
		return pending, false
	}
	return PromotePoint{Node: r.self, OldTLI: own.Timeline, Fork: own.Last + 1, NewTLI: own.Timeline, Seq: pending.Seq}, true
}

// switchPromotePoint: after pg_promote(), the point is the last line of the history file of
// newTLI, the timeline PostgreSQL says it now writes WAL on (pgctl.QueryWriteTimeline): its
// parent and switch point. Not the newest history file pg_wal holds: PostgreSQL picks the new
// timeline past those its archive holds too, and a point naming an older promotion would let
// a mark of the node's earlier run pass for this one's (MarkOfLatestRun; review 24).
func (r *replica) switchPromotePoint(pending PromotePoint, newTLI uint32) (PromotePoint, bool) {
	sw, err := r.server.ReadTimelineSwitch(r.sys.Version, newTLI)
	if err != nil {
		r.a.Log.Warn("cannot read the new timeline's history", "timeline", newTLI, "error", err)
		return pending, false
	}
	return PromotePoint{Node: r.self, OldTLI: sw.Parent, Fork: sw.At, NewTLI: newTLI, Seq: pending.Seq}, true
}
