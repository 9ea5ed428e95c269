package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// start brings PostgreSQL up as a standby (a promotable clone always starts unpromoted).
func (r *replica) start(ctx context.Context) error {
	info, locked, err := ReadLock(r.c.TmpDir)
	if err != nil {
		return fail(ErrGeneric, err, "start: cannot read %s", LockFile(r.c.TmpDir))
	}
	handoverWhy := ""
	if locked {
		var unlocked bool
		unlocked, handoverWhy = r.unlockAfterHandover(ctx, info)
		locked = !unlocked
	}
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	switch {
	case err != nil && locked:
		return &Error{RC: ErrGeneric, Reason: LockRefusal(r.c.TmpDir), Err: fmt.Errorf("the lock records %s; %s", info, handoverWhy)}
	case err != nil:
		return fail(ErrGeneric, err, "start: cannot tell whether PostgreSQL runs")
	case pm.Running && locked:
		return &Error{RC: ErrGeneric, Reason: LockRefusal(r.c.TmpDir),
			Err: fmt.Errorf("the lock records %s; %s; PostgreSQL runs (pid %d), so its end of WAL cannot be read", info, handoverWhy, pm.PID)}
	case !pm.Running:
		// The evidence check runs at every start, lock or no lock (issue #13, docs/design.md §5).
		if err := r.checkRejoin(ctx, info, locked, handoverWhy); err != nil {
			return err
		}
	}
	// Taken right after the lock's verdict, so that a target is only ever used by the start
	// right after the pre-start notification that wrote it.
	r.catchUp, r.hasCatchUp = r.takeCatchUpTarget(ctx)
	if pm.Running {
		st, err := r.localState(ctx)
		if err != nil {
			return fail(ErrGeneric, err, "start: PostgreSQL runs (pid %d) but does not answer", pm.PID)
		}
		if !st.InRecovery {
			return fail(ErrGeneric, nil, "start: PostgreSQL already runs here as a primary (pid %d), not as a standby", pm.PID)
		}
		r.a.Log.Info("PostgreSQL already runs as a standby", "pid", pm.PID)
		return r.afterStandbyStart(ctx, st)
	}

	// Read before the start turns the data directory into a standby's.
	lastShutdown, cdErr := r.server.ReadControlData(ctx)
	if cdErr != nil {
		r.a.Log.Warn("cannot read the control data", "error", cdErr)
	}
	r.cleanPrimaryShutdown = cdErr == nil && lastShutdown.State == "shut down"
	if err := r.setStatus(ctx, r.self, StatusStopped); err != nil {
		return fail(ErrGeneric, err, "start: cannot set %s", r.names.Status())
	}
	if _, err := r.pub.score(ctx, r.self, ScoreCannotPromote); err != nil {
		return fail(ErrGeneric, err, "start: cannot set the promotion score")
	}
	for _, a := range []Attr{r.names.MasterBaseline(), r.names.XlogLoc(), r.names.PrePromotePosition()} {
		if err := r.pub.remove(ctx, r.self, a); err != nil {
			return fail(ErrGeneric, err, "start: cannot remove %s", a.Name)
		}
	}
	// This node's own <rsc>-demoted-lsn stays: whoever is promoted next must hold that WAL;
	// it goes when acknowledged or when this node is promoted again. An election of an
	// earlier life must not count rounds for this one.
	if err := pgctl.RemoveFile(electionStateFile(r.c.TmpDir)); err != nil {
		return fail(ErrGeneric, err, "start: cannot remove %s", electionStateFile(r.c.TmpDir))
	}
	settings := r.standbySettings()
	if err := r.layout.ConfigureStandby(settings, r.sys.Owner); err != nil {
		return fail(ErrGeneric, err, "start: cannot write the standby settings")
	}
	r.warnAutoConfOverrides()
	if err := r.resetSyncStandby(); err != nil {
		return fail(ErrGeneric, err, "start: cannot write %s", pgctl.RepModeFile(r.c.TmpDir))
	}
	server := r.server
	server.StartOpt = settings.ServerOptions(r.sys.Version, server.StartOpt)
	if err := r.a.startServer(ctx, r.c, r.sys, server); err != nil {
		return err
	}
	st, err := r.localState(ctx)
	if err != nil {
		return fail(ErrGeneric, err, "start: PostgreSQL started but does not answer (is hot_standby on?)")
	}
	if !st.InRecovery {
		return fail(ErrGeneric, nil, "start: PostgreSQL came up as a primary although %s exists", r.layout.StandbyMarker())
	}
	if st.SyncStandbyNames != "" {
		return fail(ErrConfigured, nil, "start: synchronous_standby_names is set outside %s (%q)",
			pgctl.RepModeFile(r.c.TmpDir), st.SyncStandbyNames)
	}
	return r.afterStandbyStart(ctx, st)
}

