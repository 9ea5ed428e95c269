package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// TestLastWALRecordAtSegmentBoundary (second review of issue #13, session 6): WAL that stops
// at a segment boundary inside a record (a standby that received up to the end of one
// segment; the record goes on in the next, which it never got). Crash recovery aborts that
// record, so the last valid record is the one before it; reported as the segment boundary,
// a restart_on_promote fork put past it would have let the old primary, whose last record is
// the aborted one, rejoin. Real PostgreSQL 15 and pg_waldump, 1 MB segments.
func TestLastWALRecordAtSegmentBoundary(t *testing.T) {
	c := newCluster(t, "--wal-segsize=1")
	c.appendConf(t, "autovacuum = off\n")
	c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "start", "-D", c.PgData, "-w", "-l", c.Logfile)
	// Pad to a little before a segment boundary, then a 40 kB record that crosses it.
	c.sql(t, `DO $$
DECLARE d numeric;
BEGIN
  d := 1048576 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 1048576);
  IF d > 30000 THEN PERFORM pg_logical_emit_message(false, 'pad', repeat('x', (d - 12000)::int)); END IF;
  d := 1048576 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 1048576);
  IF d < 2000 THEN PERFORM pg_logical_emit_message(false, 'pad2', repeat('x', 20000)); END IF;
  PERFORM pg_logical_emit_message(false, 'span', repeat('y', 40000));
END $$`)
	c.sql(t, "CREATE TABLE after_span (v int)")
	c.kill(t) // immediate shutdown: a crash

	control := c.asOwner(t, filepath.Join(pgBinDir, "pg_controldata"), "-D", c.PgData)
	redo, err := pgctl.ParseLSN(regexp.MustCompile(`Latest checkpoint's REDO location:\s+(\S+)`).FindStringSubmatch(control)[1])
	if err != nil {
		t.Fatal(err)
	}
	// pg_waldump ends reading WAL to its end with an error: its exit status says nothing.
	out, _ := exec.Command(filepath.Join(pgBinDir, "pg_waldump"), "-p", filepath.Join(c.PgData, "pg_wal"), "-s", redo.String()).CombinedOutput()
	dump := string(out)
	m := regexp.MustCompile(`lsn: (\S+), prev \S+, desc: MESSAGE non-transactional, prefix "span"`).FindStringSubmatch(dump)
	if m == nil {
		t.Fatalf("no span record in the WAL:\n%.2000s", dump)
	}
	span, _ := pgctl.ParseLSN(m[1])
	const segSize = 1 << 20
	boundary := pgctl.LSN((uint64(span)/segSize + 1) * segSize)

	// The standby's copy: WAL up to the boundary only.
	copyDir := filepath.Join(c.Dir, "copy")
	c.asOwner(t, "/bin/cp", "-a", c.PgData, copyDir)
	entries, err := os.ReadDir(filepath.Join(copyDir, "pg_wal"))
	if err != nil {
		t.Fatal(err)
	}
	seg := uint64(boundary-1) / segSize
	last := fmt.Sprintf("%08X%08X%08X", 1, seg/((1<<32)/segSize), seg%((1<<32)/segSize)) // the boundary's segment
	for _, e := range entries {
		if len(e.Name()) == 24 && e.Name() > last {
			os.Remove(filepath.Join(copyDir, "pg_wal", e.Name()))
		}
	}
	owner, err := pgctl.LookupUser("postgres")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name   string
		pgdata string
		check  func(pgctl.WALTail) bool
		want   string
	}{
		{"the copy that stops at the boundary", copyDir, func(w pgctl.WALTail) bool { return w.Exact && w.Last < span && w.Next == boundary },
			"the last record complete before the boundary, which starts before the span record"},
		{"the crashed primary", c.PgData, func(w pgctl.WALTail) bool { return w.Exact && w.Last > span },
			"a record after the span record"},
	} {
		tail, err := pgctl.Server{PgCtl: filepath.Join(pgBinDir, "pg_ctl"), PgData: tc.pgdata, Owner: owner}.LastWALRecord(ctx, 1, redo, segSize)
		if err != nil || !tc.check(tail) {
			t.Errorf("%s: LastWALRecord = %+v, %v; want %s (span record at %s, boundary %s)", tc.name, tail, err, tc.want, span, boundary)
		}
	}
}
