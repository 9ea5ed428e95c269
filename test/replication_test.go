package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// replicationRig is one real PostgreSQL run by the agent in rep_mode=async as node1 of a
// two-node promotable clone, with node attributes in a CIB file.
type replicationRig struct {
	c      *cluster
	cib    string
	params map[string]string
	meta   map[string]string
}

func newReplicationRig(t *testing.T) *replicationRig {
	t.Helper()
	c := newCluster(t)
	r := &replicationRig{
		c:   c,
		cib: filepath.Join(c.Dir, "cib.xml"),
		params: with(c.params(), "rep_mode", "async", "node_list", "node1 node2",
			"master_ip", "127.0.0.1", "tmpdir", filepath.Join(c.Dir, "tmp"), "repuser", "postgres"),
		meta: map[string]string{"promotable": "true", "clone_max": "2", "promoted_max": "1",
			"notify": "true", "on_node": "node1", "timeout": "30000", "interval": "4000"},
	}
	r.useCIB(t, "two-nodes.xml")
	return r
}

// useCIB makes testdata/cib/NAME the rig's CIB, replacing what was there (attributes too).
// Pacemaker's CIB_file mode: crm_attribute and crm_mon work on this file without a running
// cluster (transient attributes go straight into node_state).
func (r *replicationRig) useCIB(t *testing.T, name string) {
	t.Helper()
	cib, err := os.ReadFile(filepath.Join("../testdata/cib", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.cib, cib, 0o600); err != nil {
		t.Fatal(err)
	}
}

// run runs an action with CIB_file pointing the cluster tools at the rig's CIB.
func (r *replicationRig) run(t *testing.T, action string, extraMeta ...string) result {
	t.Helper()
	meta := with(r.meta, extraMeta...)
	return runAgentEnv(t, action, r.params, meta, r.extraEnv())
}

// runThrough runs an action through a wrapper (see toolFault).
func (r *replicationRig) runThrough(t *testing.T, wrapper []string, action string) result {
	t.Helper()
	return runAgentWrapped(t, wrapper, action, r.params, r.meta, r.extraEnv())
}

func (r *replicationRig) extraEnv() []string {
	return []string{"CIB_file=" + r.cib, "HA_RSCTMP=" + filepath.Join(r.c.Dir, "run-ra")}
}

// env is the agent's whole environment for a monitor, for running it under strace.
func (r *replicationRig) env() []string {
	env := r.extraEnv()
	for k, v := range r.params {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	for k, v := range r.meta {
		env = append(env, "OCF_RESKEY_CRM_meta_"+k+"="+v)
	}
	return env
}

func (r *replicationRig) must(t *testing.T, want int, action string, extraMeta ...string) result {
	t.Helper()
	res := r.run(t, action, extraMeta...)
	if res.RC != want {
		t.Fatalf("%s: rc %d, want %d\n%s", action, res.RC, want, res.Stderr)
	}
	return res
}

// attr reads a node attribute from the CIB file with the real crm_attribute.
func (r *replicationRig) attr(t *testing.T, node, name, lifetime string) string {
	t.Helper()
	cmd := exec.Command("crm_attribute", "--lifetime="+lifetime, "--node="+node, "--name="+name, "--query", "--quiet")
	cmd.Env = []string{"CIB_file=" + r.cib, "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		return "(none)"
	}
	return strings.TrimSpace(string(out))
}

func (r *replicationRig) deleteAttr(t *testing.T, node, name, lifetime string) {
	t.Helper()
	r.crmAttribute(t, "--lifetime="+lifetime, "--node="+node, "--name="+name, "--delete")
}

func (r *replicationRig) setAttr(t *testing.T, node, name, lifetime, value string) {
	t.Helper()
	r.crmAttribute(t, "--lifetime="+lifetime, "--node="+node, "--name="+name, "--update="+value)
}

// crmAttribute runs the real crm_attribute on the rig's CIB file (test setup).
func (r *replicationRig) crmAttribute(t *testing.T, args ...string) {
	t.Helper()
	r.clusterTool(t, "crm_attribute", args...)
}

// cibadmin changes the rig's CIB file (e.g. a node's membership) with the real cibadmin.
func (r *replicationRig) cibadmin(t *testing.T, args ...string) {
	t.Helper()
	r.clusterTool(t, "cibadmin", args...)
}

func (r *replicationRig) clusterTool(t *testing.T, tool string, args ...string) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Env = []string{"CIB_file=" + r.cib, "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", tool, args, err, out)
	}
}

