package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var logClock = time.Date(2026, time.March, 5, 7, 8, 9, 0, time.Local)

func fixedClock(l *Logger) *Logger {
	l.now = func() time.Time { return logClock }
	return l
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoggerFileLineFormat(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ha.log")
	var stderr bytes.Buffer
	l := fixedClock(NewLogger(LogSettings{Tag: "pgsql(x)[123]", File: file}, &stderr))
	defer l.Close()

	l.Info("msg", "key", "value")
	l.Warn("careful", "n", 3)
	l.Error("failed", "path", "/srv/pg data", "empty", "")

	want := "Mar 05 07:08:09 pgsql(x)[123]:    INFO: msg key=value\n" +
		"Mar 05 07:08:09 pgsql(x)[123]:    WARNING: careful n=3\n" +
		"Mar 05 07:08:09 pgsql(x)[123]:    ERROR: failed path=\"/srv/pg data\" empty=\"\"\n"
	if got := readLog(t, file); got != want {
		t.Errorf("log file =\n%s\nwant\n%s", got, want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr used although HA_LOGFILE is set: %q", stderr.String())
	}
}

// TestLoggerEscapesControls: a newline or escape sequence in a message or value (a
// parameter, an error text) cannot forge a log line or reach a terminal (#11).
func TestLoggerEscapesControls(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ha.log")
	l := fixedClock(NewLogger(LogSettings{Tag: "t", File: file}, &bytes.Buffer{}))
	l.Error("pgdba=postgres\nERROR: forged: no such user", "cause", "x\ny", "path", "/srv/\x1b[31mred")
	got := readLog(t, file)
	want := `Mar 05 07:08:09 t:    ERROR: pgdba=postgres\nERROR: forged: no such user cause="x\ny" path="/srv/\x1b[31mred"` + "\n"
	if got != want {
		t.Errorf("log file =\n%q\nwant\n%q", got, want)
	}
}

func TestLoggerAppends(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ha.log")
	if err := os.WriteFile(file, []byte("earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := fixedClock(NewLogger(LogSettings{Tag: "t", File: file}, &bytes.Buffer{}))
	l.Info("later")
	if got := readLog(t, file); !strings.HasPrefix(got, "earlier line\n") || !strings.HasSuffix(got, "INFO: later\n") {
		t.Errorf("log file = %q, want the old line kept and the new one appended", got)
	}
}

func TestFormatFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []any
		want string
	}{
		{"none", nil, ""},
		{"plain value", []any{"key", "value"}, " key=value"},
		{"integer value", []any{"rc", 7}, " rc=7"},
		{"value with a blank quoted", []any{"path", "/a b"}, ` path="/a b"`},
		{"value with a tab quoted", []any{"v", "a\tb"}, ` v="a\tb"`},
		{"empty value quoted", []any{"v", ""}, ` v=""`},
		{"value with = quoted", []any{"conninfo", "host=x"}, ` conninfo="host=x"`},
		{"value with a double quote escaped", []any{"v", `say "hi"`}, ` v="say \"hi\""`},
		{"several pairs in order", []any{"a", 1, "b", "two"}, " a=1 b=two"},
		{"odd trailing key dropped", []any{"a", 1, "dangling"}, " a=1"},
		{"error value", []any{"err", fmt.Errorf("no such file")}, ` err="no such file"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatFields(tc.kv); got != tc.want {
				t.Errorf("formatFields(%v) = %q, want %q", tc.kv, got, tc.want)
			}
		})
	}
}

func TestLoggerDebug(t *testing.T) {
	for _, tc := range []struct {
		name  string
		debug bool
		want  bool
	}{
		{"suppressed without HA_debug", false, false},
		{"written with HA_debug", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			l := fixedClock(NewLogger(LogSettings{Tag: "t", Debug: tc.debug}, &stderr))
			l.Debug("details", "k", "v")
			if got := strings.Contains(stderr.String(), "DEBUG: details k=v"); got != tc.want {
				t.Errorf("debug line written = %v, want %v (output %q)", got, tc.want, stderr.String())
			}
		})
	}
}

func TestLoggerDebugFile(t *testing.T) {
	dir := t.TempDir()
	file, debugFile := filepath.Join(dir, "ha.log"), filepath.Join(dir, "ha-debug.log")

	quiet := fixedClock(NewLogger(LogSettings{Tag: "t", File: file, DebugFile: debugFile}, &bytes.Buffer{}))
	quiet.Info("hello")
	if _, err := os.Stat(debugFile); err == nil {
		t.Errorf("HA_DEBUGLOG written without HA_debug: %q", readLog(t, debugFile))
	}

	l := fixedClock(NewLogger(LogSettings{Tag: "t", File: file, DebugFile: debugFile, Debug: true}, &bytes.Buffer{}))
	l.Info("info line")
	l.Debug("debug line")
	if got := readLog(t, debugFile); !strings.Contains(got, "INFO: info line") || !strings.Contains(got, "DEBUG: debug line") {
		t.Errorf("debug file = %q, want the info and the debug line", got)
	}
	if got := readLog(t, file); !strings.Contains(got, "INFO: info line") {
		t.Errorf("log file = %q, want the info line", got)
	}
	if got := readLog(t, file); strings.Contains(got, "DEBUG:") {
		// REFERENCE §10.3: "debug goes to the debug path only" (ha_debug never writes
		// HA_LOGFILE).
		t.Errorf("with HA_DEBUGLOG set, DEBUG lines also went to HA_LOGFILE: %q", got)
	}
}

func TestLoggerDebugFileIgnoredWhenSameOrDevNull(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ha.log")
	for _, tc := range []struct{ name, debugFile string }{
		{"same as HA_LOGFILE: one line, not two", file},
		{"/dev/null", "/dev/null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			l := fixedClock(NewLogger(LogSettings{Tag: "t", File: file, DebugFile: tc.debugFile, Debug: true}, &bytes.Buffer{}))
			if l.file != file || l.debugFile != "" {
				t.Errorf("destinations %q and %q, want only %s", l.file, l.debugFile, file)
			}
			l.Info("once")
			if n := strings.Count(readLog(t, file), "INFO: once"); n != 1 {
				t.Errorf("line written %d times, want once", n)
			}
		})
	}
}

func TestLoggerStderrChoice(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		settings   LogSettings
		wantStderr bool
		wantFile   bool
	}{
		{"nothing set: stderr", LogSettings{}, true, false},
		{"facility none and no file: stderr", LogSettings{Facility: "none"}, true, false},
		{"unknown facility and no file: stderr", LogSettings{Facility: "bogus"}, true, false},
		{"file set: file only", LogSettings{File: "F"}, false, true},
		{"facility none and file: file only", LogSettings{Facility: "none", File: "F"}, false, true},
		{"stdin is a terminal: stderr only, even with a file", LogSettings{File: "F", StdinIsTerminal: true}, true, false},
		{"stdin is a terminal, nothing else: stderr", LogSettings{StdinIsTerminal: true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings
			s.Tag = "t"
			file := filepath.Join(dir, strings.NewReplacer(" ", "_", ":", "", ",", "").Replace(tc.name)+".log")
			if s.File == "F" {
				s.File = file
			}
			var stderr bytes.Buffer
			l := fixedClock(NewLogger(s, &stderr))
			defer l.Close()
			l.Info("where")
			if got := strings.Contains(stderr.String(), "INFO: where"); got != tc.wantStderr {
				t.Errorf("stderr used = %v, want %v", got, tc.wantStderr)
			}
			if got := strings.Contains(readLog(t, file), "INFO: where"); got != tc.wantFile {
				t.Errorf("file used = %v, want %v", got, tc.wantFile)
			}
			if tc.wantStderr {
				if want := "Mar 05 07:08:09 t:    INFO: where\n"; stderr.String() != want {
					t.Errorf("stderr = %q, want %q (dated, like the file)", stderr.String(), want)
				}
			}
		})
	}
}

// With a syslog facility, stderr is used only when syslog cannot be reached (no /dev/log in a
// container): the line must go somewhere.
func TestLoggerFacilityNeedsNoStderr(t *testing.T) {
	var stderr bytes.Buffer
	l := NewLogger(LogSettings{Tag: "pgsql-ra-test", Facility: "daemon"}, &stderr)
	defer l.Close()
	if l.toStderr != (l.syslog == nil) {
		t.Errorf("toStderr = %v with syslog connected = %v; want stderr exactly when syslog is unavailable", l.toStderr, l.syslog != nil)
	}
}

func TestReadLogSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want LogSettings
	}{
		{"nothing set", nil, LogSettings{}},
		{"HA_ variables", map[string]string{"HA_LOGFACILITY": "daemon", "HA_LOGFILE": "/var/log/ha.log", "HA_DEBUGLOG": "/var/log/ha-debug.log", "HA_debug": "1"},
			LogSettings{Facility: "daemon", File: "/var/log/ha.log", DebugFile: "/var/log/ha-debug.log", Debug: true}},
		{"PCMK_ variables as fallback", map[string]string{"PCMK_logfacility": "local0", "PCMK_logfile": "/var/log/pacemaker.log", "PCMK_debugfile": "/tmp/d", "PCMK_debug": "yes"},
			LogSettings{Facility: "local0", File: "/var/log/pacemaker.log", DebugFile: "/tmp/d", Debug: true}},
		{"HA_ wins over PCMK_", map[string]string{"HA_LOGFILE": "/a", "PCMK_logfile": "/b"}, LogSettings{File: "/a"}},
		{"HA_debug=0 is off", map[string]string{"HA_debug": "0"}, LogSettings{}},
		{"HA_debug=no is off", map[string]string{"HA_debug": "no"}, LogSettings{}},
		{"HA_debug=false is off", map[string]string{"HA_debug": "false"}, LogSettings{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ReadLogSettings("cfpgsql", getenvFrom(tc.env), true)
			want := tc.want
			want.Tag = fmt.Sprintf("pgsql(cfpgsql)[%d]", os.Getpid())
			want.StdinIsTerminal = true
			if got != want {
				t.Errorf("ReadLogSettings =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}
