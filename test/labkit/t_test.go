package labkit

import (
	"os"
	"slices"
	"testing"
)

// The Runner ends a step at Fatal as testing does: the rest of the step does not run, its
// cleanups do (last first), its parent fails and the next step still runs.
func TestRunnerFatalEndsTheStepOnly(t *testing.T) {
	var events []string
	code := Main("top", func(top T) {
		top.Cleanup(func() { events = append(events, "top cleanup") })
		first := subtest(top, "first", func(t T) {
			t.Cleanup(func() { events = append(events, "first cleanup 1") })
			t.Cleanup(func() { events = append(events, "first cleanup 2") })
			t.Fatalf("stop here")
			events = append(events, "after Fatal")
		})
		events = append(events, map[bool]string{true: "first passed", false: "first failed"}[first])
		second := subtest(top, "second", func(t T) { events = append(events, "second ran as "+t.Name()) })
		events = append(events, map[bool]string{true: "second passed", false: "second failed"}[second])
		events = append(events, map[bool]string{true: "top failed", false: "top not failed"}[top.Failed()])
	})
	want := []string{"first cleanup 2", "first cleanup 1", "first failed", "second ran as top/second", "second passed", "top failed", "top cleanup"}
	if code != 1 || !slices.Equal(events, want) {
		t.Errorf("exit %d, events %q; want 1 and %q", code, events, want)
	}
}

// Skip ends a step without failing it; Error fails it and lets it go on.
func TestRunnerSkipAndError(t *testing.T) {
	var probeRan, reached bool
	code := Main("top", func(top T) {
		subtest(top, "skipped", func(t T) {
			t.Skip("no lab here")
			reached = true
		})
		subtest(top, "probe", func(t T) { probeRan = !t.Skipped() })
	})
	if code != 0 || reached || !probeRan {
		t.Errorf("skip: exit %d, after Skip reached %v; want 0 and false", code, reached)
	}
	var afterError bool
	code = Main("top", func(top T) {
		top.Errorf("one thing wrong")
		afterError = true
	})
	if code != 1 || !afterError {
		t.Errorf("Error: exit %d, went on %v; want 1 and true", code, afterError)
	}
}

// Under go test, subtest is testing's own t.Run.
func TestSubtestUnderTesting(t *testing.T) {
	var name string
	if !subtest(t, "inner", func(t T) { name = t.Name() }) || name != t.Name()+"/inner" {
		t.Errorf("subtest under *testing.T: name %q", name)
	}
}

// The lab's script is found from the package's directory (go test) as from the tree's top
// (make runs test/labctl there).
func TestLabScript(t *testing.T) {
	fromHere, err := labScript()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fromHere); err != nil {
		t.Fatalf("labScript from test/labkit: %v", err)
	}
	t.Chdir("../..")
	fromTop, err := labScript()
	if err != nil || fromTop != fromHere {
		t.Errorf("labScript from the top: %q, %v; want %q", fromTop, err, fromHere)
	}
}

// A Fatal in a step's cleanup ends that cleanup only, as testing does: the step's other
// cleanups run and its parent goes on (the faults' cleanups boot nodes with mustLog, which
// can Fatal after the run already failed).
func TestRunnerFatalInCleanupEndsTheCleanupOnly(t *testing.T) {
	var events []string
	code := Main("top", func(top T) {
		top.Cleanup(func() {
			top.Fatalf("the top's cleanup fails too")
			events = append(events, "after the top's Fatal")
		})
		ok := subtest(top, "step", func(t T) {
			t.Cleanup(func() { events = append(events, "step cleanup 1") })
			t.Cleanup(func() {
				t.Fatalf("cleanup failed")
				events = append(events, "after Fatal")
			})
			t.Fatalf("the run failed")
		})
		events = append(events, map[bool]string{true: "step passed", false: "step failed"}[ok])
		events = append(events, "top went on")
	})
	want := []string{"step cleanup 1", "step failed", "top went on"}
	if code != 1 || !slices.Equal(events, want) {
		t.Errorf("exit %d, events %q; want 1 and %q", code, events, want)
	}
}

// Fatal on a parent step's T from the running step (the kit's mustLog uses the lab session's
// T, the agent's step, inside the fault's run) fails the running step, as testing does
// ("subtest may have called FailNow on a parent test"): its record must not say it passed.
func TestRunnerFatalOnAParentFailsTheRunningStep(t *testing.T) {
	var ok, parentWentOn bool
	var recorded []bool
	code := Main("top", func(top T) {
		subtest(top, "agent", func(agent T) {
			ok = subtest(agent, "run-1", func(t T) {
				t.Cleanup(func() { recorded = append(recorded, !t.Failed()) })
				agent.Fatalf("lab crash node1: exit status 1")
			})
			parentWentOn = true
		})
	})
	if code != 1 || ok || !parentWentOn || !slices.Equal(recorded, []bool{false}) {
		t.Errorf("exit %d, run passed %v, agent went on %v, record pass %v; want 1, false, true, [false]", code, ok, parentWentOn, recorded)
	}
}

// A panic in a step fails it and runs every cleanup up to the top (the lab's teardown, the
// fault matrix's table), as testing does before the binary dies; no later step runs.
func TestRunnerPanicRunsTheCleanups(t *testing.T) {
	var events []string
	code := Main("top", func(top T) {
		top.Cleanup(func() { events = append(events, "top cleanup") })
		subtest(top, "agent", func(agent T) {
			agent.Cleanup(func() { events = append(events, "lab down") })
			subtest(agent, "run-1", func(t T) {
				t.Cleanup(func() { events = append(events, "run cleanup") })
				var m map[string]int
				m["x"] = 1 // a nil map: panics
			})
			events = append(events, "run-2")
		})
		events = append(events, "next agent")
	})
	want := []string{"run cleanup", "lab down", "top cleanup"}
	if code != 1 || !slices.Equal(events, want) {
		t.Errorf("exit %d, events %q; want 1 and %q", code, events, want)
	}
}
