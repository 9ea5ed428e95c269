package pgctl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// A WAL directory kept outside pgdata (initdb --waldir: pg_wal is a symbolic link the owner
// placed) is read through its link when pgdata's owner owns it and can reach it, and refused
// otherwise (review 28-D, review 30; docs/design.md §8).

// walLab is a directory others can traverse (the owner must reach pgdata, as PostgreSQL's
// own user must) holding pgdata, both the owner's: nobody (65534) when the test runs as
// root, else the test's own user.
type walLab struct {
	base   string
	server Server
}

func newWALLab(t *testing.T) *walLab {
	t.Helper()
	base, err := os.MkdirTemp("/var/tmp", "pgsql-ra-waldir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	l := &walLab{base: base, server: Server{PgData: filepath.Join(base, "data"),
		Owner: OSUser{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}}}
	if os.Geteuid() == 0 {
		l.server.Owner = OSUser{UID: 65534, GID: 65534}
	}
	must(t, os.Mkdir(l.server.PgData, 0o700))
	l.give(t, l.server.PgData)
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// give makes path the owner's (nothing to do without root: it is already).
func (l *walLab) give(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() == 0 {
		must(t, os.Lchown(path, int(l.server.Owner.UID), int(l.server.Owner.GID)))
	}
}

// linkWAL makes pgdata/pg_wal the owner's link to link, and target (when not empty) the
// owner's directory holding timeline 2's history and its first segment.
func (l *walLab) linkWAL(t *testing.T, target, link string) {
	t.Helper()
	if target != "" {
		must(t, os.MkdirAll(target, 0o700))
		l.give(t, target)
		for name, content := range map[string]string{"00000002.history": "1\t0/3000000\tno recovery target specified\n", "000000020000000000000003": ""} {
			must(t, os.WriteFile(filepath.Join(target, name), []byte(content), 0o600))
			l.give(t, filepath.Join(target, name))
		}
	}
	wal := filepath.Join(l.server.PgData, "pg_wal")
	must(t, os.Symlink(link, wal))
	l.give(t, wal)
}

// reads reports whether HasHistory, ReadTimelineSwitch and the segment probe all found
// timeline 2's files through pg_wal; err is theirs.
func (l *walLab) reads() (found bool, err error) {
	v := Version{Major: 15}
	has, hasErr := l.server.HasHistory(v, 2)
	sw, readErr := l.server.ReadTimelineSwitch(v, 2)
	missing, probed := l.server.firstMissingSegment(2, 0x3000028, 16<<20)
	if err := errors.Join(hasErr, readErr); err != nil {
		return false, err
	}
	return has && sw == (TimelineSwitch{Parent: 1, At: 0x3000000}) && probed && missing == 0x4000000, nil
}

func TestLinkedWALDirOfTheOwnerIsRead(t *testing.T) {
	l := newWALLab(t)
	wal := filepath.Join(l.base, "wal", "pg_wal")
	must(t, os.Mkdir(filepath.Dir(wal), 0o755))
	l.linkWAL(t, wal, wal)
	if found, err := l.reads(); !found || err != nil {
		t.Errorf("pg_wal linked to the owner's directory: history and segments not read (found %v, %v)", found, err)
	}
	if has, err := l.server.HasHistory(Version{Major: 15}, 3); has || err != nil {
		t.Errorf("timeline 3, which has no history file: %v, %v", has, err)
	}
}

func TestLinkedWALDirRefused(t *testing.T) {
	cases := []struct {
		name string
		// setup links pgdata/pg_wal somewhere.
		setup    func(t *testing.T, l *walLab)
		want     error
		needRoot bool
	}{
		{"relative link", func(t *testing.T, l *walLab) {
			l.linkWAL(t, filepath.Join(l.base, "wal"), "../wal")
		}, ErrForeignWALDir, false},
		{"root's directory", func(t *testing.T, l *walLab) {
			l.linkWAL(t, "", "/")
		}, ErrForeignWALDir, false},
		{"the owner's directory under a parent the owner cannot search", func(t *testing.T, l *walLab) {
			secret := filepath.Join(l.base, "secret")
			must(t, os.Mkdir(secret, 0o700))
			l.linkWAL(t, filepath.Join(secret, "wal"), filepath.Join(secret, "wal"))
		}, os.ErrPermission, true},
		{"a further link in a directory others can write", func(t *testing.T, l *walLab) {
			shared := filepath.Join(l.base, "shared")
			must(t, os.Mkdir(shared, 0o777))
			must(t, os.Chmod(shared, 0o1777))
			must(t, os.Symlink(filepath.Join(l.base, "wal"), filepath.Join(shared, "wal")))
			l.linkWAL(t, filepath.Join(l.base, "wal"), filepath.Join(shared, "wal"))
		}, safefs.ErrUnsafeLink, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.needRoot && os.Geteuid() != 0 {
				t.Skip("needs root: a directory the owner cannot search but root can")
			}
			l := newWALLab(t)
			c.setup(t, l)
			found, err := l.reads()
			if found || !errors.Is(err, c.want) {
				t.Errorf("found %v, error %v; want it refused with %q", found, err, c.want)
			}
			if _, probed := l.server.firstMissingSegment(2, 0x3000028, 16<<20); probed {
				t.Error("the segment probe read through the refused link")
			}
		})
	}
}
