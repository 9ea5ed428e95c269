package pgctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStandbyLayouts: PostgreSQL 12+ gets the settings in <tmpdir>/recovery.conf (included
// from postgresql.conf) and standby.signal; PostgreSQL 11 and older get <pgdata>/recovery.conf
// with standby_mode, and postgresql.conf is left alone.
func TestStandbyLayouts(t *testing.T) {
	owner := OSUser{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	settings := StandbySettings{PrimaryConninfo: "host=10.0.0.100 port=5432 user=rep application_name=node2",
		RestoreCommand: "cp /arch/%f %p", PrimarySlotName: "slot_node2"}
	cases := []struct {
		name                 string
		version              Version
		settingsFile, marker string // relative to the test directory
		standbyMode          bool
		includeAdded         bool
	}{
		{"15: tmpdir settings, standby.signal, include line", Version{15, 0}, "tmp/recovery.conf", "data/standby.signal", false, true},
		{"12: the first release without recovery.conf", Version{12, 0}, "tmp/recovery.conf", "data/standby.signal", false, true},
		{"11: recovery.conf in PGDATA is settings and marker", Version{11, 0}, "data/recovery.conf", "data/recovery.conf", true, false},
		{"9.6: as 11", Version{9, 6}, "data/recovery.conf", "data/recovery.conf", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pgdata := filepath.Join(dir, "data")
			if err := os.MkdirAll(pgdata, 0o700); err != nil {
				t.Fatal(err)
			}
			config := filepath.Join(pgdata, "postgresql.conf")
			if err := os.WriteFile(config, []byte("port = 5432\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			l := Layout{Version: tc.version, PgData: pgdata, TmpDir: filepath.Join(dir, "tmp"), Config: config}
			if l.IsConfiguredStandby() {
				t.Fatal("a standby before ConfigureStandby")
			}
			if err := l.ConfigureStandby(settings, owner); err != nil {
				t.Fatal(err)
			}
			if got := l.SettingsFile(); got != filepath.Join(dir, tc.settingsFile) {
				t.Errorf("settings in %s, want %s", got, tc.settingsFile)
			}
			if got := l.StandbyMarker(); got != filepath.Join(dir, tc.marker) {
				t.Errorf("marker %s, want %s", got, tc.marker)
			}
			content, err := os.ReadFile(filepath.Join(dir, tc.settingsFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"primary_conninfo = 'host=10.0.0.100", "restore_command = 'cp /arch/%f %p'",
				"recovery_target_timeline = 'latest'", "primary_slot_name = 'slot_node2'"} {
				if !strings.Contains(string(content), want) {
					t.Errorf("settings lack %q:\n%s", want, content)
				}
			}
			if got := strings.Contains(string(content), "standby_mode = 'on'"); got != tc.standbyMode {
				t.Errorf("standby_mode present = %v, want %v:\n%s", got, tc.standbyMode, content)
			}
			conf, _ := os.ReadFile(config)
			if got := strings.Contains(string(conf), "include"); got != tc.includeAdded {
				t.Errorf("include line added = %v, want %v:\n%s", got, tc.includeAdded, conf)
			}
			if !l.IsConfiguredStandby() {
				t.Error("not a standby after ConfigureStandby")
			}
			if err := l.ClearStandby(); err != nil || l.IsConfiguredStandby() {
				t.Errorf("still a standby after ClearStandby (%v)", err)
			}
		})
	}
}

// TestCurrentTimelineBefore12: a standby kept on its timeline (CurrentTimeline) gets
// recovery_target_timeline='current' from 12 on; before 12 the line is left out, since the
// server reads 'current' as 0, which there means latest, and its default is the current
// timeline (review 28).
func TestCurrentTimelineBefore12(t *testing.T) {
	for _, c := range []struct {
		v    Version
		want string // "": no recovery_target_timeline line
	}{{Version{9, 6}, ""}, {Version{11, 0}, ""}, {Version{12, 0}, "recovery_target_timeline = 'current'"}, {Version{15, 0}, "recovery_target_timeline = 'current'"}} {
		got := string(StandbySettings{PrimaryConninfo: "host=h", CurrentTimeline: true}.Render(c.v))
		if c.want == "" && strings.Contains(got, "recovery_target_timeline") || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("PostgreSQL %v, kept on its timeline:\n%swant %q", c.v, got, c.want)
		}
		if latest := string(StandbySettings{PrimaryConninfo: "host=h"}.Render(c.v)); !strings.Contains(latest, "recovery_target_timeline = 'latest'") {
			t.Errorf("PostgreSQL %v, following the primary:\n%swant recovery_target_timeline = 'latest'", c.v, latest)
		}
	}
}

// TestFollowNobodyBefore12: a standby that must follow nobody gets no primary_conninfo and no
// restore_command before 12, where recovery.conf's empty values count as set (a WAL receiver
// with an empty conninfo reaches the server itself); from 12 on it gets them empty, which
// unsets them and overrides postgresql.conf (review 29, finding A).
func TestFollowNobodyBefore12(t *testing.T) {
	for _, c := range []struct {
		v     Version
		empty bool // the empty lines are written
	}{{Version{9, 6}, false}, {Version{10, 0}, false}, {Version{11, 0}, false}, {Version{12, 0}, true}, {Version{15, 0}, true}} {
		got := string(StandbySettings{CurrentTimeline: true}.Render(c.v))
		for _, line := range []string{"primary_conninfo = ''", "restore_command = ''"} {
			if strings.Contains(got, line) != c.empty {
				t.Errorf("PostgreSQL %v, follow nobody: %q written %v, want %v:\n%s", c.v, line, !c.empty, c.empty, got)
			}
		}
		if set := string(StandbySettings{PrimaryConninfo: "host=h", RestoreCommand: "cp %p %f"}.Render(c.v)); !strings.Contains(set, "primary_conninfo = 'host=h'") || !strings.Contains(set, "restore_command = 'cp %p %f'") {
			t.Errorf("PostgreSQL %v, following the primary:\n%s", c.v, set)
		}
	}
}

// TestServerOptions: from 12 on a standby that follows nobody gets its empty primary_conninfo
// and restore_command and its current timeline on the server's command line after start_opt
// (they win over postgresql.auto.conf and start_opt: review 30), and empty recovery targets
// before start_opt (the server refuses a second kind of target after a first, even empty:
// review 32); a standby that follows the primary, or one before 12 (recovery.conf is the only
// source), gets start_opt alone.
func TestServerOptions(t *testing.T) {
	targets := "-c recovery_target= -c recovery_target_lsn= -c recovery_target_name= -c recovery_target_time= -c recovery_target_xid="
	pins := "-c primary_conninfo= -c restore_command= -c recovery_target_timeline=current -c archive_cleanup_command="
	nobody := StandbySettings{CurrentTimeline: true}
	following := StandbySettings{PrimaryConninfo: "host=h", RestoreCommand: "cp %p %f"}
	for _, c := range []struct {
		s        StandbySettings
		v        Version
		startOpt string
		want     string
	}{
		{nobody, Version{16, 0}, "", targets + " " + pins},
		{nobody, Version{15, 0}, "", targets + " " + pins + " -c promote_trigger_file="},
		{nobody, Version{12, 0}, "-c recovery_target_name=x", targets + " -c recovery_target_name=x " + pins + " -c promote_trigger_file="},
		{nobody, Version{11, 0}, "-c work_mem=4MB", "-c work_mem=4MB"},
		{nobody, Version{9, 6}, "", ""},
		{following, Version{15, 0}, "-c work_mem=4MB", "-c work_mem=4MB"},
	} {
		if got := strings.Join(c.s.ServerOptions(c.v, strings.Fields(c.startOpt)), " "); got != c.want {
			t.Errorf("PostgreSQL %v, %+v, start_opt %q: %q, want %q", c.v, c.s, c.startOpt, got, c.want)
		}
	}
}
