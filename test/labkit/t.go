package labkit

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// T is what the lab's kit and drivers need of a test: *testing.T in the scenarios (go test)
// and in make test's subsets of the fault matrix and the soak, a Runner when test/labctl runs
// the drivers as a program (make faults, make soak, make bench: issue #12's housekeeping).
type T interface {
	Helper()
	Name() string
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Skipped() bool
	Cleanup(func())
}

// subtest runs f as t's subtest called name, in the way of t (testing's t.Run or the Runner's),
// and reports whether it passed.
func subtest(t T, name string, f func(t T)) bool {
	switch parent := t.(type) {
	case *testing.T:
		return parent.Run(name, func(t *testing.T) { f(t) })
	case *Runner:
		return parent.run(name, f)
	default:
		panic(fmt.Sprintf("labkit: cannot run a subtest under %T", t))
	}
}

// Runner is T for a program: it prints what a test would log, ends a step at Fatal or Skip
// (runtime.Goexit, as testing does) and runs the step's cleanups last-first.
type Runner struct {
	name     string
	parent   *Runner
	mu       sync.Mutex
	failed   bool
	skipped  bool
	cleanups []func()
}

// Main runs f as the top step called name and returns the exit code: 0 when every step
// passed or was skipped, 1 otherwise.
func Main(name string, f func(t T)) int {
	r := &Runner{name: name}
	began := time.Now()
	r.execute(f)
	verdict, code := "PASS", 0
	if r.Failed() {
		verdict, code = "FAIL", 1
	}
	fmt.Printf("%s: %s (%.0fs)\n", verdict, name, time.Since(began).Seconds())
	return code
}

func (r *Runner) run(name string, f func(t T)) bool {
	child := &Runner{name: r.name + "/" + name, parent: r}
	fmt.Printf("=== RUN   %s\n", child.name)
	began := time.Now()
	child.execute(f)
	verdict := "PASS"
	switch {
	case child.Failed():
		verdict = "FAIL"
		r.markFailed()
	case child.Skipped():
		verdict = "SKIP"
	}
	fmt.Printf("--- %s: %s (%.2fs)\n", verdict, child.name, time.Since(began).Seconds())
	return !child.Failed()
}

// execute runs f on its own goroutine, so that Fatal and Skip can end it, then the cleanups.
func (r *Runner) execute(f func(t T)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func (r *Runner) markFailed() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	if r.parent != nil {
		r.parent.markFailed()
	}
}

func (r *Runner) print(text string) {
	text = strings.TrimRight(text, "\n")
	fmt.Fprintf(os.Stdout, "    %s: %s\n", r.name, strings.ReplaceAll(text, "\n", "\n        "))
}

func (r *Runner) Helper()                           {}
func (r *Runner) Name() string                      { return r.name }
func (r *Runner) Log(args ...any)                   { r.print(fmt.Sprint(args...)) }
func (r *Runner) Logf(format string, args ...any)   { r.print(fmt.Sprintf(format, args...)) }
func (r *Runner) Error(args ...any)                 { r.Log(args...); r.markFailed() }
func (r *Runner) Errorf(format string, args ...any) { r.Logf(format, args...); r.markFailed() }
func (r *Runner) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *Runner) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *Runner) Skip(args ...any)                  { r.Log(args...); r.skip() }
func (r *Runner) Skipf(format string, args ...any)  { r.Logf(format, args...); r.skip() }
func (r *Runner) Cleanup(f func())                  { r.mu.Lock(); r.cleanups = append(r.cleanups, f); r.mu.Unlock() }

func (r *Runner) skip() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *Runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *Runner) Skipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}
