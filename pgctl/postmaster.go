package pgctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// PidFile is the postmaster's lock file in PGDATA.
const PidFile = "postmaster.pid"

// Postmaster is what the pid file and /proc say about the server of a data directory.
type Postmaster struct {
	PID     int    // from postmaster.pid; 0 when there is no pid file
	Running bool   // PID is a live (not zombie) postgres process serving this data directory
	Started string // postmaster.pid's start time (Unix seconds): with PID, names this run
	// Stopped: the postmaster is stopped by a signal (SIGSTOP) or a tracer: it accepts
	// connections into the listen queue and never answers them (issue #12, fault 3).
	Stopped bool
}

// Run names this postmaster's run: a restart changes it.
func (p Postmaster) Run() string { return strconv.Itoa(p.PID) + "@" + p.Started }

// FindPostmaster reads <pgdata>/postmaster.pid and checks its process without starting any
// child. A pid file whose PID is dead, a zombie, or a process that is not this data
// directory's server (PID reused after a crash, or any PID the database owner wrote there)
// means "not running".
func FindPostmaster(pgdata string) (Postmaster, error) {
	dir, err := safefs.OpenDir(pgdata)
	if errors.Is(err, os.ErrNotExist) {
		return Postmaster{}, nil
	}
	if err != nil {
		return Postmaster{}, fmt.Errorf("reading %s: %w", PidFile, err)
	}
	defer dir.Close()
	f, err := dir.Open(PidFile, safefs.StateLimit)
	if errors.Is(err, os.ErrNotExist) {
		return Postmaster{}, nil
	}
	if err != nil {
		return Postmaster{}, fmt.Errorf("reading %s: %w", PidFile, err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	line, err := rd.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return Postmaster{}, fmt.Errorf("reading %s: %w", PidFile, err)
	}
	_, _ = rd.ReadString('\n') // the data directory
	started, _ := rd.ReadString('\n')
	pid, convErr := strconv.Atoi(strings.TrimSpace(line))
	if convErr != nil || pid <= 0 {
		if line == "" { // empty file: the postmaster is just creating it
			return Postmaster{}, nil
		}
		return Postmaster{}, fmt.Errorf("%s holds no PID (%q)", PidFile, strings.TrimSpace(line))
	}
	data, err := dir.Stat()
	if err != nil {
		return Postmaster{}, err
	}
	running, state := isPostmasterOf(pid, data)
	return Postmaster{PID: pid, Running: running, Started: strings.TrimSpace(started), Stopped: running && staysStopped(pid, state)}, nil
}

// stoppedRecheck is how long a stopped postmaster must stay stopped to count as one.
const stoppedRecheck = 300 * time.Millisecond

// staysStopped: the postmaster is stopped by a signal (state T) and still is a moment later,
// without having run in between: the same process (its start time), with the same count of
// context switches. A tracer's stop (t: strace, gdb, pstack attached by an admin) passes by
// itself, and so may a job-control stop: one sample would turn either into a failed monitor,
// then a failover and a fencing (second review of issue #13, session 6). Two samples in T
// alone also took a postmaster that ran between them (continued and stopped again, as a CPU
// limiter's SIGSTOP/SIGCONT cycles do) for a stopped one (seventh review). What cannot be
// read is not stopped: the action then waits for the server as it would for a slow one.
func staysStopped(pid int, state byte) bool {
	if state != 'T' {
		return false
	}
	before, ok := stopStamp(pid)
	if !ok {
		return false
	}
	time.Sleep(stoppedRecheck)
	after, ok := stopStamp(pid)
	return ok && after == before
}

// stopStamp is what names a stopped process's stop: its start time (/proc/<pid>/stat field
// 22) and its context switch counts (/proc/<pid>/status), which stay the same while it does
// not run. ok is false unless the process is in state T and both files could be read.
func stopStamp(pid int) (stamp string, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	closing := strings.LastIndexByte(string(stat), ')')
	if closing < 0 {
		return "", false
	}
	fields := strings.Fields(string(stat[closing+1:]))
	if len(fields) < 20 || fields[0] != "T" {
		return "", false
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", false
	}
	switches := 0
	stamp = fields[19]
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "voluntary_ctxt_switches:") || strings.HasPrefix(line, "nonvoluntary_ctxt_switches:") {
			stamp += " " + strings.TrimSpace(line)
			switches++
		}
	}
	return stamp, switches == 2
}

// isPostmasterOf reports whether pid is alive, not a zombie, named like a PostgreSQL server,
// runs as the owner of the data directory and has it as its working directory (the
// postmaster chdir()s into PGDATA), and its state letter from /proc (0 when unread). Where
// /proc cannot tell (another user's process while the agent is not root), alive and named
// postgres is enough: such an agent cannot signal it anyway.
func isPostmasterOf(pid int, data syscall.Stat_t) (bool, byte) {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false, 0
	}
	comm, state := procState(pid)
	switch {
	case comm == "" && state == 0:
		return safefs.ProcessEUID() != 0, 0 // /proc/<pid>/stat unreadable
	case state == 0:
		return false, 0
	case state == 'Z' || state == 'X' || (comm != "postgres" && comm != "postmaster"):
		return false, state
	}
	proc, err1 := os.Stat(fmt.Sprintf("/proc/%d", pid))
	cwd, err2 := os.Stat(fmt.Sprintf("/proc/%d/cwd", pid))
	if err1 != nil || err2 != nil {
		return safefs.ProcessEUID() != 0 && (errors.Is(err1, os.ErrPermission) || errors.Is(err2, os.ErrPermission)), state
	}
	owner, dir := proc.Sys().(*syscall.Stat_t), cwd.Sys().(*syscall.Stat_t)
	return owner.Uid == data.Uid && dir.Dev == data.Dev && dir.Ino == data.Ino, state
}

// procState is a process's command name and state letter from /proc/<pid>/stat ("", 0:
// unreadable; a name and 0: malformed).
func procState(pid int) (comm string, state byte) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0
	}
	// Format: "pid (comm) state ..."; comm may contain spaces and parentheses.
	s := string(stat)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open || closing+2 >= len(s) {
		return "?", 0
	}
	return s[open+1 : closing], s[closing+2]
}

// ShutdownMode is one of PostgreSQL's three shutdown requests, each a signal to the
// postmaster (the same ones pg_ctl stop -m sends).
type ShutdownMode int

const (
	// Smart waits for clients to disconnect (SIGTERM).
	Smart ShutdownMode = iota
	// Fast disconnects clients and shuts down cleanly with a checkpoint (SIGINT).
	Fast
	// Immediate quits at once; the next start runs crash recovery (SIGQUIT).
	Immediate
)

func (m ShutdownMode) String() string {
	return [...]string{"smart", "fast", "immediate"}[m]
}

func (m ShutdownMode) signal() syscall.Signal {
	return [...]syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}[m]
}

// RequestShutdown sends the signal for mode to pid if it is pgdata's postmaster. The process
// is held by a pidfd (os.FindProcess on Linux 5.3+) before it is checked, so the signal
// reaches the process that was checked or, if that one has gone, none. A pid that is gone
// or is not pgdata's postmaster gets nothing: the server is not running.
func RequestShutdown(pgdata string, pid int, mode ShutdownMode) error {
	proc, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	defer proc.Release()
	pm, err := FindPostmaster(pgdata)
	if err != nil {
		return err
	}
	if !pm.Running || pm.PID != pid {
		return nil
	}
	if err := proc.Signal(mode.signal()); err != nil && !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %s shutdown request to postmaster %d: %w", mode, pid, err)
	}
	return nil
}
