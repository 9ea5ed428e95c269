package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Evidence-based rejoin (issue #13 §1): at a start the agent compares where this node's WAL
// ends with where the latest promotion forked the history (<rsc>-promote-point).

// failoverTo promotes node2 after node1's PostgreSQL is gone (crashed or stopped): the
// transition Pacemaker runs (demote and stop of node1, promote of node2).
func failoverTo(t *testing.T, r *replicationRig, node2 *rigPeer) {
	t.Helper()
	transition := []string{"notify_promote_uname", "node2", "notify_demote_uname", "node1",
		"notify_stop_uname", "node1", "notify_promoted_uname", "node1", "notify_master_uname", "node1"}
	r.must(t, 0, "demote", transition...)
	r.must(t, 0, "stop", transition...)
	promoted := node2.must(t, 0, "promote", transition...)
	// A node that was not seen following node1's promotion in its current run (restarted
	// since) publishes its point unlinked (":u"): the chain below it proves divergence only.
	if point := strings.Split(strings.TrimSuffix(strings.Fields(r.attr(t, "node2", "pgsqltest-promote-point", "forever") + " x")[0], ":u"), ":"); len(point) != 5 || point[3] == "0" {
		t.Fatalf("node2 published no exact promote point (%q):\n%s", point, promoted.Stderr)
	}
}

// moveVIP makes node2 the server listening on primaryHost and node1 listen on no address, so
// that node1 can follow node2 (the rig's stand-in for the floating address moving).
func moveVIP(t *testing.T, r *replicationRig, standby *cluster) {
	t.Helper()
	r.c.appendConf(t, "listen_addresses = ''\n")
	standby.appendConf(t, "listen_addresses = '"+primaryHost+"'\n")
	standby.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "restart", "-D", standby.PgData, "-m", "fast", "-w", "-l", standby.Logfile)
}

// rejoinRig is a promoted node1 with a streaming standby node2 and a table audit. conf, when
// given, is added to node1's postgresql.conf (node1 restarted with it) before node2 is copied.
func rejoinRig(t *testing.T, restartOnPromote bool, conf ...string) (*replicationRig, *cluster, *rigPeer) {
	t.Helper()
	r := promotedRig(t, "async")
	if restartOnPromote {
		r.params["restart_on_promote"] = "true"
	}
	if len(conf) > 0 {
		r.c.appendConf(t, strings.Join(conf, "\n")+"\n")
		r.c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "restart", "-D", r.c.PgData, "-m", "fast", "-w", "-l", r.c.Logfile)
	}
	r.c.sql(t, "CREATE TABLE audit (id int)")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	waitReceived(t, r.c, standby)
	followPrimary(t, node2)
	return r, standby, node2
}

// followPrimary runs the standby's monitor while it streams, as Pacemaker's recurring one
// does: it records that this node follows the current promotion, so that its own promotion
// continues that promotion's chain linked (ChainFor; unlinked, the chain below proves only
// divergence and an old primary behind the fork stays locked).
func followPrimary(t *testing.T, p *rigPeer) {
	t.Helper()
	p.must(t, 0, "monitor")
}

