package labreport

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	records, err := ReadRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// tableRows are the lines of a markdown table in text.
func tableRows(text string) []string {
	var rows []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "|") {
			rows = append(rows, line)
		}
	}
	return rows
}

func TestBenchTable(t *testing.T) {
	table := BenchTable(readRecords(t, "testdata/bench-small.jsonl"), []string{"stock", "ours"})
	rows := tableRows(table)
	if len(rows) != 2+len(benchRows)+2 {
		t.Fatalf("%d rows, want the header, %d metrics and the two counts:\n%s", len(rows), len(benchRows), table)
	}
	for _, want := range []string{
		"| metric | target | stock | ours | ours/stock | ours/paf |\n|---|---|---|---|---|---|\n",
		"| M CPU ms per monitor, primary, p50 | ≤ 10 | 200 | 4 | 0.02 | – |\n",
		"| M wall ms per monitor, primary, p50 | ≤ 15 | – | 9.13 | – | – |\n",
		"| M CPU ms per monitor, standby, p50 | ≤ 6 | – | 5 | – | – |\n",
		"| M CPU ms per monitor, primary, p95 |  | – | – | – | – |\n",
		"| F cut → write through the VIP, s | < PAF | – | 7 (6–8, n=3) | – | – |\n",
		"| F agent share: promote decision → write, s | ≤ 1 | – | 0.6 (0.5–0.7, n=3) | – | – |\n",
		"| S switchover: ban → write on the new primary, s | ≤ 2 | 1.5 | 1 | 0.67 | – |\n",
		"| S switchover: ban → old primary streaming, s | ≤ 2.5 | manual | 2 | – | – |\n",
		"| R rejoin of the crashed old primary: boot → streaming, s (ours: on its own; stock, PAF: lab rejoin, manual) |  | – | 20 | – | – |\n",
		"| F under load: cut → write through the VIP, s |  | – | 7.5 | – | – |\n",
		"| S under load: ban → write on the new primary, s |  | 2 | 1 | 0.50 | – |\n",
		"| F missed failovers / power cuts | 0 | 1 / 1 | 0 / 3 | | |\n",
		"| R rejoins with no human / power cuts |  | 0 / 1 | 2 / 3 | | |\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// A row of a scenario no record has (a run from before the row existed) is left out: the
// committed runs render as they did.
func TestBenchTableLeavesOutUnmeasuredRows(t *testing.T) {
	var records []map[string]any
	for _, r := range readRecords(t, "testdata/bench-small.jsonl") {
		if r["scenario"] != "switchover-load" {
			records = append(records, r)
		}
	}
	table := BenchTable(records, []string{"stock", "ours"})
	if strings.Contains(table, "S under load") || !strings.Contains(table, "F under load") {
		t.Errorf("without switchover-load records the table must lack its row and keep the others:\n%s", table)
	}
	if rows := tableRows(table); len(rows) != 2+len(benchRows)-1+2 {
		t.Errorf("%d rows, want %d:\n%s", len(rows), 2+len(benchRows)-1+2, table)
	}
}

// The committed bench run of 2026-11-28 04:29 (bench/results): its records render the table
// of its .md again, to the byte.
func TestBenchTableReproducesACommittedRun(t *testing.T) {
	md, err := os.ReadFile("testdata/2026-11-28-0429.md")
	if err != nil {
		t.Fatal(err)
	}
	got := tableRows(BenchTable(readRecords(t, "testdata/2026-11-28-0429.jsonl"), []string{"stock", "paf", "ours"}))
	want := tableRows(string(md))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant (the committed .md):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasSuffix(string(md), BenchLegend) {
		t.Errorf("the committed .md does not end with BenchLegend")
	}
}

// copyRecords copies testdata/from to name in a fresh directory and returns the copy's path.
func copyRecords(t *testing.T, from, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", from))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWriteBenchReport(t *testing.T) {
	raw := copyRecords(t, "bench-small.jsonl", "2026-01-02-0304.jsonl")
	dir := filepath.Dir(raw)
	at := time.Date(2026, 1, 2, 4, 4, 0, 0, time.FixedZone("CET", 3600))
	shown, chartErr, err := WriteBenchReport(raw, []string{"stock", "ours"}, at, "A note.")
	if err != nil || chartErr != nil {
		t.Fatalf("WriteBenchReport: %v, chart: %v", err, chartErr)
	}
	header := "# pgsql-ra bench, 2026-01-02 03:04 UTC\n\nA note. Raw records: 2026-01-02-0304.jsonl.\n\n"
	if !strings.HasPrefix(shown, header+"| metric | target | stock | ours |") {
		t.Errorf("shown does not begin with the header and the table:\n%s", shown)
	}
	md, err := os.ReadFile(filepath.Join(dir, "2026-01-02-0304.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != shown+BenchLegend {
		t.Errorf(".md = shown + legend expected; .md:\n%s", md)
	}
	_, noGnuplot := exec.LookPath("gnuplot")
	png := filepath.Join(dir, "2026-01-02-0304-failover.png")
	_, pngErr := os.Stat(png)
	link := "\n![failover timelines: one bar per power cut](2026-01-02-0304-failover.png)\n"
	switch {
	case noGnuplot != nil && (pngErr == nil || strings.Contains(shown, link)):
		t.Errorf("a chart without gnuplot")
	case noGnuplot == nil && (pngErr != nil || !strings.HasSuffix(shown, link)):
		t.Errorf("gnuplot installed, ours has 3 cuts: want %s and its link at the end of the table (stat: %v)", png, pngErr)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026-01-02-0304-failover.dat")); err == nil {
		t.Errorf("the chart's data file was left behind")
	}
}

func TestFailoverChartNothingToDraw(t *testing.T) {
	dir := t.TempDir()
	records := []map[string]any{{"agent": "ours", "scenario": "monitor"}, {"agent": "ours", "scenario": "failover", "missed": true}}
	png, err := FailoverChart(records, []string{"ours"}, filepath.Join(dir, "x.jsonl"))
	if png != "" || err != nil {
		t.Errorf("FailoverChart without failover times = %q, %v; want no chart and no error", png, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}
