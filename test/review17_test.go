package test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// TestReview17PostStopKeepsAnUncleanStandbysWalSender (docs/design.md §4, "A stopped
// standby's walsender"): stonith-enabled is the cluster's, but Pacemaker orders a lost node's
// implied stop, and so the post-stop notification, after its fence only for a resource that
// requires fencing. With requires=quorum (or nothing) the notification names the node while
// its fence is still pending or failing, and crm_mon shows it UNCLEAN: the node may still
// run, connected to the primary over a path the cluster lost, and be the one its side
// promotes. Its walsender must stay (the commit keeps waiting, node2 stays named) until the
// node is fenced; then the same notification ends it.
func TestReview17PostStopKeepsAnUncleanStandbysWalSender(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)
	syncNames := func() string { return strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")) }
	committed := r.waitingCommit(t) // node2 receives nothing

	r.setClusterOption(t, "stonith-enabled", "true")
	// Lost, not fenced: crm_mon shows node2 UNCLEAN (offline).
	r.cibadmin(t, "--modify", "--xml-text", `<node_state id="2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="member"/>`)
	r.must(t, 0, "notify", postStopOfNode2...)
	if got := walSender(); got != before {
		t.Errorf("node2 unclean (not fenced): its walsender %s became %s after the post-stop notification; want it left alone", before, got)
	}
	if got := syncNames(); got != `"node2"` {
		t.Errorf("node2 unclean (not fenced): synchronous_standby_names = %q after the post-stop notification, want \"node2\" kept", got)
	}
	if !r.commitWaits(t) {
		t.Error("node2 unclean (not fenced): the commit stopped waiting for node2")
	}

	// Fenced: node2 is offline and clean.
	r.fencedPostStopReleases(t, committed, walSender, before, "node2 fenced")
}

// TestReview17TerminateWalSenderSignalsOnlyThatWalSender: endStaleWalSenders reads a pid from
// pg_stat_replication and signals it in a second statement (and again, every 250 ms, for up
// to 2 s). Between the two the walsender may exit and its pid go to another backend: a
// client's, whose transaction is then aborted, or one waiting for the synchronous standby,
// whose commit then shows without being replicated. pgctl.TerminateWalSender must signal the
// pid only while pg_stat_replication still shows it under the same application name, in the
// statement that signals. Here a client backend named node2 (not a walsender) stands for the
// reused pid: it must survive.
func TestReview17TerminateWalSenderSignalsOnlyThatWalSender(t *testing.T) {
	c := newCluster(t)
	c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "start", "-D", c.PgData, "-w", "-l", c.Logfile)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := c.ownerCommand(ctx, c.psqlArgv("SELECT pg_sleep(50)")...)
	client.Env = append(client.Env, "PGAPPNAME=node2")
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0; time.Sleep(100 * time.Millisecond) {
		pid, _ = strconv.Atoi(strings.TrimSpace(c.sql(t, "select coalesce((select pid::text from pg_stat_activity where application_name = 'node2' and backend_type = 'client backend'), '0')")))
		if time.Now().After(deadline) {
			t.Fatal("the client backend named node2 never showed in pg_stat_activity")
		}
	}
	uid, _ := strconv.Atoi(c.Owner.Uid)
	gid, _ := strconv.Atoi(c.Owner.Gid)
	conn, err := pgctl.Connect(ctx, pgctl.ConnParams{Host: c.SocketDir, Port: c.Port, Database: "postgres", User: "postgres",
		PeerAs: &pgctl.OSUser{Name: c.Owner.Username, UID: uint32(uid), GID: uint32(gid), Home: c.Dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ended, err := pgctl.TerminateWalSender(ctx, conn, int32(pid), "node2")
	if err != nil {
		t.Fatal(err)
	}
	if ended {
		t.Errorf("TerminateWalSender(%d, node2) signalled a client backend that is no walsender", pid)
	}
	select {
	case err := <-done:
		t.Errorf("the client backend named node2 (pid %d) ended: %v", pid, err)
	case <-time.After(time.Second):
	}
}

// TestReview17PostStopWaitsForTheFenceRecord: the fence's record (node2's node_state) reaches
// the CIB in a message of its own, which may trail the post-stop notification the fence let
// through. A notification that finds node2 still unclean asks crm_mon again for a while:
// once node2 shows fenced, its walsender is ended within the same notification.
func TestReview17PostStopWaitsForTheFenceRecord(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)
	committed := r.waitingCommit(t) // node2 receives nothing
	r.setClusterOption(t, "stonith-enabled", "true")
	r.cibadmin(t, "--modify", "--xml-text", `<node_state id="2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="member"/>`)
	notified := time.Now()
	notify := make(chan result, 1)
	go func() { notify <- r.run(t, "notify", postStopOfNode2...) }()
	time.Sleep(time.Second)
	r.cibadmin(t, "--modify", "--xml-text", `<node_state id="2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="down"/>`)
	if res := <-notify; res.RC != 0 {
		t.Fatalf("notify: rc %d\n%s", res.RC, res.Stderr)
	}
	if !commitReturned(t, committed, notified) {
		t.Error("the commit still waits 10 s after the post-stop notification, node2's fence recorded 1 s into it")
	}
	if got := walSender(); got == before {
		t.Errorf("node2's walsender %s still runs: the notification did not wait for node2's fence record", got)
	}
}