// waitAuditRow waits (at most 15 s) until the standby c has replayed the row id of audit,
// written on the primary it should stream from.
func waitAuditRow(t *testing.T, c *cluster, id int, failure string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for strings.TrimSpace(c.sql(t, fmt.Sprintf("select count(*) from audit where id = %d", id))) != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("%s: WAL receiver %q", failure, walReceiverStatus(t, c))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// crashAhead cuts node2's stream, commits on node1 what node2 never gets (insert: the rows of
// audit where), crashes node1 (immediate stop) and promotes node2 without them.
func crashAhead(t *testing.T, r *replicationRig, standby *cluster, node2 *rigPeer, insert, where string) {
	t.Helper()
	node2.must(t, 0, "stop") // the stream is cut
	r.c.sql(t, insert)
	r.c.kill(t)
	node2.must(t, 0, "start")
	failoverTo(t, r, node2)
	if got := strings.TrimSpace(standby.sql(t, "select count(*) from audit where "+where)); got != "0" {
		t.Fatalf("node2 has the commits made after the cut (count %s): the test proves nothing", got)
	}
}

// TestRejoinCleanOldPrimary: an old primary shut down cleanly (stopped without a hand-over,
// so its promote lock stays) whose WAL the new primary holds starts again with its lock: the
// evidence (its shutdown checkpoint before node2's fork) lifts the lock, and it streams.
//
// The third case moves node1's WAL to a directory outside pgdata while it is stopped (pg_wal
// becomes a link, as initdb --waldir makes it): the evidence is read through the link.
func TestRejoinCleanOldPrimary(t *testing.T) {
	for _, c := range []struct {
		name               string
		restart, linkedWAL bool
	}{{"pg_promote", false, false}, {"restart_on_promote", true, false}, {"pg_wal_linked", false, true}} {
		restart := c.restart
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // its own rigs (ports, directories): CI time, at most -parallel at once
			r, standby, node2 := rejoinRig(t, restart)
			r.c.sql(t, "INSERT INTO audit VALUES (1)")
			lock := filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")
			r.stopServer(t) // the walsender sends the shutdown checkpoint before it exits
			failoverTo(t, r, node2)
			// node2's promotion heads the chain, node1's (the rig's) follows.
			point := r.attr(t, "node2", "pgsqltest-promote-point", "forever")
			if chain := strings.Fields(point); len(chain) != 2 || !strings.HasPrefix(chain[1], "node1:1:") || !strings.HasSuffix(chain[1], ":2:1") {
				t.Errorf("node2's promote chain %q, want node2's point then node1's", point)
			}
			point = strings.Fields(point + " x")[0]
			want := "node2:2:"
			if parts := strings.Split(point, ":"); len(parts) != 5 || !strings.HasPrefix(point, want) ||
				(restart && parts[3] != "2") || (!restart && parts[3] != "3") || parts[4] != "2" {
				t.Fatalf("node2's promote point %q, want node2:2:<lsn>:%s:2", point, map[bool]string{true: "2", false: "3"}[restart])
			}
			if _, err := os.Stat(lock); err != nil {
				t.Fatalf("node1 has no lock before its start: %v", err)
			}
			if c.linkedWAL {
				moveWALOutside(t, r.c)
			}
			moveVIP(t, r, standby)
			standby.sql(t, "INSERT INTO audit VALUES (2)")
			started := r.must(t, 0, "start")
			if _, err := os.Stat(lock); !os.IsNotExist(err) {
				t.Errorf("node1 kept its lock although node2 holds all its WAL (%v)\n%s", err, started.Stderr)
			}
			if !strings.Contains(started.Stderr, "lock removed on the evidence") {
				t.Errorf("no evidence logged:\n%s", started.Stderr)
			}
			if !r.inRecovery(t) {
				t.Fatal("node1 did not start as a standby")
			}
			waitAuditRow(t, r.c, 2, "node1 does not stream from node2")
			r.must(t, 0, "stop")
			node2.must(t, 0, "stop")
		})
	}
}

// moveWALOutside moves a stopped cluster's pg_wal beside its data directory and leaves a
// link to it in its place, as an admin moving WAL to a disk of its own does.
func moveWALOutside(t *testing.T, c *cluster) {
	t.Helper()
	wal, outside := filepath.Join(c.PgData, "pg_wal"), filepath.Join(c.Dir, "wal")
	if err := os.Rename(wal, outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, wal); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(c.Owner.Uid)
	gid, _ := strconv.Atoi(c.Owner.Gid)
	if err := os.Lchown(wal, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// TestRejoinRefusesDivergedCrashedPrimary: the stream is cut, node1 commits, its PostgreSQL
// is killed, node2 is promoted without that commit, and an admin removes node1's lock. The
// start is refused with the evidence in the exit reason, the lock is taken again, and the
// data directory is untouched (restart_on_promote=true too, where PostgreSQL itself would
// overwrite node1's diverged WAL: both share one timeline).
func TestRejoinRefusesDivergedCrashedPrimary(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "pg_promote"
		if restart {
			name = "restart_on_promote"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // its own rigs (ports, directories): CI time, at most -parallel at once
			r, standby, node2 := rejoinRig(t, restart)
			lock := filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")
			crashAhead(t, r, standby, node2, "INSERT INTO audit VALUES (13)", "id = 13")
			if err := os.Remove(lock); err != nil {
				t.Fatalf("removing node1's lock by hand: %v", err)
			}
			before := treeDigest(t, r.c.PgData)
			refused := r.must(t, 1, "start")
			reasons := refused.reasons()
			if len(reasons) != 1 || !strings.Contains(reasons[0], "past node2's fork") || !strings.Contains(reasons[0], "PGSQL.lock") {
				t.Errorf("exit reasons %q, want one with the evidence", reasons)
			}
			if after := treeDigest(t, r.c.PgData); after != before {
				t.Error("the refused start changed node1's data directory")
			}
			if pid := r.c.postmasterPID(); pid != 0 {
				t.Errorf("the refused start left PostgreSQL running (pid %d)", pid)
			}
			content, err := os.ReadFile(lock)
			if err != nil || !strings.Contains(string(content), "event=diverged") {
				t.Errorf("the refused start did not take the lock: %q, %v", content, err)
			}
			// The lock now refuses on its own too.
			r.must(t, 1, "start")
			node2.must(t, 0, "stop")
		})
	}
}

