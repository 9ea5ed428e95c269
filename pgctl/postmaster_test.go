package pgctl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakePostmasterEnv makes the test binary act as a stand-in postmaster: a copy of it named
// "postgres" has the comm FindPostmaster looks for, without any PostgreSQL installed.
const fakePostmasterEnv = "PGCTL_TEST_FAKE_POSTMASTER"

func TestMain(m *testing.M) {
	switch mode := os.Getenv(fakePostmasterEnv); mode {
	case "":
		os.Exit(m.Run())
	default:
		if strings.Contains(mode, "ignore-int") {
			signal.Ignore(syscall.SIGINT)
		}
		if strings.Contains(mode, "ignore-quit") {
			signal.Ignore(syscall.SIGQUIT)
		}
		fmt.Println("ready")
		time.Sleep(time.Minute) // never outlives a test run by much
		os.Exit(0)
	}
}

// startFakePostmaster runs a copy of the test binary called "postgres" in the directory
// pgdata (a postmaster's working directory is its data directory) and waits until it has
// set up its signal handling. The process is killed and reaped when the test ends.
func startFakePostmaster(t *testing.T, mode, pgdata string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	fake := filepath.Join(t.TempDir(), "postgres")
	if err := copyFile(self, fake); err != nil {
		t.Skipf("cannot copy the test binary: %v", err)
	}
	var cmd *exec.Cmd
	var stdout io.ReadCloser
	for attempt := 0; ; attempt++ {
		cmd = exec.Command(fake, "-test.run=^$")
		cmd.Dir = pgdata
		cmd.Env = append(os.Environ(), fakePostmasterEnv+"="+mode)
		if stdout, err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		if err = cmd.Start(); err == nil {
			break
		}
		if !errors.Is(err, syscall.ETXTBSY) || attempt > 20 {
			t.Skipf("cannot run a copy of the test binary: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var reaped bool
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("fake postmaster did not start: %q, %v", line, err)
	}
	if comm := procComm(cmd.Process.Pid); comm != "postgres" {
		t.Skipf("the copy runs with comm %q, not postgres", comm)
	}
	return cmd
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func procComm(pid int) string { c, _ := procState(pid); return c }

// waitZombie waits until pid has exited but not been reaped.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	waitState(t, pid, 'Z')
}

// waitState waits until the process is in the given /proc state (Z zombie, T stopped).
func waitState(t *testing.T, pid int, want byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, state := procState(pid); state == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not reach state %c", pid, want)
}

func writePidFile(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, PidFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pidFileFor is the start of a real postmaster.pid: PID, data directory, start time, port.
func pidFileFor(pid int, dir string) string {
	return fmt.Sprintf("%d\n%s\n1700000000\n5432\n/run/postgresql\n*\n  5432001    327680\nready   \n", pid, dir)
}

func TestFindPostmasterNoPidFile(t *testing.T) {
	pm, err := FindPostmaster(t.TempDir())
	if err != nil || pm.PID != 0 || pm.Running {
		t.Errorf("FindPostmaster without pid file = %+v, %v; want PID 0, not running, no error", pm, err)
	}
}

func TestFindPostmasterEmptyPidFile(t *testing.T) {
	dir := t.TempDir()
	writePidFile(t, dir, "")
	pm, err := FindPostmaster(dir)
	if err != nil || pm.PID != 0 || pm.Running {
		t.Errorf("FindPostmaster with an empty pid file (being written) = %+v, %v; want PID 0, not running", pm, err)
	}
}

func TestFindPostmasterNotPostgres(t *testing.T) {
	// The test binary (comm "pgctl.test") is alive but is not a PostgreSQL server: a PID
	// reused after a crash must not count as a running server.
	dir := t.TempDir()
	self := os.Getpid()
	writePidFile(t, dir, pidFileFor(self, dir))
	pm, err := FindPostmaster(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pm.PID != self {
		t.Errorf("PID = %d, want %d", pm.PID, self)
	}
	if comm := procComm(self); comm == "postgres" || comm == "postmaster" {
		t.Skipf("test binary runs as %q", comm)
	}
	if pm.Running {
		t.Errorf("a live process called %q counted as a running postmaster", procComm(self))
	}
}

func TestFindPostmasterDeadPID(t *testing.T) {
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	dead := child.ProcessState.Pid()
	dir := t.TempDir()
	writePidFile(t, dir, pidFileFor(dead, dir))
	pm, err := FindPostmaster(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pm.PID != dead || pm.Running {
		t.Errorf("FindPostmaster with dead PID %d = %+v; want that PID, not running", dead, pm)
	}
}

func TestFindPostmasterBadPidFile(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"garbage", "not a pid\n/var/lib/pgsql/data\n"},
		{"garbage without newline", "xyz"},
		{"zero", "0\n"},
		{"negative", "-42\n"},
		{"blank first line", "\n/var/lib/pgsql/data\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writePidFile(t, dir, tc.content)
			if pm, err := FindPostmaster(dir); err == nil {
				t.Errorf("FindPostmaster(%q) = %+v, want an error", tc.content, pm)
			}
		})
	}
}

func TestFindPostmasterPidWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	writePidFile(t, dir, strconv.Itoa(os.Getpid()))
	pm, err := FindPostmaster(dir)
	if err != nil || pm.PID != os.Getpid() {
		t.Errorf("FindPostmaster = %+v, %v; want PID %d", pm, err, os.Getpid())
	}
}

func TestFindPostmasterUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the pid file should be: opening works, reading fails.
	if err := os.Mkdir(filepath.Join(dir, PidFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if pm, err := FindPostmaster(dir); err == nil {
		t.Errorf("FindPostmaster with a directory as pid file = %+v, want an error", pm)
	}
}

func TestFindPostmasterLiveAndZombie(t *testing.T) {
	dir := t.TempDir()
	cmd := startFakePostmaster(t, "run", dir)
	pid := cmd.Process.Pid
	writePidFile(t, dir, pidFileFor(pid, dir))

	pm, err := FindPostmaster(dir)
	if err != nil || pm.PID != pid || !pm.Running {
		t.Fatalf("live process called postgres: FindPostmaster = %+v, %v; want PID %d running", pm, err, pid)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, pid) // not reaped: still in the process table, still called postgres
	pm, err = FindPostmaster(dir)
	if err != nil || pm.Running {
		t.Errorf("zombie postgres: FindPostmaster = %+v, %v; want not running", pm, err)
	}
}

// TestForeignPostgresIsNotSignalled: a pid file naming a live process called postgres that
// does not serve this data directory (another working directory, or another owner than the
// directory's) is "not running", and Stop sends it nothing (#11: the database owner writes
// postmaster.pid, and the agent signals as root).
func TestForeignPostgresIsNotSignalled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (cwd string)
	}{
		{"elsewhere", func(t *testing.T, dir string) string { return t.TempDir() }},
		{"another owner", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the data directory away")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := startFakePostmaster(t, "run", tc.setup(t, dir))
			writePidFile(t, dir, pidFileFor(cmd.Process.Pid, dir))
			if pm, err := FindPostmaster(dir); err != nil || pm.Running {
				t.Errorf("FindPostmaster = %+v, %v; want not running", pm, err)
			}
			if _, err := (Server{PgData: dir}).Stop(context.Background(), 0); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if err := RequestShutdown(dir, cmd.Process.Pid, Immediate); err != nil {
				t.Errorf("RequestShutdown: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
			if _, state := procState(cmd.Process.Pid); state == 'Z' || state == 0 {
				t.Error("the foreign process was signalled")
			}
		})
	}
}

func TestShutdownModeString(t *testing.T) {
	for mode, want := range map[ShutdownMode]string{Smart: "smart", Fast: "fast", Immediate: "immediate"} {
		if got := mode.String(); got != want {
			t.Errorf("ShutdownMode(%d).String() = %q, want %q", mode, got, want)
		}
	}
	for mode, want := range map[ShutdownMode]syscall.Signal{Smart: syscall.SIGTERM, Fast: syscall.SIGINT, Immediate: syscall.SIGQUIT} {
		if got := mode.signal(); got != want {
			t.Errorf("%s shutdown sends %v, want %v (as pg_ctl stop -m)", mode, got, want)
		}
	}
}

func TestRequestShutdownOfDeadProcess(t *testing.T) {
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	if err := RequestShutdown(t.TempDir(), child.ProcessState.Pid(), Fast); err != nil {
		t.Errorf("RequestShutdown of a gone process = %v, want nil (already stopped)", err)
	}
}

func TestStopWithoutPidFile(t *testing.T) {
	mode, err := Server{PgData: t.TempDir()}.Stop(context.Background(), time.Second)
	if err != nil || mode != Fast {
		t.Errorf("Stop of a stopped server = %v, %v; want fast, nil", mode, err)
	}
}

func TestStop(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fake          string
		escalateAfter time.Duration
		timeout       time.Duration
		wantMode      ShutdownMode
		wantStill     bool
	}{
		{"fast shutdown obeyed", "run", 10 * time.Second, 20 * time.Second, Fast, false},
		{"no escalation delay: immediate at once", "ignore-int", 0, 20 * time.Second, Immediate, false},
		{"fast ignored: immediate after the delay", "ignore-int", 300 * time.Millisecond, 20 * time.Second, Immediate, false},
		{"both ignored: still running at the deadline", "ignore-int,ignore-quit", 200 * time.Millisecond, 700 * time.Millisecond, Immediate, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := startFakePostmaster(t, tc.fake, dir)
			writePidFile(t, dir, pidFileFor(cmd.Process.Pid, dir))
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			begin := time.Now()
			mode, err := Server{PgData: dir}.Stop(ctx, tc.escalateAfter)
			took := time.Since(begin)
			if mode != tc.wantMode {
				t.Errorf("Stop requested %v last, want %v", mode, tc.wantMode)
			}
			if tc.wantStill {
				if !errors.Is(err, ErrStillRunning) {
					t.Errorf("Stop = %v, want ErrStillRunning", err)
				}
				if pm, _ := FindPostmaster(dir); !pm.Running {
					t.Error("fake postmaster is gone although it ignored every request")
				}
				return
			}
			if err != nil {
				t.Errorf("Stop: %v", err)
			}
			if pm, _ := FindPostmaster(dir); pm.Running {
				t.Error("postmaster still running after a successful Stop")
			}
			if tc.wantMode == Immediate && took < tc.escalateAfter {
				t.Errorf("immediate shutdown after %v, before the escalation delay %v", took, tc.escalateAfter)
			}
		})
	}
}

