package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

	// ocf_log's HA_LOGFILE line: its date format ends in a blank, then one more before the tag.
	want := "Mar 05 07:08:09  pgsql(x)[123]:    INFO: msg key=value\n" +
		"Mar 05 07:08:09  pgsql(x)[123]:    WARNING: careful n=3\n" +
		"Mar 05 07:08:09  pgsql(x)[123]:    ERROR: failed path=\"/srv/pg data\" empty=\"\"\n"
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
	want := `Mar 05 07:08:09  t:    ERROR: pgdba=postgres\nERROR: forged: no such user cause="x\ny" path="/srv/\x1b[31mred"` + "\n"
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
	// ocf_log's HA_DEBUGLOG line puts the tag first and the date after a tab.
	want := "t:\tMar 05 07:08:09 INFO: info line\nt:\tMar 05 07:08:09 DEBUG: debug line\n"
	if got := readLog(t, debugFile); got != want {
		t.Errorf("debug file =\n%q\nwant\n%q", got, want)
	}
	if got := readLog(t, file); !strings.Contains(got, "INFO: info line") {
		t.Errorf("log file = %q, want the info line", got)
	}
	if got := readLog(t, file); strings.Contains(got, "DEBUG:") {
		// ocf-shellfuncs: "debug goes to the debug path only" (ha_debug never writes
		// HA_LOGFILE).
		t.Errorf("with HA_DEBUGLOG set, DEBUG lines also went to HA_LOGFILE: %q", got)
	}
}

// Pacemaker with PCMK_debug sets HA_DEBUGLOG to HA_LOGFILE: ocf_log writes each line there
// once, the debug lines too (ha_debug writes HA_DEBUGLOG whatever it is).
func TestLoggerDebugFileSameOrDevNull(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ha.log")
	for _, tc := range []struct {
		name, debugFile string
		wantDebugLine   bool
	}{
		{"same as HA_LOGFILE: each line once", file, true},
		{"/dev/null: no debug lines", "/dev/null", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			l := fixedClock(NewLogger(LogSettings{Tag: "t", File: file, DebugFile: tc.debugFile, Debug: true}, &bytes.Buffer{}))
			l.Info("once")
			l.Debug("details")
			got := readLog(t, file)
			if n := strings.Count(got, "INFO: once"); n != 1 {
				t.Errorf("info line written %d times, want once:\n%s", n, got)
			}
			n := strings.Count(got, "t:\tMar 05 07:08:09 DEBUG: details\n")
			if want := map[bool]int{true: 1, false: 0}[tc.wantDebugLine]; n != want {
				t.Errorf("debug line written %d times, want %d:\n%s", n, want, got)
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
		{"by hand: stderr only, even with a file", LogSettings{File: "F", ByHand: true}, true, false},
		{"by hand, nothing else: stderr", LogSettings{ByHand: true}, true, false},
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
				if want := "Mar 05 07:08:09  t:    INFO: where\n"; stderr.String() != want {
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
			want.ByHand = true
			if got != want {
				t.Errorf("ReadLogSettings =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestRunByHand: the environment pacemaker-execd gives an action, stdin /dev/null included,
// is never "by hand"; a terminal on stderr always is.
func TestRunByHand(t *testing.T) {
	envs := []struct {
		name   string
		env    map[string]string
		byHand bool // without a terminal
	}{
		{"empty environment (a shell)", nil, true},
		{"OCF_RESOURCE_INSTANCE (ocf-tester, crm_resource --force-*)", map[string]string{"OCF_RESOURCE_INSTANCE": "cfpgsql"}, false},
		{"HA_LOGFILE only", map[string]string{"HA_LOGFILE": "/var/log/pacemaker/pacemaker.log"}, false},
		{"execd: instance, HA_LOGFILE, HA_LOGFACILITY", map[string]string{"OCF_RESOURCE_INSTANCE": "cfpgsql",
			"HA_LOGFILE": "/var/log/pacemaker/pacemaker.log", "HA_LOGFACILITY": "daemon"}, false},
		{"HA_LOGFACILITY alone says nothing", map[string]string{"HA_LOGFACILITY": "daemon"}, true},
		{"empty values count as unset", map[string]string{"OCF_RESOURCE_INSTANCE": "", "HA_LOGFILE": ""}, true},
	}
	for _, e := range envs {
		for _, tty := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, stderr a terminal %v", e.name, tty), func(t *testing.T) {
				want := e.byHand || tty
				if got := RunByHand(getenvFrom(e.env), tty); got != want {
					t.Errorf("RunByHand = %v, want %v", got, want)
				}
				if got := ReadLogSettings("cfpgsql", getenvFrom(e.env), tty).ByHand; got != want {
					t.Errorf("ReadLogSettings(...).ByHand = %v, want %v", got, want)
				}
			})
		}
	}
}

// TestLoggerUnderPacemaker: with execd's environment the lines go to HA_LOGFILE in ocf_log's
// format, and stderr (which execd logs as "error output") stays empty.
func TestLoggerUnderPacemaker(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pacemaker.log")
	env := map[string]string{"OCF_RESOURCE_INSTANCE": "cfpgsql", "HA_LOGFILE": file}
	var stderr bytes.Buffer
	l := fixedClock(NewLogger(ReadLogSettings("cfpgsql", getenvFrom(env), false), &stderr))
	defer l.Close()
	l.Info("PostgreSQL promoted", "seconds", "0.52")
	want := fmt.Sprintf("Mar 05 07:08:09  pgsql(cfpgsql)[%d]:    INFO: PostgreSQL promoted seconds=0.52\n", os.Getpid())
	if got := readLog(t, file); got != want {
		t.Errorf("HA_LOGFILE =\n%q\nwant\n%q", got, want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}

func TestIsTerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	if IsTerminal(devNull) {
		t.Errorf("%s (a character device, execd's stdin) taken for a terminal", os.DevNull)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("a pipe (execd's stderr) taken for a terminal")
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to check the positive case: %v", err)
	}
	defer ptmx.Close()
	if !IsTerminal(ptmx) {
		t.Error("a pseudo-terminal not taken for a terminal")
	}
}

// log/syslog appends "[pid]" to the tag itself; ours must not carry it twice.
func TestSyslogTag(t *testing.T) {
	for _, tc := range []struct{ tag, want string }{
		{fmt.Sprintf("pgsql(cfpgsql)[%d]", os.Getpid()), "pgsql(cfpgsql)"},
		{"pgsql(cfpgsql)[1]", "pgsql(cfpgsql)[1]"}, // not our pid: left alone
		{"t", "t"},
	} {
		if got := syslogTag(tc.tag); got != tc.want {
			t.Errorf("syslogTag(%q) = %q, want %q", tc.tag, got, tc.want)
		}
	}
}
