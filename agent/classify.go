package agent

import (
	"fmt"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// ReplicationRow is one line of pg_stat_replication as the primary sees it.
type ReplicationRow = pgctl.ReplicationRow

// StandbyView is what the primary concludes about one other node of node_list: the
// attributes to publish for it.
type StandbyView struct {
	Node       string
	DataStatus string // <rsc>-data-status
	Score      string // promotion score
	Status     string // <rsc>-status; "" leaves it to the standby itself
	Reason     string
}

// Promotable reports whether the view lets the node be promoted.
func (v StandbyView) Promotable() bool { return v.Score != ScoreCannotPromote }

// catchUpBound is how far (bytes of WAL) behind the primary's position an asynchronous
// standby may be and still be promotable: one WAL segment. A WAL receiver reports
// "streaming" from its first byte, and the walsender's "streaming" state only says the
// standby caught up once; the distance is what tells (docs/design.md, invariant I1).
const catchUpBound = 16 << 20

// SyncConfirm is what the primary knows about the standby rep_mode.conf names: when it can be
// trusted to hold every commit the primary has acknowledged (docs/design.md, "Sync mode").
// A newly named standby may lack commits acknowledged before it was named (through the
// standby named before it, or by nobody while no standby was named). When PostgreSQL first
// reports it synchronous, the primary runs a CHECKPOINT (PrimaryPlan.Checkpoint) before
// arming it: whether commits wait at all is decided by a flag only the checkpointer updates
// when it handles the reload, which a busy checkpointer may do late, while the walsender
// already reports "sync" (issue #10 review); a checkpoint requested now starts only after the
// checkpointer went through its loop, so it has handled the reload. From then on every commit
// waits for the standby. At the next round the primary's position is recorded (From), and the
// standby is promotable once it has flushed that far: every commit acknowledged before then
// lies below From.
type SyncConfirm struct {
	Node  string    `json:"node"`
	Armed bool      `json:"armed"`
	From  pgctl.LSN `json:"from"`
}

// PrimaryFacts is one round of the primary's observation of its standbys.
type PrimaryFacts struct {
	Mode       RepMode
	Nodes      []string // node_list without the primary, in node_list order
	NodeCount  int      // len(node_list)
	CurrentLSN pgctl.LSN
	Rows       []ReplicationRow // read after CurrentLSN
	SyncNamed  string           // sync mode: the standby rep_mode.conf names ("" none)
	Confirm    SyncConfirm      // sync mode: remembered from earlier rounds
	MaxLag     uint64           // max_lag: bytes a promotable standby may be behind (0: off)
	NoPromote  []string         // no_promote_nodes: never promotable, never named synchronous
}

// PrimaryPlan is what the primary does about its standbys this round.
type PrimaryPlan struct {
	Views     []StandbyView
	SyncNamed string      // sync mode: the standby rep_mode.conf must name
	Confirm   SyncConfirm // sync mode: what to remember
	// Checkpoint: Confirm arms the named standby, which holds only once a CHECKPOINT
	// completed; without one, remember the confirmation as it was.
	Checkpoint bool
}

// StaleWalSenders are the walsenders the primary ends after a post-stop notification: those of
// the nodes whose instances Pacemaker reports stopped, when the cluster fences
// (docs/design.md, "A stopped standby's walsender"). A node lost without closing its
// connections (a power cut, then fenced) keeps its walsender, reported streaming, until
// wal_sender_timeout (60 s by default); when it was the synchronous standby every commit
// waits for it that long. With fencing, Pacemaker reports a lost node's instance stopped
// only once the node is fenced; without, the stop is assumed and the node may still run on
// the other side of a partition: nothing is ended, commits wait as before. Ending one decides
// nothing else: the row goes, and the primary's rules lower the node before naming another
// (I4).
//
// Each row's own node must be shown fenced in view (ShownFenced): stonith-enabled is the
// cluster's, but Pacemaker orders a lost node's implied stop, and so the post-stop
// notification, after its fence only for a resource that requires fencing; with
// requires=quorum (or nothing) the notification comes while the fence is pending or failing,
// and the node, still connected over a path the cluster lost, may be the one its side
// promotes (review 17). Judging the row's node, not a list drawn up earlier, also spares a
// standby that reconnected after the first read (review 19).
func StaleWalSenders(rows []ReplicationRow, stopped []string, self string, view crmattr.ClusterView) []ReplicationRow {
	if !view.StonithEnabled {
		return nil
	}
	var stale []ReplicationRow
	for _, row := range rows {
		if node := NodeName(row.ApplicationName); node != self && Has(stopped, node) && ShownFenced(view, node) {
			stale = append(stale, row)
		}
	}
	return stale
}

// StoppedWithWalSender are the nodes of stopped, other than self, that have a row in
// pg_stat_replication: those whose fence the primary asks crm_mon about.
func StoppedWithWalSender(rows []ReplicationRow, stopped []string, self string) []string {
	var nodes []string
	for _, row := range rows {
		if node := NodeName(row.ApplicationName); node != self && Has(stopped, node) && !Has(nodes, node) {
			nodes = append(nodes, node)
		}
	}
	return nodes
}

// ShownFenced: crm_mon shows node as a fence leaves it (review 18). Pacemaker 2.1.5 records a
// fence as join=down expected=down, the membership layer as in_ccm=false crmd=offline, and
// the fence erases the node's history: crm_mon shows it online="false" unclean="false", and
// only that counts. Unclean is a node lost and not fenced yet (or one whose history, not yet
// erased, shows a resource active there). Online is a node whose loss this node's replica of
// the CIB has not recorded yet: the loss is a diff of its own, and a replica that failed to
// apply one serves its old copy until the DC resyncs it, showing the node online and clean; a
// node that really stopped its instance and still runs shows the same, and its walsender
// closes with its connection. Absent is no record at all. A node element lacking either
// attribute reads online and unclean (crmattr.MonNode).
func ShownFenced(view crmattr.ClusterView, node string) bool {
	online, known := view.Online[node]
	return known && !online && !Has(view.Unclean, node)
}

// JudgeStandbys applies the primary's rules to every other node. In sync mode exactly one
// standby is named in synchronous_standby_names (naming several lets PostgreSQL acknowledge
// through one the agent has not judged: issue #10); it stays named while it streams, and when
// it stops streaming the first streaming standby in node_list order replaces it. Only the named
// standby, once confirmed, is promotable.
func JudgeStandbys(f PrimaryFacts) PrimaryPlan {
	plan := PrimaryPlan{SyncNamed: f.SyncNamed, Confirm: f.Confirm}
	if f.Mode == RepSync {
		plan.SyncNamed, plan.Confirm = nextSyncStandby(f)
		plan.Checkpoint = plan.Confirm.Armed && !f.Confirm.Armed
	}
	for _, node := range f.Nodes {
		plan.Views = append(plan.Views, limitPromotion(classify(node, f, plan), f))
	}
	return plan
}

// limitPromotion applies max_lag and no_promote_nodes (issue #13 §4, docs/design.md §4a) to a
// view that is otherwise promotable. They only ever lower the score: status and data-status
// stay what the replication row says, so a reporting replica still shows HS:async.
func limitPromotion(v StandbyView, f PrimaryFacts) StandbyView {
	if !v.Promotable() {
		return v
	}
	if Has(f.NoPromote, v.Node) {
		v.Score, v.Reason = ScoreCannotPromote, v.Reason+"; but in no_promote_nodes: never promoted"
		return v
	}
	if row := findRow(f.Rows, v.Node); f.MaxLag > 0 && row != nil && Lag(f.CurrentLSN, row.FlushLSN) > f.MaxLag {
		v.Score = ScoreCannotPromote
		v.Reason = fmt.Sprintf("%s; but %d bytes behind (flushed %s, primary at %s), more than max_lag=%d",
			v.Reason, Lag(f.CurrentLSN, row.FlushLSN), row.FlushLSN, f.CurrentLSN, f.MaxLag)
	}
	return v
}

// Lag is how many bytes of WAL position at lacks of primary (0 when it is not behind: a
// flush position read after the primary's may be past it).
func Lag(primary, at pgctl.LSN) uint64 {
	if at >= primary {
		return 0
	}
	return uint64(primary - at)
}

func findRow(rows []ReplicationRow, node string) *ReplicationRow {
	for i := range rows {
		if NodeName(rows[i].ApplicationName) == node {
			return &rows[i]
		}
	}
	return nil
}

func isStreaming(row *ReplicationRow) bool {
	return row != nil && strings.EqualFold(row.State, "STREAMING")
}

// nextSyncStandby picks the standby to name and advances its confirmation.
// A node of no_promote_nodes is never named (docs/design.md §4a): a synchronous standby that can
// never be promoted would make commits wait for a node that cannot take over, and being the
// one named it would keep every promotable standby from being confirmed.
func nextSyncStandby(f PrimaryFacts) (string, SyncConfirm) {
	named := f.SyncNamed
	if !isStreaming(findRow(f.Rows, named)) || Has(f.NoPromote, named) {
		named = ""
		for _, node := range f.Nodes {
			if isStreaming(findRow(f.Rows, node)) && !Has(f.NoPromote, node) {
				named = node
				break
			}
		}
	}
	if named == "" {
		return "", SyncConfirm{}
	}
	confirm := f.Confirm
	if named != f.SyncNamed || confirm.Node != named {
		return named, SyncConfirm{Node: named}
	}
	row := findRow(f.Rows, named)
	switch {
	case !strings.EqualFold(row.SyncState, "SYNC"):
		confirm = SyncConfirm{Node: named}
	case !confirm.Armed:
		confirm.Armed = true
	case confirm.From == 0:
		confirm.From = f.CurrentLSN
	}
	return named, confirm
}

// classify is the view of one node (its rows as in the shell agent's table, with the
// stricter promotability rules of docs/design.md).
func classify(node string, f PrimaryFacts, plan PrimaryPlan) StandbyView {
	v := StandbyView{Node: node, Score: ScoreCannotPromote}
	row := findRow(f.Rows, node)
	if row == nil {
		// HS:alone as the shell agent's standby writes it for itself on seeing DISCONNECT;
		// written here too, since a standby whose receiver still says "streaming" (a pg_wal
		// that is full, a stream cut on the primary's side) does not look.
		v.DataStatus, v.Status, v.Reason = dataDisconnect, StatusAlone, "not connected to the primary"
		return v
	}
	state, syncState := strings.ToUpper(row.State), strings.ToUpper(row.SyncState)
	v.DataStatus = state + "|" + syncState
	if state != "STREAMING" {
		v.Status, v.Reason = StatusConnected, "connected but "+strings.ToLower(state)+", not streaming"
		return v
	}
	switch syncState {
	case "SYNC":
		if f.Mode != RepSync || node != plan.SyncNamed {
			v.Status = StatusPotential
			v.Reason = "synchronous, but not the standby the agent named"
			return v
		}
		if c := plan.Confirm; c.Node != node || c.From == 0 || row.FlushLSN < c.From {
			// Not yet known to hold what was acknowledged before it was named: shown as
			// asynchronous, so the master-less election does not count it either.
			v.DataStatus, v.Status = dataStreamingAsyn, StatusAsync
			v.Reason = "synchronous since recently; not yet known to hold every acknowledged commit"
			return v
		}
		v.Status, v.Score, v.Reason = StatusSync, ScoreCanPromote, "streaming, synchronous"
	case "QUORUM":
		v.Status = StatusPotential
		v.Reason = "streaming in a quorum: may lack commits the other quorum members acknowledged"
	case "ASYNC":
		v.Status = StatusAsync
		switch {
		case f.Mode == RepSync:
			v.Reason = "streaming asynchronously in rep_mode=sync: may lack acknowledged commits"
		case f.NodeCount > 2:
			v.Reason = "streaming asynchronously with more than two nodes: the newest standby is not known"
		case row.FlushLSN == 0 || row.FlushLSN+catchUpBound < f.CurrentLSN:
			v.Reason = fmt.Sprintf("streaming but behind: flushed %s, primary at %s", row.FlushLSN, f.CurrentLSN)
		default:
			v.Score, v.Reason = ScoreCanPromote, "streaming asynchronously (two nodes), caught up"
		}
	case "POTENTIAL":
		v.Status = StatusPotential
		v.Reason = "streaming, potential synchronous standby"
	default:
		v.Status, v.Reason = StatusConnected, "streaming with unknown sync_state "+syncState
	}
	return v
}

// WithinMaxLag: a standby's own evidence at start (received WAL against the primary's WAL end
// as its walsender last reported it) keeps within max_lag; with max_lag set, an unreported end
// does not count as within it (issue #13 §4).
func WithinMaxLag(maxLag uint64, received, primaryEnd pgctl.LSN) bool {
	return maxLag == 0 || (primaryEnd != 0 && Lag(primaryEnd, received) <= maxLag)
}
