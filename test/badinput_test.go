package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestBadInput: acceptance 4 of the foundation issue. Every parameter with a wrong value
// gets the right OCF code and exactly one exit reason naming the parameter, from both
// validate-all and start, and leaves the test directory (PGDATA, postgresql.conf, log and
// socket directories) byte-identical.
func TestBadInput(t *testing.T) {
	c := newCluster(t)
	uid, _ := strconv.Atoi(c.Owner.Uid)
	gid, _ := strconv.Atoi(c.Owner.Gid)

	rootOwnedLog := filepath.Join(c.Dir, "root-only.log")
	if err := os.WriteFile(rootOwnedLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(c.Dir, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Data directories of PostgreSQL versions too old for some features (never started).
	oldData := func(version string) string {
		dir := filepath.Join(c.Dir, "pg"+strings.ReplaceAll(version, ".", ""))
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte(version+"\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "postgresql.conf"), []byte("# test\n"), 0o600)
		for _, p := range []string{dir, filepath.Join(dir, "PG_VERSION"), filepath.Join(dir, "postgresql.conf")} {
			os.Chown(p, uid, gid)
		}
		return dir
	}
	pg90, pg93, pg95 := oldData("9.0"), oldData("9.3"), oldData("9.5")

	promotable := map[string]string{"promotable": "true", "promoted_max": "1", "clone_max": "2"}
	replicated := []string{"rep_mode", "async", "node_list", "node1 node2", "master_ip", "192.0.2.10"}

	cases := []struct {
		name   string
		params []string
		meta   map[string]string
		wantRC int
		names  string // the parameter the reason must name
	}{
		{"port not a number", []string{"pgport", "abc"}, nil, 6, "pgport"},
		{"port zero", []string{"pgport", "0"}, nil, 6, "pgport"},
		{"port too large", []string{"pgport", "70000"}, nil, 6, "pgport"},
		{"stop_escalate not a number", []string{"stop_escalate", "ten"}, nil, 6, "stop_escalate"},
		{"stop_escalate_in_slave fraction", []string{"stop_escalate_in_slave", "1.5"}, nil, 6, "stop_escalate_in_slave"},
		{"xlog_check_count zero", []string{"xlog_check_count", "0"}, nil, 6, "xlog_check_count"},
		{"crm_attr_timeout negative", []string{"crm_attr_timeout", "-1"}, nil, 6, "crm_attr_timeout"},
		{"restart_on_promote not a boolean", []string{"restart_on_promote", "maybe"}, nil, 6, "restart_on_promote"},
		{"check_wal_receiver not a boolean", []string{"check_wal_receiver", "2"}, nil, 6, "check_wal_receiver"},
		{"pgctl missing binary", []string{"pgctl", "/nonexistent/bin/pg_ctl"}, nil, 5, "pgctl"},
		{"pgctl command not in PATH", []string{"pgctl", "no_such_pg_ctl"}, nil, 5, "pgctl"},
		{"pgctl relative path", []string{"pgctl", "bin/pg_ctl"}, nil, 6, "pgctl"},
		{"pgdata relative path", []string{"pgdata", "relative/data"}, nil, 6, "pgdata"},
		{"pgdata missing", []string{"pgdata", filepath.Join(c.Dir, "missing")}, nil, 5, "pgdata"},
		{"config missing", []string{"config", filepath.Join(c.Dir, "missing.conf")}, nil, 5, "config"},
		{"config relative", []string{"config", "postgresql.conf"}, nil, 6, "config"},
		{"pgdba does not exist", []string{"pgdba", "no_such_user"}, nil, 5, "pgdba"},
		{"pglibs relative", []string{"pglibs", "lib"}, nil, 6, "pglibs"},
		{"logfile not writable by pgdba", []string{"logfile", rootOwnedLog}, nil, 4, "logfile"},
		{"logfile in a missing directory", []string{"logfile", filepath.Join(c.Dir, "nodir", "pg.log")}, nil, 4, "logfile"},
		{"logfile relative", []string{"logfile", "pg.log"}, nil, 6, "logfile"},
		{"socketdir cannot be created", []string{"socketdir", filepath.Join(aFile, "sock")}, nil, 4, "socketdir"},
		{"socketdir relative", []string{"socketdir", "run"}, nil, 6, "socketdir"},
		{"monitor_password without monitor_user", []string{"monitor_password", "secret"}, nil, 6, "monitor_password"},
		{"ctl_opt unterminated quote", []string{"ctl_opt", "-t 'oops"}, nil, 6, "ctl_opt"},
		{"start_opt with a command separator", []string{"start_opt", "-c work_mem=8MB && true"}, nil, 6, "start_opt"},
		{"ctl_opt with server options", []string{"ctl_opt", `-w -o "-c work_mem=8MB # batch"`}, nil, 6, "ctl_opt"},
		{"ctl_opt with the postgres binary", []string{"ctl_opt", `-p '/usr/lib/postgresql/15/bin/postgres" #'`}, nil, 6, "ctl_opt"},
		{"ctl_opt with a mode", []string{"ctl_opt", "-s restart"}, nil, 6, "ctl_opt"},
		{"ctl_opt with a Windows service option", []string{"ctl_opt", "-S auto"}, nil, 6, "ctl_opt"},
		{"unknown rep_mode", []string{"rep_mode", "mirror"}, nil, 6, "rep_mode"},
		{"async without node_list", []string{"rep_mode", "async", "master_ip", "192.0.2.10"}, promotable, 6, "node_list"},
		{"async without master_ip", []string{"rep_mode", "async", "node_list", "node1 node2"}, promotable, 6, "master_ip"},
		{"async not a promotable clone", replicated, nil, 6, "promotable"},
		{"sync not a promotable clone", []string{"rep_mode", "sync", "node_list", "node1 node2", "master_ip", "192.0.2.10"}, nil, 6, "promotable"},
		{"slave as a promotable clone", []string{"rep_mode", "slave", "master_ip", "192.0.2.10"}, promotable, 6, "rep_mode"},
		{"slave without master_ip", []string{"rep_mode", "slave"}, nil, 6, "master_ip"},
		{"slot name with bad characters", append([]string{"replication_slot_name", "Bad-Name"}, replicated...), promotable, 6, "replication_slot_name"},
		{"tmpdir cannot be created", append([]string{"tmpdir", filepath.Join(aFile, "tmp")}, replicated...), promotable, 4, "tmpdir"},
		{"tmpdir relative", append([]string{"tmpdir", "tmp"}, replicated...), promotable, 6, "tmpdir"},
		{"PostgreSQL 9.0 too old for replication", []string{"pgdata", pg90, "rep_mode", "slave", "master_ip", "192.0.2.10"}, nil, 5, "rep_mode"},
		{"PostgreSQL 9.5 too old for the agent's state query", append([]string{"pgdata", pg95}, replicated...), promotable, 5, "rep_mode=async needs PostgreSQL 9.6"},
		// #11: values that break the files, logs and shell lines the agent's work ends up in,
		// and integers that overflow.
		{"tmpdir with a newline", append([]string{"tmpdir", c.Dir + "/tmp'\ninclude '/etc/shadow"}, replicated...), promotable, 6, "tmpdir"},
		{"pgdba with a newline", []string{"pgdba", "postgres\nERROR: forged"}, nil, 6, "pgdba"},
		{"start_opt with an escape sequence", []string{"start_opt", "\x1b]0;owned\x07"}, nil, 6, "start_opt"},
		{"logfile with a command substitution", []string{"logfile", c.Dir + "/$(id).log"}, nil, 6, "logfile"},
		{"pgdata with a backquote", []string{"pgdata", c.Dir + "/`id`"}, nil, 6, "pgdata"},
		{"stop_escalate overflowing", []string{"stop_escalate", "9223372037"}, nil, 6, "stop_escalate"},
		{"op timeout overflowing", nil, map[string]string{"timeout": "9223372036854775807"}, 6, "timeout"},
		{"PostgreSQL 9.3 too old for slots", append([]string{"pgdata", pg93, "replication_slot_name", "pgsql"}, replicated...), promotable, 6, "replication_slot_name"},
	}
	before := treeDigest(t, c.Dir)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := with(c.params(), tc.params...)
			for _, action := range []string{"validate-all", "start"} {
				r := runAgent(t, action, params, tc.meta)
				if r.RC != tc.wantRC {
					t.Errorf("%s: rc %d, want %d\n%s", action, r.RC, tc.wantRC, r.Stderr)
				}
				reasons := r.reasons()
				if len(reasons) != 1 {
					t.Errorf("%s: %d exit reasons, want exactly 1: %q", action, len(reasons), reasons)
				} else if !strings.Contains(reasons[0], tc.names) {
					t.Errorf("%s: exit reason %q does not name %s", action, reasons[0], tc.names)
				} else if strings.IndexFunc(reasons[0], unicode.IsControl) >= 0 {
					t.Errorf("%s: exit reason %q holds a control character", action, reasons[0])
				}
			}
			if after := treeDigest(t, c.Dir); after != before {
				t.Fatalf("the test directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}
