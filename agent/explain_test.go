package agent

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

var updateGolden = flag.Bool("update", false, "rewrite agent/testdata/explain/*.golden from Explain")

// explainAttrs builds ExplainFacts.Attrs for resource pgsql from node → suffix → value
// ("score" is master-pgsql).
func explainAttrs(nodes map[string]map[string]string) map[string]map[string]AttrRead {
	names := attrNames{resource: "pgsql"}
	out := map[string]map[string]AttrRead{}
	for node, values := range nodes {
		out[node] = map[string]AttrRead{}
		for _, a := range explainCatalogue(names) {
			out[node][a.Name] = AttrRead{}
		}
		for suffix, v := range values {
			name := "pgsql-" + suffix
			if suffix == "score" {
				name = names.Score().Name
			}
			out[node][name] = AttrRead{Value: v, Found: true}
		}
	}
	return out
}

// crashedOldPrimary: node1 crashed as the primary of promotion #1 (timeline 3), its last
// checkpoint and last record where given; node2's promotion #2 forked timeline 3 at 0/50000A0.
func crashedOldPrimary(checkpoint, last pgctl.LSN) ExplainFacts {
	return ExplainFacts{Resource: "pgsql", Node: "node1", Config: explainConfig(RepAsync, "node1", "node2"),
		Control: &pgctl.ControlData{State: "in production", CheckpointLSN: checkpoint, CheckpointTLI: 3},
		WALEnd: &WALEnd{Known: true, Timeline: 3, Last: last, LastLow: last, RanAsPrimary: true,
			Source: `pg_waldump from the REDO location 0/5000028, state "in production"`,
			Switch: &pgctl.TimelineSwitch{Parent: 2, At: 0x4000000}},
		Attrs: explainAttrs(map[string]map[string]string{
			"node1": {"status": "STOP", "data-status": "DISCONNECT", "score": "-INFINITY", "demoted-lsn": "none",
				"promote-point": "node1:2:0000000004000000:3:1"},
			"node2": {"status": "PRI", "data-status": "LATEST", "score": "1000",
				"promote-point": "node2:3:00000000050000A0:4:2 node1:2:0000000004000000:3:1"}}),
		Locked: true, Lock: LockInfo{Fields: map[string]string{"event": "promoted", "promoted_at": "2026-11-27T20:00:00Z",
			"node": "node1", "timeline": "3", "lsn": "0/5000000", "promote_seq": "1"}},
		Promoted: []string{"node2"}, PromotedRead: true}
}

func explainConfig(mode RepMode, nodes ...string) Config {
	return Config{RepMode: mode, NodeList: nodes, TmpDir: "/var/lib/pgsql/tmp", PgData: "/var/lib/pgsql/data", AutoRejoin: true}
}

