package pgctl

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadLastLines: the last lines of a child's output, each cut to lineHead bytes, however
// long the lines (pg_waldump prints a message's payload in hex on one line).
func TestReadLastLines(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	long := strings.Repeat("78 ", 100000)
	f.WriteString("first\n" + long + "\nsecond\nthird")
	got := string(readLastLines(f, 3))
	want := long[:lineHead] + "\nsecond\nthird\n"
	if got != want {
		t.Errorf("readLastLines = %.80q... (%d bytes), want %d bytes ending %q", got, len(got), len(want), "second\nthird\n")
	}
}

// TestKillGroupGivesUpOnAnUnreapedChild: a child that outlives SIGKILL (uninterruptible
// sleep; here: a wait channel that never delivers) must not hold the action past its
// deadline. The group is really signalled: the sleep it runs is gone.
func TestKillGroupGivesUpOnAnUnreapedChild(t *testing.T) {
	c := exec.Command("sleep", "30")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	began := time.Now()
	reaped := killGroup(c.Process.Pid, make(chan error)) // never reaped, as a D-state child
	took := time.Since(began)
	if reaped {
		t.Errorf("killGroup reported a child reaped that its wait channel never delivered")
	}
	if took > 4*killGrace {
		t.Errorf("killGroup waited %v for a child that is never reaped; want about %v", took, 2*killGrace)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Errorf("the child's process group was not killed")
	}
}

// TestRunReportsTheDeadline: a child still running at the deadline is killed and Run says so.
func TestRunReportsTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := Run(ctx, Command{Argv: []string{"/bin/sleep", "30"}})
	if err == nil || !strings.Contains(err.Error(), "did not finish before the deadline") {
		t.Errorf("Run past its deadline: %v; want the deadline error", err)
	}
	if took := time.Since(began); took > 200*time.Millisecond+3*killGrace {
		t.Errorf("Run took %v past a 200 ms deadline", took)
	}
}

// TestReview13KillGroupStaysWithinMaxOverrun: MaxOverrun is the bound the agent's margin is
// held to (agent's TestReview13RunOverrunFitsTheSafetyMargin): a child that is never reaped
// costs killGroup no more than it.
func TestReview13KillGroupStaysWithinMaxOverrun(t *testing.T) {
	c := exec.Command("sleep", "30")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Wait()
	began := time.Now()
	killGroup(c.Process.Pid, make(chan error)) // never reaped, as a D-state child
	if took := time.Since(began); took > MaxOverrun+100*time.Millisecond {
		t.Errorf("killGroup took %v for a child that is never reaped; MaxOverrun is %v", took, MaxOverrun)
	}
}
