package pgctl

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestControlDataRewindable(t *testing.T) {
	base := "Database cluster state:               in production\n" +
		"Latest checkpoint location:           0/3000060\n" +
		"Latest checkpoint's TimeLineID:       1\n"
	for _, c := range []struct {
		name, lines string
		hints, sums bool
		bad         bool
	}{
		{"neither line (an old pg_controldata)", "", false, false, false},
		{"wal_log_hints on", "wal_log_hints setting:                on\nData page checksum version:           0\n", true, false, false},
		{"wal_log_hints off, checksums", "wal_log_hints setting:                off\nData page checksum version:           1\n", false, true, false},
		{"both off", "wal_log_hints setting:                off\nData page checksum version:           0\n", false, false, false},
		{"checksum version not a number", "Data page checksum version:           x\n", false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cd, err := ParseControlData([]byte(base + c.lines))
			if (err != nil) != c.bad {
				t.Fatalf("error %v, want error %v", err, c.bad)
			}
			if c.bad {
				return
			}
			if cd.WALLogHints != c.hints || cd.DataChecksums != c.sums || cd.Rewindable() != (c.hints || c.sums) {
				t.Errorf("hints %v, checksums %v, rewindable %v; want %v, %v", cd.WALLogHints, cd.DataChecksums, cd.Rewindable(), c.hints, c.sums)
			}
		})
	}
}

func TestParseConninfo(t *testing.T) {
	// password's value as libpq reads it; rest the other settings as written.
	split := func(in string) (rest, password string, err error) {
		settings, err := ParseConninfo(in)
		var kept []string
		for _, kv := range settings {
			if kv.Key == "password" {
				password = kv.Value
				continue
			}
			kept = append(kept, kv.Raw)
		}
		return strings.Join(kept, " "), password, err
	}
	for _, c := range []struct{ in, rest, password string }{
		{"", "", ""},
		{"host=db port=5432 user=rep", "host=db port=5432 user=rep", ""},
		{"keepalives=1 password=secret sslmode=require", "keepalives=1 sslmode=require", "secret"},
		{`password='a b\'c\\d' sslmode=verify-full`, "sslmode=verify-full", `a b'c\d`},
		{`password=a\ b application_name='x y'`, "application_name='x y'", "a b"},
		{"password=first password=second", "", "second"},
	} {
		rest, password, err := split(c.in)
		if err != nil || rest != c.rest || password != c.password {
			t.Errorf("ParseConninfo(%q): rest %q, password %q, %v; want %q, %q", c.in, rest, password, err, c.rest, c.password)
		}
	}
	// '' is no escape in libpq: 'it' ends the value and "'s'" is no keyword=value.
	for _, bad := range []string{"password", "host", "password='open", "=x", "password = 'it''s' x=1"} {
		if _, err := ParseConninfo(bad); err == nil {
			t.Errorf("ParseConninfo(%q) accepted", bad)
		}
	}
	// The error does not quote the text: a misplaced secret would be its "keyword".
	if _, err := ParseConninfo("sslmode=require s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ParseConninfo's error %v quotes the text", err)
	}
}

// TestNewRewindSource: primary_conninfo_opt comes after the defaults it may override and
// before the agent's host, port and target_session_attrs, which it cannot override (libpq
// takes a keyword's last value); what could reach another server than master_ip, or put a
// secret on the command line, is refused with the keyword named, never its value.
func TestNewRewindSource(t *testing.T) {
	defaults := []string{"user=rep", "application_name=node1", "dbname=postgres", "connect_timeout=10"}
	own := []string{"host=10.0.0.5", "port=5432", "target_session_attrs=read-write"}
	src, err := NewRewindSource(defaults, "host=10.9.9.9 port=6000 target_session_attrs=any user=rewinder connect_timeout=3 sslmode=require password='pa ss'", own)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"host": "10.0.0.5", "port": "5432", "target_session_attrs": "read-write",
		"user": "rewinder", "connect_timeout": "3", "dbname": "postgres", "sslmode": "require"} {
		if got, ok := src.Last(key); !ok || got != want {
			t.Errorf("libpq would take %s=%q (set %v), want %q; conninfo %q", key, got, ok, want, src.Conninfo)
		}
	}
	if src.Password != "pa ss" || strings.Contains(src.Conninfo, "pa ss") || strings.Contains(src.Conninfo, "password") {
		t.Errorf("password %q, conninfo %q: the password must be apart", src.Password, src.Conninfo)
	}
	if !strings.HasSuffix(src.Conninfo, "host=10.0.0.5 port=5432 target_session_attrs=read-write") {
		t.Errorf("conninfo %q does not end with the agent's own settings", src.Conninfo)
	}
	for _, c := range []struct{ opts, key string }{
		{"sslmode=verify-full sslpassword='k3y secret'", "sslpassword"},
		{"hostaddr=10.9.9.9", "hostaddr"},
		{"service=elsewhere", "service"},
	} {
		_, err := NewRewindSource(defaults, c.opts, own)
		if err == nil || !strings.Contains(err.Error(), "primary_conninfo_opt sets "+c.key) {
			t.Errorf("NewRewindSource with %q: %v, want a refusal naming %s", c.opts, err, c.key)
		}
		if err != nil && (strings.Contains(err.Error(), "k3y") || strings.Contains(err.Error(), "10.9.9.9") || strings.Contains(err.Error(), "elsewhere")) {
			t.Errorf("the refusal %q quotes the value", err)
		}
	}
}

