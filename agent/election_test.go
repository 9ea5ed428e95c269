package agent

import (
	"strings"
	"testing"
)

func TestDecideElection(t *testing.T) {
	pos := func(tli uint32, lsn uint64) Position { return Position{tli, lsn} }
	order := []string{"node1", "node2", "node3"}
	stable := func(p map[string]Position, rounds int) ElectionState {
		return ElectionState{Snapshot: p, Rounds: rounds}
	}
	cases := []struct {
		name      string
		prev      ElectionState
		published map[string]Position
		latest    map[string]bool
		self      string
		want      Verdict
		contend   []string // other node_list members that may hold newer data
	}{
		{"first round only seeds", ElectionState{}, map[string]Position{"node1": pos(1, 10)}, nil, "node1", Wait, nil},
		{"positions moved: start again", stable(map[string]Position{"node1": pos(1, 9)}, 2),
			map[string]Position{"node1": pos(1, 10)}, nil, "node1", Wait, nil},
		{"lone survivor wins after stable rounds", stable(map[string]Position{"node2": pos(1, 10)}, 2),
			map[string]Position{"node2": pos(1, 10)}, nil, "node2", Win, nil},
		{"higher LSN wins", stable(map[string]Position{"node1": pos(1, 10), "node2": pos(1, 20)}, 2),
			map[string]Position{"node1": pos(1, 10), "node2": pos(1, 20)}, nil, "node1", Lose, nil},
		{"timeline before LSN: a promoted timeline beats a longer old one",
			stable(map[string]Position{"node1": pos(1, 900), "node2": pos(2, 100)}, 2),
			map[string]Position{"node1": pos(1, 900), "node2": pos(2, 100)}, nil, "node2", Win, nil},
		{"PAF#225 equal LSN after restart: the last primary wins the tie",
			stable(map[string]Position{"node1": pos(1, 10), "node2": pos(1, 10)}, 2),
			map[string]Position{"node1": pos(1, 10), "node2": pos(1, 10)}, map[string]bool{"node2": true}, "node2", Win, nil},
		{"equal LSN, no last primary: node_list order, only one winner",
			stable(map[string]Position{"node1": pos(1, 10), "node2": pos(1, 10)}, 2),
			map[string]Position{"node1": pos(1, 10), "node2": pos(1, 10)}, nil, "node2", Lose, nil},
		// issue #13 §4: node1 is in no_promote_nodes.
		{"no_promote node with the newest data does not claim",
			stable(map[string]Position{"node1": pos(1, 20), "node2": pos(1, 10)}, 2),
			map[string]Position{"node1": pos(1, 20), "node2": pos(1, 10)}, nil, "node1", Wait, nil},
		{"a node behind a no_promote node does not claim either (its data would be lost)",
			stable(map[string]Position{"node1": pos(1, 20), "node2": pos(1, 10)}, 2),
			map[string]Position{"node1": pos(1, 20), "node2": pos(1, 10)}, nil, "node2", Wait, nil},
		{"a tie goes to the promotable node, not the no_promote one, even the last primary first in node_list",
			stable(map[string]Position{"node1": pos(1, 10), "node2": pos(1, 10)}, 2),
			map[string]Position{"node1": pos(1, 10), "node2": pos(1, 10)}, map[string]bool{"node1": true}, "node2", Win, nil},
		{"a no_promote node alone never claims", stable(map[string]Position{"node1": pos(1, 10)}, 2),
			map[string]Position{"node1": pos(1, 10)}, nil, "node1", Wait, nil},
		// issue #13 §3, cold start: contenders (other members whose data-status lets them
		// hold newer data) that published nothing.
		{"cold start: the last primary is down, a stale node booted first waits",
			stable(map[string]Position{"node2": pos(1, 10)}, 2),
			map[string]Position{"node2": pos(1, 10)}, map[string]bool{"node1": true}, "node2", Wait, []string{"node1"}},
		{"cold start: a streaming standby that may be newer has not published",
			stable(map[string]Position{"node1": pos(1, 10), "node2": pos(1, 20)}, 2),
			map[string]Position{"node1": pos(1, 10), "node2": pos(1, 20)}, nil, "node2", Wait, []string{"node1", "node3"}},
		{"failover: streamed in this run, the dead last primary is not waited for",
			stable(map[string]Position{"node2": pos(1, 10)}, 2),
			map[string]Position{"node2": pos(1, 10)}, map[string]bool{"node1": true}, "node2", Win, []string{"node1"}},
		{"cold start: every contender published, the newest wins",
			stable(map[string]Position{"node1": pos(1, 10), "node2": pos(1, 20)}, 2),
			map[string]Position{"node1": pos(1, 10), "node2": pos(1, 20)}, map[string]bool{"node1": true}, "node2", Win, []string{"node1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got, reason := DecideElection(tc.prev, ElectionInput{Self: tc.self, NodeOrder: order,
				Published: tc.published, LastLatest: tc.latest, CheckCount: 3, NoPromote: noPromote(tc.name),
				Contenders: tc.contend, Streamed: strings.HasPrefix(tc.name, "failover: streamed")})
			if got != tc.want {
				t.Errorf("verdict %v (%s), want %v", got, reason, tc.want)
			}
		})
	}
}

func TestElectionEligible(t *testing.T) {
	cases := []struct {
		mode   RepMode
		status string
		want   bool
	}{
		{RepAsync, "", true}, {RepAsync, "LATEST", true}, {RepAsync, "STREAMING|ASYNC", true},
		{RepSync, "STREAMING|ASYNC", false}, {RepSync, "STREAMING|SYNC", true},
		{RepAsync, "DISCONNECT", false}, {RepSync, "STREAMING|POTENTIAL", false}, {RepAsync, "CATCHUP|ASYNC", false},
	}
	for _, tc := range cases {
		if got := ElectionEligible(tc.mode, tc.status); got != tc.want {
			t.Errorf("ElectionEligible(%s, %q) = %v, want %v", tc.mode, tc.status, got, tc.want)
		}
	}
}

func TestLastPrimaryMayClaim(t *testing.T) {
	cases := []struct {
		name   string
		status map[string]string
		clean  bool
		want   bool
	}{
		{"fresh cluster: the initdb'd primary", map[string]string{}, true, true},
		{"fresh cluster: a base backup (not a primary's shutdown)", map[string]string{}, false, false},
		{"clean full-cluster restart: the last primary, demoted to a standby at stop",
			map[string]string{"node1": "LATEST", "node2": "STREAMING|ASYNC"}, false, true},
		{"resource-agents#699 old primary restarted after failover",
			map[string]string{"node1": "DISCONNECT", "node2": "LATEST"}, true, false},
		{"two LATEST (a write of DISCONNECT failed): leave it to the election",
			map[string]string{"node1": "LATEST", "node2": "LATEST"}, true, false},
		{"a standby of the last primary", map[string]string{"node1": "STREAMING|ASYNC"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := LastPrimaryMayClaim("node1", tc.status, tc.clean); got != tc.want || why == "" {
				t.Errorf("got %v (%q), want %v", got, why, tc.want)
			}
		})
	}
}

// noPromote: the cases whose name says so have node1 in no_promote_nodes.
func noPromote(name string) []string {
	if strings.Contains(name, "no_promote") {
		return []string{"node1"}
	}
	return nil
}
