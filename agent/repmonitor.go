package agent

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/jackc/pgx/v5"
	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/metadata"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// monitor reports the instance's role: 8 primary, 0 standby, 7 stopped. On the way it keeps
// the node attributes true, writing only what changed.
func (r *replica) monitor(ctx context.Context) error {
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "monitor: cannot tell whether PostgreSQL runs")
	}
	if !pm.Running {
		return errNotRunning
	}
	if err := notAnswering(pm, "monitor"); err != nil {
		return err
	}
	// One connection serves the whole monitor: a primary's also reads pg_stat_replication
	// (a second connection cost a backend start on every monitor).
	conn, err := r.connect(ctx)
	var st pgctl.LocalState
	if err == nil {
		defer conn.Close(context.WithoutCancel(ctx))
		st, err = pgctl.QueryLocalState(ctx, conn, r.sys.Version)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fail(ErrGeneric, err, "monitor: PostgreSQL (pid %d) did not answer within %.1fs", pm.PID, r.a.Env.Budget().Seconds())
		}
		return fail(ErrGeneric, err, "monitor: PostgreSQL (pid %d) does not answer", pm.PID)
	}
	if r.c.CheckWALReceiver {
		r.publishReceiver(ctx, st)
	}
	if !st.InRecovery {
		if err := r.monitorPrimary(ctx, conn, st); err != nil {
			return err
		}
		return stateAnswer(RunningPromoted)
	}
	if err := r.standbySelf(ctx, st); err != nil {
		return fail(ErrGeneric, err, "monitor: cannot publish the standby's state")
	}
	r.unlockIfHandedOver(ctx)
	if st.Streaming() {
		r.recordStreamed(ctx, pm, st)
		return nil
	}
	return r.noPrimaryInSight(ctx, st, pm)
}

func (r *replica) publishReceiver(ctx context.Context, st pgctl.LocalState) {
	value := receiverError
	switch {
	case !st.InRecovery:
		value = receiverPrimary
	case st.ReceiverConnected:
		value = receiverNormal
	}
	if _, err := r.pub.set(ctx, r.self, r.names.ReceiverStatus(), value); err != nil {
		r.a.Log.Warn("cannot set the receiver status", "error", err)
	}
}

// monitorPrimary runs the admin's monitor query (when changed from the default), publishes
// the primary's own state and what it sees of every standby.
func (r *replica) monitorPrimary(ctx context.Context, conn *pgx.Conn, st pgctl.LocalState) error {
	if p, _ := metadata.Lookup("monitor_sql"); r.c.MonitorSQL != p.Default {
		if err := query(ctx, r.c.monitorConn(r.sys.Owner), r.c.MonitorSQL); err != nil {
			return fail(ErrGeneric, err, "monitor: the primary failed monitor_sql")
		}
	}
	if err := r.primarySelf(ctx); err != nil {
		return fail(ErrGeneric, err, "monitor: cannot publish the primary's state")
	}
	return r.controlStandbys(ctx, conn, st.CurrentLSN)
}

// primarySelf publishes that this node is the primary.
func (r *replica) primarySelf(ctx context.Context) error {
	if _, err := r.pub.set(ctx, r.self, r.names.DataStatus(), dataLatest); err != nil {
		return err
	}
	if err := r.setStatus(ctx, r.self, StatusPrimary); err != nil {
		return err
	}
	_, err := r.pub.score(ctx, r.self, ScorePromoteMe)
	return err
}

// controlStandbysNow is controlStandbys on a connection of its own, when this node runs as
// the primary. stopped are the nodes a post-stop notification reports stopped: their
// lingering walsenders are ended first (StaleWalSenders).
func (r *replica) controlStandbysNow(ctx context.Context, stopped []string) error {
	conn, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	st, err := pgctl.QueryLocalState(ctx, conn, r.sys.Version)
	if err != nil || st.InRecovery {
		return err
	}
	if len(stopped) > 0 {
		r.endStaleWalSenders(ctx, conn, stopped)
	}
	return r.controlStandbys(ctx, conn, st.CurrentLSN)
}

// staleWalSenderWait bounds the wait for ended walsenders' rows to leave
// pg_stat_replication: a walsender handles the signal at its next wait, within milliseconds.
const staleWalSenderWait = 2 * time.Second

