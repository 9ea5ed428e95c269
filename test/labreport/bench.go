package labreport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// benchRow is one line of the table: how to get the agent's values from the records.
type benchRow struct {
	metric, target string
	scenario       string
	filter         func(map[string]any) bool
	field          string
	manual         func(map[string]any) bool // the value is "manual" for this record
}

func byRole(role string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["role"] == role }
}

var benchRows = []benchRow{
	{metric: "M CPU ms per monitor, primary, p50", target: "≤ 10", scenario: "monitor", filter: byRole("primary"), field: "cpu_ms_p50"},
	{metric: "M CPU ms per monitor, primary, p95", scenario: "monitor", filter: byRole("primary"), field: "cpu_ms_p95"},
	{metric: "M CPU ms per monitor, standby, p50", target: "≤ 6", scenario: "monitor", filter: byRole("standby"), field: "cpu_ms_p50"},
	{metric: "M CPU ms per monitor, standby, p95", scenario: "monitor", filter: byRole("standby"), field: "cpu_ms_p95"},
	{metric: "M wall ms per monitor, primary, p50", target: "≤ 15", scenario: "monitor", filter: byRole("primary"), field: "wall_ms_p50"},
	{metric: "M wall ms per monitor, primary, p95", scenario: "monitor", filter: byRole("primary"), field: "wall_ms_p95"},
	{metric: "M wall ms per monitor, standby, p50", target: "≤ 15", scenario: "monitor", filter: byRole("standby"), field: "wall_ms_p50"},
	{metric: "M wall ms per monitor, standby, p95", scenario: "monitor", filter: byRole("standby"), field: "wall_ms_p95"},
	{metric: "M child processes per monitor, primary", scenario: "monitor", filter: byRole("primary"), field: "execs_per_call"},
	{metric: "M child processes per monitor, standby", scenario: "monitor", filter: byRole("standby"), field: "execs_per_call"},
	{metric: "M crm_mon calls per monitor, primary", target: "0", scenario: "monitor", filter: byRole("primary"), field: "crm_mon_per_call"},
	{metric: "M crm_mon calls per monitor, standby", target: "0", scenario: "monitor", filter: byRole("standby"), field: "crm_mon_per_call"},
	{metric: "M attribute writes per monitor, primary", target: "0", scenario: "monitor", filter: byRole("primary"), field: "attr_writes_per_call"},
	{metric: "M attribute writes per monitor, standby", target: "0", scenario: "monitor", filter: byRole("standby"), field: "attr_writes_per_call"},
	{metric: "P promote operation s (restart_on_promote=true)", target: "≤ 1", scenario: "failover", field: "promote_op_s"},
	{metric: "P promote operation s (restart_on_promote=false)", target: "≤ 0.5", scenario: "failover-no-restart", field: "promote_op_s"},
	{metric: "P promote decision → write s (restart_on_promote=false)", scenario: "failover-no-restart", field: "agent_share_s"},
	{metric: "F cut → write through the VIP, s", target: "< PAF", scenario: "failover", field: "failover_s"},
	{metric: "F agent share: promote decision → write, s", target: "≤ 1", scenario: "failover", field: "agent_share_s"},
	{metric: "C cold start: loaded → PRI + HS:async, s", target: "≤ 3", scenario: "cold-start", field: "cold_start_s"},
	{metric: "S switchover: ban → write on the new primary, s", target: "≤ 2", scenario: "switchover", field: "write_on_new_primary_s"},
	{metric: "S switchover: ban → old primary streaming, s", target: "≤ 2.5", scenario: "switchover", field: "old_primary_streaming_s",
		manual: func(r map[string]any) bool { return r["manual_step"] != nil && r["manual_step"] != "none" }},
	{metric: "F under load: cut → write through the VIP, s", scenario: "failover-load", field: "failover_s"},
	{metric: "S under load: ban → write on the new primary, s", scenario: "switchover-load", field: "write_on_new_primary_s"},
	{metric: "R rejoin of the crashed old primary: boot → streaming, s (ours: on its own; stock, PAF: lab rejoin, manual)", scenario: "failover", field: "rejoin_s"},
}

// collect gathers agent's values for row from the records.
func collect(records []map[string]any, agent string, row benchRow) Stats {
	var s Stats
	for _, r := range records {
		if r["agent"] != agent || r["scenario"] != row.scenario || (row.filter != nil && !row.filter(r)) {
			continue
		}
		if row.manual != nil && row.manual(r) {
			s.Manual++
			continue
		}
		if v, ok := r[row.field].(float64); ok {
			s.Values = append(s.Values, v)
		}
	}
	return s
}

// measured: some record is of row's scenario.
func measured(records []map[string]any, row benchRow) bool {
	for _, r := range records {
		if r["scenario"] == row.scenario {
			return true
		}
	}
	return false
}

