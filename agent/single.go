package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// server describes the configured instance for pgctl.
func (c Config) server(owner pgctl.OSUser) pgctl.Server {
	return pgctl.Server{
		PgCtl: c.PgCtl, PgData: c.PgData, Config: c.ConfigFile, Logfile: c.Logfile,
		Listen: c.PgHost, StartOpt: c.StartOpt, CtlOpt: c.CtlOpt, Port: c.PgPort,
		LibDir: c.PgLibs, Owner: owner,
	}
}

// connHost is where the agent connects: pghost, else socketdir, else the first directory of
// unix_socket_directories in postgresql.conf, else the compiled-in defaults that hold a
// socket for the port.
func (c Config) connHost() string {
	switch {
	case c.PgHost != "":
		return c.PgHost
	case c.SocketDir != "":
		return c.SocketDir
	}
	if dirs, ok, _ := pgctl.ReadSetting(c.ConfigFile, "unix_socket_directories"); ok {
		first, _, _ := strings.Cut(dirs, ",")
		if first = strings.TrimSpace(first); pgctl.IsSocketDir(first) {
			return first
		}
	}
	return pgctl.FindSocketDir(pgctl.SocketDirCandidates, c.PgPort)
}

// monitorConn are the connection settings of the monitor query: monitor_user when set
// (with its password), else pgdba over the socket with peer authentication.
func (c Config) monitorConn(owner pgctl.OSUser) pgctl.ConnParams {
	p := pgctl.ConnParams{Host: c.connHost(), Port: c.PgPort, Database: c.PgDB, User: c.PgDBA, PeerAs: &owner}
	if c.MonitorUser != "" {
		p.User, p.Password = c.MonitorUser, c.MonitorPassword
	}
	return p
}

func (a *Agent) start(ctx context.Context, c Config, sys System) error {
	pm, err := pgctl.FindPostmaster(c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "start: cannot tell whether PostgreSQL runs")
	}
	if pm.Running {
		a.Log.Info("PostgreSQL is already running", "pid", pm.PID)
		return a.waitUsable(ctx, c, sys)
	}
	began := time.Now()
	server := c.server(sys.Owner)
	server.PgCtl = sys.PgCtl
	if c.RepMode == RepSlave {
		// A plain hot standby of a primary outside this resource (master_ip).
		r := a.newReplica(ctx, c, sys)
		if err := r.layout.ConfigureStandby(r.standbySettings(), sys.Owner); err != nil {
			return fail(ErrGeneric, err, "start: cannot write the standby settings")
		}
	}
	if err := a.startServer(ctx, c, sys, server); err != nil {
		return err
	}
	if err := a.waitUsable(ctx, c, sys); err != nil {
		return err
	}
	a.Log.Info("PostgreSQL started", "seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds()))
	return nil
}

// pgCtlLocationProblem: pg_ctl pastes its own location, links resolved, inside double
// quotes into its shell's command lines (review 36), and one holding what a shell reads
// there is refused. Only starts and validate-all look (review 38): a monitor of a server an
// earlier version started there goes on.
func pgCtlLocationProblem(pgctl string) *Error {
	real, err := filepath.EvalSymlinks(pgctl)
	if err != nil || !strings.ContainsAny(real, quotedShellMeta) && strings.IndexFunc(real, unicode.IsControl) < 0 {
		return nil
	}
	return fail(ErrConfigured, nil, "pgctl=%s is %q, which holds one of %s or a control character: pg_ctl passes its location through /bin/sh",
		pgctl, real, quotedShellMeta)
}

// startServer prepares what the server needs (a stale pid file removed, the log file and
// socket directory created for pgdba) and has pg_ctl start it, waiting until it is ready.
func (a *Agent) startServer(ctx context.Context, c Config, sys System, server pgctl.Server) error {
	if c.StartProblems != nil { // never with start_opt or ctl_opt read another way (review 34)
		return c.StartProblems.ErrorOrNil()
	}
	if problem := pgCtlLocationProblem(server.PgCtl); problem != nil {
		return problem
	}
	pm, err := pgctl.FindPostmaster(c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "start: cannot tell whether PostgreSQL runs")
	}
	if pm.PID != 0 && !pm.Running {
		// PostgreSQL would refuse to start if the stale PID now belongs to another process.
		a.Log.Info("removing stale postmaster.pid", "pid", pm.PID)
		if err := pgctl.RemoveFile(filepath.Join(c.PgData, pgctl.PidFile)); err != nil {
			return fail(ErrGeneric, err, "start: cannot remove stale postmaster.pid")
		}
	}
	if err := prepareLogfile(c.Logfile, sys.Owner); err != nil {
		return err
	}
	if c.SocketDir != "" {
		if err := prepareSocketDir(c.SocketDir, sys.Owner); err != nil {
			return err
		}
	}
	logged := pgctl.LogSize(c.Logfile)
	if err := server.Start(ctx); err != nil {
		if why := pgctl.LastServerError(c.Logfile, logged); why != "" {
			return fail(ErrGeneric, err, "start: PostgreSQL did not start: %s", why)
		}
		return fail(ErrGeneric, err, "start: PostgreSQL did not start (%v; see logfile=%s)", err, c.Logfile)
	}
	return nil
}