// TestRewindCommandKeepsSecretsOffArgv: no value of a secret reaches pg_rewind's command line
// (every local user can read it in /proc); the password reaches libpq as PGPASSWORD.
func TestRewindCommandKeepsSecretsOffArgv(t *testing.T) {
	const secret = "s3cr3t-Value"
	srv := Server{PgCtl: "/usr/lib/postgresql/15/bin/pg_ctl", PgData: "/var/lib/postgresql/15/main", Port: 5432,
		Owner: OSUser{Name: "postgres", Home: "/var/lib/postgresql"}}
	for _, opts := range []string{"password=" + secret, "password='" + secret + "' sslmode=require", "sslmode=require password=" + secret + " keepalives=1"} {
		src, err := NewRewindSource([]string{"user=rep", "dbname=postgres"}, opts, []string{"host=10.0.0.5", "port=5432", "target_session_attrs=read-write"})
		if err != nil {
			t.Fatalf("%q: %v", opts, err)
		}
		for _, dry := range []bool{true, false} {
			cmd := srv.RewindCommand(src, dry)
			for _, arg := range cmd.Argv {
				if strings.Contains(arg, secret) {
					t.Errorf("opts %q, dry run %v: argv %q holds the secret", opts, dry, cmd.Argv)
				}
			}
			if !slices.Contains(cmd.Env, "PGPASSWORD="+secret) {
				t.Errorf("opts %q: the password is not in pg_rewind's environment", opts)
			}
		}
	}
	// Secrets libpq reads from no environment variable are refused (NewRewindSource), so
	// they never reach a command.
	if _, err := NewRewindSource(nil, "sslpassword="+secret, []string{"host=h"}); err == nil {
		t.Error("sslpassword accepted")
	}
}

// TestSaveFilesRestores: what pg_rewind copies over a node's configuration goes back, and a
// file the node did not have goes away.
func TestSaveFilesRestores(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), mode)
	}
	write("postgresql.conf", "listen_addresses = 'node1'\n", 0o600)
	write("pg_hba.conf", "local all all peer\n", 0o640)
	saved, err := SaveFiles(dir, RewindKeeps)
	if err != nil {
		t.Fatal(err)
	}
	write("postgresql.conf", "listen_addresses = 'node2'\n", 0o644)
	write("pg_hba.conf", "host all all 0.0.0.0/0 trust\n", 0o600)
	write("postgresql.auto.conf", "primary_conninfo = 'x'\n", 0o600)
	if err := saved.Restore(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"postgresql.conf": "listen_addresses = 'node1'\n", "pg_hba.conf": "local all all peer\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "pg_hba.conf")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("pg_hba.conf mode %v, %v; want 0640", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgresql.auto.conf")); !os.IsNotExist(err) {
		t.Errorf("postgresql.auto.conf, which the node did not have, was left behind: %v", err)
	}
}

// TestSourceStateSQLInOlderNames: the source check and the promote's timeline query speak
// the server's version; PostgreSQL 9.6 knows pg_xlogfile_name and pg_current_xlog_location,
// not their version 10 names (review 25).
func TestSourceStateSQLInOlderNames(t *testing.T) {
	for _, c := range []struct {
		v          Version
		want, gone string
	}{
		{Version{Major: 9, Minor: 6}, "pg_xlogfile_name(pg_current_xlog_location())", "_wal"},
		{Version{Major: 15}, "pg_walfile_name(pg_current_wal_lsn())", "xlog"},
	} {
		sql := walNames(c.v, sourceStateSQL)
		if !strings.Contains(sql, c.want) || strings.Contains(sql, c.gone) {
			t.Errorf("PostgreSQL %v is asked\n%s\nwant %s and no %q", c.v, sql, c.want, c.gone)
		}
	}
}