// streamWait bounds how long a start waits for the new standby to stream, so that a standby
// that streams is promotable as soon as start returns (PAF missed a failover in exactly that
// window, seen in the lab).
const streamWait = 3 * time.Second

func (r *replica) afterStandbyStart(ctx context.Context, st pgctl.LocalState) error {
	// The last primary claims promotion at once; any other standby waits briefly until it
	// streams and has received the position the primary published for it at pre-start. A
	// locked standby that follows nobody does neither: only the election may promote it.
	if !r.followNobody && (st.Streaming() || !r.claimAsLastPrimary(ctx)) {
		target, hasTarget := r.catchUp, r.hasCatchUp
		caughtUp := func() bool { return hasTarget && st.Streaming() && CaughtUpTo(target, st) }
		// Without a target (no primary published one at pre-start) no score can come of the
		// wait: the start does not wait.
		deadline := time.Now().Add(min(streamWait, time.Until(deadlineOf(ctx))/2))
		for hasTarget && !caughtUp() && time.Now().Before(deadline) && pause(ctx, 200*time.Millisecond) {
			if next, err := r.localState(ctx); err == nil {
				st = next
			}
		}
		switch {
		case r.c.RepMode != RepAsync || len(r.c.NodeList) > 2:
		case Has(r.c.NoPromoteNodes, r.self):
			r.a.Log.Info("not promotable: this node is in no_promote_nodes")
		case caughtUp() && !WithinMaxLag(r.c.MaxLag, st.ReceiveLSN, st.PrimaryEndLSN):
			r.a.Log.Info("not promotable until the primary vouches for it: further behind than max_lag",
				"received", st.ReceiveLSN, "primary_end", st.PrimaryEndLSN, "max_lag", r.c.MaxLag)
		case caughtUp():
			if _, err := r.pub.score(ctx, r.self, ScoreCanPromote); err != nil {
				return fail(ErrGeneric, err, "start: cannot set the promotion score")
			}
			r.a.Log.Info("promotable: received the primary's position at pre-start", "target", target)
		case hasTarget:
			r.a.Log.Info("not promotable until the primary vouches for it: the primary's position at pre-start not received",
				"target", target, "received", st.ReceiveLSN, "primary_end", st.PrimaryEndLSN, "timeline", st.Timeline,
				"streaming", st.Streaming())
		}
	}
	current, found, err := r.pub.current(ctx, r.self, r.names.Status())
	if err == nil && (!found || current == StatusStopped || current == StatusUnknown) {
		err = r.setStatus(ctx, r.self, StatusAlone)
	}
	if err != nil {
		return fail(ErrGeneric, err, "start: cannot set %s", r.names.Status())
	}
	r.a.Log.Info("PostgreSQL runs as a standby", "streaming", st.Streaming(), "position", st.Position())
	return nil
}

// The catch-up target: in the pre-start notification the primary writes its own WAL position
// on each node about to start. A standby that has received that much when its start ends
// may make itself promotable at once, so a primary lost right after the standby (re)joined
// is still replaced; it is the only case where a standby raises its own score, and the
// evidence is the primary's (docs/design.md, invariant I1).

// CaughtUpTo reports whether a standby has received the primary's target on its timeline and
// is within catchUpBound of the primary's WAL end as the primary's walsender last reported it
// (the target may be minutes old when a start ran a long recovery). A walsender with nothing
// new to send reports no end until its next keepalive; the target alone counts then.
func CaughtUpTo(target WALPoint, st pgctl.LocalState) bool {
	return st.Timeline == target.Timeline && st.ReceiveLSN >= target.LSN &&
		(st.PrimaryEndLSN == 0 || st.ReceiveLSN+catchUpBound >= st.PrimaryEndLSN)
}

// takeCatchUpTarget reads and removes this node's catch-up target.
func (r *replica) takeCatchUpTarget(ctx context.Context) (WALPoint, bool) {
	value, found, err := r.get(ctx, r.self, r.names.CatchUpTarget())
	if err != nil || !found {
		return WALPoint{}, false
	}
	// Used once: a later start must get a fresh one, and the healthy attribute set stays the
	// shell agent's.
	if err := r.del(ctx, r.self, r.names.CatchUpTarget()); err != nil {
		r.a.Log.Warn("cannot remove the catch-up target", "error", err)
	}
	target, err := ParseWALPoint(value)
	return target, err == nil
}

