package pgctl

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// Server is one PostgreSQL instance as the agent's parameters describe it.
type Server struct {
	PgCtl    string // pg_ctl binary
	PgData   string
	Config   string   // postgresql.conf, passed as config_file
	Logfile  string   // pg_ctl -l
	Listen   string   // pghost: the server's -h, when set
	StartOpt []string // extra server options (words), each quoted inside pg_ctl -o
	CtlOpt   []string
	Port     int
	LibDir   string // pglibs, for LD_LIBRARY_PATH
	Owner    OSUser
}

// StartArgv is the pg_ctl command line for a start that waits at most wait for the server
// to be ready. pg_ctl knows the postmaster's PID and so reports a server that dies while
// starting at once, which the agent could only guess from outside.
func (s Server) StartArgv(wait time.Duration) []string {
	serverOpts := "-c config_file=" + ShellQuote(s.Config)
	if s.Listen != "" {
		serverOpts += " -h " + ShellQuote(s.Listen)
	}
	for _, word := range s.StartOpt {
		serverOpts += " " + ShellQuote(word)
	}
	serverOpts += " " + ShellQuote(onPgData(s.PgData))
	argv := append([]string{s.PgCtl}, s.CtlOpt...)
	seconds := max(int(wait.Seconds()), 1)
	return append(argv, "-D", s.PgData, "-l", s.Logfile, "-o", serverOpts, "-w", "-t", strconv.Itoa(seconds), "start")
}

// tool is the path of a PostgreSQL program beside pg_ctl: beside the binary a pgctl link
// names, where pg_ctl itself finds postgres (review 37), or else beside the link, as for a
// multi-call wrapper such as Debian's pg_wrapper, which needs its own name and keeps its
// programs' links together (review 38).
func (s Server) tool(name string) string {
	if real, err := filepath.EvalSymlinks(s.PgCtl); err == nil {
		if beside := filepath.Join(filepath.Dir(real), name); safefs.Exists(beside) {
			return beside
		}
	}
	return filepath.Join(filepath.Dir(s.PgCtl), name)
}

// onPgData is the last server option of every run the agent starts: the server runs on
// pgdata, which pg_ctl waits on and the agent watches, whatever a -D in start_opt or a
// data_directory in config says, which would otherwise win over pg_ctl's -D and leave a
// postmaster elsewhere that monitor and stop never see (review 36).
func onPgData(pgdata string) string { return "--data_directory=" + pgdata }

// env is the environment of pg_ctl and, through it, of the server: PGPORT sets the server's
// port unless postgresql.conf does (the old agent exported it the same way).
func (s Server) env() []string {
	extra := []string{"PGPORT=" + strconv.Itoa(s.Port)}
	if dirs := absoluteDirs(s.LibDir); dirs != "" {
		extra = append(extra, "LD_LIBRARY_PATH="+dirs)
	}
	return ChildEnv(s.Owner, extra...)
}

// absoluteDirs keeps the absolute entries of a colon-separated list: the dynamic linker
// reads an empty or relative entry from the working directory, pgdata, which the owner
// writes (review 36). The rest are left out rather than refused, which would fail the
// monitor of a server an earlier version started (review 37).
func absoluteDirs(list string) string {
	return strings.Join(slices.DeleteFunc(strings.Split(list, ":"), func(dir string) bool { return !filepath.IsAbs(dir) }), ":")
}

// pgCtlWait is how long pg_ctl may wait (its -t): until a second before ctx's deadline, so
// that pg_ctl answers before the agent's; a minute without one.
func pgCtlWait(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d) - time.Second
	}
	return time.Minute
}

// Start has pg_ctl start the server and wait until it is ready (or has failed), within
// ctx's deadline.
func (s Server) Start(ctx context.Context) error {
	res, err := Run(ctx, Command{Argv: s.StartArgv(pgCtlWait(ctx)), Dir: s.PgData, Env: s.env(), As: &s.Owner})
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("pg_ctl start exited %d: %s", res.ExitCode, OneLine(res.Output))
	}
	return nil
}

// ErrStillRunning is returned when the postmaster outlives every shutdown request the
// deadline allowed.
var ErrStillRunning = errors.New("PostgreSQL is still running")

// ErrPostmasterStopped is returned when the postmaster is stopped by a signal (SIGSTOP) or a
// tracer: it acts on no shutdown request until it runs again, so waiting for one would only
// spend the deadline (issue #12, fault 3: a hung primary's stop took its whole timeout before
// the node was fenced). The fast shutdown request is left pending for when it runs again.
var ErrPostmasterStopped = errors.New("the postmaster is stopped (SIGSTOP or a debugger)")

// pollInterval is how often the agent looks at the postmaster or the socket while waiting.
const pollInterval = 100 * time.Millisecond

