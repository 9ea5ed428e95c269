package labkit

// `make bench`: the stock pgsql agent, PAF (pgsqlms) and ours measured on the same two-node
// lab (test/lab/lab), alternating: BENCH_ROUNDS rounds (3), each giving every agent a fresh
// lab, in an order that rotates from round to round. Not part of `make test`: test/labctl
// bench runs it. Every measurement is one JSON line (the lab harness's records) in
// bench/results/<date>-<HHMM>.jsonl; the summary table goes to bench/results/<date>-<HHMM>.md
// and to the output.
//
//   M  monitor cost: the environment of a real recurring monitor is captured on the primary
//      and on the standby (a wrapper bind-mounted over the agent inside the node), then the
//      agent's monitor runs BENCH_MONITOR_CALLS times per role with exactly that environment,
//      inside the node, from the driving binary copied there (wall time, CPU time of the call
//      and its reaped children from wait4's rusage); BENCH_STRACE_CALLS more calls run under
//      strace to list the programs they execute and count attribute writes.
//   C  cold start: the lab's load-cib figures (resources loaded -> node1 promoted, then
//      -> every standby streaming).
//   S  switchover: the lab harness's switchover scenario (labSwitchover).
//   F  failover: BENCH_FAILOVERS power cuts of the primary: seconds to a write through the
//      VIP; the agent's share from the DC's "Initiating promote operation" log line to it.
//   P  promote: the same cuts, the promote operation's duration in the DC's pacemaker.log
//      (restart_on_promote=true, the lab's setting).
//   S, F under load: per round, one more switchover and one more power cut while pgbench runs
//      through the VIP at BENCH_LOAD_TPS (50) transactions a second (load.go).
//   R  rejoin: after each cut, the old primary booted until it streams again: ours on the
//      evidence with no human (issue #13), else `lab rejoin` (the documented manual procedure).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgsql-ra/pgsql-ra/test/labreport"
)

// benchAgentPaths are the installed agents, as Pacemaker runs them on the lab's nodes.
var benchAgentPaths = map[string]string{
	"stock": "/usr/lib/ocf/resource.d/heartbeat/pgsql",
	"paf":   "/usr/lib/ocf/resource.d/heartbeat/pgsqlms",
	"ours":  "/usr/lib/ocf/resource.d/cfengine/pgsql",
}

func benchInt(name string, fallback int) int {
	n, err := strconv.Atoi(envOr(name, ""))
	if err != nil || n < 0 {
		return fallback
	}
	return n
}

