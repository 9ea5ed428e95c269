package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// An end of WAL that pg_waldump could not read still has lower bounds (walEnd): the
// checkpoint record (LastLow) and the end of the record at the minimum recovery point
// (EndLow). They can prove divergence, never safety (review3 §3).
func TestDecideRejoinUnknownEndLowerBound(t *testing.T) {
	restart1 := PromotePoint{"node1", 1, 0x3000000, 1, 1, false}
	restart2 := PromotePoint{"node2", 1, 0x3100000, 1, 2, false}
	promote1 := PromotePoint{"node1", 1, 0x3000000, 2, 1, false}
	promote2 := PromotePoint{"node2", 2, 0x3100000, 3, 2, false}
	chain := func(c ...PromotePoint) map[string]AttrRead {
		m := map[string]AttrRead{}
		for i := range c {
			m[c[i].Node] = AttrRead{Value: PromoteChain(c[i:]).Attribute(), Found: true}
		}
		return m
	}
	// node1 ran as the primary of promotion #1: its membership is exact.
	unknown := func(low, endLow pgctl.LSN, tli uint32) WALEnd {
		return WALEnd{Timeline: tli, LastLow: low, EndLow: endLow, RanAsPrimary: true, Problem: "pg_waldump: deadline"}
	}
	seq1 := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "promote_seq": "1"}}
	for _, c := range []struct {
		name       string
		locked     bool
		lock       LockInfo
		own        WALEnd
		points     map[string]AttrRead
		wantLock   bool // refused on evidence
		wantStart  bool
		wantUnlock bool
	}{
		{"checkpoint past the fork: divergence proven", false, LockInfo{}, unknown(0x3400000, 0, 1), chain(restart2, restart1), true, false, false},
		{"checkpoint past the fork, locked: refused on evidence", true, seq1, unknown(0x3400000, 0, 1), chain(restart2, restart1), false, false, false},
		{"checkpoint before the fork: undecided, lock kept", true, seq1, unknown(0x3000800, 0, 1), chain(restart2, restart1), false, false, false},
		{"checkpoint before the fork, unlocked: start as before", false, LockInfo{}, unknown(0x3000800, 0, 1), chain(restart2, restart1), false, true, false},
		{"no bound at all: undecided", true, seq1, WALEnd{Problem: "x"}, chain(restart2, restart1), false, false, false},
		{"a replayed record ends past a pg_promote() fork: divergence proven", false, LockInfo{},
			unknown(0x3000800, 0x3100001, 2), chain(promote2, promote1), true, false, false},
		{"a replayed record ends at a pg_promote() fork: undecided", false, LockInfo{},
			unknown(0x3000800, 0x3100000, 2), chain(promote2, promote1), false, true, false},
		{"a replayed record ends past a restart fork (it may be the record the fork follows): undecided", false, LockInfo{},
			unknown(0x3000800, 0x3100010, 1), chain(restart2, restart1), false, true, false},
		{"in the latest promotion's history by its lock, end unknown: the lock stays", true,
			LockInfo{Fields: map[string]string{"event": lockEventPromoted, "promote_seq": "2"}},
			WALEnd{Timeline: 1, LastLow: 0x3000800, Problem: "x"}, chain(restart2, restart1), false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := DecideRejoin(RejoinFacts{Self: "node1", AutoRejoin: true, Locked: c.locked, Lock: c.lock, Own: c.own, Points: c.points})
			proven := plan.Proven && (plan.Lock || c.locked)
			if plan.Lock != c.wantLock || plan.Start != c.wantStart || plan.Unlock != c.wantUnlock ||
				(c.wantLock || (c.locked && strings.Contains(c.name, "on evidence"))) != proven {
				t.Errorf("plan %+v", plan)
			}
		})
	}
}

