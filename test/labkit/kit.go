package labkit

// The Pacemaker lab (test/lab/lab) driven from Go: one lab session per test, serialised with
// the lab's flock, always torn down (also on SIGINT/SIGTERM), scenario results as JSON lines.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
)

const (
	labRsc   = "cfpgsql" // the resource's name, as CFEngine names it: attributes cfpgsql-*
	labClone = "cfpgsql-clone"
	labVIP   = "10.213.7.100"
)

// labPGBin holds the PostgreSQL binaries inside the lab's nodes (the lab installs Debian 12's
// PostgreSQL 15) and on this machine.
var labPGBin = envOr("PG_BINDIR", "/usr/lib/postgresql/15/bin")

var labPsql = filepath.Join(labPGBin, "psql")

// envOr is the environment variable name, or fallback when it is unset or empty.
func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// labHostnameSQL names the node a session landed on: each node has its own UTS namespace.
const labHostnameSQL = `btrim(pg_read_file('/proc/sys/kernel/hostname'), E'\n')`

// labAgents are the agents the lab scenarios run with: LAB_AGENTS ("stock ours" in `make
// test` and `make lab`, "stock paf ours" in `make bench`). Unset or "none": no lab, so a plain
// `go test ./...` never builds namespaces (issue #12).
func labAgents() []string {
	agents := strings.Fields(strings.ReplaceAll(os.Getenv("LAB_AGENTS"), ",", " "))
	if slices.Equal(agents, []string{"none"}) {
		return nil
	}
	return agents
}

// labScenarioAgents are the agents a scenario that compares them runs for: LAB_AGENTS, or
// ours alone under LAB_OURS_ONLY=true. make test sets it: the other agents' runs of these
// scenarios compare, they prove nothing of ours, and CI has 30 minutes; make lab runs them.
// The scenarios that need the stock agent to test ours (migration, re-create, the guide) keep
// it.
func labScenarioAgents() []string {
	agents := labAgents()
	if os.Getenv("LAB_OURS_ONLY") == "true" {
		return slices.DeleteFunc(agents, func(a string) bool { return a != "ours" })
	}
	return agents
}

// labTraits are what each agent is known to do, so that one scenario serves all three.
type labTraits struct {
	pgsqlAttrs bool // publishes the pgsql agent's node attributes (cfpgsql-status, ...)
	lockFile   bool // keeps <tmpdir>/PGSQL.lock after a primary's crash
	acceptance bool // the scenario is the acceptance of our replication issue: assert more
}

var labAgentTraits = map[string]labTraits{
	"stock": {pgsqlAttrs: true, lockFile: true},
	"ours":  {pgsqlAttrs: true, lockFile: true, acceptance: true},
	"paf":   {},
}

// requireLab skips a lab test unless LAB_AGENTS names agents and this machine can run the
// lab.
func requireLab(t T) {
	t.Helper()
	if len(labAgents()) == 0 {
		t.Skip("the lab runs only when LAB_AGENTS names agents (make test, make lab)")
	}
	requireLabTools(t)
}

// requireLabTools skips when this machine cannot run the lab (not root, no namespaces,
// missing packages); CI runs as root on Debian 12 with test/install-deps.sh done.
func requireLabTools(t T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the lab needs root (network, PID and mount namespaces)")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "flock", "xmllint", "corosync", "pacemakerd", "crm_mon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the lab needs %s (run test/install-deps.sh): %v", tool, err)
		}
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Skipf("the lab needs `ip netns`: %v: %s", err, out)
	}
	if _, err := os.Stat(labPsql); err != nil {
		t.Fatalf("PostgreSQL's client binaries missing in %s (run test/install-deps.sh): %v", labPGBin, err)
	}
}

// labSession is one lab, under the test's own name and state dir (not the demo's), so that a
// running `make demo` is never touched by `make test`.
type labSession struct {
	t             T
	name, dir     string
	script        string
	agent         string
	nodes         int
	results       string
	clone         string // the promotable clone's id: labClone, or the guide's mscfpgsql (labseed_test.go)
	pgTmp         string // the agent's tmpdir as a node sees it (PGSQL.lock)
	pcs           bool   // the admin's moves are pcs commands (the seeded lab), not crm_resource
	lock          *os.File
	stopOnSignal  func()
	tearDownOnce  sync.Once
	tearDownError error
}

