package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const scoreAttr = "master-pgsqltest"

// TestStandbyNeverRaisesItself (issue #10, defect 1): a WAL receiver says "streaming" from its
// first byte, long before the standby caught up. Only the primary's evidence makes a standby
// promotable: its monitors, or at start the position the primary published for it at
// pre-start (<rsc>-catchup-target).
func TestStandbyNeverRaisesItself(t *testing.T) {
	r := promotedRig(t, "async")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")

	// A target the standby cannot have reached (far beyond the primary's WAL): the start ends
	// streaming but unpromotable, and its own monitors do not raise it.
	r.setAttr(t, "node2", "pgsqltest-catchup-target", "reboot", "1:00000FFF00000000")
	node2.must(t, 0, "start")
	waitReceived(t, r.c, standby)
	for i := 0; i < 3; i++ {
		node2.must(t, 0, "monitor")
	}
	if walReceiverStatus(t, standby) != "streaming" {
		t.Fatal("the standby does not stream: the test proves nothing")
	}
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("a streaming standby made itself promotable on its own view: score %q", got)
	}
	if got := r.attr(t, "node2", "pgsqltest-catchup-target", "reboot"); got != "(none)" {
		t.Errorf("the start left the catch-up target behind: %q", got)
	}
	// The primary's monitor vouches for it.
	r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Errorf("the primary's monitor did not make the caught-up standby promotable: %q", got)
	}

	// A restart with the primary's real position as target: promotable when the start ends.
	node2.must(t, 0, "stop")
	r.must(t, 0, "notify", "notify_type", "pre", "notify_operation", "start", "notify_start_uname", "node2")
	if target := r.attr(t, "node2", "pgsqltest-catchup-target", "reboot"); !walPointAttr.MatchString(target) {
		t.Fatalf("the primary's pre-start notification published no target: %q", target)
	}
	started := node2.must(t, 0, "start")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Errorf("a standby that received the primary's pre-start position is not promotable at start: %q\n%s", got, started.Stderr)
	}
	node2.must(t, 0, "stop")
}

// TestPrimaryLowersAStandby (issue #10, defect 2): a standby the primary no longer sees loses
// its score at the primary's next monitor, whatever the primary remembers writing: the
// memory of earlier writes never suppresses a lowering one.
func TestPrimaryLowersAStandby(t *testing.T) {
	r := promotedRig(t, "async")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	waitReceived(t, r.c, standby)
	r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Fatalf("node2 not promotable while streaming: %q", got)
	}

	standby.kill(t)
	deadline := time.Now().Add(15 * time.Second)
	for r.attr(t, "node2", "pgsqltest-data-status", "forever") != "DISCONNECT" {
		if time.Now().After(deadline) {
			t.Fatal("the primary never saw node2 gone")
		}
		r.must(t, 8, "monitor")
		time.Sleep(200 * time.Millisecond)
	}
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("node2 gone, score still %q", got)
	}

	// Something else raises node2 behind the primary's back (a standby's start, a stale
	// writer) while the primary's memory, fresh and trusted by its monitors, says
	// -INFINITY and DISCONNECT: the next monitor writes both again.
	r.setAttr(t, "node2", scoreAttr, "reboot", "100")
	r.setAttr(t, "node2", "pgsqltest-data-status", "forever", "STREAMING|ASYNC")
	r.must(t, 8, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("the primary's memory suppressed lowering node2's score: %q", got)
	}
	if got := r.attr(t, "node2", "pgsqltest-data-status", "forever"); got != "DISCONNECT" {
		t.Errorf("the primary's memory suppressed node2's DISCONNECT: %q", got)
	}
}

// TestReplicatedStopOfAHungServer: a stop of a promotable clone instance whose server does
// not end must fail before its deadline, with a reason, never report success.
func TestReplicatedStopOfAHungServer(t *testing.T) {
	r := promotedRig(t, "async")
	pid := r.c.postmasterPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	const timeout = 5 * time.Second
	res := r.run(t, "stop", "timeout", fmt.Sprint(timeout.Milliseconds()))
	if res.RC == 0 {
		t.Fatalf("stop returned 0 while PostgreSQL (pid %d) still runs", pid)
	}
	if res.Duration >= timeout {
		t.Errorf("stop took %v, not less than the %v op timeout", res.Duration, timeout)
	}
	if reasons := res.reasons(); len(reasons) != 1 || !strings.Contains(reasons[0], "is stopped (SIGSTOP") {
		t.Errorf("stop reasons %q, want one saying PostgreSQL is stopped", reasons)
	}
	if got := r.attr(t, "node1", "pgsqltest-status", "reboot"); got != "UNKNOWN" {
		t.Errorf("status after a failed stop %q, want UNKNOWN", got)
	}
	syscall.Kill(pid, syscall.SIGCONT)
	r.c.kill(t)
}

