package labkit

// The soak (issue #12 §4): `make soak DURATION=30m [SEED=n]` runs random faults of the
// matrix (faults.go), seeded, one at a time with the lab restored to a healthy pair
// in between, the audited writer running during each, for every agent of LAB_AGENTS. After
// each fault, for ours: recovered (one primary, writable, the other node back or in a state
// crm_mon explains), no stale promotion, no two writers with fencing, every acknowledged id
// present in rep_mode=sync, and the lab back to a healthy pair. The first violation stops
// the agent's soak and prints the seed and the fault sequence so far, which SOAK_SEQUENCE
// replays. make soak (test/labctl soak) writes bench/results/soak-<date>-<HHMM>.md; make test
// runs TestSoak: ours, seed 1, two faults, no file written.

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/test/labreport"
)

// soakFaultIDs are the faults the soak draws from: the matrix's first ten. Not the dirty
// power cycle, whose recovery needs both nodes' boots inside the fault, and not the faults
// added after the committed soaks (12-15), so that a seed draws the sequence it drew then
// (the CI subset: seed 1's first two); they run in the matrix.
var soakFaultIDs = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}

// SoakConfig is one soak.
type SoakConfig struct {
	Agents    []string
	Duration  time.Duration // per agent
	Seed      int64
	MaxFaults int    // 0: as many as the duration holds
	Replay    string // fault ids run first (SOAK_SEQUENCE as a violation prints it)
	// ResultsDir receives soak-<date>-<HHMM>.md; "": no file written.
	ResultsDir string
}

// RunSoak runs the soak (make soak: test/labctl; make test: TestSoak's subset) and prints its
// summary.
func RunSoak(t T, cfg SoakConfig) {
	requireLabTools(t)
	seed, duration, maxFaults := cfg.Seed, cfg.Duration, cfg.MaxFaults
	dir := ""
	if cfg.ResultsDir != "" { // made now, as the matrix and the bench do: not found missing after hours
		var err error
		if dir, err = filepath.Abs(cfg.ResultsDir); err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	var report strings.Builder
	fmt.Fprintf(&report, "# pgsql-ra soak (issue #12 §4), %s\n\nSeed %d, %s per agent, rep_mode=%s, two-node lab.\n",
		began.UTC().Format("2006-01-02 15:04 MST"), seed, duration, envOr("LAB_REP_MODE", "async"))
	for _, agent := range cfg.Agents {
		subtest(t, agent, func(t T) {
			sequence := soakSequence(seed, agent, cfg.Replay)
			l := startLab(t, agent, 2)
			l.ensureRowsTable(t)
			var done []string
			var results []labreport.FaultResult
			defer func() { report.WriteString(labreport.SoakSummary(agent, done, results, time.Since(began))) }()
			deadline := time.Now().Add(duration)
			for i := 0; time.Now().Before(deadline) && (maxFaults == 0 || i < maxFaults); i++ {
				f := sequence(i)
				done = append(done, f.ID)
				res := labreport.FaultResult{Fault: f.ID, Agent: agent, Run: i + 1, WritableS: -1}
				ok := subtest(t, fmt.Sprintf("%03d-%s-%s", i+1, f.ID, f.Name), func(t T) {
					if err := l.faultRestore(t); err != nil {
						res.Skipped = "the lab was not restored: " + firstLine(err.Error())
						t.Fatalf("the lab is not back to a healthy pair before this fault: %v", err)
					}
					l.faultOnce(t, f, i+1, &res)
				})
				results = append(results, res)
				if !ok && labAgentTraits[agent].acceptance {
					t.Fatalf("soak violation at fault %d: replay with make soak SEED=%d SOAK_SEQUENCE=%q", i+1, seed, strings.Join(done, " "))
				}
			}
			if err := l.faultRestore(t); err != nil && labAgentTraits[agent].acceptance {
				t.Errorf("the lab is not back to a healthy pair after the last fault: %v (replay with make soak SEED=%d SOAK_SEQUENCE=%q)", err, seed, strings.Join(done, " "))
			}
		})
	}
	t.Logf("\n%s", report.String())
	if dir != "" {
		out := filepath.Join(dir, "soak-"+began.UTC().Format("2006-01-02-1504")+".md")
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// soakSequence is the i-th fault of an agent's soak: a replayed sequence (ids) first, then
// the seeded draw (PAF skips the faults that do not apply to it).
func soakSequence(seed int64, agent, replay string) func(i int) labFault {
	byID := map[string]labFault{}
	var pool []labFault
	for _, f := range labFaults() {
		byID[f.ID] = f
		if slices.Contains(soakFaultIDs, f.ID) && (agent != "paf" || f.PAF) {
			pool = append(pool, f)
		}
	}
	fixed := strings.Fields(replay)
	rng := rand.New(rand.NewSource(seed))
	return func(i int) labFault {
		if i < len(fixed) {
			if f, ok := byID[fixed[i]]; ok {
				return f
			}
		}
		return pool[rng.Intn(len(pool))]
	}
}