// labScript is test/lab/lab of the module this process runs in: go test runs in
// test/labkit, make runs test/labctl at the top of the tree.
func labScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test", "lab", "lab"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: run from the pgsql-ra tree")
		}
		dir = parent
	}
}

// newLabSession takes the lab's lock (waiting for another test run), tears down what an
// interrupted earlier run may have left, and arranges teardown at the end of the test.
func newLabSession(t T, agent string, nodes int) *labSession {
	t.Helper()
	if _, test := t.(*testing.T); test {
		requireLab(t) // go test runs the lab only when LAB_AGENTS asks for it
	} else {
		requireLabTools(t) // a program (test/labctl) was asked for it
	}
	script, err := labScript()
	if err != nil {
		t.Fatal(err)
	}
	name := envOr("LAB_TEST_NAME", "pgsql-ra-labtest")
	dir := envOr("LAB_TEST_DIR", "/var/tmp/"+name)
	l := &labSession{t: t, name: name, dir: dir, script: script, agent: agent, nodes: nodes,
		results: envOr("LAB_RESULTS", filepath.Join(dir, "results.jsonl")), clone: labClone, pgTmp: labPGTmp}
	l.takeLock()
	l.stopOnSignal = l.tearDownOnSignal()
	t.Cleanup(func() {
		l.stopOnSignal()
		if err := l.tearDown(); err != nil {
			t.Errorf("lab down: %v", err)
		}
		labAssertGone(t, l.name, l.dir)
		l.lock.Close()
	})
	if _, err := l.run(2*time.Minute, "down"); err != nil {
		t.Fatalf("lab down (leftovers of an earlier run): %v", err)
	}
	return l
}

// startLab brings up a lab with the seed's configuration loaded: node1 promoted, every other
// node streaming from it.
func startLab(t T, agent string, nodes int) *labSession {
	t.Helper()
	l := newLabSession(t, agent, nodes)
	for _, step := range l.buildSteps() {
		l.mustLog(step.timeout, step.args...)
	}
	return l
}

// labCommand is one lab command and how long it may take.
type labCommand struct {
	timeout time.Duration
	args    []string
}

// buildSteps bring a lab up with the seed's configuration (startLab, and rebuild after a
// node the lab could not restore).
func (l *labSession) buildSteps() []labCommand {
	return []labCommand{{3 * time.Minute, []string{"up", "--nodes", strconv.Itoa(l.nodes), "--agent", l.agent}},
		{2 * time.Minute, []string{"pg-init"}}, {6 * time.Minute, []string{"load-cib"}}}
}

func (l *labSession) takeLock() {
	if err := os.MkdirAll(filepath.Dir(l.dir), 0o755); err != nil {
		l.t.Fatal(err)
	}
	f, err := os.OpenFile(l.dir+".lock", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			l.t.Fatalf("lab lock %s: %v", f.Name(), err)
		}
	case <-time.After(20 * time.Minute):
		l.t.Fatalf("lab lock %s: still busy after 20 min", f.Name())
	}
	l.lock = f
}

// tearDownOnSignal tears the lab down when the driving binary is interrupted (Ctrl-C, or a
// runner's SIGTERM): t.Cleanup does not run then.
func (l *labSession) tearDownOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "lab: %v: tearing the lab down\n", sig)
			l.tearDown()
			os.Exit(2)
		case <-quit:
		}
	}()
	return func() { signal.Stop(ch); close(quit) }
}

func (l *labSession) tearDown() error {
	l.tearDownOnce.Do(func() {
		_, l.tearDownError = l.run(2*time.Minute, "down")
	})
	return l.tearDownError
}

