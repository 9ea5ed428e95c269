package labreport

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// agentOrder is the columns' order, whatever order the agents ran in.
var agentOrder = []string{"stock", "paf", "ours"}

// SortAgents puts agents in the tables' order: stock, paf, ours (others first, as they came).
func SortAgents(agents []string) {
	slices.SortStableFunc(agents, func(a, b string) int {
		return slices.Index(agentOrder, a) - slices.Index(agentOrder, b)
	})
}

// FaultsReport is the fault matrix's .md again from a run's records (e.g. of a run cut short:
// the records are appended run by run): the faults that ran, a column per agent that ran,
// PAF's cells of the faults it does not run marked as such; note is a line for the header,
// rawName the records' file name.
func FaultsReport(records []map[string]any, note, rawName string) string {
	var results []FaultResult
	var agents []string
	ran := map[string]bool{}
	for _, r := range records {
		res := FaultResultFromRecord(r)
		results = append(results, res)
		ran[res.Fault] = true
		if !slices.Contains(agents, res.Agent) {
			agents = append(agents, res.Agent)
		}
	}
	SortAgents(agents)
	var faults []Fault
	for _, f := range Faults() {
		if ran[f.ID] {
			faults = append(faults, f)
		}
	}
	for _, a := range agents {
		for _, f := range faults {
			if a == "paf" && !f.PAF {
				results = append(results, FaultResult{Fault: f.ID, Agent: a, Skipped: PAFNotApplicable})
			}
		}
	}
	return fmt.Sprintf("# pgsql-ra fault matrix (issue #12 §3)\n\n%s Raw records: %s.\n\n%s%s",
		note, rawName, FaultTable(results, agents, faults), FaultLegend)
}

// WriteFaultsReport writes FaultsReport of the records at raw (a .jsonl) to the .md beside
// it and returns it.
func WriteFaultsReport(raw, note string) (string, error) {
	records, err := ReadRecords(raw)
	if err != nil {
		return "", err
	}
	md := FaultsReport(records, note, filepath.Base(raw))
	return md, os.WriteFile(MarkdownPath(raw), []byte(md), 0o644)
}

// SoakSummary is an agent's part of the soak report: the sequence and a line per fault.
func SoakSummary(agent string, done []string, results []FaultResult, took time.Duration) string {
	var b strings.Builder
	ran, recovered, lost, stale, doubles := 0, 0, 0, 0, 0
	for _, r := range results {
		if r.Skipped != "" {
			continue
		}
		ran++
		if r.Recovered {
			recovered++
		}
		lost += max(r.Lost, 0)
		if r.Stale {
			stale++
		}
		doubles += r.TwoWriters
	}
	notRun := ""
	if n := len(results) - ran; n > 0 {
		notRun = fmt.Sprintf(" (%d not run: the lab was not restored before them)", n)
	}
	fmt.Fprintf(&b, "\n## %s\n\nSequence: %s (%d faults, %s). Recovered %d of %d run%s; acknowledged ids lost %d; stale promotions %d; polls with two writers %d.\n\n",
		agent, strings.Join(done, " "), len(done), took.Round(time.Second), recovered, ran, notRun, lost, stale, doubles)
	b.WriteString("| # | fault | outcome | writable s | acked | lost | stale | two writers |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.Skipped != "" {
			fmt.Fprintf(&b, "| %d | %s | not run: %s | | | | | |\n", r.Run, r.Fault, r.Skipped)
			continue
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %.1f | %d | %d | %v | %d |\n", r.Run, r.Fault, r.Outcome, r.WritableS, r.Acked, r.Lost, r.Stale, r.TwoWriters)
	}
	return b.String()
}