func (r *replicationRig) expectAttrs(t *testing.T, node string, want map[string]string) {
	t.Helper()
	for name, value := range want {
		lifetime := "reboot"
		if strings.HasSuffix(name, "-data-status") {
			lifetime = "forever"
		}
		if got := r.attr(t, node, name, lifetime); got != value {
			t.Errorf("%s %s = %q, want %q", node, name, got, value)
		}
	}
}

func (r *replicationRig) inRecovery(t *testing.T) bool {
	t.Helper()
	return strings.TrimSpace(r.c.sql(t, "select pg_is_in_recovery()")) == "t"
}

var hexLSN = regexp.MustCompile(`^[0-9A-F]{16}$`)

// TestReplicationLifecycle drives one node through the promotable life cycle with real
// PostgreSQL and real crm_attribute/crm_mon: start as standby, master-less election,
// promote with the lock, primary monitor, demote to a running standby, re-promote, the lock
// refusing a start, and the split-brain demote that keeps the lock.
func TestReplicationLifecycle(t *testing.T) {
	r := newReplicationRig(t)
	lock := filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")

	// A fresh cluster: the data directory was a cleanly shut down primary (initdb), so the
	// standby start claims promotion at once instead of waiting for election rounds.
	started := r.must(t, 0, "start")
	if !r.inRecovery(t) {
		t.Fatal("start did not bring PostgreSQL up as a standby")
	}
	r.expectAttrs(t, "node1", map[string]string{"pgsqltest-status": "HS:alone", "master-pgsqltest": "1000"})
	if !strings.Contains(started.Stderr, "claiming promotion at start") {
		t.Errorf("start did not say why it claimed promotion:\n%s", started.Stderr)
	}
	conf, _ := os.ReadFile(filepath.Join(r.c.PgData, "postgresql.conf"))
	if !strings.Contains(string(conf), "include_if_exists '"+filepath.Join(r.c.Dir, "tmp", "recovery.conf")+"'") {
		t.Errorf("postgresql.conf lacks the include_if_exists line:\n%s", conf)
	}

	r.must(t, 0, "promote")
	if r.inRecovery(t) {
		t.Fatal("promote left PostgreSQL in recovery")
	}
	r.expectAttrs(t, "node1", map[string]string{"pgsqltest-status": "PRI", "pgsqltest-data-status": "LATEST",
		"master-pgsqltest": "1000"})
	r.expectAttrs(t, "node2", map[string]string{"pgsqltest-data-status": "DISCONNECT"})
	if b := r.attr(t, "node1", "pgsqltest-master-baseline", "reboot"); !hexLSN.MatchString(b) {
		t.Errorf("master-baseline %q is not 16 upper-case hex digits", b)
	}
	if content, err := os.ReadFile(lock); err != nil || !strings.Contains(string(content), "node=node1") {
		t.Fatalf("promote did not create the lock with what it knows: %q, %v", content, err)
	}
	r.must(t, 8, "monitor")
	// node2 does not exist in this rig: a degraded steady state. The primary's memory never
	// trusts an absence nor skips a lowering write (issue #10), so each monitor reads node2's
	// score and data-status once (a healthy pair's runs none: TestDemoteStopPromoteHandover).
	programs := execsOfEnv(t, r.c, "monitor", r.env())
	if len(programs) != 3 || programs[1] != "crm_attribute" || programs[2] != "crm_attribute" {
		t.Errorf("a steady-state primary monitor with its standby gone executed %v; want the agent and two reads", programs)
	}
	r.must(t, 0, "promote") // promoting the primary again is a no-op

	r.must(t, 0, "demote", switchoverToNode2...)
	if !r.inRecovery(t) {
		t.Fatal("demote did not leave a running standby")
	}
	// The lock stays until the next primary acknowledges this node's last WAL (issue #10).
	if content, err := os.ReadFile(lock); err != nil || !strings.Contains(string(content), "event=demoted") {
		t.Errorf("a clean demote must keep the lock, recording the shutdown checkpoint: %q, %v", content, err)
	}
	mark := r.attr(t, "node1", "pgsqltest-demoted-lsn", "forever")
	parts := demotedMark.FindStringSubmatch(mark)
	if parts == nil {
		t.Fatalf("demoted-lsn %q is not <timeline>:<16 upper-case hex digits>:<promotion number>", mark)
	}
	// The number ties the mark to node1's run as primary that this demote ended: its latest
	// promotion (review 22, finding 3).
	if head := promotePointSeq(t, r.attr(t, "node1", "pgsqltest-promote-point", "forever")); parts[2] != head {
		t.Errorf("demoted-lsn %q names promotion #%s, node1's promote point is #%s", mark, parts[2], head)
	}
	point := parts[1]
	r.must(t, 0, "demote") // demoting a standby is a no-op
	// node2 is promoted (as its promote would write them: itself LATEST, node1 DISCONNECT):
	// from now on only node2's acknowledgement may lift node1's lock.
	r.setAttr(t, "node2", "pgsqltest-data-status", "forever", "LATEST")
	r.setAttr(t, "node1", "pgsqltest-data-status", "forever", "DISCONNECT")
	r.must(t, 0, "monitor")
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("a standby monitor removed the lock with no acknowledgement: %v", err)
	}
	// A stop keeps the mark (the promote may come after it in the same transition), and a
	// start without the next primary's acknowledgement is refused.
	r.must(t, 0, "stop")
	if got := r.attr(t, "node1", "pgsqltest-demoted-lsn", "forever"); got != mark {
		t.Errorf("stop changed demoted-lsn from %q to %q", mark, got)
	}
	r.must(t, 1, "start")
	// node2's acknowledgement of a position short of the checkpoint does not unlock either.
	_, lsnHex, _ := strings.Cut(point, ":")
	r.setAttr(t, "node1", "pgsqltest-handover", "forever", "node2:"+point+":"+lsnHex)
	r.must(t, 1, "start")
	r.setAttr(t, "node1", "pgsqltest-handover", "forever", "node2:"+point+":"+fmt.Sprintf("%016X", mustHex(t, lsnHex)+1))
	r.must(t, 0, "start")
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("the acknowledged hand-over did not remove the lock (%v)", err)
	}
	r.deleteAttr(t, "node2", "pgsqltest-data-status", "forever")

	// A standby that was shut down as a standby, with no data-status saying it was the last
	// primary, claims nothing at start. With no primary anywhere it does not win the
	// master-less election while node2, which may hold newer data (no data-status says
	// otherwise), has published no position (issue #13 §3); once the admin writes node2 off
	// (data-status DISCONNECT) it wins after xlog_check_count stable rounds.
	r.must(t, 0, "stop")
	r.deleteAttr(t, "node1", "pgsqltest-data-status", "forever")
	r.must(t, 0, "start")
	r.expectAttrs(t, "node1", map[string]string{"master-pgsqltest": "-INFINITY"})
	var waited result
	for i := 0; i < 6; i++ {
		waited = r.must(t, 0, "monitor")
	}
	if got := r.attr(t, "node1", "master-pgsqltest", "reboot"); got != "-INFINITY" {
		t.Fatalf("node1 claimed promotion (score %s) while node2 had published no position", got)
	}
	if !strings.Contains(waited.Stderr, "waiting for node2") {
		t.Errorf("the election does not say it waits for node2:\n%s", waited.Stderr)
	}
	r.setAttr(t, "node2", "pgsqltest-data-status", "forever", "DISCONNECT")
	won := false
	for i := 0; i < 6 && !won; i++ {
		r.must(t, 0, "monitor")
		won = r.attr(t, "node1", "master-pgsqltest", "reboot") == "1000"
	}
	if !won {
		b, _ := os.ReadFile(filepath.Join(r.c.Dir, "tmp", "election.json"))
		t.Fatalf("the lone standby never claimed promotion; election state %s", b)
	}
	if loc := r.attr(t, "node1", "pgsqltest-xlog-loc", "reboot"); !hexLSN.MatchString(loc) {
		t.Errorf("xlog-loc %q is not 16 upper-case hex digits", loc)
	}

	r.must(t, 0, "promote")
	r.must(t, 8, "monitor")
	// A primary that was not demoted keeps its lock when stopped: its next start is refused
	// once another node may have been promoted since (node2's LATEST says so; without it the
	// start runs node1 as a locked standby for the election: TestDirtyPowerCycleNewestNodeWins).
	r.must(t, 0, "stop")
	r.expectAttrs(t, "node1", map[string]string{"pgsqltest-status": "STOP", "master-pgsqltest": "-INFINITY"})
	r.setAttr(t, "node2", "pgsqltest-data-status", "forever", "LATEST")
	refused := r.must(t, 1, "start")
	r.setAttr(t, "node2", "pgsqltest-data-status", "forever", "DISCONNECT")
	want := "My data may be inconsistent. You have to remove " + lock + " file to force start."
	if reasons := refused.reasons(); len(reasons) != 1 || reasons[0] != want {
		t.Errorf("lock refusal reasons %q, want exactly %q", reasons, want)
	}
	if pid := r.c.postmasterPID(); pid != 0 {
		t.Errorf("the refused start left PostgreSQL running (pid %d)", pid)
	}

	// Split brain healed: node2 is primary too and nothing is promoted in this transition.
	os.Remove(lock)
	r.must(t, 0, "start")
	for i := 0; i < 6 && r.attr(t, "node1", "master-pgsqltest", "reboot") != "1000"; i++ {
		r.must(t, 0, "monitor")
	}
	r.must(t, 0, "promote")
	diverged := r.must(t, 1, "demote", "notify_promoted_uname", "node1 node2", "notify_master_uname", "node1 node2",
		"notify_promote_uname", " ")
	if reasons := diverged.reasons(); len(reasons) != 1 || !strings.Contains(reasons[0], "diverged") {
		t.Errorf("split-brain demote reasons %q, want one about divergence", reasons)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("the split-brain demote removed the lock: %v", err)
	}
	if pid := r.c.postmasterPID(); pid != 0 {
		t.Errorf("the split-brain demote left PostgreSQL running (pid %d)", pid)
	}
	r.must(t, 0, "stop")
}

