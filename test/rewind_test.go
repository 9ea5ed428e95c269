package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rewind=auto (issue #13 §1): a crashed old primary whose WAL the new primary lacks is
// brought back with pg_rewind, or refused with the reason when pg_rewind cannot help.

// divergedOldPrimary: node2's stream is cut, node1 commits rows 100..1099, node1's PostgreSQL
// crashes (immediate stop), node2 is promoted without them and takes the floating address.
// node1 keeps its promote lock. It returns node2's fork (X/X) from its promote point.
func divergedOldPrimary(t *testing.T, restart bool, conf ...string) (*replicationRig, *cluster, *rigPeer, string) {
	t.Helper()
	r, standby, node2 := rejoinRig(t, restart, conf...)
	// pg_rewind's source connection is an ordinary one, to the database postgres.
	standby.prependHBA(t, "host postgres postgres 127.0.0.0/8 trust")
	crashAhead(t, r, standby, node2, "INSERT INTO audit SELECT generate_series(100, 1099)", "id >= 100")
	moveVIP(t, r, standby)
	standby.sql(t, "INSERT INTO audit VALUES (2)")
	point := strings.Split(strings.Fields(r.attr(t, "node2", "pgsqltest-promote-point", "forever"))[0], ":")
	fork := mustHex(t, point[2])
	return r, standby, node2, fmt.Sprintf("%X/%X", fork>>32, fork&0xFFFFFFFF)
}

// TestRejoinRewind: with rewind=auto, wal_log_hints and pg_promote() the start rewinds the
// old primary, removes its lock and streams from node2, without the rows node2 lacks; the
// log names the discarded range from node2's fork. Otherwise the start is refused with one
// reason naming why, the lock kept and the data directory untouched: rewind=never,
// restart_on_promote (one timeline), wal_log_hints off, the primary unreachable, a standby
// at master_ip.
func TestRejoinRewind(t *testing.T) {
	for _, c := range []struct {
		name    string
		restart bool
		conf    []string
		rewind  string
		down    bool     // node2's PostgreSQL is stopped before the start
		standby bool     // node2's PostgreSQL is restarted as a standby before the start
		reason  []string // the refusal's one reason says these
	}{
		{"pg_promote, wal_log_hints, rewind=auto", false, []string{"wal_log_hints = on"}, "auto", false, false, nil},
		{"rewind=never", false, []string{"wal_log_hints = on"}, "never", false, false, []string{"past node2's fork", "take a base backup"}},
		{"restart_on_promote", true, []string{"wal_log_hints = on"}, "auto", false, false, []string{"no rewind", "kept timeline 2 (restart_on_promote)", "PGSQL.lock kept"}},
		{"no wal_log_hints", false, nil, "auto", false, false, []string{"no rewind", "wal_log_hints=off and no data checksums", "PGSQL.lock kept"}},
		{"primary unreachable", false, []string{"wal_log_hints = on"}, "auto", true, false, []string{"no rewind (PGSQL.lock kept)", "cannot check master_ip", "connection refused"}},
		// The source check: what answers at master_ip is no primary (a fork pg_rewind's dry run
		// could find just the same in a standby of that history).
		{"a standby at master_ip", false, []string{"wal_log_hints = on"}, "auto", false, true, []string{"no rewind (PGSQL.lock kept)", "the server at master_ip is a standby, not node2's primary"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // its own rigs (ports, directories): CI time, at most -parallel at once
			r, standby, node2, fork := divergedOldPrimary(t, c.restart, c.conf...)
			lock := filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")
			lockBefore, err := os.ReadFile(lock)
			if err != nil {
				t.Fatalf("node1 has no lock before its start: %v", err)
			}
			if c.down {
				node2.c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "stop", "-D", standby.PgData, "-m", "fast", "-w")
			}
			if c.standby {
				node2.c.asOwner(t, "/usr/bin/touch", filepath.Join(standby.PgData, "standby.signal"))
				node2.c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "restart", "-D", standby.PgData, "-m", "fast", "-w", "-l", standby.Logfile)
				if got := strings.TrimSpace(standby.sql(t, "select pg_is_in_recovery()")); got != "t" {
					t.Fatalf("node2 restarted with standby.signal is not in recovery (%q)", got)
				}
			}
			r.params["rewind"] = c.rewind
			if c.reason != nil {
				before := treeDigest(t, r.c.PgData)
				refused := r.must(t, 1, "start")
				reasons := refused.reasons()
				t.Logf("refused: %q", reasons)
				for _, want := range c.reason {
					if len(reasons) != 1 || !strings.Contains(reasons[0], want) {
						t.Errorf("exit reasons %q, want one saying %q\n%s", reasons, want, refused.Stderr)
					}
				}
				// Every refusal comes before the crash recovery that precedes pg_rewind: the
				// source check (a primary at master_ip) runs first.
				if after := treeDigest(t, r.c.PgData); after != before {
					t.Error("the refused start changed node1's data directory")
				}
				if pid := r.c.postmasterPID(); pid != 0 {
					t.Errorf("the refused start left PostgreSQL running (pid %d)", pid)
				}
				if now, err := os.ReadFile(lock); err != nil || string(now) != string(lockBefore) {
					t.Errorf("the refused start changed the lock: %q, %v; was %q", now, err, lockBefore)
				}
				return
			}
			started := r.must(t, 0, "start")
			t.Logf("rewinding start:\n%s", started.Stderr)
			if _, err := os.Stat(lock); !os.IsNotExist(err) {
				t.Errorf("node1 kept its lock after the rewind (%v)", err)
			}
			for _, want := range []string{"rewound with pg_rewind, lock removed", "discarded_from=" + fork, "discarded_bytes_at_least=", "servers diverged at " + fork} {
				if !strings.Contains(started.Stderr, want) {
					t.Errorf("the start's log does not say %q", want)
				}
			}
			if !r.inRecovery(t) {
				t.Fatal("node1 did not start as a standby")
			}
			waitAuditRow(t, r.c, 2, "the rewound node1 does not stream from node2")
			if got := walReceiverStatus(t, r.c); got != "streaming" {
				t.Errorf("node1's WAL receiver %q, want streaming", got)
			}
			if got := strings.TrimSpace(r.c.sql(t, "select count(*) from audit where id >= 100")); got != "0" {
				t.Errorf("node1 still has %s of the rows node2 lacks", got)
			}
			if got := strings.TrimSpace(r.c.sql(t, "show listen_addresses")); got != "" {
				t.Errorf("node1 runs with node2's configuration (listen_addresses %q): its own was not put back", got)
			}
			r.must(t, 0, "stop")
			node2.must(t, 0, "stop")
		})
	}
}