// waitUsable waits, within the deadline, until the server accepts sessions, then runs the
// monitor query once: start succeeds only for a server that works.
func (a *Agent) waitUsable(ctx context.Context, c Config, sys System) error {
	conn := c.monitorConn(sys.Owner)
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := query(attemptCtx, conn, c.MonitorSQL)
		cancel()
		if err == nil {
			return nil
		}
		pm, pmErr := pgctl.FindPostmaster(c.PgData)
		if pmErr == nil && !pm.Running {
			return fail(ErrGeneric, err, "start: PostgreSQL exited while starting (see logfile=%s)", c.Logfile)
		}
		select {
		case <-ctx.Done():
			return fail(ErrGeneric, err, "start: PostgreSQL did not accept connections in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (a *Agent) stop(ctx context.Context, c Config, cfgErr error) error {
	if c.PgData == "" || !filepath.IsAbs(c.PgData) {
		return cfgErr // without a data directory there is nothing to stop
	}
	if cfgErr != nil {
		for _, e := range problems(cfgErr) {
			a.Log.Warn("stopping despite a configuration problem", "problem", e.Reason)
		}
	}
	pm, err := pgctl.FindPostmaster(c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "stop: cannot tell whether PostgreSQL runs")
	}
	if !pm.Running {
		a.Log.Debug("PostgreSQL is not running")
		return nil
	}
	budget := time.Until(deadlineOf(ctx))
	escalate := pgctl.EscalationDelay(time.Duration(c.StopEscalate)*time.Second, budget)
	began := time.Now()
	owner, _ := pgctl.LookupUser(c.PgDBA) // only for the server description; stop signals directly
	mode, err := c.server(owner).Stop(ctx, escalate)
	if errors.Is(err, pgctl.ErrPostmasterStopped) {
		return postmasterStopped(pm.PID, "stop", err)
	}
	if err != nil {
		return fail(ErrGeneric, err, "stop: PostgreSQL (pid %d) did not stop within %.1fs of fast, then %s shutdown requests",
			pm.PID, time.Since(began).Seconds(), mode)
	}
	a.Log.Info("PostgreSQL stopped", "pid", pm.PID, "mode", mode, "seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds()))
	return nil
}

func (a *Agent) monitor(ctx context.Context, c Config, cfgErr error) error {
	if cfgErr != nil {
		// A probe on a node where the resource cannot run is "not running", unless it runs.
		if a.Env.IsProbe() && filepath.IsAbs(c.PgData) {
			if pm, err := pgctl.FindPostmaster(c.PgData); err == nil && !pm.Running {
				return errNotRunning
			}
		}
		return cfgErr
	}
	pm, err := pgctl.FindPostmaster(c.PgData)
	if err != nil {
		return fail(ErrGeneric, err, "monitor: cannot tell whether PostgreSQL runs")
	}
	if !pm.Running {
		return errNotRunning
	}
	if a.Env.Action == "status" {
		return nil
	}
	if err := notAnswering(pm, "monitor"); err != nil {
		return err
	}
	owner, err := pgctl.LookupUser(c.PgDBA)
	if err != nil {
		return fail(ErrInstalled, err, "pgdba=%s: no such user on this node", c.PgDBA)
	}
	if err := query(ctx, c.monitorConn(owner), c.MonitorSQL); err != nil {
		if ctx.Err() != nil {
			return fail(ErrGeneric, err, "monitor: PostgreSQL (pid %d) did not answer within %.1fs", pm.PID, a.Env.Budget().Seconds())
		}
		return fail(ErrGeneric, err, "monitor: PostgreSQL (pid %d) failed the monitor query", pm.PID)
	}
	return nil
}

// notAnswering fails an action at once when the postmaster is stopped by a signal or a
// tracer: its socket accepts connections that are never served, and waiting for one would
// spend the whole operation timeout (issue #12, fault 3: the lab's hung primary was
// reported after 55 s and its demote failed after 115 s).
func notAnswering(pm pgctl.Postmaster, action string) error {
	if pm.Stopped {
		return postmasterStopped(pm.PID, action, nil)
	}
	return nil
}

// postmasterStopped is the failure of an action that found the postmaster stopped; a stop
// left its shutdown request pending for when it runs again (pgctl.ErrPostmasterStopped). It
// fails at once: waiting cannot help, and only fencing recovers such a node.
func postmasterStopped(pid int, action string, err error) error {
	return fail(ErrGeneric, err, "%s: PostgreSQL (pid %d) is stopped (SIGSTOP or a debugger): it acts on nothing until it runs again", action, pid)
}

// query runs one statement in a new session.
func query(ctx context.Context, p pgctl.ConnParams, sql string) error {
	conn, err := pgctl.Connect(ctx, p)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// pause waits d, or less when ctx ends first; it reports whether ctx is still live. Every
// polling loop waits through it, so none outlives its action's deadline.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Hour)
}

// prepareLogfile creates a missing server log file owned by the cluster owner. The file is
// created with O_EXCL in a directory reached without following pgdba's links and given
// away through its descriptor; an existing file is left alone (pg_ctl opens it as pgdba).
func prepareLogfile(path string, owner pgctl.OSUser) error {
	if _, err := safefs.CreateFile(path, 0o640, owner.FileOwner()); err != nil {
		return fail(ErrPerm, err, "logfile=%s cannot be created", path)
	}
	return nil
}

// prepareSocketDir creates a missing socket directory, and missing directories above it,
// for the cluster owner: the socket directory gets mode 2775. Existing directories are
// never chowned or chmodded (#11).
func prepareSocketDir(path string, owner pgctl.OSUser) error {
	if err := safefs.MkdirAll(path, 0o2775, owner.FileOwner()); err != nil {
		return fail(ErrPerm, err, "socketdir=%s cannot be created", path)
	}
	return nil
}
