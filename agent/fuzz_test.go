package agent

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Fuzz targets for the values the agent reads from node attributes, its lock file and the
// notify variables (#11): round trips with the writers, errors instead of silently wrong
// values, and canonical forms. `make fuzz` runs them; the plain `go test` runs their seeds
// and the inputs kept in testdata/fuzz/<FuzzName>/.

var (
	prePromoteText = regexp.MustCompile(`^[0-9]+:[0-9A-Fa-f]{16}:-?[0-9]+$`)
	timelineText   = regexp.MustCompile(`^[0-9]+$`)
)

// FuzzParsePrePromote: the "<tli>:<lsn>:<unix>" pre-promote position.
func FuzzParsePrePromote(f *testing.F) {
	for _, s := range []string{"3:0000000005000100:1700000000", "1:00000016b374d848:0", "3:5000100:1700000000",
		"3:0000000005000100", "3:0000000005000100:17:1", "-1:0000000005000100:1", "4294967296:0000000005000100:1"} {
		f.Add(s, uint32(3), uint64(0x5000100), int64(1700000000))
	}
	f.Fuzz(func(t *testing.T, s string, tli uint32, lsn uint64, unix int64) {
		pos, at := Position{Timeline: tli, LSN: lsn}, time.Unix(unix, 0)
		text := formatPrePromote(pos, at)
		if p, when, err := parsePrePromote(text); err != nil || p != pos || !when.Equal(at) {
			t.Errorf("parsePrePromote(%q) = %v, %v, %v; want %v, %v", text, p, when, err, pos, at)
		}

		p, when, err := parsePrePromote(s)
		if err != nil {
			return
		}
		if !prePromoteText.MatchString(s) {
			t.Errorf("parsePrePromote(%q) = %v, %v, but it is not <tli>:<16 hex digits>:<unix>", s, p, when)
		}
		if again, at2, err := parsePrePromote(formatPrePromote(p, when)); err != nil || again != p || !at2.Equal(when) {
			t.Errorf("parsePrePromote(%q) = %v, %v, but its rendering reads as %v, %v, %v", s, p, when, again, at2, err)
		}
	})
}

// FuzzParseTimeline: the xlog-tli attribute. A timeline reads back as itself; anything else
// that reads as a timeline is that number in decimal.
func FuzzParseTimeline(f *testing.F) {
	for _, s := range []string{"1", "3", " 12 ", "4294967295", "4294967296", "-1", "0x10", "abc", ""} {
		f.Add(s, uint32(3))
	}
	f.Fuzz(func(t *testing.T, s string, tli uint32) {
		if got := parseTimeline(formatTimeline(tli)); got != tli {
			t.Errorf("parseTimeline(%q) = %d, want %d", formatTimeline(tli), got, tli)
		}
		got := parseTimeline(s)
		if got == 0 {
			return
		}
		digits := strings.TrimSpace(s)
		if !timelineText.MatchString(digits) || strings.TrimLeft(digits, "0") != formatTimeline(got) {
			t.Errorf("parseTimeline(%q) = %d, but the text is not that number", s, got)
		}
	})
}

// lockTimeRange keeps fuzzed lock times within the years RFC 3339 can write (1970-9999).
const lockTimeRange = 253402300800

