package pgctl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPromoteCtlWaitsUntilTheDeadline: PromoteCtl gives pg_ctl the action's deadline as -t
// (review 28: TestPromoteCtlArgv checks the command line only). A pg_ctl stand-in, a script
// that records its arguments, under a 100 s deadline.
func TestPromoteCtlWaitsUntilTheDeadline(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	pgctl := filepath.Join(dir, "pg_ctl")
	if err := os.WriteFile(pgctl, []byte("#!/bin/sh\necho \"$@\" > "+args+"\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	owner, err := LookupUser("root")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	s := Server{PgCtl: pgctl, PgData: dir, Owner: owner}
	if err := s.PromoteCtl(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	for i := range f {
		if f[i] == "-t" && i+1 < len(f) {
			if f[i+1] != "98" && f[i+1] != "99" {
				t.Errorf("pg_ctl promote -t %s under a 100 s deadline, want 98 or 99", f[i+1])
			}
			return
		}
	}
	t.Errorf("pg_ctl promote got no -t: %q", f)
}
