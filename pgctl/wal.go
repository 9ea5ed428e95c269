package pgctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// The evidence of where a stopped server's WAL ends (issue #13, docs/design.md §5 "Rejoin").

// walDumpEnd is how pg_waldump reports that it read past the last valid record: "error in
// WAL record at <start of the last valid record>: <why the next one is not valid>". With
// --quiet that line is all it prints.
const walDumpEnd = "error in WAL record at "

// ParseWalDumpEnd reads the start of the last valid record from pg_waldump --quiet's output
// (LC_ALL=C). Any other ending (a file that cannot be opened or found, no valid record at
// all) is an error: the end of WAL is then unknown.
func ParseWalDumpEnd(out []byte) (LSN, error) {
	var found []LSN
	for line := range strings.Lines(string(out)) {
		_, rest, ok := strings.Cut(line, walDumpEnd)
		if !ok {
			continue
		}
		at, _, ok := strings.Cut(rest, ":")
		if !ok {
			return 0, fmt.Errorf("pg_waldump: unexpected line %q", strings.TrimSpace(line))
		}
		lsn, err := ParseLSN(strings.TrimSpace(at))
		if err != nil {
			return 0, fmt.Errorf("pg_waldump: %w", err)
		}
		found = append(found, lsn)
	}
	if len(found) != 1 || found[0] == 0 {
		return 0, fmt.Errorf("pg_waldump did not report the end of WAL: %s", OneLine(out))
	}
	return found[0], nil
}

// LastWALRecord reads this data directory's WAL on timeline tli from the position from (a
// checkpoint's REDO location) with pg_waldump, found beside pg_ctl and run as the cluster
// owner, and returns the start of the last valid record: the record crash recovery would
// replay last. The server must be stopped. Bounded by ctx.
func (s Server) LastWALRecord(ctx context.Context, tli uint32, from LSN) (LSN, error) {
	bin := filepath.Join(filepath.Dir(s.PgCtl), "pg_waldump")
	argv := []string{bin, "--quiet", "--path", filepath.Join(s.PgData, "pg_wal"),
		"--timeline", strconv.FormatUint(uint64(tli), 10), "--start", from.String()}
	res, err := Run(ctx, Command{Argv: argv, Dir: s.PgData, Env: ChildEnv(s.Owner), As: &s.Owner})
	if err != nil {
		return 0, fmt.Errorf("pg_waldump: %w", err)
	}
	// Reading WAL to its end always ends in an error: exit status 1.
	if res.ExitCode != 1 {
		return 0, fmt.Errorf("pg_waldump exited %d: %s", res.ExitCode, OneLine(res.Output))
	}
	last, err := ParseWalDumpEnd(res.Output)
	if err != nil {
		return 0, err
	}
	if last < from {
		return 0, fmt.Errorf("pg_waldump found no record after %s (last at %s)", from, last)
	}
	return last, nil
}

// HistoryFile is the path of a timeline's history file in pg_wal.
func HistoryFile(pgdata string, tli uint32) string {
	return filepath.Join(pgdata, "pg_wal", fmt.Sprintf("%08X.history", tli))
}

// HasHistory reports whether pg_wal holds the history file of timeline tli (a node that
// promoted to it, or a standby that followed a primary onto it, has one).
func HasHistory(pgdata string, tli uint32) (bool, error) {
	_, err := safefs.Lstat(HistoryFile(pgdata, tli))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// TimelineSwitch is the last line of a timeline's history file: the parent timeline and the
// switch point, the end of the last record the promoted server had replayed on the parent.
type TimelineSwitch struct {
	Parent uint32
	At     LSN
}

// ParseTimelineHistory reads the last entry of a history file ("<parent tli>\t<X/Y>\t<reason>"
// lines; '#' comments and blank lines are skipped).
func ParseTimelineHistory(content []byte) (TimelineSwitch, error) {
	var last TimelineSwitch
	found := false
	for line := range strings.Lines(string(content)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return TimelineSwitch{}, fmt.Errorf("history file line %q", line)
		}
		tli, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil || tli == 0 {
			return TimelineSwitch{}, fmt.Errorf("history file line %q: parent timeline", line)
		}
		at, err := ParseLSN(fields[1])
		if err != nil {
			return TimelineSwitch{}, fmt.Errorf("history file line %q: %w", line, err)
		}
		if found && (uint32(tli) <= last.Parent || at < last.At) {
			return TimelineSwitch{}, fmt.Errorf("history file entries out of order at %q", line)
		}
		last, found = TimelineSwitch{Parent: uint32(tli), At: at}, true
	}
	if !found {
		return TimelineSwitch{}, errors.New("history file has no entry")
	}
	return last, nil
}

// historyLimit caps a history file read (one short line per timeline switch).
const historyLimit = 1 << 20

// ReadTimelineSwitch reads the last switch of timeline tli's history file.
func ReadTimelineSwitch(pgdata string, tli uint32) (TimelineSwitch, error) {
	b, err := safefs.ReadFile(HistoryFile(pgdata, tli), historyLimit)
	if err != nil {
		return TimelineSwitch{}, err
	}
	sw, err := ParseTimelineHistory(bytes.TrimSpace(b))
	if err != nil {
		return TimelineSwitch{}, fmt.Errorf("%s: %w", HistoryFile(pgdata, tli), err)
	}
	return sw, nil
}
