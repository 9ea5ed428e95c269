// Package pgctl runs and observes PostgreSQL: pg_ctl as the cluster owner, the postmaster
// through its pid file and signals, SQL through pgx over the unix socket, and the major
// version's capabilities. No shell, su or psql is ever involved.
package pgctl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// OSUser is an operating-system account that children run as.
type OSUser struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
	Home   string
}

// ErrNoSuchUser is returned by LookupUser for an unknown account.
var ErrNoSuchUser = errors.New("no such user")

// LookupUser resolves an account name through the system's user database (/etc/passwd;
// the binary is static, so NSS modules are not consulted).
func LookupUser(name string) (OSUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return OSUser{}, fmt.Errorf("%q: %w", name, ErrNoSuchUser)
		}
		return OSUser{}, fmt.Errorf("looking up user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return OSUser{}, fmt.Errorf("user %q has a non-numeric uid/gid %s/%s", name, u.Uid, u.Gid)
	}
	account := OSUser{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				account.Groups = append(account.Groups, uint32(g))
			}
		}
	}
	return account, nil
}

// Command is one child process: argv (no shell), working directory and the complete
// environment. As, when set and different from the caller, gives the child that account's
// uid, gid and groups through process credentials.
type Command struct {
	Argv []string
	Dir  string
	Env  []string
	As   *OSUser
	// StdoutLastLines keeps, instead of the first maxOutput bytes of stdout, its last lines
	// (this many), each cut to lineHead bytes: for a child whose last lines are the answer
	// and whose lines can be huge (pg_waldump listing records, a message's payload in hex).
	StdoutLastLines int
}

// lineHead is how much of each line StdoutLastLines keeps.
const lineHead = 512

// Result is what a child left behind.
type Result struct {
	Stdout   []byte
	Output   []byte // stdout, then stderr: for messages
	ExitCode int
}

// killGrace is how long a child's process group gets between SIGTERM and SIGKILL once the
// deadline has passed, and how long Run then waits for its exit. Twice it (MaxOverrun) fits
// in the agent's smallest safety margin, 0.5 s, with room for the agent's own exit (500 ms
// made it 1 s, past Pacemaker's timeout for every timeout under 10 s: review 13). The
// children exit at once on SIGTERM (default action) unless in uninterruptible sleep.
const killGrace = 200 * time.Millisecond

// MaxOverrun is the most Run takes past its deadline: killGrace after SIGTERM, killGrace
// after SIGKILL (then it answers whether or not the child was reaped). The agent's safety
// margin between its deadline and Pacemaker's timeout must hold it (docs/design.md §1, I6).
const MaxOverrun = 2 * killGrace

// Run executes cmd and waits for it, bounded by ctx: at the deadline the child's whole process
// group is terminated. A non-zero exit is reported in Result.ExitCode with a nil error; the
// error is for "could not run" and "deadline".
//
// Output goes to an unlinked temporary file rather than a pipe, so that a daemon the child
// leaves behind (pg_ctl starts the postmaster) can never hold the agent's pipe open.
func Run(ctx context.Context, cmd Command) (Result, error) {
	if len(cmd.Argv) == 0 {
		return Result{}, errors.New("empty command")
	}
	stdout, err := unlinkedTemp()
	if err != nil {
		return Result{}, err
	}
	defer stdout.Close()
	stderr, err := unlinkedTemp()
	if err != nil {
		return Result{}, err
	}
	defer stderr.Close()
	collect := func() Result {
		out := readAll(stdout)
		if cmd.StdoutLastLines > 0 {
			out = readLastLines(stdout, cmd.StdoutLastLines)
		}
		return Result{Stdout: out, Output: append(append([]byte{}, out...), readAll(stderr)...)}
	}

	c := exec.Command(cmd.Argv[0], cmd.Argv[1:]...)
	c.Dir = cmd.Dir
	c.Env = cmd.Env
	if c.Env == nil {
		c.Env = []string{}
	}
	c.Stdout, c.Stderr = stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cred := credentialFor(cmd.As); cred != nil {
		c.SysProcAttr.Credential = cred
	}
	if err := c.Start(); err != nil {
		return Result{}, fmt.Errorf("starting %s: %w", cmd.Argv[0], err)
	}

	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	var waitErr error
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		if !killGroup(c.Process.Pid, waited) {
			return collect(), fmt.Errorf("%s did not finish before the deadline and outlived SIGKILL (uninterruptible I/O?): %w", cmd.Argv[0], ctx.Err())
		}
		return collect(), fmt.Errorf("%s did not finish before the deadline: %w", cmd.Argv[0], ctx.Err())
	}
	res := collect()
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		res.ExitCode = exitErr.ExitCode()
		if res.ExitCode < 0 { // killed by a signal
			return res, fmt.Errorf("%s: %w", cmd.Argv[0], waitErr)
		}
	default:
		return res, fmt.Errorf("%s: %w", cmd.Argv[0], waitErr)
	}
	return res, nil
}

// killGroup ends a child's process group: SIGTERM, then SIGKILL after killGrace. It waits
// killGrace more for the exit and then gives up (reaped false): a process in uninterruptible
// sleep (I/O on a hung disk or NFS) outlives SIGKILL until that I/O ends, and the action must
// still answer before Pacemaker's timeout, within the safety margin (an unbounded wait here
// hung the action: a finding of review 10).
func killGroup(pid int, waited <-chan error) (reaped bool) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-waited:
		return true
	case <-time.After(killGrace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-waited:
		return true
	case <-time.After(killGrace):
		return false
	}
}

// unlinkedTemp is a temporary file that is already removed from the file system.
func unlinkedTemp() (*os.File, error) {
	f, err := os.CreateTemp("", "pgsql-ra-out-")
	if err != nil {
		return nil, fmt.Errorf("creating output file: %w", err)
	}
	os.Remove(f.Name())
	return f, nil
}

// maxOutput bounds what the agent keeps of a child's output (it only ever logs a summary).
const maxOutput = 64 * 1024

func readAll(f *os.File) []byte {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxOutput))
	return b
}

// readLastLines is f's last n lines, each cut to its first lineHead bytes (and ended by a
// newline).
func readLastLines(f *os.File, n int) []byte {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	r := bufio.NewReaderSize(f, lineHead)
	var lines [][]byte
	var head []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(head) < lineHead {
			head = append(head, chunk[:min(len(chunk), lineHead-len(head))]...)
		}
		if err == bufio.ErrBufferFull {
			continue // the rest of a long line
		}
		if len(head) > 0 {
			if head[len(head)-1] != '\n' {
				head = append(head, '\n')
			}
			lines = append(lines, head)
			if len(lines) > n {
				lines = lines[1:]
			}
		}
		head = nil
		if err != nil {
			return bytes.Join(lines, nil)
		}
	}
}

// credentialFor returns the credentials to switch a child to, or nil when no switch is needed
// (no account given, or the agent already runs as it).
func credentialFor(u *OSUser) *syscall.Credential {
	if u == nil || uint32(safefs.ProcessEUID()) == u.UID {
		return nil
	}
	groups := u.Groups
	if len(groups) == 0 {
		groups = []uint32{u.GID}
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}
}

// ChildEnv is the complete environment of the children the agent starts: C locale (the
// agent reads their output), a fixed PATH, and nothing inherited from Pacemaker, so that
// neither a password nor a stray PG* variable reaches pg_ctl or the server.
func ChildEnv(u OSUser, extra ...string) []string {
	env := []string{
		"LC_ALL=C",
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + u.Home,
		"USER=" + u.Name,
		"LOGNAME=" + u.Name,
	}
	return append(env, extra...)
}
