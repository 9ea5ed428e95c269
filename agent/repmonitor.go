package agent

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"time"

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
	st, err := r.localState(ctx)
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
		if err := r.monitorPrimary(ctx); err != nil {
			return err
		}
		return stateAnswer(RunningPromoted)
	}
	if err := r.standbySelf(ctx, st); err != nil {
		return fail(ErrGeneric, err, "monitor: cannot publish the standby's state")
	}
	if !st.Streaming() {
		r.noPrimaryInSight(ctx, st)
	}
	return nil
}

func (r *replica) publishReceiver(ctx context.Context, st pgctl.LocalState) {
	value := receiverError
	switch {
	case !st.InRecovery:
		value = receiverPrimary
	case st.ReceiverConnected:
		value = receiverNormal
	}
	if _, err := r.pub.set(ctx, r.self, r.names.ReceiverStatus(), value, crmattr.Reboot); err != nil {
		r.a.Log.Warn("cannot set the receiver status", "error", err)
	}
}

// monitorPrimary runs the admin's monitor query (when changed from the default), publishes
// the primary's own state and what it sees of every standby.
func (r *replica) monitorPrimary(ctx context.Context) error {
	if p, _ := metadata.Lookup("monitor_sql"); r.c.MonitorSQL != p.Default {
		if err := query(ctx, r.c.monitorConn(r.sys.Owner), r.c.MonitorSQL); err != nil {
			return fail(ErrGeneric, err, "monitor: the primary failed monitor_sql")
		}
	}
	if err := r.primarySelf(ctx); err != nil {
		return fail(ErrGeneric, err, "monitor: cannot publish the primary's state")
	}
	return r.controlStandbys(ctx)
}

// primarySelf publishes that this node is the primary.
func (r *replica) primarySelf(ctx context.Context) error {
	if _, err := r.pub.set(ctx, r.self, r.names.DataStatus(), dataLatest, crmattr.Forever); err != nil {
		return err
	}
	if err := r.setStatus(ctx, r.self, StatusPrimary); err != nil {
		return err
	}
	_, err := r.pub.score(ctx, r.self, ScorePromoteMe)
	return err
}