// TestSyncNamesOneStandby (issue #10, defect 3): with two streaming standbys the primary names
// exactly one in synchronous_standby_names. With both named (FIRST 1), PostgreSQL switched to
// the second the moment the first went and acknowledged commits through it while the first
// still held its score; the first node was then promoted without them.
func TestSyncNamesOneStandby(t *testing.T) {
	r := promotedRig(t, "sync", "node1", "node2", "node3")
	node2c, node3c := newStandbyOf(t, r.c, primaryHost), newStandbyOf(t, r.c, primaryHost)
	node2, node3 := r.peer(node2c, "node2"), r.peer(node3c, "node3")
	node2.must(t, 0, "start")
	node3.must(t, 0, "start")
	scores := func() (string, string) {
		return r.attr(t, "node2", scoreAttr, "reboot"), r.attr(t, "node3", scoreAttr, "reboot")
	}
	deadline := time.Now().Add(20 * time.Second)
	for s2, s3 := scores(); s2 != "100" && s3 != "100"; s2, s3 = scores() {
		if time.Now().After(deadline) {
			t.Fatalf("no standby became promotable: %s %s", s2, s3)
		}
		r.must(t, 8, "monitor")
		time.Sleep(300 * time.Millisecond)
	}
	names := strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names"))
	if names != `"node2"` && names != `"node3"` {
		t.Errorf("synchronous_standby_names = %q, want exactly one standby", names)
	}
	if s2, s3 := scores(); (s2 == "100") == (s3 == "100") {
		t.Errorf("scores node2 %s, node3 %s: exactly one standby may be promotable", s2, s3)
	}
	node2.must(t, 0, "stop")
	node3.must(t, 0, "stop")
}

// TestNotifyRequired (issue #10, defect 5): replication without notifications cannot tell a
// hand-over from a split brain. validate-all refuses the clone meta attribute notify=false,
// and a demote without notify data (run by hand) with restart_on_promote=true, where
// PostgreSQL cannot detect a forked history, stops PostgreSQL and keeps the lock.
func TestNotifyRequired(t *testing.T) {
	r := newReplicationRig(t)
	res := r.run(t, "validate-all", "notify", "false")
	if res.RC != 6 || len(res.reasons()) != 1 || !strings.Contains(res.reasons()[0], "notify=true") {
		t.Errorf("validate-all with notify=false: rc %d, reasons %q; want 6 naming notify=true", res.RC, res.reasons())
	}
	r.params["restart_on_promote"] = "true"
	r.must(t, 0, "start")
	r.must(t, 0, "promote")
	demoted := r.must(t, 1, "demote")
	if reasons := demoted.reasons(); len(reasons) != 1 || !strings.Contains(reasons[0], "notification") {
		t.Errorf("demote without notify data: reasons %q, want one about the missing notification", reasons)
	}
	if pid := r.c.postmasterPID(); pid != 0 {
		t.Errorf("the demote left PostgreSQL running (pid %d)", pid)
	}
	r.must(t, 1, "start") // still locked
}