// staleWalSenderResignal is how long an ended walsender may stay before it is signalled
// again: one whose socket is full (the standby gone with WAL unsent) blocks in reporting
// its FATAL to the standby, a write nothing bounds but TCP's retransmissions (about 15
// minutes) and that keeps it from its wal_sender_timeout check; a second
// pg_terminate_backend ends that write (review 14).
const staleWalSenderResignal = 250 * time.Millisecond

// fenceRecordWait bounds the post-stop rule's wait for crm_mon to show a node fenced (offline
// and clean), and fenceRecordPoll is how often it is asked meanwhile (reviews 17 and 20).
const (
	fenceRecordWait = 3 * time.Second
	fenceRecordPoll = 250 * time.Millisecond
)

// readFencedView reads crm_mon and, while one of nodes is not shown fenced (ShownFenced),
// reads it again every fenceRecordPoll until wait has passed; every call, the first too, is
// cut at that end, so crm_mon takes at most wait of the action's budget (reviews 18 and 19).
// A fenced node's record (node_state) reaches the CIB in a message of its own, which may
// trail the notification or the promote its fence let through, and so may the record of its
// loss; with requires=quorum the fence itself may still be running (review 22). A crm_mon
// that fails is asked again: the error is returned only when no call succeeded within wait
// (review 22); a later failure keeps the view it had. Without fencing a lost node shows
// offline and clean as soon as its loss is recorded: evenWithoutFencing waits for that too.
func (r *replica) readFencedView(ctx context.Context, nodes []string, evenWithoutFencing bool, wait time.Duration) (crmattr.ClusterView, error) {
	waitCtx, cancel := context.WithDeadline(ctx, time.Now().Add(wait))
	defer cancel()
	var view crmattr.ClusterView
	var readErr error
	seen := false
	for {
		if again, err := crmattr.ReadClusterView(waitCtx, r.a.Tools, r.a.Env.Resource()); err == nil {
			view, seen = again, true
		} else if !seen {
			readErr = err
		}
		if seen && (!(view.StonithEnabled || evenWithoutFencing) || len(unfencedNodes(view, nodes)) == 0) {
			return view, nil
		}
		select {
		case <-waitCtx.Done():
			if seen {
				return view, nil
			}
			return view, readErr
		case <-time.After(fenceRecordPoll):
		}
	}
}

// postStopFenceWait is the post-stop rule's share of a notification's budget for
// readFencedView: a walsender left running costs only wal_sender_timeout.
func postStopFenceWait(ctx context.Context) time.Duration {
	return min(fenceRecordWait, time.Until(deadlineOf(ctx))/4)
}

// unfencedNodes are those of nodes crm_mon does not show fenced (ShownFenced).
func unfencedNodes(view crmattr.ClusterView, nodes []string) []string {
	var out []string
	for _, n := range nodes {
		if !ShownFenced(view, n) {
			out = append(out, n)
		}
	}
	return out
}