// controlStandbys applies the primary's view of every other node (REFERENCE §5.2).
func (r *replica) controlStandbys(ctx context.Context) error {
	conn, err := r.connect(ctx)
	if err != nil {
		return fail(ErrGeneric, err, "monitor: the primary does not answer")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := pgctl.QueryReplication(ctx, conn)
	if err != nil {
		return fail(ErrGeneric, err, "monitor: the primary cannot read pg_stat_replication")
	}
	var views []StandbyView
	for _, node := range r.others() {
		v := ClassifyStandby(node, rows, r.c.RepMode, len(r.c.NodeList))
		views = append(views, v)
		r.publishStandby(ctx, v)
	}
	if r.c.RepMode == RepSync {
		if changed, err := r.applySyncChoice(views); err != nil {
			return fail(ErrGeneric, err, "monitor: cannot update %s", pgctl.RepModeFile(r.c.TmpDir))
		} else if changed {
			if err := pgctl.Reload(ctx, conn); err != nil {
				return fail(ErrGeneric, err, "monitor: cannot reload the configuration")
			}
		}
	}
	return nil
}

// publishStandby writes one standby's attributes as the primary sees them. A node whose own
// status is STOP or UNKNOWN keeps it (only a node itself leaves those: its agent may know
// PostgreSQL is unusable there), and a node's score is never created by another node.
func (r *replica) publishStandby(ctx context.Context, v StandbyView) {
	if _, err := r.pub.set(ctx, v.Node, r.names.DataStatus(), v.DataStatus, crmattr.Forever); err != nil {
		r.a.Log.Warn("cannot set data-status", "node", v.Node, "error", err)
		return
	}
	scoreName := crmattr.PromotionAttrName(r.a.Env.Resource())
	if _, found, err := r.pub.current(ctx, v.Node, scoreName, crmattr.Reboot); err == nil && found {
		if changed, err := r.pub.score(ctx, v.Node, v.Score); err != nil {
			r.a.Log.Warn("cannot set a score", "node", v.Node, "error", err)
		} else if changed {
			r.a.Log.Info("standby promotability changed", "node", v.Node, "score", v.Score, "why", v.Reason)
		}
	}
	if v.Status == "" {
		return
	}
	current, found, err := r.pub.current(ctx, v.Node, r.names.Status(), crmattr.Reboot)
	if err != nil || !found || current == StatusStopped || current == StatusUnknown {
		return
	}
	if err := r.setStatus(ctx, v.Node, v.Status); err != nil {
		r.a.Log.Warn("cannot set status", "node", v.Node, "error", err)
	}
}

// applySyncChoice keeps rep_mode.conf listing the standbys that stream, the synchronous
// one first (it stays first while it streams), the others after it in node_list order as
// "potential": PostgreSQL then has exactly one synchronous standby and switches to the next
// by itself the moment it goes. A standby that stops streaming leaves the list; with none
// left the list is empty, so commits never wait for a standby that is gone. It reports
// whether the file changed.
func (r *replica) applySyncChoice(views []StandbyView) (bool, error) {
	current := pgctl.ReadSyncStandbys(r.c.TmpDir)
	streaming := map[string]bool{}
	for _, v := range views {
		streaming[v.Node] = v.Sync != syncDropIfNamed
	}
	want := SyncStandbyOrder(current, views, streaming)
	if slices.Equal(current, want) {
		return false, nil
	}
	r.a.Log.Info("synchronous standbys changed", "from", strings.Join(current, ","), "to", strings.Join(want, ","))
	return pgctl.WriteFileAtomic(pgctl.RepModeFile(r.c.TmpDir), pgctl.RenderSyncStandbys(want...), 0o600, r.sys.Owner)
}

// SyncStandbyOrder is the list rep_mode.conf should hold: the current first name while it
// streams, then every other streaming standby in the order of views (node_list order).
func SyncStandbyOrder(current []string, views []StandbyView, streaming map[string]bool) []string {
	var want []string
	if len(current) > 0 && streaming[current[0]] {
		want = append(want, current[0])
	}
	for _, v := range views {
		if streaming[v.Node] && !slices.Contains(want, v.Node) {
			want = append(want, v.Node)
		}
	}
	return want
}

// standbySelf publishes what a standby can tell about itself. In async mode with at most
// two nodes a streaming standby is promotable on its own evidence (its WAL receiver streams),
// so a primary lost right after the standby (re)joined is still replaced at once: it does not
// depend on a primary monitor that may never run again. A probe that finds a standby not
// streaming gives it -INFINITY until a primary vouches for it.
func (r *replica) standbySelf(ctx context.Context, st pgctl.LocalState) error {
	if st.Streaming() && r.c.RepMode == RepAsync && len(r.c.NodeList) <= 2 {
		if _, err := r.pub.set(ctx, r.self, r.names.DataStatus(), dataStreamingAsyn, crmattr.Forever); err != nil {
			return err
		}
		_, err := r.pub.score(ctx, r.self, ScoreCanPromote)
		return err
	}
	if r.a.Env.IsProbe() {
		_, err := r.pub.score(ctx, r.self, ScoreCannotPromote)
		return err
	}
	return nil
}

// noPrimaryInSight handles a standby that does not stream: if a primary runs elsewhere the
// standby only reports itself alone when the primary has written it off; if none runs, the
// standbys elect the one with the newest data.
func (r *replica) noPrimaryInSight(ctx context.Context, st pgctl.LocalState) {
	view, err := crmattr.ReadClusterView(ctx, r.a.Tools, r.a.Env.Resource())
	if err != nil {
		r.a.Log.Warn("cannot read the cluster state", "error", err)
		return
	}
	dataStatus, _, _ := r.pub.current(ctx, r.self, r.names.DataStatus(), crmattr.Forever)
	if len(view.Promoted) > 0 {
		primaryElsewhere := slices.ContainsFunc(view.Promoted, func(n string) bool { return n != r.self })
		r.wakeReceiverAgain(ctx, st, primaryElsewhere)
		if dataStatus == dataDisconnect {
			_ = r.setStatus(ctx, r.self, StatusAlone)
		}
		return
	}
	_ = r.setStatus(ctx, r.self, StatusAlone)
	if !ElectionEligible(r.c.RepMode, dataStatus) {
		r.a.Log.Debug("not taking part in the election", "data_status", dataStatus)
		return
	}
	r.electionRound(ctx, st)
}

// electionRound publishes this node's position, compares it with the others' and, once the
// positions have been stable long enough, claims or renounces promotion.
func (r *replica) electionRound(ctx context.Context, st pgctl.LocalState) {
	own := Position{Timeline: st.Timeline, LSN: uint64(st.Position())}
	if _, err := r.pub.set(ctx, r.self, r.names.XlogLoc(), pgctl.LSN(own.LSN).Attribute(), crmattr.Reboot); err != nil {
		r.a.Log.Warn("cannot publish the WAL position", "error", err)
		return
	}
	if _, err := r.pub.set(ctx, r.self, r.names.XlogTimeline(), formatTimeline(own.Timeline), crmattr.Reboot); err != nil {
		r.a.Log.Warn("cannot publish the timeline", "error", err)
		return
	}
	in := ElectionInput{Self: r.self, NodeOrder: r.c.NodeList, CheckCount: r.c.XlogCheckCount,
		Published: map[string]Position{r.self: own}, LastLatest: map[string]bool{}}
	for _, node := range r.c.NodeList {
		if status, found, _ := r.a.Attrs.Get(ctx, node, r.names.DataStatus(), crmattr.Forever); found && status == dataLatest {
			in.LastLatest[node] = true
		}
		if node == r.self {
			continue
		}
		if p, ok := r.publishedPosition(ctx, node); ok {
			in.Published[node] = p
		}
	}
	statePath := filepath.Join(r.c.TmpDir, "election.json")
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
		_, _ = r.pub.set(ctx, r.self, r.names.DataStatus(), dataDisconnect, crmattr.Forever)
	default:
		r.a.Log.Debug("election", "why", why)
	}
}

