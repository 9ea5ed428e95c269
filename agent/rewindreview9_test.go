package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Review 9: a primary_conninfo_opt libpq cannot read (a keyword it does not know, a typo such
// as sslmod, or a URI, which libpq reads only at the start of a connection string) passes
// NewRewindSource and the source check (QuerySource hands pgx only the keywords it lists and
// drops the rest), so the crash recovery runs (standby.signal removed, the WAL replayed and a
// shutdown checkpoint written), and only then pg_rewind --dry-run refuses the connection
// string: a bad input changes the data directory before its refusal (docs/design.md §1).
func TestReview9BadConninfoRefusedBeforeCrashRecovery(t *testing.T) {
	p6 := PromotePoint{"node1", 2, 0x4000000, 3, 6, false}
	p7 := PromotePoint{"node2", 3, 0x5000580, 4, 7, false}
	d := Divergence{Fork: p7, To: 0x5000680, Timeline: 3, Chain: PromoteChain{p7, p6}}
	for _, c := range []struct{ opts, libpq string }{
		{"sslmod=require", `pg_rewind: error: invalid connection option "sslmod"`},
		{"postgresql://10.0.0.5/postgres?sslmode=require", `pg_rewind: error: invalid connection option "postgresql://10.0.0.5/postgres?sslmode"`},
	} {
		t.Run(c.opts, func(t *testing.T) {
			dir := t.TempDir()
			pgdata, tmpdir := filepath.Join(dir, "data"), filepath.Join(dir, "tmp")
			for _, p := range []string{pgdata, tmpdir} {
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(pgdata, "standby.signal"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			fx := &recordedEffects{tmpdir: tmpdir, source: pgctl.SourceState{Timeline: 4},
				dryRun: pgctl.Result{ExitCode: 1, Output: []byte(c.libpq + "\n")}}
			version := pgctl.Version{Major: 15}
			r := &replica{a: &Agent{Env: Env{Instance: "pgsql:0"}, Log: NewLogger(LogSettings{}, &strings.Builder{})}, self: "node1",
				c: Config{PgData: pgdata, TmpDir: tmpdir, ConfigFile: filepath.Join(pgdata, "postgresql.conf"), MasterIP: "10.0.0.5", PgPort: 5432,
					RepUser: "rep", PrimaryConninfoOpt: c.opts},
				sys: System{Version: version}, layout: pgctl.Layout{Version: version, PgData: pgdata, TmpDir: tmpdir}, effects: fx}
			plan := RejoinPlan{Proven: true, Lock: true, Why: "this node's WAL is past node2's fork", Reason: "diverged", Diverged: &d}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := r.rewind(ctx, plan, RewindPlan{Rewind: true, Why: "test"}, pgctl.ControlData{State: "in production", WALLogHints: true}, LockInfo{}, false)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not refused: %v", err)
			}
			if slices.ContainsFunc(fx.steps, func(s string) bool { return strings.HasPrefix(s, "crash recovery") }) {
				t.Errorf("primary_conninfo_opt %q refused (%s) only after the crash recovery changed the data directory: %q", c.opts, e.Reason, fx.steps)
			}
			if _, err := os.Stat(filepath.Join(pgdata, "standby.signal")); err != nil {
				t.Errorf("the refusal removed standby.signal: %v", err)
			}
		})
	}
}