// FuzzReadLock: what WriteLock records, ReadLock reads back; any lock content reads as
// trimmed one-line fields, none of its key=value lines dropped.
func FuzzReadLock(f *testing.F) {
	f.Add([]byte("promoted_at=2024-01-01T00:00:00Z\nnode=pg1\ntimeline=3\nlsn=0/5000100\n"), "pg1", "", uint32(3), uint64(0x5000100), int64(1700000000), false)
	f.Add([]byte(""), "pg-2.example", "this node has WAL up to 3/5000100\nthe new primary only up to 3/5000000", uint32(4), uint64(1), int64(0), true)
	f.Add([]byte(" a = b = c \n=x\nno equals\r\nk=v\r\n"), "n", "  ", uint32(0), uint64(0), int64(-1), false)
	// A key=value line after one longer than a bufio.Scanner's 64 KiB.
	f.Add([]byte("reason="+strings.Repeat("x", 70000)+"\nnode=pg1\n"), "n", strings.Repeat("y", 70000), uint32(1), uint64(1), int64(1), true)
	f.Fuzz(func(t *testing.T, content []byte, node, reason string, tli uint32, lsn uint64, unix int64, diverged bool) {
		if node != "" && len(node) <= 255 && node == strings.TrimSpace(node) && !strings.Contains(node, "\n") {
			rec := LockRecord{Event: "promoted", Node: node, Timeline: tli, LSN: pgctl.LSN(lsn),
				At: time.Unix(unix%lockTimeRange, 0), Reason: reason}
			if diverged {
				rec.Event = "diverged"
			}
			checkLockRoundTrip(t, rec)
		}

		info := parseLock(content)
		for k, v := range info.Fields {
			if k != strings.TrimSpace(k) || v != strings.TrimSpace(v) || strings.Contains(k+v, "\n") || strings.Contains(k, "=") {
				t.Errorf("parseLock(%q): field %q=%q is not a trimmed one-line key=value", content, k, v)
			}
		}
		for _, line := range strings.Split(string(content), "\n") {
			if k, _, found := strings.Cut(line, "="); found {
				if _, ok := info.Fields[strings.TrimSpace(k)]; !ok {
					t.Errorf("parseLock(%q) = %v: the line %q is missing", content, info.Fields, line)
				}
			}
		}
	})
}

// checkLockRoundTrip writes rec as a lock and checks what ReadLock returns.
func checkLockRoundTrip(t *testing.T, rec LockRecord) {
	t.Helper()
	dir := t.TempDir()
	if err := WriteLock(dir, rec); err != nil {
		t.Fatal(err)
	}
	info, ok, err := ReadLock(dir)
	if err != nil || !ok {
		t.Fatalf("ReadLock after WriteLock(%+v) = %v, %v", rec, ok, err)
	}
	fields := info.Fields
	if at, err := time.Parse(time.RFC3339, fields[rec.Event+"_at"]); err != nil || !at.Equal(rec.At) {
		t.Errorf("lock of %+v: %s_at=%q reads as %v, %v", rec, rec.Event, fields[rec.Event+"_at"], at, err)
	}
	if fields["node"] != rec.Node {
		t.Errorf("lock of %+v: node=%q", rec, fields["node"])
	}
	if tli, err := strconv.ParseUint(fields["timeline"], 10, 32); err != nil || uint32(tli) != rec.Timeline {
		t.Errorf("lock of %+v: timeline=%q", rec, fields["timeline"])
	}
	if lsn, err := pgctl.ParseLSN(fields["lsn"]); err != nil || lsn != rec.LSN {
		t.Errorf("lock of %+v: lsn=%q reads as %v, %v", rec, fields["lsn"], lsn, err)
	}
	// The reason is one line of at most lockReasonLimit bytes: its line breaks become blanks,
	// and the blanks around it go.
	if want := strings.TrimSpace(lockReason(rec.Reason)); fields["reason"] != want || len(fields["reason"]) > lockReasonLimit {
		t.Errorf("lock of %+v: reason=%q, want %q", rec, fields["reason"], want)
	}
}

// pacemakerList renders node names as Pacemaker fills a notify *_uname variable: each name
// followed by a blank (an empty list is a single blank).
func pacemakerList(names []string) string {
	if len(names) == 0 {
		return " "
	}
	return strings.Join(names, " ") + " "
}

// notifyNames turns one fuzz string into node names, NUL-separated; node names hold no blanks.
func notifyNames(s string) []string {
	var names []string
	for _, n := range strings.Split(s, "\x00") {
		if n != "" && strings.IndexFunc(n, unicode.IsSpace) < 0 {
			names = append(names, n)
		}
	}
	return names
}

