package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// demotedLSNAttr is a transient attribute a demoted primary publishes: the LSN of its
// shutdown checkpoint. The next promote waits until it has received that much WAL, which
// proves the old primary can follow it as a standby (SPEC §2.2).
func (n attrNames) DemotedLSN() string { return n.resource + "-demoted-lsn" }

// start brings PostgreSQL up as a standby (a promotable clone always starts unpromoted).
func (r *replica) start(ctx context.Context) error {
	if info, locked, err := ReadLock(r.c.TmpDir); err != nil {
		return fail(ErrGeneric, err, "start: cannot read %s", LockFile(r.c.TmpDir))
	} else if locked {
		return &Error{RC: ErrGeneric, Reason: LockRefusal(r.c.TmpDir), Err: fmt.Errorf("the lock records %s", info)}
	}
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "start: cannot tell whether PostgreSQL runs")
	}
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
	for _, name := range []string{r.names.MasterBaseline(), r.names.XlogLoc(), r.names.DemotedLSN(), r.names.PrePromotePosition()} {
		if err := r.pub.remove(ctx, r.self, name, crmattr.Reboot); err != nil {
			return fail(ErrGeneric, err, "start: cannot remove %s", name)
		}
	}
	if err := r.layout.ConfigureStandby(r.standbySettings(), r.sys.Owner); err != nil {
		return fail(ErrGeneric, err, "start: cannot write the standby settings")
	}
	r.warnAutoConfOverrides()
	if err := r.resetSyncStandby(); err != nil {
		return fail(ErrGeneric, err, "start: cannot write %s", pgctl.RepModeFile(r.c.TmpDir))
	}
	if err := r.a.startServer(ctx, r.c, r.sys, r.server); err != nil {
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
// window: LAB.md).
const streamWait = 3 * time.Second

func (r *replica) afterStandbyStart(ctx context.Context, st pgctl.LocalState) error {
	// The last primary claims promotion at once; any other standby waits briefly for its
	// WAL receiver to stream.
	if st.Streaming() || !r.claimAsLastPrimary(ctx) {
		deadline := time.Now().Add(min(streamWait, time.Until(deadlineOf(ctx))/2))
		for !st.Streaming() && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			if next, err := r.localState(ctx); err == nil {
				st = next
			}
		}
	}
	if err := r.standbySelf(ctx, st); err != nil {
		return fail(ErrGeneric, err, "start: cannot publish the standby's state")
	}
	current, found, err := r.pub.current(ctx, r.self, r.names.Status(), crmattr.Reboot)
	if err == nil && (!found || current == StatusStopped || current == StatusUnknown) {
		err = r.setStatus(ctx, r.self, StatusAlone)
	}
	if err != nil {
		return fail(ErrGeneric, err, "start: cannot set %s", r.names.Status())
	}
	r.a.Log.Info("PostgreSQL runs as a standby", "streaming", st.Streaming(), "position", st.Position())
	return nil
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
	statuses := map[string]string{}
	for _, node := range r.c.NodeList {
		status, _, err := r.a.Attrs.Get(ctx, node, r.names.DataStatus(), crmattr.Forever)
		if err != nil {
			return false, "cannot read " + node + "'s data-status: " + err.Error()
		}
		statuses[node] = status
	}
	return LastPrimaryMayClaim(r.self, statuses, r.cleanPrimaryShutdown)
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
	for _, name := range []string{r.names.XlogLoc(), r.names.DemotedLSN(), r.names.PrePromotePosition()} {
		if err := r.pub.remove(ctx, r.self, name, crmattr.Reboot); err != nil {
			r.a.Log.Warn("cannot remove attribute", "name", name, "error", err)
		}
	}
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "stop: cannot tell whether PostgreSQL runs")
	}
	if pm.Running {
		escalate := pgctl.EscalationDelay(time.Duration(r.c.StopEscalateInSlave)*time.Second, time.Until(deadlineOf(ctx)))
		if _, err := r.server.Stop(ctx, escalate); err != nil {
			_ = r.setStatus(ctx, r.self, StatusUnknown)
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
	if err := r.pub.remove(ctx, r.self, r.names.MasterBaseline(), crmattr.Reboot); err != nil {
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
		if err := r.awaitDemotedPrimary(ctx, &st); err != nil {
			return err
		}
		for _, node := range r.others() {
			if _, err := r.pub.set(ctx, node, r.names.DataStatus(), dataDisconnect, crmattr.Forever); err != nil {
				r.a.Log.Warn("cannot mark node disconnected", "node", node, "error", err)
			}
			r.lowerScore(ctx, node)
		}
		if err := WriteLock(r.c.TmpDir, LockRecord{Event: "promoted", Node: r.self, Timeline: st.Timeline, LSN: st.Position(), At: time.Now()}); err != nil {
			return fail(ErrGeneric, err, "promote: cannot create %s", LockFile(r.c.TmpDir))
		}
		if _, err := r.pub.set(ctx, r.self, r.names.MasterBaseline(), st.Position().Attribute(), crmattr.Reboot); err != nil {
			r.a.Log.Warn("cannot set the master baseline", "error", err)
		}
		began := time.Now()
		if err := r.promoteServer(ctx); err != nil {
			return err
		}
		r.a.Log.Info("PostgreSQL promoted", "seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds()),
			"restart_on_promote", r.c.RestartOnPromote)
	} else {
		r.a.Log.Info("PostgreSQL is already the primary")
	}
	if err := r.reconcileSlots(ctx); err != nil {
		return fail(ErrGeneric, err, "promote: replication slots")
	}
	if err := r.primarySelf(ctx); err != nil {
		return fail(ErrGeneric, err, "promote: cannot publish the primary's state")
	}
	for _, node := range r.others() {
		_ = r.pub.remove(ctx, node, r.names.DemotedLSN(), crmattr.Reboot)
	}
	return nil
}

// handoverWait bounds how long a promote waits for the WAL of a demoted primary.
const handoverWait = 10 * time.Second

// awaitDemotedPrimary: when another node was demoted in this transition, this standby must
// have received everything up to that node's shutdown checkpoint before it becomes the
// primary; otherwise promoting would lose commits and leave the old primary unable to follow.
func (r *replica) awaitDemotedPrimary(ctx context.Context, st *pgctl.LocalState) error {
	for _, node := range r.others() {
		text, found, err := r.a.Attrs.Get(ctx, node, r.names.DemotedLSN(), crmattr.Reboot)
		if err != nil || !found {
			continue
		}
		need, err := pgctl.ParseAttributeLSN(text)
		if err != nil {
			continue
		}
		deadline := time.Now().Add(min(handoverWait, time.Until(deadlineOf(ctx))/2))
		for st.Position() < need {
			if time.Now().After(deadline) {
				return fail(ErrGeneric, nil, "promote: has WAL up to %s, not %s's shutdown checkpoint %s: refusing",
					st.Position(), node, need)
			}
			time.Sleep(100 * time.Millisecond)
			if next, err := r.localState(ctx); err == nil {
				*st = next
			}
		}
		r.a.Log.Info("received the demoted primary's shutdown checkpoint", "node", node, "lsn", need)
	}
	return nil
}

// promoteServer ends recovery: by a restart without the standby marker (restart_on_promote:
// same timeline) or by pg_promote()/pg_ctl promote (new timeline).
func (r *replica) promoteServer(ctx context.Context) error {
	if r.c.RestartOnPromote {
		escalate := pgctl.EscalationDelay(time.Duration(r.c.StopEscalateInSlave)*time.Second, time.Until(deadlineOf(ctx))/2)
		if _, err := r.server.Stop(ctx, escalate); err != nil {
			return fail(ErrGeneric, err, "promote: the standby did not stop for the restart")
		}
		if err := r.layout.ClearStandby(); err != nil {
			return fail(ErrGeneric, err, "promote: cannot remove %s", r.layout.StandbyMarker())
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
	st, err := r.localState(ctx)
	if err != nil || st.InRecovery {
		return fail(ErrGeneric, err, "promote: PostgreSQL is still a standby after the promotion")
	}
	return nil
}

// lowerScore sets another node's score to -INFINITY if it has one (a node's score is never
// created by another node: REFERENCE §3.2).
func (r *replica) lowerScore(ctx context.Context, node string) {
	if _, found, err := r.pub.current(ctx, node, crmattr.PromotionAttrName(r.a.Env.Resource()), crmattr.Reboot); err == nil && found {
		if _, err := r.pub.score(ctx, node, ScoreCannotPromote); err != nil {
			r.a.Log.Warn("cannot lower a score", "node", node, "error", err)
		}
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
		_ = r.setStatus(ctx, r.self, StatusStopped)
		return nil
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
	_ = r.pub.remove(ctx, r.self, r.names.MasterBaseline(), crmattr.Reboot)

	diverged, why := DecideDemote(r.self, r.a.Env.Notify)
	escalate := pgctl.EscalationDelay(time.Duration(r.c.StopEscalate)*time.Second, time.Until(deadlineOf(ctx))/2)
	mode, err := r.server.Stop(ctx, escalate)
	if err != nil {
		_ = r.setStatus(ctx, r.self, StatusUnknown)
		return fail(ErrGeneric, err, "demote: PostgreSQL (pid %d) did not stop", pm.PID)
	}
	if diverged {
		_ = r.setStatus(ctx, r.self, StatusStopped)
		return fail(ErrGeneric, nil, "demote: %s; PostgreSQL stopped and %s kept", why, LockFile(r.c.TmpDir))
	}
	cd, err := r.server.ReadControlData(ctx)
	if err != nil || mode != pgctl.Fast || !cd.CleanlyShutDown() {
		_ = r.setStatus(ctx, r.self, StatusStopped)
		return fail(ErrGeneric, err, "demote: no clean shutdown checkpoint (state %q): PostgreSQL stopped and %s kept",
			cd.State, LockFile(r.c.TmpDir))
	}
	if _, err := r.pub.set(ctx, r.self, r.names.DemotedLSN(), pgctl.LSN(cd.CheckpointLSN).Attribute(), crmattr.Reboot); err != nil {
		return fail(ErrGeneric, err, "demote: cannot publish the shutdown checkpoint")
	}
	if err := r.layout.ConfigureStandby(r.standbySettings(), r.sys.Owner); err != nil {
		return fail(ErrGeneric, err, "demote: cannot write the standby settings")
	}
	if err := r.resetSyncStandby(); err != nil {
		return fail(ErrGeneric, err, "demote: cannot reset rep_mode.conf")
	}
	if err := r.a.startServer(ctx, r.c, r.sys, r.server); err != nil {
		return err
	}
	// The shutdown checkpoint is the end of this node's history; the next primary is
	// promoted only once it has received it, so this node can follow it.
	if err := pgctl.RemoveFile(LockFile(r.c.TmpDir)); err != nil {
		r.a.Log.Warn("cannot remove the lock", "error", err)
	}
	if err := r.setStatus(ctx, r.self, StatusAlone); err != nil {
		r.a.Log.Warn("cannot set status", "error", err)
	}
	r.a.Log.Info("demoted to a running standby", "shutdown_checkpoint", cd.CheckpointLSN)
	return nil
}

// DecideDemote tells whether a demote is the end of a split brain: the transition promotes
// no other node while another node is already promoted, so both were primaries and this
// node's recent writes exist nowhere else. Without notify data nothing can be told.
func DecideDemote(self string, n Notification) (diverged bool, reason string) {
	if !n.Present || len(n.Promote) > 0 {
		return false, ""
	}
	for _, node := range n.Promoted {
		if node != self {
			return true, fmt.Sprintf("%s is primary too: this node's data may have diverged", node)
		}
	}
	return false, ""
}
