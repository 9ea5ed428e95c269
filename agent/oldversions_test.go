package agent

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
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

// TestFollowNobodyBefore12: the locked crashed primary that follows nobody gets no
// primary_conninfo on 9.6 to 11, where recovery.conf's empty value starts a WAL receiver to
// libpq's defaults, the server itself (review 29, finding A).
func TestFollowNobodyBefore12(t *testing.T) {
	for _, v := range []pgctl.Version{{Major: 9, Minor: 6}, {Major: 10}, {Major: 11}} {
		r := &replica{c: Config{MasterIP: "10.0.0.5", PgPort: 5432, RepUser: "rep"}, sys: System{Version: v}, self: "node2", followNobody: true}
		if got := string(r.standbySettings().Render(v)); strings.Contains(got, "primary_conninfo") {
			t.Errorf("PostgreSQL %v, following nobody:\n%s", v, got)
		}
	}
}

// TestJudgeRewind96Words: pg_rewind 9.6 says "WAL position" where 10 on say "WAL location"
// (review 29, finding C).
func TestJudgeRewind96Words(t *testing.T) {
	d := Divergence{Fork: PromotePoint{"node2", 3, 0x5000580, 4, 7, false}, To: 0x5000680, Timeline: 3}
	for _, word := range []string{"position", "location"} {
		out := "servers diverged at WAL " + word + " 0/5000580 on timeline 3\nrewinding from last common checkpoint at 0/4000060 on timeline 3\nDone!\n"
		if o := JudgeRewind(RewindRun{DryRun: true, Output: out}, d); !o.OK {
			t.Errorf("pg_rewind's dry run (WAL %s) at the proven fork refused: %s", word, o.Reason)
		}
	}
}

// TestStreamingNotRecordedBefore10: a 9.6 standby seen streaming records nothing (its
// primary_conninfo cannot insist on a primary, so it may stream from itself); from 10 on the
// run is recorded with the latest promotion (review 29, finding B).
func TestStreamingNotRecordedBefore10(t *testing.T) {
	for _, c := range []struct {
		v      pgctl.Version
		record bool
	}{{pgctl.Version{Major: 9, Minor: 6}, false}, {pgctl.Version{Major: 15}, true}} {
		r := r22Replica(t, "node2", []string{"node1", "node2"}, nil, &crmattr.Fake{}, nil)
		r.a.Env.RunDir, r.sys.Version = t.TempDir(), c.v
		pm := pgctl.Postmaster{PID: 4242, Running: true, Started: "1795900000"}
		r.recordStreamed(context.Background(), pm, pgctl.LocalState{InRecovery: true, ReceiverStatus: "streaming", ReceiverReadWrite: true})
		if got := r.streamedInRun(pm); got != c.record {
			t.Errorf("PostgreSQL %v: streaming recorded %v, want %v", c.v, got, c.record)
		}
	}
}

// TestStreamingNotRecordedUnderAnotherConninfo: streaming is recorded only when the server
// reports a WAL receiver connection that insists on a read-write session; one from
// postgresql.auto.conf (pg_basebackup -R writes one), start_opt or an include after the
// agent's does not (reviews 30, 31; the server's side: TestStreamedRecordFollowsTheConninfoInForce).
func TestStreamingNotRecordedUnderAnotherConninfo(t *testing.T) {
	for _, readWrite := range []bool{true, false} {
		r := r22Replica(t, "node2", []string{"node1", "node2"}, nil, &crmattr.Fake{}, nil)
		r.a.Env.RunDir, r.sys.Version = t.TempDir(), pgctl.Version{Major: 15}
		pm := pgctl.Postmaster{PID: 4242, Running: true, Started: "1795900000"}
		r.recordStreamed(context.Background(), pm, pgctl.LocalState{InRecovery: true, ReceiverStatus: "streaming", ReceiverReadWrite: readWrite})
		if got := r.streamedInRun(pm); got != readWrite {
			t.Errorf("receiver insisting on read-write %v: streaming recorded %v", readWrite, got)
		}
	}
}