// endStaleWalSenders ends the walsenders StaleWalSenders names, reading whether the cluster
// fences from crm_mon, and waits for their rows to go, signalling again those that stay, so
// that the round that follows judges the stopped standbys as gone. Best effort: a walsender
// left running only keeps the old behaviour (its row goes at wal_sender_timeout). The rows
// are read after crm_mon, and a pid is signalled again only while pg_stat_replication still
// shows it for the same node: a pid a slow crm_mon let go is never someone else's; and
// TerminateWalSender checks pid and name again in the statement that signals (review 17).
func (r *replica) endStaleWalSenders(ctx context.Context, conn *pgx.Conn, stopped []string) {
	if r.a.Tools == nil {
		return
	}
	// No stopped node has a walsender (a clean stop closed it): nothing to ask crm_mon. The
	// wait below is for the stopped nodes that have one.
	rows, err := pgctl.QueryReplication(ctx, conn, r.sys.Version)
	if err != nil {
		return
	}
	connected := StoppedWithWalSender(rows, stopped, r.self)
	if len(connected) == 0 {
		return
	}
	// A stopped node's walsender goes only once crm_mon shows the node fenced; without
	// fencing none goes, so there is nothing to wait for.
	view, err := r.readFencedView(ctx, connected, false, postStopFenceWait(ctx))
	if err != nil {
		r.a.Log.Warn("notify: cannot read whether the cluster fences; the stopped nodes' walsenders stay", "stopped", strings.Join(stopped, " "), "error", err)
		return
	}
	if view.StonithEnabled {
		for _, node := range unfencedNodes(view, connected) {
			r.a.Log.Warn("notify: a node reported stopped is not shown fenced (unclean: its fence pending or failed, or the resource does not require fencing; online: its loss not recorded here yet); its walsender stays", "node", node)
		}
	}
	// The rows again, after crm_mon: a pid signalled is one pg_stat_replication shows now.
	rows, err = pgctl.QueryReplication(ctx, conn, r.sys.Version)
	if err != nil {
		return
	}
	ended := map[int32]string{}        // pid → node, signalled at least once
	signalled := map[int32]time.Time{} // pid → last signal
	signal := func(row ReplicationRow) {
		node := NodeName(row.ApplicationName)
		ok, err := pgctl.TerminateWalSender(ctx, conn, row.PID, row.ApplicationName)
		signalled[row.PID] = time.Now()
		switch {
		case err != nil:
			r.a.Log.Warn("notify: cannot end a stopped node's walsender", "node", node, "pid", row.PID, "error", err)
		case ok && ended[row.PID] == "":
			ended[row.PID] = node
			r.a.Log.Info("ended the walsender of a node Pacemaker reports stopped (fencing on): its connection outlives it until wal_sender_timeout",
				"node", node, "pid", row.PID, "state", row.State+"|"+row.SyncState)
		}
	}
	for _, row := range StaleWalSenders(rows, stopped, r.self, view) {
		signal(row)
	}
	deadline := time.Now().Add(staleWalSenderWait)
	for len(ended) > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		rows, err := pgctl.QueryReplication(ctx, conn, r.sys.Version)
		if err != nil {
			return
		}
		var staying []ReplicationRow
		for _, row := range rows {
			if node, ok := ended[row.PID]; ok && NodeName(row.ApplicationName) == node {
				staying = append(staying, row)
			}
		}
		if len(staying) == 0 {
			return
		}
		if !time.Now().Before(deadline) {
			r.a.Log.Warn("notify: a stopped node's walsender outlived its end; its row goes at wal_sender_timeout", "stopped", strings.Join(stopped, " "))
			return
		}
		for _, row := range staying {
			if time.Since(signalled[row.PID]) >= staleWalSenderResignal {
				signal(row)
			}
		}
	}
}

// controlStandbys applies the primary's view of every other node (docs/design.md, "The
// primary's view"): it gathers the facts, lets JudgeStandbys decide, then publishes. In sync
// mode rep_mode.conf changes only after every lowering write succeeded: a standby that leaves
// synchronous_standby_names while its score still says promotable could be promoted without
// the commits acknowledged after it left (issue #10, defect 6).
//
// primaryLSN is the primary's position, read (by the caller's local-state query on conn)
// before pg_stat_replication, so a standby's flush position compared with it was reported
// later.
func (r *replica) controlStandbys(ctx context.Context, conn *pgx.Conn, primaryLSN pgctl.LSN) error {
	rows, err := pgctl.QueryReplication(ctx, conn, r.sys.Version)
	if err != nil {
		return fail(ErrGeneric, err, "monitor: the primary cannot read pg_stat_replication")
	}
	facts := PrimaryFacts{Mode: r.c.RepMode, Nodes: r.others(), NodeCount: len(r.c.NodeList),
		CurrentLSN: primaryLSN, Rows: rows, MaxLag: r.c.MaxLag, NoPromote: r.c.NoPromoteNodes}
	if r.c.RepMode == RepSync {
		if named := pgctl.ReadSyncStandbys(r.c.TmpDir); len(named) > 0 {
			facts.SyncNamed = named[0]
		}
		facts.Confirm = readSyncConfirm(r.c.TmpDir)
	}
	plan := JudgeStandbys(facts)
	if plan.Checkpoint {
		if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
			r.a.Log.Warn("synchronous standby not confirmed: CHECKPOINT failed", "error", err)
			plan.Confirm = facts.Confirm
		}
	}
	if r.c.RepMode == RepSync && plan.Confirm != facts.Confirm {
		if err := writeSyncConfirm(r.c.TmpDir, plan.Confirm, r.sys.Owner); err != nil {
			// Unrecorded, the confirmation would be granted again later from a newer
			// position: only raising on its strength would be wrong.
			r.a.Log.Warn("cannot record the synchronous standby's confirmation", "error", err)
			plan = withoutPromotable(plan, plan.SyncNamed)
		}
	}
	lowered := true
	for _, v := range plan.Views {
		if err := r.publishStandby(ctx, v); err != nil {
			r.a.Log.Warn("cannot publish a standby's state", "node", v.Node, "error", err)
			lowered = lowered && v.Promotable()
		}
	}
	if r.c.RepMode != RepSync || plan.SyncNamed == facts.SyncNamed {
		return nil
	}
	if !lowered {
		r.a.Log.Warn("synchronous standby kept: a standby's score could not be lowered", "named", facts.SyncNamed)
		return nil
	}
	r.a.Log.Info("synchronous standby changed", "from", facts.SyncNamed, "to", plan.SyncNamed)
	names := []string{}
	if plan.SyncNamed != "" {
		names = append(names, plan.SyncNamed)
	}
	if _, err := pgctl.WriteFileAtomic(pgctl.RepModeFile(r.c.TmpDir), pgctl.RenderSyncStandbys(names...), 0o600, r.sys.Owner); err != nil {
		return fail(ErrGeneric, err, "monitor: cannot update %s (%v)", pgctl.RepModeFile(r.c.TmpDir), rootCause(err))
	}
	if err := pgctl.Reload(ctx, conn); err != nil {
		return fail(ErrGeneric, err, "monitor: cannot reload the configuration")
	}
	return nil
}

