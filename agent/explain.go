package agent

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// `pgsql-ra explain` (issue #13 §2): what an admin asks of a node, answered from the same
// facts and the same pure decisions the actions use (docs/design.md §2), without changing
// anything. ExplainFacts are gathered by explainFacts (explain_gather.go); Explain turns them
// into an Explanation, a pure function with golden-file tests; the text and the JSON are two
// renderings of that one Explanation.

// ExplainFacts is everything explain looked at on this node.
type ExplainFacts struct {
	Resource string
	Node     string
	Config   Config
	// ConfigProblems are the parameter problems validate-all would report; Problems are
	// facts that could not be gathered (each makes some answer "unknown").
	ConfigProblems []string
	Problems       []string

	Running bool
	PID     int
	State   *pgctl.LocalState  // nil: PostgreSQL not running or did not answer
	Control *pgctl.ControlData // nil: not read (PostgreSQL running, or pg_controldata failed)
	// WALEnd is the rejoin evidence of a stopped node (rejoinfacts.go walEnd, read-only: the
	// control data, pg_waldump, the timeline history); nil: not read (PostgreSQL running).
	WALEnd *WALEnd

	// The primary's side: pg_stat_replication (read after State.CurrentLSN), rep_mode.conf's
	// name and the recorded confirmation (sync mode).
	Rows      []ReplicationRow
	RowsRead  bool
	SyncNamed string
	Confirm   SyncConfirm

	// Attrs: node → attribute name → what was read.
	Attrs map[string]map[string]AttrRead

	Locked  bool
	Lock    LockInfo
	LockErr string

	Promoted     []string // where Pacemaker runs the resource promoted (crm_mon)
	PromotedRead bool
}

// Explanation is explain's output; --json prints it as it is.
type Explanation struct {
	Resource       string            `json:"resource"`
	Node           string            `json:"node"`
	RepMode        string            `json:"rep_mode"`
	NodeList       []string          `json:"node_list"`
	NoPromoteNodes []string          `json:"no_promote_nodes"`
	MaxLag         uint64            `json:"max_lag"`
	Role           string            `json:"role"` // primary, standby, stopped, unknown
	PostgreSQL     ExplainServer     `json:"postgresql"`
	Standbys       []ExplainStandby  `json:"standbys"` // the primary's view; empty elsewhere
	SyncNamed      string            `json:"sync_standby,omitempty"`
	Attributes     []ExplainNodeAttr `json:"attributes"`
	Promoted       []string          `json:"promoted_by_pacemaker"`
	Lock           ExplainLock       `json:"lock"`
	Answers        []Answer          `json:"answers"`
	ConfigProblems []string          `json:"config_problems"`
	Problems       []string          `json:"problems"`
}

// ExplainServer is the local PostgreSQL as explain saw it. LSNs are in PostgreSQL's X/X form.
type ExplainServer struct {
	Running          bool   `json:"running"`
	PID              int    `json:"pid,omitempty"`
	Timeline         uint32 `json:"timeline,omitempty"`
	CurrentLSN       string `json:"current_lsn,omitempty"`  // primary: write position
	ReplayLSN        string `json:"replay_lsn,omitempty"`   // standby
	ReceiveLSN       string `json:"receive_lsn,omitempty"`  // standby: received and flushed
	PrimaryEndLSN    string `json:"primary_end,omitempty"`  // standby: the primary's WAL end as last reported
	BehindBytes      uint64 `json:"behind_bytes,omitempty"` // standby: PrimaryEndLSN - ReceiveLSN
	Receiver         string `json:"wal_receiver,omitempty"`
	ControlState     string `json:"control_state,omitempty"` // stopped: pg_controldata
	CheckpointLSN    string `json:"checkpoint_lsn,omitempty"`
	CheckpointTLI    uint32 `json:"checkpoint_timeline,omitempty"`
	WALEnd           string `json:"wal_end,omitempty"` // stopped: the rejoin evidence
	SyncStandbyNames string `json:"synchronous_standby_names,omitempty"`
}