// Stop shuts the server down: a fast shutdown, then, if the postmaster is still there after
// escalateAfter (0: at once), an immediate one, and waits for it to go, at most until ctx's
// deadline. It signals the postmaster directly (as pg_ctl stop does), so it works without
// pg_ctl. It returns the last mode it requested.
func (s Server) Stop(ctx context.Context, escalateAfter time.Duration) (ShutdownMode, error) {
	pm, err := FindPostmaster(s.PgData)
	if err != nil || !pm.Running {
		return Fast, err
	}
	mode := Fast
	if pm.Stopped {
		if err := RequestShutdown(s.PgData, pm.PID, Fast); err != nil {
			return mode, err
		}
		return mode, fmt.Errorf("postmaster %d: %w", pm.PID, ErrPostmasterStopped)
	}
	if escalateAfter > 0 {
		if err := RequestShutdown(s.PgData, pm.PID, Fast); err != nil {
			return mode, err
		}
		fastCtx, cancel := context.WithTimeout(ctx, escalateAfter)
		stopped := s.waitGone(fastCtx, pm.PID)
		cancel()
		if stopped {
			return mode, nil
		}
	}
	mode = Immediate
	if err := RequestShutdown(s.PgData, pm.PID, Immediate); err != nil {
		return mode, err
	}
	if s.waitGone(ctx, pm.PID) {
		return mode, nil
	}
	return mode, fmt.Errorf("postmaster %d ignored the %s shutdown request: %w", pm.PID, mode, ErrStillRunning)
}

// waitGone polls until the postmaster pid has exited or ctx ends.
func (s Server) waitGone(ctx context.Context, pid int) bool {
	for {
		pm, err := FindPostmaster(s.PgData)
		if err == nil && (!pm.Running || pm.PID != pid) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pollInterval):
		}
	}
}

// EscalationDelay is how long a stop waits after the fast shutdown request before the
// immediate one: stop_escalate, but never so long that the immediate shutdown has no time
// left before the deadline (the old agent capped it at the op timeout minus 10 s).
func EscalationDelay(stopEscalate, budget time.Duration) time.Duration {
	if stopEscalate <= 0 {
		return 0
	}
	reserve := min(10*time.Second, budget/3)
	if stopEscalate > budget-reserve {
		return max(budget-reserve, 0)
	}
	return stopEscalate
}

// OneLine folds a child's output into one line for a log message.
func OneLine(out []byte) string {
	return strings.Join(strings.Fields(string(out)), " ")
}

// ShellQuote quotes s for the shell that pg_ctl runs the server command line through, so a
// path with blanks or quotes stays one word.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '_' || r == '-' || r == ':' || r == '=' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SplitWords splits an option string into words the way a POSIX shell would for a simple
// command: blanks separate words, single quotes keep everything, inside double quotes a
// backslash escapes only $ ` " and \, elsewhere it escapes the next character. Nothing is
// expanded. It works on bytes (every special character is ASCII), so text that is not UTF-8
// passes through unchanged instead of becoming U+FFFD (#11). For ctl_opt, which the old
// agent's shell split after expansion: a # or ; there is an ordinary character.
func SplitWords(s string) ([]string, error) { return splitWords(s, false) }

// SplitCommandWords splits start_opt, which pg_ctl pastes into a command line its shell
// parses (postgres's options, then the agent's own: review 33). As a shell, a # that begins
// a word comments out the rest. What a shell would run or expand instead, an unquoted
// ; & | < > ( ) or { (bash's brace expansion, also as sh), a ~ that begins a word, or a $ or
// ` outside single quotes, is refused: passed on, it would end the command before the
// agent's options (a locked standby's pins among them), or mean what the old agent's shells
// made of it. The agent passes each word quoted, so nothing in it reaches the shell as
// syntax; glob characters stay literal, as in a shell where they match no file.
func SplitCommandWords(s string) ([]string, error) { return splitWords(s, true) }

func splitWords(s string, command bool) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	escaped := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			// Inside double quotes a backslash escapes only $ ` " \ (as in a shell).
			if quote == '"' && strings.IndexByte("$`\"\\", c) < 0 {
				cur.WriteByte('\\')
			}
			cur.WriteByte(c)
			escaped = false
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\\' && quote != '\'':
			escaped, inWord = true, true
		case command && (c == '$' || c == '`' || quote == 0 && (strings.IndexByte(";&|<>(){", c) >= 0 || c == '~' && !inWord)):
			return nil, fmt.Errorf("%q at byte %d of %q is shell syntax (pg_ctl's shell would run or expand it): quote it in single quotes or remove it", c, i, s)
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case command && c == '#' && !inWord:
			i = len(s) // a comment, to the end
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// LogSize is the size of a server log file, 0 when it is not there: taken before a start,
// what the start writes comes after it (LastServerError).
func LogSize(logfile string) int64 {
	st, err := safefs.Lstat(logfile)
	if err != nil {
		return 0
	}
	return st.Size
}

// LastServerError returns the last FATAL or PANIC line written to a server log file after
// offset since (its LogSize before this start; empty when the log is not a regular file or
// holds none there): the line that says why this start failed, not a line of an earlier run
// such as a stop's "terminating connection" (review 37).
func LastServerError(logfile string, since int64) string {
	const tail = 16 * 1024
	size := LogSize(logfile)
	if size < since {
		since = 0 // truncated or rotated meanwhile: all of it is new
	}
	b, err := safefs.ReadTail(logfile, tail)
	if err != nil {
		return ""
	}
	if fresh := size - since; fresh < int64(len(b)) {
		b = b[int64(len(b))-fresh:]
	}
	return LastFatal(b)
}

// LastFatal returns the last FATAL or PANIC line of a server's output, from the word on
// (empty when it holds none).
func LastFatal(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if at := strings.Index(lines[i], "FATAL:"); at >= 0 {
			return strings.TrimSpace(lines[i][at:])
		}
		if at := strings.Index(lines[i], "PANIC:"); at >= 0 {
			return strings.TrimSpace(lines[i][at:])
		}
	}
	return ""
}
