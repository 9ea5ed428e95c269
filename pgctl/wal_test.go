package pgctl

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseWalDumpEnd(t *testing.T) {
	const seg = 16 << 20
	for _, c := range []struct {
		out  string
		tli  uint32
		want WALTail
		ok   bool
	}{
		// PostgreSQL 15 after a SIGKILL: the start of the last record ("redo done at" in the
		// server log of the next start).
		{"pg_waldump: error: error in WAL record at 0/1526058: invalid record length at 0/15261F0: wanted 24, got 0\n", 1, WALTail{Exact: true, Last: 0x1526058, Next: 0x15261F0}, true},
		{"pg_waldump: error: error in WAL record at 0/3000148: record with incorrect prev-link 0/0 at 0/3000180\n", 1, WALTail{Exact: true, Last: 0x3000148, Next: 0x3000180}, true},
		// WAL ending at a segment boundary (a standby stopped right after a segment switch).
		{"pg_waldump: error: could not find file \"000000020000000000000003\": No such file or directory\n", 2, WALTail{End: 0x3000000}, true},
		{"pg_waldump: error: could not find file \"0000000200000001000000FF\": No such file or directory\n", 2, WALTail{End: 0x1FF000000}, true},
		{"pg_waldump: error: could not find file \"000000010000000000000003\": No such file or directory\n", 2, WALTail{}, false},
		{"pg_waldump: error: could not find file \"00000002000000000000000\": x\n", 2, WALTail{}, false},
		{"pg_waldump: error: could not find file \"000000020000000000000100\": x\n", 2, WALTail{}, false},
		{"pg_waldump: error: could not find a valid record after 0/3000000\n", 1, WALTail{}, false},
		{"pg_waldump: error: could not open file \"000000010000000000000003\": Permission denied\n", 1, WALTail{}, false},
		{"pg_waldump: error: error in WAL record at 0/0: invalid record length at 0/3000028: wanted 24, got 0\n", 1, WALTail{}, false},
		{"pg_waldump: error: error in WAL record at 0/1: x\npg_waldump: error: error in WAL record at 0/2: y\n", 1, WALTail{}, false},
		{"pg_waldump: error: error in WAL record at zz: x\n", 1, WALTail{}, false},
		{"", 1, WALTail{}, false},
	} {
		got, err := ParseWalDumpEnd([]byte(c.out), c.tli, seg)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseWalDumpEnd(%q) = %+v, %v; want %+v ok=%v", c.out, got, err, c.want, c.ok)
		}
	}
}

func TestParseTimelineHistory(t *testing.T) {
	for _, c := range []struct {
		in   string
		want TimelineSwitch
		ok   bool
	}{
		{"1\t0/3000148\tno recovery target specified\n", TimelineSwitch{1, 0x3000148}, true},
		{"1\t0/3000148\tno recovery target specified\n\n2\t0/5A00000\tno recovery target specified\n", TimelineSwitch{2, 0x5A00000}, true},
		{"# comment\n1\t0/3000148\n", TimelineSwitch{1, 0x3000148}, true},
		{"2\t0/5\tx\n1\t0/6\tx\n", TimelineSwitch{}, false},
		{"1\t0/6\tx\n2\t0/5\tx\n", TimelineSwitch{}, false},
		{"", TimelineSwitch{}, false},
		{"x\t0/1\n", TimelineSwitch{}, false},
		{"1\tzz\n", TimelineSwitch{}, false},
		{"1\n", TimelineSwitch{}, false},
	} {
		got, err := ParseTimelineHistory([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseTimelineHistory(%q) = %+v, %v; want %+v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestFirstMissingSegment: LastWALRecord stops pg_waldump at the first segment file missing
// from pg_wal (pg_waldump itself retries a missing file for 5 s).
func TestFirstMissingSegment(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "pg_wal"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"000000010000000000000002", "000000010000000000000003", "000000020000000000000004"} {
		if err := os.WriteFile(filepath.Join(dir, "pg_wal", name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := Server{PgData: dir}
	const seg = 16 << 20
	if got, ok := s.firstMissingSegment(1, 0x2000028, seg); !ok || got != 0x4000000 {
		t.Errorf("timeline 1 from 0/2000028: %s, %v; want 0/4000000 (segment 4 is timeline 2's)", got, ok)
	}
	if got, ok := s.firstMissingSegment(1, 0x1000000, seg); !ok || got != 0x1000000 {
		t.Errorf("from a missing segment: %s, %v; want 0/1000000", got, ok)
	}
	if _, ok := s.firstMissingSegment(1, 0x2000028, 3); ok {
		t.Error("a segment size that is not a power of two was accepted")
	}
}

// TestParseLastRecordStart: the last record pg_waldump listed, its lines chained by prev
// (a record's description can carry a database user's text, newlines included).
func TestParseLastRecordStart(t *testing.T) {
	line := func(lsn, prev, desc string) string {
		return "rmgr: LogicalMessage len (rec/tot):     50/    50, tx:          0, lsn: " + lsn + ", prev " + prev + ", desc: " + desc + "\n"
	}
	for _, tc := range []struct {
		name string
		out  string
		want LSN
		ok   bool
	}{
		{"two records", line("0/6FD000", "0/6FC000", "a") + line("0/6FDD30", "0/6FD000", "b"), 0x6FDD30, true},
		{"a cut first line", "78 78 78\n" + line("0/6FD000", "0/6FC000", "a"), 0x6FD000, true},
		{"none", "", 0, false},
		{"a forged line in a description", line("0/6FD000", "0/6FC000", "MESSAGE prefix \"x\n") +
			line("0/FFFFFF00", "0/1", "forged\"") + line("0/6FDD30", "0/6FD000", "b"), 0x6FDD30, true},
		{"not chained", line("0/6FD000", "0/6FC000", "a") + line("0/6FDD30", "0/6FC800", "b"), 0x6FD000, true},
	} {
		got, ok := ParseLastRecordStart([]byte(tc.out))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: ParseLastRecordStart = %s, %v; want %s, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