// TestRejoinRewindUnlocked: an old primary whose lock an admin removed is still rewound
// (rewind=auto), and locked (event diverged) before its crash recovery runs: the log says so
// before the crash recovery's line.
func TestRejoinRewindUnlocked(t *testing.T) {
	r, _, node2, fork := divergedOldPrimary(t, false, "wal_log_hints = on")
	lock := filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")
	if err := os.Remove(lock); err != nil {
		t.Fatalf("removing node1's lock: %v", err)
	}
	r.params["rewind"] = "auto"
	started := r.must(t, 0, "start")
	t.Logf("rewinding start:\n%s", started.Stderr)
	locked := strings.Index(started.Stderr, "diverged node locked before rewinding")
	recovered := strings.Index(started.Stderr, "crash recovery in single-user mode ended")
	switch {
	case locked < 0:
		t.Error("the start does not say it locked the node before rewinding")
	case recovered < 0:
		t.Error("the crashed old primary had no crash recovery before pg_rewind")
	case recovered < locked:
		t.Error("the crash recovery ran before the node was locked")
	}
	for _, want := range []string{"rewound with pg_rewind, lock removed", "discarded_from=" + fork} {
		if !strings.Contains(started.Stderr, want) {
			t.Errorf("the start's log does not say %q", want)
		}
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("node1 kept a lock after the rewind (%v)", err)
	}
	if !r.inRecovery(t) {
		t.Fatal("node1 did not start as a standby")
	}
	waitAuditRow(t, r.c, 2, "the rewound node1 does not stream from node2")
	r.must(t, 0, "stop")
	node2.must(t, 0, "stop")
}

// TestRewindValidate: validate-all accepts rewind=auto, and refuses any value but never and
// auto with one reason.
func TestRewindValidate(t *testing.T) {
	r := newReplicationRig(t)
	r.params["rewind"] = "auto"
	r.must(t, 0, "validate-all")
	r.params["rewind"] = "always"
	res := r.run(t, "validate-all")
	if reasons := res.reasons(); res.RC != 6 || len(reasons) != 1 || !strings.Contains(reasons[0], `rewind="always" is not one of never, auto`) {
		t.Errorf("validate-all with rewind=always: rc %d, reasons %q; want 6 and one reason naming rewind", res.RC, reasons)
	}
}
