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

// TestReview7LastWALRecordForgedByAMessage (seventh review): WAL that stops at a segment
// boundary is read by listing the last segment's records (pg_waldump without --quiet) and
// keeping the last 64 lines of that listing. A database user without any privilege beyond
// PUBLIC's writes a logical message whose prefix (printed raw by pg_waldump) holds 90
// newlines and then a line shaped like a pg_waldump record naming an earlier LSN. When that
// message is the last complete record before the boundary, the 64-line window starts inside
// the prefix: the forged line is the first "rmgr:" line in it, ParseLastRecordStart takes it
// without a predecessor, and LastWALRecord reports an exact end of WAL earlier than the real
// last record. DecideRejoin would then take a node whose last record is past a fork for one
// before it (unlock, start, splice), and a restart_on_promote promotion would publish a fork
// before records it holds. Real PostgreSQL 15, 1 MB segments, as
// TestLastWALRecordAtSegmentBoundary.
func TestReview7LastWALRecordForgedByAMessage(t *testing.T) {
	c := newCluster(t, "--wal-segsize=1")
	c.appendConf(t, "autovacuum = off\n")
	c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "start", "-D", c.PgData, "-w", "-l", c.Logfile)
	c.sql(t, "CREATE ROLE mallory LOGIN NOSUPERUSER")
	// All as mallory: padding to a little before a boundary, the forging message, then a 40 kB
	// record that crosses the boundary.
	c.sql(t, `SET ROLE mallory; DO $$
DECLARE d numeric; p0 pg_lsn; fake text;
BEGIN
  p0 := pg_current_wal_insert_lsn(); -- where the next record (the padding) starts
  d := 1048576 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 1048576);
  IF d > 30000 THEN PERFORM pg_logical_emit_message(false, 'pad', repeat('x', (d - 12000)::int)); END IF;
  d := 1048576 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 1048576);
  IF d < 2000 THEN PERFORM pg_logical_emit_message(false, 'pad2', repeat('x', 20000)); END IF;
  fake := 'rmgr: Heap        len (rec/tot):     54/    54, tx:        735, lsn: ' || p0::text ||
          ', prev ' || (p0 - 200)::text || ', desc: INSERT off 1 flags 0x00';
  PERFORM pg_logical_emit_message(false, 'forge' || repeat(E'\nx', 90) || E'\n' || fake, 'p');
  PERFORM pg_logical_emit_message(false, 'span', repeat('y', 40000));
END $$`)
	c.sql(t, "CREATE TABLE after_span (v int)")
	c.kill(t) // immediate shutdown: a crash

	redo, span, realLast := spanRecord(t, c)
	// realLast, the record before the span, is the last complete one before the boundary.
	const segSize = 1 << 20
	boundary := pgctl.LSN((uint64(span)/segSize + 1) * segSize)
	if realLast >= boundary || uint64(realLast)/segSize != uint64(span)/segSize {
		t.Fatalf("setup: the record before the span (%s) is not in the boundary's segment (span %s)", realLast, span)
	}

	copyDir := filepath.Join(c.Dir, "copy")
	c.asOwner(t, "/bin/cp", "-a", c.PgData, copyDir)
	entries, err := os.ReadDir(filepath.Join(copyDir, "pg_wal"))
	if err != nil {
		t.Fatal(err)
	}
	seg := uint64(boundary-1) / segSize
	last := fmt.Sprintf("%08X%08X%08X", 1, seg/((1<<32)/segSize), seg%((1<<32)/segSize))
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
	tail, err := pgctl.Server{PgCtl: filepath.Join(pgBinDir, "pg_ctl"), PgData: copyDir, Owner: owner}.LastWALRecord(ctx, 1, redo, segSize)
	if err == nil && tail.Exact && tail.Last != realLast {
		t.Errorf("LastWALRecord = %+v: an exact end of WAL at %s, but the last complete record starts at %s (the forging message; span at %s, boundary %s)",
			tail, tail.Last, realLast, span, boundary)
	}
	t.Logf("LastWALRecord = %+v, %v (real last %s, span %s, boundary %s, redo %s)", tail, err, realLast, span, boundary, redo)
	if err == nil && !tail.Exact {
		t.Errorf("LastWALRecord = %+v: not exact", tail)
	}
}

