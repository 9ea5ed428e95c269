package pgctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// pg_rewind for rewind=auto (issue #13 §1; docs/design.md §5 "Rejoin"): the command, the
// crash recovery before it, the password kept out of its command line, and the node's own
// configuration kept across it.

// Rewind runs pg_rewind (beside pg_ctl) as the cluster owner on this stopped data directory
// from src (NewRewindSource), bounded by ctx; dryRun (--dry-run) changes nothing. A non-zero
// exit is in Result.ExitCode with a nil error, as Run reports it.
func (s Server) Rewind(ctx context.Context, src RewindSource, dryRun bool) (Result, error) {
	res, err := Run(ctx, s.RewindCommand(src, dryRun))
	if err != nil {
		return res, fmt.Errorf("pg_rewind: %w", err)
	}
	return res, nil
}

// RewindCommand is pg_rewind's command: its connection string holds no secret (every local
// user can read a command line in /proc); the password reaches libpq as PGPASSWORD, in the
// child's environment, which only its owner and root can read.
func (s Server) RewindCommand(src RewindSource, dryRun bool) Command {
	bin := s.tool("pg_rewind")
	argv := []string{bin, "--target-pgdata=" + s.PgData, "--source-server=" + src.Conninfo}
	if dryRun {
		argv = append(argv, "--dry-run")
	}
	env := s.env()
	if src.Password != "" {
		env = append(env, "PGPASSWORD="+src.Password)
	}
	return Command{Argv: argv, Dir: s.PgData, Env: env, As: &s.Owner}
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
	bin := s.tool("postgres")
	argv := []string{bin, "--single", "-D", s.PgData, "-c", "config_file=" + s.Config, "-c", keep, onPgData(s.PgData), "template1"}
	res, err := Run(ctx, Command{Argv: argv, Dir: s.PgData, Env: s.env(), As: &s.Owner})
	if err != nil {
		return res, fmt.Errorf("postgres --single: %w", err)
	}
	return res, nil
}

// ConninfoSetting is one keyword=value of a libpq connection string: Value as libpq reads
// it, Raw that value written back (QuoteConninfoValue), which reads the same wherever it is
// joined.
type ConninfoSetting struct{ Key, Value, Raw string }

