package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSyncModeDegradesWhenTheStandbyGoes: rep_mode=sync with real streaming. The primary's
// monitor makes the streaming standby synchronous through rep_mode.conf; when the standby's
// postmaster is killed, the next monitor drops it again (the old agent's failure
// 6ad25cf64: a quoted name not recognised, commits hung), and neither that monitor nor a
// client's commit waits for the missing standby.
// syncStandbyNode2 is a sync rig whose node2 (rep_mode=slave there: it only streams) the
// primary's monitors made its synchronous standby, and node2's server.
func syncStandbyNode2(t *testing.T) (*replicationRig, *cluster) {
	t.Helper()
	r := promotedRig(t, "sync")
	r.c.sql(t, "CREATE TABLE reports (id int)")
	repMode := filepath.Join(r.c.Dir, "tmp", "rep_mode.conf")

	standby := newStandbyOf(t, r.c, primaryHost)
	slave := with(standby.params(), "rep_mode", "slave", "master_ip", primaryHost, "repuser", "postgres",
		"tmpdir", filepath.Join(standby.Dir, "tmp"))
	mustRC(t, 0, "start", slave, map[string]string{"on_node": "node2"})

	// The primary's monitors make node2 the synchronous standby.
	deadline := time.Now().Add(15 * time.Second)
	for r.attr(t, "node2", "pgsqltest-data-status", "forever") != "STREAMING|SYNC" {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(repMode)
			t.Fatalf("node2 never became STREAMING|SYNC (data-status %q, rep_mode.conf %q)",
				r.attr(t, "node2", "pgsqltest-data-status", "forever"), b)
		}
		r.must(t, 8, "monitor")
		time.Sleep(300 * time.Millisecond)
	}
	if got := strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")); got != `"node2"` {
		t.Errorf("synchronous_standby_names = %q, want \"node2\" (quoted)", got)
	}
	return r, standby
}

// TestSyncKeepsTheNamesWhenTmpdirIsReadOnly (issue #12, tmpdir read-only): the synchronous
// standby dies while the primary's tmpdir refuses writes. Its score and data-status are
// lowered first (I4), then rewriting rep_mode.conf fails: the monitor fails with the cause in
// its one exit reason and synchronous_standby_names stays as it was (commits wait rather
// than being acknowledged by nobody the scores know of). Writable again, the next monitor
// degrades to async.
func TestSyncKeepsTheNamesWhenTmpdirIsReadOnly(t *testing.T) {
	r, standby := syncStandbyNode2(t)
	standby.crashPostmaster(t)
	mon := r.runThrough(t, readOnlyDir(r.params["tmpdir"]), "monitor")
	reasons := mon.reasons()
	t.Logf("monitor: rc %d, %q", mon.RC, reasons)
	if mon.RC != 1 || len(reasons) != 1 || !strings.Contains(reasons[0], "rep_mode.conf") || !strings.Contains(reasons[0], "read-only file system") {
		t.Errorf("primary monitor with a read-only tmpdir: rc %d, reasons %q; want 1 with one reason naming rep_mode.conf and the cause\n%s",
			mon.RC, reasons, mon.Stderr)
	}
	r.expectAttrs(t, "node2", map[string]string{"pgsqltest-data-status": "DISCONNECT"})
	if score := r.attr(t, "node2", scoreAttr, "reboot"); score != "(none)" && score != "-INFINITY" {
		t.Errorf("node2's score %q after its death, want none or -INFINITY", score)
	}
	if got := strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")); got != `"node2"` {
		t.Errorf("synchronous_standby_names = %q after a monitor that could not write rep_mode.conf, want \"node2\" kept", got)
	}
	r.must(t, 8, "monitor")
	if got := strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")); got != "" {
		t.Errorf("synchronous_standby_names = %q once tmpdir is writable again, want empty", got)
	}
	r.must(t, 0, "demote", switchoverToNode2...)
	r.must(t, 0, "stop")
}

