package agent

import (
	"context"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/pgsql-ra/pgsql-ra/metadata"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// values resolves the parameters as the agent does, from an empty command line and the given
// OCF_RESKEY_* settings (keys without the prefix); everything else is its default.
func values(t *testing.T, params map[string]string) metadata.Values {
	t.Helper()
	fs := metadata.NewFlagSet("test")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return metadata.Resolve(fs, func(name string) (string, bool) {
		v, ok := params[strings.TrimPrefix(name, metadata.EnvPrefix)]
		return v, ok && strings.HasPrefix(name, metadata.EnvPrefix)
	})
}

func TestParseBool(t *testing.T) {
	for _, tc := range []struct {
		in        string
		value, ok bool
	}{
		{"yes", true, true}, {"Yes", true, true}, {"TRUE", true, true}, {"true", true, true},
		{"1", true, true}, {"on", true, true}, {"ON", true, true}, {"ja", true, true}, {"y", true, true},
		{" yes ", true, true},
		{"no", false, true}, {"false", false, true}, {"False", false, true}, {"0", false, true},
		{"off", false, true}, {"nein", false, true}, {"n", false, true},
		{"maybe", false, false}, {"", false, false}, {"2", false, false}, {"yess", false, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			value, ok := ParseBool(tc.in)
			if value != tc.value || ok != tc.ok {
				t.Errorf("ParseBool(%q) = %v, %v; want %v, %v", tc.in, value, ok, tc.value, tc.ok)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(values(t, nil), Env{})
	if err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	want := Config{
		PgCtl: "/usr/bin/pg_ctl", Psql: "/usr/bin/psql", PgData: "/var/lib/pgsql/data", PgDBA: "postgres",
		PgLibs: "/usr/lib", PgPort: 5432, MonitorSQL: "select now();",
		ConfigFile: "/var/lib/pgsql/data/postgresql.conf", PgDB: "template1", Logfile: "/dev/null",
		StopEscalate: 90, StopEscalateInSlave: 90, RepMode: RepNone, RepUser: "postgres",
		TmpDir: "/var/lib/pgsql/tmp", XlogCheckCount: 3, CrmAttrTimeout: 5,
		AutoRejoin: true, Rewind: "never",
	}
	if !configEqual(c, want) {
		t.Errorf("ParseConfig(defaults) =\n%+v\nwant\n%+v", c, want)
	}
}

func configEqual(a, b Config) bool { return reflect.DeepEqual(a, b) }

func TestParseConfigValid(t *testing.T) {
	for _, tc := range []struct {
		name       string
		params     map[string]string
		promotable bool
		check      func(t *testing.T, c Config)
	}{
		{"async with node_list, master_ip and a promotable clone",
			map[string]string{"rep_mode": "async", "node_list": "Node1 NODE2", "master_ip": "10.0.0.10"}, true,
			func(t *testing.T, c Config) {
				if c.RepMode != RepAsync || !c.RepMode.Replicated() {
					t.Errorf("RepMode = %q", c.RepMode)
				}
				if !slices.Equal(c.NodeList, []string{"node1", "node2"}) {
					t.Errorf("NodeList = %q, want lower-cased node1 node2", c.NodeList)
				}
			}},
		{"sync with node_list, master_ip and a promotable clone",
			map[string]string{"rep_mode": "sync", "node_list": "a b", "master_ip": "10.0.0.10"}, true,
			func(t *testing.T, c Config) {
				if c.RepMode != RepSync || !c.RepMode.Replicated() {
					t.Errorf("RepMode = %q", c.RepMode)
				}
			}},
		{"slave with master_ip as a primitive",
			map[string]string{"rep_mode": "slave", "master_ip": "10.0.0.10"}, false,
			func(t *testing.T, c Config) {
				if c.RepMode != RepSlave || c.RepMode.Replicated() {
					t.Errorf("RepMode = %q, Replicated = %v", c.RepMode, c.RepMode.Replicated())
				}
			}},
		{"max_lag in bytes and no_promote_nodes lower-cased (issue #13 §4)",
			map[string]string{"rep_mode": "async", "node_list": "node1 node2", "master_ip": "10.0.0.10",
				"max_lag": " 1048576 ", "no_promote_nodes": "NODE2"}, true,
			func(t *testing.T, c Config) {
				if c.MaxLag != 1<<20 || !slices.Equal(c.NoPromoteNodes, []string{"node2"}) {
					t.Errorf("MaxLag %d, NoPromoteNodes %q", c.MaxLag, c.NoPromoteNodes)
				}
			}},
		{"rewind=auto, any case (issue #13 §1)",
			map[string]string{"rewind": " Auto "}, false,
			func(t *testing.T, c Config) {
				if c.Rewind != RewindAuto {
					t.Errorf("Rewind = %q", c.Rewind)
				}
			}},
		{"bare pg_ctl command name is looked up later",
			map[string]string{"pgctl": "pg_ctl"}, false,
			func(t *testing.T, c Config) {
				if c.PgCtl != "pg_ctl" {
					t.Errorf("PgCtl = %q", c.PgCtl)
				}
			}},
		{"booleans in other spellings",
			map[string]string{"restart_on_promote": "yes", "check_wal_receiver": "On"}, false,
			func(t *testing.T, c Config) {
				if !c.RestartOnPromote || !c.CheckWALReceiver {
					t.Errorf("RestartOnPromote %v, CheckWALReceiver %v; want both true", c.RestartOnPromote, c.CheckWALReceiver)
				}
			}},
		{"stop_escalate 0 and negative mean immediate",
			map[string]string{"stop_escalate": "0", "stop_escalate_in_slave": "-1"}, false,
			func(t *testing.T, c Config) {
				if c.StopEscalate != 0 || c.StopEscalateInSlave != -1 {
					t.Errorf("StopEscalate %d, StopEscalateInSlave %d", c.StopEscalate, c.StopEscalateInSlave)
				}
			}},
		{"integers with blanks around them",
			map[string]string{"pgport": " 5433 ", "xlog_check_count": "1", "crm_attr_timeout": "1"}, false,
			func(t *testing.T, c Config) {
				if c.PgPort != 5433 || c.XlogCheckCount != 1 || c.CrmAttrTimeout != 1 {
					t.Errorf("PgPort %d, XlogCheckCount %d, CrmAttrTimeout %d", c.PgPort, c.XlogCheckCount, c.CrmAttrTimeout)
				}
			}},
		{"highest port",
			map[string]string{"pgport": "65535"}, false,
			func(t *testing.T, c Config) {
				if c.PgPort != 65535 {
					t.Errorf("PgPort = %d", c.PgPort)
				}
			}},
		{"ctl_opt split into words",
			map[string]string{"ctl_opt": `-s -o "-c a=1"`}, false,
			func(t *testing.T, c Config) {
				if !slices.Equal(c.CtlOpt, []string{"-s", "-o", "-c a=1"}) {
					t.Errorf("CtlOpt = %q", c.CtlOpt)
				}
			}},
		{"start_opt split as a command line: a comment dropped",
			map[string]string{"start_opt": `-c work_mem=8MB -c 'cluster_name=a;b' # sized for the batch`}, false,
			func(t *testing.T, c Config) {
				if !slices.Equal(c.StartOpt, []string{"-c", "work_mem=8MB", "-c", "cluster_name=a;b"}) {
					t.Errorf("StartOpt = %q", c.StartOpt)
				}
			}},
		{"monitor_user with monitor_password",
			map[string]string{"monitor_user": "mon", "monitor_password": "secret"}, false,
			func(t *testing.T, c Config) {
				if c.MonitorUser != "mon" || c.MonitorPassword != "secret" {
					t.Errorf("MonitorUser %q, MonitorPassword %q", c.MonitorUser, c.MonitorPassword)
				}
			}},
		{"monitor_user without a password (.pgpass)",
			map[string]string{"monitor_user": "mon"}, false,
			func(t *testing.T, c Config) {
				if c.MonitorUser != "mon" {
					t.Errorf("MonitorUser %q", c.MonitorUser)
				}
			}},
		{"valid slot name",
			map[string]string{"replication_slot_name": "pgsql_slot_1"}, false,
			func(t *testing.T, c Config) {
				if c.ReplicationSlotName != "pgsql_slot_1" {
					t.Errorf("ReplicationSlotName %q", c.ReplicationSlotName)
				}
			}},
		{"explicit absolute paths",
			map[string]string{"pgdata": "/srv/pg", "socketdir": "/run/pg", "logfile": "/var/log/pg.log", "tmpdir": "/srv/tmp"}, false,
			func(t *testing.T, c Config) {
				if c.PgData != "/srv/pg" || c.ConfigFile != "/srv/pg/postgresql.conf" || c.SocketDir != "/run/pg" {
					t.Errorf("PgData %q, ConfigFile %q, SocketDir %q", c.PgData, c.ConfigFile, c.SocketDir)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(values(t, tc.params), Env{Promotable: tc.promotable})
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			tc.check(t, c)
		})
	}
}

// TestParseConfigRejects changes one parameter (or two that only together are wrong) from the
// defaults; each must give exactly one ErrConfigured problem whose reason names the parameter.
func TestParseConfigRejects(t *testing.T) {
	replicated := func(mode string, drop string) map[string]string {
		m := map[string]string{"rep_mode": mode, "node_list": "node1 node2", "master_ip": "10.0.0.10"}
		delete(m, drop)
		return m
	}
	for _, tc := range []struct {
		name       string
		params     map[string]string
		promotable bool
		names      string // the reason must contain this
	}{
		{"pgport not a number", map[string]string{"pgport": "abc"}, false, "pgport"},
		{"pgport zero", map[string]string{"pgport": "0"}, false, "pgport"},
		{"pgport above 65535", map[string]string{"pgport": "70000"}, false, "pgport"},
		{"stop_escalate not a number", map[string]string{"stop_escalate": "x"}, false, "stop_escalate"},
		{"stop_escalate_in_slave not a number", map[string]string{"stop_escalate_in_slave": "90s"}, false, "stop_escalate_in_slave"},
		{"xlog_check_count zero", map[string]string{"xlog_check_count": "0"}, false, "xlog_check_count"},
		{"crm_attr_timeout negative", map[string]string{"crm_attr_timeout": "-1"}, false, "crm_attr_timeout"},
		{"restart_on_promote not a boolean", map[string]string{"restart_on_promote": "maybe"}, false, "restart_on_promote"},
		{"check_wal_receiver not a boolean", map[string]string{"check_wal_receiver": "2"}, false, "check_wal_receiver"},
		{"auto_rejoin not a boolean", map[string]string{"auto_rejoin": "sometimes"}, false, "auto_rejoin"},
		{"rewind unknown", map[string]string{"rewind": "always"}, false, "rewind=\"always\" is not one of never, auto"},
		{"relative pgdata", map[string]string{"pgdata": "data", "config": "/etc/pg.conf"}, false, "pgdata"},
		{"relative logfile", map[string]string{"logfile": "log/postgresql.log"}, false, "logfile"},
		{"relative socketdir", map[string]string{"socketdir": "run"}, false, "socketdir"},
		{"relative tmpdir", map[string]string{"tmpdir": "tmp"}, false, "tmpdir"},
		{"relative config", map[string]string{"config": "postgresql.conf"}, false, "config"},
		{"relative pglibs", map[string]string{"pglibs": "lib"}, false, "pglibs"},
		{"relative pgctl path with a slash", map[string]string{"pgctl": "bin/pg_ctl"}, false, "pgctl"},
		{"monitor_password without monitor_user", map[string]string{"monitor_password": "secret"}, false, "monitor_password"},
		{"unknown rep_mode", map[string]string{"rep_mode": "mirror"}, false, "rep_mode"},
		{"async without node_list", replicated("async", "node_list"), true, "node_list"},
		{"async without master_ip", replicated("async", "master_ip"), true, "master_ip"},
		{"async without a promotable clone", replicated("async", ""), false, "rep_mode"},
		{"sync without node_list", replicated("sync", "node_list"), true, "node_list"},
		{"sync without master_ip", replicated("sync", "master_ip"), true, "master_ip"},
		{"sync without a promotable clone", replicated("sync", ""), false, "rep_mode"},
		{"slave as a promotable clone", map[string]string{"rep_mode": "slave", "master_ip": "10.0.0.10"}, true, "rep_mode"},
		{"slave without master_ip", map[string]string{"rep_mode": "slave"}, false, "master_ip"},
		{"slot name with upper case and dash", map[string]string{"replication_slot_name": "Bad-Name"}, false, "replication_slot_name"},
		// #11: values that would break the files and logs the agent writes, or the shell
		// command line pg_ctl builds, and integers that overflow.
		{"tmpdir with a newline", map[string]string{"tmpdir": "/srv/tmp'\ninclude '/etc/shadow"}, false, "tmpdir"},
		{"pgdba with a newline", map[string]string{"pgdba": "postgres\nERROR: forged"}, false, "pgdba"},
		{"start_opt with an escape sequence", map[string]string{"start_opt": "\x1b[2J-c x=1"}, false, "start_opt"},
		{"node_list with a carriage return", map[string]string{"node_list": "node1\rnode2"}, false, "node_list"},
		{"monitor_password with a control character", map[string]string{"monitor_user": "m", "monitor_password": "se\x07cret"}, false, "monitor_password"},
		{"logfile with a command substitution", map[string]string{"logfile": "/var/log/$(id).log"}, false, "logfile"},
		{"pgdata with a backquote", map[string]string{"pgdata": "/srv/`id`", "config": "/etc/pg.conf"}, false, "pgdata"},
		{"socketdir with a double quote", map[string]string{"socketdir": `/run/pg"x`}, false, "socketdir"},
		{"tmpdir with a tab", map[string]string{"tmpdir": "/srv/\ttmp"}, false, "tmpdir"},
		{"stop_escalate beyond a day", map[string]string{"stop_escalate": "9223372037"}, false, "stop_escalate"},
		{"stop_escalate_in_slave far negative", map[string]string{"stop_escalate_in_slave": "-9223372037"}, false, "stop_escalate_in_slave"},
		{"xlog_check_count huge", map[string]string{"xlog_check_count": "9223372036854775807"}, false, "xlog_check_count"},
		{"crm_attr_timeout beyond an hour", map[string]string{"crm_attr_timeout": "3601"}, false, "crm_attr_timeout"},
		// issue #13 §4
		{"max_lag with a unit", map[string]string{"max_lag": "16MB"}, false, "max_lag"},
		{"max_lag negative", map[string]string{"max_lag": "-1"}, false, "max_lag"},
		{"max_lag beyond 2^63", map[string]string{"max_lag": "9223372036854775808"}, false, "max_lag"},
		{"no_promote_nodes names a node outside node_list", with(replicated("async", ""), "no_promote_nodes", "node3"), true, "no_promote_nodes"},
		{"no_promote_nodes names every node", with(replicated("sync", ""), "no_promote_nodes", "Node1 node2"), true, "no_promote_nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(values(t, tc.params), Env{Promotable: tc.promotable})
			if err == nil {
				t.Fatalf("ParseConfig accepted %v", tc.params)
			}
			list := problems(err)
			if len(list) != 1 {
				t.Fatalf("%d problems, want 1: %v", len(list), err)
			}
			if list[0].RC != ErrConfigured {
				t.Errorf("RC = %v, want %v (%s)", list[0].RC, ErrConfigured, list[0].Reason)
			}
			if !strings.Contains(list[0].Reason, tc.names) {
				t.Errorf("reason %q does not name %s", list[0].Reason, tc.names)
			}
			if strings.IndexFunc(list[0].Reason, unicode.IsControl) >= 0 || strings.Contains(list[0].Reason, "se\x07cret") {
				t.Errorf("reason %q holds a control character or the password", list[0].Reason)
			}
			if rc, _ := summarize(list); rc != ErrConfigured {
				t.Errorf("summarize RC = %v, want %v", rc, ErrConfigured)
			}
		})
	}
}

// A bad value leaves the rest of the configuration usable (stop needs only pgdata), and the
// bad integer falls back to its default.
func TestParseConfigKeepsWhatParsed(t *testing.T) {
	c, err := ParseConfig(values(t, map[string]string{"pgport": "abc", "pgdata": "/srv/pg", "stop_escalate": "x"}), Env{})
	if err == nil {
		t.Fatal("bad pgport accepted")
	}
	if c.PgData != "/srv/pg" {
		t.Errorf("PgData = %q, want /srv/pg despite the other problems", c.PgData)
	}
	if c.PgPort != 5432 || c.StopEscalate != 90 {
		t.Errorf("PgPort %d, StopEscalate %d; want the defaults 5432 and 90 in place of bad values", c.PgPort, c.StopEscalate)
	}
}

func TestParseConfigReportsAllProblems(t *testing.T) {
	_, err := ParseConfig(values(t, map[string]string{
		"pgport": "abc", "pgdata": "data", "config": "/etc/pg.conf", "rep_mode": "mirror", "check_wal_receiver": "2",
	}), Env{})
	list := problems(err)
	if len(list) != 4 {
		t.Fatalf("%d problems, want 4: %v", len(list), err)
	}
	for _, name := range []string{"pgport", "pgdata", "rep_mode", "check_wal_receiver"} {
		if !slices.ContainsFunc(list, func(e *Error) bool { return strings.Contains(e.Reason, name) }) {
			t.Errorf("no problem names %s: %v", name, err)
		}
	}
	for _, want := range []string{"pgport", "pgdata", "rep_mode", "check_wal_receiver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error text %q does not mention %s", err.Error(), want)
		}
	}
	rc, reason := summarize(list)
	if rc != ErrConfigured {
		t.Errorf("summarize RC = %v, want %v", rc, ErrConfigured)
	}
	if !strings.Contains(reason, "(and 3 more") {
		t.Errorf("summarize reason %q does not count the 3 other problems", reason)
	}
}

// TestClusterToolCallsAreBounded: crm_attr_timeout bounds each call of a cluster tool, not
// only the action's deadline (issue #10: the parameter was parsed and never used).
func TestClusterToolCallsAreBounded(t *testing.T) {
	if got := CrmAttrTimeout(metadata.Values{"crm_attr_timeout": "2"}); got != 2*time.Second {
		t.Errorf("crm_attr_timeout=2 gives %v", got)
	}
	if got := CrmAttrTimeout(metadata.Values{"crm_attr_timeout": "x"}); got != 5*time.Second {
		t.Errorf("an invalid crm_attr_timeout gives %v, want the default 5s", got)
	}
	run := CommandRunner(func(string) string { return "" }, 200*time.Millisecond)
	began := time.Now()
	_, _, err := run(context.Background(), []string{"sleep", "5"})
	if took := time.Since(began); err == nil || took > 2*time.Second {
		t.Errorf("a hung tool call returned after %v with %v; want an error after about 0.2s", took, err)
	}
}

// with is m with the key/value pairs kv added.
func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestStartProblems: start_opt and ctl_opt values that pg_ctl's shell would read other than
// word by word, ahead of the options the agent puts after them (a locked standby's pins:
// reviews 33, 34), are refused by every action that may start the server, with one reason
// naming the parameter and what is wrong in it; monitor, stop, notify and status go on, with
// a warning, so that a server an earlier version started with them is not stopped by
// Pacemaker everywhere after an upgrade.
func TestStartProblems(t *testing.T) {
	var logged strings.Builder
	mayStart := map[string]bool{"start": true, "demote": true, "validate-all": true,
		"promote": false, "monitor": false, "stop": false, "notify": false, "status": false}
	for _, tc := range []struct{ param, value, detail string }{
		{"start_opt", "-c work_mem=8MB; -c x=1", "';' at byte 15"},
		{"start_opt", `-c "data_directory=$PGDATA"`, "'$'"},
		{"start_opt", "-c a=`id`", "'`'"},
		{"start_opt", "-c 'unterminated", "unterminated"},
		{"ctl_opt", `-o "-c work_mem=8MB # batch"`, "pg_ctl's -o"},
		{"ctl_opt", "-wo-c", "pg_ctl's -o"},
		{"ctl_opt", "--opt=-c", "pg_ctl's --options"},
		{"ctl_opt", "-s -t", "without its value"},
		{"ctl_opt", `-sp'/usr/bin/postgres" #'`, "pg_ctl's -p"},
		{"ctl_opt", "--help", "start nothing"},
		{"ctl_opt", "-l 'unterminated", "unterminated"},
		{"start_opt", "-c search_path={a,b}", "'{'"},
	} {
		c, err := ParseConfig(values(t, map[string]string{tc.param: tc.value}), Env{})
		if err != nil {
			t.Errorf("%s=%q: ParseConfig refused it for every action: %v", tc.param, tc.value, err)
		}
		list := problems(c.StartProblems)
		if len(list) != 1 || list[0].RC != ErrConfigured || !strings.HasPrefix(list[0].Reason, tc.param+": ") || !strings.Contains(list[0].Reason, tc.detail) {
			t.Errorf("%s=%q: start problems %v, want one of code %v naming %s and %q", tc.param, tc.value, list, ErrConfigured, tc.param, tc.detail)
			continue
		}
		for action, refused := range mayStart {
			logged.Reset()
			a := &Agent{Env: Env{Action: action}, Log: NewLogger(LogSettings{}, &logged)}
			got := a.withStartProblems(c, nil)
			if (got != nil) != refused {
				t.Errorf("%s=%q, %s: %v, want refused %v", tc.param, tc.value, action, got, refused)
			}
			if !refused && !strings.Contains(logged.String(), tc.param+": ") {
				t.Errorf("%s=%q, %s: no warning in the log %q", tc.param, tc.value, action, logged.String())
			}
		}
		restarting := c
		restarting.RestartOnPromote = true
		a := &Agent{Env: Env{Action: "promote"}, Log: NewLogger(LogSettings{}, io.Discard)}
		if a.withStartProblems(restarting, nil) == nil {
			t.Errorf("%s=%q: a promote that restarts the server (restart_on_promote) went on", tc.param, tc.value)
		}
		if err := a.startServer(context.Background(), c, System{}, pgctl.Server{}); err == nil || !strings.Contains(err.Error(), tc.param) {
			t.Errorf("%s=%q: startServer: %v, want the start problem", tc.param, tc.value, err)
		}
	}
	if c, err := ParseConfig(values(t, map[string]string{"start_opt": "-c a=1 # why", "ctl_opt": "-s -t 60"}), Env{}); err != nil || c.StartProblems != nil {
		t.Errorf("a commented start_opt and a complete ctl_opt: %v, %v", err, c.StartProblems)
	}
}
