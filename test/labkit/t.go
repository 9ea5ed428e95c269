package labkit

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
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
// (runtime.Goexit, as testing does) and runs the step's cleanups last-first, on the step's
// goroutine, each on its own so that a Fatal in one ends that cleanup only. As under testing,
// Fatal or Skip on a parent step's T from the running step (the lab session's T, which the
// kit's mustLog uses) fails the running step, and a panic fails the step and runs every
// cleanup up to the top (the lab's teardown, the tables) before Main returns 1.
type Runner struct {
	name     string
	parent   *Runner
	mu       sync.Mutex
	failed   bool
	skipped  bool
	cleanups []func()
	active   *Runner // the child step running now (steps run one at a time)
	panicked any     // a stepPanic: the step or a cleanup panicked, the parents unwind
}

// stepPanic is a panic already reported, on its way up the steps.
type stepPanic struct{ value any }

// Main runs f as the top step called name and returns the exit code: 0 when every step
// passed or was skipped, 1 otherwise.
func Main(name string, f func(t T)) int {
	r := &Runner{name: name}
	began := time.Now()
	r.execute(f)
	verdict, code := "PASS", 0
	switch {
	case r.Failed():
		verdict, code = "FAIL", 1
	case r.Skipped():
		verdict = "SKIP"
	}
	fmt.Printf("%s: %s (%.0fs)\n", verdict, name, time.Since(began).Seconds())
	return code
}

func (r *Runner) run(name string, f func(t T)) bool {
	child := &Runner{name: r.name + "/" + name, parent: r}
	fmt.Printf("=== RUN   %s\n", child.name)
	began := time.Now()
	r.setActive(child)
	child.execute(f)
	r.setActive(nil)
	verdict := "PASS"
	switch {
	case child.Failed():
		verdict = "FAIL"
		r.markFailed()
	case child.Skipped():
		verdict = "SKIP"
	}
	fmt.Printf("--- %s: %s (%.2fs)\n", verdict, child.name, time.Since(began).Seconds())
	if child.panicked != nil {
		panic(child.panicked) // this step ends too, its cleanups run: as testing unwinds a panic
	}
	return !child.Failed()
}

// execute runs f, then the cleanups, each on a goroutine of its own (alone), so that Fatal
// and Skip end it alone; they run after a Fatal, a Skip or a panic in f too.
func (r *Runner) execute(f func(t T)) {
	r.alone(func() { f(r) })
	r.runCleanups()
}

// runCleanups runs the cleanups last-first, also those a cleanup registers: a Fatal or Skip
// in one ends it alone, a panic in one fails the step and unwinds the steps once the other
// cleanups ran.
func (r *Runner) runCleanups() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			r.mu.Unlock()
			return
		}
		c := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		r.alone(c)
	}
}

// alone runs f on a goroutine of its own and waits for it: runtime.Goexit (Fatal, Skip) ends
// f only, and a panic in it fails the step (setPanicked).
func (r *Runner) alone(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				r.setPanicked(p, debug.Stack())
			}
		}()
		f()
	}()
	<-done
}

// setPanicked fails the step for a panic, reported (with its stack) where it happened; the
// first panic is the one that unwinds the steps.
func (r *Runner) setPanicked(p any, stack []byte) {
	if _, reported := p.(stepPanic); !reported {
		r.Errorf("panic: %v\n%s", p, stack)
		p = stepPanic{p}
	}
	r.markFailed()
	r.mu.Lock()
	if r.panicked == nil {
		r.panicked = p
	}
	r.mu.Unlock()
}

func (r *Runner) setActive(child *Runner) {
	r.mu.Lock()
	r.active = child
	r.mu.Unlock()
}

// running is the step running now: r, or the deepest of its active children.
func (r *Runner) running() *Runner {
	s := r
	for {
		s.mu.Lock()
		next := s.active
		s.mu.Unlock()
		if next == nil {
			return s
		}
		s = next
	}
}

// endStep ends the calling goroutine's step (runtime.Goexit). Called on a parent step's T
// from the running step, it fails the running step, which it ends, as testing does.
func (r *Runner) endStep() {
	if s := r.running(); s != r {
		s.Errorf("%s ended from this step (Fatal or Skip on a parent step's T): this step fails", r.name)
	}
	runtime.Goexit()
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
func (r *Runner) Fatal(args ...any)                 { r.Error(args...); r.endStep() }
func (r *Runner) Fatalf(format string, args ...any) { r.Errorf(format, args...); r.endStep() }
func (r *Runner) Skip(args ...any)                  { r.Log(args...); r.skip() }
func (r *Runner) Skipf(format string, args ...any)  { r.Logf(format, args...); r.skip() }
func (r *Runner) Cleanup(f func())                  { r.mu.Lock(); r.cleanups = append(r.cleanups, f); r.mu.Unlock() }

func (r *Runner) skip() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	r.endStep()
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