// claimAsLastPrimary lets the last primary claim promotion at start instead of after the
// election's rounds (a cold start of the whole cluster).
func (r *replica) claimAsLastPrimary(ctx context.Context) bool {
	verdict, why := r.lastPrimaryVerdict(ctx)
	if !verdict {
		r.a.Log.Info("not claiming promotion at start", "why", why)
		return false
	}
	if _, err := r.pub.score(ctx, r.self, ScorePromoteMe); err != nil {
		r.a.Log.Warn("cannot claim promotion", "error", err)
		return false
	}
	r.a.Log.Info("claiming promotion at start", "why", why)
	return true
}

func (r *replica) lastPrimaryVerdict(ctx context.Context) (bool, string) {
	if Has(r.c.NoPromoteNodes, r.self) {
		return false, "this node is in no_promote_nodes"
	}
	statuses := r.dataStatuses(ctx)
	if statuses == nil {
		return false, "cannot read every node's data-status"
	}
	return LastPrimaryMayClaim(r.self, statuses, r.cleanPrimaryShutdown)
}

// dataStatuses reads every node_list member's data-status; nil when one cannot be read.
func (r *replica) dataStatuses(ctx context.Context) map[string]string {
	statuses := map[string]string{}
	for _, node := range r.c.NodeList {
		status, _, err := r.get(ctx, node, r.names.DataStatus())
		if err != nil {
			r.a.Log.Warn("cannot read a data-status", "node", node, "error", err)
			return nil
		}
		statuses[node] = status
	}
	return statuses
}

// LastPrimaryMayClaim decides whether a starting standby may claim promotion at once: it was
// the last primary (data-status LATEST) and no other node holds LATEST, so nobody can have
// newer data: a node promoted since would hold LATEST and would have marked this one
// DISCONNECT (promote does that to every other node). On a fresh cluster (no data-status
// anywhere) only a data directory that was a cleanly shut down primary may claim.
func LastPrimaryMayClaim(self string, dataStatus map[string]string, cleanPrimaryShutdown bool) (bool, string) {
	for node, status := range dataStatus {
		if node != self && status == dataLatest {
			return false, node + " holds data-status LATEST"
		}
	}
	switch own := dataStatus[self]; {
	case own == dataLatest:
		return true, "this node was the last primary; no other node was promoted since"
	case own != "":
		return false, "this node's data-status is " + own
	case cleanPrimaryShutdown:
		return true, "fresh cluster: this data directory is a cleanly shut down primary"
	}
	return false, "fresh cluster, and this data directory was not a cleanly shut down primary"
}

// warnAutoConfOverrides: postgresql.auto.conf is read after every other file, so settings
// left there (pg_basebackup -R, ALTER SYSTEM) silently override the agent's.
func (r *replica) warnAutoConfOverrides() {
	autoConf := filepath.Join(r.c.PgData, "postgresql.auto.conf")
	for _, name := range []string{"primary_conninfo", "primary_slot_name", "synchronous_standby_names"} {
		if value, found, _ := pgctl.ReadSetting(autoConf, name); found && value != "" {
			r.a.Log.Warn("postgresql.auto.conf overrides a setting the agent manages", "setting", name)
		}
	}
}

// resetSyncStandby makes rep_mode.conf name no synchronous standby (sync mode: and makes
// postgresql.conf include it). In async mode an existing file (from an earlier sync setup or
// the shell agent) is emptied, so it can never make commits wait.
func (r *replica) resetSyncStandby() error {
	if err := removeSyncConfirm(r.c.TmpDir); err != nil {
		return err
	}
	file := pgctl.RepModeFile(r.c.TmpDir)
	if r.c.RepMode == RepSync {
		if _, err := pgctl.EnsureInclude(r.c.ConfigFile, file); err != nil {
			return err
		}
	} else if _, err := safefs.Lstat(file); err != nil {
		return nil
	}
	_, err := pgctl.WriteFileAtomic(file, pgctl.RenderSyncStandbys(), 0o600, r.sys.Owner)
	return err
}

