package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// The effect of rewind=auto (issue #13 §1; docs/design.md §5 "Rejoin"), after DecideRewind.

// rewindTimeShare is the part of the start's remaining time pg_rewind gets: the rest starts
// PostgreSQL as a standby, which first replays the primary's WAL up to where pg_rewind left
// it.
const rewindTimeShare = 2.0 / 3

// rewind brings this node back with pg_rewind from the primary at master_ip, then lets the
// start go on as a standby (nil), or refuses it. The lock is rewritten first as diverged
// without promote_seq: a start that dies while pg_rewind runs leaves a lock no evidence
// lifts, since the data directory may be half rewound. This node's configuration files in
// pgdata, which pg_rewind replaces by the primary's, are put back after it. Success removes
// the lock; a failure before pg_rewind's point of no return leaves the lock the start found
// (or the diverged lock a refusal takes), a failure after it the diverged lock with the
// reason: only a base backup repairs the data directory then.
func (r *replica) rewind(ctx context.Context, plan RejoinPlan, rw RewindPlan, lock LockInfo, locked bool) error {
	d := *plan.Diverged
	lockPath := LockFile(r.c.TmpDir)
	refuse := func(reason string, err error) error {
		return &Error{RC: ErrGeneric, Reason: reason, Err: fmt.Errorf("%s %s; %w", LockRefusal(r.c.TmpDir), plan.Why, err)}
	}
	diverged := func(why string) error {
		return WriteLock(r.c.TmpDir, LockRecord{Event: lockEventDiverged, Node: r.self, Timeline: d.Timeline, LSN: d.To, At: time.Now(), Reason: why})
	}
	found, err := pgctl.SaveFiles(r.c.TmpDir, []string{filepath.Base(lockPath)})
	if err == nil {
		err = diverged("pg_rewind running: " + rw.Why)
	}
	if err != nil {
		return refuse(plan.Reason, fmt.Errorf("cannot rewrite %s before pg_rewind: %w", lockPath, err))
	}
	// As a refusal before pg_rewind changed anything leaves it: the lock the start found, or
	// a diverged one (what the refusal without rewind=auto takes).
	untouched := func() {
		var err error
		if locked {
			err = found.Restore()
		} else {
			err = diverged(plan.Why)
		}
		if err != nil {
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
	source, password, err := pgctl.SplitConninfoPassword(r.primaryConninfo("dbname=postgres", "connect_timeout=10"))
	if err != nil {
		untouched()
		return refuse("no rewind: primary_conninfo_opt cannot be read (PGSQL.lock kept)", err)
	}
	// The log names the source without primary_conninfo_opt, which may hold secrets
	// (password, sslpassword).
	r.a.Log.Info("rewinding with pg_rewind", "why", rw.Why, "master_ip", r.c.MasterIP, "port", r.c.PgPort, "user", r.c.RepUser,
		"lock", lock.String())
	rewindCtx, cancel := context.WithDeadline(ctx, time.Now().Add(time.Duration(float64(time.Until(deadlineOf(ctx)))*rewindTimeShare)))
	res, runErr := r.server.Rewind(rewindCtx, source, password, r.sys.Version.Has(pgctl.RewindConfigFile))
	cancel()
	restoreErr := own.Restore()
	o := JudgeRewind(RewindRun{Output: string(res.Output), ExitCode: res.ExitCode, Err: runErr}, d)
	r.a.Log.Info("pg_rewind ended", "exit", res.ExitCode, "error", runErr, "output", pgctl.OneLine(res.Output))
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
