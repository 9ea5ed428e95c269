package labreport

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaultTableCells(t *testing.T) {
	faults := Faults()[:2]
	results := []FaultResult{
		{Fault: "1", Agent: "ours", Run: 1, Recovered: true, Outcome: "new primary; other node stopped after a failure", WritableS: 7, Acked: 100, Lost: 2, LongestGapS: 7.5,
			ExitReasons: []string{"start error: PGSQL.lock exists"}},
		{Fault: "1", Agent: "ours", Run: 2, Recovered: false, Outcome: "no recovery", WritableS: -1, Acked: 50, Lost: -1, TwoWriters: 3},
		{Fault: "1", Agent: "ours", Run: 3, Recovered: true, Outcome: "new primary; other node stopped after a failure", WritableS: 9, Acked: 10,
			ExitReasons: []string{"stop error: PostgreSQL (pid 150) is stopped"}},
		{Fault: "1", Agent: "ours", Run: 4, Recovered: true, Outcome: "new primary; other node stopped after a failure", WritableS: 8, Acked: 0,
			ExitReasons: []string{"stop error: PostgreSQL (pid 1473) is stopped"}},
	}
	table := FaultTable(results, []string{"ours", "paf"}, faults)
	for _, want := range []string{
		"| fault | ours | paf |", "recovered 3/4", "writable 8 (7–9) s", "lost 2 of 160 acked (1 runs unknown)",
		"two writers 1", "new primary; other node stopped after a failure ×3", "`start error: PGSQL.lock exists` ×1", "not run |",
		"`stop error: PostgreSQL (pid N) is stopped` ×2",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// A hand-written run (testdata/faults-small.jsonl): ours and PAF, faults 1 and 5; a run with
// no recovery (its write after the cleanup is no recovery: not in "writable") and no loss
// count; a stale promotion; an exit reason with a "|"; PAF not running fault 5.
func TestFaultsReport(t *testing.T) {
	md := FaultsReport(readRecords(t, "testdata/faults-small.jsonl"), "A note.", "faults-small.jsonl")
	want := "# pgsql-ra fault matrix (issue #12 §3)\n\nA note. Raw records: faults-small.jsonl.\n\n" +
		"| fault | paf | ours |\n|---|---|---|\n" +
		"| 1 primary-kill: primary postmaster SIGKILL | recovered 1/1<br>writable 4 s<br>lost 1 of 10 acked<br>dup 0; longest gap 0 s<br>" +
		"stale 1; two writers 0; fenced 0<br>new primary ×1 | recovered 1/2<br>writable 2 s<br>lost 0 of 150 acked (1 runs unknown)<br>" +
		"dup 0; longest gap 2.5 s<br>stale 0; two writers 1; fenced 1<br>new primary ×1<br>no recovery ×1<br>`start error: a/b` ×1 |\n" +
		"| 5 state-files: corrupted PGSQL.lock / rep_mode.conf on the stopped standby | " + PAFNotApplicable + " | recovered 1/1<br>" +
		"writable 1.23 s<br>lost 0 of 20 acked<br>dup 1; longest gap 0 s<br>stale 0; two writers 0; fenced 0<br>same primary ×1 |\n" +
		FaultLegend
	if md != want {
		t.Errorf("FaultsReport:\n%s\nwant:\n%s", md, want)
	}
}

// The committed fault-matrix run of 2026-11-28 04:25 (bench/results): its records render its
// .md again from the table on (the header's run facts are not in the records).
func TestFaultsReportReproducesACommittedRun(t *testing.T) {
	committed, err := os.ReadFile("testdata/faults-2026-11-28-0425.md")
	if err != nil {
		t.Fatal(err)
	}
	md := FaultsReport(readRecords(t, "testdata/faults-2026-11-28-0425.jsonl"), "", "faults-2026-11-28-0425.jsonl")
	_, want, ok1 := strings.Cut(string(committed), "\n| fault |")
	_, got, ok2 := strings.Cut(md, "\n| fault |")
	if !ok1 || !ok2 || got != want {
		t.Errorf("from the table on:\n%s\nwant (the committed .md):\n%s", got, want)
	}
	if !strings.Contains(want, "| 12 crm-attr-slow: crm_attribute hangs 8 s for 3 calls") {
		t.Errorf("the committed table changed: %s", want)
	}
}

func TestWriteFaultsReport(t *testing.T) {
	raw := copyRecords(t, "faults-small.jsonl", "faults-x.jsonl")
	dir := filepath.Dir(raw)
	md, err := WriteFaultsReport(raw, "N.")
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(filepath.Join(dir, "faults-x.md"))
	if err != nil || string(written) != md || !strings.Contains(md, "N. Raw records: faults-x.jsonl.") {
		t.Errorf("faults-x.md (%v):\n%s\nreturned:\n%s", err, written, md)
	}
	if _, err := WriteFaultsReport(filepath.Join(dir, "missing.jsonl"), ""); err == nil {
		t.Errorf("no error for missing records")
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"agent\":\"ours\"}\n{not json\n"), 0o644)
	if _, err := WriteFaultsReport(bad, ""); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad JSON: error %v, want one naming the file", err)
	}
}

