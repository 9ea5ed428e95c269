package agent

import (
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 10: explain answers "would rejoin automatically: yes" for a locked standby (docs/design.md
// §5, "A locked standby") that is in no_promote_nodes. Such a node never wins the election
// (DecideElection: a no_promote winner makes nobody claim), and while locked it follows no
// primary: after the dirty power cycle it holds the newest data, so no other node claims
// either, and the cluster stays without a primary until an admin acts. The answer must not
// promise what no step of the agent does.
func TestReview10ExplainLockedStandbyInNoPromoteNodes(t *testing.T) {
	f := crashedOldPrimary(0x5000060, 0x5000148)
	f.Attrs = explainAttrs(map[string]map[string]string{
		"node1": {"status": "STOP", "data-status": "LATEST", "score": "-INFINITY",
			"promote-point": "node1:3:00000000050000A0:4:2 node2:2:0000000004000000:3:1"},
		"node2": {"status": "STOP", "data-status": "DISCONNECT", "score": "-INFINITY",
			"promote-point": "node2:2:0000000004000000:3:1"}})
	f.WALEnd.Timeline, f.WALEnd.Switch = 4, &pgctl.TimelineSwitch{Parent: 3, At: 0x50000A0}
	f.Lock.Fields["timeline"], f.Lock.Fields["promote_seq"] = "4", "2"
	f.Promoted = nil
	f.Config.NoPromoteNodes = []string{"node1"}

	// The election itself: node1 holds the newest position and is in no_promote_nodes.
	_, verdict, why := DecideElection(ElectionState{Rounds: 5}, ElectionInput{Self: "node1", NodeOrder: []string{"node1", "node2"},
		CheckCount: 1, NoPromote: []string{"node1"},
		Published: map[string]Position{"node1": {Timeline: 4, LSN: 0x5000148}}, LastLatest: map[string]bool{"node1": true}})
	if verdict == Win {
		t.Fatalf("a node in no_promote_nodes won the election: %s", why)
	}

	a := ExplainRejoin(f)
	if a.Verdict == "yes" {
		t.Errorf("would rejoin automatically: %s, because %s; but node1 is in no_promote_nodes: it never wins the election and follows no primary while locked", a.Verdict, a.Because)
	}
	if a.Verdict != "yes" && !strings.Contains(a.Because+a.Fix, "no_promote_nodes") {
		t.Errorf("the answer does not name no_promote_nodes: %s (%s; fix %s)", a.Verdict, a.Because, a.Fix)
	}
}
