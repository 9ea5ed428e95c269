package labkit

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// The lab's scenario steps that the drivers (bench, faults, soak) share with the scenario
// tests (lab_test.go and the others).

// labSwitchover: `crm_resource --ban --promoted` on the primary's node, then --clear (with
// resource-stickiness INFINITY, --move --promoted does nothing), or their pcs spellings in the
// seeded lab: seconds to a write on the new primary, and to the old primary streaming again;
// any manual step needed.
func labSwitchover(t T, l *labSession) {
	labSwitchoverRecorded(t, l, l.record(t, "switchover"))
}

// labSwitchoverRecorded is labSwitchover into rec (the bench's switchover under load).
func labSwitchoverRecorded(t T, l *labSession, rec *labRecord) {
	primary, standby := l.caughtUpPair(t)
	rec.set("from", primary)
	rec.set("to", standby)
	began := time.Now()
	if _, err := l.run(30*time.Second, l.admin(standby, l.banPromotedArgs(primary))...); err != nil {
		t.Fatal(err)
	}
	secs, _, ok := l.writeUntil(began, 90*time.Second, "after-switchover", standby)
	rec.set("write_on_new_primary_s", secs)
	if !ok {
		t.Fatalf("no write accepted on %s within 90 s of the ban:\n%s", standby, l.statusText())
	}
	if _, err := l.run(30*time.Second, l.admin(standby, l.clearArgs())...); err != nil {
		t.Fatal(err)
	}

	// The old primary: streaming again, or stopped for good (failed with migration-threshold=1)?
	outcome := ""
	labWait(60*time.Second, func() bool {
		if l.streams(standby, primary) {
			outcome = "streaming"
			return true
		}
		m, err := l.mon("")
		if err != nil {
			return false
		}
		if _, ok := rec.fields["old_primary_unpromoted_s"]; !ok && m.role(primary) == "Unpromoted" {
			rec.set("old_primary_unpromoted_s", labSeconds(time.Since(began)))
		}
		if m.role(primary) == "" && len(m.pgsqlFailures(primary)) > 0 && m.failCount(primary) != "" {
			outcome = "stopped"
			return true
		}
		return false
	})
	rec.set("old_primary_streaming", outcome == "streaming")
	if outcome == "streaming" {
		rec.set("old_primary_streaming_s", labSeconds(time.Since(began)))
		rec.set("manual_step", "none")
		return
	}
	m := l.mustMon(t, "")
	rec.set("old_primary_state", fmt.Sprintf("%s; fail-count %s; lock file %v", labOr(outcome, "neither streaming nor failed after 60 s"), m.failCount(primary), l.lockPresent(primary)))
	for _, f := range m.pgsqlFailures(primary) {
		rec.note("old primary's %s failed: %s %s", f.Task, f.ExitStatus, f.ExitReason)
	}
	if labAgentTraits[l.agent].acceptance {
		t.Errorf("old primary %s not streaming 60 s after the switchover (%s)", primary, labOr(outcome, "no verdict"))
	}
	rec.set("manual_step", "lab rejoin "+primary+" (new base backup: the lock and a failed monitor keep it stopped)")
	rejoinBegan := time.Now()
	l.mustLog(4*time.Minute, "rejoin", primary)
	rec.set("manual_rejoin_s", labSeconds(time.Since(rejoinBegan)))
	l.healthyPair(t)
}

func otherNode(n string) string {
	if n == "node1" {
		return "node2"
	}
	return "node1"
}

// ensureRowsTable creates the scenarios' table through the VIP.
func (l *labSession) ensureRowsTable(t T) {
	t.Helper()
	l.mustSQL(t, "vip", "create table if not exists lab_rows (id bigserial primary key, note text not null, at timestamptz not null default now())")
}

func labOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// caughtUpPair is a healthy pair with the rows table, the standby having replayed all the
// primary wrote: the start of the scenarios that compare what each side holds.
func (l *labSession) caughtUpPair(t T) (primary, standby string) {
	t.Helper()
	primary, standby = l.healthyPair(t)
	l.ensureRowsTable(t)
	l.waitCaughtUp(t, primary, standby)
	return primary, standby
}

// postmasterIdentity is a node's running postmaster as its pid file names it (pid and start
// time): a restart changes it.
func (l *labSession) postmasterIdentity(t T, node string) string {
	t.Helper()
	b, err := os.ReadFile(l.nodePath(node, "var/lib/postgresql/15/pgdata/postmaster.pid"))
	if err != nil {
		t.Fatalf("%s: %v", node, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 {
		t.Fatalf("%s: short postmaster.pid %q", node, b)
	}
	return lines[0] + "@" + lines[2]
}