func TestFaultResultFromRecord(t *testing.T) {
	got := FaultResultFromRecord(map[string]any{"fault": "3", "agent": "ours", "run": 2.0, "recovered": true,
		"exit_reasons": []any{"a", 7.0, "b"}, "fenced": nil, "lost": 0.0})
	if got.Fault != "3" || got.Agent != "ours" || got.Run != 2 || !got.Recovered || got.Lost != 0 ||
		!slices.Equal(got.ExitReasons, []string{"a", "b"}) || got.Fenced != nil {
		t.Errorf("got %+v", got)
	}
	// Absent fields: no writable time (-1) and an unknown loss (-1), not 0.
	if r := FaultResultFromRecord(map[string]any{}); r.WritableS != -1 || r.Lost != -1 || r.Acked != 0 {
		t.Errorf("empty record: %+v", r)
	}
}

func TestSortAgents(t *testing.T) {
	agents := []string{"ours", "x", "stock", "y", "paf"}
	SortAgents(agents)
	if !slices.Equal(agents, []string{"x", "y", "stock", "paf", "ours"}) {
		t.Errorf("SortAgents = %v", agents)
	}
}

func TestFaultCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Faults() {
		if f.ID == "" || f.Name == "" || f.What == "" || seen[f.ID] || seen[f.Name] {
			t.Errorf("fault %+v: empty or repeated id or name", f)
		}
		seen[f.ID], seen[f.Name] = true, true
	}
	if f, ok := FaultByID("12"); !ok || f.Name != "crm-attr-slow" ||
		f.What != "crm_attribute hangs 8 s for 3 calls on the primary's node (standby postmaster killed to make it publish)" {
		t.Errorf("FaultByID(12) = %+v, %v", f, ok)
	}
	if f, ok := FaultByID("5"); !ok || f.PAF {
		t.Errorf("fault 5 (state files) must not apply to PAF: %+v, %v", f, ok)
	}
	if _, ok := FaultByID("99"); ok {
		t.Errorf("FaultByID(99) found a fault")
	}
}

func TestSoakSummary(t *testing.T) {
	results := []FaultResult{
		{Fault: "1", Run: 1, Recovered: true, Outcome: "new primary", WritableS: 3.26, Acked: 40, Lost: 2},
		{Fault: "6", Run: 2, Outcome: "no recovery", WritableS: -1, Acked: 5, Lost: -1, Stale: true, TwoWriters: 3},
		// Not run: neither recovered nor failed, and none of its zero figures count.
		{Fault: "8", Run: 3, WritableS: -1, Skipped: "the lab was not restored: lab rejoin node2: exit status 137"},
	}
	got := SoakSummary("ours", []string{"1", "6", "8"}, results, 90*time.Second+400*time.Millisecond)
	want := "\n## ours\n\nSequence: 1 6 8 (3 faults, 1m30s). Recovered 1 of 2 run (1 not run: the lab was not restored before them); " +
		"acknowledged ids lost 2; stale promotions 1; polls with two writers 3.\n\n" +
		"| # | fault | outcome | writable s | acked | lost | stale | two writers |\n|---|---|---|---|---|---|---|---|\n" +
		"| 1 | 1 | new primary | 3.3 | 40 | 2 | false | 0 |\n" +
		"| 2 | 6 | no recovery | -1.0 | 5 | -1 | true | 3 |\n" +
		"| 3 | 8 | not run: the lab was not restored: lab rejoin node2: exit status 137 | | | | | |\n"
	if got != want {
		t.Errorf("SoakSummary:\n%q\nwant:\n%q", got, want)
	}
}
