package labkit

// The lab scenarios of issue 3, against a real two-node (and three-node) Pacemaker cluster in
// Linux namespaces (test/lab/lab). CI runs them with the stock agent (the baseline) and ours
// (the replication acceptance); `make bench` adds PAF (LAB_AGENTS="stock paf ours"). Every run appends one JSON
// line per scenario to $LAB_RESULTS (default: results.jsonl in the lab's state dir) and
// prints it in the test log.
//
// The two-node scenarios share one lab and run in this order; switchover and partition only
// need a healthy pair, so they also run alone (-run 'TestLabScenarios/stock/switchover').

import (
	"bytes"
	"fmt"
	"math/rand"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLabUpInterrupted: Ctrl-C during `lab up` leaves nothing behind. It lands at a random
// point between node2's boot and the cluster's DC election (corosync and Pacemaker starting).
func TestLabUpInterrupted(t *testing.T) {
	l := newLabSession(t, "stock", 2)
	cmd := exec.Command(l.script, "up", "--nodes", "2", "--agent", "stock")
	cmd.Env = l.env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own process group, as in a terminal
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if !labWait(60*time.Second, func() bool { return l.nodeAlive("node2") }) {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("node2 never booted:\n%s", out.String())
	}
	delay := time.Duration(rand.Intn(2000)) * time.Millisecond
	time.Sleep(delay)
	t.Logf("Ctrl-C %v after node2 booted", delay)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // Ctrl-C
	var exitErr error
	select {
	case exitErr = <-done:
		if exitErr == nil {
			t.Errorf("interrupted up exited 0:\n%s", out.String())
		}
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("interrupted up still running after 60 s:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "tearing the lab down") {
		t.Errorf("no teardown message (%v):\n%s", exitErr, out.String())
	}
	labAssertGone(t, l.name, l.dir)
}

// TestLabScenarios runs bootstrap, failover, lock, rejoin, switchover and partition on one
// two-node lab per agent.
func TestLabScenarios(t *testing.T) {
	requireLab(t)
	for _, agent := range labScenarioAgents() {
		subtest(t, agent, func(t T) {
			l := startLab(t, agent, 2)
			runLabSteps(t, l, []labStep{
				{"bootstrap", labBootstrap},
				{"failover", labFailover},
				{"lock", labLock},
				{"rejoin", labRejoin},
				{"switchover", labSwitchover},
				{"switchover-back", labSwitchover}, // the same move again, towards the first primary
				{"full-restart", labFullRestart},
				{"partition", labPartition}, // last: it may leave a diverged node stopped
			})
		})
	}
}

// labStep is one scenario of a sequence on one lab.
type labStep struct {
	name string
	run  func(T, *labSession)
}

// runLabSteps runs the scenarios in order as subtests, stopping at the first that fails: the
// ones after it need the state it leaves.
func runLabSteps(t T, l *labSession, steps []labStep) {
	t.Helper()
	for _, s := range steps {
		if !subtest(t, s.name, func(t T) { s.run(t, l) }) {
			t.Logf("%s failed: the scenarios after it need the state it leaves, stopping", s.name)
			return
		}
	}
}

// bootRecord starts a scenario's record with the lab's boot figures and checks that the
// fresh cluster promoted node1 (load-cib holds the others until then).
func (l *labSession) bootRecord(t T, scenario string) (*labRecord, labMon) {
	t.Helper()
	rec := l.record(t, scenario)
	for k, v := range l.figures() {
		rec.set(k, v)
	}
	m := l.mustMon(t, "")
	if got := m.promoted(); !slices.Equal(got, []string{"node1"}) {
		t.Fatalf("promoted: %v, want [node1]", got)
	}
	return rec, m
}

// labBootstrap: node1 PRI, node2 HS:async with exactly the shell agent's healthy attribute set (docs/design.md §6), and
// CFEngine's role probe answers PRI / HS:async.
func labBootstrap(t T, l *labSession) {
	rec, m := l.bootRecord(t, "bootstrap")
	if !labWait(30*time.Second, func() bool {
		m, err := l.mon("")
		return err == nil && m.role("node2") == "Unpromoted" && l.streams("node1", "node2")
	}) {
		m := l.mustMon(t, "")
		t.Errorf("node2: role %q, streaming from node1: %v", m.role("node2"), l.streamingFrom("node1"))
	}
	if vip := m.vipOn(); vip != "node1" {
		t.Errorf("VIP on %q, want node1", vip)
	}
	l.ensureRowsTable(t)
	if node, err := l.writeVIP("bootstrap"); err != nil {
		t.Errorf("write through the VIP: %v", err)
	} else if node != "node1" {
		t.Errorf("write through the VIP landed on %s", node)
	}
	if labAgentTraits[l.agent].acceptance {
		labPromoteLogged(t, l, "node1")
	}

	if !labAgentTraits[l.agent].pgsqlAttrs {
		rec.set("promotion_scores", map[string]string{"node1": m.attrs("node1")["master-"+labRsc], "node2": m.attrs("node2")["master-"+labRsc]})
		rec.note("%s publishes no cfpgsql-* attributes: roles read from crm_mon", l.agent)
		return
	}
	rec.set("attributes_settled_s", l.waitHealthyAttributes(t, "node1", "node2"))
	m = l.mustMon(t, "")
	rec.set("attributes", map[string]map[string]string{"node1": m.attrs("node1"), "node2": m.attrs("node2")})
	rec.set("cfengine_role_probe", l.roleProbe(t, labRoleProbe, map[string]string{"node1": "PRI", "node2": "HS:async"}))
}

// labRoleProbe is CFEngine's role probe, the `cmd` of /var/cfengine/ha.cfg (CFEngine's HA
// guide, issue #14): the value is the node's role as CFEngine reads it.
var labRoleProbe = []string{"crm_attribute", "-l", "reboot", "-n", labRsc + "-status", "-G", "-q"}

// waitHealthyAttributes waits up to 30 s until primary and standby show exactly the shell
// agent's healthy attribute sets (the primary's monitor, every 3 s, publishes the standby's
// after it streams) and returns the seconds it took.
func (l *labSession) waitHealthyAttributes(t T, primary, standby string) float64 {
	t.Helper()
	began := time.Now()
	var mismatch string
	if !labWait(30*time.Second, func() bool {
		m, err := l.mon("")
		if err != nil {
			mismatch = err.Error()
			return false
		}
		mismatch = labAttrsMismatch(m.attrs(primary), labHealthyPrimary) + labAttrsMismatch(m.attrs(standby), labHealthyStandby)
		return mismatch == ""
	}) {
		t.Errorf("node attributes not the healthy set within 30 s: %s", mismatch)
	}
	return labSeconds(time.Since(began))
}

// roleProbe runs a role probe on each node of want and wants its value there; returns what
// each answered.
func (l *labSession) roleProbe(t T, probe []string, want map[string]string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for node, w := range want {
		out, err := l.run(30*time.Second, append([]string{"exec", node}, probe...)...)
		if err != nil {
			t.Errorf("role probe on %s: %v", node, err)
		}
		got[node] = out
		if out != w {
			t.Errorf("role probe %q on %s: %q, want %q", strings.Join(probe, " "), node, out, w)
		}
	}
	return got
}

// labExecdErrorOutput is how pacemaker-execd logs a line an operation of the resource wrote to
// stderr: "cfpgsql_promote_0[1234] error output [ ... ]" (log_op_output in Pacemaker's
// lib/services/services_linux.c).
var labExecdErrorOutput = regexp.MustCompile(`\b` + labRsc + `(:[0-9]+)?_[a-z_-]+_[0-9]+\[[0-9]+\] error output \[`)

// labPromoteLogged (#14): node's promote is logged in its pacemaker.log the way the stock agent
// logs, as the agent's own line in HA_LOGFILE, and the agent's stderr, which execd copies there
// as "error output", carries nothing but exit reasons.
func labPromoteLogged(t T, l *labSession, node string) {
	t.Helper()
	text := l.pacemakerLog(node)
	if !OCFLogLine(labRsc, 0, "INFO", "PostgreSQL promoted").MatchString(text) {
		t.Errorf("%s's pacemaker.log has no line `<date>  pgsql(%s)[<pid>]:    INFO: PostgreSQL promoted ...`", node, labRsc)
	}
	var leaked []string
	for _, line := range strings.Split(text, "\n") {
		if labExecdErrorOutput.MatchString(line) && !strings.Contains(line, "[ ocf-exit-reason:") {
			leaked = append(leaked, line)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("%s's pacemaker.log has %d lines of the agent's stderr other than exit reasons, e.g.\n%s",
			node, len(leaked), strings.Join(leaked[:min(len(leaked), 5)], "\n"))
	}
}

// The shell agent's healthy attribute sets (crm_mon -Afr1), exactly: no more, no fewer names.
var (
	labHealthyPrimary = map[string]string{
		labRsc + "-data-status":     "LATEST",
		labRsc + "-master-baseline": "re:^[0-9A-F]{16}$",
		labRsc + "-receiver-status": "normal (master)",
		labRsc + "-status":          "PRI",
		"master-" + labRsc:          "1000",
	}
	labHealthyStandby = map[string]string{
		labRsc + "-data-status":     "STREAMING|ASYNC",
		labRsc + "-receiver-status": "normal",
		labRsc + "-status":          "HS:async",
		"master-" + labRsc:          "100",
	}
)

// labAttrsMismatch describes how got differs from want ("re:" values are regexps), or "".
func labAttrsMismatch(got, want map[string]string) string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s missing", k))
		case strings.HasPrefix(w, "re:"):
			if !regexp.MustCompile(strings.TrimPrefix(w, "re:")).MatchString(g) {
				diffs = append(diffs, fmt.Sprintf("%s=%q !~ %s", k, g, w))
			}
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s=%q, want %q", k, g, w))
		}
	}
	for k, g := range got {
		// This agent's one lasting addition (issue #13, docs/design.md §6): the promote-point
		// chain a promoted node keeps.
		if k == labRsc+"-promote-point" {
			continue
		}
		if _, ok := want[k]; !ok && (strings.HasPrefix(k, labRsc+"-") || k == "master-"+labRsc) {
			diffs = append(diffs, fmt.Sprintf("unexpected %s=%q", k, g))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, ", ")
}

// labFailover: power cut of the primary's node; seconds until a client write through the VIP
// is accepted on the other node; every row written (and replicated) before the crash is there.
// With fencing (the lab's default, issue #12 §1) the survivor fences the lost node before it
// promotes: the power switch's log and the cluster's fencing history show it.
func labFailover(t T, l *labSession) {
	rec := l.record(t, "failover")
	fencing := l.fencing()
	rec.set("fencing", fencing)
	primary, standby := l.healthyPair(t)
	l.ensureRowsTable(t)
	tag := fmt.Sprintf("before-crash-%d", time.Now().UnixNano())
	l.mustSQL(t, "vip", fmt.Sprintf("insert into lab_rows(note) select '%s' from generate_series(1, 100)", tag))
	l.waitCaughtUp(t, primary, standby) // async replication: only replicated rows can be expected
	rec.set("crashed", primary)
	rec.set("rows_before", 100)

	began := time.Now()
	l.mustLog(time.Minute, "crash", primary)
	secs, node, ok := l.writeUntil(began, 120*time.Second, "after-crash", standby)
	rec.set("failover_s", secs)
	rec.set("write_accepted_on", node)
	if fencing {
		labCheckFenced(t, l, rec, standby, primary, began, secs, ok)
	}
	if !ok {
		t.Fatalf("no write accepted on %s within 120 s of the crash:\n%s", standby, l.statusText())
	}
	rows := l.mustSQL(t, "vip", fmt.Sprintf("select count(*) from lab_rows where note = '%s'", tag))
	n, _ := strconv.Atoi(rows)
	rec.set("rows_after", n)
	if rows != "100" {
		t.Errorf("rows written before the crash: %s of 100 on %s", rows, standby)
	}
	if labAgentTraits[l.agent].lockFile {
		rec.set("lock_on_new_primary", l.lockPresent(standby))
	}
}

// labCheckFenced: survivor fenced (power off) lost after began, before the write accepted
// writeS seconds after began (if any was), and the cluster's history says so.
func labCheckFenced(t T, l *labSession, rec *labRecord, survivor, lost string, began time.Time, writeS float64, written bool) {
	t.Helper()
	offs := l.powerOffs(lost, began)
	if len(offs) == 0 {
		t.Errorf("%s was not fenced: no successful off of it in the power switch's log\n%s", lost, l.fenceHistory())
		return
	}
	first := offs[0]
	rec.set("fenced_by", first.Requester)
	rec.set("fence_s", labSeconds(first.At.Sub(began)))
	if first.Requester != survivor {
		t.Errorf("%s was fenced by %s, want %s", lost, first.Requester, survivor)
	}
	if written && first.At.After(began.Add(time.Duration(writeS*float64(time.Second)))) {
		t.Errorf("a write was accepted %.1f s after the crash, before %s was fenced (%.1f s)", writeS, lost, first.At.Sub(began).Seconds())
	}
	history := l.fenceHistory()
	seen := regexp.MustCompile(`(?m)^turning off of ` + lost + ` successful: delegate=` + survivor).MatchString(history)
	rec.set("fence_in_history", seen)
	if !seen {
		t.Errorf("stonith_admin --history shows no successful off of %s by %s:\n%s", lost, survivor, history)
	}
}

// labLock: boot the crashed node; its start is refused, and the refusal says why (ours: or it
// rejoins on the evidence of its WAL, issue #13).
func labLock(t T, l *labSession) {
	crashed := ""
	for _, n := range []string{"node1", "node2"} {
		if !l.nodeAlive(n) {
			crashed = n
		}
	}
	if crashed == "" {
		t.Skip("needs a crashed node: run failover first")
	}
	rec := l.record(t, "lock")
	tr := labAgentTraits[l.agent]
	rec.set("node", crashed)
	rec.set("lock_file_before_boot", l.lockPresent(crashed))
	began := time.Now()
	l.mustLog(2*time.Minute, "boot", crashed)

	var failures []labFailure
	refused, started := false, false
	labWait(90*time.Second, func() bool {
		m, err := l.mon("")
		if err != nil {
			return false
		}
		if failures = m.pgsqlFailures(crashed); len(failures) > 0 {
			refused = true
			return m.settled(crashed) // e.g. the stop after a failed start is done
		}
		started = m.role(crashed) == "Unpromoted" && l.streams(otherNode(crashed), crashed)
		return started
	})
	m := l.mustMon(t, "")
	if r, ok := m.instance(crashed); ok && r.Blocked {
		rec.set("state_after_refusal", "FAILED (blocked)")
	} else {
		rec.set("state_after_refusal", labOr(m.role(crashed), "stopped"))
	}
	// The refusal: the failed start if there is one, else the first failure shown.
	var failure labFailure
	var failed []string
	for _, f := range failures {
		failed = append(failed, fmt.Sprintf("%s: %s (%s)", f.Task, f.ExitStatus, f.ExitReason))
		if failure.Task == "" || f.Task == "start" {
			failure = f
		}
	}
	rec.set("failed_ops", failed)
	const lockMessage = "My data may be inconsistent"
	inLog := l.pacemakerLogHas(crashed, lockMessage)
	rec.set("refused", refused)
	rec.set("started_as_standby", started)
	rec.set("boot_to_verdict_s", labSeconds(time.Since(began)))
	rec.set("failed_op", failure.Task)
	rec.set("exit_reason", failure.ExitReason)
	rec.set("exit_reason_in_crm_mon", failure.ExitReason != "")
	rec.set("lock_message_in_log", inLog)
	rec.set("lock_file_present", l.lockPresent(crashed))
	rec.set("fail_count", m.failCount(crashed))
	if failure.ExitReason == "" && refused {
		rec.note("no exit reason in crm_mon")
	}
	// Ours with auto_rejoin (the default, issue #13): when the evidence proves that all the
	// crashed primary's WAL is in the new primary's history (the standby had caught up), the
	// start lifts the lock and the node streams again with no human; otherwise it is refused
	// as below, with the evidence.
	rejoined := started && l.pacemakerLogHas(crashed, "lock removed on the evidence")
	rec.set("rejoined_on_evidence", rejoined)
	if tr.acceptance && rejoined {
		if l.lockPresent(crashed) {
			t.Errorf("%s rejoined on the evidence but PGSQL.lock is still there", crashed)
		}
		return
	}
	if tr.acceptance && started {
		t.Errorf("%s started as a standby without the evidence that lifts its lock in its log", crashed)
	}
	if tr.lockFile {
		if !refused {
			t.Errorf("start of the crashed old primary %s was not refused", crashed)
		}
		if !inLog && !strings.Contains(failure.ExitReason, lockMessage) {
			t.Errorf("lock message %q neither in %s's pacemaker.log nor in crm_mon (exit reason %q)", lockMessage, crashed, failure.ExitReason)
		}
		if !l.lockPresent(crashed) {
			t.Errorf("PGSQL.lock gone from %s", crashed)
		}
	}
	if tr.acceptance && !strings.Contains(failure.ExitReason, "PGSQL.lock") {
		t.Errorf("exit reason in crm_mon %q does not name PGSQL.lock", failure.ExitReason)
	}
}

// labRejoin: the documented safe procedure (lab rejoin) brings the old primary back as a
// streaming standby, HS:async.
func labRejoin(t T, l *labSession) {
	m := l.mustMon(t, "")
	node := ""
	for _, n := range []string{"node1", "node2"} {
		if r, ok := m.instance(n); !ok || !r.Active || r.Failed {
			node = n
		}
	}
	if node == "" || len(m.promoted()) != 1 {
		t.Skipf("needs one primary and one node without a working standby: run failover and lock first\n%s", l.statusText())
	}
	rec := l.record(t, "rejoin")
	rec.set("node", node)
	rec.set("procedure", "standby the node; stop its PostgreSQL; crm_resource --cleanup; remove PGSQL.lock; "+
		"move pgdata aside; pg_basebackup -X stream from the primary; cleanup; unstandby (lab rejoin)")
	began := time.Now()
	l.mustLog(4*time.Minute, "rejoin", node)
	rec.set("rejoin_s", labSeconds(time.Since(began)))
	rec.set("release_to_streaming_s", l.figures()["rejoin_release_to_streaming_s"])
	if labAgentTraits[l.agent].pgsqlAttrs {
		released := time.Now()
		var attrs map[string]string
		ok := labWait(30*time.Second, func() bool {
			m, err := l.mon("")
			attrs = m.attrs(node)
			return err == nil && attrs[labRsc+"-status"] == "HS:async" && attrs[labRsc+"-data-status"] == "STREAMING|ASYNC"
		})
		rec.set("streaming_to_hs_async_s", labSeconds(time.Since(released)))
		rec.set("attributes", attrs)
		if !ok {
			t.Errorf("%s not HS:async / STREAMING|ASYNC within 30 s: %v", node, attrs)
		}
	}
	l.healthyPair(t)
}

// labPartition: cut the primary's cable, write on both sides, heal. Without fencing it records
// what happens (no pass/fail on split brain itself), including whether the diverged node's
// lock survives the heal. With fencing (issue #12 §1) both sides race to fence each other
// through the lab's power switch: exactly one node is powered off, and never do both sides
// accept a write.
func labPartition(t T, l *labSession) {
	rec := l.record(t, "partition")
	fencing := l.fencing()
	rec.set("fencing", fencing)
	primary, standby := l.caughtUpPair(t)
	rec.set("cut_off", primary)
	m := l.mustMon(t, "")
	rec.set("promotion_scores_before", map[string]string{primary: m.attrs(primary)["master-"+labRsc], standby: m.attrs(standby)["master-"+labRsc]})
	began := time.Now()
	l.mustLog(time.Minute, "partition", primary)

	// Each side's own view: when is the connected side promoted, and does the cut-off
	// primary still consider itself promoted then (split brain)?
	connectedPromoted := labWait(60*time.Second, func() bool {
		ms, err := l.mon(standby)
		return err == nil && slices.Contains(ms.promoted(), standby)
	})
	rec.set("connected_side_promoted", connectedPromoted)
	if connectedPromoted {
		rec.set("connected_side_promoted_s", labSeconds(time.Since(began)))
	}
	mp, err := l.mon(primary)
	both := connectedPromoted && err == nil && slices.Contains(mp.promoted(), primary)
	rec.set("both_primary", both)
	cutOffNote := fmt.Sprintf("cut-off-side-%d", time.Now().UnixNano())
	_, err = l.sql(primary, fmt.Sprintf("insert into lab_rows(note) values ('%s')", cutOffNote))
	rec.set("cut_off_side_accepted_write", err == nil)
	connectedNote := fmt.Sprintf("connected-side-%d", time.Now().UnixNano())
	_, vipNode, vipOK := l.writeUntil(time.Now(), 20*time.Second, connectedNote, "")
	rec.set("client_write_through_vip_on", vipNode)
	rec.set("lock_before_heal", map[string]bool{primary: l.lockPresent(primary), standby: l.lockPresent(standby)})

	twoWriters := err == nil && vipOK && vipNode == standby
	rec.set("two_writers", twoWriters)
	if fencing {
		var fenced []string
		for _, n := range []string{primary, standby} {
			if offs := l.powerOffs(n, began); len(offs) > 0 {
				fenced = append(fenced, n)
				rec.set("fenced_"+n+"_by", offs[0].Requester)
				rec.set("fenced_"+n+"_s", labSeconds(offs[0].At.Sub(began)))
			}
		}
		rec.set("fenced", fenced)
		if len(fenced) != 1 {
			t.Errorf("fenced during the partition: %v, want exactly one node\n%s", fenced, l.fenceHistory())
		}
		if both || twoWriters {
			t.Errorf("with fencing: both primary %v, both sides accepted a write %v", both, twoWriters)
		}
	}

	healed := time.Now()
	l.mustLog(time.Minute, "heal", primary)
	// A fenced node stays off (stonith-action=off): one primary among the nodes powered on.
	one := labWait(90*time.Second, func() bool {
		m, err := l.mon("")
		for _, n := range []string{primary, standby} {
			if err == nil && !m.online(n) && l.nodeAlive(n) {
				return false
			}
		}
		return err == nil && len(m.promoted()) == 1
	})
	rec.set("heal_to_one_primary_s", labSeconds(time.Since(healed)))
	if !one {
		rec.note("still not exactly one primary 90 s after the heal")
	}
	time.Sleep(10 * time.Second) // the aftermath: demote, stop, failed monitors
	m = l.mustMon(t, "")
	survivor, demoted := "", ""
	if p := m.promoted(); len(p) == 1 {
		survivor, demoted = p[0], otherNode(p[0])
	}
	rec.set("survivor", survivor)
	rec.set("demoted", demoted)
	rec.set("lock_after_heal", map[string]bool{primary: l.lockPresent(primary), standby: l.lockPresent(standby)})
	if demoted != "" {
		rec.set("demoted_state", labOr(m.role(demoted), "stopped")+"; fail-count "+labOr(m.failCount(demoted), "0"))
		rec.set("demoted_streaming", l.streams(survivor, demoted))
		notes, _ := l.sql(survivor, fmt.Sprintf("select note from lab_rows where note in ('%s', '%s') order by 1", cutOffNote, connectedNote))
		rec.set("survivor_has_cut_off_write", strings.Contains(notes, cutOffNote))
		rec.set("survivor_has_connected_write", strings.Contains(notes, connectedNote))
		// The demoted node diverged when it accepted a write the survivor does not have.
		lost := (demoted == primary && err == nil && !strings.Contains(notes, cutOffNote)) ||
			(demoted == standby && vipOK && vipNode == standby && !strings.Contains(notes, connectedNote))
		rec.set("demoted_diverged", lost)
		rec.set("diverged_lock_survived_heal", lost && l.lockPresent(demoted))
		if lost {
			rec.note("a write acknowledged on %s during the split brain is not on the survivor %s", demoted, survivor)
		}
	}
	rec.requireFields(t, "both_primary", "cut_off_side_accepted_write", "client_write_through_vip_on",
		"heal_to_one_primary_s", "survivor", "demoted", "lock_after_heal")
}

// labFullRestart: Pacemaker stops every instance (target-role Stopped on the clone), then
// starts them again: for ours, the same node is primary again, the other streams (HS:async), no lock
// is left and no manual step is needed (the stock agent is only recorded: its demote keeps
// the lock while a standby is listed).
func labFullRestart(t T, l *labSession) {
	if !labAgentTraits[l.agent].acceptance {
		// Measured once here: the stock agent's old primary is refused by its lock and the
		// stale standby is promoted instead; restoring a pair by hand would cost the scenarios
		// after it two minutes in CI.
		t.Skip("full-restart is the acceptance of our agent; not run for " + l.agent)
	}
	rec := l.record(t, "full-restart")
	primary, standby := l.caughtUpPair(t)
	rec.set("primary_before", primary)
	setTargetRole := func(role string) {
		t.Helper()
		if _, err := l.run(30*time.Second, "exec", primary, "crm_resource", "--resource", labClone, "--meta",
			"--set-parameter", "target-role", "--parameter-value", role); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	setTargetRole("Stopped")
	if !labWait(120*time.Second, func() bool {
		m, err := l.mon("")
		return err == nil && m.role(primary) == "" && m.role(standby) == ""
	}) {
		t.Fatalf("the instances did not stop within 120 s:\n%s", l.statusText())
	}
	rec.set("stop_s", labSeconds(time.Since(began)))
	rec.set("lock_after_stop", map[string]bool{primary: l.lockPresent(primary), standby: l.lockPresent(standby)})

	began = time.Now()
	setTargetRole("Started")
	pair := labWait(120*time.Second, func() bool {
		m, err := l.mon("")
		return err == nil && slices.Equal(m.promoted(), []string{primary}) && l.streams(primary, standby) &&
			m.attrs(standby)[labRsc+"-status"] == "HS:async"
	})
	rec.set("same_primary_streaming", pair)
	if pair {
		rec.set("start_to_pair_s", labSeconds(time.Since(began)))
	}
	m := l.mustMon(t, "")
	rec.set("promoted_after", m.promoted())
	rec.set("lock_after_start", map[string]bool{primary: l.lockPresent(primary), standby: l.lockPresent(standby)})
	for _, node := range []string{primary, standby} {
		for _, f := range m.pgsqlFailures(node) {
			rec.note("%s: %s failed: %s %s", node, f.Task, f.ExitStatus, f.ExitReason)
		}
	}
	if labAgentTraits[l.agent].acceptance && !pair {
		t.Errorf("after a clean full-cluster stop and start, %s is not primary with %s streaming:\n%s", primary, standby, l.statusText())
	}
	rec.requireFields(t, "stop_s", "lock_after_stop", "same_primary_streaming", "promoted_after", "lock_after_start")
}

// TestLabThreeNodes: a three-node lab boots, and node3 streams from the primary.
func TestLabThreeNodes(t *testing.T) {
	for _, agent := range labScenarioAgents() {
		subtest(t, agent, func(t T) {
			l := startLab(t, agent, 3)
			rec, m := l.bootRecord(t, "three-nodes")
			if !labWait(30*time.Second, func() bool { return l.streams("node1", "node2") && l.streams("node1", "node3") }) {
				t.Errorf("streaming from node1: %v, want node2 and node3", l.streamingFrom("node1"))
			}
			rec.set("streaming_from_node1", l.streamingFrom("node1"))
			if !labAgentTraits[agent].pgsqlAttrs {
				return
			}
			var attrs map[string]string
			if !labWait(30*time.Second, func() bool {
				m, err := l.mon("")
				attrs = m.attrs("node3")
				return err == nil && attrs[labRsc+"-status"] == "HS:async" && attrs[labRsc+"-data-status"] == "STREAMING|ASYNC"
			}) {
				t.Errorf("node3 attributes: %v, want HS:async, STREAMING|ASYNC", attrs)
			}
			m = l.mustMon(t, "")
			rec.set("attributes", map[string]map[string]string{"node1": m.attrs("node1"), "node2": m.attrs("node2"), "node3": m.attrs("node3")})
		})
	}
}

// TestLabSoloOCFTester: ocf-tester against the agent in replication mode needs a live
// cluster for crm_attribute: a one-node "solo" lab. Records the verdict (the stock agent is
// known to fail it, seen in the lab).
func TestLabSoloOCFTester(t *testing.T) {
	for _, agent := range labScenarioAgents() {
		subtest(t, agent, func(t T) {
			l := newLabSession(t, agent, 1)
			l.mustLog(3*time.Minute, "up", "--nodes", "1", "--agent", agent)
			l.mustLog(2*time.Minute, "pg-init")
			rec := l.record(t, "solo-ocf-tester")
			rec.set("up_s", l.figures()["up_s"])
			began := time.Now()
			out, stderr, err := l.runSplit(6*time.Minute, "ocf-tester")
			rec.set("ocf_tester_s", labSeconds(time.Since(began)))
			rec.set("ocf_tester_passed", err == nil)
			verdict := regexp.MustCompile(`^\* |passed all tests|failed \d+ tests`)
			for _, line := range strings.Split(out+"\n"+stderr, "\n") {
				if line = strings.TrimSpace(line); verdict.MatchString(line) {
					rec.note("%s", line)
				}
			}
			if agent == "paf" {
				rec.note("PAF's validate reads notify=true from the resource in the CIB (crm_resource --meta), and the solo lab defines no resource")
			}
			if exitErr, ok := err.(*exec.ExitError); err != nil && (!ok || exitErr.ExitCode() == 124) {
				t.Errorf("ocf-tester did not finish: %v\n%s", err, out)
			}
			if agent == "ours" && err != nil {
				t.Errorf("ocf-tester fails our agent in replication mode: %v\n%s\n%s", err, out, stderr)
			}
		})
	}
}

// TestLabNoMissedFailover: a standby that has just (re)joined is promotable at once. The
// primary is cut 0.5–2 s after the rejoined standby starts streaming, LAB_RACE_RUNS times
// (default 1 to keep CI short; the issue asks for at least 10: LAB_RACE_RUNS=10); every run
// must end with a new primary (PAF missed one failover in ten exactly here, in the lab). Our
// agent only: it is the acceptance of the replication issue.
func TestLabNoMissedFailover(t *testing.T) {
	if !slices.Contains(labAgents(), "ours") {
		t.Skip("LAB_AGENTS does not include ours")
	}
	runs, _ := strconv.Atoi(envOr("LAB_RACE_RUNS", "1"))
	l := startLab(t, "ours", 2)
	rec := l.record(t, "no-missed-failover")
	var delays, failovers []float64
	missed := 0
	for i := 0; i < runs; i++ {
		primary, standby := l.healthyPair(t)
		l.ensureRowsTable(t)
		// Make the standby a freshly rejoined one: crash the primary, let the standby take
		// over, then bring the old primary back by the documented rejoin.
		l.mustLog(time.Minute, "crash", primary)
		if _, _, ok := l.writeUntil(time.Now(), 120*time.Second, "race-first", standby); !ok {
			t.Fatalf("run %d: the first failover to %s did not happen:\n%s", i, standby, l.statusText())
		}
		l.mustLog(4*time.Minute, "rejoin", primary) // returns within 0.5 s of streaming
		delay := 0.5 + rand.Float64()*1.5
		time.Sleep(time.Duration(delay * float64(time.Second)))
		delays = append(delays, delay)

		began := time.Now()
		l.mustLog(time.Minute, "crash", standby)
		secs, _, ok := l.writeUntil(began, 120*time.Second, "race-second", primary)
		if !ok {
			missed++
			t.Errorf("run %d: no failover to the rejoined %s within 120 s of the crash (%.1f s after it streamed):\n%s",
				i, primary, delay, l.statusText())
			return
		}
		failovers = append(failovers, secs)
		l.mustLog(4*time.Minute, "rejoin", standby)
	}
	rec.set("runs", runs)
	rec.set("missed", missed)
	rec.set("crash_after_streaming_s", delays)
	rec.set("failover_s", failovers)
	rec.requireFields(t, "runs", "missed", "failover_s")
}

// TestLabRepeatedSwitchovers moves the promoted role back and forth LAB_SWITCHOVER_RUNS times
// on one lab (default 0: skipped; CI's two switchovers are in TestLabScenarios). Each move is
// a switchover scenario record; rare slow cases show only in a series (the demoted node once
// streamed 6.1 s after the move instead of 2.5 s, on the first of 20).
func TestLabRepeatedSwitchovers(t *testing.T) {
	runs, _ := strconv.Atoi(envOr("LAB_SWITCHOVER_RUNS", "0"))
	if runs == 0 {
		t.Skip("LAB_SWITCHOVER_RUNS=20 LAB_AGENTS=ours go test ./test/labkit -run TestLabRepeatedSwitchovers")
	}
	for _, agent := range labAgents() {
		subtest(t, agent, func(t T) {
			l := startLab(t, agent, 2)
			for i := 1; i <= runs; i++ {
				if !subtest(t, strconv.Itoa(i), func(t T) { labSwitchover(t, l) }) {
					return
				}
			}
		})
	}
}