// stop shuts PostgreSQL down and marks the node stopped.
func (r *replica) stop(ctx context.Context) error {
	if _, err := r.pub.score(ctx, r.self, ScoreCannotPromote); err != nil {
		r.a.Log.Warn("cannot lower the promotion score", "error", err)
	}
	// <rsc>-demoted-lsn stays: the next primary may be promoted after this stop, in the same
	// transition, and must first have this node's last WAL.
	for _, a := range []Attr{r.names.XlogLoc(), r.names.PrePromotePosition()} {
		if err := r.pub.remove(ctx, r.self, a); err != nil {
			r.a.Log.Warn("cannot remove attribute", "name", a.Name, "error", err)
		}
	}
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "stop: cannot tell whether PostgreSQL runs")
	}
	if pm.Running {
		if _, err := r.stopServer(ctx, r.c.StopEscalateInSlave, 1); err != nil {
			_ = r.setStatus(ctx, r.self, StatusUnknown)
			if errors.Is(err, pgctl.ErrPostmasterStopped) {
				return postmasterStopped(pm.PID, "stop", err)
			}
			return fail(ErrGeneric, err, "stop: PostgreSQL (pid %d) did not stop in time", pm.PID)
		}
		r.a.Log.Info("PostgreSQL stopped", "pid", pm.PID)
	}
	if err := r.setStatus(ctx, r.self, StatusStopped); err != nil {
		r.a.Log.Warn("cannot set status", "error", err)
	}
	if r.c.RepMode == RepSync {
		if err := r.resetSyncStandby(); err != nil {
			r.a.Log.Warn("cannot reset rep_mode.conf", "error", err)
		}
	}
	if err := r.pub.remove(ctx, r.self, r.names.MasterBaseline()); err != nil {
		r.a.Log.Warn("cannot remove the master baseline", "error", err)
	}
	return nil
}

// promote turns the local standby into the primary.
func (r *replica) promote(ctx context.Context) error {
	st, err := r.localState(ctx)
	if err != nil {
		return fail(ErrGeneric, err, "promote: PostgreSQL does not answer")
	}
	if st.InRecovery {
		if Has(r.c.NoPromoteNodes, r.self) {
			return fail(ErrGeneric, nil, "promote: refusing: %s is in no_promote_nodes (%s) and is never promoted",
				r.self, strings.Join(r.c.NoPromoteNodes, " "))
		}
		demands, err := r.awaitDemotedPrimaries(ctx, &st)
		if err != nil {
			return err
		}
		lock := LockRecord{Event: lockEventPromoted, Node: r.self, Timeline: st.Timeline, LSN: st.Position(), At: time.Now()}
		lockRefused := func(err error) error {
			// The cause in the reason: "read-only file system", "no space left on device"
			// is what the admin must fix (issue #12, tmpdir faults).
			return fail(ErrGeneric, err, "promote: cannot create %s (%v): not promoted", LockFile(r.c.TmpDir), rootCause(err))
		}
		// Before the first write: a tmpdir that refuses the lock must not leave the others
		// DISCONNECT or a pending promote point behind (docs/design.md §7; review 11).
		if err := ProbeLock(r.c.TmpDir, lock); err != nil {
			return lockRefused(err)
		}
		pending, err := r.pendingPromoteChain(ctx, st)
		if err != nil {
			return fail(ErrGeneric, err, "promote: refusing: %v", err)
		}
		// Published before promoting, numbered past every published one: a node that starts
		// against this node's history must find this promotion (issue #13, rejoin.go).
		if _, err := r.pub.set(ctx, r.self, r.names.PromotePoint(), pending.Attribute()); err != nil {
			return fail(ErrGeneric, err, "promote: refusing: cannot publish %s: %v", r.names.PromotePoint().Name, err)
		}
		lock.Seq, lock.At = pending[0].Seq, time.Now()
		if err := WriteLock(r.c.TmpDir, lock); err != nil {
			return lockRefused(err)
		}
		// The others' DISCONNECT and -INFINITY only once nothing can refuse the promote any
		// more, before PostgreSQL is promoted: a refused promote (its point unwritable, the
		// lock refused after the probe) must leave the crashed primary its LATEST and with it
		// its start as a locked standby (docs/design.md §3, promote; review 13).
		for _, node := range r.others() {
			if _, err := r.pub.set(ctx, node, r.names.DataStatus(), dataDisconnect); err != nil {
				r.a.Log.Warn("cannot mark node disconnected", "node", node, "error", err)
			}
			r.lowerScore(ctx, node)
		}
		if _, err := r.pub.set(ctx, r.self, r.names.MasterBaseline(), st.Position().Attribute()); err != nil {
			r.a.Log.Warn("cannot set the master baseline", "error", err)
		}
		began := time.Now()
		if err := r.promoteServer(ctx, pending); err != nil {
			return err
		}
		r.a.Log.Info("PostgreSQL promoted", "seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds()),
			"restart_on_promote", r.c.RestartOnPromote)
		r.acknowledgeHandovers(ctx, demands)
	} else {
		r.a.Log.Info("PostgreSQL is already the primary")
	}
	if err := r.reconcileSlots(ctx); err != nil {
		return fail(ErrGeneric, err, "promote: replication slots")
	}
	if err := r.primarySelf(ctx); err != nil {
		return fail(ErrGeneric, err, "promote: cannot publish the primary's state")
	}
	return nil
}

