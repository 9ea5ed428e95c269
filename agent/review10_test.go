package agent

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 10: explain answers "would rejoin automatically: yes" for a locked standby (docs/design.md
// §5, "A locked standby") that is in no_promote_nodes. Such a node never wins the election
// (DecideElection: a no_promote winner makes nobody claim), and while locked it follows no
// primary: after the dirty power cycle it holds the newest data, so no other node claims
// either, and the cluster stays without a primary until an admin acts. The answer must not
// promise what no step of the agent does.
func TestReview10ExplainLockedStandbyInNoPromoteNodes(t *testing.T) {
	f := dirtyPowerCycleFacts("STOP")
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

// Review 10: while the locked standby runs (docs/design.md §5, "A locked standby": the dirty
// power cycle's newest node, following no primary, waiting for the election), explain's start
// answer tells the admin to rebuild it "from the primary" and remove PGSQL.lock. No primary
// runs, and this node holds the newest data: rebuilding it from the node an admin would then
// promote loses every commit only it holds, which is what running it as a locked standby
// exists to keep. The answer must say that it takes part in the election instead.
func TestReview10ExplainRunningLockedStandbyNotToldToRebuild(t *testing.T) {
	f := dirtyPowerCycleFacts("HS:alone")
	f.Running, f.PID, f.WALEnd, f.Control = true, 42, nil, nil
	f.State = &pgctl.LocalState{InRecovery: true, Timeline: 4, ReplayLSN: 0x5000148}
	e := Explain(f)
	for _, a := range e.Answers {
		if a.Question != QuestionStart {
			continue
		}
		if strings.Contains(a.Fix, "rebuild") || strings.Contains(a.Fix, "remove") {
			t.Errorf("a running locked standby with no primary anywhere is told to discard its data: %s (fix: %s)", a.Because, a.Fix)
		}
		if !strings.Contains(a.Because, "election") {
			t.Errorf("the start answer does not say that this locked standby takes part in the election: %s", a.Because)
		}
	}
}

// readsFailing answers every query with a failure that outlasted the retry budget (the CIB
// busy: crm_attribute --query reads the CIB), while updates go through (a transient
// attribute's update goes to attrd, which accepts it and writes the CIB when it can).
type readsFailing struct{ *crmattr.Fake }

func (s readsFailing) Get(context.Context, string, string, crmattr.Lifetime) (string, bool, error) {
	return "", false, errors.New("crm_attribute query: exited 102 (4 attempts)")
}

func (s readsFailing) GetPromotionScore(context.Context, string, string) (string, bool, error) {
	return "", false, errors.New("crm_attribute promotion score query: exited 102 (4 attempts)")
}

// Review 10: a write that lowers promotability (I4, docs/design.md §1) reads the attribute
// first, bypassing the memory, and is skipped when that read fails. The primary's monitor
// then leaves a standby that stopped streaming at score 1000 and STREAMING|ASYNC although the
// update itself would have gone through; should the primary fail before the next monitor,
// Pacemaker promotes a standby no one vouches for (I1). With the retries of issue #12 the
// read spends the budget and the write is never even tried. A lowering write needs no
// old value: it must be attempted whatever the read says.
func TestReview10LoweringWriteNotSkippedWhenItsReadFails(t *testing.T) {
	ctx := context.Background()
	fake := &crmattr.Fake{}
	if err := fake.SetPromotionScore(ctx, "pgsql", "node2", ScorePromoteMe); err != nil {
		t.Fatal(err)
	}
	if err := fake.Set(ctx, "node2", "pgsql-data-status", dataStreamingAsyn, crmattr.Forever); err != nil {
		t.Fatal(err)
	}
	log := NewLogger(LogSettings{}, io.Discard)
	store := readsFailing{fake}
	a := &Agent{Env: Env{Instance: "pgsql:0", Action: "monitor"}, Attrs: store, Log: log}
	r := &replica{a: a, self: "node1", names: attrNames{resource: "pgsql"},
		c:   Config{TmpDir: t.TempDir(), NodeList: []string{"node1", "node2"}, RepMode: RepAsync},
		pub: newPublisher(store, "pgsql", "", true, log)}
	err := r.publishStandby(ctx, StandbyView{Node: "node2", DataStatus: dataDisconnect, Score: ScoreCannotPromote, Reason: "not connected to the primary"})
	score, _, _ := fake.GetPromotionScore(ctx, "pgsql", "node2")
	status, _, _ := fake.Get(ctx, "node2", "pgsql-data-status", crmattr.Forever)
	if score != ScoreCannotPromote || status != dataDisconnect {
		t.Errorf("the primary lowering node2 (the reads failing, the updates passing): score %s, data-status %s, want %s and %s (publishStandby: %v)",
			score, status, ScoreCannotPromote, dataDisconnect, err)
	}
}