// TestPgCtlLocation: pg_ctl pastes its location, links resolved, inside double quotes into
// its shell's command lines: one whose real name holds what a shell reads there is refused
// by validate-all and by a start (review 36), while CheckSystem, which every monitor runs,
// still finds pg_ctl, so a server an earlier version started there stays monitored (review
// 38).
func TestPgCtlLocation(t *testing.T) {
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "data")
	conf := filepath.Join(pgdata, "postgresql.conf")
	bin, links := filepath.Join(dir, "pg", "bin"), filepath.Join(dir, "links")
	weird, escaped := filepath.Join(dir, `pg "$(id)"`), filepath.Join(dir, `pg\\`) // pg_ctl's shell reads pg\ as pg\ (review 39)
	for _, err := range []error{os.MkdirAll(pgdata, 0o700), os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("15\n"), 0o600),
		os.WriteFile(conf, []byte("# test\n"), 0o600), os.MkdirAll(bin, 0o755), os.MkdirAll(links, 0o755), os.MkdirAll(weird, 0o755),
		os.WriteFile(filepath.Join(bin, "pg_ctl"), []byte("#!/bin/true\n"), 0o755), os.WriteFile(filepath.Join(weird, "pg_ctl"), []byte("#!/bin/true\n"), 0o755),
		os.Symlink(filepath.Join(bin, "pg_ctl"), filepath.Join(links, "pg_ctl")), os.Symlink(filepath.Join(weird, "pg_ctl"), filepath.Join(links, "weird")),
		os.MkdirAll(escaped, 0o755), os.WriteFile(filepath.Join(escaped, "pg_ctl"), []byte("#!/bin/true\n"), 0o755),
		os.Symlink(filepath.Join(escaped, "pg_ctl"), filepath.Join(links, "escaped"))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	params := map[string]string{"pgdba": "root", "pgdata": pgdata, "config": conf, "logfile": filepath.Join(dir, "pg.log")}
	for _, tc := range []struct {
		pgctl   string
		refused bool
	}{{filepath.Join(links, "pg_ctl"), false}, {filepath.Join(links, "weird"), true}, {filepath.Join(links, "escaped"), true}} {
		p := with(params, "pgctl", tc.pgctl)
		c, err := ParseConfig(values(t, p), Env{})
		if err != nil {
			t.Fatal(err)
		}
		if sys, err := CheckSystem(c, Env{Action: "monitor"}); err != nil || sys.PgCtl != tc.pgctl {
			t.Errorf("pgctl=%s: CheckSystem found %q, %v; want it as configured", tc.pgctl, sys.PgCtl, err)
		}
		var stderr bytes.Buffer
		a := &Agent{Env: Env{Action: "validate-all", CheckLevel: 10}, Params: values(t, p),
			Log: NewLogger(LogSettings{}, io.Discard), Stdout: io.Discard, Stderr: &stderr}
		rc := a.Run(context.Background())
		if refused := rc == ErrConfigured && strings.Contains(stderr.String(), "pgctl="); refused != tc.refused {
			t.Errorf("pgctl=%s: validate-all %d %q, want refused %v", tc.pgctl, rc, stderr.String(), tc.refused)
		}
		// With another problem beside it, validate-all still logs it (review 39).
		var logged bytes.Buffer
		a = &Agent{Env: Env{Action: "validate-all", CheckLevel: 10}, Params: values(t, with(p, "logfile", filepath.Join(dir, "missing", "pg.log"))),
			Log: NewLogger(LogSettings{}, &logged), Stdout: io.Discard, Stderr: io.Discard}
		if a.Run(context.Background()); strings.Contains(logged.String(), "pgctl=") != tc.refused {
			t.Errorf("pgctl=%s beside a missing logfile directory: log %q, want pgctl named %v", tc.pgctl, logged.String(), tc.refused)
		}
		problem := a.startServer(context.Background(), c, System{}, pgctl.Server{PgCtl: tc.pgctl})
		if refused := problem != nil && strings.Contains(problem.Error(), "pgctl="); refused != tc.refused {
			t.Errorf("pgctl=%s: startServer: %v, want refused %v", tc.pgctl, problem, tc.refused)
		}
	}
}