// TestReview7LastWALRecordNextSegmentNotValid (seventh review): WAL whose record crossing a
// segment boundary goes on into a next segment file that holds no valid WAL: zero-filled, as
// XLogFileInit preallocates it (PreallocXlogFiles at a checkpoint, wal_recycle=off, a young
// cluster), or recycled (a valid header with an old page address). Crash recovery replays
// the record before the crossing one last. pg_waldump, given --path and no file name, takes
// the segment size from the header of the first WAL file readdir returns: a zero-filled one
// makes it fail at once ("header specifies 0 bytes"), so the end of WAL is unknown, by
// directory order, whenever such a file is in pg_wal (a locked node then stays locked; a
// restart_on_promote promotion publishes no exact point). The recycled case is exact.
func TestReview7LastWALRecordNextSegmentNotValid(t *testing.T) {
	c := newCluster(t, "--wal-segsize=1")
	c.appendConf(t, "autovacuum = off\n")
	c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "start", "-D", c.PgData, "-w", "-l", c.Logfile)
	c.sql(t, `DO $$
DECLARE d numeric;
BEGIN
  d := 1048576 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 1048576);
  IF d > 30000 THEN PERFORM pg_logical_emit_message(false, 'pad', repeat('x', (d - 12000)::int)); END IF;
  d := 1048576 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 1048576);
  IF d < 2000 THEN PERFORM pg_logical_emit_message(false, 'pad2', repeat('x', 20000)); END IF;
  PERFORM pg_logical_emit_message(false, 'span', repeat('y', 40000));
END $$`)
	c.sql(t, "CREATE TABLE after_span (v int)") // flushes the span record
	c.kill(t)
	redo, span, realLast := spanRecord(t, c)
	const segSize = 1 << 20
	boundary := pgctl.LSN((uint64(span)/segSize + 1) * segSize)
	segName := func(start pgctl.LSN) string {
		seg := uint64(start) / segSize
		return fmt.Sprintf("%08X%08X%08X", 1, seg/((1<<32)/segSize), seg%((1<<32)/segSize))
	}
	owner, err := pgctl.LookupUser("postgres")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		next func() []byte
	}{
		{"zero-filled", func() []byte { return make([]byte, segSize) }},
		{"recycled", func() []byte {
			b, err := os.ReadFile(filepath.Join(c.PgData, "pg_wal", segName(boundary-segSize)))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	} {
		copyDir := filepath.Join(c.Dir, "copy-"+tc.name)
		c.asOwner(t, "/bin/cp", "-a", c.PgData, copyDir)
		if err := os.WriteFile(filepath.Join(copyDir, "pg_wal", segName(boundary)), tc.next(), 0o600); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(filepath.Join(copyDir, "pg_wal"))
		for _, e := range entries {
			if len(e.Name()) == 24 && e.Name() > segName(boundary) {
				os.Remove(filepath.Join(copyDir, "pg_wal", e.Name()))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		tail, err := pgctl.Server{PgCtl: filepath.Join(pgBinDir, "pg_ctl"), PgData: copyDir, Owner: owner}.LastWALRecord(ctx, 1, redo, segSize)
		cancel()
		t.Logf("%s: LastWALRecord = %+v, %v (last complete %s, span %s, boundary %s)", tc.name, tail, err, realLast, span, boundary)
		if err != nil || !tail.Exact || tail.Last != realLast {
			t.Errorf("%s next segment: LastWALRecord = %+v; want exact at %s (span at %s, boundary %s)", tc.name, tail, realLast, span, boundary)
		}
	}
}

// spanRecord finds, in the crashed cluster c's WAL from its last checkpoint's REDO location
// (returned too), the message record with prefix "span" and the record before it.
func spanRecord(t *testing.T, c *cluster) (redo, span, before pgctl.LSN) {
	t.Helper()
	control := c.asOwner(t, filepath.Join(pgBinDir, "pg_controldata"), "-D", c.PgData)
	redo, err := pgctl.ParseLSN(regexp.MustCompile(`Latest checkpoint's REDO location:\s+(\S+)`).FindStringSubmatch(control)[1])
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(filepath.Join(pgBinDir, "pg_waldump"), "-p", filepath.Join(c.PgData, "pg_wal"), "-s", redo.String()).CombinedOutput()
	m := regexp.MustCompile(`lsn: (\S+), prev (\S+), desc: MESSAGE non-transactional, prefix "span"`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no span record in the WAL:\n%.2000s", out)
	}
	span, _ = pgctl.ParseLSN(m[1])
	before, _ = pgctl.ParseLSN(m[2])
	return redo, span, before
}
