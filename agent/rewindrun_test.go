package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// recordedEffects stands in for PostgreSQL in rewind and records each effect in order, with
// the lock as it was when the effect began.
type recordedEffects struct {
	tmpdir  string
	steps   []string
	source  pgctl.SourceState
	srcErr  error
	dryRun  pgctl.Result
	rewound pgctl.Result
	// seen are the connections the effects were given (to look for secrets).
	seen []pgctl.RewindSource
	// sourceVersions are the versions the source checks were asked in.
	sourceVersions []pgctl.Version
}

func (f *recordedEffects) record(step string) {
	lock := "unlocked"
	if info, ok, err := ReadLock(f.tmpdir); err != nil {
		lock = "unreadable"
	} else if ok {
		lock = info.Fields["event"]
	}
	f.steps = append(f.steps, fmt.Sprintf("%s (lock: %s)", step, lock))
}

func (f *recordedEffects) QuerySource(_ context.Context, src pgctl.RewindSource, v pgctl.Version) (pgctl.SourceState, error) {
	f.record("source check")
	f.seen = append(f.seen, src)
	f.sourceVersions = append(f.sourceVersions, v)
	return f.source, f.srcErr
}

func (f *recordedEffects) FinishCrashRecovery(context.Context, pgctl.Version) (pgctl.Result, error) {
	f.record("crash recovery")
	return pgctl.Result{}, nil
}

func (f *recordedEffects) Rewind(_ context.Context, src pgctl.RewindSource, dryRun bool) (pgctl.Result, error) {
	f.seen = append(f.seen, src)
	if dryRun {
		f.record("pg_rewind --dry-run")
		return f.dryRun, nil
	}
	f.record("pg_rewind")
	return f.rewound, nil
}