func TestSyncModeDegradesWhenTheStandbyGoes(t *testing.T) {
	r, standby := syncStandbyNode2(t)

	// Power cut of the standby's server: the primary's next monitor degrades to async.
	standby.crashPostmaster(t)
	mon := r.must(t, 8, "monitor")
	if mon.Duration > 5*time.Second {
		t.Errorf("the primary's monitor took %v with the sync standby gone", mon.Duration)
	}
	if got := strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")); got != "" {
		t.Errorf("synchronous_standby_names = %q after the standby died, want empty", got)
	}
	if d := r.attr(t, "node2", "pgsqltest-data-status", "forever"); d != "DISCONNECT" {
		t.Errorf("node2 data-status %q, want DISCONNECT", d)
	}
	began := time.Now()
	r.c.sql(t, "SET statement_timeout = '5s'; INSERT INTO reports VALUES (1)")
	if waited := time.Since(began); waited > 2*time.Second {
		t.Errorf("a commit waited %v for the missing standby", waited)
	}
	r.must(t, 0, "demote", switchoverToNode2...)
	r.must(t, 0, "stop")
}

// TestSyncKeepsTheStandbyWhenLoweringFails (issue #10, defect 6): the synchronous standby's
// stream is gone and the primary's monitor cannot lower its score (attrd refuses the write).
// The standby must stay in synchronous_standby_names: dropped, commits would be acknowledged
// without it while its score still made it promotable. Once the write succeeds, the next
// monitor lowers the score and only then empties the list.
func TestSyncKeepsTheStandbyWhenLoweringFails(t *testing.T) {
	r := promotedRig(t, "sync")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	r.waitPromotable(t, "node2")
	syncNames := func() string { return strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")) }
	if got := syncNames(); got != `"node2"` {
		t.Fatalf("synchronous_standby_names = %q, want \"node2\"", got)
	}

	standby.crashPostmaster(t)
	fault := newToolFault(t, "crm_attribute", "--node=node2", "--update=-INFINITY")
	mon := r.runThrough(t, fault.Wrapper, "monitor")
	if mon.RC != 8 {
		t.Fatalf("the primary's monitor with a failing write: rc %d, want 8\n%s", mon.RC, mon.Stderr)
	}
	if refused := fault.refused(t); len(refused) == 0 {
		t.Fatal("the monitor never tried to lower node2's score (the fault did not apply)")
	}
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Fatalf("node2's score %q after a refused write, want it still 100 (the case under test)", got)
	}
	if got := syncNames(); got != `"node2"` {
		t.Errorf("synchronous_standby_names = %q while node2 still has score 100, want \"node2\" kept", got)
	}

	r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("node2's score %q once writes succeed, want -INFINITY", got)
	}
	if got := syncNames(); got != "" {
		t.Errorf("synchronous_standby_names = %q after node2 was lowered, want empty", got)
	}
}

// stalledSyncStandby is syncStandbyNode2 with node2's WAL receiver stopped (SIGSTOP, undone
// at cleanup): its connection stays open and reads nothing, as a power cut leaves it until
// TCP gives up. walSender reads node2's walsender pid on the primary ("none": no row); the
// pid before anything happened is returned too.
func stalledSyncStandby(t *testing.T) (r *replicationRig, walSender func() string, before string) {
	t.Helper()
	r, standby := syncStandbyNode2(t)
	receiver, err := strconv.Atoi(strings.TrimSpace(standby.sql(t, "select pid from pg_stat_wal_receiver")))
	if err != nil || receiver <= 0 {
		t.Fatalf("the standby has no WAL receiver: %v", err)
	}
	if err := syscall.Kill(receiver, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(receiver, syscall.SIGCONT) })
	walSender = func() string {
		return strings.TrimSpace(r.c.sql(t, "select coalesce((select pid::text from pg_stat_replication where application_name = 'node2'), 'none')"))
	}
	if before = walSender(); before == "none" {
		t.Fatal("node2 has no walsender on the primary")
	}
	return r, walSender, before
}

// waitingCommit starts a commit on the rig's primary and returns once it waits for the
// synchronous standby; the commit's result arrives on the channel.
func (r *replicationRig) waitingCommit(t *testing.T) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sqlDeadline)
	t.Cleanup(cancel)
	commit := r.c.ownerCommand(ctx, r.c.psqlArgv("INSERT INTO reports VALUES (1)")...)
	if err := commit.Start(); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() { committed <- commit.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); !r.commitWaits(t); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the commit never waited for the synchronous standby: the test proves nothing")
		}
	}
	return committed
}

