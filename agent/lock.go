package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// LockFile is <tmpdir>/PGSQL.lock, created when a node is promoted. While it exists the node
// may hold data no other node has (it was a primary and did not hand over cleanly), so it
// must not start as a standby of anyone.
func LockFile(tmpdir string) string { return filepath.Join(tmpdir, "PGSQL.lock") }

// LockInfo is what a lock file records: key=value lines written by this agent; the shell
// agent's lock is an empty file, which is honoured just the same.
type LockInfo struct {
	Fields map[string]string
}

// ReadLock returns the lock's content, or ok=false when there is no lock.
func ReadLock(tmpdir string) (info LockInfo, ok bool, err error) {
	b, err := safefs.ReadFile(LockFile(tmpdir), safefs.StateLimit)
	if errors.Is(err, os.ErrNotExist) {
		return LockInfo{}, false, nil
	}
	if err != nil {
		return LockInfo{}, false, err
	}
	return parseLock(b), true, nil
}

// parseLock reads a lock's key=value lines, however long: a bufio.Scanner would stop at the
// first line over 64 KiB (a long reason) and drop the fields after it (#11).
func parseLock(content []byte) LockInfo {
	info := LockInfo{Fields: map[string]string{}}
	for line := range strings.Lines(string(content)) {
		if k, v, found := strings.Cut(line, "="); found {
			info.Fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return info
}

// What took a lock.
const (
	lockEventPromoted = "promoted" // a promote: this node was a primary
	lockEventDemoted  = "demoted"  // a clean demote: timeline/lsn are its shutdown checkpoint
	lockEventDiverged = "diverged" // the pre-promote guard or a split-brain demote
)

// walPoint is the timeline and LSN the lock records.
func (l LockInfo) walPoint() (WALPoint, error) {
	tli, err := strconv.ParseUint(l.Fields["timeline"], 10, 32)
	if err != nil || tli == 0 {
		return WALPoint{}, fmt.Errorf("no timeline in the lock")
	}
	lsn, err := pgctl.ParseLSN(l.Fields["lsn"])
	if err != nil {
		return WALPoint{}, err
	}
	return WALPoint{Timeline: uint32(tli), LSN: lsn}, nil
}

// LockRecord is what a lock says about why it was taken.
type LockRecord struct {
	Event    string // what took it: one of the lockEvent values
	Node     string
	Timeline uint32
	LSN      pgctl.LSN
	At       time.Time
	Reason   string // optional, one line
	Seq      uint64 // optional: the promotion (<rsc>-promote-point) this node's WAL belongs to
}

// WriteLock creates the lock with what is known when it is taken.
func WriteLock(tmpdir string, rec LockRecord) error {
	_, err := pgctl.WriteFileAtomic(LockFile(tmpdir), lockContent(rec), 0o600, pgctl.OSUser{})
	return err
}

// lockContent is the lock's key=value lines for rec.
func lockContent(rec LockRecord) []byte {
	content := fmt.Sprintf("event=%s\n%s_at=%s\nnode=%s\ntimeline=%d\nlsn=%s\n",
		rec.Event, rec.Event, rec.At.UTC().Format(time.RFC3339), rec.Node, rec.Timeline, rec.LSN)
	if rec.Seq != 0 {
		content += fmt.Sprintf("promote_seq=%d\n", rec.Seq)
	}
	if rec.Reason != "" {
		content += "reason=" + lockReason(rec.Reason) + "\n"
	}
	return []byte(content)
}

// ProbeLock writes what WriteLock would (rec, with the longest promote_seq) to a file beside
// the lock, the same way, and removes it: a tmpdir that would refuse the lock (read-only,
// full) is found before an action writes anything else, so that a promote it refuses leaves
// the cluster as it was (review 11; issue #12). It never creates or changes the lock. Its
// name is new at each call: nothing left or planted in tmpdir (which the postgres user owns)
// stands at it, so only what the lock needs decides (review 12). What stands at PGSQL.lock
// itself decides too, as it does for WriteLock, which replaces only a regular file there and
// refuses a directory, a symbolic link or a FIFO: the probe reads it the same way, changing
// nothing (review 13: with the probe blind to it, the refusal came after the pending promote
// point was published).
func ProbeLock(tmpdir string, rec LockRecord) error {
	rec.Seq = math.MaxUint64
	content := lockContent(rec)
	_, err := safefs.ReadFile(LockFile(tmpdir), int64(len(content)))
	if err != nil && !errors.Is(err, safefs.ErrTooLarge) && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var random [8]byte
	_, _ = rand.Read(random[:])
	probe := filepath.Join(tmpdir, ".PGSQL.lock.probe-"+hex.EncodeToString(random[:]))
	if _, err := pgctl.WriteFileAtomic(probe, content, 0o600, pgctl.OSUser{}); err != nil {
		return err
	}
	return pgctl.RemoveFile(probe)
}

// lockReasonLimit keeps a lock small whatever its reason says: locks are read back with a
// cap (safefs.StateLimit).
const lockReasonLimit = 1024

// lockReason is the reason as the lock records it: one line, at most lockReasonLimit bytes.
func lockReason(reason string) string {
	line := strings.ReplaceAll(reason, "\n", " ")
	if len(line) > lockReasonLimit {
		line = strings.ToValidUTF8(line[:lockReasonLimit], "")
	}
	return line
}

// LockRefusal is the exit reason of a start refused by the lock, in the old agent's words:
// operators and runbooks search for them.
func LockRefusal(tmpdir string) string {
	return fmt.Sprintf("My data may be inconsistent. You have to remove %s file to force start.", LockFile(tmpdir))
}

// String renders what the lock records, for the log line beside the refusal.
func (l LockInfo) String() string {
	if len(l.Fields) == 0 {
		return "nothing (an empty lock, as the shell agent wrote it)"
	}
	var keys []string
	for k := range l.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+l.Fields[k])
	}
	return strings.Join(parts, " ")
}