// TestRewindLocksBeforeCrashRecovery: an unlocked node found diverged is locked (event
// diverged) before any step that could change its data directory, so that a start that dies
// during its crash recovery or pg_rewind leaves it locked; the source check comes before
// the crash recovery; a locked node's lock stays as it was on a refusal. The password of
// primary_conninfo_opt reaches neither the log nor the refusal.
func TestRewindLocksBeforeCrashRecovery(t *testing.T) {
	const secret = "s3cr3t-pw"
	p6 := PromotePoint{"node1", 2, 0x4000000, 3, 6, false}
	p7 := PromotePoint{"node2", 3, 0x5000580, 4, 7, false}
	d := Divergence{Fork: p7, To: 0x5000680, Timeline: 3, Chain: PromoteChain{p7, p6}}
	const (
		diverged  = "pg_rewind: servers diverged at WAL location 0/5000580 on timeline 3\n"
		rewinding = "pg_rewind: rewinding from last common checkpoint at 0/4000060 on timeline 3\n"
	)
	done := pgctl.Result{Output: []byte(diverged + rewinding + "pg_rewind: Done!\n")}
	primary := pgctl.SourceState{Timeline: 4}
	for _, c := range []struct {
		name     string
		locked   string // the lock's event before the start ("": none)
		clean    bool   // the node shut down cleanly (no crash recovery)
		source   pgctl.SourceState
		srcErr   error
		dryRun   pgctl.Result
		noTmpdir bool // the lock cannot be written
		steps    []string
		lockNow  string // the lock's event after ("": none)
		reason   string // in the refusal ("": none)
	}{
		{"unlocked, crashed: locked before the crash recovery", "", false, primary, nil, done, false,
			[]string{"source check (lock: diverged)", "crash recovery (lock: diverged)", "pg_rewind --dry-run (lock: diverged)", "pg_rewind (lock: diverged)"}, "", ""},
		{"unlocked, clean", "", true, primary, nil, done, false,
			[]string{"source check (lock: diverged)", "pg_rewind --dry-run (lock: diverged)", "pg_rewind (lock: diverged)"}, "", ""},
		{"unlocked, the source is a standby: no crash recovery, lock kept", "", false, pgctl.SourceState{InRecovery: true}, nil, done, false,
			[]string{"source check (lock: diverged)"}, "diverged", "the server at master_ip is a standby, not node2's primary"},
		{"unlocked, lock not writable: nothing runs", "", false, primary, nil, done, true, nil, "", "PGSQL.lock kept"},
		{"locked by promote, the source on an older timeline", lockEventPromoted, false, pgctl.SourceState{Timeline: 3}, nil, done, false,
			[]string{"source check (lock: promoted)"}, lockEventPromoted, "master_ip is on timeline 3, not 4 (node2's promotion #7)"},
		{"locked by promote, dry run unreachable: lock as found", lockEventPromoted, false, primary, nil,
			pgctl.Result{ExitCode: 1, Output: []byte("pg_rewind: error: connection to server at \"10.0.0.5\", port 5432 failed: Connection refused\n")}, false,
			[]string{"source check (lock: promoted)", "crash recovery (lock: promoted)", "pg_rewind --dry-run (lock: promoted)"}, lockEventPromoted, "no rewind (PGSQL.lock kept): connection to server"},
		{"unlocked, source unreachable", "", false, pgctl.SourceState{}, errors.New("dial tcp 10.0.0.5:5432: connect: connection refused"), done, false,
			[]string{"source check (lock: diverged)"}, "diverged", "cannot check master_ip: dial tcp 10.0.0.5:5432"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pgdata, tmpdir := filepath.Join(dir, "data"), filepath.Join(dir, "tmp")
			for _, p := range []string{pgdata, tmpdir} {
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if c.noTmpdir {
				tmpdir = filepath.Join(dir, "missing")
			}
			var lock LockInfo
			if c.locked != "" {
				if err := WriteLock(tmpdir, LockRecord{Event: c.locked, Node: "node1", Timeline: 3, LSN: 0x5000680, Seq: 6, At: time.Now()}); err != nil {
					t.Fatal(err)
				}
				lock, _, _ = ReadLock(tmpdir)
			}
			fx := &recordedEffects{tmpdir: tmpdir, source: c.source, srcErr: c.srcErr, dryRun: c.dryRun, rewound: done}
			var logged bytes.Buffer
			version := pgctl.Version{Major: 15}
			r := &replica{a: &Agent{Env: Env{Instance: "pgsql:0"}, Log: NewLogger(LogSettings{}, &logged)}, self: "node1",
				c: Config{PgData: pgdata, TmpDir: tmpdir, ConfigFile: filepath.Join(pgdata, "postgresql.conf"), MasterIP: "10.0.0.5", PgPort: 5432,
					RepUser: "rep", PrimaryConninfoOpt: "sslmode=prefer password=" + secret},
				sys: System{Version: version}, layout: pgctl.Layout{Version: version, PgData: pgdata, TmpDir: tmpdir}, effects: fx}
			control := pgctl.ControlData{State: "in production", WALLogHints: true}
			if c.clean {
				control.State = "shut down"
			}
			plan := RejoinPlan{Proven: true, Lock: c.locked == "", Why: "this node's WAL is past node2's fork",
				Reason: "WAL to 0/5000680 (timeline 3) past node2's fork at 0/5000580: PGSQL.lock kept, take a base backup", Diverged: &d}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := r.rewind(ctx, plan, RewindPlan{Rewind: true, Why: "test"}, control, lock, c.locked != "")
			if !slices.Equal(fx.steps, c.steps) {
				t.Errorf("effects\n  %q\nwant\n  %q", fx.steps, c.steps)
			}
			var e *Error
			switch {
			case c.reason == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.reason != "" && (!errors.As(err, &e) || !strings.Contains(e.Reason, c.reason)):
				t.Errorf("refusal %v, want a reason saying %q", err, c.reason)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || e != nil && strings.Contains(e.Reason, secret)) {
				t.Errorf("the refusal shows the password: %v", err)
			}
			if strings.Contains(logged.String(), secret) {
				t.Errorf("the log shows the password:\n%s", logged.String())
			}
			for _, src := range fx.seen {
				if strings.Contains(src.Conninfo, secret) || src.Password != secret {
					t.Errorf("pg_rewind's connection string %q holds the password, or PGPASSWORD is not it", src.Conninfo)
				}
			}
			for _, v := range fx.sourceVersions {
				if v != version {
					t.Errorf("the source check asked in the names of PostgreSQL %v, the node runs %v", v, version)
				}
			}
			now, ok, _ := ReadLock(tmpdir)
			switch {
			case c.lockNow == "" && ok:
				t.Errorf("lock left: %v", now)
			case c.lockNow != "" && (!ok || now.Fields["event"] != c.lockNow):
				t.Errorf("lock %v (present %v), want event %s", now, ok, c.lockNow)
			case c.lockNow != "" && c.lockNow == c.locked && now.Fields["promote_seq"] != "6":
				t.Errorf("the lock the start found was rewritten: %v", now)
			}
		})
	}
}