// run runs one lab command. At the timeout the command gets SIGTERM, on which the lab's
// `up` tears down what it built.
func (l *labSession) run(timeout time.Duration, args ...string) (string, error) {
	out, stderr, err := l.runSplit(timeout, args...)
	if err != nil {
		return out, fmt.Errorf("lab %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out, nil
}

func (l *labSession) runSplit(timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.script, args...)
	cmd.Env = l.env()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return strings.TrimRight(o.String(), "\n"), e.String(), err
}

// env points the lab script at this session's lab, whose lock the test already holds.
func (l *labSession) env() []string {
	return append(os.Environ(), "LAB_NAME="+l.name, "LAB_DIR="+l.dir, "LAB_LOCK_HELD="+l.dir+".lock")
}

// mustLog runs a lab command that must succeed and logs its progress lines.
func (l *labSession) mustLog(timeout time.Duration, args ...string) string {
	l.t.Helper()
	out, stderr, err := l.runSplit(timeout, args...)
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line != "" {
			l.t.Log(line)
		}
	}
	if err != nil {
		l.t.Fatalf("lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// sql runs a statement as postgres inside a node ("vip": from the client through the VIP).
func (l *labSession) sql(target, statement string) (string, error) {
	return l.run(30*time.Second, "sql", target, statement)
}

func (l *labSession) mustSQL(t T, target, statement string) string {
	t.Helper()
	out, err := l.sql(target, statement)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeVIP tries one insert through the VIP and returns the node that accepted it. The try
// is cut after a second (libpq's connect_timeout cannot go below 2 s).
func (l *labSession) writeVIP(note string) (string, error) {
	return l.run(5*time.Second, "client", "timeout", "1", labPsql, "-XAtq", "-v", "ON_ERROR_STOP=1",
		"-h", labVIP, "-U", "postgres", "-d", "postgres", "-c",
		fmt.Sprintf("insert into lab_rows(note) values ('%s') returning %s", note, labHostnameSQL))
}

// writeUntil waits until a write through the VIP is accepted by the wanted node (any node
// when want is "") and returns the seconds since began. The writer runs inside the client's
// namespace and starts a new connection attempt every 50 ms while earlier ones are still
// pending: one attempt at a time, each cut after a second, measured in steps of ~1.2 s.
func (l *labSession) writeUntil(began time.Time, timeout time.Duration, note, want string) (float64, string, bool) {
	self, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	remaining := time.Until(began.Add(timeout))
	out, err := l.run(remaining+10*time.Second, "client", "env", helperEnv+"=vip-writer",
		"LAB_VIP_WRITER_NOTE="+note, "LAB_VIP_WRITER_WANT="+want,
		"LAB_VIP_WRITER_TIMEOUT="+remaining.String(), "LAB_VIP_WRITER_ADDR="+labVIP,
		self)
	secs := labSeconds(time.Since(began))
	for _, line := range strings.Split(out, "\n") {
		if node, ok := strings.CutPrefix(line, "vip-writer: accepted by "); ok && err == nil {
			return secs, node, true
		}
	}
	return secs, "", false
}

// mon is crm_mon's XML as seen from one node ("" = any running, connected node).
func (l *labSession) mon(node string) (labMon, error) {
	if node == "" {
		node = l.anyNode()
	}
	out, err := l.run(30*time.Second, "exec", node, "crm_mon", "--output-as=xml", "-1", "-A", "-f", "-r")
	if err != nil {
		return labMon{}, err
	}
	parsed, err := crmattr.ParseCrmMon([]byte(out))
	if err != nil {
		return labMon{}, fmt.Errorf("crm_mon XML from %s: %w", node, err)
	}
	return labMon{parsed}, nil
}

// statusText is `crm_mon -Afr1` for failure messages.
func (l *labSession) statusText() string {
	out, err := l.run(30*time.Second, "status")
	if err != nil {
		return err.Error()
	}
	return out
}

func (l *labSession) mustMon(t T, node string) labMon {
	t.Helper()
	m, err := l.mon(node)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// admin is the lab command that runs an admin's command inside node.
func (l *labSession) admin(node string, args []string) []string {
	return append([]string{"exec", node}, args...)
}

// banPromotedArgs: the command that moves the promoted role off node (a -INFINITY location
// constraint for the Promoted role): crm_resource, or pcs in the seeded lab (issue #14 §2).
func (l *labSession) banPromotedArgs(node string) []string {
	if l.pcs {
		return []string{"pcs", "resource", "ban", l.clone, node, "--promoted"}
	}
	return []string{"crm_resource", "--ban", "--promoted", "--resource", l.clone, "--node", node}
}

// clearArgs: the command that removes the constraints of banPromotedArgs.
func (l *labSession) clearArgs() []string {
	if l.pcs {
		return []string{"pcs", "resource", "clear", l.clone}
	}
	return []string{"crm_resource", "--clear", "--resource", l.clone}
}

// anyNode is a node whose init is alive and that is not cut off, else node1.
func (l *labSession) anyNode() string {
	for i := 1; i <= l.nodes; i++ {
		n := fmt.Sprintf("node%d", i)
		if l.nodeAlive(n) && !l.fileExists(n, "partitioned") {
			return n
		}
	}
	return "node1"
}

func (l *labSession) nodeAlive(node string) bool {
	b, err := os.ReadFile(filepath.Join(l.dir, node, "init.pid"))
	if err != nil {
		return false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	// A powered-off node's init can linger as a zombie (this machine's PID 1 reaps lazily):
	// seen as alive, a fenced node was never booted again by the fault matrix's restore.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if i := strings.LastIndexByte(string(stat), ')'); err == nil && i > 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return err == nil
}

// nodePath is a file of a node's "disk", as the host sees it.
func (l *labSession) nodePath(node, path string) string {
	return filepath.Join(l.dir, node, "root", path)
}

func (l *labSession) fileExists(node, name string) bool {
	_, err := os.Stat(filepath.Join(l.dir, node, name))
	return err == nil
}

func (l *labSession) lockPresent(node string) bool {
	_, err := os.Stat(l.nodePath(node, filepath.Join(l.pgTmp, "PGSQL.lock")))
	return err == nil
}

// pacemakerLog is a node's pacemaker.log ("" when it cannot be read).
func (l *labSession) pacemakerLog(node string) string {
	return fileText(l.nodePath(node, "var/log/pacemaker/pacemaker.log"))
}

// pacemakerLogHas reports whether a node's pacemaker.log contains text.
func (l *labSession) pacemakerLogHas(node, text string) bool {
	return strings.Contains(l.pacemakerLog(node), text)
}

// figures are the lab script's measurements (up_s, loaded_to_primary_s, ...).
func (l *labSession) figures() map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open(filepath.Join(l.dir, "figures"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if n, err := strconv.ParseFloat(v, 64); ok && err == nil {
			out[k] = n
		}
	}
	return out
}

// streamingFrom lists the application names streaming from a node's PostgreSQL.
func (l *labSession) streamingFrom(primary string) []string {
	out, err := l.sql(primary, "select application_name from pg_stat_replication where state = 'streaming' order by 1")
	if err != nil || out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func (l *labSession) streams(primary, standby string) bool {
	for _, n := range l.streamingFrom(primary) {
		if n == standby {
			return true
		}
	}
	return false
}

// healthyPair waits until one node is promoted and the other streams from it, and returns
// both: the scenarios that need a healthy pair start from whatever the previous one left.
func (l *labSession) healthyPair(t T) (primary, standby string) {
	t.Helper()
	began := time.Now()
	primary, standby, score, ok := l.waitHealthyPair(60 * time.Second)
	if !ok {
		t.Fatalf("no healthy pair (one primary, one streaming standby with a positive promotion score) within 60 s:\n%s", l.statusText())
	}
	t.Logf("healthy pair after %.1f s: %s primary, %s standby with promotion score %d", labSeconds(time.Since(began)), primary, standby, score)
	return primary, standby
}

// waitHealthyPair is healthyPair without failing: ok=false after timeout; primary is the
// promoted node, if any.
func (l *labSession) waitHealthyPair(timeout time.Duration) (primary, standby string, score int, ok bool) {
	ok = labWait(timeout, func() bool {
		m, err := l.mon("")
		if err != nil {
			return false
		}
		p := m.promoted()
		if len(p) != 1 {
			return false
		}
		primary = p[0]
		standby = otherNode(primary)
		// Promotable too: PAF's standby holds -1000 until the primary's monitor raises it.
		score, err = strconv.Atoi(m.attrs(standby)["master-"+labRsc])
		// Alive too: a powered-off standby's walsender row on the primary stays "streaming"
		// until wal_sender_timeout.
		return m.role(standby) == "Unpromoted" && l.nodeAlive(standby) && l.streams(primary, standby) && err == nil && score > 0
	})
	return primary, standby, score, ok
}

// waitCaughtUp waits until standby has replayed everything primary has written so far.
func (l *labSession) waitCaughtUp(t T, primary, standby string) {
	t.Helper()
	lsn := l.mustSQL(t, primary, "select pg_current_wal_lsn()")
	if !labWait(30*time.Second, func() bool {
		out, err := l.sql(standby, fmt.Sprintf("select pg_last_wal_replay_lsn() >= '%s'", lsn))
		return err == nil && out == "t"
	}) {
		t.Fatalf("%s did not replay up to %s within 30 s", standby, lsn)
	}
}

// labWait polls cond every half second until it holds or the timeout passes.
func labWait(timeout time.Duration, cond func() bool) bool {
	return labWaitEvery(timeout, 500*time.Millisecond, cond)
}

// labWaitEvery polls cond every period until it holds or the timeout passes.
func labWaitEvery(timeout, period time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(period)
	}
}

func labSeconds(d time.Duration) float64 {
	return float64(d.Round(100*time.Millisecond)) / float64(time.Second)
}

// ---------------------------------------------------------------------------- crm_mon XML

// labMon is `crm_mon --output-as=xml -1 -A -f -r` read with the agent's own schema
// (crmattr.CrmMon, issue #12), with what the scenarios ask of it.
type labMon struct{ crmattr.CrmMon }

type (
	labInstance = crmattr.MonResource
	labFailure  = crmattr.MonFailure
)

// pgsqlInstances are the instances of the clone of labRsc, whatever the clone's id (the seeded
// lab's is the guide's mscfpgsql).
func (m labMon) pgsqlInstances() []labInstance {
	for _, c := range m.Resources.Clones {
		for _, r := range c.Resources {
			if r.ID == labRsc {
				return c.Resources
			}
		}
	}
	return nil
}

// instance is the pgsql instance placed on node, if any (also a failed or blocked one).
func (m labMon) instance(node string) (labInstance, bool) {
	for _, r := range m.pgsqlInstances() {
		for _, n := range r.Nodes {
			if n.Name == node {
				return r, true
			}
		}
	}
	return labInstance{}, false
}

// settled reports whether Pacemaker is done with node's instance: none runs there, or it is
// blocked (a failed stop), or it runs without a failure.
func (m labMon) settled(node string) bool {
	r, ok := m.instance(node)
	return !ok || !r.Active || r.Blocked || !r.Failed
}

// role is the pgsql instance's role on node: Promoted, Unpromoted, or "" when none runs there.
func (m labMon) role(node string) string {
	for _, r := range m.pgsqlInstances() {
		for _, n := range r.Nodes {
			if n.Name == node && r.Active {
				if r.Role == "Started" || r.Role == "Slave" {
					return "Unpromoted"
				}
				if r.Role == "Master" {
					return "Promoted"
				}
				return r.Role
			}
		}
	}
	return ""
}

func (m labMon) promoted() []string {
	var out []string
	for _, r := range m.pgsqlInstances() {
		for _, n := range r.Nodes {
			if r.Active && (r.Role == "Promoted" || r.Role == "Master") {
				out = append(out, n.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (m labMon) online(node string) bool {
	for _, n := range m.Nodes {
		if n.Name == node {
			return n.Online
		}
	}
	return false
}

func (m labMon) vipOn() string {
	for _, g := range m.Resources.Groups {
		for _, r := range g.Resources {
			if r.Active && len(r.Nodes) > 0 {
				return r.Nodes[0].Name
			}
		}
	}
	return ""
}

func (m labMon) attrs(node string) map[string]string {
	out := map[string]string{}
	for _, a := range m.Attributes {
		if a.Node == node {
			for _, kv := range a.Attrs {
				out[kv.Name] = kv.Value
			}
		}
	}
	return out
}

// pgsqlFailures are the pgsql resource's failed actions on node.
func (m labMon) pgsqlFailures(node string) []labFailure {
	var out []labFailure
	for _, f := range m.Failures {
		if f.Node == node && strings.HasPrefix(f.OpKey, labRsc+"_") {
			f.ExitReason = html.UnescapeString(f.ExitReason) // Pacemaker 2.1 escapes it twice
			out = append(out, f)
		}
	}
	return out
}

func (m labMon) failCount(node string) string {
	for _, h := range m.History {
		if h.Node == node {
			for _, r := range h.Resources {
				if r.ID == labRsc {
					return r.FailCount
				}
			}
		}
	}
	return ""
}

// ---------------------------------------------------------------------------- results

// labRecord is one scenario run, written as one JSON line: {"scenario","agent","pass",
// figures..., "notes"}.
type labRecord struct {
	fields map[string]any
	notes  []string
}

// record starts the scenario's record; it is written when the (sub)test ends, with pass
// set from the test's outcome.
func (l *labSession) record(t T, scenario string) *labRecord {
	r := &labRecord{fields: map[string]any{"scenario": scenario, "agent": l.agent, "nodes": l.nodes}}
	began := time.Now()
	t.Cleanup(func() {
		if t.Skipped() {
			return
		}
		r.fields["pass"] = !t.Failed()
		r.fields["seconds"] = labSeconds(time.Since(began))
		r.fields["notes"] = strings.Join(r.notes, "; ")
		b, err := json.Marshal(r.fields)
		if err != nil {
			t.Errorf("result: %v", err)
			return
		}
		t.Logf("result: %s", b)
		if err := os.MkdirAll(filepath.Dir(l.results), 0o755); err == nil {
			if f, err := os.OpenFile(l.results, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				f.Write(append(b, '\n'))
				f.Close()
			}
		}
	})
	return r
}

func (r *labRecord) set(key string, value any) { r.fields[key] = value }
func (r *labRecord) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// requireFields fails unless the record holds every key (for "record what happens" runs).
func (r *labRecord) requireFields(t T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := r.fields[k]; !ok {
			t.Errorf("record lacks %q", k)
		}
	}
}

// ---------------------------------------------------------------------------- teardown check

// labAssertGone checks that nothing of a lab is left: no network namespace with its prefix,
// no process whose command line names its state dir, no mount under it.
func labAssertGone(t T, name, dir string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Errorf("ip netns list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, name+"-") {
			t.Errorf("lab left a network namespace: %s", line)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	self := strconv.Itoa(os.Getpid())
	for _, p := range procs {
		b, err := os.ReadFile(p)
		pid := strings.Split(p, "/")[2]
		if err != nil || pid == self {
			continue
		}
		if bytes.Contains(b, []byte(dir+"/")) {
			t.Errorf("lab left process %s: %s", pid, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("mountinfo: %v", err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			t.Errorf("lab left a mount: %s", f[4])
		}
	}
}

// firstLine is s up to its first newline: a lab command's error for one table cell.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// fileText is a file's content, "" when it cannot be read (a log nobody wrote yet).
func fileText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// OCFLogLine matches a line as resource-agents' ocf_log appends it to HA_LOGFILE (__ha_log in
// heartbeat/ocf-shellfuncs.in, date format "%b %d %T "):
// "<date>  pgsql(<instance>)[<pid>]:    <LEVEL>: <message>...". The instance may carry a clone
// suffix (":1"); pid 0 matches any pid.
func OCFLogLine(instance string, pid int, level, message string) *regexp.Regexp {
	pidPattern := "[0-9]+"
	if pid != 0 {
		pidPattern = strconv.Itoa(pid)
	}
	return regexp.MustCompile(`(?m)^[A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  pgsql\(` +
		regexp.QuoteMeta(instance) + `(:[0-9]+)?\)\[` + pidPattern + `\]:    ` + level + `: ` + regexp.QuoteMeta(message))
}
