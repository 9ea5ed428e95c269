package pgctl

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Seventh review: ParseLastRecordStart trusts the first "rmgr:" line it sees (it has no
// listed predecessor) and every line whose prev names the one before. A logical message's
// prefix, which any database user writes (pg_logical_emit_message is PUBLIC) and pg_waldump
// prints raw, newlines included, can supply both. The answer is then an exact end of WAL
// earlier than the real last record: a node past a fork is taken for one before it.
func TestReview7ParseLastRecordStartForged(t *testing.T) {
	line := func(lsn, prev, desc string) string {
		return "rmgr: LogicalMessage len (rec/tot):     50/    50, tx:          0, lsn: " + lsn + ", prev " + prev + ", desc: " + desc + "\n"
	}
	forged := "rmgr: Heap        len (rec/tot):     54/    54, tx:        735, lsn: 0/006012A0, prev 0/006011D8, desc: INSERT off 1 flags 0x00"
	for _, tc := range []struct {
		name string
		out  string
		want LSN // the start of the last record pg_waldump really listed
	}{
		// The message is the last record before the boundary and its prefix holds more
		// lines than the 64 kept: the window starts inside the prefix (seen with PostgreSQL
		// 15: TestReview7LastWALRecordForgedByAMessage in test/).
		{"the 64-line window starts inside a message's prefix",
			tail64(line("0/006FDC00", "0/006FDB00", "MESSAGE non-transactional, prefix \"a\"; payload (1 bytes): 61") +
				line("0/006FDD30", "0/006FDC00", "MESSAGE non-transactional, prefix \"forge"+strings.Repeat("\nx", 90)+"\n"+forged+"\"; payload (1 bytes): 70")),
			0x6FDD30},
		// No window needed: the forged line names the message's own LSN as its prev (the
		// user read pg_current_wal_insert_lsn() just before), so it continues the chain and
		// every genuine record after it no longer does.
		{"a forged line linked to its own message",
			line("0/006FDC00", "0/006FDB00", "MESSAGE non-transactional, prefix \"a\"; payload (1 bytes): 61") +
				line("0/006FDD30", "0/006FDC00", "MESSAGE non-transactional, prefix \"x\n"+
					strings.Replace(strings.Replace(forged, "0/006012A0", "0/006FDD31", 1), "0/006011D8", "0/006FDD30", 1)+"\"; payload (1 bytes): 70") +
				line("0/006FDDA0", "0/006FDD30", "MESSAGE non-transactional, prefix \"b\"; payload (1 bytes): 62") +
				line("0/006FE000", "0/006FDDA0", "MESSAGE non-transactional, prefix \"c\"; payload (1 bytes): 63"),
			0x6FE000},
	} {
		// The parser alone is fooled; lastCompleteRecord then confirms its answer with
		// pg_waldump --stats from there to the boundary (no description printed), which
		// counts every record from the forged position on.
		got, ok := ParseLastRecordStart([]byte(tc.out))
		if ok && got != tc.want && OnlyRecordAt([]byte(walStats(got, 417)), got) {
			t.Errorf("%s: ParseLastRecordStart = %s (exact) confirmed; the last record listed starts at %s", tc.name, got, tc.want)
		}
		if !OnlyRecordAt([]byte(walStats(tc.want, 1)), tc.want) {
			t.Errorf("%s: the real last record %s not confirmed", tc.name, tc.want)
		}
	}
}

// walStats is pg_waldump --stats's output (PostgreSQL 15) for n records from a record at
// from; a position that is not a record's start is skipped over to the next one.
func walStats(from LSN, n int) string {
	return "WAL statistics between " + from.String() + " and 0/6FDEA0:\n" +
		"Type                                           N      (%)          Record size      (%)             FPI size      (%)        Combined size      (%)\n" +
		"----                                           -      ---          -----------      ---             --------      ---        -------------      ---\n" +
		"LogicalMessage                              " + strconv.Itoa(n) + " (100.00)                  100 (100.00)                    0 (  0.00)                  100 (100.00)\n" +
		"                                        --------                      --------                      --------                      --------\n" +
		"Total                                          " + strconv.Itoa(n) + "                           100 [100.00%]                  0 [0.00%]                  100 [100%]\n"
}

// TestReview7OnlyRecordAt: what confirms the last record before a segment boundary.
func TestReview7OnlyRecordAt(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want bool
	}{
		{"one record at the position", walStats(0x6FDD30, 1), true},
		{"two records", walStats(0x6FDD30, 2), false},
		{"another start", walStats(0x6FDD38, 1), false},
		{"skipped to the next record", "first record is after 0/6FDD31, at 0/6FDD30, skipping over 8 bytes\n" + walStats(0x6FDD30, 1), false},
		{"no total", "WAL statistics between 0/6FDD30 and 0/6FDEA0:\n", false},
		{"nothing", "", false},
	} {
		if got := OnlyRecordAt([]byte(tc.out), 0x6FDD30); got != tc.want {
			t.Errorf("%s: OnlyRecordAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// tail64 is what lastCompleteRecord keeps of pg_waldump's stdout (StdoutLastLines: 64).
func tail64(out string) string {
	f, err := unlinkedTemp()
	if err != nil {
		panic(err)
	}
	defer f.Close()
	f.WriteString(out)
	return string(readLastLines(f, 64))
}

// Seventh review: staysStopped takes two samples 300 ms apart. A postmaster that runs
// between them (continued, then stopped again: a CPU limiter such as cpulimit throttles a
// process by SIGSTOP/SIGCONT cycles) counts as stopped, so its monitor fails at once and the
// node is failed over and fenced although the postmaster serves queries, only slowly.
func TestReview7RunningBetweenTheSamplesIsNotStopped(t *testing.T) {
	dir, cmd := stoppedFakePostmaster(t)
	done := make(chan struct{})
	go func() { // 100 ms stopped, 100 ms running, stopped again
		defer close(done)
		time.Sleep(stoppedRecheck / 3)
		cmd.Process.Signal(syscall.SIGCONT)
		time.Sleep(stoppedRecheck / 3)
		cmd.Process.Signal(syscall.SIGSTOP)
	}()
	pm, err := FindPostmaster(dir)
	<-done
	if err != nil || !pm.Running || pm.Stopped {
		t.Errorf("a postmaster that ran for %v between the samples: %+v, %v; want running, not stopped", stoppedRecheck/3, pm, err)
	}
}

// TestReview7WalDumpArgvNamesSegments: a bounded pg_waldump run names its first and last
// segment files, so that it takes the segment size from the first one, not from whichever
// WAL file readdir lists first (a zero-filled preallocated one made it fail).
func TestReview7WalDumpArgvNamesSegments(t *testing.T) {
	s := Server{PgCtl: "/bin/pg_ctl", PgData: "/d"}
	got := strings.Join(s.walDumpArgv(1, 0x6007D0, 0x800000, 1<<20, "--quiet"), " ")
	if want := "/bin/pg_waldump --quiet --path /d/pg_wal --timeline 1 --start 0/6007D0 --end 0/800000 000000010000000000000006 000000010000000000000007"; got != want {
		t.Errorf("walDumpArgv = %q, want %q", got, want)
	}
	got = strings.Join(s.walDumpArgv(2, 0x1FF000028, 0x200000000, 16<<20), " ")
	if want := "/bin/pg_waldump --path /d/pg_wal --timeline 2 --start 1/FF000028 --end 2/0 0000000200000001000000FF 0000000200000001000000FF"; got != want {
		t.Errorf("walDumpArgv = %q, want %q", got, want)
	}
	if got := s.walDumpArgv(1, 0x6007D0, 0, 1<<20); len(got) != 7 {
		t.Errorf("unbounded walDumpArgv = %q: names a segment (pg_waldump would stop at its end)", got)
	}
}
