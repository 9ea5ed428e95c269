package agent

// The model of the seeded policy simulator (issue #10): PostgreSQL, Pacemaker and the
// agent's actions, abstracted to what the data-safety policy depends on. The actions follow
// the control flow of repactions.go and repmonitor.go and call the real pure decisions
// (JudgeStandbys, PromoteDemands, HandoverReceived, DecideDemote, MayUnlock, CaughtUpTo,
// LastPrimaryMayClaim, DecideElection, ElectionEligible, MayFollow, publisher.lowers,
// DecideRejoin with the promote-point chain, DecideRewind and JudgeRewind for rewind=auto
// on half the seeds). Promotions are modelled as pg_promote() (a new timeline each);
// restart_on_promote is not modelled. A promote writes in the agent's order (pending point,
// lock, the others lowered, exact point); it ends between those writes only with
// SIM_INTERRUPT set (sim.interrupts).
// simOld swaps in the rules of the policy before issue #10 (commit ee2038b).

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

type simPolicy int

const (
	simNew simPolicy = iota // the agent's current rules
	simOld                  // the rules of ee2038b
)

func (p simPolicy) String() string { return map[simPolicy]string{simNew: "new", simOld: "old"}[p] }

const (
	simRes      = "pgsql"
	simRecBytes = 1 << 20 // one WAL record (a commit, a checkpoint) is 1 MiB: catchUpBound is 16 records
	simBase     = 1 << 24 // LSN of the first record
	simRecheck  = 60      // publisher recheckAfter, in simulated seconds
	simChecks   = 3       // xlog_check_count
	simClients  = 4       // commits that may wait at once
)

var simNames = attrNames{resource: simRes}

// simLSN is where record i starts (and record i-1 ends).
func simLSN(i int) pgctl.LSN { return pgctl.LSN(simBase + uint64(i)*simRecBytes) }

type simRec struct {
	id  uint64
	tli uint32
}

type simKey struct {
	node, name string
	forever    bool
}

type simMemo struct {
	value  string
	absent bool
	at     int
}

type simNode struct {
	name    string
	running bool // a postmaster runs
	primary bool // it is out of recovery
	wal     []simRec
	flushN  int // records flushed (standby: by the WAL receiver; primary: all written)
	replayN int // records replayed (standby)
	lost    bool
	fenced  bool
	// fencePending: lost while primary and still running (a partition), its fence not done
	// yet: with requires=quorum Pacemaker may promote another node meanwhile, and crm_mon
	// shows it unclean (review 22, finding 3).
	fencePending bool
	linkUp       bool // the replication link to the primary
	caughtUp     bool // its walsender on the primary reached "streaming"
	lock         *LockInfo
	conf         []string // rep_mode.conf names (primary)
	active       []string // synchronous_standby_names in effect
	reload       bool     // a reload is pending: conf takes effect at the next step
	confirm      SyncConfirm
	election     ElectionState
	memo         map[simKey]simMemo
	cleanPri     bool  // control data says "shut down" (a cleanly stopped primary)
	pending      []int // commits waiting for the synchronous standby (primary)
	// ranPrimary: the last run was out of recovery (pg_controldata's state, WALEnd).
	ranPrimary bool
	claimed    bool         // its positive score came from its own claim, with no primary running
	streamed   bool         // seen streaming in the current run (ElectionInput.Streamed)
	following  StreamRecord // the confirmed promotion it streamed from in this run (Seq 0: none)
	// followNobody: a locked crashed primary running as a standby with no primary_conninfo
	// (MayRunLockedStandby).
	followNobody bool
}

func (n *simNode) tli() uint32 {
	if n.replayN == 0 {
		return 1
	}
	return n.wal[n.replayN-1].tli
}

func (n *simNode) localState() pgctl.LocalState {
	st := pgctl.LocalState{InRecovery: !n.primary, Timeline: n.tli()}
	if n.primary {
		st.CurrentLSN = simLSN(len(n.wal))
		if len(n.wal) > 0 {
			st.Timeline = n.wal[len(n.wal)-1].tli
		}
	} else {
		st.ReceiveLSN, st.ReplayLSN = simLSN(len(n.wal)), simLSN(n.replayN)
	}
	return st
}

// isPrefix reports whether a's WAL is a prefix of b's. Record ids are unique and WAL only
// grows by appending or by copying another node's prefix, so the last record decides.
func isPrefix(a, b []simRec) bool {
	return len(a) <= len(b) && (len(a) == 0 || a[len(a)-1] == b[len(a)-1])
}

type simCommit struct {
	idx int
	id  uint64
}

// sim is one cluster.
type sim struct {
	pol      simPolicy
	mode     RepMode
	nodes    []*simNode
	list     []string
	attrs    map[simKey]string
	now      int
	nextID   uint64
	maxTLI   uint32
	acked    []simCommit
	step     int
	rng      *simRand // the current step's own randomness
	viol     []string
	promotes int
	switches map[uint32]pgctl.TimelineSwitch // each timeline's history file (pg_promote())
	rejoins  map[string]int                  // start decisions by outcome (issue #13)
	// writeFaults: attrd refuses some of the primary's writes about its standbys (drawn from
	// faultRng, a stream of its own so that recorded steps replay alike); failOpen: the
	// primary changes synchronous_standby_names even when lowering a standby failed (the
	// rule before defect 6 of issue #10 was fixed).
	// blindElection: the election passes over node_list members that published no position
	// (the rule before issue #13 §3).
	// linearChains: every promotion continues the latest chain (the rule before the review
	// of the rejoin: ChainFor).
	// anyMarkProves: any mark of a demoted node proves its demote, however old (the rule
	// before review 22, finding 3: MarkOfLatestRun).
	writeFaults, failOpen, blindElection, linearChains, anyMarkProves bool
	// interrupts: a promote may end between its writes (sim.promote); lowerFirst: the
	// promote lowers the others before its point and lock (the order before 0190300).
	// Both opt-in (SIM_INTERRUPT, SIM_LOWER_FIRST): with interrupts, invariant (e) still
	// breaks where the pre-promote guard wrote off a node that holds more and the promotee,
	// restarted by the recovery, then wins the election as a cold start (review 15).
	interrupts, lowerFirst bool
	faultRng               *simRand
	// rewindAuto: rewind=auto with wal_log_hints (issue #13 §1): a start refused on proof
	// of divergence runs pg_rewind (sim.rewind).
	rewindAuto bool
	ops        simWeights // nil: simOps
}