// explainCases are the states of issue #13 §2's acceptance (the two stopped ones with the
// rejoin evidence of issue #13 §1), and a reporting replica.
var explainCases = []struct {
	name  string
	facts ExplainFacts
	want  map[string]string // question → verdict
}{
	{"primary", ExplainFacts{Resource: "pgsql", Node: "node1", Config: explainConfig(RepAsync, "node1", "node2"),
		Running: true, PID: 4242,
		State: &pgctl.LocalState{Timeline: 3, CurrentLSN: 0x5000148},
		Rows:  []ReplicationRow{{ApplicationName: "node2", State: "STREAMING", SyncState: "ASYNC", FlushLSN: 0x5000100}}, RowsRead: true,
		Attrs: explainAttrs(map[string]map[string]string{
			"node1": {"status": "PRI", "data-status": "LATEST", "score": "1000", "master-baseline": "0000000004000000"},
			"node2": {"status": "HS:async", "data-status": "STREAMING|ASYNC", "score": "100"}}),
		Locked: true, Lock: LockInfo{Fields: map[string]string{"event": "promoted", "promoted_at": "2026-11-27T20:00:00Z",
			"node": "node1", "timeline": "2", "lsn": "0/4000000"}},
		Promoted: []string{"node1"}, PromotedRead: true},
		map[string]string{QuestionPromotable: "yes", QuestionStart: "yes", QuestionRejoin: "unknown"}},
	{"streaming-standby", ExplainFacts{Resource: "pgsql", Node: "node2", Config: explainConfig(RepAsync, "node1", "node2"),
		Running: true, PID: 777,
		State: &pgctl.LocalState{InRecovery: true, Timeline: 3, ReceiveLSN: 0x5000148, ReplayLSN: 0x5000148,
			ReceiverStatus: "streaming", PrimaryEndLSN: 0x5000148, ReceiverConnected: true},
		Attrs: explainAttrs(map[string]map[string]string{
			"node1": {"status": "PRI", "data-status": "LATEST", "score": "1000"},
			"node2": {"status": "HS:async", "data-status": "STREAMING|ASYNC", "score": "100"}}),
		Promoted: []string{"node1"}, PromotedRead: true},
		map[string]string{QuestionPromotable: "yes", QuestionStart: "no", QuestionRejoin: "unknown"}},
	{"catching-up-standby", ExplainFacts{Resource: "pgsql", Node: "node2", Config: explainConfig(RepAsync, "node1", "node2"),
		Running: true, PID: 777,
		State: &pgctl.LocalState{InRecovery: true, Timeline: 3, ReceiveLSN: 0x3000000, ReplayLSN: 0x2F00000,
			ReceiverStatus: "streaming", PrimaryEndLSN: 0x9000000, ReceiverConnected: true},
		Attrs: explainAttrs(map[string]map[string]string{
			"node1": {"status": "PRI", "data-status": "LATEST", "score": "1000"},
			"node2": {"status": "HS:async", "data-status": "STREAMING|ASYNC", "score": "-INFINITY"}}),
		Promoted: []string{"node1"}, PromotedRead: true},
		map[string]string{QuestionPromotable: "no", QuestionStart: "no", QuestionRejoin: "unknown"}},
	// node1 crashed as the primary of promotion #1 (timeline 3) after writing past where
	// node2's promotion #2 forked timeline 3: its WAL diverged, the lock stays.
	{"locked-old-primary", crashedOldPrimary(0x5000060, 0x5000148),
		map[string]string{QuestionPromotable: "no", QuestionStart: "yes", QuestionRejoin: "no"}},
	// node2, a standby on node1's timeline 3 stopped cleanly: its WAL is in the history of
	// the latest promotion (its timeline's history file), so the start goes on.
	{"stopped", ExplainFacts{Resource: "pgsql", Node: "node2", Config: explainConfig(RepAsync, "node1", "node2"),
		Control: &pgctl.ControlData{State: "shut down in recovery", CheckpointLSN: 0x5000028, CheckpointTLI: 3},
		WALEnd: &WALEnd{Known: true, Timeline: 3, Last: 0x50000A0, LastLow: 0x50000A0,
			Source: `pg_waldump from the REDO location 0/5000028, state "shut down in recovery"`,
			Switch: &pgctl.TimelineSwitch{Parent: 2, At: 0x4000000}},
		Attrs: explainAttrs(map[string]map[string]string{
			"node1": {"status": "PRI", "data-status": "LATEST", "score": "1000", "promote-point": "node1:2:0000000004000000:3:1"},
			"node2": {"status": "STOP", "data-status": "DISCONNECT", "score": "-INFINITY"}}),
		Promoted: []string{"node1"}, PromotedRead: true},
		map[string]string{QuestionPromotable: "no", QuestionStart: "no", QuestionRejoin: "yes"}},
	{"sync-primary-with-reporting-replica", ExplainFacts{Resource: "pgsql", Node: "node1",
		Config: func() Config {
			c := explainConfig(RepSync, "node1", "node2", "node3")
			c.NoPromoteNodes, c.MaxLag = []string{"node3"}, 1<<20
			return c
		}(),
		Running: true, PID: 4242,
		State: &pgctl.LocalState{Timeline: 1, CurrentLSN: 0x7000000, SyncStandbyNames: `"node2"`},
		Rows: []ReplicationRow{{ApplicationName: "node2", State: "STREAMING", SyncState: "SYNC", FlushLSN: 0x6000000},
			{ApplicationName: "node3", State: "STREAMING", SyncState: "ASYNC", FlushLSN: 0x7000000}}, RowsRead: true,
		SyncNamed: "node2", Confirm: SyncConfirm{Node: "node2", Armed: true, From: 0x5000000},
		Attrs: explainAttrs(map[string]map[string]string{
			"node1": {"status": "PRI", "data-status": "LATEST", "score": "1000"},
			"node2": {"status": "HS:sync", "data-status": "STREAMING|SYNC", "score": "100"},
			"node3": {"status": "HS:async", "data-status": "STREAMING|ASYNC", "score": "-INFINITY"}}),
		Promoted: []string{"node1"}, PromotedRead: true},
		map[string]string{QuestionPromotable: "yes", QuestionStart: "yes", QuestionRejoin: "unknown"}},
	// node1 crashed as the primary of promotion #1 (timeline 3) before node2's promotion #2
	// forked timeline 3: node2 holds all its WAL, so the start lifts the lock.
	{"locked-old-primary-rejoinable", crashedOldPrimary(0x5000028, 0x5000060),
		map[string]string{QuestionPromotable: "no", QuestionStart: "no", QuestionRejoin: "yes"}},
	// A dirty power cycle (issue #13 §3): node1 crashed as the primary of promotion #2, the
	// latest, after node2 was written off; no primary runs. The start runs it as a locked
	// standby for the election.
	{"dirty-power-cycle-locked-standby", dirtyPowerCycleFacts("STOP"),
		map[string]string{QuestionPromotable: "no", QuestionStart: "no", QuestionRejoin: "yes"}},
}