// TestRestartOnPromote: with restart_on_promote=true the standby becomes the primary by a
// restart without standby.signal, staying on its timeline, and the lock is taken.
func TestRestartOnPromote(t *testing.T) {
	r := newReplicationRig(t)
	r.params["restart_on_promote"] = "true"
	r.must(t, 0, "start")
	before := strings.TrimSpace(r.c.sql(t, "select timeline_id from pg_control_checkpoint()"))
	promoted := r.must(t, 0, "promote")
	if r.inRecovery(t) {
		t.Fatal("restart_on_promote left PostgreSQL in recovery")
	}
	if after := strings.TrimSpace(r.c.sql(t, "select timeline_id from pg_control_checkpoint()")); after != before {
		t.Errorf("timeline changed from %s to %s; restart_on_promote keeps it", before, after)
	}
	if _, err := os.Stat(filepath.Join(r.c.PgData, "standby.signal")); !os.IsNotExist(err) {
		t.Errorf("standby.signal still there after the promote (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(r.c.Dir, "tmp", "PGSQL.lock")); err != nil {
		t.Errorf("no lock after the promote: %v", err)
	}
	if !strings.Contains(promoted.Stderr, "restart_on_promote=true") {
		t.Errorf("the promote's log line does not name the method:\n%s", promoted.Stderr)
	}
	r.must(t, 8, "monitor")
	r.must(t, 0, "demote", switchoverToNode2...)
	r.must(t, 0, "stop")
}

// switchoverToNode2 is the notification data of a demote of node1 in a transition that
// promotes node2.
var switchoverToNode2 = []string{"notify_promote_uname", "node2", "notify_demote_uname", "node1",
	"notify_promoted_uname", "node1", "notify_master_uname", "node1"}

// demotedMark is the form of <rsc>-demoted-lsn: "<timeline>:<16 hex digits>:<promotion
// number>"; the first submatch is the shutdown checkpoint, the second the number.
var demotedMark = regexp.MustCompile(`^([1-9][0-9]*:[0-9A-F]{16}):([1-9][0-9]*)$`)

// walPointAttr is the form of a WAL point attribute (<rsc>-catchup-target): "<timeline>:<16
// hex digits>".
var walPointAttr = regexp.MustCompile(`^[1-9][0-9]*:[0-9A-F]{16}$`)

// promotePointSeq is the number of the latest promotion in a <rsc>-promote-point value
// ("<node>:<old tli>:<fork>:<new tli>:<seq>[:u] ...", newest first).
func promotePointSeq(t *testing.T, value string) string {
	t.Helper()
	fields := strings.Fields(value)
	if len(fields) == 0 || len(strings.Split(fields[0], ":")) < 5 {
		t.Fatalf("promote point %q is not <node>:<old tli>:<fork>:<new tli>:<seq>", value)
	}
	return strings.Split(fields[0], ":")[4]
}

func mustHex(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