// ExplainStandby is one line of the primary's view: the pg_stat_replication row and what
// JudgeStandbys concludes from it now (what the primary's next monitor would publish).
type ExplainStandby struct {
	Node       string `json:"node"`
	State      string `json:"state"`
	SyncState  string `json:"sync_state"`
	FlushLSN   string `json:"flush_lsn"`
	LagBytes   uint64 `json:"lag_bytes"`
	DataStatus string `json:"data_status"`
	Score      string `json:"score"`
	Promotable bool   `json:"promotable"`
	Reason     string `json:"reason"`
}

// ExplainNodeAttr is every catalogue attribute of one node_list member (docs/design.md §6);
// absent attributes are left out, unreadable ones say "(unreadable: ...)".
type ExplainNodeAttr struct {
	Node   string            `json:"node"`
	Values map[string]string `json:"values"`
}

// ExplainLock is PGSQL.lock.
type ExplainLock struct {
	Path    string            `json:"path"`
	Present bool              `json:"present"`
	Fields  map[string]string `json:"fields,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// Answer is one question an admin asks, answered in a sentence.
type Answer struct {
	Question string `json:"question"`
	Verdict  string `json:"verdict"` // yes, no, unknown
	Because  string `json:"because"`
	Fix      string `json:"to_clear,omitempty"`
}

// The questions.
const (
	QuestionPromotable = "promotable"
	QuestionStart      = "start would be refused"
	QuestionRejoin     = "would rejoin automatically"
)

// Explain is the pure function from gathered facts to the explanation.
func Explain(f ExplainFacts) Explanation {
	c := f.Config
	e := Explanation{Resource: f.Resource, Node: f.Node, RepMode: string(c.RepMode), NodeList: nonNil(c.NodeList),
		NoPromoteNodes: nonNil(c.NoPromoteNodes), MaxLag: c.MaxLag, Role: explainRole(f),
		Promoted: nonNil(f.Promoted), ConfigProblems: nonNil(f.ConfigProblems), Problems: nonNil(f.Problems),
		Standbys: []ExplainStandby{}, Attributes: []ExplainNodeAttr{}}
	e.PostgreSQL = explainServer(f)
	e.Lock = ExplainLock{Path: LockFile(c.TmpDir), Present: f.Locked, Error: f.LockErr}
	if f.Locked {
		e.Lock.Fields = f.Lock.Fields
	}
	if e.Role == "primary" && f.RowsRead {
		plan := JudgeStandbys(explainPrimaryFacts(f))
		e.SyncNamed = plan.SyncNamed
		for _, v := range plan.Views {
			s := ExplainStandby{Node: v.Node, DataStatus: v.DataStatus, Score: v.Score, Promotable: v.Promotable(), Reason: v.Reason}
			if row := findRow(f.Rows, v.Node); row != nil {
				s.State, s.SyncState, s.FlushLSN = row.State, row.SyncState, row.FlushLSN.String()
				s.LagBytes = Lag(f.State.CurrentLSN, row.FlushLSN)
			}
			e.Standbys = append(e.Standbys, s)
		}
	}
	for _, node := range c.NodeList {
		values := map[string]string{}
		for name, read := range f.Attrs[node] {
			switch {
			case read.Err != nil:
				values[name] = "(unreadable: " + read.Err.Error() + ")"
			case read.Found:
				values[name] = read.Value
			}
		}
		e.Attributes = append(e.Attributes, ExplainNodeAttr{Node: node, Values: values})
	}
	e.Answers = []Answer{explainPromotable(f, e), explainStart(f, e), ExplainRejoin(f)}
	return e
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func explainRole(f ExplainFacts) string {
	switch {
	case !f.Running:
		return "stopped"
	case f.State == nil:
		return "unknown"
	case f.State.InRecovery:
		return "standby"
	}
	return "primary"
}

func explainServer(f ExplainFacts) ExplainServer {
	s := ExplainServer{Running: f.Running, PID: f.PID}
	if st := f.State; st != nil {
		s.Timeline, s.Receiver, s.SyncStandbyNames = st.Timeline, st.ReceiverStatus, st.SyncStandbyNames
		if st.InRecovery {
			s.ReplayLSN, s.ReceiveLSN = lsnText(st.ReplayLSN), lsnText(st.ReceiveLSN)
			if st.PrimaryEndLSN != 0 {
				s.PrimaryEndLSN, s.BehindBytes = st.PrimaryEndLSN.String(), Lag(st.PrimaryEndLSN, st.ReceiveLSN)
			}
		} else {
			s.CurrentLSN = st.CurrentLSN.String()
		}
	}
	if cd := f.Control; cd != nil {
		s.ControlState, s.CheckpointLSN, s.CheckpointTLI = cd.State, cd.CheckpointLSN.String(), cd.CheckpointTLI
	}
	if f.WALEnd != nil {
		s.WALEnd = f.WALEnd.String()
	}
	return s
}

func lsnText(l pgctl.LSN) string {
	if l == 0 {
		return "none"
	}
	return l.String()
}

func explainPrimaryFacts(f ExplainFacts) PrimaryFacts {
	c := f.Config
	var others []string
	for _, n := range c.NodeList {
		if n != f.Node {
			others = append(others, n)
		}
	}
	return PrimaryFacts{Mode: c.RepMode, Nodes: others, NodeCount: len(c.NodeList), CurrentLSN: f.State.CurrentLSN,
		Rows: f.Rows, SyncNamed: f.SyncNamed, Confirm: f.Confirm, MaxLag: c.MaxLag, NoPromote: c.NoPromoteNodes}
}

// attr is what was read of one of node's attributes.
func (f ExplainFacts) attr(node string, a Attr) AttrRead { return f.Attrs[node][a.Name] }

func (f ExplainFacts) names() attrNames { return attrNames{resource: f.Resource} }

// dataStatuses is every node_list member's data-status, nil when one could not be read (as
// replica.dataStatuses).
func (f ExplainFacts) dataStatuses() map[string]string {
	out := map[string]string{}
	for _, node := range f.Config.NodeList {
		read := f.attr(node, f.names().DataStatus())
		if read.Err != nil || f.Attrs[node] == nil {
			return nil
		}
		out[node] = read.Value
	}
	return out
}

func explainPromotable(f ExplainFacts, e Explanation) Answer {
	a := Answer{Question: QuestionPromotable, Verdict: "no"}
	c := f.Config
	score := f.attr(f.Node, f.names().Score())
	dataStatus := f.attr(f.Node, f.names().DataStatus()).Value
	switch {
	case !c.RepMode.Replicated():
		a.Because = fmt.Sprintf("rep_mode=%s is not a promotable clone", c.RepMode)
	case Has(c.NoPromoteNodes, f.Node):
		a.Because = "this node is in no_promote_nodes: it is never promoted (a promote here fails)"
		a.Fix = "remove it from no_promote_nodes"
	case e.Role == "stopped":
		a.Because = "PostgreSQL is not running here; only a running standby is promoted"
		a.Fix = "start the resource on this node (crm resource cleanup), subject to the start answer below"
	case e.Role == "unknown":
		a.Verdict, a.Because = "unknown", "PostgreSQL runs but did not answer"
	case e.Role == "primary":
		a.Verdict, a.Because = "yes", "this node is the primary (it publishes score 1000 while it runs)"
	case score.Err != nil:
		a.Verdict, a.Because = "unknown", "its promotion score cannot be read: "+score.Err.Error()
	case score.Found && score.Value != ScoreCannotPromote:
		a.Verdict = "yes"
		if score.Value == ScorePromoteMe {
			a.Because = "its score is 1000: it claimed promotion (the last primary at start, or the election with no primary)"
		} else {
			a.Because = fmt.Sprintf("its score is %s: the primary vouched for it (data-status %s)", score.Value, orNone(dataStatus))
		}
	default:
		a.Because = "its score is " + orNone(score.Value) + ": " + whyNotVouched(f, e, dataStatus)
	}
	return a
}

// whyNotVouched says, from a standby's own facts, why the primary gives it no score; the
// primary's exact reason is in the primary's log and its explain.
func whyNotVouched(f ExplainFacts, e Explanation, dataStatus string) string {
	c, st := f.Config, f.State
	switch {
	case dataStatus == dataDisconnect:
		return "the primary (or a promote) marked it DISCONNECT: it has not been seen streaming since"
	case c.RepMode == RepAsync && len(c.NodeList) > 2:
		return "rep_mode=async with more than two nodes: the primary cannot know which standby is newest and vouches for none"
	case c.RepMode == RepSync && dataStatus != dataStreamingSync:
		return fmt.Sprintf("rep_mode=sync: only the confirmed synchronous standby is promotable, and its data-status is %s", orNone(dataStatus))
	case !st.Streaming():
		return fmt.Sprintf("its WAL receiver is not streaming (status %s)", orNone(st.ReceiverStatus))
	case c.MaxLag > 0 && st.PrimaryEndLSN != 0 && e.PostgreSQL.BehindBytes > c.MaxLag:
		return fmt.Sprintf("it is %d bytes behind the primary's WAL end as last reported (%s), more than max_lag=%d",
			e.PostgreSQL.BehindBytes, st.PrimaryEndLSN, c.MaxLag)
	case st.PrimaryEndLSN != 0 && e.PostgreSQL.BehindBytes > catchUpBound:
		return fmt.Sprintf("it is catching up: %d bytes behind the primary's WAL end as last reported (%s), more than one WAL segment",
			e.PostgreSQL.BehindBytes, st.PrimaryEndLSN)
	}
	return "the primary has not vouched for it yet (its next monitor decides; run explain on the primary for its view)"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func explainStart(f ExplainFacts, e Explanation) Answer {
	a := Answer{Question: QuestionStart, Verdict: "no"}
	c := f.Config
	lockPath := LockFile(c.TmpDir)
	switch {
	case len(f.ConfigProblems) > 0:
		a.Verdict, a.Because = "yes", "the parameters are invalid: "+f.ConfigProblems[0]
		a.Fix = "correct the parameter (pgsql-ra validate-all names every problem)"
		return a
	case !c.RepMode.Replicated():
		a.Because = fmt.Sprintf("rep_mode=%s takes no lock", c.RepMode)
		return a
	case e.Role == "primary":
		a.Verdict, a.Because = "yes", "PostgreSQL already runs here as the primary, not as a standby"
		if f.Locked {
			a.Because += fmt.Sprintf("; its %s (%s) is a primary's own and, once it stops, refuses a start until a demote hands over", lockPath, f.Lock)
		}
		a.Fix = "nothing to clear while it is the primary; a switchover (crm resource move) demotes it"
		return a
	case f.LockErr != "":
		a.Verdict, a.Because = "yes", fmt.Sprintf("%s cannot be read: %s", lockPath, f.LockErr)
		a.Fix = "make " + c.TmpDir + " readable by root"
		return a
	case e.Role == "stopped" && f.WALEnd != nil:
		// The start's own order (repactions.go start): the hand-over may lift a demote's
		// lock, then the rejoin evidence decides, lock or no lock.
		rj := explainRejoinPlan(f)
		switch {
		case rj.plan.Start && rj.handedOver:
			a.Because = fmt.Sprintf("%s exists, but the start would lift it: %s; the rejoin evidence: %s", lockPath, rj.unlockWhy, rj.plan.Why)
			return a
		case rj.plan.Start && rj.plan.Unlock:
			a.Because = fmt.Sprintf("%s exists, but the start would lift it on the rejoin evidence: %s", lockPath, rj.plan.Why)
			return a
		case rj.rewind.Rewind:
			a.Because = rj.rewinding(c)
			a.Fix = rj.fix(f, lockPath)
			return a
		case rj.lockedStandby:
			a.Because = rj.lockedStandbyStart(lockPath)
			return a
		case !rj.plan.Start:
			a.Verdict, a.Because, a.Fix = "yes", rj.refusal(lockPath), rj.fix(f, lockPath)
			return a
		}
	case f.Locked && e.Role == "standby" && f.State != nil && !f.State.Streaming() && f.PromotedRead && len(f.Promoted) == 0 &&
		f.Lock.Fields["event"] == lockEventPromoted && f.Lock.Fields["node"] == f.Node:
		// The locked standby of a dirty power cycle (docs/design.md §5 "A locked standby"):
		// it may hold the only copy of the latest commits; rebuilding it would discard them
		// (review 10).
		a.Verdict = "yes"
		a.Because = fmt.Sprintf("%s exists (%s) and PostgreSQL runs here as a locked standby that follows no primary: no primary runs, "+
			"so it takes part in the election and is promoted only if it wins; once a primary runs elsewhere its monitor fails and "+
			"the restart checks the rejoin evidence", lockPath, f.Lock)
		a.Fix = "nothing while no primary runs: the election promotes the node with the newest data; this node may hold the only " +
			"copy of the latest commits, so keep its data directory and its lock as they are"
		return a
	case f.Locked:
		ack := f.attr(f.Node, f.names().Handover())
		ok, why := MayUnlock(UnlockFacts{Self: f.Node, NodeList: c.NodeList, Lock: f.Lock, Ack: ack, DataStatus: f.dataStatuses()})
		if ok {
			a.Because = fmt.Sprintf("%s exists, but the start would lift it: %s", lockPath, why)
			return a
		}
		a.Verdict = "yes"
		a.Because = fmt.Sprintf("%s exists (%s) and %s", lockPath, f.Lock, why)
		if f.Lock.Fields["event"] == lockEventDemoted {
			a.Fix = fmt.Sprintf("it goes by itself once the next primary acknowledges this node's shutdown checkpoint (at that node's promotion); "+
				"otherwise make sure the primary holds this node's WAL up to %s, then remove %s", f.Lock.Fields["lsn"], lockPath)
		} else {
			a.Fix = fmt.Sprintf("this node may hold WAL the current primary lacks: rebuild it from the primary (pg_basebackup, or pg_rewind), then remove %s", lockPath)
		}
		return a
	case e.Role == "standby":
		a.Because = "no PGSQL.lock, and PostgreSQL already runs here as a standby: the start would adopt it"
		return a
	}
	a.Because = "no PGSQL.lock"
	statuses := f.dataStatuses()
	claim, why := false, "the data-status of every node cannot be read"
	if Has(c.NoPromoteNodes, f.Node) {
		why = "this node is in no_promote_nodes"
	} else if statuses != nil {
		claim, why = LastPrimaryMayClaim(f.Node, statuses, f.Control != nil && f.Control.State == "shut down")
	}
	if claim {
		a.Because += "; it would start as a standby and claim promotion at once: " + why
	} else {
		a.Because += "; it would start as a standby without claiming promotion: " + why
	}
	return a
}

// ExplainRejoin answers with the start's evidence-based rejoin decision (issue #13 §1,
// DecideRejoin on the same facts, in the start's order: the hand-over's MayUnlock first).
// The evidence is read only from a stopped server, as the start reads it.
func ExplainRejoin(f ExplainFacts) Answer {
	a := Answer{Question: QuestionRejoin, Verdict: "unknown"}
	c := f.Config
	lockPath := LockFile(c.TmpDir)
	switch {
	case !c.RepMode.Replicated():
		a.Verdict, a.Because = "no", fmt.Sprintf("rep_mode=%s is not a promotable clone: no rejoin decision", c.RepMode)
	case f.Running:
		a.Because = "PostgreSQL runs here: the rejoin evidence (where this node's WAL ends) is read from a stopped server, at its next start as a standby"
	case f.LockErr != "":
		a.Because = fmt.Sprintf("%s cannot be read: %s", lockPath, f.LockErr)
	case f.WALEnd == nil:
		a.Because = "this node's end of WAL was not read"
	default:
		rj := explainRejoinPlan(f)
		switch {
		case rj.plan.Start && rj.handedOver:
			a.Verdict, a.Because = "yes", fmt.Sprintf("the start would lift %s (%s) and start as a standby; the rejoin evidence: %s", lockPath, rj.unlockWhy, rj.plan.Why)
		case rj.plan.Start && rj.plan.Unlock:
			a.Verdict, a.Because = "yes", fmt.Sprintf("the start would lift %s on the evidence and start as a standby: %s", lockPath, rj.plan.Why)
		case rj.plan.Start:
			a.Verdict, a.Because = "yes", "no PGSQL.lock and the start would go on as a standby: "+rj.plan.Why
		case rj.rewind.Rewind:
			a.Verdict, a.Because = "yes", rj.rewinding(c)
		case rj.lockedStandby && Has(c.NoPromoteNodes, f.Node):
			// It never wins the election (DecideElection) and follows no primary while
			// locked: holding the newest data, nobody claims (docs/design.md §5 "A locked
			// standby", §4a; review 10).
			a.Verdict, a.Because = "no", rj.lockedStandbyStart(lockPath)+"; but this node is in no_promote_nodes: it never wins the election, "+
				"and while it holds the newest data no other node claims either"
			a.Fix = fmt.Sprintf("remove %s from no_promote_nodes so that the election can promote it, or rebuild it from the node an admin promotes and remove %s", f.Node, lockPath)
		case rj.lockedStandby:
			a.Verdict, a.Because = "yes", rj.lockedStandbyStart(lockPath)+"; it follows a primary only after a restart that the rejoin evidence allows"
		default:
			a.Verdict, a.Because, a.Fix = "no", rj.refusal(lockPath), rj.fix(f, lockPath)
		}
	}
	return a
}

// explainRejoin is the start's decision on a stopped node's facts.
type explainRejoin struct {
	plan       RejoinPlan
	handedOver bool   // MayUnlock lifted the lock first
	unlockWhy  string // MayUnlock's words
	locked     bool   // a lock exists after the hand-over's verdict
	// rewind: DecideRewind on a refusal on proof (rewind=auto); withAuto: what it would
	// decide with rewind=auto, for the answer's fix.
	rewind, withAuto RewindPlan
	// lockedStandby: a refusal that keeps the lock would instead run PostgreSQL as a standby
	// that follows no primary (MayRunLockedStandby, the start's default branch).
	lockedStandby    bool
	lockedStandbyWhy string
}

func explainRejoinPlan(f ExplainFacts) explainRejoin {
	c := f.Config
	var rj explainRejoin
	rj.locked = f.Locked
	if f.Locked {
		ok, why := MayUnlock(UnlockFacts{Self: f.Node, NodeList: c.NodeList, Lock: f.Lock, Ack: f.attr(f.Node, f.names().Handover()), DataStatus: f.dataStatuses()})
		rj.handedOver, rj.unlockWhy, rj.locked = ok, why, !ok
	}
	points := map[string]AttrRead{}
	for _, node := range c.NodeList {
		points[node] = f.attr(node, f.names().PromotePoint())
	}
	facts := RejoinFacts{Self: f.Node, AutoRejoin: c.AutoRejoin, Locked: rj.locked, Lock: f.Lock, Own: *f.WALEnd, Points: points}
	rj.plan = DecideRejoin(facts)
	if rj.plan.Proven {
		// The start's order (checkRejoin): DecideRewind on the same control data.
		rj.rewind = DecideRewind(RewindFacts{Mode: c.Rewind, Rejoin: facts, Plan: rj.plan, Control: f.Control})
		rj.withAuto = DecideRewind(RewindFacts{Mode: RewindAuto, Rejoin: facts, Plan: rj.plan, Control: f.Control})
		if c.Rewind == RewindAuto && !rj.rewind.Rewind {
			rj.plan.Why += "; " + rj.rewind.Why
		}
	}
	if !rj.plan.Start && !rj.plan.Lock && !rj.rewind.Rewind && rj.locked {
		lf := LockedStandbyFacts{Self: f.Node, AutoRejoin: c.AutoRejoin, Lock: f.Lock, Points: points,
			DataStatus: f.dataStatuses(), Promoted: f.Promoted}
		if !f.PromotedRead {
			lf.ViewErr = errors.New("crm_mon was not read")
		}
		rj.lockedStandby, rj.lockedStandbyWhy = MayRunLockedStandby(lf)
	}
	return rj
}

// lockedStandbyStart says what a start would do when it runs this node as a locked standby.
func (rj explainRejoin) lockedStandbyStart(lockPath string) string {
	return fmt.Sprintf("%s stays (%s), but %s; it is promoted only if it wins the election", lockPath, rj.plan.Why, rj.lockedStandbyWhy)
}

// rewinding says what a start with rewind=auto would do on proof of divergence.
func (rj explainRejoin) rewinding(c Config) string {
	return fmt.Sprintf("the evidence proves divergence (%s), and the start would run pg_rewind from the primary at master_ip %s, "+
		"remove %s and start as a standby (refused, the lock kept, only if pg_rewind fails): %s", rj.plan.Why, c.MasterIP, LockFile(c.TmpDir), rj.rewind.Why)
}

// refusal says why the start would be refused.
func (rj explainRejoin) refusal(lockPath string) string {
	switch {
	case rj.plan.Lock:
		return fmt.Sprintf("the start would be refused and take %s: %s", lockPath, rj.plan.Why)
	case rj.plan.Proven:
		return fmt.Sprintf("%s stays: %s", lockPath, rj.plan.Why)
	}
	return fmt.Sprintf("%s stays (%s): %s", lockPath, rj.unlockWhy, rj.plan.Why)
}

// fix says what clears a refusal.
func (rj explainRejoin) fix(f ExplainFacts, lockPath string) string {
	switch {
	case rj.rewind.Rewind:
		return fmt.Sprintf("if pg_rewind fails: rebuild this node from the primary (pg_basebackup), then remove %s", lockPath)
	case (rj.plan.Lock || rj.plan.Proven) && rj.withAuto.Rewind:
		return fmt.Sprintf("this node has WAL the current primary lacks: rebuild it from the primary (pg_basebackup), then remove %s; "+
			"or set rewind=auto (%s)", lockPath, strings.TrimPrefix(rj.withAuto.Why, "rewind=auto: "))
	case rj.plan.Lock || rj.plan.Proven:
		return fmt.Sprintf("this node has WAL the current primary lacks: rebuild it from the primary (pg_basebackup), then remove %s", lockPath)
	case f.Lock.Fields["event"] == lockEventDemoted:
		return fmt.Sprintf("it goes by itself once the next primary acknowledges this node's shutdown checkpoint (at that node's promotion); "+
			"otherwise make sure the primary holds this node's WAL up to %s, then remove %s", f.Lock.Fields["lsn"], lockPath)
	}
	return fmt.Sprintf("this node may hold WAL the current primary lacks: rebuild it from the primary (pg_basebackup), or make sure the primary holds all of its WAL, then remove %s", lockPath)
}

// Text renders the explanation for a terminal: one screen.
func (e Explanation) Text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("resource %s on node %s: rep_mode=%s, node_list %s", e.Resource, e.Node, e.RepMode, orNone(strings.Join(e.NodeList, " ")))
	if len(e.NoPromoteNodes) > 0 || e.MaxLag > 0 {
		p("  no_promote_nodes %s, max_lag %s", orNone(strings.Join(e.NoPromoteNodes, " ")), maxLagText(e.MaxLag))
	}
	s := e.PostgreSQL
	switch e.Role {
	case "stopped":
		p("role:      stopped (PostgreSQL not running)")
		if s.ControlState != "" {
			p("control:   %s, last checkpoint %s on timeline %d", s.ControlState, s.CheckpointLSN, s.CheckpointTLI)
		}
		if s.WALEnd != "" {
			p("WAL end:   %s", s.WALEnd)
		}
	case "unknown":
		p("role:      unknown (PostgreSQL pid %d does not answer)", s.PID)
	case "primary":
		p("role:      primary (pid %d), timeline %d", s.PID, s.Timeline)
		p("WAL:       current %s", s.CurrentLSN)
	default:
		p("role:      standby (pid %d), timeline %d, WAL receiver %s", s.PID, s.Timeline, orNone(s.Receiver))
		line := fmt.Sprintf("WAL:       replayed %s, received (flushed) %s", s.ReplayLSN, s.ReceiveLSN)
		if s.PrimaryEndLSN != "" {
			line += fmt.Sprintf(", primary's end %s (%d bytes behind)", s.PrimaryEndLSN, s.BehindBytes)
		}
		p("%s", line)
	}
	if e.Role == "primary" {
		p("standbys (the primary's view, pg_stat_replication, as its next monitor judges it):")
		if e.SyncNamed != "" {
			p("  synchronous standby named: %s", e.SyncNamed)
		}
		if len(e.Standbys) == 0 {
			p("  (no other node in node_list)")
		}
		for _, v := range e.Standbys {
			row := "not connected"
			if v.State != "" {
				row = fmt.Sprintf("%s %s, flushed %s, %d bytes behind", strings.ToLower(v.State), strings.ToLower(v.SyncState), v.FlushLSN, v.LagBytes)
			}
			p("  %-10s %s -> %s %s: %s", v.Node, row, v.DataStatus, v.Score, v.Reason)
		}
	}
	p("attributes:")
	p("  %-18s %-12s %-16s %-10s %s", "node", "status", "data-status", "score", "other")
	for _, n := range e.Attributes {
		names := attrNames{resource: e.Resource}
		status, data, score := n.Values[names.Status().Name], n.Values[names.DataStatus().Name], n.Values[names.Score().Name]
		var other []string
		for k, v := range n.Values {
			if k != names.Status().Name && k != names.DataStatus().Name && k != names.Score().Name {
				other = append(other, strings.TrimPrefix(k, e.Resource+"-")+"="+v)
			}
		}
		sort.Strings(other)
		marker := ""
		if slices.Contains(e.Promoted, n.Node) {
			marker = " (promoted)"
		}
		p("  %s", strings.TrimRight(fmt.Sprintf("%-18s %-12s %-16s %-10s %s", n.Node+marker, dash(status), dash(data), dash(score), strings.Join(other, " ")), " "))
	}
	switch {
	case e.Lock.Error != "":
		p("lock:      %s unreadable: %s", e.Lock.Path, e.Lock.Error)
	case !e.Lock.Present:
		p("lock:      none (%s)", e.Lock.Path)
	default:
		p("lock:      %s: %s", e.Lock.Path, LockInfo{Fields: e.Lock.Fields})
	}
	for _, a := range e.Answers {
		line := fmt.Sprintf("%s: %s, because %s", a.Question, a.Verdict, a.Because)
		if a.Fix != "" {
			line += " (to clear it: " + a.Fix + ")"
		}
		p("%s", line)
	}
	for _, problem := range e.ConfigProblems {
		p("parameter problem: %s", problem)
	}
	for _, problem := range e.Problems {
		p("not known: %s", problem)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func maxLagText(n uint64) string {
	if n == 0 {
		return "off"
	}
	return fmt.Sprintf("%d bytes", n)
}