// ParseConninfo reads a libpq keyword=value connection string. Values may be single-quoted
// (with \' and \\) or bare (with backslash escapes), as libpq reads them. A keyword may
// repeat: libpq takes the last.
func ParseConninfo(conninfo string) ([]ConninfoSetting, error) {
	var out []ConninfoSetting
	s := conninfo
	skip := func() { s = strings.TrimLeft(s, " \t\n\r\f\v") }
	for skip(); s != ""; skip() {
		start := s
		key := s[:strings.IndexAny(s+"=", "= \t\n\r\f\v")]
		s = s[len(key):]
		skip()
		if key == "" || !strings.HasPrefix(s, "=") {
			// Not quoted: a misplaced password would be a keyword here.
			return nil, fmt.Errorf("connection string: missing \"=\" after the keyword at byte %d", len(conninfo)-len(start))
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
			if c == '\\' {
				// libpq drops a backslash that ends the string; kept, it would escape
				// the space before whatever is joined after it (the agent's host).
				if len(s) > 1 {
					value.WriteByte(s[1])
					s = s[2:]
				} else {
					s = s[1:]
				}
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
			return nil, errors.New("connection string: unterminated quoted value")
		}
		// Raw is rewritten from the value libpq reads, not kept as written: joined to other
		// settings, what was written could read differently (review 9: a trailing backslash).
		out = append(out, ConninfoSetting{Key: key, Value: value.String(), Raw: key + "=" + QuoteConninfoValue(value.String())})
	}
	return out, nil
}

// RewindSource is pg_rewind's connection to its source server (NewRewindSource).
type RewindSource struct {
	Conninfo string // for pg_rewind's command line: no secret in it
	Password string // for PGPASSWORD
	settings []ConninfoSetting
}

// Last is the value libpq takes for key (the last one written), and whether it is set.
func (s RewindSource) Last(key string) (string, bool) {
	for i := len(s.settings) - 1; i >= 0; i-- {
		if s.settings[i].Key == key {
			return s.settings[i].Value, true
		}
	}
	return "", false
}

// SourceState is what pg_rewind's source server says about itself (QuerySource).
type SourceState struct {
	InRecovery bool
	Timeline   uint32 // the timeline a primary writes WAL on (0: in recovery)
}

// sourceStateSQL asks whether the server is in recovery and, if not, the timeline it writes
// WAL on: pg_walfile_name names the segment with the insert timeline (PostgreSQL 15:
// GetWALInsertionTimeLine()), the new one as soon as a promotion has ended. The timeline of
// pg_control_checkpoint() is the last checkpoint's: right after pg_promote() it is still the
// old one until the checkpoint the promotion only requests completes (a just-promoted primary
// would look like its predecessor); IDENTIFY_SYSTEM needs a replication connection, which is
// not what pg_rewind opens. pg_walfile_name raises an error in recovery, hence the CASE. Both
// functions are executable by any role.
const sourceStateSQL = `SELECT pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_walfile_name(pg_current_wal_lsn()) END`

// sourceCheckKeys are the keywords the source check passes to pgx: those that choose the
// server, the role and how to authenticate and encrypt. libpq's others (keepalives, options,
// gssencmode, ...) tune a connection pgx would reject or ignore; they do not change which
// server answers. target_session_attrs is left out: the check asks pg_is_in_recovery()
// itself, which is stricter than read-write and lets the refusal say what answered.
var sourceCheckKeys = []string{"host", "port", "user", "dbname", "passfile", "connect_timeout", "sslmode", "sslkey", "sslcert",
	"sslrootcert", "sslcertmode", "sslsni", "sslnegotiation", "channel_binding", "require_auth", "krbsrvname", "krbspn",
	"application_name"}

// QuerySource connects to src as pg_rewind will (its host, port, user, database and TLS; the
// password from src.Password), bounded by ctx, and reads
// SourceState, in the function names of v, the local server's version: pg_rewind rewinds only
// from a server of the same major version. The agent runs it as root: client files libpq would take from the owner's
// home (~/.pgpass, ~/.postgresql) are root's here, so a check can fail where pg_rewind would
// connect (the rewind is then refused), never the reverse on the server it reaches.
func QuerySource(ctx context.Context, src RewindSource, v Version) (SourceState, error) {
	var pieces []string
	for _, kv := range src.settings {
		if slices.Contains(sourceCheckKeys, kv.Key) {
			pieces = append(pieces, kv.Raw)
		}
	}
	cfg, err := pgx.ParseConfigWithOptions(strings.Join(pieces, " "), pgx.ParseConfigOptions{
		ParseConfigOptions: pgconn.ParseConfigOptions{ConnStringAllowedKeys: sourceCheckKeys}})
	if err != nil {
		return SourceState{}, errors.New("the source's connection string cannot be read for the check") // pgx may quote it
	}
	if src.Password != "" {
		cfg.Password = src.Password
	}
	if deadline, ok := ctx.Deadline(); ok {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		// pgx lists every attempt (TLS, then without), one a line, each after the host and
		// port ("h:p (addr): "): the last one's cause says most, and fits an exit reason.
		attempts := strings.Split(err.Error(), "\n\t")
		last := strings.TrimSpace(attempts[len(attempts)-1])
		if _, cause, ok := strings.Cut(last, "): "); ok && len(attempts) > 1 {
			last = cause
		}
		return SourceState{}, errors.New(last)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return querySourceState(ctx, conn, walNames(v, sourceStateSQL), "the source")
}

// querySourceState runs sql, sourceStateSQL in the server's function names, on conn; who names
// the server in errors.
func querySourceState(ctx context.Context, conn *pgx.Conn, sql, who string) (SourceState, error) {
	var st SourceState
	var walfile string
	if err := conn.QueryRow(ctx, sql).Scan(&st.InRecovery, &walfile); err != nil {
		return SourceState{}, fmt.Errorf("asking %s whether it is in recovery and its timeline: %w", who, err)
	}
	if st.InRecovery {
		return st, nil
	}
	tli, err := strconv.ParseUint(walfile[:min(8, len(walfile))], 16, 32)
	if len(walfile) != 24 || err != nil || tli == 0 {
		return SourceState{}, fmt.Errorf("%s names its current WAL file %q: no timeline in it", who, walfile)
	}
	st.Timeline = uint32(tli)
	return st, nil
}

// QueryWriteTimeline asks the local primary for the timeline it writes WAL on: right after a
// promotion, the new one (sourceStateSQL says why not pg_control_checkpoint()'s). It is the
// server's own answer; the history files in pg_wal need not tell it, since PostgreSQL also
// counts those only its archive holds when it picks the new timeline (review 24).
func QueryWriteTimeline(ctx context.Context, conn *pgx.Conn, v Version) (uint32, error) {
	st, err := querySourceState(ctx, conn, walNames(v, sourceStateSQL), "PostgreSQL")
	if err == nil && st.InRecovery {
		err = errors.New("PostgreSQL is in recovery")
	}
	return st.Timeline, err
}

// rewindRefusedKeys are the keywords primary_conninfo_opt may not set for pg_rewind: a secret
// libpq takes from no environment variable, which would reach pg_rewind's command line; and
// what could send it to another server than the host the agent names (hostaddr replaces the
// host's address; a service file may set hostaddr).
// The words fit an exit reason (128 bytes).
var rewindRefusedKeys = map[string]string{
	"sslpassword": "pg_rewind would show it in ps",
	"hostaddr":    "pg_rewind could reach another server than master_ip",
	"service":     "pg_rewind could reach another server than master_ip",
}

// rewindKnownKeys are the libpq keywords (PostgreSQL 15 to 17) primary_conninfo_opt may set
// for pg_rewind, besides password (PGPASSWORD) and rewindRefusedKeys. Any other is refused
// before anything runs: libpq would refuse it only in pg_rewind --dry-run, after the crash
// recovery changed the data directory, and on pg_rewind's command line a URI
// ("postgresql://user:secret@host/db?sslmode=..." reads as one keyword) or a keyword of a newer
// libpq (oauth_client_secret, scram_client_key) would show a secret (review 9).
var rewindKnownKeys = []string{"user", "passfile", "channel_binding", "connect_timeout", "dbname", "host", "port",
	"client_encoding", "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
	"keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode", "sslnegotiation", "sslcompression", "sslcert",
	"sslkey", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer", "require_auth",
	"ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname", "gsslib", "gssdelegation",
	"target_session_attrs", "load_balance_hosts", "requiressl", "password"}

// NewRewindSource builds pg_rewind's connection to its source: defaults (keyword=value pieces
// primary_conninfo_opt may override: user, dbname, ...), then opts (primary_conninfo_opt),
// then own (the agent's host, port and target_session_attrs=read-write): libpq takes the last
// value of a keyword, so opts cannot override these. The password goes to Password, never
// to Conninfo. An opts keyword in rewindRefusedKeys is an error that names the keyword and
// why, never its value.
func NewRewindSource(defaults []string, opts string, own []string) (RewindSource, error) {
	optSettings, err := ParseConninfo(opts)
	if err != nil {
		return RewindSource{}, fmt.Errorf("primary_conninfo_opt: %w", err)
	}
	for i, kv := range optSettings {
		if why, refused := rewindRefusedKeys[kv.Key]; refused {
			return RewindSource{}, fmt.Errorf("primary_conninfo_opt sets %s: %s", kv.Key, why)
		}
		if !slices.Contains(rewindKnownKeys, kv.Key) {
			// Not named: it may be a URI holding a password, or a misspelt secret keyword.
			return RewindSource{}, fmt.Errorf("primary_conninfo_opt's setting #%d is no libpq keyword pg_rewind may be given", i+1)
		}
		if kv.Key == "user" && kv.Value == "" {
			// libpq takes an empty user for the operating-system user (pg_rewind runs as the
			// cluster owner), pgx skips it and keeps repuser: the source check would not
			// connect as pg_rewind will (docs/design.md §5 "Rejoin", step 1; review 10).
			return RewindSource{}, errors.New("primary_conninfo_opt sets an empty user: pg_rewind would connect as the cluster owner")
		}
	}
	var src RewindSource
	var kept []string
	for _, part := range [][]string{defaults, {opts}, own} {
		settings, err := ParseConninfo(strings.Join(part, " "))
		if err != nil {
			return RewindSource{}, err
		}
		for _, kv := range settings {
			if kv.Key == "password" {
				src.Password = kv.Value
				continue
			}
			src.settings = append(src.settings, kv)
			kept = append(kept, kv.Raw)
		}
	}
	src.Conninfo = strings.Join(kept, " ")
	return src, nil
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