// withoutPromotable is plan with node's view made unpromotable.
func withoutPromotable(plan PrimaryPlan, node string) PrimaryPlan {
	views := make([]StandbyView, len(plan.Views))
	for i, v := range plan.Views {
		if v.Node == node && v.Promotable() {
			v.Score, v.DataStatus, v.Status = ScoreCannotPromote, dataStreamingAsyn, StatusAsync
			v.Reason = "its confirmation as synchronous standby could not be recorded"
		}
		views[i] = v
	}
	plan.Views = views
	return plan
}

// publishStandby writes one standby's attributes as the primary sees them. A node whose own
// status is STOP or UNKNOWN keeps it (only a node itself leaves those: its agent may know
// PostgreSQL is unusable there), and a node's score is never created by another node. It
// fails when a write that lowers the node's promotability failed. Each write is tried even
// when the other failed, the score first when it lowers: the CIB refusing data-status must
// not keep a disconnected standby promotable (second review of issue #10).
func (r *replica) publishStandby(ctx context.Context, v StandbyView) error {
	dataChanged := false
	writes := []func() error{
		func() error {
			changed, err := r.pub.set(ctx, v.Node, r.names.DataStatus(), v.DataStatus)
			dataChanged = changed
			return err
		},
		func() error { return r.publishStandbyScore(ctx, v) },
	}
	if !v.Promotable() {
		writes[0], writes[1] = writes[1], writes[0]
	}
	var errs *multierror.Error
	for _, write := range writes {
		if err := write(); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		return err
	}
	// HS:alone goes with the write-off itself, not on every monitor after it: a standby gone
	// for good has no status to find, and looking for it would cost a crm_attribute call per
	// monitor (TestReplicationLifecycle counts them).
	if v.Status == "" || (v.Status == StatusAlone && !dataChanged) {
		return nil
	}
	current, found, err := r.pub.current(ctx, v.Node, r.names.Status())
	if err != nil || !found || current == StatusStopped || current == StatusUnknown {
		return nil
	}
	if err := r.setStatus(ctx, v.Node, v.Status); err != nil {
		r.a.Log.Warn("cannot set status", "node", v.Node, "error", err)
	}
	return nil
}

// publishStandbyScore sets a standby's score as the primary judges it, where the node has one.
func (r *replica) publishStandbyScore(ctx context.Context, v StandbyView) error {
	// A score that cannot be read is lowered all the same: -INFINITY where none existed
	// promotes nobody, a skipped lowering may (I4, docs/design.md §1; review 10).
	if changed, err := r.pub.setExisting(ctx, v.Node, r.names.Score(), v.Score); err != nil {
		return err
	} else if changed {
		r.a.Log.Info("standby promotability changed", "node", v.Node, "score", v.Score, "why", v.Reason)
	}
	return nil
}

// standbySelf publishes what a standby can tell about itself: its own view may only lower
// its score (a probe that finds a standby gives it -INFINITY until a primary vouches for it);
// raising it is the primary's, from pg_stat_replication (docs/design.md, invariant I1).
func (r *replica) standbySelf(ctx context.Context, st pgctl.LocalState) error {
	if r.a.Env.IsProbe() {
		_, err := r.pub.score(ctx, r.self, ScoreCannotPromote)
		return err
	}
	return nil
}

