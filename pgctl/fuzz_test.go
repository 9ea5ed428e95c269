package pgctl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets for every parser here that reads outside input (#11). Each checks properties,
// not only the absence of a panic: round trips where a writer exists, errors instead of
// silently wrong values, and canonical forms. `make fuzz` runs them; the plain `go test`
// runs their seeds and the inputs kept in testdata/fuzz/<FuzzName>/.

var (
	lsnText          = regexp.MustCompile(`^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$`)
	canonicalLSN     = regexp.MustCompile(`^(0|[1-9A-F][0-9A-F]{0,7})/(0|[1-9A-F][0-9A-F]{0,7})$`)
	attributeLSNText = regexp.MustCompile(`^[0-9A-Fa-f]{16}$`)
	versionText      = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// FuzzLSN: both notations of a WAL position, "X/Y" and the 16-digit attribute form.
func FuzzLSN(f *testing.F) {
	for _, s := range []string{"0/3000060", "16/B374D848", "16/b374d848", "FFFFFFFF/FFFFFFFF", " 1/A \n",
		"0000000003000060", "00000016b374d848", "1/", "/1", "1/2/3", "100000000/0", "+1/2", "0x1/2", "1_0/2"} {
		f.Add(s, uint64(0x16B374D848))
	}
	f.Fuzz(func(t *testing.T, s string, n uint64) {
		l := LSN(n)
		if back, err := ParseLSN(l.String()); err != nil || back != l {
			t.Errorf("ParseLSN(%q) = %v, %v; want %v", l.String(), back, err, uint64(l))
		}
		if !canonicalLSN.MatchString(l.String()) {
			t.Errorf("String() of %#x = %q, not the canonical X/Y form", uint64(l), l.String())
		}
		if back, err := ParseAttributeLSN(l.Attribute()); err != nil || back != l {
			t.Errorf("ParseAttributeLSN(%q) = %v, %v; want %v", l.Attribute(), back, err, uint64(l))
		}
		if !attributeLSNText.MatchString(l.Attribute()) || strings.ToUpper(l.Attribute()) != l.Attribute() {
			t.Errorf("Attribute() of %#x = %q, not 16 upper-case hex digits", uint64(l), l.Attribute())
		}

		trimmed := strings.TrimSpace(s)
		if p, err := ParseLSN(s); err == nil {
			if !lsnText.MatchString(trimmed) {
				t.Errorf("ParseLSN(%q) = %v, but it is not X/Y with 1 to 8 hex digits each", s, p)
			}
			hi, lo, _ := strings.Cut(trimmed, "/")
			if want := canonicalOf(hi) + "/" + canonicalOf(lo); p.String() != want {
				t.Errorf("ParseLSN(%q).String() = %q, want %q", s, p.String(), want)
			}
		}
		if p, err := ParseAttributeLSN(s); err == nil {
			if !attributeLSNText.MatchString(trimmed) {
				t.Errorf("ParseAttributeLSN(%q) = %v, but it is not 16 hex digits", s, p)
			}
			if !strings.EqualFold(p.Attribute(), trimmed) {
				t.Errorf("ParseAttributeLSN(%q).Attribute() = %q, want the same digits", s, p.Attribute())
			}
		}
	})
}

// canonicalOf is a hex number without leading zeros, upper case ("0" for zero).
func canonicalOf(hex string) string {
	if s := strings.TrimLeft(hex, "0"); s != "" {
		return strings.ToUpper(s)
	}
	return "0"
}

// FuzzParseVersion: PG_VERSION text. A version is one or two unsigned decimal numbers; what
// parses prints back to text that parses to the same version.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"9.6", "15", "15\n", "10", "-9.6", "9.", "10.1", "0", "99999999999999999999", "9.6.1", " 12 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if !versionText.MatchString(strings.TrimSpace(s)) {
			t.Errorf("ParseVersion(%q) = %+v, but the text is not a version number", s, v)
		}
		if v.Major <= 0 || v.Minor < 0 || (v.Major >= 10 && v.Minor != 0) {
			t.Errorf("ParseVersion(%q) = %+v: not a PostgreSQL version", s, v)
		}
		if back, err := ParseVersion(v.String()); err != nil || back != v {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %+v", v.String(), back, err, v)
		}
	})
}