// RunBench runs the benchmark (make bench: test/labctl bench) and writes its table.
func RunBench(t T, cfg BenchConfig) {
	requireLabTools(t)
	resultsDir, err := filepath.Abs(cfg.ResultsDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	// One set of files per run (date and start time), so a second run the same day keeps the first.
	raw := filepath.Join(resultsDir, began.UTC().Format("2006-01-02-1504")+".jsonl")
	if err := os.WriteFile(raw, nil, 0o644); err != nil { // this run's records only
		t.Fatal(err)
	}
	cfg.Rounds = max(1, cfg.Rounds)
	for round := 1; round <= cfg.Rounds; round++ {
		for _, agent := range benchRotate(cfg.Agents, round-1) {
			subtest(t, fmt.Sprintf("round-%d/%s", round, agent), func(t T) {
				l := startLab(t, agent, 2)
				l.results = raw
				benchAgent(t, l, cfg, round)
			})
		}
	}
	header := fmt.Sprintf("Agents %s on the two-node lab (test/lab) in %d alternating rounds, %d monitor calls per role (%d under strace), %d power cuts per agent (+%d with restart_on_promote=false); "+
		"under load: one switchover and one power cut per round while pgbench runs through the VIP at %d transactions/s (4 clients, BENCH_LOAD_TPS); run time %s.",
		strings.Join(cfg.Agents, ", "), cfg.Rounds, cfg.MonitorCalls, cfg.StraceCalls, cfg.Failovers, cfg.NoRestartCuts, cfg.LoadTPS, time.Since(began).Round(time.Second))
	benchWriteReport(t, raw, cfg.Agents, began, header)
}

// benchWriteReport writes <raw without .jsonl>.md: a title, the note, the table, the legend;
// and prints them.
func benchWriteReport(t T, raw string, agents []string, at time.Time, note string) {
	shown, chartErr, err := labreport.WriteBenchReport(raw, agents, at, note)
	if chartErr != nil {
		t.Logf("no failover chart: %v", chartErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s\n(written to %s and %s)\n", shown, labreport.MarkdownPath(raw), raw)
}

// BenchConfig is one run of the benchmark (test/labctl bench's flags).
type BenchConfig struct {
	Agents                               []string
	ResultsDir                           string // receives <date>-<HHMM>.jsonl, .md and the chart
	MonitorCalls, StraceCalls, Failovers int
	NoRestartCuts                        int // power cuts with restart_on_promote=false
	Rounds                               int // each agent gets a fresh lab per round, in rotating order
	LoadTPS                              int // pgbench's rate in the "under load" steps (0: none)
}

// benchRotate is agents starting at the i-th, so no agent always runs first (or last) on a
// machine whose speed drifts.
func benchRotate(agents []string, i int) []string {
	if len(agents) == 0 {
		return nil
	}
	i %= len(agents)
	return append(slices.Clone(agents[i:]), agents[:i]...)
}

// benchAgent measures one agent on its freshly loaded lab in one round: C and S (there and
// back) in every round, M in the first, this round's share of the power cuts (F, P, R), and the cuts with
// restart_on_promote=false in the last. After a failed step the run goes on only if the
// pair is healthy again (a switchover's verdict may fail while the cluster recovers).
func benchAgent(t T, l *labSession, cfg BenchConfig, round int) {
	type step = struct {
		name string
		run  func(T)
	}
	steps := []step{{"cold-start", func(t T) { benchColdStart(t, l) }}}
	if round == 1 {
		steps = append(steps, step{"monitor", func(t T) { benchMonitor(t, l, cfg) }})
	}
	steps = append(steps, step{"switchover", func(t T) { labSwitchover(t, l) }},
		step{"switchover-back", func(t T) { labSwitchover(t, l) }})
	if cfg.LoadTPS > 0 {
		steps = append(steps, step{"switchover-load", func(t T) {
			rec := l.record(t, "switchover-load")
			load := l.startLoad(t, cfg.LoadTPS)
			defer load.stop(rec)
			labSwitchoverRecorded(t, l, rec)
		}})
	}
	perRound := (cfg.Failovers + cfg.Rounds - 1) / cfg.Rounds
	for i := (round-1)*perRound + 1; i <= min(round*perRound, cfg.Failovers); i++ {
		steps = append(steps, step{fmt.Sprintf("failover-%d", i), func(t T) { benchFailover(t, l, "failover", i, 0) }})
	}
	if cfg.LoadTPS > 0 {
		steps = append(steps, step{"failover-load", func(t T) { benchFailover(t, l, "failover-load", round, cfg.LoadTPS) }})
	}
	// P with restart_on_promote=false: last, since the parameter change restarts the resource
	// (PAF has no such parameter).
	if round == cfg.Rounds && labAgentTraits[l.agent].pgsqlAttrs && cfg.NoRestartCuts > 0 {
		steps = append(steps, step{"restart_on_promote=false", func(t T) {
			if _, err := l.run(30*time.Second, "exec", l.anyNode(), "crm_resource", "--resource", labRsc,
				"--set-parameter", "restart_on_promote", "--parameter-value", "false"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second) // let the restart begin before waiting for a healthy pair
			if primary, _, _, ok := l.waitHealthyPair(60 * time.Second); !ok && !labAgentTraits[l.agent].acceptance && primary != "" {
				// The stock agent's restart leaves the standby stopped by its lock: the admin's
				// rejoin brings it back (recorded, not measured).
				rec := l.record(t, "restart-on-promote-change")
				rec.set("manual_step", "lab rejoin "+otherNode(primary))
				l.mustLog(5*time.Minute, "rejoin", otherNode(primary))
			}
			l.healthyPair(t)
		}})
		for i := 1; i <= cfg.NoRestartCuts; i++ {
			steps = append(steps, step{fmt.Sprintf("failover-no-restart-%d", i), func(t T) { benchFailover(t, l, "failover-no-restart", i, 0) }})
		}
	}
	for _, s := range steps {
		if subtest(t, s.name, s.run) {
			continue
		}
		t.Logf("%s failed; the cluster now:\n%s", s.name, l.statusText())
		if !subtest(t, "healthy-pair-after-"+s.name, func(t T) { l.healthyPair(t) }) {
			t.Logf("%s failed and left no healthy pair: stopping this agent's bench", s.name)
			return
		}
	}
}

// ---------------------------------------------------------------------------- C

func benchColdStart(t T, l *labSession) {
	rec := l.record(t, "cold-start")
	f := l.figures()
	rec.set("loaded_to_primary_s", f["loaded_to_primary_s"])
	rec.set("primary_to_streaming_s", f["primary_to_streaming_s"])
	rec.set("cold_start_s", math.Round((f["loaded_to_primary_s"]+f["primary_to_streaming_s"])*10)/10)
	rec.note("the lab holds node2 in standby until node1 is promoted (the seed's procedure): the sum of both waits")
}

// ---------------------------------------------------------------------------- M

// benchMonitor captures a real monitor's environment on both nodes, then measures the
// agent's monitor with it on each node.
func benchMonitor(t T, l *labSession, cfg BenchConfig) {
	primary, standby := l.healthyPair(t)
	dir := filepath.Join(l.dir, "bench") // /var/tmp is the host's inside the nodes too
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	agentPath := benchAgentPaths[l.agent]
	benchCaptureMonitorEnv(t, l, dir, agentPath, primary, standby)

	// The driving binary (the test binary or test/labctl), copied where the nodes see it (each node has a private /tmp).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "bench-helper")
	if err := benchCopyFile(self, helper, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, node := range []struct{ name, role string }{{primary, "primary"}, {standby, "standby"}} {
		subtest(t, node.role, func(t T) {
			rec := l.record(t, "monitor")
			rec.set("role", node.role)
			rec.set("node", node.name)
			out, err := l.run(30*time.Minute, "exec", node.name, "env",
				helperEnv+"=bench-monitor", "BENCH_HELPER_DIR="+dir, "BENCH_HELPER_NODE="+node.name, "BENCH_HELPER_AGENT="+agentPath,
				fmt.Sprintf("BENCH_HELPER_CALLS=%d", cfg.MonitorCalls), fmt.Sprintf("BENCH_HELPER_STRACE_CALLS=%d", cfg.StraceCalls),
				helper)
			if err != nil {
				t.Fatalf("monitor helper on %s: %v\n%s", node.name, err, out)
			}
			var calls []benchMonitorCall
			if err := labreport.ReadJSONLines(filepath.Join(dir, "monitor-"+node.name+".jsonl"), &calls); err != nil {
				t.Fatal(err)
			}
			benchSummariseMonitor(rec, calls)
		})
	}
}

// benchCaptureMonitorEnv bind-mounts, inside each node only, a wrapper over the agent that
// saves the environment of Pacemaker's next recurring monitor (env-<node>, NUL-separated)
// and runs the real agent; the mounts go once both are saved.
func benchCaptureMonitorEnv(t T, l *labSession, dir, agentPath string, nodes ...string) {
	t.Helper()
	// The real agent must run from its own path (PAF finds its Perl modules relative to
	// it): a private mount namespace without the wrapper's bind mount.
	wrapper := filepath.Join(dir, "capture-wrapper")
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = monitor ] && [ "${OCF_RESKEY_CRM_meta_interval:-0}" != 0 ]; then
  node=$(cat /proc/sys/kernel/hostname)
  env -0 >%[1]s/env-$node.tmp && mv %[1]s/env-$node.tmp %[1]s/env-$node
fi
exec unshare --mount --propagation private sh -c 'umount "$0" && exec "$0" "$@"' %[2]s "$@"
`, dir, agentPath)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, err := l.run(30*time.Second, "exec", n, "mount", "--bind", wrapper, agentPath); err != nil {
			t.Fatal(err)
		}
	}
	captured := labWait(30*time.Second, func() bool {
		for _, n := range nodes {
			if _, err := os.Stat(filepath.Join(dir, "env-"+n)); err != nil {
				return false
			}
		}
		return true
	})
	for _, n := range nodes {
		if _, err := l.run(30*time.Second, "exec", n, "umount", agentPath); err != nil {
			t.Errorf("removing the capture wrapper on %s: %v", n, err)
		}
	}
	if !captured {
		t.Fatalf("no recurring monitor's environment captured within 30 s on %v", nodes)
	}
}

func benchCopyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchMonitorCall is one monitor call as the helper measured it.
type benchMonitorCall struct {
	Straced    bool     `json:"straced,omitempty"`
	ExitCode   int      `json:"rc"`
	WallMS     float64  `json:"wall_ms"`
	CPUMS      float64  `json:"cpu_ms"`
	Children   []string `json:"children,omitempty"`    // programs executed (basenames), straced calls
	AttrWrites int      `json:"attr_writes,omitempty"` // crm_attribute/attrd_updater updates or deletes
}

// benchMonitorHelper is the helper the bench runs inside a lab node (in its namespaces, this
// binary copied there) to call the agent's monitor with a captured environment.
func benchMonitorHelper(t T) {
	dir := os.Getenv("BENCH_HELPER_DIR")
	node, agent := os.Getenv("BENCH_HELPER_NODE"), os.Getenv("BENCH_HELPER_AGENT")
	b, err := os.ReadFile(filepath.Join(dir, "env-"+node))
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	out, err := os.Create(filepath.Join(dir, "monitor-"+node+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	enc := json.NewEncoder(out)
	for i := 0; i < benchInt("BENCH_HELPER_CALLS", 200); i++ {
		enc.Encode(benchRunMonitor(t, exec.Command(agent, "monitor"), env))
	}
	// Separate calls under strace: its overhead must not count in the timed ones.
	trace := filepath.Join(dir, "strace-"+node)
	for i := 0; i < benchInt("BENCH_HELPER_STRACE_CALLS", 20); i++ {
		c := benchRunMonitor(t, exec.Command("strace", "-f", "-qq", "-s", "128", "-e", "trace=execve", "-o", trace, agent, "monitor"), env)
		c.Straced = true
		c.Children, c.AttrWrites = benchExecs(t, trace)
		enc.Encode(c)
	}
}

func benchRunMonitor(t T, cmd *exec.Cmd, env []string) benchMonitorCall {
	cmd.Env = env
	began := time.Now()
	err := cmd.Run()
	wall := time.Since(began)
	if cmd.ProcessState == nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	// wait4's rusage: the call itself plus every descendant it reaped.
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return benchMonitorCall{ExitCode: cmd.ProcessState.ExitCode(),
		WallMS: float64(wall.Microseconds()) / 1000, CPUMS: float64(cpu.Microseconds()) / 1000}
}

var (
	benchExecLine    = regexp.MustCompile(`^(\d+) +execve\("([^"]*)", \[(.*?)\]`)
	benchResumedLine = regexp.MustCompile(`^(\d+) +<\.\.\. execve resumed>.*= (-?\d+)`)
)

// benchExecs reads one `strace -f -e trace=execve` log: the programs executed successfully
// after the agent itself, and how many of them write node attributes.
func benchExecs(t T, path string) (programs []string, attrWrites int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type execCall struct{ prog, args string }
	pending := map[string]execCall{}
	var done []execCall
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := benchExecLine.FindStringSubmatch(line); m != nil {
			c := execCall{filepath.Base(m[2]), m[3]}
			switch {
			case strings.HasSuffix(line, "= 0"):
				done = append(done, c)
			case strings.Contains(line, "<unfinished ...>"):
				pending[m[1]] = c
			}
		} else if m := benchResumedLine.FindStringSubmatch(line); m != nil {
			if c, ok := pending[m[1]]; ok && m[2] == "0" {
				done = append(done, c)
			}
			delete(pending, m[1])
		}
	}
	if len(done) > 0 {
		done = done[1:] // the agent itself
	}
	writeFlag := regexp.MustCompile(`"(-v|--update|--update-value|-D|--delete|-U)"|"--update=`)
	for _, c := range done {
		programs = append(programs, c.prog)
		if (c.prog == "crm_attribute" || c.prog == "attrd_updater") && writeFlag.MatchString(c.args) {
			attrWrites++
		}
	}
	return programs, attrWrites
}

func benchSummariseMonitor(rec *labRecord, calls []benchMonitorCall) {
	var wall, cpu []float64
	failed := 0
	children := map[string]int{}
	straced, execs, writes := 0, 0, 0
	for _, c := range calls {
		if c.Straced {
			straced++
			execs += len(c.Children)
			writes += c.AttrWrites
			for _, p := range c.Children {
				children[p]++
			}
			continue
		}
		wall = append(wall, c.WallMS)
		cpu = append(cpu, c.CPUMS)
		if c.ExitCode != 0 && c.ExitCode != 8 { // 8: running promoted
			failed++
		}
	}
	rec.set("calls", len(wall))
	rec.set("nonzero_rc_calls", failed)
	rec.set("wall_ms", wall)
	rec.set("cpu_ms", cpu)
	rec.set("wall_ms_p50", labreport.Percentile(wall, 50))
	rec.set("wall_ms_p95", labreport.Percentile(wall, 95))
	rec.set("cpu_ms_p50", labreport.Percentile(cpu, 50))
	rec.set("cpu_ms_p95", labreport.Percentile(cpu, 95))
	rec.set("straced_calls", straced)
	if straced > 0 {
		perCall := map[string]float64{}
		for p, n := range children {
			perCall[p] = math.Round(float64(n)/float64(straced)*100) / 100
		}
		rec.set("children_per_call", perCall)
		rec.set("execs_per_call", math.Round(float64(execs)/float64(straced)*100)/100)
		rec.set("crm_mon_per_call", perCall["crm_mon"])
		rec.set("attr_writes_per_call", math.Round(float64(writes)/float64(straced)*100)/100)
	}
}

// ---------------------------------------------------------------------------- F, P, R

// benchFailover cuts the primary's power, waits for a write through the VIP on the other
// node, reads the DC's log for the promote, and brings the old primary back (lab rejoin).
func benchFailover(t T, l *labSession, scenario string, n, loadTPS int) {
	rec := l.record(t, scenario)
	rec.set("cut", n)
	primary, standby := l.healthyPair(t)
	l.ensureRowsTable(t)
	rec.set("crashed", primary)
	if loadTPS > 0 {
		load := l.startLoad(t, loadTPS)
		defer load.stop(rec)
	}
	began := time.Now()
	l.mustLog(time.Minute, "crash", primary)
	secs, _, ok := l.writeUntil(began, 120*time.Second, "bench-failover", standby)
	accepted := time.Now()
	rec.set("missed", !ok)
	if ok {
		rec.set("failover_s", secs)
		// The survivor is the DC now: its log has the promote decision and result.
		initiated, result, found := benchPromoteInLog(l.nodePath(standby, "var/log/pacemaker/pacemaker.log"), standby, began)
		if found {
			rec.set("agent_share_s", labreport.Seconds(accepted.Sub(initiated)))
			if !result.IsZero() {
				rec.set("promote_op_s", labreport.Seconds(result.Sub(initiated)))
			}
		} else {
			rec.note("no promote on %s in its pacemaker.log after the cut", standby)
		}
	} else {
		rec.note("no write accepted on %s within 120 s of the cut", standby)
	}
	benchRejoin(t, l, rec, primary, standby)
	if !ok {
		t.Fatalf("missed failover:\n%s", l.statusText())
	}
}

// benchRejoin brings the crashed old primary back: ours boots it and waits for it to stream
// on its own (its start lifts the lock on the evidence, issue #13); when it does not within a
// minute (refused: its WAL went past the fork), and for the other agents, lab rejoin.
func benchRejoin(t T, l *labSession, rec *labRecord, crashed, primary string) {
	began := time.Now()
	if l.agent == "ours" {
		l.mustLog(2*time.Minute, "boot", crashed)
		if labWaitEvery(60*time.Second, 100*time.Millisecond, func() bool { return l.streams(primary, crashed) }) {
			rec.set("rejoin_s", labSeconds(time.Since(began)))
			rec.set("rejoin_automatic", true)
			return
		}
		rec.note("%s did not rejoin on its own within 60 s of its boot: lab rejoin", crashed)
	}
	rec.set("rejoin_automatic", false)
	_, err := l.run(5*time.Minute, "rejoin", crashed)
	if err != nil { // seen once: pg_basebackup "Permission denied" in the fresh pgdata
		rec.note("first lab rejoin failed, retried: %v", strings.SplitN(err.Error(), "\n", 2)[0])
		_, err = l.run(5*time.Minute, "rejoin", crashed)
	}
	rec.set("rejoin_s", labSeconds(time.Since(began)))
	rec.set("rejoin_release_to_streaming_s", l.figures()["rejoin_release_to_streaming_s"])
	if err != nil {
		t.Fatalf("lab rejoin %s: %v", crashed, err)
	}
}

var benchLogTime = regexp.MustCompile(`^([A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d\.\d{3}) `)

// benchPromoteInLog finds, after since, Pacemaker's "Initiating promote operation" for node
// and the promote's result line.
func benchPromoteInLog(path, node string, since time.Time) (initiated, result time.Time, found bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := benchLogTime.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.ParseInLocation("Jan _2 15:04:05.000", m[1], time.Local)
		if err != nil {
			continue
		}
		at = at.AddDate(since.Year(), 0, 0)
		if at.Before(since.Add(-time.Second)) {
			continue
		}
		switch {
		// The target follows "on" ("... on node2 | action 4", "... locally on node1 | ..."); the
		// line's prefix names the node that logs it, which is not the target.
		case !found && strings.Contains(line, "Initiating promote operation "+labRsc+"_promote_0") && strings.Contains(line, " on "+node+" "):
			initiated, found = at, true
		case found && strings.Contains(line, "Result of promote operation for "+labRsc+" on "+node):
			return initiated, at, true
		}
	}
	return
}
