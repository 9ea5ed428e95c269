package labkit

import (
	"os"
	"slices"
	"testing"
	"time"
)

// TestMain lets the lab run this test binary as one of its helpers (vip-writer.go).
func TestMain(m *testing.M) {
	RunHelperIfAsked()
	os.Exit(m.Run())
}

// TestFaults is make test's subset of the fault matrix (issue #12 §3): ours, faults 1, 2 and
// 11 (the dirty power cycle of issue #13 §3, about 70 s), once, no file written. make faults
// runs the matrix itself (test/labctl faults).
func TestFaults(t *testing.T) {
	requireLab(t)
	if !slices.Contains(labAgents(), "ours") {
		t.Skip("the CI subset of the fault matrix runs ours only; LAB_AGENTS lacks it (make faults runs the matrix)")
	}
	RunFaults(t, FaultsConfig{Agents: []string{"ours"}, Faults: []string{"1", "2", "11"}, Runs: 1})
}

// TestSoak is make test's subset of the soak (issue #12 §4): ours, seed 1, two faults, no
// file written. make soak runs the soak itself (test/labctl soak).
func TestSoak(t *testing.T) {
	requireLab(t)
	if !slices.Contains(labAgents(), "ours") {
		t.Skip("the CI subset of the soak runs ours only; LAB_AGENTS lacks it (make soak runs every agent)")
	}
	RunSoak(t, SoakConfig{Agents: []string{"ours"}, Seed: 1, MaxFaults: 2, Duration: time.Hour})
}
