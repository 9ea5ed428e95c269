package agent

import (
	"context"
	"errors"
	"io"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 8, finding 1. A locked standby (followNobody) drops primary_conninfo and the slot
// but keeps restore_command and recovery_target_timeline='latest'. With an archive (the
// restore_command parameter), PostgreSQL picks the newest timeline whose history file is in
// the archive at startup and, when the crashed primary's last checkpoint precedes that
// timeline's fork, replays the later primary's WAL from the archive instead of its own WAL
// past the fork: the locked node follows a later primary that lacks its WAL (over data pages
// that may already hold the diverged changes), which the lock exists to prevent. This is
// reached whenever the rejoin evidence is undecided while another promotion exists: its point
// not exact (the promotee lost between pg_promote() and publishing the fork, or the publish
// write failed), or no point at all (an admin's promote, another agent, a CIB rolled back).
// While running, PostgreSQL also rescans the archive for newer timelines.
func TestReview8LockedStandbyFollowsNoArchivedTimeline(t *testing.T) {
	r := &replica{c: Config{MasterIP: "10.0.0.100", PgPort: 5432, RepUser: "repl",
		RestoreCommand: "cp /archive/%f %p", ReplicationSlotName: "slot",
		ArchiveCleanupCommand: "pg_archivecleanup /archive %r"}, self: "node1"}
	r.followNobody = true
	s := r.standbySettings()
	if s.PrimaryConninfo != "" || s.PrimarySlotName != "" {
		t.Fatalf("locked standby settings name a primary: %+v", s)
	}
	content := string(s.Render(pgctl.Version{Major: 15}))
	if s.RestoreCommand != "" && strings.Contains(content, "recovery_target_timeline = 'latest'") {
		t.Errorf("a locked standby that must follow nobody may still switch to a later primary's archived timeline:\n%s", content)
	}
	// Review 33 S1: nor clean the archive up to its own restart points.
	if strings.Contains(content, "archive_cleanup_command") {
		t.Errorf("a locked standby cleans the archive:\n%s", content)
	}
}

// Review 8, finding 2. publishedPosition reads a node's xlog-loc and then its xlog-tli; a
// timeline that is missing (the contender's electionRound wrote xlog-loc, then its xlog-tli
// write failed and the round returned, nothing removing xlog-loc) or unreadable (the query
// failed) counts as timeline 0, and since timelines are compared first that node ranks below
// every node on a real timeline. Cold start, async, two nodes on timeline 2: the locked
// standby node1 (data-status LATEST) holds the newest data at 0/5000000, node2 (never
// written off: node1 was lost within a monitor of node2's loss) is at 0/4000000. node2 counts
// node1 as seen and wins the election without node1's commits (I7), where an unreadable
// data-status, by contrast, is taken as "may be newer".
func TestReview8ElectionTakesMissingTimelineAsOldest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tliRead func(*crmattr.Fake)
	}{
		{"node1's xlog-tli never written", func(*crmattr.Fake) {}},
		{"node1's xlog-tli unreadable", nil},
		{"control: node1's xlog-tli readable (passes)", func(f *crmattr.Fake) {
			_ = f.Set(context.Background(), "node1", "pgsql-xlog-tli", "2", crmattr.Reboot)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &crmattr.Fake{}
			var store crmattr.Store = fake
			if tc.tliRead != nil {
				tc.tliRead(fake)
			} else {
				_ = fake.Set(context.Background(), "node1", "pgsql-xlog-tli", "2", crmattr.Reboot)
				store = tliFailing{fake}
			}
			ctx := context.Background()
			must := func(err error) {
				if err != nil {
					t.Fatal(err)
				}
			}
			must(fake.Set(ctx, "node1", "pgsql-data-status", dataLatest, crmattr.Forever))
			must(fake.Set(ctx, "node2", "pgsql-data-status", dataStreamingAsyn, crmattr.Forever))
			must(fake.Set(ctx, "node1", "pgsql-xlog-loc", pgctl.LSN(0x5000000).Attribute(), crmattr.Reboot))
			must(fake.SetPromotionScore(ctx, "pgsql", "node2", ScoreCannotPromote))
			log := NewLogger(LogSettings{}, io.Discard)
			a := &Agent{Env: Env{Instance: "pgsql:1", Action: "monitor"}, Attrs: store, Log: log}
			r := &replica{a: a, self: "node2", names: attrNames{resource: "pgsql"},
				c:   Config{TmpDir: t.TempDir(), NodeList: []string{"node1", "node2"}, RepMode: RepAsync, XlogCheckCount: 1},
				pub: newPublisher(store, "pgsql", "", false, log)}
			st := pgctl.LocalState{InRecovery: true, Timeline: 2, ReplayLSN: 0x4000000}
			for range 3 {
				r.electionRound(ctx, st, false)
			}
			if score, _, _ := fake.GetPromotionScore(ctx, "pgsql", "node2"); score == ScorePromoteMe {
				t.Errorf("node2 (tli 2, 0/4000000) claimed promotion over node1 (tli 2, 0/5000000), whose timeline it read as 0")
			}
		})
	}
}

// tliFailing fails every read of an xlog-tli attribute.
type tliFailing struct{ *crmattr.Fake }

func (s tliFailing) Get(ctx context.Context, node, name string, lt crmattr.Lifetime) (string, bool, error) {
	if strings.HasSuffix(name, "-xlog-tli") && node != "node2" {
		return "", false, errors.New("crm_attribute query: exited 102")
	}
	return s.Fake.Get(ctx, node, name, lt)
}

// Review 8, finding 4. explain was not taught the locked standby: after a dirty power cycle
// (node1 crashed as the primary of the latest promotion, no primary running) the start runs
// PostgreSQL as a standby that follows no primary (checkRejoin → MayRunLockedStandby), but
// explain's rejoin answer still says the start is refused and tells the admin to rebuild the
// node with the newest data from "the primary", or to remove PGSQL.lock.
func TestReview8ExplainKnowsTheLockedStandby(t *testing.T) {
	f := crashedOldPrimary(0x5000060, 0x5000148)
	f.Attrs = explainAttrs(map[string]map[string]string{
		"node1": {"status": "STOP", "data-status": "LATEST", "score": "-INFINITY", "promote-point": "node1:2:0000000004000000:3:1"},
		"node2": {"status": "STOP", "data-status": "DISCONNECT", "score": "-INFINITY"}})
	f.Promoted = nil
	if ok, why := MayRunLockedStandby(LockedStandbyFacts{Self: "node1", AutoRejoin: true, Lock: f.Lock,
		Points:     map[string]AttrRead{"node1": {Found: true, Value: "node1:2:0000000004000000:3:1"}, "node2": {}},
		DataStatus: map[string]string{"node1": dataLatest, "node2": dataDisconnect}}); !ok {
		t.Fatalf("the start would not run a locked standby: %s", why)
	}
	a := ExplainRejoin(f)
	if a.Verdict == "no" || !strings.Contains(a.Because, "follows no primary") {
		t.Errorf("explain: %s: %s (fix: %s); the start would run it as a locked standby that follows no primary", a.Verdict, a.Because, a.Fix)
	}
}