// unlockIfHandedOver frees a running demoted standby of its lock once the next primary
// acknowledged its WAL. Without a lock it costs one stat.
func (r *replica) unlockIfHandedOver(ctx context.Context) {
	info, locked, err := ReadLock(r.c.TmpDir)
	if err != nil || !locked {
		return
	}
	if ok, why := r.unlockAfterHandover(ctx, info); !ok {
		r.a.Log.Debug("lock kept", "why", why)
	}
}

// noPrimaryInSight handles a standby that does not stream: if a primary runs elsewhere the
// standby only reports itself alone when the primary has written it off; if none runs, the
// standbys elect the one with the newest data. A locked standby that follows no primary
// fails once a primary runs elsewhere (LockedStandbyMustRestart).
func (r *replica) noPrimaryInSight(ctx context.Context, st pgctl.LocalState, pm pgctl.Postmaster) error {
	view, err := crmattr.ReadClusterView(ctx, r.a.Tools, r.a.Env.Resource())
	if err != nil {
		r.a.Log.Warn("cannot read the cluster state", "error", err)
		return nil
	}
	dataStatus, _, _ := r.pub.current(ctx, r.self, r.names.DataStatus())
	if len(view.Promoted) > 0 {
		primaryElsewhere := slices.ContainsFunc(view.Promoted, func(n string) bool { return n != r.self })
		lock, locked, err := ReadLock(r.c.TmpDir)
		if err == nil && LockedStandbyMustRestart(lock, locked, st.Streaming(), primaryElsewhere) {
			return fail(ErrGeneric, nil, "monitor: this locked standby follows no primary and %s is promoted: "+
				"a restart checks the rejoin evidence against it (%s)", strings.Join(view.Promoted, ", "), LockFile(r.c.TmpDir))
		}
		r.wakeReceiverAgain(ctx, st, primaryElsewhere)
		if dataStatus == dataDisconnect {
			_ = r.setStatus(ctx, r.self, StatusAlone)
		}
		return nil
	}
	_ = r.setStatus(ctx, r.self, StatusAlone)
	// Read afresh, not from the memory: a primary may have written this node off since, and
	// an unreadable value is no licence to take part (second review).
	dataStatus, _, err = r.get(ctx, r.self, r.names.DataStatus())
	if err != nil || !ElectionEligible(r.c.RepMode, dataStatus) {
		r.a.Log.Debug("not taking part in the election", "data_status", dataStatus, "error", err)
		return nil
	}
	r.electionRound(ctx, st, r.streamedInRun(pm))
	return nil
}

// electionRound publishes this node's position, compares it with the others' and, once the
// positions have been stable long enough, claims or renounces promotion.
func (r *replica) electionRound(ctx context.Context, st pgctl.LocalState, streamed bool) {
	own := Position{Timeline: st.Timeline, LSN: uint64(st.Position())}
	if _, err := r.pub.set(ctx, r.self, r.names.XlogLoc(), pgctl.LSN(own.LSN).Attribute()); err != nil {
		r.a.Log.Warn("cannot publish the WAL position", "error", err)
		return
	}
	if _, err := r.pub.set(ctx, r.self, r.names.XlogTimeline(), formatTimeline(own.Timeline)); err != nil {
		r.a.Log.Warn("cannot publish the timeline", "error", err)
		return
	}
	in := ElectionInput{Self: r.self, NodeOrder: r.c.NodeList, CheckCount: r.c.XlogCheckCount, NoPromote: r.c.NoPromoteNodes,
		Streamed:  streamed,
		Published: map[string]Position{r.self: own}, LastLatest: map[string]bool{}}
	for _, node := range r.c.NodeList {
		status, _, err := r.get(ctx, node, r.names.DataStatus())
		in.LastLatest[node] = err == nil && status == dataLatest
		if node == r.self {
			continue
		}
		if err != nil || ElectionEligible(r.c.RepMode, status) {
			in.Contenders = append(in.Contenders, node) // unreadable: it may be newer
		}
		if p, ok := r.publishedPosition(ctx, node); ok {
			in.Published[node] = p
		}
	}
	statePath := electionStateFile(r.c.TmpDir)
	var prev ElectionState
	if b, err := safefs.ReadFile(statePath, safefs.StateLimit); err == nil {
		_ = json.Unmarshal(b, &prev)
	}
	next, verdict, why := DecideElection(prev, in)
	if b, err := json.Marshal(next); err == nil {
		_, _ = pgctl.WriteFileAtomic(statePath, b, 0o600, r.sys.Owner)
	}
	switch verdict {
	case Win:
		r.a.Log.Info("claiming promotion", "why", why)
		_, _ = r.pub.score(ctx, r.self, ScorePromoteMe)
	case Lose:
		r.a.Log.Info("not promotable", "why", why)
		// A claim of an earlier round must not outlive the loss (issue #10, defect 7).
		_, _ = r.pub.score(ctx, r.self, ScoreCannotPromote)
		_, _ = r.pub.set(ctx, r.self, r.names.DataStatus(), dataDisconnect)
	default:
		if next.Rounds >= in.CheckCount {
			// Stable positions and still no claim: the cluster stays without a primary
			// until the awaited nodes appear or an admin acts.
			r.a.Log.Info("not claiming promotion", "why", why)
		} else {
			r.a.Log.Debug("election", "why", why)
		}
	}
}