// controlDataText renders the lines of a pg_controldata report that ParseControlData reads,
// between others it ignores.
func controlDataText(state string, checkpoint LSN, tli uint32, minRecovery LSN) []byte {
	return fmt.Appendf(nil, "pg_control version number:            1300\n"+
		"Database cluster state:               %s\n"+
		"pg_control last modified:             Mon 01 Jan 2024 00:00:00 UTC\n"+
		"Latest checkpoint location:           %s\n"+
		"Latest checkpoint's REDO location:    0/1000028\n"+
		"Latest checkpoint's TimeLineID:       %d\n"+
		"Latest checkpoint's NextXID:          0:735\n"+
		"Bytes per WAL segment:                16777216\n"+
		"Minimum recovery ending location:     %s\n"+
		"Min recovery ending loc's timeline:   0\n", state, checkpoint, tli, minRecovery)
}

// FuzzParseControlData: a report rendered from known values reads back as those values;
// arbitrary output either fails or yields values that are in it.
func FuzzParseControlData(f *testing.F) {
	f.Add(controlDataText("in production", 0x3000060, 1, 0), "shut down", uint64(0x16B374D848), uint32(3), uint64(0x5000000))
	f.Add([]byte("Database cluster state: x\nLatest checkpoint location: 0/1\nLatest checkpoint's TimeLineID: 1x\n"), "x", uint64(0), uint32(0), uint64(0))
	// A line longer than a bufio.Scanner's 64 KiB before the minimum recovery location.
	f.Add(append(controlDataText("in production", 1, 1, 2), "Note: "+strings.Repeat("x", 70000)+"\nMinimum recovery ending location: 0/5\n"...),
		"", uint64(0), uint32(0), uint64(0))
	f.Fuzz(func(t *testing.T, out []byte, state string, checkpoint uint64, tli uint32, minRecovery uint64) {
		if s := strings.TrimSpace(state); s != "" && !strings.ContainsAny(s, "\r\n") {
			text := controlDataText(s, LSN(checkpoint), tli, LSN(minRecovery))
			want := ControlData{State: s, CheckpointLSN: LSN(checkpoint), CheckpointTLI: tli, RedoLSN: 0x1000028, WALSegSize: 16 << 20, MinRecoveryLSN: LSN(minRecovery)}
			if got, err := ParseControlData(text); err != nil || got != want {
				t.Errorf("ParseControlData(%q) = %+v, %v; want %+v", text, got, err, want)
			}
		}

		c, err := ParseControlData(out)
		if err != nil {
			return
		}
		if c.State == "" || c.State != strings.TrimSpace(c.State) || !bytes.Contains(out, []byte(c.State)) {
			t.Errorf("ParseControlData(%q): state %q is not a line's value", out, c.State)
		}
		if !bytes.Contains(out, []byte("Latest checkpoint location")) || !bytes.Contains(out, []byte("Latest checkpoint's TimeLineID")) {
			t.Errorf("ParseControlData(%q) = %+v without the checkpoint lines", out, c)
		}
		if c.MinRecoveryLSN != 0 && !bytes.Contains(out, []byte("Minimum recovery ending location")) {
			t.Errorf("ParseControlData(%q) = %+v: a minimum recovery LSN without its line", out, c)
		}
		// A minimum recovery location the report gives is read, not dropped: one that is not an
		// LSN is an error, not 0/0.
		if v := controlDataValue(out, "Minimum recovery ending location"); v != "" {
			if l, err := ParseLSN(v); err != nil || l != c.MinRecoveryLSN {
				t.Errorf("ParseControlData(%q): minimum recovery %q read as %v", out, v, c.MinRecoveryLSN)
			}
		}
	})
}

// controlDataValue is the value of the last line of out whose key is key, independently of
// ParseControlData: lines split at '\n' only, key and value at the first ':'.
func controlDataValue(out []byte, key string) string {
	value := ""
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			value = strings.TrimSpace(v)
		}
	}
	return value
}

// syncNames turns one fuzz string into node names: NUL separates them. Names are what node
// names can be (non-empty, one line); quotes, commas, blanks, backslashes, '#' are all allowed.
func syncNames(s string) []string {
	var names []string
	for _, n := range strings.Split(s, "\x00") {
		if n != "" && !strings.ContainsAny(n, "\n") {
			names = append(names, n)
		}
	}
	return names
}

