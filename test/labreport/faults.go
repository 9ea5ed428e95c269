package labreport

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// FaultResult is one run, as the table reads it.
type FaultResult struct {
	Fault, Agent  string
	Run           int
	Recovered     bool
	Outcome       string
	WritableS     float64 // fault → first acknowledged commit begun after it; -1: none
	Acked, Lost   int
	Duplicates    int
	LongestGapS   float64
	Stale         bool
	TwoWriters    int
	ExitReasons   []string
	Fenced        []string
	Skipped, Note string
}

// pidPattern finds a process id in an exit reason ("PostgreSQL (pid 150) is stopped").
var pidPattern = regexp.MustCompile(`\bpid [0-9]+`)

// withoutPIDs writes every process id in an exit reason as "pid N": the same reason from
// runs whose server had another pid is counted as one.
func withoutPIDs(reason string) string {
	return pidPattern.ReplaceAllString(reason, "pid N")
}

// FaultTable: rows = faults, a column per agent; each cell the runs' summary.
func FaultTable(results []FaultResult, agents []string, faults []Fault) string {
	var b strings.Builder
	b.WriteString("| fault | " + strings.Join(agents, " | ") + " |\n|---|" + strings.Repeat("---|", len(agents)) + "\n")
	for _, f := range faults {
		b.WriteString(fmt.Sprintf("| %s %s: %s |", f.ID, f.Name, f.What))
		for _, a := range agents {
			var rs []FaultResult
			skipped := ""
			for _, r := range results {
				if r.Fault == f.ID && r.Agent == a {
					if r.Skipped != "" && r.Run == 0 {
						skipped = r.Skipped
						continue
					}
					rs = append(rs, r)
				}
			}
			b.WriteString(" " + faultCell(rs, skipped) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// faultCell summarises one fault's runs for one agent (skipped: why it did not run at all).
func faultCell(rs []FaultResult, skipped string) string {
	if len(rs) == 0 {
		return or(skipped, "not run")
	}
	var writable []float64
	recovered, acked, lost, dups, stale, doubles, unknownLoss := 0, 0, 0, 0, 0, 0, 0
	var gap float64
	outcomes, reasons, fenced := map[string]int{}, map[string]int{}, 0
	for _, r := range rs {
		if r.Skipped != "" {
			outcomes["not run: "+r.Skipped]++
			continue
		}
		if r.Recovered {
			recovered++
		}
		if r.WritableS >= 0 && r.Recovered { // a write after an unrecovered run's cleanup is no recovery
			writable = append(writable, r.WritableS)
		}
		acked += r.Acked
		if r.Lost < 0 {
			unknownLoss++
		} else {
			lost += r.Lost
		}
		dups += r.Duplicates
		gap = max(gap, r.LongestGapS)
		if r.Stale {
			stale++
		}
		doubles += min(r.TwoWriters, 1)
		outcomes[r.Outcome]++
		for _, e := range r.ExitReasons {
			reasons[withoutPIDs(e)]++
		}
		if len(r.Fenced) > 0 {
			fenced++
		}
	}
	parts := []string{
		fmt.Sprintf("recovered %d/%d", recovered, len(rs)),
		"writable " + MedianRange(writable) + " s",
		fmt.Sprintf("lost %d of %d acked", lost, acked),
	}
	if unknownLoss > 0 {
		parts[len(parts)-1] += fmt.Sprintf(" (%d runs unknown)", unknownLoss)
	}
	parts = append(parts, fmt.Sprintf("dup %d; longest gap %s s", dups, Num(gap)),
		fmt.Sprintf("stale %d; two writers %d; fenced %d", stale, doubles, fenced))
	for _, k := range sortedKeys(outcomes) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, outcomes[k]))
	}
	for _, k := range sortedKeys(reasons) {
		parts = append(parts, fmt.Sprintf("`%s` ×%d", strings.ReplaceAll(k, "|", "/"), reasons[k]))
	}
	return strings.Join(parts, "<br>")
}

// sortedKeys are m's keys, the most counted first, then in order.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// FaultLegend follows the fault table: what a cell says.
const FaultLegend = `
Per cell: runs that reached a verdict within the fault's timeout (one promoted node that
accepted a write begun after the fault, the other streaming from it again or in a terminal
state crm_mon shows) / runs; *writable*: fault → the first acknowledged commit of a write
begun after the fault, median (min–max), s; *lost*: acknowledged ids missing on the final
primary, or where the run left none, on the node promoted after the admin's cleanup
(counted, not failed, in rep_mode=async); *dup*: ids present twice (a commit retried
after an unacknowledged success); *longest gap*: the longest time without an acknowledged
commit, s, worst run; *stale*: runs whose primary lacked an acknowledged id another running
node held (a stopped node's data is not read); *two writers*: runs in which two nodes answered
pg_is_in_recovery() = f in the same poll (every 0.5 s from the fault to the verdict, and 8 s
after the SIGCONT of fault 3); *fenced*: runs with a node powered off by fencing; then the
verdicts, and the new failed operations crm_mon shows with their exit reasons (× runs).
`

// FaultResultFromRecord reads one run's JSON record back.
func FaultResultFromRecord(r map[string]any) FaultResult {
	str := func(k string) string { s, _ := r[k].(string); return s }
	num := func(k string, fallback float64) float64 {
		if v, ok := r[k].(float64); ok {
			return v
		}
		return fallback
	}
	list := func(k string) []string {
		var out []string
		if vs, ok := r[k].([]any); ok {
			for _, v := range vs {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	b, _ := r["recovered"].(bool)
	stale, _ := r["stale"].(bool)
	return FaultResult{
		Fault: str("fault"), Agent: str("agent"), Run: int(num("run", 0)), Recovered: b, Outcome: str("outcome"),
		WritableS: num("writable_s", -1), Acked: int(num("acked", 0)), Lost: int(num("lost", -1)),
		Duplicates: int(num("duplicates", 0)), LongestGapS: num("longest_gap_s", 0), Stale: stale,
		TwoWriters: int(num("two_writers", 0)), ExitReasons: list("exit_reasons"), Fenced: list("fenced"),
	}
}