// stoppedFakePostmaster runs a fake postmaster with its pid file in a new directory and stops
// it with SIGSTOP (continued when the test ends).
func stoppedFakePostmaster(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	dir := t.TempDir()
	cmd := startFakePostmaster(t, "run", dir)
	writePidFile(t, dir, pidFileFor(cmd.Process.Pid, dir))
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT) })
	waitState(t, cmd.Process.Pid, 'T')
	return dir, cmd
}

// TestStopOfAStoppedPostmaster (issue #12, fault 3): a postmaster stopped by SIGSTOP acts on
// no request until it runs again, so Stop says so at once instead of waiting out its deadline;
// the fast shutdown request it left pending takes effect once the process runs again.
func TestStopOfAStoppedPostmaster(t *testing.T) {
	dir, cmd := stoppedFakePostmaster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begin := time.Now()
	_, err := Server{PgData: dir}.Stop(ctx, 10*time.Second)
	if !errors.Is(err, ErrPostmasterStopped) {
		t.Fatalf("Stop of a stopped postmaster = %v, want ErrPostmasterStopped", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Stop took %v: it waited for a process that cannot act", took)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, cmd.Process.Pid) // the pending fast shutdown request ended it
}

// TestBrieflyStoppedPostmasterIsNotStopped (second review of issue #13, session 6): a stop
// that passes (a job-control stop continued at once; a tracer's stop, state t, which strace
// or gdb cause) is not a hung server: one sample must not fail a monitor and fence a node.
func TestBrieflyStoppedPostmasterIsNotStopped(t *testing.T) {
	dir := t.TempDir()
	cmd := startFakePostmaster(t, "run", dir)
	writePidFile(t, dir, pidFileFor(cmd.Process.Pid, dir))
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, cmd.Process.Pid, 'T')
	go func() {
		time.Sleep(stoppedRecheck / 3)
		cmd.Process.Signal(syscall.SIGCONT)
	}()
	if pm, err := FindPostmaster(dir); err != nil || !pm.Running || pm.Stopped {
		t.Errorf("a postmaster continued %v after the first sample: %+v, %v; want running, not stopped", stoppedRecheck/3, pm, err)
	}
	if staysStopped(cmd.Process.Pid, 't') {
		t.Error("a tracer's stop (t) counts as stopped")
	}
}
