package agent

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unsafe"
)

// Logger writes the agent's log lines where resource-agents' ocf_log (__ha_log and ha_debug in
// heartbeat/ocf-shellfuncs.in) would, in its formats: under Pacemaker to syslog when
// HA_LOGFACILITY names a facility, to the file HA_LOGFILE and to HA_DEBUGLOG, and to stderr
// only when none of them can take the line; run by hand, to stderr only (#14). Lines are
// "LEVEL: message key=value ...". Passwords are never handed to it.
type Logger struct {
	tag       string
	stderr    io.Writer
	toStderr  bool
	file      string // HA_LOGFILE: every line but debug
	debugFile string // HA_DEBUGLOG (with HA_debug): debug lines, and the others unless it is HA_LOGFILE
	syslog    *syslog.Writer
	debug     bool
	now       func() time.Time
}

// LogSettings are the environment variables that steer logging.
type LogSettings struct {
	Tag       string // e.g. "pgsql(cfpgsql)[1234]"
	Facility  string // HA_LOGFACILITY / PCMK_logfacility
	File      string // HA_LOGFILE / PCMK_logfile
	DebugFile string // HA_DEBUGLOG / PCMK_debugfile
	Debug     bool   // HA_debug
	ByHand    bool   // run by an admin, not by Pacemaker: see RunByHand
}

// RunByHand decides whether an admin runs the agent rather than Pacemaker (or ocf-tester), from
// what is true only by hand: stderr is a terminal, or the environment has neither
// OCF_RESOURCE_INSTANCE (pacemaker-execd sets it for every OCF action) nor HA_LOGFILE (execd
// exports it unless file logging is off). A stdin of /dev/null says nothing: every action
// inherits execd's (#14).
func RunByHand(getenv func(string) string, stderrIsTerminal bool) bool {
	return stderrIsTerminal || (getenv("OCF_RESOURCE_INSTANCE") == "" && getenv("HA_LOGFILE") == "")
}

// IsTerminal reports whether f is a terminal (isatty(3): the terminal ioctl succeeds). A
// character device such as /dev/null is not one.
func IsTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// ReadLogSettings reads the logging variables Pacemaker exports.
func ReadLogSettings(instance string, getenv func(string) string, stderrIsTerminal bool) LogSettings {
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
		Tag:       fmt.Sprintf("pgsql(%s)[%d]", instance, os.Getpid()),
		Facility:  first("HA_LOGFACILITY", "PCMK_logfacility"),
		File:      first("HA_LOGFILE", "PCMK_logfile"),
		DebugFile: first("HA_DEBUGLOG", "PCMK_debugfile"),
		Debug:     debug != "" && debug != "0" && debug != "no" && debug != "false",
		ByHand:    RunByHand(getenv, stderrIsTerminal),
	}
}

// NewLogger builds a logger; stderr receives lines when run by hand or when no other
// destination is set.
func NewLogger(s LogSettings, stderr io.Writer) *Logger {
	l := &Logger{tag: s.Tag, stderr: stderr, debug: s.Debug, now: time.Now}
	if s.ByHand {
		l.toStderr = true
		return l
	}
	if s.Facility != "" && s.Facility != "none" {
		if priority, ok := facilities[s.Facility]; ok {
			if w, err := syslog.New(priority|syslog.LOG_INFO, syslogTag(s.Tag)); err == nil {
				l.syslog = w
			}
		}
	}
	l.file = s.File
	if s.Debug && s.DebugFile != "/dev/null" {
		l.debugFile = s.DebugFile
	}
	l.toStderr = l.syslog == nil && l.file == "" && l.debugFile == ""
	return l
}

// syslogTag is the tag without the "[pid]" log/syslog appends itself, so that syslog shows
// "pgsql(cfpgsql)[1234]: INFO: ..." as `logger -t "$HA_LOGTAG"` does, not the pid twice.
func syslogTag(tag string) string {
	return strings.TrimSuffix(tag, "["+strconv.Itoa(os.Getpid())+"]")
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
	// ocf-shellfuncs' formats with its HA_DATEFMT "%b %d %T " (the blank it ends with makes the
	// two before the tag): HA_LOGFILE gets "<date>  <tag>:    <line>", HA_DEBUGLOG
	// "<tag>:\t<date> <line>". ha_debug writes HA_DEBUGLOG only; ha_log skips it when it is
	// HA_LOGFILE, which is what pacemaker-execd sets it to with PCMK_debug.
	date := l.now().Format("Jan 02 15:04:05")
	fileLine := date + "  " + l.tag + ":    " + line + "\n"
	debugLine := l.tag + ":\t" + date + " " + line + "\n"
	switch {
	case level == "DEBUG":
		appendLine(l.debugFile, debugLine)
	case l.debugFile == l.file:
		appendLine(l.file, fileLine)
	default:
		appendLine(l.file, fileLine)
		appendLine(l.debugFile, debugLine)
	}
	if l.toStderr {
		_, _ = io.WriteString(l.stderr, fileLine)
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