// A timeline created by a pg_promote() promotion that a later restart_on_promote promotion
// went on with (review3 §2b): the history file names the earliest promotion this node's WAL
// may be in. It proves safety (before every later fork), never divergence: a healthy
// standby of the later primary, stopped cleanly, is not refused.
func TestDecideRejoinTimelineContinuedByRestart(t *testing.T) {
	p1 := PromotePoint{"node1", 1, 0x3000000, 2, 1, false} // pg_promote() to timeline 2
	p2 := PromotePoint{"node2", 2, 0x5000000, 2, 2, false} // restart_on_promote on timeline 2
	points := map[string]AttrRead{"node1": {Value: PromoteChain{p1}.Attribute(), Found: true},
		"node2": {Value: PromoteChain{p2, p1}.Attribute(), Found: true}}
	sw := &pgctl.TimelineSwitch{Parent: 1, At: 0x3000000}
	standby := func(last pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: 2, Last: last, LastLow: last, Switch: sw, Source: "test"}
	}
	// Past node2's fork, on node2's WAL: not refused.
	plan := DecideRejoin(RejoinFacts{Self: "node3", AutoRejoin: true, Own: standby(0x7000060), Points: points})
	if !plan.Start || plan.Lock || plan.Proven {
		t.Errorf("healthy standby past the restart fork: plan %+v", plan)
	}
	// Locked and past it: undecided, the lock stays.
	plan = DecideRejoin(RejoinFacts{Self: "node3", AutoRejoin: true, Locked: true,
		Lock: LockInfo{Fields: map[string]string{"event": lockEventDiverged, "promote_seq": "1"}}, Own: standby(0x7000060), Points: points})
	if plan.Start || plan.Lock || plan.Proven {
		t.Errorf("locked, past the restart fork: plan %+v", plan)
	}
	// Before node2's fork: all its WAL is node2's, the lock goes.
	plan = DecideRejoin(RejoinFacts{Self: "node3", AutoRejoin: true, Locked: true,
		Lock: LockInfo{Fields: map[string]string{"event": lockEventDiverged, "promote_seq": "1"}}, Own: standby(0x4000000), Points: points})
	if !plan.Start || !plan.Unlock {
		t.Errorf("locked, before the restart fork: plan %+v", plan)
	}
	// Without the later restart promotion the same history file is exact: past a later
	// pg_promote() fork it proves divergence.
	p2b := PromotePoint{"node2", 2, 0x5000000, 3, 2, false}
	pointsB := map[string]AttrRead{"node1": {Value: PromoteChain{p1}.Attribute(), Found: true},
		"node2": {Value: PromoteChain{p2b, p1}.Attribute(), Found: true}}
	plan = DecideRejoin(RejoinFacts{Self: "node3", AutoRejoin: true, Own: standby(0x7000060), Points: pointsB})
	if !plan.Lock || !plan.Proven {
		t.Errorf("past a pg_promote() fork on its own timeline: plan %+v", plan)
	}
}

// A base backup's pg_control is the primary's ("in production"): it did not run as a
// primary (review3 §2a).
func TestRanAsPrimaryBaseBackup(t *testing.T) {
	base := "Database cluster state:               in production\nLatest checkpoint location:           0/7000060\n" +
		"Latest checkpoint's TimeLineID:       2\n"
	cd, err := pgctl.ParseControlData([]byte(base))
	if err != nil || !cd.RanAsPrimary() {
		t.Fatalf("%+v %v: a primary's control file", cd, err)
	}
	cd, err = pgctl.ParseControlData([]byte(base + "Backup start location:                0/7000028\n"))
	if err != nil || cd.RanAsPrimary() || cd.BackupStartLSN != 0x7000028 {
		t.Errorf("%+v %v: a base backup in recovery taken for a former primary", cd, err)
	}
	dir := t.TempDir()
	if got, err := pgctl.HasBackupLabel(dir); got || err != nil {
		t.Errorf("no backup_label: %v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, pgctl.BackupLabel), []byte("START WAL LOCATION: 0/7000028\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := pgctl.HasBackupLabel(dir); !got || err != nil {
		t.Errorf("backup_label: %v %v", got, err)
	}
}
