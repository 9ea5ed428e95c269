package agent

import (
	"slices"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

func TestClassifyStandby(t *testing.T) {
	const primaryAt = pgctl.LSN(0x5000000)
	streaming := func(app, sync string) []ReplicationRow {
		return []ReplicationRow{{ApplicationName: app, State: "streaming", SyncState: sync, FlushLSN: primaryAt}}
	}
	confirmed := SyncConfirm{Node: "node2", Armed: true, From: primaryAt}
	cases := []struct {
		name       string
		rows       []ReplicationRow
		mode       RepMode
		nodes      int
		confirm    SyncConfirm
		wantData   string
		wantScore  string
		wantStatus string
	}{
		{"CFEngine pair: streaming async standby that caught up is promotable", streaming("node2", "async"), RepAsync, 2, SyncConfirm{},
			"STREAMING|ASYNC", ScoreCanPromote, StatusAsync},
		{"#10 defect 1: streaming but 1.5 GB behind is not promotable",
			[]ReplicationRow{{ApplicationName: "node2", State: "streaming", SyncState: "async", FlushLSN: 0x1000}}, RepAsync, 2, SyncConfirm{},
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync},
		{"streaming with no flush position reported yet is not promotable",
			[]ReplicationRow{{ApplicationName: "node2", State: "streaming", SyncState: "async"}}, RepAsync, 2, SyncConfirm{},
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync},
		{"three nodes async: the newest standby is unknown", streaming("node2", "async"), RepAsync, 3, SyncConfirm{},
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync},
		{"sync mode: an async standby may lack acknowledged commits",
			append(streaming("node2", "async"), streaming("node3", "sync")...), RepSync, 3, SyncConfirm{},
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync},
		{"confirmed sync standby is promotable", streaming("node2", "sync"), RepSync, 3, confirmed,
			"STREAMING|SYNC", ScoreCanPromote, StatusSync},
		{"#10 defect 3: a sync standby not yet confirmed is shown async, not promotable", streaming("node2", "sync"), RepSync, 3,
			SyncConfirm{Node: "node2"}, "STREAMING|ASYNC", ScoreCannotPromote, StatusAsync},
		{"a sync standby below the confirmation position is not promotable",
			[]ReplicationRow{{ApplicationName: "node2", State: "streaming", SyncState: "sync", FlushLSN: primaryAt - 1}}, RepSync, 3, confirmed,
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync},
		{"potential standby is not promotable", streaming("node2", "potential"), RepSync, 3, SyncConfirm{},
			"STREAMING|POTENTIAL", ScoreCannotPromote, StatusPotential},
		{"#1275 quorum sync_state named, not promotable", streaming("node2", "quorum"), RepSync, 3, SyncConfirm{},
			"STREAMING|QUORUM", ScoreCannotPromote, StatusPotential},
		{"no row: DISCONNECT and HS:alone, also for a standby whose receiver still says streaming", nil, RepAsync, 2, SyncConfirm{},
			"DISCONNECT", ScoreCannotPromote, StatusAlone},
		{"catchup is connected, not streaming", []ReplicationRow{{ApplicationName: "node2", State: "catchup", SyncState: "async"}}, RepSync, 2, SyncConfirm{},
			"CATCHUP|ASYNC", ScoreCannotPromote, StatusConnected},
		{"PR#1552 upper-case application_name matches the node", streaming("NODE2", "sync"), RepSync, 2, confirmed,
			"STREAMING|SYNC", ScoreCanPromote, StatusSync},
		{"rows of other clients (CFEngine DR node) are ignored", streaming("drnode", "async"), RepAsync, 2, SyncConfirm{},
			"DISCONNECT", ScoreCannotPromote, StatusAlone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nodes := []string{"node2", "node3"}[:tc.nodes-1]
			named := ""
			if tc.mode == RepSync {
				named = "node2"
				if tc.confirm.Node == "" {
					named = "node3"
				}
			}
			plan := JudgeStandbys(PrimaryFacts{Mode: tc.mode, Nodes: nodes, NodeCount: tc.nodes, CurrentLSN: primaryAt,
				Rows: tc.rows, SyncNamed: named, Confirm: tc.confirm})
			v := plan.Views[0]
			if v.Node != "node2" || v.DataStatus != tc.wantData || v.Score != tc.wantScore || v.Status != tc.wantStatus {
				t.Errorf("got data=%q score=%q status=%q, want %q %q %q (%s)",
					v.DataStatus, v.Score, v.Status, tc.wantData, tc.wantScore, tc.wantStatus, v.Reason)
			}
			if v.Reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

// TestSyncStandbyNaming follows the named standby through rounds: exactly one name, kept while
// it streams, replaced by the first streaming standby when it stops, and promotable only after
// it was seen synchronous in one round and has flushed the primary's position of a later one.
func TestSyncStandbyNaming(t *testing.T) {
	row := func(node, sync string, flush pgctl.LSN) ReplicationRow {
		return ReplicationRow{ApplicationName: node, State: "streaming", SyncState: sync, FlushLSN: flush}
	}
	type round struct {
		at        pgctl.LSN
		rows      []ReplicationRow
		wantNamed string
		wantNode2 string // node2's score after the round
	}
	cases := []struct {
		name   string
		named  string // rep_mode.conf before the first round
		rounds []round
	}{
		{"a new standby earns its score in the third round, after a checkpoint in the second", "", []round{
			{0x100, []ReplicationRow{row("node2", "async", 0x100)}, "node2", ScoreCannotPromote},
			{0x200, []ReplicationRow{row("node2", "sync", 0x200)}, "node2", ScoreCannotPromote},
			{0x300, []ReplicationRow{row("node2", "sync", 0x300)}, "node2", ScoreCanPromote},
			{0x400, []ReplicationRow{row("node2", "sync", 0x380)}, "node2", ScoreCanPromote},
		}},
		{"#10 defect 3: the next standby takes over only by name and must earn its score", "node3", []round{
			{0x100, []ReplicationRow{row("node3", "sync", 0x100), row("node2", "async", 0x100)}, "node3", ScoreCannotPromote},
			{0x200, []ReplicationRow{row("node3", "sync", 0x200), row("node2", "async", 0x100)}, "node3", ScoreCannotPromote},
			// node3's stream drops: node2 is named, still shown async and unpromotable.
			{0x300, []ReplicationRow{row("node2", "async", 0x180)}, "node2", ScoreCannotPromote},
			{0x400, []ReplicationRow{row("node2", "sync", 0x400)}, "node2", ScoreCannotPromote},
			{0x500, []ReplicationRow{row("node2", "sync", 0x480)}, "node2", ScoreCannotPromote},
			{0x600, []ReplicationRow{row("node2", "sync", 0x600)}, "node2", ScoreCanPromote},
		}},
		{"no standby streams: none named, commits never wait", "", []round{
			{0x100, []ReplicationRow{row("node2", "async", 0x100)}, "node2", ScoreCannotPromote},
			{0x200, nil, "", ScoreCannotPromote},
		}},
		{"a sync standby that was not synchronous for a round starts over", "", []round{
			{0x100, []ReplicationRow{row("node2", "async", 0x100)}, "node2", ScoreCannotPromote},
			{0x200, []ReplicationRow{row("node2", "sync", 0x200)}, "node2", ScoreCannotPromote},
			{0x300, []ReplicationRow{row("node2", "async", 0x300)}, "node2", ScoreCannotPromote},
			{0x400, []ReplicationRow{row("node2", "sync", 0x400)}, "node2", ScoreCannotPromote},
			{0x500, []ReplicationRow{row("node2", "sync", 0x500)}, "node2", ScoreCanPromote},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			named, confirm := tc.named, SyncConfirm{}
			for i, rd := range tc.rounds {
				plan := JudgeStandbys(PrimaryFacts{Mode: RepSync, Nodes: []string{"node2", "node3"}, NodeCount: 3,
					CurrentLSN: rd.at, Rows: rd.rows, SyncNamed: named, Confirm: confirm})
				// The CHECKPOINT comes exactly in the round that arms the named standby.
				if armed := plan.Confirm.Armed && !confirm.Armed; plan.Checkpoint != armed {
					t.Fatalf("round %d: checkpoint %v, arming %v", i+1, plan.Checkpoint, armed)
				}
				if plan.SyncNamed != rd.wantNamed || plan.Views[0].Score != rd.wantNode2 {
					t.Fatalf("round %d: named %q, node2 %s (%s); want %q, %s", i+1, plan.SyncNamed,
						plan.Views[0].Score, plan.Views[0].Reason, rd.wantNamed, rd.wantNode2)
				}
				for _, v := range plan.Views {
					if v.Promotable() && v.Node != plan.SyncNamed {
						t.Fatalf("round %d: %s promotable but not the named standby", i+1, v.Node)
					}
				}
				named, confirm = plan.SyncNamed, plan.Confirm
			}
		})
	}
}

func TestSlotNames(t *testing.T) {
	cases := map[string]string{"node1": "pgsql_node1", "Node-2.example.com": "pgsql_node_2_example_com"}
	for node, want := range cases {
		if got := SlotName("pgsql", node); got != want {
			t.Errorf("SlotName(pgsql, %q) = %q, want %q", node, got, want)
		}
	}
}

// TestSyncArmingNeedsACheckpoint (issue #10 review): the round that first sees the named
// standby synchronous asks for a CHECKPOINT (so the checkpointer has applied the reload that
// decides whether commits wait), and no later round does.
func TestSyncArmingNeedsACheckpoint(t *testing.T) {
	facts := PrimaryFacts{Mode: RepSync, Nodes: []string{"node2"}, NodeCount: 2, CurrentLSN: 0x200,
		Rows:      []ReplicationRow{{ApplicationName: "node2", State: "streaming", SyncState: "sync", FlushLSN: 0x200}},
		SyncNamed: "node2", Confirm: SyncConfirm{Node: "node2"}}
	plan := JudgeStandbys(facts)
	if !plan.Checkpoint || !plan.Confirm.Armed || plan.Confirm.From != 0 || plan.Views[0].Promotable() {
		t.Fatalf("arming round: checkpoint %v, confirm %+v, promotable %v", plan.Checkpoint, plan.Confirm, plan.Views[0].Promotable())
	}
	facts.Confirm, facts.CurrentLSN = plan.Confirm, 0x300
	facts.Rows[0].FlushLSN = 0x300
	plan = JudgeStandbys(facts)
	if plan.Checkpoint || plan.Confirm.From != 0x300 || !plan.Views[0].Promotable() {
		t.Fatalf("next round: checkpoint %v, confirm %+v, promotable %v", plan.Checkpoint, plan.Confirm, plan.Views[0].Promotable())
	}
}

// TestPromotionLimits (issue #13 §4): max_lag and no_promote_nodes only lower a standby the
// other rules make promotable; status and data-status stay what the row says (a reporting
// replica shows HS:async), and the reason names the parameter.
func TestPromotionLimits(t *testing.T) {
	const at = pgctl.LSN(0x5000000)
	row := func(node, sync string, flush pgctl.LSN) ReplicationRow {
		return ReplicationRow{ApplicationName: node, State: "streaming", SyncState: sync, FlushLSN: flush}
	}
	cases := []struct {
		name       string
		mode       RepMode
		nodes      []string
		rows       []ReplicationRow
		named      string
		confirm    SyncConfirm
		maxLag     uint64
		noPromote  []string
		wantNamed  string
		wantScore  map[string]string
		wantStatus map[string]string
		wantReason string // in node2's reason
	}{
		{"max_lag off: 1 MiB behind is within the segment bound", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at-1<<20)}, "", SyncConfirm{}, 0, nil, "",
			map[string]string{"node2": ScoreCanPromote}, map[string]string{"node2": StatusAsync}, "caught up"},
		{"max_lag 64 KiB: 1 MiB behind is not promotable", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at-1<<20)}, "", SyncConfirm{}, 64 << 10, nil, "",
			map[string]string{"node2": ScoreCannotPromote}, map[string]string{"node2": StatusAsync}, "max_lag=65536"},
		{"max_lag exactly reached is still promotable", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at-100)}, "", SyncConfirm{}, 100, nil, "",
			map[string]string{"node2": ScoreCanPromote}, map[string]string{"node2": StatusAsync}, "caught up"},
		{"max_lag 1 byte: one byte more is not promotable", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at-2)}, "", SyncConfirm{}, 1, nil, "",
			map[string]string{"node2": ScoreCannotPromote}, map[string]string{"node2": StatusAsync}, "2 bytes behind"},
		{"a flush position past the primary's (read later) is not behind", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at+10)}, "", SyncConfirm{}, 1, nil, "",
			map[string]string{"node2": ScoreCanPromote}, map[string]string{"node2": StatusAsync}, "caught up"},
		{"max_lag never raises: 20 MiB behind with max_lag 1 GiB stays unpromotable", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at-20<<20)}, "", SyncConfirm{}, 1 << 30, nil, "",
			map[string]string{"node2": ScoreCannotPromote}, map[string]string{"node2": StatusAsync}, "behind"},
		{"confirmed sync standby beyond max_lag is not promotable", RepSync, []string{"node2"},
			[]ReplicationRow{row("node2", "sync", at-4096)}, "node2", SyncConfirm{Node: "node2", Armed: true, From: at - 8192}, 1024, nil, "node2",
			map[string]string{"node2": ScoreCannotPromote}, map[string]string{"node2": StatusSync}, "max_lag=1024"},
		{"async reporting replica streams, keeps HS:async, never promotable", RepAsync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at)}, "", SyncConfirm{}, 0, []string{"node2"}, "",
			map[string]string{"node2": ScoreCannotPromote}, map[string]string{"node2": StatusAsync}, "no_promote_nodes"},
		{"sync: a no_promote node is not named; the promotable one is", RepSync, []string{"node2", "node3"},
			[]ReplicationRow{row("node2", "async", at), row("node3", "async", at)}, "", SyncConfirm{}, 0, []string{"node2"}, "node3",
			map[string]string{"node2": ScoreCannotPromote, "node3": ScoreCannotPromote},
			map[string]string{"node2": StatusAsync, "node3": StatusAsync}, "asynchronously"},
		{"sync: a named node added to no_promote_nodes is replaced", RepSync, []string{"node2", "node3"},
			[]ReplicationRow{row("node2", "sync", at), row("node3", "async", at)}, "node2", SyncConfirm{Node: "node2", Armed: true, From: at},
			0, []string{"node2"}, "node3",
			map[string]string{"node2": ScoreCannotPromote, "node3": ScoreCannotPromote},
			map[string]string{"node2": StatusPotential, "node3": StatusAsync}, "not the standby the agent named"},
		{"sync: only no_promote nodes stream: none named, commits do not wait", RepSync, []string{"node2"},
			[]ReplicationRow{row("node2", "async", at)}, "", SyncConfirm{}, 0, []string{"node2"}, "",
			map[string]string{"node2": ScoreCannotPromote}, map[string]string{"node2": StatusAsync}, "asynchronously"},
		{"sync: the confirmed promotable standby keeps 100 beside a reporting replica", RepSync, []string{"node2", "node3"},
			[]ReplicationRow{row("node2", "async", at), row("node3", "sync", at)}, "node3", SyncConfirm{Node: "node3", Armed: true, From: at},
			0, []string{"node2"}, "node3",
			map[string]string{"node2": ScoreCannotPromote, "node3": ScoreCanPromote},
			map[string]string{"node2": StatusAsync, "node3": StatusSync}, "asynchronously"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := JudgeStandbys(PrimaryFacts{Mode: tc.mode, Nodes: tc.nodes, NodeCount: len(tc.nodes) + 1, CurrentLSN: at,
				Rows: tc.rows, SyncNamed: tc.named, Confirm: tc.confirm, MaxLag: tc.maxLag, NoPromote: tc.noPromote})
			if plan.SyncNamed != tc.wantNamed {
				t.Errorf("named %q, want %q", plan.SyncNamed, tc.wantNamed)
			}
			for _, v := range plan.Views {
				if v.Score != tc.wantScore[v.Node] || v.Status != tc.wantStatus[v.Node] {
					t.Errorf("%s: score %s status %s (%s); want %s %s", v.Node, v.Score, v.Status, v.Reason,
						tc.wantScore[v.Node], tc.wantStatus[v.Node])
				}
				if v.Node == "node2" && !strings.Contains(v.Reason, tc.wantReason) {
					t.Errorf("node2's reason %q does not mention %q", v.Reason, tc.wantReason)
				}
			}
		})
	}
}