// BenchTable is the markdown table: one column per agent (median (min–max, n) or the single
// value), ratios of medians ours/stock and ours/PAF, and the failover counts.
func BenchTable(records []map[string]any, agents []string) string {
	var b strings.Builder
	b.WriteString("| metric | target |")
	for _, a := range agents {
		b.WriteString(" " + a + " |")
	}
	b.WriteString(" ours/stock | ours/paf |\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(agents)+2) + "\n")
	for _, row := range benchRows {
		if !measured(records, row) {
			continue // a run from before the row existed
		}
		fmt.Fprintf(&b, "| %s | %s |", row.metric, or(row.target, ""))
		for _, a := range agents {
			fmt.Fprintf(&b, " %s |", collect(records, a, row))
		}
		ours := collect(records, "ours", row)
		fmt.Fprintf(&b, " %s | %s |\n", Ratio(ours, collect(records, "stock", row)), Ratio(ours, collect(records, "paf", row)))
	}
	// Per agent: failover records with field true / failover records.
	count := func(metric, target, field string) {
		fmt.Fprintf(&b, "| %s | %s |", metric, target)
		for _, a := range agents {
			cuts, yes := 0, 0
			for _, r := range records {
				if r["agent"] == a && r["scenario"] == "failover" {
					cuts++
					if r[field] == true {
						yes++
					}
				}
			}
			fmt.Fprintf(&b, " %d / %d |", yes, cuts)
		}
		b.WriteString(" | |\n")
	}
	count("F missed failovers / power cuts", "0", "missed")
	count("R rejoins with no human / power cuts", "", "rejoin_automatic")
	return b.String()
}

// BenchLegend follows the bench table: what the cells and each letter's measurement are.
const BenchLegend = `
Cells: median (min–max, n) over the runs, or the single value (M: one summary per role of
all calls). "manual": the agent needed a human step (the stock agent's old primary after a
switchover: lab rejoin). Ratios are of medians.

- M: the environment of a real recurring monitor, captured per node by a wrapper bind-mounted
  over the agent inside the node; the monitor then runs with exactly that environment inside
  the node (its namespaces), outside Pacemaker's schedule, from this test binary. CPU: user +
  system of the call and every descendant it reaped (wait4 rusage). Child processes, crm_mon
  calls and attribute writes (crm_attribute/attrd_updater with -v/--update/-D/--delete/-U)
  from separate calls under strace -f (execve), not timed.
- P: the promote operation in the DC's pacemaker.log ("Initiating promote operation" →
  "Result of promote operation") during the power cuts below; restart_on_promote=false:
  BENCH_NO_RESTART_CUTS more cuts after crm_resource --set-parameter (not PAF: no such
  parameter), not counted in F.
- F: seconds from the power cut (lab crash) to a client write accepted through the VIP on the
  other node (a new connection attempt every 50 ms from the client namespace); agent share: from the DC's "Initiating promote operation"
  log line to that write (includes the VIP's move).
- C: the lab's load-cib: resources loaded → node1 promoted, plus → node2 streaming (node2 is
  held in standby until node1 is promoted).
- S: crm_resource --ban --promoted on the primary's node, then --clear (test/labkit/scenario.go,
  labSwitchover).
- R: after each cut, until the old primary streams again. Ours: boot it, nothing else (its
  start lifts PGSQL.lock when its WAL is in the new primary's history, issue #13); if it does
  not stream within 60 s, as the others. Stock, PAF: lab rejoin (standby the node, boot it,
  stop its PostgreSQL, cleanup, remove PGSQL.lock, move pgdata aside, pg_basebackup, cleanup,
  unstandby), a manual procedure.
`

// WriteBenchReport writes the .md beside the run's records (raw, a .jsonl): a title with the
// time at, the note, the table, the failover chart's link when gnuplot drew it, the legend.
// It returns what to show of it (the title, the note and the table) and, apart, why no chart
// was drawn when gnuplot failed (the report is written all the same).
func WriteBenchReport(raw string, agents []string, at time.Time, note string) (shown string, chartErr, err error) {
	records, err := ReadRecords(raw)
	if err != nil {
		return "", nil, err
	}
	header := fmt.Sprintf("# pgsql-ra bench, %s\n\n%s Raw records: %s.\n\n", at.UTC().Format("2006-01-02 15:04 MST"), note, filepath.Base(raw))
	table := BenchTable(records, agents)
	if png, err := FailoverChart(records, agents, raw); err != nil {
		chartErr = err
	} else if png != "" {
		table += fmt.Sprintf("\n![failover timelines: one bar per power cut](%s)\n", filepath.Base(png))
	}
	if err := os.WriteFile(MarkdownPath(raw), []byte(header+table+BenchLegend), 0o644); err != nil {
		return "", chartErr, err
	}
	return header + table, chartErr, nil
}
