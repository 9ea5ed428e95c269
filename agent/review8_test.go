package agent

import (
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
		RestoreCommand: "cp /archive/%f %p", ReplicationSlotName: "slot"}, self: "node1"}
	r.followNobody = true
	s := r.standbySettings()
	if s.PrimaryConninfo != "" || s.PrimarySlotName != "" {
		t.Fatalf("locked standby settings name a primary: %+v", s)
	}
	content := string(s.Render(pgctl.Version{15, 0}))
	if s.RestoreCommand != "" && strings.Contains(content, "recovery_target_timeline = 'latest'") {
		t.Errorf("a locked standby that must follow nobody may still switch to a later primary's archived timeline:\n%s", content)
	}
}