func TestWithinMaxLag(t *testing.T) {
	for _, tc := range []struct {
		maxLag        uint64
		received, end pgctl.LSN
		want          bool
	}{
		{0, 0x100, 0x900000, true}, {0x100, 0x100, 0x200, true}, {0x100, 0x100, 0x201, false},
		{0x100, 0x300, 0x200, true}, {0x100, 0x100, 0, false},
	} {
		if got := WithinMaxLag(tc.maxLag, tc.received, tc.end); got != tc.want {
			t.Errorf("WithinMaxLag(%d, %s, %s) = %v, want %v", tc.maxLag, tc.received, tc.end, got, tc.want)
		}
	}
}

// TestStaleWalSenders: after a post-stop notification the primary ends the walsenders of the
// stopped nodes crm_mon shows fenced, only when the cluster fences, never its own name's, and
// only theirs. fenced(...) is a view with stonith on where the named nodes are offline and
// clean and every other node of node1..node5 online.
func TestStaleWalSenders(t *testing.T) {
	rows := []ReplicationRow{
		{ApplicationName: "node2", State: "STREAMING", SyncState: "SYNC", PID: 20},
		{ApplicationName: " Node3", State: "STREAMING", SyncState: "ASYNC", PID: 30},
		{ApplicationName: "node4", State: "CATCHUP", SyncState: "ASYNC", PID: 40},
		{ApplicationName: "node1", PID: 10},
	}
	fenced := func(nodes ...string) crmattr.ClusterView {
		view := crmattr.ClusterView{Online: map[string]bool{}, StonithEnabled: true}
		for _, n := range []string{"node1", "node2", "node3", "node4", "node5"} {
			view.Online[n] = !slices.Contains(nodes, n)
		}
		return view
	}
	noFencing := fenced("node2")
	noFencing.StonithEnabled = false
	unclean := fenced("node2", "node4")
	unclean.Unclean = []string{"node2"}
	absent := fenced("node4")
	delete(absent.Online, "node2")
	cases := []struct {
		name    string
		stopped []string
		view    crmattr.ClusterView
		want    []int32
	}{
		{"the fenced sync standby", []string{"node2"}, fenced("node2"), []int32{20}},
		{"no fencing: the stop is assumed, nothing ended", []string{"node2"}, noFencing, nil},
		{"a row whose name differs in case and spaces", []string{"node3"}, fenced("node3"), []int32{30}},
		{"two stopped, one of them not connected", []string{"node4", "node5"}, fenced("node4", "node5"), []int32{40}},
		{"the primary itself in the list", []string{"node1"}, fenced("node1"), nil},
		{"nothing stopped", nil, fenced("node2"), nil},
		{"fenced but not reported stopped", []string{"node4"}, fenced("node2", "node4"), []int32{40}},
		// Review 17: crm_mon still shows node2 unclean (the resource does not require fencing,
		// or the fence is pending or failed): its walsender stays; node4's, fenced, goes.
		{"one stopped node unclean, one fenced", []string{"node2", "node4"}, unclean, []int32{40}},
		// Review 18: node3 shown online (this replica has not recorded its loss), node2 absent.
		{"stopped but shown online", []string{"node3", "node4"}, fenced("node4"), []int32{40}},
		{"stopped but absent from crm_mon", []string{"node2", "node4"}, absent, []int32{40}},
		// Review 19: node3 had no walsender when the primary first looked, so it was not among
		// the nodes asked about; its walsender is back now and crm_mon shows it online.
		{"a walsender back after the first read, its node online", []string{"node2", "node3"}, fenced("node2"), []int32{20}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int32
			for _, row := range StaleWalSenders(rows, c.stopped, "node1", c.view) {
				got = append(got, row.PID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("StaleWalSenders(stopped %v, view %+v) ends pids %v, want %v", c.stopped, c.view, got, c.want)
			}
		})
	}
}

// TestStoppedWithWalSender: the stopped nodes the primary asks crm_mon about are those with a
// walsender, each once, never the primary's own name.
func TestStoppedWithWalSender(t *testing.T) {
	rows := []ReplicationRow{
		{ApplicationName: "node2", PID: 20}, {ApplicationName: "Node2 ", PID: 21},
		{ApplicationName: "node3", PID: 30}, {ApplicationName: "node1", PID: 10},
	}
	got := StoppedWithWalSender(rows, []string{"node1", "node2", "node4"}, "node1")
	if want := []string{"node2"}; !slices.Equal(got, want) {
		t.Errorf("StoppedWithWalSender = %v, want %v: node2 has two rows, node3 is not stopped, node4 has no walsender, node1 is the primary", got, want)
	}
}