// promoteFenceWait is the promote's share of its budget for readFencedView: half, the rest
// for the WAL of demoted primaries and the promotion itself.
func promoteFenceWait(ctx context.Context) time.Duration {
	return time.Until(deadlineOf(ctx)) / 2
}

// handoverWait bounds how long a promote waits for the WAL of a demoted primary.
const handoverWait = 10 * time.Second

// awaitDemotedPrimaries: before this standby becomes the primary it must have replayed the
// shutdown checkpoint of every demoted primary (PromoteDemands says which); otherwise
// promoting would lose commits and leave the old primary unable to follow. Each one is then
// acknowledged to the demoted node, whose lock that frees.
func (r *replica) awaitDemotedPrimaries(ctx context.Context, st *pgctl.LocalState) ([]HandoverDemand, error) {
	reads := r.markReads(ctx)
	demands, err := PromoteDemands(r.self, r.a.Env.Notify, reads, r.offlineUnproven(ctx, reads))
	if err != nil {
		return nil, fail(ErrGeneric, err, "promote: refusing: %v", err)
	}
	for i := range demands {
		d := &demands[i]
		deadline := time.Now().Add(min(handoverWait, time.Until(deadlineOf(ctx))/2))
		for {
			ok, why := HandoverReceived(d.Mark, st.Timeline, st.ReplayLSN)
			if ok {
				r.a.Log.Info("holds the demoted primary's WAL", "node", d.Node, "why", why)
				break
			}
			if time.Now().After(deadline) || !pause(ctx, 100*time.Millisecond) {
				return nil, fail(ErrGeneric, nil, "promote: refusing: %s's WAL: %s", d.Node, why)
			}
			if next, err := r.localState(ctx); err == nil {
				*st = next
			}
		}
		d.Replayed = st.ReplayLSN
	}
	return demands, nil
}

// markReads reads every other node's hand-over mark and promote point.
func (r *replica) markReads(ctx context.Context) MarkReads {
	reads := MarkReads{Marks: map[string]AttrRead{}, Points: map[string]AttrRead{}}
	for _, node := range r.others() {
		value, found, err := r.get(ctx, node, r.names.DemotedLSN())
		reads.Marks[node] = AttrRead{Value: value, Found: found, Err: err}
		value, found, err = r.get(ctx, node, r.names.PromotePoint())
		reads.Points[node] = AttrRead{Value: value, Found: found, Err: err}
	}
	return reads
}

// offlineUnproven: the nodes named as demoted in this transition whose demote is not on
// record (DemotedUnproven: no mark, a mark older than their latest promotion, or not in
// node_list) and that crm_mon shows as a fence (or, without fencing, a recorded loss) leaves
// them: offline and clean (ShownFenced).
// One shown unclean (lost, its fence pending or failed: with requires=quorum Pacemaker may
// promote before it) or online may still run as the primary it was, with commits this node
// lacks, so it is not excused and the promote refuses (review 20); so does every node when
// crm_mon cannot be read. The fence may take its time (a power-off, pcmk_delay_max): the
// promote waits for its record for up to half of its budget (promoteFenceWait, review 22).
func (r *replica) offlineUnproven(ctx context.Context, reads MarkReads) map[string]bool {
	unmarked := DemotedUnproven(r.self, r.a.Env.Notify, reads)
	offline := map[string]bool{}
	if len(unmarked) == 0 {
		return offline
	}
	view, err := r.readFencedView(ctx, unmarked, true, promoteFenceWait(ctx))
	if err != nil {
		r.a.Log.Warn("cannot read the cluster state", "error", err)
		return offline
	}
	for _, node := range unmarked {
		if offline[node] = ShownFenced(view, node); offline[node] {
			r.a.Log.Info("treating the promote as a failover: a node listed as demoted is offline and clean (fenced, or lost where the cluster does not fence) and has no mark of its latest run as primary", "node", node)
		} else {
			r.a.Log.Warn("a node listed as demoted has no mark of its latest run as primary and is not shown offline and clean (unclean: its fence pending or failed; online: still running, or its loss not recorded here yet): it may still hold commits this node lacks", "node", node)
		}
	}
	return offline
}

