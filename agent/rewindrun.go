package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// The effect of rewind=auto (issue #13 §1; docs/design.md §5 "Rejoin"), after DecideRewind.

// rewindTimeShare is the part of the start's remaining time pg_rewind gets: the rest starts
// PostgreSQL as a standby, which first replays the primary's WAL up to where pg_rewind left
// it.
const rewindTimeShare = 2.0 / 3

// sourceCheckTimeout bounds the source check (connect_timeout=10 bounds its connection).
const sourceCheckTimeout = 15 * time.Second

// rewindEffects are what rewind does to PostgreSQL: pgctl.Server's, or a test's recorder of
// their order.
type rewindEffects interface {
	QuerySource(ctx context.Context, src pgctl.RewindSource, v pgctl.Version) (pgctl.SourceState, error)
	FinishCrashRecovery(ctx context.Context, v pgctl.Version) (pgctl.Result, error)
	Rewind(ctx context.Context, src pgctl.RewindSource, dryRun bool) (pgctl.Result, error)
}

// serverEffects are the real rewindEffects.
type serverEffects struct{ pgctl.Server }

func (serverEffects) QuerySource(ctx context.Context, src pgctl.RewindSource, v pgctl.Version) (pgctl.SourceState, error) {
	return pgctl.QuerySource(ctx, src, v)
}

func (r *replica) rewindEffects() rewindEffects {
	if r.effects != nil {
		return r.effects
	}
	return serverEffects{r.server}
}

// rewindSource is pg_rewind's connection to the primary at master_ip: repuser, this node's
// application_name, dbname=postgres and connect_timeout=10, which primary_conninfo_opt may
// override, then primary_conninfo_opt, then the host, port and target_session_attrs=read-write
// (where libpq knows it: pgctl.TargetSessionAttrs), which it cannot (libpq takes a keyword's
// last value).
func (r *replica) rewindSource() (pgctl.RewindSource, error) {
	own := []string{"host=" + pgctl.QuoteConninfoValue(r.c.MasterIP), "port=" + strconv.Itoa(r.c.PgPort)}
	if r.sys.Version.Has(pgctl.TargetSessionAttrs) {
		own = append(own, "target_session_attrs=read-write")
	}
	return pgctl.NewRewindSource(
		[]string{"user=" + pgctl.QuoteConninfoValue(r.c.RepUser), "application_name=" + pgctl.QuoteConninfoValue(r.self), "dbname=postgres", "connect_timeout=10"},
		r.c.PrimaryConninfoOpt, own)
}

