package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/test/labkit"
)

// TestLogsUnderPacemaker (#14): run as pacemaker-execd runs it (stdin /dev/null, stdout and
// stderr pipes, OCF_RESOURCE_INSTANCE and HA_LOGFILE set), the agent appends its lines to
// HA_LOGFILE in the stock agent's format, and stderr, which execd copies into pacemaker.log as
// "error output [ ... ]", carries nothing but the one exit-reason line of a failure.
func TestLogsUnderPacemaker(t *testing.T) {
	c := newCluster(t)
	haLog := filepath.Join(c.Dir, "pacemaker.log")
	underExecd := []string{"HA_LOGFILE=" + haLog}

	runs := []struct {
		action      string
		params      map[string]string
		wantRC      int
		level, line string
	}{
		{"start", c.params(), 0, "INFO", "PostgreSQL started"},
		{"validate-all", with(c.params(), "pgport", "abc"), 6, "ERROR", ""},
		{"stop", c.params(), 0, "INFO", "PostgreSQL stopped"},
	}
	for _, run := range runs {
		r := runAgentEnv(t, run.action, run.params, nil, underExecd)
		if r.RC != run.wantRC {
			t.Fatalf("%s: rc %d, want %d\nstderr:\n%s", run.action, r.RC, run.wantRC, r.Stderr)
		}
		if other := strings.TrimSpace(strings.Join(notExitReasons(r.Stderr), "\n")); other != "" {
			t.Errorf("%s: stderr has more than exit reasons (execd would log it as \"error output\"):\n%s", run.action, other)
		}
		if wantReasons := min(run.wantRC, 1); len(r.reasons()) != wantReasons {
			t.Errorf("%s: %d exit-reason lines, want %d:\n%s", run.action, len(r.reasons()), wantReasons, r.Stderr)
		}
		if !labkit.OCFLogLine("pgsqltest", r.PID, run.level, run.line).MatchString(fileText(haLog)) {
			t.Errorf("%s: HA_LOGFILE has no line `<date>  pgsql(pgsqltest)[%d]:    %s: %s`:\n%s",
				run.action, r.PID, run.level, run.line, fileText(haLog))
		}
	}
	assertStockLogFormat(t, haLog)
}

// notExitReasons returns the lines of stderr that are not exit-reason lines.
func notExitReasons(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "ocf-exit-reason:") {
			out = append(out, line)
		}
	}
	return out
}

// fileText is a file's content, "" when it cannot be read (a log nobody wrote yet).
func fileText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// assertStockLogFormat has the installed ocf-shellfuncs log an INFO line the way the stock
// agent does, and checks that every line of ours in haLog has its shape once the date, pid and
// message are set aside.
func assertStockLogFormat(t *testing.T, haLog string) {
	t.Helper()
	shellfuncs := "/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs"
	if _, err := os.Stat(shellfuncs); err != nil {
		t.Logf("no %s (resource-agents): format not compared with the stock agent's", shellfuncs)
		return
	}
	stockLog := filepath.Join(t.TempDir(), "stock.log")
	// $0 "pgsql" names the script, as the stock agent's file name does.
	cmd := exec.Command("sh", "-c", `. "$1" && ocf_log info "PostgreSQL started"`, "pgsql", shellfuncs)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=pgsqltest", "HA_LOGFILE=" + stockLog}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stock ocf_log: %v: %s", err, out)
	}
	var (
		date  = regexp.MustCompile(`^[A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}`)
		pid   = regexp.MustCompile(`\[[0-9]+\]:`)
		level = regexp.MustCompile(`(:\s+)[A-Z]+: .*$`)
	)
	shape := func(line string) string {
		line = date.ReplaceAllString(line, "<date>")
		line = pid.ReplaceAllString(line, "[<pid>]:")
		return level.ReplaceAllString(line, "$1<LEVEL>: <message>")
	}
	stock := shape(strings.TrimSuffix(fileText(stockLog), "\n"))
	ours := strings.TrimSuffix(fileText(haLog), "\n")
	if ours == "" {
		t.Errorf("%s is empty: no line to compare with the stock agent's %q", haLog, stock)
		return
	}
	for _, line := range strings.Split(ours, "\n") {
		if got := shape(line); got != stock {
			t.Errorf("line %q\nhas the shape %q, the stock agent's lines %q", line, got, stock)
		}
	}
}