// FuzzReadNotification: the notify variables. Node lists read back as the normalised names
// Pacemaker rendered; any value gives non-empty normalised names, the OCF 1.1 variable
// winning over the deprecated one.
func FuzzReadNotification(f *testing.F) {
	f.Add("pre", "promote", "pg2 ", "pg1 ", " ", " ", "pg1 ", "pg1 ", "pg2 pg3 ", "pg2 pg3 ", "PG2\x00pg-3.Example")
	f.Add("post", "start", " ", "", "pg3 ", "", "", "pg1 ", "", "pg2 ", "")
	f.Add("", "", "", "", "", "", "", "", "", "", "\xff\x00İ")
	f.Add("", "promote", "", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, typ, op, promote, demote, start, stop, promoted, master, unpromoted, slave, joined string) {
		env := map[string]string{"type": typ, "operation": op, "promote_uname": promote, "demote_uname": demote,
			"start_uname": start, "stop_uname": stop, "promoted_uname": promoted, "master_uname": master,
			"unpromoted_uname": unpromoted, "slave_uname": slave}
		getenv := func(name string) string { return env[strings.TrimPrefix(name, "OCF_RESKEY_CRM_meta_notify_")] }
		n := ReadNotification(getenv)
		if n.Type != typ || n.Operation != op {
			t.Errorf("ReadNotification: type %q, operation %q; want %q, %q", n.Type, n.Operation, typ, op)
		}
		anySet := false
		for _, v := range env {
			anySet = anySet || v != ""
		}
		if n.Present != anySet {
			t.Errorf("ReadNotification(%q).Present = %v, want %v", env, n.Present, anySet)
		}
		for _, tc := range []struct {
			got       []string
			preferred string
			fallback  string
		}{
			{n.Promote, promote, ""}, {n.Demote, demote, ""}, {n.Start, start, ""}, {n.Stop, stop, ""},
			{n.Promoted, promoted, master}, {n.Unpromoted, unpromoted, slave},
		} {
			from := tc.preferred
			if from == "" {
				from = tc.fallback
			}
			if len(tc.got) > len(strings.Fields(from)) {
				t.Errorf("ReadNotification: %q from %q: more names than words", tc.got, from)
			}
			for _, name := range tc.got {
				if name == "" || NodeName(name) != name || !strings.Contains(strings.ToLower(from), name) {
					t.Errorf("ReadNotification: %q from %q: %q is not a normalised name of that variable", tc.got, from, name)
				}
			}
		}

		names := notifyNames(joined)
		env = map[string]string{"type": "pre", "operation": "start", "start_uname": pacemakerList(names)}
		want := make([]string, 0, len(names))
		for _, name := range names {
			want = append(want, NodeName(name))
		}
		if got := ReadNotification(getenv).Start; !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("ReadNotification of start_uname=%q = %q, want %q", env["start_uname"], got, want)
		}
	})
}

// FuzzReadEnv: the numbers of the OCF environment. A timeout or interval is the number of
// milliseconds given, or 0 (none given) for text that is not one or does not fit a Duration;
// never negative, never wrapped.
func FuzzReadEnv(f *testing.F) {
	for _, s := range []string{"20000", "0", " 30000 ", "-1", "1e3", "9223372036854", "99999999999999999999"} {
		f.Add(s, "10000", "5")
	}
	f.Fuzz(func(t *testing.T, timeout, interval, checkLevel string) {
		env := map[string]string{"OCF_RESKEY_CRM_meta_timeout": timeout, "OCF_RESKEY_CRM_meta_interval": interval,
			"OCF_CHECK_LEVEL": checkLevel}
		e := ReadEnv("monitor", func(name string) string { return env[name] })
		for _, tc := range []struct {
			text string
			got  time.Duration
		}{{timeout, e.Timeout}, {interval, e.Interval}} {
			var want time.Duration
			if n, err := strconv.ParseInt(strings.TrimSpace(tc.text), 10, 64); err == nil && n >= 0 && n <= maxOpTime.Milliseconds() {
				want = time.Duration(n) * time.Millisecond
			}
			if tc.got != want || tc.got.Milliseconds()*int64(time.Millisecond) != int64(tc.got) {
				t.Errorf("ReadEnv: %q ms read as %v, want %v", tc.text, tc.got, want)
			}
		}
		if e.CheckLevel != 0 && e.CheckLevel != 10 {
			t.Errorf("ReadEnv: OCF_CHECK_LEVEL=%q read as %d, want 0 or 10", checkLevel, e.CheckLevel)
		}
	})
}
