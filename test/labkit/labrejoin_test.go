package labkit

import (
	"strings"
	"testing"
	"time"
)

// TestLabRejoinOnEvidence (issue #13 §1): the old primary comes back after a power cut with
// no human when its WAL is in the new primary's history, and is refused, with the evidence,
// when it is not. rep_mode=sync on two nodes, so that "every acknowledged commit is on the
// new primary" holds by construction and is asserted; the audited writer commits through the
// VIP throughout. Ours only (the other agents need lab rejoin: bench's R row).
//
//  1. Behind: the primary loses power while the standby is caught up; the standby is
//     promoted; the old primary boots, its start lifts PGSQL.lock on the evidence and it
//     streams again (R: boot → streaming).
//  2. Ahead: the (new) standby's stream is cut both ways (in its namespace a blackhole
//     route to the VIP, and a rule dropping what comes from the VIP: a route alone stops
//     only its acknowledgements, and it would still receive the WAL), so the primary's
//     commits wait for it and are written only locally; the primary loses power; the standby
//     is promoted; the old primary boots and its start is refused, PGSQL.lock kept, with the
//     evidence in the exit reason. Corosync talks between the nodes' own addresses: the
//     cluster stays whole.
func TestLabRejoinOnEvidence(t *testing.T) {
	labRejoinOnEvidence(t, "rejoin-on-evidence", false)
}

// TestLabRewindAuto is the same sequence with rewind=auto and restart_on_promote=false
// (pg_rewind finds a fork only at a timeline switch): in step 2 the old primary's start
// rewinds it from the new primary and it streams again, its own commit discarded.
func TestLabRewindAuto(t *testing.T) {
	t.Setenv("LAB_RESTART_ON_PROMOTE", "false")
	t.Setenv("LAB_REWIND", "auto")
	labRejoinOnEvidence(t, "rewind-auto", true)
}

