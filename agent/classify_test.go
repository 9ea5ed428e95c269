package agent

import (
	"slices"
	"testing"
)

func TestClassifyStandby(t *testing.T) {
	streaming := func(app, sync string) []ReplicationRow {
		return []ReplicationRow{{ApplicationName: app, State: "streaming", SyncState: sync}}
	}
	cases := []struct {
		name       string
		rows       []ReplicationRow
		mode       RepMode
		nodes      int
		wantData   string
		wantScore  string
		wantStatus string
		wantSync   syncChange
	}{
		{"CFEngine pair: streaming async standby is promotable", streaming("node2", "async"), RepAsync, 2,
			"STREAMING|ASYNC", ScoreCanPromote, StatusAsync, syncMakeSync},
		{"three nodes async: the newest standby is unknown", streaming("node2", "async"), RepAsync, 3,
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync, syncMakeSync},
		{"sync mode: an async standby may lack acknowledged commits", streaming("node2", "async"), RepSync, 2,
			"STREAMING|ASYNC", ScoreCannotPromote, StatusAsync, syncMakeSync},
		{"sync standby is promotable", streaming("node2", "sync"), RepSync, 3,
			"STREAMING|SYNC", ScoreCanPromote, StatusSync, syncKeep},
		{"potential standby is not promotable", streaming("node2", "potential"), RepSync, 3,
			"STREAMING|POTENTIAL", ScoreCannotPromote, StatusPotential, syncKeep},
		{"#1275 quorum sync_state named, not promotable", streaming("node2", "quorum"), RepSync, 3,
			"STREAMING|QUORUM", ScoreCannotPromote, StatusPotential, syncKeep},
		{"no row: DISCONNECT, status left to the standby", nil, RepAsync, 2,
			"DISCONNECT", ScoreCannotPromote, "", syncDropIfNamed},
		{"catchup is connected, not streaming", []ReplicationRow{{ApplicationName: "node2", State: "catchup", SyncState: "async"}}, RepSync, 2,
			"CATCHUP|ASYNC", ScoreCannotPromote, StatusConnected, syncDropIfNamed},
		{"PR#1552 upper-case application_name matches the node", streaming("NODE2", "sync"), RepSync, 2,
			"STREAMING|SYNC", ScoreCanPromote, StatusSync, syncKeep},
		{"rows of other clients (CFEngine DR node) are ignored", streaming("drnode", "async"), RepAsync, 2,
			"DISCONNECT", ScoreCannotPromote, "", syncDropIfNamed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := ClassifyStandby("node2", tc.rows, tc.mode, tc.nodes)
			if v.DataStatus != tc.wantData || v.Score != tc.wantScore || v.Status != tc.wantStatus || v.Sync != tc.wantSync {
				t.Errorf("got data=%q score=%q status=%q sync=%v, want %q %q %q %v",
					v.DataStatus, v.Score, v.Status, v.Sync, tc.wantData, tc.wantScore, tc.wantStatus, tc.wantSync)
			}
			if v.Reason == "" {
				t.Error("no reason given")
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

func TestSyncStandbyOrder(t *testing.T) {
	views := []StandbyView{{Node: "node2"}, {Node: "node3"}}
	cases := []struct {
		name      string
		current   []string
		streaming map[string]bool
		want      []string
	}{
		{"first streaming standby becomes sync, the next potential", nil,
			map[string]bool{"node2": true, "node3": true}, []string{"node2", "node3"}},
		{"the sync standby stays first while it streams", []string{"node3", "node2"},
			map[string]bool{"node2": true, "node3": true}, []string{"node3", "node2"}},
		{"6ad25cf64 a sync standby that stops streaming leaves the list", []string{"node2", "node3"},
			map[string]bool{"node2": false, "node3": true}, []string{"node3"}},
		{"no standby streams: no synchronous standby, commits never wait", []string{"node2"},
			map[string]bool{"node2": false, "node3": false}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := SyncStandbyOrder(tc.current, views, tc.streaming); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