// TestRejoinRebuiltNodeStarts (review3 §2): restart_on_promote=true. node1 (pg_promote()d to
// timeline 2 by the rig: promotion #1) crashes, node2 is promoted by restart (#2, timeline 2
// kept). An admin rebuilds node1 the documented way (remove the lock, pg_basebackup from the
// new primary). The copy's pg_control says "in production" and its 00000002.history matches
// promotion #1, yet it is a copy of node2's WAL: backup_label says it never ran as a primary,
// and a timeline a later restart promotion went on with proves no divergence. It starts and
// streams. Stopped cleanly as a healthy standby, it starts again without a lock.
func TestRejoinRebuiltNodeStarts(t *testing.T) {
	r, standby, node2 := rejoinRig(t, true)
	lock := filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")
	r.c.sql(t, "INSERT INTO audit VALUES (1)")
	r.c.kill(t)
	failoverTo(t, r, node2)
	// The floating address moves to node2.
	standby.appendConf(t, "listen_addresses = '"+primaryHost+"'\n")
	standby.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "restart", "-D", standby.PgData, "-m", "fast", "-w", "-l", standby.Logfile)
	standby.sql(t, "INSERT INTO audit VALUES (2)")
	// Admin rebuild of node1.
	os.Remove(lock)
	if err := os.RemoveAll(r.c.PgData); err != nil {
		t.Fatal(err)
	}
	r.c.asOwner(t, filepath.Join(pgBinDir, "pg_basebackup"), "-h", primaryHost, "-p", strconv.Itoa(standby.Port),
		"-D", r.c.PgData, "-X", "stream", "--no-sync")
	r.c.appendConf(t, "unix_socket_directories = '"+r.c.SocketDir+"'\nlisten_addresses = ''\n")
	started := r.must(t, 0, "start")
	t.Logf("rebuilt node1 start (fresh base backup):\n%s", started.Stderr)
	if _, err := os.Stat(lock); err == nil {
		t.Errorf("the fresh copy was locked")
	}
	standby.sql(t, "INSERT INTO audit VALUES (3)")
	waitAuditRow(t, r.c, 3, "rebuilt node1 does not stream")
	// A healthy standby of node2 stopped cleanly ("shut down in recovery") starts again.
	r.c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "stop", "-D", r.c.PgData, "-m", "fast", "-w")
	again := r.must(t, 0, "start")
	t.Logf("healthy standby node1 start:\n%s", again.Stderr)
	if _, err := os.Stat(lock); err == nil {
		t.Errorf("the healthy standby was locked")
	}
	r.must(t, 0, "stop")
	node2.must(t, 0, "stop")
}

// TestStreamedRecordFollowsTheConninfoInForce: a standby's monitor records that it streams
// in this postmaster run only when the server reports a WAL receiver that insists on a
// read-write session, as the agent's primary_conninfo does. A primary_conninfo in
// postgresql.auto.conf (pg_basebackup -R writes one, without target_session_attrs) replaces
// the agent's: the standby streams, and nothing is recorded (reviews 30, 31).
func TestStreamedRecordFollowsTheConninfoInForce(t *testing.T) {
	r, standby, node2 := rejoinRig(t, false)
	record := filepath.Join(standby.Dir, "run-ra", "pgsql-ra-pgsqltest.streamed")
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("node2 streams under the agent's primary_conninfo and recorded nothing: %v", err)
	}
	node2.must(t, 0, "stop")
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	standby.appendAutoConf(t, fmt.Sprintf("primary_conninfo = 'host=%s port=%d user=postgres application_name=node2'\n", primaryHost, r.c.Port))
	node2.must(t, 0, "start")
	r.c.sql(t, "INSERT INTO audit VALUES (3)")
	waitAuditRow(t, standby, 3, "node2 does not stream under postgresql.auto.conf's primary_conninfo")
	if got := walReceiverStatus(t, standby); got != "streaming" {
		t.Fatalf("node2's WAL receiver %q, want streaming: the test proves nothing", got)
	}
	node2.must(t, 0, "monitor")
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("node2 recorded that it streams although its receiver does not insist on a primary (%v)", err)
	}
	// Another keyword's value that pretends to be target_session_attrs (the server lists the
	// conninfo unquoted) does not count either (review 32).
	node2.must(t, 0, "stop")
	standby.appendAutoConf(t, fmt.Sprintf("primary_conninfo = 'host=%s port=%d user=postgres application_name=''node2 target_session_attrs=read-write'''\n", primaryHost, r.c.Port))
	node2.must(t, 0, "start")
	r.c.sql(t, "INSERT INTO audit VALUES (4)")
	waitAuditRow(t, standby, 4, "node2 does not stream under the pretending primary_conninfo")
	node2.must(t, 0, "monitor")
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("node2 recorded that it streams under a conninfo whose application_name pretends to insist on a primary (%v)", err)
	}
	node2.must(t, 0, "stop")
	r.must(t, 0, "stop")
}