// XlogTimeline is published beside xlog-loc so the election compares timelines first.
func (n attrNames) XlogTimeline() string { return n.resource + "-xlog-tli" }

func (r *replica) publishedPosition(ctx context.Context, node string) (Position, bool) {
	loc, found, err := r.a.Attrs.Get(ctx, node, r.names.XlogLoc(), crmattr.Reboot)
	if err != nil || !found {
		return Position{}, false
	}
	lsn, err := pgctl.ParseAttributeLSN(loc)
	if err != nil {
		return Position{}, false
	}
	p := Position{LSN: uint64(lsn)}
	if tli, found, _ := r.a.Attrs.Get(ctx, node, r.names.XlogTimeline(), crmattr.Reboot); found {
		p.Timeline = parseTimeline(tli)
	}
	return p, true
}

// notify reacts to the transitions Pacemaker announces (REFERENCE §6). Notify failures are
// only logged by Pacemaker, so everything here is best effort and returns nil.
func (r *replica) notify(ctx context.Context) error {
	n := r.a.Env.Notify
	switch n.Type + "-" + n.Operation {
	case "pre-promote":
		r.prePromoteGuard(ctx)
	case "post-promote":
		_ = r.pub.remove(ctx, r.self, r.names.PrePromotePosition(), crmattr.Reboot)
		_ = r.pub.remove(ctx, r.self, r.names.XlogLoc(), crmattr.Reboot)
		_ = r.pub.remove(ctx, r.self, r.names.XlogTimeline(), crmattr.Reboot)
		_ = safefs.Remove(filepath.Join(r.c.TmpDir, "election.json"))
		if !Has(n.Promote, r.self) {
			_ = r.pub.remove(ctx, r.self, r.names.MasterBaseline(), crmattr.Reboot)
			r.reconnectReceiver(ctx)
			r.openReceiverWakeWindow(time.Now())
		}
	case "post-start", "post-stop":
		if pm, err := pgctl.FindPostmaster(r.c.PgData); err == nil && pm.Running {
			if st, err := r.localState(ctx); err == nil && !st.InRecovery {
				if err := r.controlStandbys(ctx); err != nil {
					r.a.Log.Warn("notify: cannot update the standbys' state", "error", err)
				}
			}
		}
	}
	return nil
}