// FuzzSyncStandbys: rep_mode.conf. What RenderSyncStandbys writes, ReadSyncStandbys reads
// back name for name; any file reads as names that survive the same round trip.
func FuzzSyncStandbys(f *testing.F) {
	f.Add([]byte("synchronous_standby_names = '\"node2\",\"node3\"'\n"), "node2\x00node3")
	f.Add([]byte("synchronous_standby_names = 'node2, node3' # shell agent\n"), "node-1\x00Node_2")
	f.Add([]byte("synchronous_standby_names = '\"unterminated'\n"), "x")
	// Names with quotes, commas, blanks, single quotes, backslashes and '#' (#11).
	f.Add([]byte("synchronous_standby_names = '\"a\"\"b\",\"c,d\"'\n"), `a"b`+"\x00c,d\x00 e f \x00'g'\x00h\\i#j")
	f.Fuzz(func(t *testing.T, content []byte, joined string) {
		dir := t.TempDir()
		if names := syncNames(joined); len(names) > 0 {
			rendered := RenderSyncStandbys(names...)
			if err := os.WriteFile(RepModeFile(dir), rendered, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := ReadSyncStandbys(dir); !slices.Equal(got, names) {
				t.Errorf("ReadSyncStandbys of %q = %q, want %q", rendered, got, names)
			}
		}

		if err := os.WriteFile(filepath.Join(dir, "rep_mode.conf"), content, 0o600); err != nil {
			t.Fatal(err)
		}
		names := ReadSyncStandbys(dir)
		for _, n := range names {
			if n == "" {
				t.Errorf("ReadSyncStandbys of %q = %q: an empty name", content, names)
			}
		}
		if len(names) == 0 {
			return
		}
		rendered := RenderSyncStandbys(names...)
		if err := os.WriteFile(RepModeFile(dir), rendered, 0o600); err != nil {
			t.Fatal(err)
		}
		if again := ReadSyncStandbys(dir); !slices.Equal(again, names) {
			t.Errorf("ReadSyncStandbys of %q = %q, but of its rendering %q = %q", content, names, rendered, again)
		}
	})
}

// FuzzSplitWords: ctl_opt and start_opt. Any word, shell-quoted, splits back to itself (bytes that are not
// UTF-8 included); a split string, re-quoted word by word, splits to the same words.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"-w -t 60", `-o "-c x=1" 'a b'`, `a\ b "c\"d" 'e'\''f'`, `"\$\x"`, `unterminated "`, `trailing\`, "\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := SplitWords(ShellQuote(s)); err != nil || len(got) != 1 || got[0] != s {
			t.Errorf("SplitWords(ShellQuote(%q) = %q) = %q, %v; want [%q]", s, ShellQuote(s), got, err, s)
		}
		words, err := SplitWords(s)
		if err != nil {
			return
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = ShellQuote(w)
		}
		line := strings.Join(quoted, " ")
		if again, err := SplitWords(line); err != nil || !slices.Equal(again, words) {
			t.Errorf("SplitWords(%q) = %q, but SplitWords(%q) = %q, %v", s, words, line, again, err)
		}
		// start_opt (SplitCommandWords) reads the same line, which the agent hands pg_ctl's
		// shell: quoted words are never syntax there, so it splits to the same words.
		if again, err := SplitCommandWords(line); err != nil || !slices.Equal(again, words) {
			t.Errorf("SplitCommandWords(%q) = %q, %v; want %q", line, again, err, words)
		}
	})
}

// FuzzConfLine: postgresql.conf lines as ReadSetting reads them. A value written with
// QuoteConfValue reads back as itself, with or without '=' and a comment after it; any line
// gives a key without blanks or '=' and an unquoted value without its comment.
func FuzzConfLine(f *testing.F) {
	for _, s := range []string{"port = 5432", "unix_socket_directories = '/run/postgresql, /tmp' # two",
		"primary_conninfo 'host=a user=''b'' password=\\'c\\''", "a.b=1#c", "x = 'unterminated", "# comment", "\t"} {
		f.Add(s, "synchronous_standby_names", `"a""b",c\d#e'f`)
	}
	f.Fuzz(func(t *testing.T, line, name, value string) {
		if name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_.0123456789") == "" && !strings.Contains(value, "\n") {
			for _, form := range []string{name + " = " + QuoteConfValue(value), name + "\t" + QuoteConfValue(value) + " # set by hand",
				name + "=" + QuoteConfValue(value) + "#"} {
				if k, v, ok := parseConfLine(form); !ok || k != name || v != value {
					t.Errorf("parseConfLine(%q) = %q, %q, %v; want %q, %q", form, k, v, ok, name, value)
				}
			}
		}

		key, val, ok := parseConfLine(line)
		if !ok {
			return
		}
		if key == "" || strings.ContainsAny(key, " \t=") {
			t.Errorf("parseConfLine(%q): key %q", line, key)
		}
		if !strings.Contains(line, "'") && (strings.Contains(val, "#") || val != strings.TrimSpace(val)) {
			t.Errorf("parseConfLine(%q): unquoted value %q keeps a comment or blanks", line, val)
		}
	})
}
