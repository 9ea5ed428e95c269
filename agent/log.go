package agent

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Logger writes the agent's log lines where Pacemaker's shell library would (REFERENCE §10.3):
// syslog when HA_LOGFACILITY names a facility, the file HA_LOGFILE, and stderr when neither
// is set or when run from a terminal. Lines are "LEVEL: message key=value ...". Passwords
// are never handed to it.
type Logger struct {
	tag       string
	stderr    io.Writer
	toStderr  bool
	file      string // HA_LOGFILE: every line but debug
	debugFile string // HA_DEBUGLOG (with HA_debug): every line
	syslog    *syslog.Writer
	debug     bool
	now       func() time.Time
}

// LogSettings are the environment variables that steer logging.
type LogSettings struct {
	Tag             string // e.g. "pgsql(cfpgsql)[1234]"
	Facility        string // HA_LOGFACILITY / PCMK_logfacility
	File            string // HA_LOGFILE / PCMK_logfile
	DebugFile       string // HA_DEBUGLOG / PCMK_debugfile
	Debug           bool   // HA_debug
	StdinIsTerminal bool
}

// ReadLogSettings reads the logging variables Pacemaker exports.
func ReadLogSettings(instance string, getenv func(string) string, stdinIsTerminal bool) LogSettings {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	debug := first("HA_debug", "PCMK_debug")
	return LogSettings{
		Tag:             fmt.Sprintf("pgsql(%s)[%d]", instance, os.Getpid()),
		Facility:        first("HA_LOGFACILITY", "PCMK_logfacility"),
		File:            first("HA_LOGFILE", "PCMK_logfile"),
		DebugFile:       first("HA_DEBUGLOG", "PCMK_debugfile"),
		Debug:           debug != "" && debug != "0" && debug != "no" && debug != "false",
		StdinIsTerminal: stdinIsTerminal,
	}
}

// NewLogger builds a logger; stderr receives lines when no other destination is set.
func NewLogger(s LogSettings, stderr io.Writer) *Logger {
	l := &Logger{tag: s.Tag, stderr: stderr, debug: s.Debug, now: time.Now}
	if s.StdinIsTerminal {
		l.toStderr = true
		return l
	}
	if s.Facility != "" && s.Facility != "none" {
		if priority, ok := facilities[s.Facility]; ok {
			if w, err := syslog.New(priority|syslog.LOG_INFO, s.Tag); err == nil {
				l.syslog = w
			}
		}
	}
	l.file = s.File
	if s.Debug && s.DebugFile != s.File && s.DebugFile != "/dev/null" {
		l.debugFile = s.DebugFile
	}
	l.toStderr = l.syslog == nil && l.file == "" && l.debugFile == ""
	return l
}

var facilities = map[string]syslog.Priority{
	"daemon": syslog.LOG_DAEMON, "user": syslog.LOG_USER, "local0": syslog.LOG_LOCAL0,
	"local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
	"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6,
	"local7": syslog.LOG_LOCAL7, "authpriv": syslog.LOG_AUTHPRIV,
}

func (l *Logger) Debug(msg string, kv ...any) {
	if l.debug {
		l.write("DEBUG", msg, kv)
	}
}
func (l *Logger) Info(msg string, kv ...any)  { l.write("INFO", msg, kv) }
func (l *Logger) Warn(msg string, kv ...any)  { l.write("WARNING", msg, kv) }
func (l *Logger) Error(msg string, kv ...any) { l.write("ERROR", msg, kv) }

// Close releases the syslog connection.
func (l *Logger) Close() {
	if l.syslog != nil {
		l.syslog.Close()
	}
}

func (l *Logger) write(level, msg string, kv []any) {
	line := level + ": " + escapeControls(msg) + formatFields(kv)
	if l.syslog != nil {
		switch level {
		case "ERROR":
			_ = l.syslog.Err(line)
		case "WARNING":
			_ = l.syslog.Warning(line)
		case "DEBUG":
			_ = l.syslog.Debug(line)
		default:
			_ = l.syslog.Info(line)
		}
	}
	stamped := l.now().Format("Jan 02 15:04:05") + " " + l.tag + ":    " + line + "\n"
	if level != "DEBUG" {
		appendLine(l.file, stamped)
	}
	appendLine(l.debugFile, stamped)
	if l.toStderr {
		_, _ = io.WriteString(l.stderr, stamped)
	}
}

// formatFields renders key/value pairs as " key=value", quoting values with blanks or
// control characters.
func formatFields(kv []any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		value := fmt.Sprint(kv[i+1])
		if value == "" || strings.ContainsAny(value, " \t\"=") || strings.IndexFunc(value, unicode.IsControl) >= 0 {
			value = fmt.Sprintf("%q", value)
		}
		fmt.Fprintf(&b, " %v=%s", kv[i], value)
	}
	return b.String()
}

// escapeControls writes control characters as Go escapes (\n, \x1b), so that no value can
// start a forged log line or reach a terminal as an escape sequence (#11).
func escapeControls(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// appendLine appends to HA_LOGFILE or HA_DEBUGLOG, root's own log files named by
// Pacemaker's environment (no path the database owner controls).
func appendLine(path, line string) {
	if path == "" {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		_, _ = f.WriteString(line)
		f.Close()
	}
}