// commitWaits: one backend of the rig's primary waits for the synchronous standby.
func (r *replicationRig) commitWaits(t *testing.T) bool {
	return strings.TrimSpace(r.c.sql(t, "select count(*) from pg_stat_activity where wait_event = 'SyncRep'")) == "1"
}

// commitReturned: the waiting commit returned, successfully, within 10 s of since.
func commitReturned(t *testing.T, committed <-chan error, since time.Time) bool {
	t.Helper()
	select {
	case err := <-committed:
		if err != nil {
			t.Errorf("the waiting commit failed: %v", err)
		}
		t.Logf("the waiting commit returned %.1f s after the post-stop notification", time.Since(since).Seconds())
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// fenceNode2 records node2 fenced in the rig's CIB, as the DC writes it after a successful
// fence (send_stonith_update: join=down expected=down; the membership layer: in_ccm=false
// crmd=offline). crm_mon 2.1.5 then shows node2 online="false" unclean="false".
func (r *replicationRig) fenceNode2(t *testing.T) {
	t.Helper()
	r.cibadmin(t, "--modify", "--xml-text", `<node_state id="2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="down"/>`)
}

// fencedPostStopReleases records node2 fenced, sends the post-stop notification of node2's
// stop and checks that it let the waiting commit go and ended node2's walsender (before);
// when says under which condition, for the messages.
func (r *replicationRig) fencedPostStopReleases(t *testing.T, committed <-chan error, walSender func() string, before, when string) {
	t.Helper()
	r.fenceNode2(t)
	notified := time.Now()
	r.must(t, 0, "notify", postStopOfNode2...)
	if !commitReturned(t, committed, notified) {
		t.Errorf("the commit still waits 10 s after the post-stop notification, %s", when)
	}
	if got := walSender(); got == before {
		t.Errorf("node2's walsender %s still runs after the post-stop notification, %s", got, when)
	}
}

// setClusterOption writes a cluster option (crm_config) into the rig's CIB.
func (r *replicationRig) setClusterOption(t *testing.T, name, value string) {
	t.Helper()
	cmd := exec.Command("crm_attribute", "--type=crm_config", "--name="+name, "--update="+value)
	cmd.Env = []string{"CIB_file=" + r.cib, "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s=%s in the rig's CIB: %v\n%s", name, value, err, out)
	}
}

var postStopOfNode2 = []string{"notify_type", "post", "notify_operation", "stop", "notify_stop_uname", "node2"}

// TestSyncPostStopEndsAFencedStandbysWalSender (docs/design.md §4, "A stopped standby's
// walsender"): the synchronous standby vanishes without closing its connection (its WAL
// receiver stopped here, as a power cut leaves it), so the primary's walsender goes on
// reporting it streaming and every commit waits, until wal_sender_timeout. Pacemaker's
// post-stop notification naming node2 ends that walsender when the cluster fences: the
// waiting commit returns, node2 is lowered and no longer named. Without fencing (a stop
// Pacemaker only assumes) the same notification leaves the walsender and the names alone.
func TestSyncPostStopEndsAFencedStandbysWalSender(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)
	syncNames := func() string { return strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")) }
	committed := r.waitingCommit(t) // node2 receives nothing

	r.setClusterOption(t, "stonith-enabled", "false")
	r.must(t, 0, "notify", postStopOfNode2...)
	if got := walSender(); got != before {
		t.Errorf("without fencing, node2's walsender %s became %s after the post-stop notification; want it left alone", before, got)
	}
	if got := syncNames(); got != `"node2"` {
		t.Errorf("without fencing, synchronous_standby_names = %q after the post-stop notification, want \"node2\" kept", got)
	}
	if !r.commitWaits(t) {
		t.Error("without fencing, the commit stopped waiting for node2")
	}

	r.setClusterOption(t, "stonith-enabled", "true")
	r.fencedPostStopReleases(t, committed, walSender, before, "with fencing on")
	if got := syncNames(); got != "" {
		t.Errorf("synchronous_standby_names = %q after the post-stop notification, want empty", got)
	}
	r.expectAttrs(t, "node2", map[string]string{"pgsqltest-data-status": "DISCONNECT"})
	if score := r.attr(t, "node2", scoreAttr, "reboot"); score != "(none)" && score != "-INFINITY" {
		t.Errorf("node2's score %q after it was let go, want none or -INFINITY", score)
	}
}