// electionStateFile keeps a standby's ElectionState between monitors.
func electionStateFile(tmpdir string) string { return filepath.Join(tmpdir, "election.json") }

func (r *replica) publishedPosition(ctx context.Context, node string) (Position, bool) {
	loc, found, err := r.get(ctx, node, r.names.XlogLoc())
	if err != nil || !found {
		return Position{}, false
	}
	lsn, err := pgctl.ParseAttributeLSN(loc)
	if err != nil {
		return Position{}, false
	}
	// Without its timeline a position cannot be ranked (timelines are compared first): the
	// node counts as unseen, so that the election waits for it rather than rank it oldest
	// (fourth review of issue #13).
	tli, found, err := r.get(ctx, node, r.names.XlogTimeline())
	if err != nil || !found || parseTimeline(tli) == 0 {
		return Position{}, false
	}
	return Position{Timeline: parseTimeline(tli), LSN: uint64(lsn)}, true
}

// notify reacts to the transitions Pacemaker announces (docs/design.md §3). Notify failures are
// only logged by Pacemaker, so everything here is best effort and returns nil.
func (r *replica) notify(ctx context.Context) error {
	n := r.a.Env.Notify
	switch n.Type + "-" + n.Operation {
	case "pre-promote":
		r.prePromoteGuard(ctx)
	case "pre-start":
		r.publishCatchUpTargets(ctx, n.Start)
	case "post-promote":
		_ = r.pub.remove(ctx, r.self, r.names.PrePromotePosition())
		_ = r.pub.remove(ctx, r.self, r.names.XlogLoc())
		_ = r.pub.remove(ctx, r.self, r.names.XlogTimeline())
		_ = safefs.Remove(electionStateFile(r.c.TmpDir))
		if !Has(n.Promote, r.self) {
			r.forgetFollowedPromotion()
			r.unlockIfHandedOver(ctx)
			_ = r.pub.remove(ctx, r.self, r.names.MasterBaseline())
			r.reconnectReceiver(ctx)
			r.openReceiverWakeWindow(time.Now())
		}
	case "post-start", "post-stop":
		var stopped []string
		if n.Operation == "stop" {
			stopped = n.Stop
		}
		if pm, err := pgctl.FindPostmaster(r.c.PgData); err == nil && pm.Running {
			if err := r.controlStandbysNow(ctx, stopped); err != nil {
				r.a.Log.Warn("notify: cannot update the standbys' state", "error", err)
			}
		}
	}
	return nil
}

// publishCatchUpTargets: on the primary, the pre-start notification gives every node about to
// start the primary's current position (see CatchUpTarget).
func (r *replica) publishCatchUpTargets(ctx context.Context, starting []string) {
	st, err := r.localState(ctx)
	if err != nil || st.InRecovery {
		return
	}
	target := WALPoint{Timeline: st.Timeline, LSN: st.CurrentLSN}
	for _, node := range starting {
		if node == r.self {
			continue
		}
		if _, err := r.pub.set(ctx, node, r.names.CatchUpTarget(), target.Attribute()); err != nil {
			r.a.Log.Warn("cannot publish the catch-up target", "node", node, "error", err)
		}
	}
}
