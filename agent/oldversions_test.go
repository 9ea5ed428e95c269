package agent

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// What PostgreSQL 9.x and 10/11 get (review 28). Their servers are not in the integration
// tests, which run 15.

// TestReplicationNeeds96: async and sync read pg_stat_wal_receiver and are refused below 9.6;
// rep_mode=slave runs only monitor_sql and is not (finding A).
func TestReplicationNeeds96(t *testing.T) {
	for _, c := range []struct {
		mode    RepMode
		v       pgctl.Version
		refused string // "" : no problem
	}{
		{RepAsync, pgctl.Version{Major: 9, Minor: 5}, "rep_mode=async needs PostgreSQL 9.6 or later here (pg_stat_wal_receiver); pgdata is 9.5"},
		{RepSync, pgctl.Version{Major: 9, Minor: 4}, "rep_mode=sync needs PostgreSQL 9.6"},
		{RepAsync, pgctl.Version{Major: 9, Minor: 6}, ""},
		{RepSlave, pgctl.Version{Major: 9, Minor: 5}, ""},
		{RepSlave, pgctl.Version{Major: 9, Minor: 0}, "rep_mode=slave needs PostgreSQL 9.1"},
	} {
		problems := versionProblems(Config{RepMode: c.mode}, c.v)
		switch {
		case c.refused == "" && len(problems) > 0:
			t.Errorf("rep_mode=%s on %v refused: %s", c.mode, c.v, problems[0].Reason)
		case c.refused != "" && (len(problems) != 1 || problems[0].RC != ErrInstalled || !strings.Contains(problems[0].Reason, c.refused)):
			t.Errorf("rep_mode=%s on %v: %v, want one exit-5 problem saying %q", c.mode, c.v, problems, c.refused)
		}
	}
}

// TestSlaveOn95ValidateAll: validate-all of a rep_mode=slave resource on a 9.5 data directory
// passes, as rep_mode=none does (finding A, through the agent).
func TestSlaveOn95ValidateAll(t *testing.T) {
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "data")
	conf := filepath.Join(pgdata, "postgresql.conf")
	for _, err := range []error{os.MkdirAll(pgdata, 0o700), os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("9.5\n"), 0o600),
		os.WriteFile(conf, []byte("# test\n"), 0o600)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []string{"none", "slave"} {
		params := map[string]string{"pgctl": "/bin/true", "pgdba": "root", "pgdata": pgdata, "config": conf,
			"logfile": filepath.Join(dir, "pg.log"), "rep_mode": mode}
		if mode == "slave" {
			params["master_ip"] = "192.0.2.10"
		}
		var stderr bytes.Buffer
		a := &Agent{Env: Env{Action: "validate-all", CheckLevel: 10}, Params: values(t, params),
			Log: NewLogger(LogSettings{}, io.Discard), Stdout: io.Discard, Stderr: &stderr}
		if rc := a.Run(context.Background()); rc != Success {
			t.Errorf("rep_mode=%s on 9.5: exit %d %s", mode, rc, strings.TrimSpace(stderr.String()))
		}
	}
}

// TestTargetSessionAttrsOnlyWhereLibpqKnowsIt: the standby's primary_conninfo and pg_rewind's
// source ask for a read-write server from PostgreSQL 10 on; a 9.6 server's own libpq may not
// know the keyword and would refuse every connection.
func TestTargetSessionAttrsOnlyWhereLibpqKnowsIt(t *testing.T) {
	for _, c := range []struct {
		v    pgctl.Version
		want bool
	}{{pgctl.Version{Major: 9, Minor: 6}, false}, {pgctl.Version{Major: 10}, true}, {pgctl.Version{Major: 15}, true}} {
		r := &replica{c: Config{MasterIP: "10.0.0.5", PgPort: 5432, RepUser: "rep"}, sys: System{Version: c.v}, self: "node2"}
		if got := strings.Contains(r.primaryConninfo(), "target_session_attrs=read-write"); got != c.want {
			t.Errorf("PostgreSQL %v: primary_conninfo %q, want target_session_attrs %v", c.v, r.primaryConninfo(), c.want)
		}
		src, err := r.rewindSource()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := src.Last("target_session_attrs"); (got == "read-write") != c.want {
			t.Errorf("PostgreSQL %v: pg_rewind's source %q, want target_session_attrs %v", c.v, src.Conninfo, c.want)
		}
	}
}
