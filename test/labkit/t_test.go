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