// rewind brings this node back with pg_rewind from the primary at master_ip, then lets the
// start go on as a standby (nil), or refuses it. control is this node's control data.
//
//  1. A node the start found unlocked is locked first (event diverged, as a refusal takes it):
//     nothing may change its data directory before, or a start that dies in between leaves a
//     diverged node unlocked.
//  2. The server at master_ip must be a primary on the timeline of the evidence's latest
//     promotion (JudgeSource), asked through the connection pg_rewind will use.
//  3. A node that did not shut down cleanly finishes its crash recovery in single-user mode,
//     keeping all its WAL: pg_rewind's own run of it lets its checkpoints remove the segment
//     with the last checkpoint before the fork, which pg_rewind then cannot find (seen on
//     PostgreSQL 15), and pg_rewind --dry-run refuses an unclean target.
//  4. The dry run, which changes nothing, proves the rights, and that pg_rewind finds the
//     fork the evidence names.
//  5. The lock is rewritten as diverged without promote_seq: a start that dies from here on
//     leaves a lock no evidence lifts, since the data directory may be half rewound. This
//     node's configuration files in pgdata, which pg_rewind replaces by the primary's, are
//     put back after it.
//
// Success removes the lock; a failure before pg_rewind's point of no return leaves the lock
// the start found (or the diverged lock of step 1), a failure after it the diverged lock with
// the reason: only a base backup repairs the data directory then.
func (r *replica) rewind(ctx context.Context, plan RejoinPlan, rw RewindPlan, control pgctl.ControlData, lock LockInfo, locked bool) error {
	d := *plan.Diverged
	lockPath := LockFile(r.c.TmpDir)
	refuse := func(reason string, err error) error {
		return &Error{RC: ErrGeneric, Reason: reason, Err: fmt.Errorf("%s %s; %w", LockRefusal(r.c.TmpDir), plan.Why, err)}
	}
	diverged := func(why string) error {
		return WriteLock(r.c.TmpDir, LockRecord{Event: lockEventDiverged, Node: r.self, Timeline: d.Timeline, LSN: d.To, At: time.Now(), Reason: why})
	}
	if !locked {
		// The lock a refusal takes (checkRejoin), before anything else.
		if err := diverged(plan.Why); err != nil {
			return refuse(plan.Reason, fmt.Errorf("cannot take %s before rewinding: %w", lockPath, err))
		}
		r.a.Log.Info("diverged node locked before rewinding", "lock", lockPath)
	}
	effects := r.rewindEffects()
	src, err := r.rewindSource()
	if err != nil {
		// The error names the keyword, never its value.
		return refuse("no rewind (PGSQL.lock kept): "+err.Error(), err)
	}
	// The log names the source without primary_conninfo_opt, which may hold secrets
	// (password, sslpassword).
	r.a.Log.Info("rewinding with pg_rewind", "why", rw.Why, "master_ip", r.c.MasterIP, "port", r.c.PgPort, "user", r.c.RepUser,
		"lock", lock.String())
	rewindCtx, cancel := context.WithDeadline(ctx, time.Now().Add(time.Duration(float64(time.Until(deadlineOf(ctx)))*rewindTimeShare)))
	defer cancel()
	checkCtx, cancelCheck := context.WithTimeout(rewindCtx, sourceCheckTimeout)
	st, err := effects.QuerySource(checkCtx, src, r.sys.Version)
	cancelCheck()
	checked := JudgeSource(SourceCheck{State: st, Err: err}, d)
	if !checked.Rewind {
		return refuse(checked.Reason, errors.New(checked.Why))
	}
	r.a.Log.Info("pg_rewind's source checked", "source", checked.Why)
	run := func(dryRun bool) RewindOutcome {
		res, err := effects.Rewind(rewindCtx, src, dryRun)
		r.a.Log.Info("pg_rewind ended", "dry_run", dryRun, "exit", res.ExitCode, "error", err, "output", pgctl.OneLine(res.Output))
		return JudgeRewind(RewindRun{DryRun: dryRun, Output: string(res.Output), ExitCode: res.ExitCode, Err: err}, d)
	}
	// pg_rewind --dry-run refuses a target that did not shut down cleanly: the crash
	// recovery comes first, as any start of the server would make it.
	if !control.CleanlyShutDown() {
		if err := r.finishCrashRecovery(rewindCtx, effects); err != nil {
			return refuse("no rewind: crash recovery before pg_rewind failed (PGSQL.lock kept): "+err.Error(), err)
		}
	}
	if o := run(true); !o.OK {
		return refuse(o.Reason, fmt.Errorf("%s", o.Why))
	}

	found, err := pgctl.SaveFiles(r.c.TmpDir, []string{filepath.Base(lockPath)})
	if err == nil {
		err = diverged("pg_rewind running: " + rw.Why)
	}
	if err != nil {
		return refuse(plan.Reason, fmt.Errorf("cannot rewrite %s before pg_rewind: %w", lockPath, err))
	}
	// As a refusal before pg_rewind changed anything leaves it: the lock the start found, or
	// the diverged one step 1 took.
	untouched := func() {
		if err := found.Restore(); err != nil {
			r.a.Log.Error("cannot put the lock back as it was; it stays as pg_rewind's", "error", err)
		}
	}
	keeps := pgctl.RewindKeeps
	if filepath.Dir(r.c.ConfigFile) == filepath.Clean(r.c.PgData) && !slices.Contains(keeps, filepath.Base(r.c.ConfigFile)) {
		keeps = append(slices.Clone(keeps), filepath.Base(r.c.ConfigFile))
	}
	own, err := pgctl.SaveFiles(r.c.PgData, keeps)
	if err != nil {
		untouched()
		return refuse("no rewind: cannot keep this node's configuration files (PGSQL.lock kept)", err)
	}
	o := run(false)
	restoreErr := own.Restore()
	switch {
	case !o.OK && !o.Touched:
		untouched()
		return refuse(o.Reason, fmt.Errorf("%s", o.Why))
	case !o.OK:
		if err := diverged(o.Why); err != nil {
			r.a.Log.Error("cannot record the failed rewind in the lock", "error", err)
		}
		return refuse(o.Reason, fmt.Errorf("%s", o.Why))
	case restoreErr != nil:
		why := "pg_rewind succeeded, but this node's configuration files could not be put back: " + restoreErr.Error()
		if err := diverged(why); err != nil {
			r.a.Log.Error("cannot record the failed restore in the lock", "error", err)
		}
		return refuse("rewound, but this node's postgresql.conf/pg_hba.conf not restored: fix them, then remove PGSQL.lock", restoreErr)
	}
	if err := pgctl.RemoveFile(lockPath); err != nil {
		return fail(ErrGeneric, err, "start: rewound, but cannot remove %s", lockPath)
	}
	r.a.Log.Info("rewound with pg_rewind, lock removed: rejoining as a standby", "discarded_from", d.Fork.Fork, "discarded_to", d.To,
		"discarded_bytes_at_least", d.Bytes(), "timeline", d.Timeline, "diverged_at", o.At, "evidence", plan.Why, "pg_rewind", o.Why)
	return nil
}

// finishCrashRecovery runs the single-user crash recovery (pgctl.FinishCrashRecovery). A
// standby's marker goes first: a single-user server refuses standby mode, and the start
// writes it again.
func (r *replica) finishCrashRecovery(ctx context.Context, effects rewindEffects) error {
	if err := r.layout.ClearStandby(); err != nil {
		return fmt.Errorf("removing %s: %w", r.layout.StandbyMarker(), err)
	}
	res, err := effects.FinishCrashRecovery(ctx, r.sys.Version)
	r.a.Log.Info("crash recovery in single-user mode ended", "exit", res.ExitCode, "error", err)
	switch {
	case err != nil:
		return err
	case res.ExitCode != 0:
		why := pgctl.LastFatal(res.Output)
		if why == "" {
			why = pgctl.OneLine(res.Output)
		}
		return fmt.Errorf("postgres --single exited %d: %s", res.ExitCode, why)
	}
	return nil
}