func labRejoinOnEvidence(t *testing.T, scenario string, rewindAuto bool) {
	l, rec := startSyncLab(t, 2, scenario)
	l.waitSyncStandby(t, "node1", "node2", 60*time.Second)
	l.ensureRowsTable(t)
	w := l.startAuditedWriter("rejoin")
	defer func() {
		if w != nil {
			w.stop()
		}
	}()

	// 1. Behind.
	l.waitCaughtUp(t, "node1", "node2")
	crashed := time.Now()
	l.mustLog(time.Minute, "crash", "node1")
	if secs, node, ok := l.writeUntil(crashed, 120*time.Second, "rejoin-failover-1", "node2"); !ok {
		t.Fatalf("no write on node2 within 120 s of node1's power cut (landed on %q):\n%s", node, l.statusText())
	} else {
		rec.set("failover_1_s", secs)
	}
	booted := time.Now()
	l.mustLog(2*time.Minute, "boot", "node1")
	if !labWait(90*time.Second, func() bool { return l.streams("node2", "node1") }) {
		t.Fatalf("node1 does not stream from node2 within 90 s of its boot:\n%s", l.statusText())
	}
	rec.set("rejoin_boot_to_streaming_s", labSeconds(time.Since(booted)))
	if l.lockPresent("node1") {
		t.Error("node1 streams again but PGSQL.lock is still there")
	}
	if !l.pacemakerLogHas("node1", "lock removed on the evidence") {
		t.Error("node1 rejoined without the evidence that lifts its lock in its log")
	}
	if f := l.mustMon(t, "").pgsqlFailures("node1"); len(f) > 0 {
		t.Errorf("node1 rejoined, but crm_mon shows failed operations: %+v", f)
	}

	// 2. Ahead.
	l.waitSyncStandby(t, "node2", "node1", 60*time.Second)
	// What comes from the VIP first: cut the other way first, node1 would still receive the
	// WAL of the commit its missing acknowledgement holds (the first CI run's failure).
	cut := [][]string{{"rule", "from", labVIP, "iif", "eth0", "blackhole", "priority", "100"}, {"route", "blackhole", labVIP + "/32"}}
	for _, c := range cut {
		l.mustLog(10*time.Second, append([]string{"exec", "node1", "ip", c[0], "add"}, c[1:]...)...)
	}
	time.Sleep(2 * time.Second) // commits now wait for node1: written on node2 only
	// One more commit that does not wait for node1 (not the writer's: no acknowledgement is
	// at stake), so that node2's WAL surely goes past what node1 received.
	if _, err := l.quickSQL("node2", "set synchronous_commit = local; insert into lab_rows(note) values ('only-on-node2')"); err != nil {
		t.Fatalf("a local commit on node2: %v", err)
	}
	ahead, err1 := l.quickSQL("node2", "select pg_current_wal_lsn()")
	received, err2 := l.quickSQL("node1", "select pg_last_wal_receive_lsn()")
	if err1 != nil || err2 != nil {
		t.Fatalf("reading the positions: %v, %v", err1, err2)
	}
	rec.set("node2_wal_before_crash", ahead)
	rec.set("node1_received_before_crash", received)
	crashed = time.Now()
	l.mustLog(time.Minute, "crash", "node2")
	for _, c := range cut {
		l.mustLog(10*time.Second, append([]string{"exec", "node1", "ip", c[0], "del"}, c[1:]...)...)
	}
	if secs, node, ok := l.writeUntil(crashed, 120*time.Second, "rejoin-failover-2", "node1"); !ok {
		t.Fatalf("no write on node1 within 120 s of node2's power cut (landed on %q):\n%s", node, l.statusText())
	} else {
		rec.set("failover_2_s", secs)
	}
	time.Sleep(time.Second)
	w.stop()
	notes, err := l.nodeNotes("node1", "rejoin")
	if err != nil {
		t.Fatalf("reading the writer's rows on node1: %v", err)
	}
	audit := auditWriterNotes("rejoin", w.ackedIDs, notes)
	rec.set("acknowledged", audit.Acked)
	rec.set("lost", len(audit.Missing))
	if audit.Acked == 0 || len(audit.Missing) > 0 {
		t.Errorf("%d of %d acknowledged commits missing on node1: %v", len(audit.Missing), audit.Acked, audit.Missing)
	}
	w = nil

	booted = time.Now()
	l.mustLog(2*time.Minute, "boot", "node2")
	if rewindAuto {
		labRewoundAhead(t, l, rec, booted)
		return
	}
	var failures []labFailure
	if !labWait(90*time.Second, func() bool {
		m, err := l.mon("")
		if err != nil {
			return false
		}
		failures = m.pgsqlFailures("node2")
		return len(failures) > 0 && m.settled("node2")
	}) {
		t.Fatalf("the start of node2, whose WAL the new primary lacks, was not refused within 90 s:\n%s", l.statusText())
	}
	rec.set("refusal_boot_to_verdict_s", labSeconds(time.Since(booted)))
	var reason string
	for _, f := range failures {
		if f.Task == "start" {
			reason = f.ExitReason
		}
	}
	rec.set("exit_reason", reason)
	if !strings.Contains(reason, "PGSQL.lock kept") || !strings.Contains(reason, "fork") {
		t.Errorf("exit reason of the refused start %q does not give the evidence (fork, PGSQL.lock kept); failures %+v", reason, failures)
	}
	if !l.lockPresent("node2") {
		t.Error("PGSQL.lock gone from node2, whose WAL the new primary lacks")
	}
	if l.streams("node1", "node2") {
		t.Error("node2 streams from node1 although its WAL diverged")
	}
	rec.requireFields(t, "failover_1_s", "rejoin_boot_to_streaming_s", "failover_2_s", "acknowledged", "lost", "refusal_boot_to_verdict_s", "exit_reason")
}

// labRewoundAhead is step 2's outcome with rewind=auto: node2, whose commit node1 lacks,
// is rewound from node1 by its start and streams from it, its lock gone, the discarded WAL
// in its log, and the commit only node2 had no longer on it.
func labRewoundAhead(t T, l *labSession, rec *labRecord, booted time.Time) {
	t.Helper()
	if !labWait(3*time.Minute, func() bool { return l.streams("node1", "node2") }) {
		t.Fatalf("node2, whose WAL node1 lacks, does not stream from node1 within 3 min of its boot (rewind=auto):\n%s", l.statusText())
	}
	rec.set("rewind_boot_to_streaming_s", labSeconds(time.Since(booted)))
	if l.lockPresent("node2") {
		t.Error("node2 streams again after its rewind but PGSQL.lock is still there")
	}
	if !l.pacemakerLogHas("node2", "rewound with pg_rewind, lock removed") {
		t.Error("node2's log does not report its rewind (discarded bytes and LSN range)")
	}
	if out, err := l.quickSQL("node2", "select count(*) from lab_rows where note = 'only-on-node2'"); err != nil || out != "0" {
		t.Errorf("node2 after its rewind: the commit node1 lacks is still there or unreadable: %q, %v", out, err)
	}
	if f := l.mustMon(t, "").pgsqlFailures("node2"); len(f) > 0 {
		t.Errorf("node2 rejoined by rewind, but crm_mon shows failed operations: %+v", f)
	}
	rec.requireFields(t, "failover_1_s", "rejoin_boot_to_streaming_s", "failover_2_s", "acknowledged", "lost", "rewind_boot_to_streaming_s")
}
