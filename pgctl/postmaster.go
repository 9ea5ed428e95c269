package pgctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PidFile is the postmaster's lock file in PGDATA.
const PidFile = "postmaster.pid"

// Postmaster is what the pid file and /proc say about the server of a data directory.
type Postmaster struct {
	PID     int  // from postmaster.pid; 0 when there is no pid file
	Running bool // PID is a live (not zombie) postgres process
}

// FindPostmaster reads <pgdata>/postmaster.pid and checks its process without starting any
// child. A pid file whose PID is dead, a zombie, or a process that is not a PostgreSQL
// server (PID reused after a crash) means "not running".
func FindPostmaster(pgdata string) (Postmaster, error) {
	f, err := os.Open(filepath.Join(pgdata, PidFile))
	if errors.Is(err, os.ErrNotExist) {
		return Postmaster{}, nil
	}
	if err != nil {
		return Postmaster{}, fmt.Errorf("reading %s: %w", PidFile, err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return Postmaster{}, fmt.Errorf("reading %s: %w", PidFile, err)
	}
	pid, convErr := strconv.Atoi(strings.TrimSpace(line))
	if convErr != nil || pid <= 0 {
		if line == "" { // empty file: the postmaster is just creating it
			return Postmaster{}, nil
		}
		return Postmaster{}, fmt.Errorf("%s holds no PID (%q)", PidFile, strings.TrimSpace(line))
	}
	return Postmaster{PID: pid, Running: isPostgresProcess(pid)}, nil
}

// isPostgresProcess reports whether pid is alive, not a zombie, and named like a PostgreSQL
// server. Where /proc cannot tell (another user's process without root), alive is enough.
func isPostgresProcess(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Format: "pid (comm) state ..."; comm may contain spaces and parentheses.
	s := string(stat)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open || closing+2 >= len(s) {
		return true
	}
	comm, state := s[open+1:closing], s[closing+2]
	if state == 'Z' || state == 'X' {
		return false
	}
	return comm == "postgres" || comm == "postmaster"
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

// RequestShutdown sends the postmaster the signal for mode.
func RequestShutdown(pid int, mode ShutdownMode) error {
	if err := syscall.Kill(pid, mode.signal()); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %s shutdown request to postmaster %d: %w", mode, pid, err)
	}
	return nil
}
