package agent

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-multierror"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// System is what the local checks found out and the actions go on to use.
type System struct {
	Owner   pgctl.OSUser
	Version pgctl.Version
	PgCtl   string // pgctl resolved to a path
}

// CheckSystem inspects this machine for the configuration (OCF_CHECK_LEVEL 10): binaries,
// the owner account, the data directory, files the server writes, and version-dependent
// features. It only looks; nothing is created or changed. During a probe a missing config
// file and an unwritable data directory are not errors (the node may simply not be set up
// to run the resource yet).
func CheckSystem(c Config, env Env) (System, error) {
	var errs *multierror.Error
	add := func(e *Error) { errs = multierror.Append(errs, e) }
	var sys System
	probe := env.IsProbe()

	// A bare command name is looked up in PATH, as the old agent's `which` did.
	if path, err := exec.LookPath(c.PgCtl); err != nil {
		add(fail(ErrInstalled, err, "pgctl=%s: no such executable", c.PgCtl))
	} else {
		sys.PgCtl = path
	}

	owner, err := pgctl.LookupUser(c.PgDBA)
	ownerKnown := err == nil
	if err != nil {
		add(fail(ErrInstalled, err, "pgdba=%s: no such user on this node", c.PgDBA))
	}
	sys.Owner = owner
	if euid := safefs.ProcessEUID(); euid != 0 && ownerKnown && uint32(euid) != owner.UID {
		add(fail(ErrPerm, nil, "the agent runs as uid %d: it must run as root or as pgdba=%s", euid, c.PgDBA))
	}

	switch info, err := os.Stat(c.PgData); {
	case errors.Is(unsafeLink(c.PgData, true), safefs.ErrUnsafeLink):
		add(linkProblem("pgdata", c.PgData))
	case err != nil:
		add(fail(ErrInstalled, err, "pgdata=%s does not exist", c.PgData))
	case !info.IsDir():
		add(fail(ErrInstalled, nil, "pgdata=%s is not a directory", c.PgData))
	default:
		if v, err := pgctl.ReadVersion(c.PgData); err != nil {
			add(fail(ErrInstalled, err, "pgdata=%s holds no readable PG_VERSION: not a data directory", c.PgData))
		} else {
			sys.Version = v
			for _, e := range versionProblems(c, v) {
				add(e)
			}
		}
		if ownerKnown && !probe && !mayAccess(owner, c.PgData, accessWrite|accessExecute) {
			add(fail(ErrPerm, nil, "pgdata=%s is not writable by pgdba=%s", c.PgData, c.PgDBA))
		}
	}

	if _, err := os.Stat(c.ConfigFile); err != nil && !probe {
		add(fail(ErrInstalled, err, "config=%s not found", c.ConfigFile))
	} else if err == nil && c.RepMode != RepNone {
		// The agent may add its include line to postgresql.conf, which it does only to the
		// file itself, reached without a link pgdba could change.
		if st, err := safefs.Lstat(c.ConfigFile); err != nil || st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			add(fail(ErrConfigured, err, "config=%s is a symbolic link or behind one pgdba can change: name the file itself (rep_mode=%s adds an include line to it)", c.ConfigFile, c.RepMode))
		}
	}
	if ownerKnown {
		if e := checkWritableFile("logfile", c.Logfile, owner); e != nil {
			add(e)
		}
		if c.SocketDir != "" {
			if e := checkWritableDir("socketdir", c.SocketDir, owner); e != nil {
				add(e)
			}
		}
		if c.RepMode != RepNone {
			if e := checkWritableDir("tmpdir", c.TmpDir, owner); e != nil {
				add(e)
			}
		}
	}
	return sys, errs.ErrorOrNil()
}

// versionProblems lists what the configuration asks of PostgreSQL version v that it lacks.
func versionProblems(c Config, v pgctl.Version) []*Error {
	var out []*Error
	switch {
	case c.RepMode == RepNone:
	case !v.Has(pgctl.StreamingReplication):
		out = append(out, fail(ErrInstalled, nil, "rep_mode=%s needs PostgreSQL %s or later; pgdata is %s",
			c.RepMode, pgctl.Since(pgctl.StreamingReplication), v))
	case c.RepMode.Replicated() && !v.Has(pgctl.ReplicationStateViews):
		// The old agent took 9.1 to 9.5 too; this agent's state query would fail every
		// monitor there (README, "Migrating"). rep_mode=slave runs only monitor_sql.
		out = append(out, fail(ErrInstalled, nil, "rep_mode=%s needs PostgreSQL %s or later here (pg_stat_wal_receiver); pgdata is %s",
			c.RepMode, pgctl.Since(pgctl.ReplicationStateViews), v))
	}
	if c.ReplicationSlotName != "" && !v.Has(pgctl.ReplicationSlots) {
		out = append(out, fail(ErrConfigured, nil, "replication_slot_name needs PostgreSQL %s or later; pgdata is %s",
			pgctl.Since(pgctl.ReplicationSlots), v))
	}
	return out
}

// unsafeLink walks to path (a directory, or a file's directory) the way the actions will:
// safefs.ErrUnsafeLink means a symbolic link pgdba could change is on the way.
func unsafeLink(path string, isDir bool) error {
	if !isDir {
		path = filepath.Dir(path)
	}
	d, err := safefs.OpenDir(path)
	if err == nil {
		d.Close()
	}
	return err
}

func linkProblem(param, path string) *Error {
	return fail(ErrPerm, safefs.ErrUnsafeLink, "%s=%s leads through a symbolic link in a directory that not only root can write (#11)", param, path)
}

// checkWritableFile: an existing file must be writable by owner; a missing one must be
// creatable (its directory exists; the agent creates it as root and hands it to owner).
func checkWritableFile(param, path string, owner pgctl.OSUser) *Error {
	if errors.Is(unsafeLink(path, false), safefs.ErrUnsafeLink) {
		return linkProblem(param, path)
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return fail(ErrPerm, nil, "%s=%s is a directory", param, path)
	case err == nil:
		if !mayAccess(owner, path, accessWrite) {
			return fail(ErrPerm, nil, "%s=%s is not writable by %s", param, path, owner.Name)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		if dir, err := os.Stat(filepath.Dir(path)); err != nil || !dir.IsDir() {
			return fail(ErrPerm, err, "%s=%s cannot be created: no directory %s", param, path, filepath.Dir(path))
		}
		return nil
	default:
		return fail(ErrPerm, err, "%s=%s cannot be checked", param, path)
	}
}

// checkWritableDir: an existing directory must be writable by owner; a missing one must be
// creatable (its nearest existing ancestor is a directory).
func checkWritableDir(param, path string, owner pgctl.OSUser) *Error {
	if errors.Is(unsafeLink(path, true), safefs.ErrUnsafeLink) {
		return linkProblem(param, path)
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.IsDir():
		return fail(ErrPerm, nil, "%s=%s is not a directory", param, path)
	case err == nil:
		if !mayAccess(owner, path, accessWrite|accessExecute) {
			return fail(ErrPerm, nil, "%s=%s is not writable by %s", param, path, owner.Name)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		ancestor, ainfo, aerr := nearestExisting(path)
		if aerr != nil || !ainfo.IsDir() {
			return fail(ErrPerm, aerr, "%s=%s cannot be created: %s is not a directory", param, path, ancestor)
		}
		return nil
	default:
		return fail(ErrPerm, err, "%s=%s cannot be checked", param, path)
	}
}