// acknowledgeHandovers tells each demoted node, once this node is the primary, that it holds
// that node's WAL; the demoted node's lock goes on the strength of it. Not before the
// promotion succeeded: a failed promote is recovered on this node, which must then not have
// freed others on its behalf. Its own mark goes too: it is the primary now.
func (r *replica) acknowledgeHandovers(ctx context.Context, demands []HandoverDemand) {
	for _, d := range demands {
		ack := Handover{Node: r.self, Mark: d.Mark, Replayed: d.Replayed}
		if _, err := r.pub.set(ctx, d.Node, r.names.Handover(), ack.Attribute()); err != nil {
			// The demoted node then keeps its lock: safe, an admin clears it.
			r.a.Log.Warn("cannot acknowledge the hand-over", "node", d.Node, "error", err)
			continue
		}
		if err := r.pub.remove(ctx, d.Node, r.names.DemotedLSN()); err != nil {
			r.a.Log.Warn("cannot remove a demoted node's mark", "node", d.Node, "error", err)
		}
	}
	if err := r.pub.remove(ctx, r.self, r.names.DemotedLSN()); err != nil {
		r.a.Log.Warn("cannot remove this node's own mark", "error", err)
	}
}

// unlockAfterHandover removes this node's lock when the next primary acknowledged that it
// replayed past the shutdown checkpoint the lock records (MayUnlock).
func (r *replica) unlockAfterHandover(ctx context.Context, lock LockInfo) (bool, string) {
	value, found, err := r.get(ctx, r.self, r.names.Handover())
	f := UnlockFacts{Self: r.self, NodeList: r.c.NodeList, Lock: lock,
		Ack: AttrRead{Value: value, Found: found, Err: err}, Notify: r.a.Env.Notify}
	if r.a.Env.Action == "start" {
		f.DataStatus = r.dataStatuses(ctx)
	}
	ok, why := MayUnlock(f)
	if !ok {
		return false, why
	}
	if err := pgctl.RemoveFile(LockFile(r.c.TmpDir)); err != nil {
		return false, "cannot remove the lock: " + err.Error()
	}
	r.a.Log.Info("lock removed after the hand-over", "why", why)
	_ = r.pub.remove(ctx, r.self, r.names.Handover())
	return true, why
}