func newSim(pol simPolicy, mode RepMode, n int) *sim {
	s := &sim{pol: pol, mode: mode, attrs: map[simKey]string{}, maxTLI: 1, nextID: 1,
		switches: map[uint32]pgctl.TimelineSwitch{}, rejoins: map[string]int{}}
	for i := 0; i < n; i++ {
		name := string(rune('a' + i))
		s.list = append(s.list, name)
		s.nodes = append(s.nodes, &simNode{name: name, linkUp: true, memo: map[simKey]simMemo{}})
	}
	// A fresh cluster: a is a cleanly stopped primary, the others copies of it.
	for _, node := range s.nodes {
		node.wal = []simRec{{id: 0, tli: 1}}
		node.flushN, node.replayN = 1, 1
	}
	s.nodes[0].cleanPri = true
	return s
}

func (s *sim) node(name string) *simNode {
	for _, n := range s.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (s *sim) others(self string) []string {
	var out []string
	for _, n := range s.list {
		if n != self {
			out = append(out, n)
		}
	}
	return out
}

// primary is the running primary that accepts writes (nil: none).
func (s *sim) primary() *simNode {
	for _, n := range s.nodes {
		if n.running && n.primary && !n.fenced && !n.lost {
			return n
		}
	}
	return nil
}

// promoted is what Pacemaker knows as promoted instances.
func (s *sim) promoted() []string {
	var out []string
	for _, n := range s.nodes {
		if n.running && n.primary && !n.lost {
			out = append(out, n.name)
		}
	}
	return out
}

// upstream is the primary a running standby streams from, if any.
func (s *sim) upstream(n *simNode) *simNode {
	p := s.primary()
	if p == nil || !n.running || n.primary || n.lost || n.followNobody || !n.linkUp || !isPrefix(n.wal, p.wal) {
		return nil
	}
	return p
}

// --- attributes and the publisher's memory ---

func (s *sim) get(k simKey) (string, bool) { v, ok := s.attrs[k]; return v, ok }

func scoreKey(node string) simKey { return simKey{node: node, name: crmattr.PromotionAttrName(simRes)} }

func positive(score string) bool { return score == ScoreCanPromote || score == ScorePromoteMe }

func (s *sim) write(k simKey, value string) {
	old := s.attrs[k]
	s.attrs[k] = value
	if k.name == crmattr.PromotionAttrName(simRes) && positive(value) && !positive(old) {
		s.raised(k.node)
	} else if k.name == crmattr.PromotionAttrName(simRes) && !positive(value) {
		s.node(k.node).claimed = false
	}
}

// pub is one action's publisher: trust is true only for recurring monitors, which use the
// node's remembered writes; other actions start a fresh memory.
type simPub struct {
	s     *sim
	w     *simNode
	trust bool
}

func (s *sim) pub(w *simNode, trust bool) simPub {
	if !trust {
		w.memo = map[simKey]simMemo{}
	}
	return simPub{s: s, w: w, trust: trust}
}

func (p simPub) lookup(k simKey, fresh bool) (string, bool) {
	if m, ok := p.w.memo[k]; ok && !fresh && p.trust && p.s.now-m.at < simRecheck {
		switch {
		case !m.absent:
			return m.value, true
		case p.s.pol == simOld: // the old memory trusted a remembered absence
			return "", false
		}
	}
	v, found := p.s.get(k)
	p.w.memo[k] = simMemo{value: v, absent: !found, at: p.s.now}
	return v, found
}

// setStandby is set for the primary's writes about a standby, which attrd may refuse (see
// sim.writeFaults); it reports whether the value is in place.
func (p simPub) setStandby(k simKey, value string) bool {
	if p.s.writeFaults && p.s.faultRng.Intn(4) == 0 {
		return false
	}
	p.set(k, value)
	return true
}

func (p simPub) set(k simKey, value string) {
	lt := crmattr.Reboot
	if k.forever {
		lt = crmattr.Forever
	}
	fresh := p.s.pol == simNew && (&publisher{resource: simRes, names: attrNames{resource: simRes}}).lowers(Attr{k.name, lt}, value)
	if old, found := p.lookup(k, fresh); found && old == value {
		return
	}
	p.s.write(k, value)
	p.w.memo[k] = simMemo{value: value, at: p.s.now}
}

func (p simPub) remove(k simKey) {
	if _, found := p.lookup(k, false); !found {
		return
	}
	delete(p.s.attrs, k)
	p.w.memo[k] = simMemo{absent: true, at: p.s.now}
}

// removeMayFail is a removal the agent only warns about when attrd refuses it (see
// sim.writeFaults): the promote's removal of the hand-over marks it no longer needs.
func (p simPub) removeMayFail(k simKey) {
	if p.s.writeFaults && p.s.faultRng.Intn(4) == 0 {
		return
	}
	p.remove(k)
}

// markReads is what a promote reads of the others (repactions.go markReads).
func (s *sim) markReads(self string) MarkReads {
	reads := MarkReads{Marks: map[string]AttrRead{}, Points: map[string]AttrRead{}}
	for _, o := range s.others(self) {
		v, found := s.get(simKey{node: o, name: simNames.DemotedLSN().Name, forever: true})
		reads.Marks[o] = AttrRead{Value: v, Found: found}
		v, found = s.get(simKey{node: o, name: simNames.PromotePoint().Name, forever: true})
		reads.Points[o] = AttrRead{Value: v, Found: found}
		if mark, err := ParseDemoteMark(reads.Marks[o].Value); s.anyMarkProves && err == nil {
			// Unnumbered, beside no promote point: MarkOfLatestRun has nothing to hold it to.
			mark.Seq, reads.Points[o] = 0, AttrRead{}
			reads.Marks[o] = AttrRead{Value: mark.Attribute(), Found: reads.Marks[o].Found}
		}
	}
	return reads
}

func (p simPub) score(node, value string) { p.set(scoreKey(node), value) }

// lowerScore: another node's score is only lowered, never created.
func (p simPub) lowerScore(node string) {
	if _, found := p.lookup(scoreKey(node), p.s.pol == simNew); found {
		p.score(node, ScoreCannotPromote)
	}
}

func (s *sim) leave(n *simNode) {
	n.lost, n.caughtUp = true, false
	for k := range s.attrs {
		if k.node == n.name && !k.forever {
			delete(s.attrs, k)
		}
	}
}

// --- PostgreSQL ---

// rows is pg_stat_replication on p, with synchronous_standby_names in effect (FIRST 1).
func (s *sim) rows(p *simNode) []ReplicationRow {
	syncNode := s.syncStandby(p)
	var rows []ReplicationRow
	for _, n := range s.nodes {
		if n == p || s.upstream(n) != p {
			continue
		}
		row := ReplicationRow{ApplicationName: n.name, State: "CATCHUP", SyncState: "ASYNC", FlushLSN: simLSN(n.flushN)}
		if n.caughtUp {
			row.State = "STREAMING"
		}
		switch {
		case n == syncNode:
			row.SyncState = "SYNC"
		case Has(p.active, n.name):
			row.SyncState = "POTENTIAL"
		}
		rows = append(rows, row)
	}
	return rows
}

// syncStandby is the standby PostgreSQL waits for: the first name in effect whose walsender
// streams.
func (s *sim) syncStandby(p *simNode) *simNode {
	for _, name := range p.active {
		if n := s.node(name); n != nil && n.caughtUp && s.upstream(n) == p {
			return n
		}
	}
	return nil
}

func (s *sim) commit() {
	p := s.primary()
	if p == nil || len(p.pending) >= simClients {
		return
	}
	p.wal = append(p.wal, simRec{id: s.nextID, tli: p.wal[len(p.wal)-1].tli})
	s.nextID++
	p.flushN, p.replayN = len(p.wal), len(p.wal)
	p.pending = append(p.pending, len(p.wal)-1)
	s.release(p)
}

// release acknowledges waiting commits as PostgreSQL does.
func (s *sim) release(p *simNode) {
	sync := s.syncStandby(p)
	keep := p.pending[:0]
	for _, idx := range p.pending {
		if len(p.active) == 0 || (sync != nil && sync.flushN > idx) {
			s.acked = append(s.acked, simCommit{idx: idx, id: p.wal[idx].id})
		} else {
			keep = append(keep, idx)
		}
	}
	p.pending = keep
}

// replicate lets a standby receive, flush and replay some WAL.
func (s *sim) replicate(n *simNode) {
	p := s.upstream(n)
	if p == nil {
		return
	}
	s.noteStreaming(n)
	s.receive(n, p, len(n.wal)+1+s.rng.Intn(4))
	n.flushN += s.rng.Intn(len(n.wal) - n.flushN + 1)
	n.replayN += s.rng.Intn(n.flushN - n.replayN + 1)
}

func (s *sim) receive(n, p *simNode, upTo int) {
	upTo = min(upTo, len(p.wal))
	if upTo > len(n.wal) {
		n.wal = append(n.wal, p.wal[len(n.wal):upTo]...)
	}
	if len(n.wal) == len(p.wal) {
		n.caughtUp = true
	}
}

// noteStreaming is recordStreamed (streamed.go): the run, and the latest confirmed promotion.
func (s *sim) noteStreaming(n *simNode) {
	n.streamed = true
	if n.following.Seq != 0 || s.pol != simNew {
		return
	}
	if head := s.latestChain(); head != nil && head[0].Exact() {
		n.following = StreamRecord{Seq: head[0].Seq, Node: head[0].Node}
	}
}

func (s *sim) latestChain() PromoteChain {
	points := map[string]AttrRead{}
	for _, o := range s.list {
		v, found := s.get(simKey{node: o, name: simNames.PromotePoint().Name, forever: true})
		points[o] = AttrRead{Value: v, Found: found}
	}
	latest, _ := LatestPromotion(points)
	return latest
}

func (s *sim) crashPG(n *simNode) {
	n.running, n.caughtUp, n.pending, n.cleanPri, n.streamed = false, false, nil, false, false
	if !n.primary {
		n.wal = n.wal[:n.flushN]
	}
	n.replayN = min(n.replayN, len(n.wal))
	n.flushN = len(n.wal)
}

// startStandby starts PostgreSQL in recovery.
func (s *sim) startStandby(n *simNode) {
	n.running, n.primary, n.caughtUp, n.pending, n.ranPrimary, n.streamed = true, false, false, nil, false, false
	n.following = StreamRecord{}
	n.flushN, n.replayN = len(n.wal), len(n.wal)
	n.conf, n.active, n.reload, n.confirm = nil, nil, false, SyncConfirm{}
}

func (s *sim) startWait(n *simNode, records int) {
	if p := s.upstream(n); p != nil {
		s.noteStreaming(n)
		s.receive(n, p, len(n.wal)+records)
		n.flushN, n.replayN = len(n.wal), len(n.wal)
	}
}

// --- the agent's actions ---

func (s *sim) monitor(n *simNode) {
	if !n.running || n.lost {
		return
	}
	pub := s.pub(n, true)
	if n.primary {
		if n.fenced {
			return
		}
		s.primarySelf(pub, n)
		s.controlStandbys(pub, n)
		return
	}
	streaming := s.upstream(n) != nil
	if s.pol == simOld && streaming && s.mode == RepAsync && len(s.list) <= 2 {
		pub.set(simKey{node: n.name, name: simNames.DataStatus().Name, forever: true}, dataStreamingAsyn)
		pub.score(n.name, ScoreCanPromote)
	}
	if s.pol == simNew {
		s.unlockIfHandedOver(pub, n, false)
	}
	if streaming {
		return
	}
	if promoted := s.promoted(); len(promoted) > 0 {
		elsewhere := len(promoted) > 1 || promoted[0] != n.name
		if n.lock != nil && LockedStandbyMustRestart(*n.lock, true, streaming, elsewhere) {
			s.rejoins["locked standby restarted"]++
			s.stop(n) // the failed monitor's recovery: stop, then start (the rejoin check)
			s.start(n, 0)
		}
		return
	}
	dataStatus, _ := pub.lookup(simKey{node: n.name, name: simNames.DataStatus().Name, forever: true}, false)
	if !ElectionEligible(s.mode, dataStatus) {
		return
	}
	st := n.localState()
	own := Position{Timeline: st.Timeline, LSN: uint64(st.Position())}
	pub.set(simKey{node: n.name, name: simNames.XlogLoc().Name}, pgctl.LSN(own.LSN).Attribute())
	pub.set(simKey{node: n.name, name: simNames.XlogTimeline().Name}, formatTimeline(own.Timeline))
	in := ElectionInput{Self: n.name, NodeOrder: s.list, CheckCount: simChecks, Streamed: n.streamed,
		Published: map[string]Position{n.name: own}, LastLatest: map[string]bool{}}
	for _, o := range s.list {
		v, _ := s.get(simKey{node: o, name: simNames.DataStatus().Name, forever: true})
		in.LastLatest[o] = v == dataLatest
		if o == n.name {
			continue
		}
		if s.pol == simNew && !s.blindElection && ElectionEligible(s.mode, v) {
			in.Contenders = append(in.Contenders, o)
		}
		if loc, ok := s.get(simKey{node: o, name: simNames.XlogLoc().Name}); ok {
			lsn, err := pgctl.ParseAttributeLSN(loc)
			if err == nil {
				tli, _ := s.get(simKey{node: o, name: simNames.XlogTimeline().Name})
				in.Published[o] = Position{Timeline: parseTimeline(tli), LSN: uint64(lsn)}
			}
		}
	}
	next, verdict, _ := DecideElection(n.election, in)
	n.election = next
	switch verdict {
	case Win:
		pub.score(n.name, ScorePromoteMe)
	case Lose:
		pub.score(n.name, ScoreCannotPromote)
		pub.set(simKey{node: n.name, name: simNames.DataStatus().Name, forever: true}, dataDisconnect)
	}
}

func (s *sim) primarySelf(pub simPub, n *simNode) {
	pub.set(simKey{node: n.name, name: simNames.DataStatus().Name, forever: true}, dataLatest)
	pub.score(n.name, ScorePromoteMe)
}

func (s *sim) controlStandbys(pub simPub, p *simNode) {
	rows := s.rows(p)
	var views []StandbyView
	named := ""
	if len(p.conf) > 0 {
		named = p.conf[0]
	}
	want := p.conf
	if s.pol == simNew {
		facts := PrimaryFacts{Mode: s.mode, Nodes: s.others(p.name), NodeCount: len(s.list),
			CurrentLSN: simLSN(len(p.wal)), Rows: rows}
		if s.mode == RepSync {
			facts.SyncNamed, facts.Confirm = named, p.confirm
		}
		plan := JudgeStandbys(facts)
		views = plan.Views
		if s.mode == RepSync {
			p.confirm = plan.Confirm
			if plan.SyncNamed != named {
				want = nil
				if plan.SyncNamed != "" {
					want = []string{plan.SyncNamed}
				}
			}
		}
	} else {
		streaming := map[string]bool{}
		for _, node := range s.others(p.name) {
			v := simOldClassify(node, rows, s.mode, len(s.list))
			views = append(views, v)
			row := findRow(rows, node)
			streaming[node] = row != nil && row.State == "STREAMING"
		}
		if s.mode == RepSync {
			want = nil
			if len(p.conf) > 0 && streaming[p.conf[0]] {
				want = append(want, p.conf[0])
			}
			for _, v := range views {
				if streaming[v.Node] && !Has(want, v.Node) {
					want = append(want, v.Node)
				}
			}
		}
	}
	lowered := true
	for _, v := range views {
		// As publishStandby: a refused data-status write ends this standby's round.
		written := pub.setStandby(simKey{node: v.Node, name: simNames.DataStatus().Name, forever: true}, v.DataStatus)
		if _, found := pub.lookup(scoreKey(v.Node), s.pol == simNew && !v.Promotable()); written && found {
			written = pub.setStandby(scoreKey(v.Node), v.Score)
		}
		if !written {
			lowered = lowered && v.Promotable()
			continue // (d) cannot hold when attrd refuses; (a) must still
		}
		if !v.Promotable() {
			if score, _ := s.get(scoreKey(v.Node)); positive(score) {
				s.violate("d", fmt.Sprintf("the primary %s judged %s unpromotable (%s) but its score stays %s", p.name, v.Node, v.Reason, score))
			}
		}
	}
	keep := !lowered && s.pol == simNew && !s.failOpen
	if s.mode == RepSync && !keep && strings.Join(want, ",") != strings.Join(p.conf, ",") {
		p.conf, p.reload = want, true
	}
}

func (s *sim) unlockIfHandedOver(pub simPub, n *simNode, atStart bool) bool {
	if n.lock == nil {
		return true
	}
	ack, found := s.get(simKey{node: n.name, name: simNames.Handover().Name, forever: true})
	var statuses map[string]string // only a start reads them (repactions.go unlockAfterHandover)
	if atStart {
		statuses = map[string]string{}
		for _, o := range s.list {
			statuses[o], _ = s.get(simKey{node: o, name: simNames.DataStatus().Name, forever: true})
		}
	}
	if ok, _ := MayUnlock(UnlockFacts{Self: n.name, NodeList: s.list, Lock: *n.lock, Ack: AttrRead{Value: ack, Found: found},
		DataStatus: statuses}); !ok {
		return false
	}
	n.lock = nil
	pub.remove(simKey{node: n.name, name: simNames.Handover().Name, forever: true})
	return true
}

func simLock(event string, p WALPoint) *LockInfo {
	return &LockInfo{Fields: map[string]string{"event": event, "timeline": fmt.Sprint(p.Timeline), "lsn": p.LSN.String()}}
}

func (s *sim) start(n *simNode, wait int) bool {
	if n.running || n.lost {
		return false
	}
	pub := s.pub(n, false)
	if n.lock != nil && s.pol == simOld {
		return false
	}
	n.followNobody = false
	if s.pol == simNew {
		s.unlockIfHandedOver(pub, n, true)
		if !s.rejoin(n) {
			return false
		}
	}
	clean := n.cleanPri
	pub.score(n.name, ScoreCannotPromote)
	for _, name := range []string{simNames.MasterBaseline().Name, simNames.XlogLoc().Name, simNames.PrePromotePosition().Name} {
		pub.remove(simKey{node: n.name, name: name})
	}
	if s.pol == simNew {
		n.election = ElectionState{}
	}
	s.startStandby(n)
	streaming := s.upstream(n) != nil
	statuses := map[string]string{}
	for _, o := range s.list {
		statuses[o], _ = s.get(simKey{node: o, name: simNames.DataStatus().Name, forever: true})
	}
	if !streaming && !n.followNobody {
		if ok, _ := LastPrimaryMayClaim(n.name, statuses, clean); ok {
			pub.score(n.name, ScorePromoteMe)
			return true
		}
	}
	if s.pol == simOld {
		// The old start waited for the receiver to stream, then let standbySelf judge.
		if s.upstream(n) != nil && s.mode == RepAsync && len(s.list) <= 2 {
			pub.set(simKey{node: n.name, name: simNames.DataStatus().Name, forever: true}, dataStreamingAsyn)
			pub.score(n.name, ScoreCanPromote)
		}
		return true
	}
	k := simKey{node: n.name, name: simNames.CatchUpTarget().Name}
	value, found := s.get(k)
	delete(s.attrs, k)
	target, err := ParseWALPoint(value)
	s.startWait(n, wait)
	st := n.localState()
	if found && err == nil && s.upstream(n) != nil && CaughtUpTo(target, st) &&
		s.mode == RepAsync && len(s.list) <= 2 {
		pub.score(n.name, ScoreCanPromote)
	}
	return true
}

// walEnd is the evidence repactions.go's start reads from a stopped node (rejoinfacts.go).
func (s *sim) walEnd(n *simNode) WALEnd {
	last := n.wal[len(n.wal)-1]
	e := WALEnd{Known: true, Timeline: last.tli, Last: simLSN(len(n.wal) - 1), LastLow: simLSN(len(n.wal) - 1),
		RanAsPrimary: n.ranPrimary, Source: "sim"}
	if sw, ok := s.switches[last.tli]; ok {
		e.Switch = &sw
	}
	return e
}

// rejoin is the evidence check of every start (DecideRejoin, issue #13): it reports whether
// the start goes on.
func (s *sim) rejoin(n *simNode) bool {
	points := map[string]AttrRead{}
	for _, o := range s.list {
		v, found := s.get(simKey{node: o, name: simNames.PromotePoint().Name, forever: true})
		points[o] = AttrRead{Value: v, Found: found}
	}
	f := RejoinFacts{Self: n.name, AutoRejoin: true, Locked: n.lock != nil, Own: s.walEnd(n), Points: points}
	if n.lock != nil {
		f.Lock = *n.lock
	}
	plan := DecideRejoin(f)
	if plan.Proven && s.rewindAuto {
		rw := DecideRewind(RewindFacts{Mode: RewindAuto, Rejoin: f, Plan: plan, Control: &pgctl.ControlData{WALLogHints: true}})
		if rw.Rewind {
			return s.rewind(n, plan)
		}
	}
	switch {
	case plan.Start && plan.Unlock:
		s.rejoins["unlocked"]++
		n.lock = nil
	case plan.Start:
		s.rejoins["started"]++
	case plan.Lock:
		s.rejoins["refused and locked"]++
		n.lock = simLock(lockEventDiverged, WALPoint{Timeline: f.Own.Timeline, LSN: f.Own.Last})
		n.lock.Fields["reason"] = plan.Why
	default:
		if n.lock != nil {
			statuses := map[string]string{}
			for _, o := range s.list {
				statuses[o], _ = s.get(simKey{node: o, name: simNames.DataStatus().Name, forever: true})
			}
			if ok, _ := MayRunLockedStandby(LockedStandbyFacts{Self: n.name, AutoRejoin: true, Lock: *n.lock, Points: points,
				DataStatus: statuses, Promoted: s.promoted()}); ok {
				s.rejoins["locked standby"]++
				n.followNobody = true
				return true
			}
		}
		s.rejoins["refused"]++
	}
	return plan.Start
}

// rewind models rewindrun.go: pg_rewind from the current primary finds where the two
// histories part by their timelines (the history files, s.switches), as pg_rewind does, and
// the node keeps its WAL before that point, then streams the primary's. JudgeRewind reads
// the output; one run in four fails before pg_rewind's point of no return (the lock stays as
// it was, or a refusal's diverged lock is taken), one in four of the rest after it (a
// diverged lock: only "rebuild" brings the node back).
func (s *sim) rewind(n *simNode, plan RejoinPlan) bool {
	p := s.primary()
	var run RewindRun
	failure := s.rng.Intn(4)
	at, tli, needed := pgctl.LSN(0), uint32(0), false
	if p != nil {
		at, tli, needed = s.rewindPoint(n, p)
	}
	switch {
	case p == nil || failure == 0:
		run = RewindRun{ExitCode: 1, Output: "pg_rewind: error: connection to server failed"}
	case !needed:
		run.Output = "pg_rewind: no rewind required"
	default:
		run.Output = fmt.Sprintf("pg_rewind: servers diverged at WAL location %s on timeline %d\npg_rewind: %s at %s\n", at, tli, rewindRewinding, at)
		if s.rng.Intn(4) == 0 {
			run.ExitCode, run.Output = 1, run.Output+"pg_rewind: error: could not write file"
		} else {
			run.Output += "pg_rewind: Done!"
		}
	}
	o := JudgeRewind(run, *plan.Diverged)
	own := s.walEnd(n)
	switch {
	case o.OK:
		s.rejoins["rewound"]++
		k := 0
		for k < len(n.wal) && simLSN(k) < o.At {
			k++
		}
		n.wal = n.wal[:k]
		n.flushN, n.replayN, n.lock, n.cleanPri, n.ranPrimary = k, k, nil, false, false
		return true
	case o.Touched:
		s.rejoins["rewind failed midway"]++
		n.lock = simLock(lockEventDiverged, WALPoint{Timeline: own.Timeline, LSN: own.Last})
	default:
		s.rejoins["rewind failed"]++
		if n.lock == nil {
			n.lock = simLock(lockEventDiverged, WALPoint{Timeline: own.Timeline, LSN: own.Last})
		}
	}
	n.lock.Fields["reason"] = o.Why
	return false
}

// rewindPoint is where pg_rewind finds n's and p's histories part: the end of the last
// timeline both histories hold (the first switch after it in either), on that timeline, and
// whether n's WAL goes past it. On one timeline pg_rewind sees no divergence at all.
func (s *sim) rewindPoint(n, p *simNode) (pgctl.LSN, uint32, bool) {
	history := func(tli uint32) []uint32 { // oldest first
		h := []uint32{tli}
		for sw, ok := s.switches[tli]; ok; sw, ok = s.switches[sw.Parent] {
			h = append([]uint32{sw.Parent}, h...)
		}
		return h
	}
	nh, ph := history(n.wal[len(n.wal)-1].tli), history(p.wal[len(p.wal)-1].tli)
	if nh[len(nh)-1] == ph[len(ph)-1] {
		return 0, nh[len(nh)-1], false
	}
	i := 0
	for i+1 < len(nh) && i+1 < len(ph) && nh[i+1] == ph[i+1] {
		i++
	}
	end := pgctl.LSN(1<<64 - 1)
	for _, h := range [][]uint32{nh, ph} {
		if i+1 < len(h) {
			end = min(end, s.switches[h[i+1]].At)
		}
	}
	return end, nh[i], simLSN(len(n.wal)) > end
}

func (s *sim) stop(n *simNode) {
	if n.lost {
		return
	}
	pub := s.pub(n, false)
	pub.score(n.name, ScoreCannotPromote)
	names := []string{simNames.XlogLoc().Name, simNames.PrePromotePosition().Name}
	if s.pol == simOld {
		names = append(names, simNames.DemotedLSN().Name) // transient in the old agent
	}
	for _, name := range names {
		pub.remove(simKey{node: n.name, name: name})
	}
	if n.running {
		if n.primary {
			s.shutdownPrimary(n, s.rng.Intn(4) == 0)
		}
		n.running, n.caughtUp = false, false
		n.flushN, n.replayN = len(n.wal), len(n.wal)
	}
	n.conf, n.active, n.reload, n.confirm = nil, nil, false, SyncConfirm{}
}

// shutdownPrimary writes the shutdown checkpoint and lets the walsenders send it; with cut
// set, the links break just before the checkpoint record.
func (s *sim) shutdownPrimary(p *simNode, cut bool) {
	p.wal = append(p.wal, simRec{id: s.nextID, tli: p.wal[len(p.wal)-1].tli})
	s.nextID++
	p.flushN, p.replayN, p.pending, p.cleanPri = len(p.wal), len(p.wal), nil, true
	for _, n := range s.nodes {
		if s.upstream(n) == p {
			upTo := len(p.wal)
			if cut {
				upTo--
			}
			s.receive(n, p, upTo)
		}
	}
	p.running, p.caughtUp = false, false
	for _, n := range s.nodes {
		n.caughtUp = false
	}
}

// demote reports whether it succeeded.
func (s *sim) demote(n *simNode, note Notification, cut bool) bool {
	if !n.running || n.lost || !n.primary {
		return true
	}
	pub := s.pub(n, false)
	pub.score(n.name, ScoreCannotPromote)
	var outcome DemoteOutcome
	if s.pol == simNew {
		outcome, _ = DecideDemote(n.name, s.list, false, note)
	} else if note.Present && len(note.Promote) == 0 {
		for _, o := range note.Promoted {
			if o != n.name {
				outcome = DemoteAndStop
			}
		}
	}
	st := n.localState()
	s.shutdownPrimary(n, cut)
	mark := WALPoint{Timeline: n.wal[len(n.wal)-1].tli, LSN: simLSN(len(n.wal) - 1)}
	seq := ""
	if n.lock != nil {
		seq = n.lock.Fields["promote_seq"]
	}
	if outcome == DemoteAndStop {
		n.lock = simLock(lockEventDiverged, WALPoint{Timeline: st.Timeline, LSN: st.CurrentLSN})
		n.lock.Fields["promote_seq"] = seq
		return false
	}
	if s.pol == simNew {
		n.lock = simLock(lockEventDemoted, mark)
		n.lock.Fields["promote_seq"] = seq
		// repactions.go latestPromotion: the head of its own promote point, else the lock's.
		seqN, _ := strconv.ParseUint(seq, 10, 64)
		v, _ := s.get(simKey{node: n.name, name: simNames.PromotePoint().Name, forever: true})
		if chain, err := ParsePromoteChain(v); err == nil && chain[0].Node == n.name {
			seqN = chain[0].Seq
		}
		pub.set(simKey{node: n.name, name: simNames.DemotedLSN().Name, forever: true}, DemoteMark{Point: mark, Seq: seqN}.Attribute())
		pub.remove(simKey{node: n.name, name: simNames.Handover().Name, forever: true})
	} else {
		pub.set(simKey{node: n.name, name: simNames.DemotedLSN().Name}, mark.LSN.Attribute())
		n.lock = nil
	}
	s.startStandby(n)
	return true
}

// promote reports whether it succeeded. Its hand-over wait lets the promotee replay what it
// has received.
func (s *sim) promote(n *simNode, note Notification) bool {
	if !n.running || n.lost {
		return false
	}
	if n.primary {
		return true
	}
	pub := s.pub(n, false)
	var demands []HandoverDemand
	if s.pol == simNew {
		var err error
		offline := map[string]bool{}
		for _, o := range s.nodes {
			offline[o.name] = o.lost && !o.fencePending // crm_mon: offline and clean
		}
		if demands, err = PromoteDemands(n.name, note, s.markReads(n.name), offline); err != nil {
			return false
		}
		n.flushN, n.replayN = len(n.wal), len(n.wal) // the wait
		for i := range demands {
			st := n.localState()
			if ok, _ := HandoverReceived(demands[i].Mark, st.Timeline, st.ReplayLSN); !ok {
				return false
			}
			demands[i].Replayed = st.ReplayLSN
		}
	} else {
		for _, o := range s.others(n.name) {
			v, found := s.get(simKey{node: o, name: simNames.DemotedLSN().Name})
			need, err := pgctl.ParseAttributeLSN(v)
			if !found || err != nil {
				continue
			}
			if n.localState().Position() < need {
				return false
			}
		}
	}
	lower := func(upTo int) {
		for i, o := range s.others(n.name) {
			if i >= upTo {
				return
			}
			pub.set(simKey{node: o, name: simNames.DataStatus().Name, forever: true}, dataDisconnect)
			pub.lowerScore(o)
		}
	}
	// The agent's write order (repactions.go promote): the pending point, PGSQL.lock, then
	// every other node DISCONNECT and -INFINITY, then pg_promote() (lowerFirst: the order
	// before commit 0190300, the lowering first). With interrupts, one promote in three ends
	// (Pacemaker's timeout, a refused lock) after the point (cut 0), or after the lock with
	// cut-1 of the others lowered, and Pacemaker recovers the instance: demote (nothing on a
	// standby), stop, start (the rejoin check).
	cut := -1
	if s.interrupts && s.pol == simNew && s.faultRng.Intn(3) == 0 {
		cut = s.faultRng.Intn(2 + len(s.others(n.name)))
	}
	interrupted := func() bool {
		s.rejoins["promote interrupted"]++
		s.stop(n)
		s.start(n, 0)
		return false
	}
	if s.pol != simNew || s.lowerFirst {
		lower(len(s.list))
	}
	st := n.localState()
	// The promote point (pendingPromoteChain, switchPromotePoint). The fork is the end of the
	// promotee's last record.
	oldTLI := n.wal[len(n.wal)-1].tli
	fork := simLSN(len(n.wal))
	var chain PromoteChain
	if s.pol == simNew {
		latest := s.latestChain()
		var seq uint64
		if latest != nil {
			seq = latest[0].Seq
		}
		own := PromotePoint{Node: n.name, OldTLI: oldTLI, Fork: fork}
		if s.linearChains {
			chain = latest.Extend(own)
		} else {
			chain, _ = ChainFor(latest, seq, n.following, n.streamed && n.following.Seq != 0, own)
		}
		pub.set(simKey{node: n.name, name: simNames.PromotePoint().Name, forever: true}, chain.Attribute())
		if cut == 0 {
			return interrupted()
		}
		n.lock = simLock(lockEventPromoted, WALPoint{Timeline: st.Timeline, LSN: st.Position()})
		n.lock.Fields["node"] = n.name
		n.lock.Fields["promote_seq"] = fmt.Sprint(chain[0].Seq)
		if s.lowerFirst && cut > 0 {
			return interrupted()
		}
		if !s.lowerFirst {
			if cut > 0 {
				lower(cut - 1)
				return interrupted()
			}
			lower(len(s.list))
		}
		chain[0].NewTLI = s.maxTLI + 1
		pub.set(simKey{node: n.name, name: simNames.PromotePoint().Name, forever: true}, chain.Attribute())
	}
	if n.claimed && !n.streamed {
		s.checkNewest(n)
	}
	s.checkPromotee(n)
	n.lock = simLock(lockEventPromoted, WALPoint{Timeline: st.Timeline, LSN: st.Position()})
	if n.followNobody {
		s.rejoins["locked standby promoted"]++
	}
	n.lock.Fields["node"], n.followNobody = n.name, false
	if chain != nil {
		n.lock.Fields["promote_seq"] = fmt.Sprint(chain[0].Seq)
	}
	s.maxTLI++
	s.switches[s.maxTLI] = pgctl.TimelineSwitch{Parent: oldTLI, At: fork}
	n.ranPrimary = true
	n.wal = append(n.wal, simRec{id: s.nextID, tli: s.maxTLI})
	s.nextID++
	n.primary, n.flushN, n.replayN = true, len(n.wal), len(n.wal)
	n.conf, n.active, n.reload, n.confirm, n.caughtUp = nil, nil, false, SyncConfirm{}, false
	for _, o := range s.nodes {
		o.caughtUp = false
	}
	if s.pol == simNew {
		// acknowledgeHandovers: only after the promotion succeeded.
		for _, d := range demands {
			ack := Handover{Node: n.name, Mark: d.Mark, Replayed: d.Replayed}
			pub.set(simKey{node: d.Node, name: simNames.Handover().Name, forever: true}, ack.Attribute())
			pub.removeMayFail(simKey{node: d.Node, name: simNames.DemotedLSN().Name, forever: true})
		}
		pub.removeMayFail(simKey{node: n.name, name: simNames.DemotedLSN().Name, forever: true})
	} else {
		for _, o := range s.others(n.name) {
			pub.remove(simKey{node: o, name: simNames.DemotedLSN().Name})
		}
	}
	s.primarySelf(pub, n)
	return true
}

// prePromoteGuard runs on every running standby but the promotee (guard.go).
func (s *sim) prePromoteGuard(promotee *simNode, note Notification) {
	if len(s.list) < guardMinNodes || len(note.Promote) != 1 || !promotee.running || promotee.primary {
		return
	}
	pst := promotee.localState()
	theirs := Position{Timeline: pst.Timeline, LSN: uint64(pst.Position())}
	// attrd refused the promotee's position: the others cannot compare and lock themselves.
	unknown := s.writeFaults && s.faultRng.Intn(4) == 0 && s.pol == simNew
	for _, n := range s.nodes {
		if n == promotee || !n.running || n.primary || n.lost {
			continue
		}
		known := false
		reads := s.markReads("")
		for _, o := range note.Demote {
			// guard.go handsOver: a mark of a node demoted in this transition (new: one that
			// ends the history, MarkEndsTheHistory).
			v, found := s.get(simKey{node: o, name: simNames.DemotedLSN().Name, forever: s.pol == simNew})
			if s.pol == simNew {
				found, _ = MarkEndsTheHistory(o, AttrRead{Value: v, Found: found}, reads.Points)
			}
			known = known || found
		}
		if known {
			continue
		}
		st := n.localState()
		own := Position{Timeline: st.Timeline, LSN: uint64(st.Position())}
		if ok, _ := MayFollow(own, theirs); !ok || unknown {
			pub := s.pub(n, false)
			pub.score(n.name, ScoreCannotPromote)
			pub.set(simKey{node: n.name, name: simNames.DataStatus().Name, forever: true}, dataDisconnect)
			n.lock = simLock(lockEventDiverged, WALPoint{Timeline: own.Timeline, LSN: pgctl.LSN(own.LSN)})
			n.running, n.caughtUp = false, false
			n.flushN, n.replayN = len(n.wal), len(n.wal)
		}
	}
}

func (s *sim) postPromote(promotee *simNode) {
	for _, n := range s.nodes {
		if n == promotee || n.lost {
			continue
		}
		pub := s.pub(n, false)
		for _, name := range []string{simNames.PrePromotePosition().Name, simNames.XlogLoc().Name, simNames.XlogTimeline().Name} {
			pub.remove(simKey{node: n.name, name: name})
		}
		n.election = ElectionState{}
		n.following = StreamRecord{} // forgetFollowedPromotion
		if s.pol == simNew && n.running && !n.primary {
			s.unlockIfHandedOver(pub, n, false)
		}
	}
}

// notifyPrimary runs controlStandbys on the primary (post-start, post-stop).
func (s *sim) notifyPrimary() {
	if p := s.primary(); p != nil {
		s.controlStandbys(s.pub(p, false), p)
	}
}

// simOldClassify is ClassifyStandby of ee2038b (without its rep_mode.conf hint).
func simOldClassify(node string, rows []ReplicationRow, mode RepMode, nodeCount int) StandbyView {
	row := findRow(rows, node)
	v := StandbyView{Node: node, Score: ScoreCannotPromote}
	if row == nil {
		v.DataStatus, v.Reason = dataDisconnect, "not connected"
		return v
	}
	state, syncState := strings.ToUpper(row.State), strings.ToUpper(row.SyncState)
	v.DataStatus = state + "|" + syncState
	if state != "STREAMING" {
		v.Reason = "not streaming"
		return v
	}
	switch syncState {
	case "SYNC":
		v.Score, v.Reason = ScoreCanPromote, "streaming, synchronous"
	case "ASYNC":
		if mode == RepAsync && nodeCount <= 2 {
			v.Score, v.Reason = ScoreCanPromote, "streaming asynchronously (two nodes)"
		} else {
			v.Reason = "streaming asynchronously"
		}
	default:
		v.Reason = "streaming, " + syncState
	}
	return v
}