// TestElectionLoserLowersItself (issue #10, defect 7): a standby that claimed promotion in an
// earlier round of the master-less election gives the claim up when it loses a later one (a
// node with newer data appeared), and a start forgets the rounds counted in an earlier life of
// the node (election.json lives in the persistent tmpdir).
func TestElectionLoserLowersItself(t *testing.T) {
	r := newReplicationRig(t)
	electionFile := filepath.Join(r.c.Dir, "tmp", "election.json")
	r.must(t, 0, "start")
	for i := 0; i < 6 && !fileExists(electionFile); i++ {
		r.must(t, 0, "monitor")
	}
	if got := r.attr(t, "node1", scoreAttr, "reboot"); got != "1000" {
		t.Fatalf("the lone standby's score %q, want its claim 1000 before node2 appears", got)
	}
	// node2 publishes a newer position on the same timeline.
	r.setAttr(t, "node2", "pgsqltest-xlog-loc", "reboot", "00000000FF000000")
	r.setAttr(t, "node2", "pgsqltest-xlog-tli", "reboot", "1")
	lost := false
	for i := 0; i < 8 && !lost; i++ {
		r.must(t, 0, "monitor")
		lost = r.attr(t, "node1", scoreAttr, "reboot") == "-INFINITY"
	}
	if !lost {
		b, _ := os.ReadFile(electionFile)
		t.Fatalf("node1 keeps score %q after losing to node2's newer data; election state %s",
			r.attr(t, "node1", scoreAttr, "reboot"), b)
	}
	if !fileExists(electionFile) {
		t.Fatal("no election state after the rounds (the test's premise)")
	}
	r.must(t, 0, "stop")
	r.must(t, 0, "start")
	if fileExists(electionFile) {
		t.Error("start kept the election rounds of the node's earlier life")
	}
	r.must(t, 0, "stop")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestAsyncLowersTheScoreWhenDataStatusFails (second review of issue #10): the CIB refuses the
// primary's write of a disconnected standby's data-status. The score, written through attrd,
// must still go to -INFINITY: the old order returned on the first failure and left the
// standby promotable however far the primary ran ahead.
func TestAsyncLowersTheScoreWhenDataStatusFails(t *testing.T) {
	r := promotableStandbyCrashed(t)
	fault := newToolFault(t, "crm_attribute", "--node=node2", "--name=pgsqltest-data-status", "--update=DISCONNECT")
	if mon := r.runThrough(t, fault.Wrapper, "monitor"); mon.RC != 8 {
		t.Fatalf("primary monitor rc %d\n%s", mon.RC, mon.Stderr)
	}
	if len(fault.refused(t)) == 0 {
		t.Fatal("the monitor never wrote node2's data-status (the fault did not apply)")
	}
	if got := r.attr(t, "node2", "pgsqltest-data-status", "forever"); got == "DISCONNECT" {
		t.Fatalf("node2's data-status %q although the write was refused (the case under test)", got)
	}
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("node2's score %q after its stream died, want -INFINITY even though data-status could not be written", got)
	}
}

// TestPrimaryMonitorRidesOutAttributeFailures (issue #12, the soak's one failure): crm_attribute
// fails three times in a row on the primary's node just as its standby dies. The monitor
// must still answer "primary" and lower the standby: a failed monitor of the primary, with
// migration-threshold=1, banned it, and with the standby failed too nothing was promoted.
func TestPrimaryMonitorRidesOutAttributeFailures(t *testing.T) {
	r := promotableStandbyCrashed(t)
	fault := newFlakyTool(t, "crm_attribute", 3)
	mon := r.runThrough(t, fault.Wrapper, "monitor")
	if mon.RC != 8 {
		t.Fatalf("primary monitor rc %d with 3 failing crm_attribute calls, want 8\n%s", mon.RC, mon.Stderr)
	}
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "-INFINITY" {
		t.Errorf("node2's score %q after its stream died, want -INFINITY", got)
	}
	if refused := fault.refused(t); len(refused) != 3 {
		t.Errorf("the shim refused %d calls, want 3, each retried until the fourth passed: %q", len(refused), refused)
	}
	if !strings.Contains(mon.Stderr, "crm_attribute passed after failing") {
		t.Errorf("the monitor's log does not say a call was retried:\n%s", mon.Stderr)
	}
}

// promotableStandbyCrashed is an async rig whose standby node2 streamed, was made promotable,
// and then lost its postmaster (a power cut of its server).
func promotableStandbyCrashed(t *testing.T) *replicationRig {
	t.Helper()
	r := promotedRig(t, "async")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	r.waitPromotable(t, "node2")
	standby.crashPostmaster(t)
	return r
}

// waitPromotable runs the primary's monitors until node has score 100 (at most 20 s).
func (r *replicationRig) waitPromotable(t *testing.T, node string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.attr(t, node, scoreAttr, "reboot") != "100" {
		if time.Now().After(deadline) {
			t.Fatalf("%s never became promotable (data-status %q)", node, r.attr(t, node, "pgsqltest-data-status", "forever"))
		}
		r.must(t, 8, "monitor")
		time.Sleep(300 * time.Millisecond)
	}
}
