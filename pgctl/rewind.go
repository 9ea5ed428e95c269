package pgctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// pg_rewind for rewind=auto (issue #13 §1; docs/design.md §5 "Rejoin"): the command, the
// crash recovery before it, the password kept out of its command line, and the node's own
// configuration kept across it.

// Rewind runs pg_rewind (beside pg_ctl) as the cluster owner on this stopped data directory,
// with source, a libpq connection string to the current primary, bounded by ctx; dryRun
// (--dry-run) changes nothing. password, when set, reaches libpq as PGPASSWORD, not on the
// command line (which every local user can read in /proc). A non-zero exit is in
// Result.ExitCode with a nil error, as Run reports it.
func (s Server) Rewind(ctx context.Context, source, password string, dryRun bool) (Result, error) {
	bin := filepath.Join(filepath.Dir(s.PgCtl), "pg_rewind")
	argv := []string{bin, "--target-pgdata=" + s.PgData, "--source-server=" + source}
	if dryRun {
		argv = append(argv, "--dry-run")
	}
	env := s.env()
	if password != "" {
		env = append(env, "PGPASSWORD="+password)
	}
	res, err := Run(ctx, Command{Argv: argv, Dir: s.PgData, Env: env, As: &s.Owner})
	if err != nil {
		return res, fmt.Errorf("pg_rewind: %w", err)
	}
	return res, nil
}

// keepAllWAL is the most wal_keep_size (MB) or wal_keep_segments every build accepts
// (INT_MAX / 1024): 2 TB of WAL, or 2097151 segments.
const keepAllWAL = "2097151"

// FinishCrashRecovery runs the server once in single-user mode (postgres --single, beside
// pg_ctl, as the owner, bounded by ctx): it replays the WAL to its end and shuts down with a
// checkpoint, as pg_rewind needs its target. Unlike pg_rewind's own run of it, it keeps every
// WAL segment (wal_keep_size, or wal_keep_segments before 13): the checkpoints of that run
// would otherwise remove the segments that hold the last checkpoint before the fork, which
// pg_rewind must read. v is the server's version. A non-zero exit is in Result.ExitCode.
func (s Server) FinishCrashRecovery(ctx context.Context, v Version) (Result, error) {
	keep := "wal_keep_segments=" + keepAllWAL
	if v.Has(WALKeepSize) {
		keep = "wal_keep_size=" + keepAllWAL
	}
	bin := filepath.Join(filepath.Dir(s.PgCtl), "postgres")
	argv := []string{bin, "--single", "-D", s.PgData, "-c", "config_file=" + s.Config, "-c", keep, "template1"}
	res, err := Run(ctx, Command{Argv: argv, Dir: s.PgData, Env: s.env(), As: &s.Owner})
	if err != nil {
		return res, fmt.Errorf("postgres --single: %w", err)
	}
	return res, nil
}

// SplitConninfoPassword takes the password out of a libpq keyword=value connection string:
// rest is every other setting as written, password the value of the last password keyword
// (libpq takes the last). Values may be single-quoted (with \' and \\) or bare (with
// backslash escapes), as libpq reads them.
func SplitConninfoPassword(conninfo string) (rest, password string, err error) {
	var kept []string
	s := conninfo
	skip := func() { s = strings.TrimLeft(s, " \t\n\r\f\v") }
	for skip(); s != ""; skip() {
		start := s
		key := s[:strings.IndexAny(s+"=", "= \t\n\r\f\v")]
		s = s[len(key):]
		skip()
		if key == "" || !strings.HasPrefix(s, "=") {
			return "", "", fmt.Errorf("connection string: missing \"=\" after %q", key)
		}
		s = s[1:]
		skip()
		var value strings.Builder
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			s = s[1:]
		}
		closed := !quoted
		for s != "" {
			c := s[0]
			if c == '\\' && len(s) > 1 {
				value.WriteByte(s[1])
				s = s[2:]
				continue
			}
			if quoted && c == '\'' {
				s, closed = s[1:], true
				break
			}
			if !quoted && strings.IndexByte(" \t\n\r\f\v", c) >= 0 {
				break
			}
			value.WriteByte(c)
			s = s[1:]
		}
		if !closed {
			return "", "", errors.New("connection string: unterminated quoted value")
		}
		if key == "password" {
			password = value.String()
			continue
		}
		kept = append(kept, strings.TrimSpace(start[:len(start)-len(s)]))
	}
	return strings.Join(kept, " "), password, nil
}

// RewindKeeps are the files of a data directory that configure the node rather than hold
// its data: pg_rewind copies the source's over them, and the agent puts this node's back.
var RewindKeeps = []string{"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"}

// SavedFiles are files of one directory as they were, to be put back by Restore.
type SavedFiles struct {
	dir   string
	files []savedFile
}

type savedFile struct {
	name    string
	present bool
	content []byte
	mode    uint32
	owner   safefs.Owner
}

// SaveFiles reads the named regular files of dir (each at most safefs.ConfigLimit bytes); a
// missing one is remembered as missing.
func SaveFiles(dir string, names []string) (SavedFiles, error) {
	saved := SavedFiles{dir: dir}
	for _, name := range names {
		path := filepath.Join(dir, name)
		st, err := safefs.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			saved.files = append(saved.files, savedFile{name: name})
			continue
		}
		if err != nil {
			return SavedFiles{}, err
		}
		content, err := safefs.ReadFile(path, safefs.ConfigLimit)
		if err != nil {
			return SavedFiles{}, err
		}
		saved.files = append(saved.files, savedFile{name: name, present: true, content: content,
			mode: st.Mode & 0o7777, owner: safefs.Owner{UID: st.Uid, GID: st.Gid}})
	}
	return saved, nil
}

// Restore puts every saved file back as it was (content, mode, owner) and removes the ones
// that were missing. It goes on after a failure and reports the first.
func (s SavedFiles) Restore() error {
	var first error
	for _, f := range s.files {
		path := filepath.Join(s.dir, f.name)
		var err error
		if f.present {
			_, err = safefs.WriteFileAtomic(path, f.content, f.mode, &f.owner)
		} else {
			err = safefs.Remove(path)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
