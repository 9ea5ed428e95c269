package metadata

import (
	"testing"
)

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestResolvePrecedence(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		param string
		want  string
	}{
		{"default when neither flag nor env", nil, nil, "pgport", "5432"},
		{"env beats default", nil, map[string]string{"OCF_RESKEY_pgport": "5433"}, "pgport", "5433"},
		{"flag beats env", []string{"--pgport=5434"}, map[string]string{"OCF_RESKEY_pgport": "5433"}, "pgport", "5434"},
		{"flag beats default", []string{"--pgport", "5435"}, nil, "pgport", "5435"},
		{"empty env value means default", nil, map[string]string{"OCF_RESKEY_pgport": ""}, "pgport", "5432"},
		{"empty flag value falls through to env", []string{"--pgport="}, map[string]string{"OCF_RESKEY_pgport": "5433"}, "pgport", "5433"},
		{"empty flag and no env gives default", []string{"--pgport="}, nil, "pgport", "5432"},
		{"dash form of a flag name", []string{"--stop-escalate=5"}, nil, "stop_escalate", "5"},
		{"underscore form of a flag name", []string{"--stop_escalate=6"}, nil, "stop_escalate", "6"},
		{"dash form beats env", []string{"--stop-escalate-in-slave=7"}, map[string]string{"OCF_RESKEY_stop_escalate_in_slave": "8"}, "stop_escalate_in_slave", "7"},
		{"env of another parameter does not leak", nil, map[string]string{"OCF_RESKEY_pgdba": "pg"}, "repuser", "postgres"},
		{"parameter without default stays empty", nil, nil, "master_ip", ""},
		{"env without prefix is ignored", nil, map[string]string{"pgport": "1"}, "pgport", "5432"},
		{"config default follows pgdata from env", nil, map[string]string{"OCF_RESKEY_pgdata": "/x"}, "config", "/x/postgresql.conf"},
		{"config default follows pgdata from flag", []string{"--pgdata=/x"}, nil, "config", "/x/postgresql.conf"},
		{"config default with default pgdata", nil, nil, "config", "/var/lib/pgsql/data/postgresql.conf"},
		{"explicit config kept", []string{"--pgdata=/x"}, map[string]string{"OCF_RESKEY_config": "/etc/pg/main.conf"}, "config", "/etc/pg/main.conf"},
		{"explicit config flag kept", []string{"--config=/etc/pg/flag.conf", "--pgdata=/x"}, nil, "config", "/etc/pg/flag.conf"},
		{"value with blanks kept verbatim", nil, map[string]string{"OCF_RESKEY_node_list": "  a  b "}, "node_list", "  a  b "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := NewFlagSet("test")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatalf("Parse(%q): %v", tc.args, err)
			}
			got := Resolve(fs, mapEnv(tc.env))
			if got[tc.param] != tc.want {
				t.Errorf("%s = %q, want %q", tc.param, got[tc.param], tc.want)
			}
		})
	}
}

func TestResolveGivesEveryParameter(t *testing.T) {
	fs := NewFlagSet("test")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	got := Resolve(fs, mapEnv(nil))
	if len(got) != len(Params) {
		t.Errorf("Resolve returned %d values, want one per parameter (%d)", len(got), len(Params))
	}
	for _, p := range Params {
		v, ok := got[p.Name]
		if !ok {
			t.Errorf("no value for %s", p.Name)
			continue
		}
		if want := ExpandDefault(p, DefaultPGData()); v != want {
			t.Errorf("%s = %q, want its default %q", p.Name, v, want)
		}
	}
}

func TestNewFlagSetHasOneFlagPerParameter(t *testing.T) {
	fs := NewFlagSet("test")
	for _, p := range Params {
		f := fs.Lookup(p.Name)
		if f == nil {
			t.Errorf("no flag --%s", p.Name)
			continue
		}
		if f.DefValue != "" {
			t.Errorf("flag --%s has default %q; defaults must come from Resolve so env can win", p.Name, f.DefValue)
		}
	}
	if err := fs.Parse([]string{"--no-such-parameter=1"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