// promoteServer ends recovery: by a restart without the standby marker (restart_on_promote:
// same timeline) or by pg_promote()/pg_ctl promote (new timeline).
func (r *replica) promoteServer(ctx context.Context, pending PromoteChain) error {
	if r.c.RestartOnPromote {
		if _, err := r.stopServer(ctx, r.c.StopEscalateInSlave, 2); err != nil {
			return fail(ErrGeneric, err, "promote: the standby did not stop for the restart")
		}
		// The fork is known before the server writes as a primary: published first, once
		// nothing but the start stands between: a marker that stays means no promotion, and
		// an exact point would then prove a divergence from a primary that never ran (review 11).
		exact, ok := r.restartPromotePoint(ctx, pending[0])
		if err := r.layout.ClearStandby(); err != nil {
			return fail(ErrGeneric, err, "promote: cannot remove %s", r.layout.StandbyMarker())
		}
		if ok {
			r.publishPromotePoint(ctx, pending, exact)
		}
		if err := r.a.startServer(ctx, r.c, r.sys, r.server); err != nil {
			_ = r.setStatus(ctx, r.self, StatusStopped)
			return err
		}
	} else if r.sys.Version.Has(pgctl.PromoteFunction) {
		conn, err := r.connect(ctx)
		if err != nil {
			return fail(ErrGeneric, err, "promote: PostgreSQL does not answer")
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := pgctl.PromoteSQL(ctx, conn, time.Until(deadlineOf(ctx))-time.Second); err != nil {
			return fail(ErrGeneric, err, "promote: PostgreSQL did not leave recovery")
		}
	} else if err := r.server.PromoteCtl(ctx); err != nil {
		return fail(ErrGeneric, err, "promote: PostgreSQL did not leave recovery")
	}
	st, err := awaitOutOfRecovery(ctx, r.localState, promotePollInterval)
	if err != nil || st.InRecovery {
		return fail(ErrGeneric, err, "promote: PostgreSQL is still a standby after the promotion")
	}
	if !r.c.RestartOnPromote {
		newTLI, err := r.writeTimeline(ctx)
		if err != nil {
			r.a.Log.Warn("cannot tell the new timeline: the promote point stays pending", "error", err)
		} else if exact, ok := r.switchPromotePoint(pending[0], newTLI); ok {
			r.publishPromotePoint(ctx, pending, exact)
		}
	}
	return nil
}

// promotePollInterval is how often awaitOutOfRecovery asks PostgreSQL.
const promotePollInterval = 200 * time.Millisecond

// awaitOutOfRecovery asks read, every interval, until PostgreSQL has left recovery or a second
// before the deadline, and returns its last answer. pg_ctl promote -w waits only since
// PostgreSQL 10 (upstream commit e7010ce); before, it returns once it has signalled the
// postmaster, and the promotion may not have ended yet. A failed read ends the wait: a hot
// standby takes connections while it ends recovery, so the server is gone or refuses.
func awaitOutOfRecovery(ctx context.Context, read func(context.Context) (pgctl.LocalState, error), interval time.Duration) (pgctl.LocalState, error) {
	until := deadlineOf(ctx).Add(-time.Second)
	for {
		st, err := read(ctx)
		if err != nil || !st.InRecovery || !time.Now().Add(interval).Before(until) || !pause(ctx, interval) {
			return st, err
		}
	}
}

// writeTimeline asks the local primary which timeline it writes WAL on.
func (r *replica) writeTimeline(ctx context.Context) (uint32, error) {
	conn, err := r.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return pgctl.QueryWriteTimeline(ctx, conn, r.sys.Version)
}

// lowerScore sets another node's score to -INFINITY if it has one (a node's score is never
// created by another node: docs/design.md §6) or if it cannot be read: -INFINITY where none
// existed promotes nobody, a skipped lowering may (I4; review 11).
func (r *replica) lowerScore(ctx context.Context, node string) {
	if _, err := r.pub.setExisting(ctx, node, r.names.Score(), ScoreCannotPromote); err != nil {
		r.a.Log.Warn("cannot lower a score", "node", node, "error", err)
	}
}

// reconcileSlots makes the primary hold one slot per other node and none for nodes that
// left node_list (a stale slot keeps WAL forever and fills the disk). A stale slot that
// cannot be dropped (still in use) is only reported: the promotion has happened.
func (r *replica) reconcileSlots(ctx context.Context) error {
	if r.c.ReplicationSlotName == "" {
		return nil
	}
	conn, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	existing, err := pgctl.Slots(ctx, conn)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, node := range r.others() {
		want[SlotName(r.c.ReplicationSlotName, node)] = true
	}
	have := map[string]bool{}
	for _, name := range existing {
		have[name] = true
		matched, _ := filepath.Match(r.c.ReplicationSlotName+"_*", name)
		if matched && !want[name] {
			if err := pgctl.DropSlot(ctx, conn, name); err != nil {
				r.a.Log.Warn("cannot drop a stale replication slot", "slot", name, "error", err)
				continue
			}
			r.a.Log.Info("dropped a stale replication slot", "slot", name)
		}
	}
	for name := range want {
		if !have[name] {
			if err := pgctl.CreateSlot(ctx, conn, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// demote turns the primary into a running standby after a clean shutdown, unless this
// node's data may have diverged from another primary's.
func (r *replica) demote(ctx context.Context) error {
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "demote: cannot tell whether PostgreSQL runs")
	}
	if !pm.Running {
		// A crashed primary hands nothing over: it says so, so that the promote in the same
		// transition proceeds as a failover instead of waiting for a mark that will never
		// come, and an older mark of this node cannot pass for this demote's (issue #10
		// review). Its lock (event=promoted) stays.
		if _, err := r.pub.set(ctx, r.self, r.names.DemotedLSN(), DemoteMark{None: true, Seq: r.latestPromotion(ctx)}.Attribute()); err != nil {
			r.a.Log.Warn("cannot publish that this demote hands nothing over", "error", err)
		}
		_ = r.setStatus(ctx, r.self, StatusStopped)
		return nil
	}
	if err := notAnswering(pm, "demote"); err != nil {
		// The stop that follows fails at once too, and fencing recovers the node; the lock
		// (event=promoted) stays.
		return err
	}
	st, err := r.localState(ctx)
	if err != nil {
		return fail(ErrGeneric, err, "demote: PostgreSQL does not answer")
	}
	if st.InRecovery {
		return nil // already a standby
	}
	if _, err := r.pub.score(ctx, r.self, ScoreCannotPromote); err != nil {
		r.a.Log.Warn("cannot lower the promotion score", "error", err)
	}
	_ = r.pub.remove(ctx, r.self, r.names.MasterBaseline())

	outcome, why := DecideDemote(r.self, r.c.NodeList, r.c.RestartOnPromote, r.a.Env.Notify)
	mode, err := r.stopServer(ctx, r.c.StopEscalate, 2)
	if err != nil {
		_ = r.setStatus(ctx, r.self, StatusUnknown)
		return fail(ErrGeneric, err, "demote: PostgreSQL (pid %d) did not stop", pm.PID)
	}
	if outcome == DemoteAndStop {
		return r.stayLocked(ctx, st, why)
	}
	cd, err := r.server.ReadControlData(ctx)
	if err != nil || mode != pgctl.Fast || !cd.CleanlyShutDown() {
		return r.stayLocked(ctx, st, fmt.Sprintf("no clean shutdown checkpoint (state %q)", cd.State))
	}
	// The lock stays, now recording where this node's WAL ends; the next primary's
	// acknowledgement that it replayed that far is what removes it.
	mark := DemoteMark{Point: WALPoint{Timeline: cd.CheckpointTLI, LSN: cd.CheckpointLSN}, Seq: r.latestPromotion(ctx)}
	if err := WriteLock(r.c.TmpDir, LockRecord{Event: lockEventDemoted, Node: r.self, Timeline: mark.Point.Timeline, LSN: mark.Point.LSN, At: time.Now(), Seq: r.lockSeq()}); err != nil {
		return r.stayLocked(ctx, st, "cannot record the shutdown checkpoint in the lock: "+err.Error())
	}
	if _, err := r.pub.set(ctx, r.self, r.names.DemotedLSN(), mark.Attribute()); err != nil {
		return r.stayLocked(ctx, st, "cannot publish the shutdown checkpoint: "+err.Error())
	}
	_ = r.pub.remove(ctx, r.self, r.names.Handover())
	if err := r.layout.ConfigureStandby(r.standbySettings(), r.sys.Owner); err != nil {
		return fail(ErrGeneric, err, "demote: cannot write the standby settings")
	}
	if err := r.resetSyncStandby(); err != nil {
		return fail(ErrGeneric, err, "demote: cannot reset rep_mode.conf")
	}
	if err := r.a.startServer(ctx, r.c, r.sys, r.server); err != nil {
		return err
	}
	if err := r.setStatus(ctx, r.self, StatusAlone); err != nil {
		r.a.Log.Warn("cannot set status", "error", err)
	}
	r.a.Log.Info("demoted to a running standby; locked until the next primary has its WAL", "shutdown_checkpoint", mark.Point, "promotion", mark.Seq)
	return nil
}

// stayLocked ends a demote that cannot hand over: PostgreSQL stays stopped and the lock
// records why.
func (r *replica) stayLocked(ctx context.Context, st pgctl.LocalState, why string) error {
	_ = r.setStatus(ctx, r.self, StatusStopped)
	rec := LockRecord{Event: lockEventDiverged, Node: r.self, Timeline: st.Timeline, LSN: st.Position(), At: time.Now(), Reason: why, Seq: r.lockSeq()}
	if err := WriteLock(r.c.TmpDir, rec); err != nil {
		r.a.Log.Error("cannot rewrite the lock", "error", err)
	}
	return fail(ErrGeneric, nil, "demote: %s; PostgreSQL stopped and %s kept", why, LockFile(r.c.TmpDir))
}

// latestPromotion numbers a demote's mark: this node's latest promotion, the head of its own
// <rsc>-promote-point, which MarkOfLatestRun compares the mark with; the lock's promote_seq
// where that cannot be read (the same number, unless an admin removed the lock: review 23).
func (r *replica) latestPromotion(ctx context.Context) uint64 {
	value, found, err := r.get(ctx, r.self, r.names.PromotePoint())
	if chain, perr := ParsePromoteChain(value); err == nil && found && perr == nil && chain[0].Node == r.self {
		return chain[0].Seq
	}
	return r.lockSeq()
}

// lockSeq is the promotion the current lock's WAL belongs to, carried when a demote rewrites
// the lock (0: none recorded).
func (r *replica) lockSeq() uint64 {
	info, locked, err := ReadLock(r.c.TmpDir)
	if err != nil || !locked {
		return 0
	}
	seq, _ := info.promoteSeq()
	return seq
}