// dirtyPowerCycleFacts: node1 crashed as the primary of promotion #2, the latest, after
// node2 was written off; no primary runs; node1's status attribute is status.
func dirtyPowerCycleFacts(status string) ExplainFacts {
	f := crashedOldPrimary(0x5000060, 0x5000148)
	f.Attrs = explainAttrs(map[string]map[string]string{
		"node1": {"status": status, "data-status": "LATEST", "score": "-INFINITY",
			"promote-point": "node1:3:00000000050000A0:4:2 node2:2:0000000004000000:3:1"},
		"node2": {"status": "STOP", "data-status": "DISCONNECT", "score": "-INFINITY",
			"promote-point": "node2:2:0000000004000000:3:1"}})
	f.WALEnd.Timeline, f.WALEnd.Switch = 4, &pgctl.TimelineSwitch{Parent: 3, At: 0x50000A0}
	f.Lock.Fields["timeline"], f.Lock.Fields["promote_seq"] = "4", "2"
	f.Promoted = nil
	return f
}

// TestExplainGolden: the text of each state is its golden file (go test ./agent -run
// TestExplainGolden -update rewrites them); the primary's JSON too.
func TestExplainGolden(t *testing.T) {
	for _, tc := range explainCases {
		t.Run(tc.name, func(t *testing.T) {
			e := Explain(tc.facts)
			for _, a := range e.Answers {
				if want := tc.want[a.Question]; a.Verdict != want || a.Because == "" {
					t.Errorf("%s: %s (%s), want %s", a.Question, a.Verdict, a.Because, want)
				}
			}
			golden(t, tc.name+".txt", []byte(e.Text()))
			if tc.name == "primary" {
				b, err := json.MarshalIndent(e, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				golden(t, tc.name+".json", append(b, '\n'))
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "explain", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./agent -run TestExplainGolden -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestExplainAnswers checks single answers the golden files do not pin down.
func TestExplainAnswers(t *testing.T) {
	base := explainCases[1].facts // the streaming standby
	answer := func(f ExplainFacts, q string) Answer {
		for _, a := range Explain(f).Answers {
			if a.Question == q {
				return a
			}
		}
		t.Fatalf("no answer to %q", q)
		return Answer{}
	}
	f := base
	f.Config.NoPromoteNodes = []string{"node2"}
	if a := answer(f, QuestionPromotable); a.Verdict != "no" || !strings.Contains(a.Because, "no_promote_nodes") {
		t.Errorf("no_promote node: %+v", a)
	}
	f = base
	f.Attrs = explainAttrs(map[string]map[string]string{"node1": {"data-status": "LATEST"}, "node2": {"data-status": "STREAMING|ASYNC"}})
	f.Config.MaxLag = 16
	st := *base.State
	st.PrimaryEndLSN = st.ReceiveLSN + 100
	f.State = &st
	if a := answer(f, QuestionPromotable); a.Verdict != "no" || !strings.Contains(a.Because, "max_lag=16") {
		t.Errorf("beyond max_lag: %+v", a)
	}
	f = base
	f.Attrs = explainAttrs(map[string]map[string]string{"node1": {"data-status": "LATEST"}, "node2": {}})
	f.Attrs["node2"][attrNames{resource: "pgsql"}.Score().Name] = AttrRead{Err: errors.New("attrd down")}
	if a := answer(f, QuestionPromotable); a.Verdict != "unknown" {
		t.Errorf("unreadable score: %+v", a)
	}
	// A demote's lock the next primary acknowledged: the start would lift it.
	f = explainCases[4].facts // stopped
	f.Attrs = cloneAttrs(f.Attrs)
	f.Locked = true
	f.Lock = LockInfo{Fields: map[string]string{"event": "demoted", "node": "node2", "timeline": "3", "lsn": "0/5000028"}}
	f.Attrs["node2"]["pgsql-handover"] = AttrRead{Value: "node1:3:0000000005000028:00000000050000A0", Found: true}
	if a := answer(f, QuestionStart); a.Verdict != "no" || !strings.Contains(a.Because, "would lift it") {
		t.Errorf("acknowledged demote lock: %+v", a)
	}
	f.Attrs["node2"]["pgsql-handover"] = AttrRead{}
	f.Attrs["node1"]["pgsql-promote-point"] = AttrRead{} // no promote point: the evidence decides nothing
	if a := answer(f, QuestionStart); a.Verdict != "yes" || !strings.Contains(a.Fix, "acknowledges") {
		t.Errorf("unacknowledged demote lock: %+v", a)
	}
	// The rejoin decision (issue #13 §1) is the start's: read only from a stopped server.
	for _, tc := range explainCases {
		if a := ExplainRejoin(tc.facts); tc.facts.Running && (a.Verdict != "unknown" || !strings.Contains(a.Because, "PostgreSQL runs here")) {
			t.Errorf("%s: rejoin %+v", tc.name, a)
		}
	}
	// The crashed old primary behind node2's fork: the evidence lifts its lock, and the
	// start and rejoin answers agree.
	f = explainCases[3].facts // locked-old-primary
	own := *f.WALEnd
	own.Last, own.LastLow = 0x5000060, 0x5000060
	f.WALEnd = &own
	if a := answer(f, QuestionRejoin); a.Verdict != "yes" || !strings.Contains(a.Because, "lift") {
		t.Errorf("old primary behind the fork: rejoin %+v", a)
	}
	if a := answer(f, QuestionStart); a.Verdict != "no" || !strings.Contains(a.Because, "rejoin evidence") {
		t.Errorf("old primary behind the fork: start %+v", a)
	}
	// auto_rejoin=false: the lock refuses whatever the evidence.
	f.Config.AutoRejoin = false
	if a := answer(f, QuestionRejoin); a.Verdict != "no" || !strings.Contains(a.Because, "auto_rejoin=false") {
		t.Errorf("auto_rejoin=false: rejoin %+v", a)
	}
	if a := answer(f, QuestionStart); a.Verdict != "yes" {
		t.Errorf("auto_rejoin=false: start %+v", a)
	}
	// The lock removed by hand from the diverged old primary: the evidence alone refuses
	// the start and would take the lock again.
	f = explainCases[3].facts
	f.Locked, f.Lock = false, LockInfo{}
	if a := answer(f, QuestionStart); a.Verdict != "yes" || !strings.Contains(a.Because, "take /var/lib/pgsql/tmp/PGSQL.lock") ||
		!strings.Contains(a.Fix, "pg_basebackup") {
		t.Errorf("diverged, unlocked: start %+v", a)
	}
	if a := answer(f, QuestionRejoin); a.Verdict != "no" {
		t.Errorf("diverged, unlocked: rejoin %+v", a)
	}
	// rewind=auto (issue #13 §1) on the diverged old primary: with wal_log_hints the start
	// would rewind it; without, or with rewind=never, it is refused, and the fix names
	// rewind=auto only where it would help.
	f = explainCases[3].facts
	control := *f.Control
	control.WALLogHints = true
	f.Control = &control
	f.Config.Rewind, f.Config.MasterIP = RewindAuto, "10.0.0.10"
	if a := answer(f, QuestionStart); a.Verdict != "no" || !strings.Contains(a.Because, "pg_rewind from the primary at master_ip 10.0.0.10") ||
		!strings.Contains(a.Because, "from node2's fork at 0/50000A0 to 0/5000148 on timeline 3 (169 bytes or more)") || !strings.Contains(a.Fix, "if pg_rewind fails") {
		t.Errorf("rewind=auto, wal_log_hints: start %+v", a)
	}
	if a := answer(f, QuestionRejoin); a.Verdict != "yes" || !strings.Contains(a.Because, "pg_rewind") {
		t.Errorf("rewind=auto, wal_log_hints: rejoin %+v", a)
	}
	f.Config.Rewind = RewindNever
	if a := answer(f, QuestionStart); a.Verdict != "yes" || !strings.Contains(a.Fix, "or set rewind=auto (pg_rewind from the primary would discard") {
		t.Errorf("rewind=never, wal_log_hints: start %+v", a)
	}
	f.Config.Rewind, f.Control = RewindAuto, explainCases[3].facts.Control
	if a := answer(f, QuestionRejoin); a.Verdict != "no" || !strings.Contains(a.Because, "wal_log_hints=off") || strings.Contains(a.Fix, "rewind=auto") {
		t.Errorf("rewind=auto, no wal_log_hints: rejoin %+v", a)
	}
	// The end of WAL unknown: a lock stays, no lock starts.
	f = explainCases[3].facts
	f.WALEnd = &WALEnd{Problem: "pg_waldump: not found"}
	if a := answer(f, QuestionRejoin); a.Verdict != "no" || !strings.Contains(a.Because, "pg_waldump: not found") {
		t.Errorf("unknown end of WAL, locked: rejoin %+v", a)
	}
	f.Locked, f.Lock = false, LockInfo{}
	if a := answer(f, QuestionRejoin); a.Verdict != "yes" || !strings.Contains(a.Because, "no proof of divergence") {
		t.Errorf("unknown end of WAL, unlocked: rejoin %+v", a)
	}
}

// cloneAttrs copies ExplainFacts.Attrs, so that a test changes no shared case.
func cloneAttrs(in map[string]map[string]AttrRead) map[string]map[string]AttrRead {
	out := map[string]map[string]AttrRead{}
	for node, values := range in {
		out[node] = map[string]AttrRead{}
		for k, v := range values {
			out[node][k] = v
		}
	}
	return out
}
