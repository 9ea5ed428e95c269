package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
)

// Review 11: a promote lowers every other node's score before it promotes (docs/design.md
// §3): the others' scores were judged against the old primary's history, and the new
// primary's commits are on none of them. lowerScore skips the write when it cannot read the
// score first, the defect review 10 closed for the primary's monitor (I4: a read that fails
// does not skip a lowering write): should the new primary fail before its first monitor
// lowers them, Pacemaker promotes a node at 1000 that lacks what it acknowledged (I1).
func TestReview11PromoteLowersAScoreItCannotRead(t *testing.T) {
	ctx := context.Background()
	fake := &crmattr.Fake{}
	if err := fake.SetPromotionScore(ctx, "pgsql", "node3", ScorePromoteMe); err != nil {
		t.Fatal(err)
	}
	log := quietLogger()
	store := readsFailing{fake}
	a := &Agent{Env: Env{Instance: "pgsql:1", Action: "promote"}, Attrs: store, Log: log}
	r := &replica{a: a, self: "node2", names: attrNames{resource: "pgsql"},
		c:   Config{TmpDir: t.TempDir(), NodeList: []string{"node1", "node2", "node3"}, RepMode: RepAsync},
		pub: newPublisher(store, "pgsql", "", false, log)}
	r.lowerScore(ctx, "node3")
	if score, _, _ := fake.GetPromotionScore(ctx, "pgsql", "node3"); score != ScoreCannotPromote {
		t.Errorf("the promotee lowering node3 (the reads failing, the updates passing): score %s, want %s", score, ScoreCannotPromote)
	}
}

// ProbeLock proves tmpdir takes the lock without creating it or leaving a file, and fails
// where the lock could not be written.
func TestReview11ProbeLockLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	rec := LockRecord{Event: lockEventPromoted, Node: "node2", Timeline: 2, At: time.Now()}
	if err := ProbeLock(dir, rec); err != nil {
		t.Fatalf("ProbeLock on a writable tmpdir: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("ProbeLock left %v (%v) in tmpdir", entries, err)
	}
	if err := ProbeLock(filepath.Join(dir, "missing"), rec); err == nil {
		t.Error("ProbeLock succeeded where the lock cannot be written (no such directory)")
	}
}

// Review 11: a lowering write after a failed read (review 10) is logged as changed "from
// (none)", which says the attribute did not exist: an admin reading the log after a failover
// concludes the node never had a score or data-status. The old value is unknown, and the log
// must say so.
func TestReview11LoweringAfterAFailedReadLogsTheOldValueAsUnknown(t *testing.T) {
	ctx := context.Background()
	fake := &crmattr.Fake{}
	_ = fake.SetPromotionScore(ctx, "pgsql", "node2", ScorePromoteMe)
	var out strings.Builder
	p := newPublisher(readsFailing{fake}, "pgsql", "", true, NewLogger(LogSettings{}, &out))
	if changed, err := p.score(ctx, "node2", ScoreCannotPromote); err != nil || !changed {
		t.Fatalf("lowering with the read failing: changed=%v err=%v", changed, err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "attribute changed") && strings.Contains(line, "(none)") {
			t.Errorf("the old value, which could not be read, is logged as absent: %s", line)
		}
	}
}

// countingReadsFailing is readsFailing that counts the score reads.
type countingReadsFailing struct {
	readsFailing
	scoreReads *int
}

func (s countingReadsFailing) GetPromotionScore(ctx context.Context, resource, node string) (string, bool, error) {
	*s.scoreReads++
	return s.readsFailing.GetPromotionScore(ctx, resource, node)
}

// Review 11: lowering a score "where the node has one" reads it twice (publishStandbyScore's
// and lowerScore's own read, then set's), and after review 10 a failed read no longer ends
// it: each failed read can cost crm_attr_timeout and what is left of the retry budget, so the
// second, useless one takes time the action's deadline may not leave for the write itself
// (I4, I6). One read must decide both whether the score exists and whether it differs.
func TestReview11LoweringAScoreReadsItOnce(t *testing.T) {
	ctx := context.Background()
	fake := &crmattr.Fake{}
	_ = fake.SetPromotionScore(ctx, "pgsql", "node2", ScorePromoteMe)
	_ = fake.SetPromotionScore(ctx, "pgsql", "node3", ScorePromoteMe)
	reads := 0
	store := countingReadsFailing{readsFailing{fake}, &reads}
	log := quietLogger()
	a := &Agent{Env: Env{Instance: "pgsql:0", Action: "monitor"}, Attrs: store, Log: log}
	r := &replica{a: a, self: "node1", names: attrNames{resource: "pgsql"},
		c:   Config{TmpDir: t.TempDir(), NodeList: []string{"node1", "node2", "node3"}, RepMode: RepAsync},
		pub: newPublisher(store, "pgsql", "", true, log)}
	_ = r.publishStandbyScore(ctx, StandbyView{Node: "node2", DataStatus: dataDisconnect, Score: ScoreCannotPromote, Reason: "not connected"})
	if reads != 1 {
		t.Errorf("the primary lowering node2's score read it %d times, want 1", reads)
	}
	reads = 0
	r.lowerScore(ctx, "node3")
	if reads != 1 {
		t.Errorf("a promote lowering node3's score read it %d times, want 1", reads)
	}
	for _, node := range []string{"node2", "node3"} {
		if score, _, _ := fake.GetPromotionScore(ctx, "pgsql", node); score != ScoreCannotPromote {
			t.Errorf("%s's score %s, want %s", node, score, ScoreCannotPromote)
		}
	}
}
