package pgctl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// A WAL directory kept outside pgdata (initdb --waldir: pg_wal is a symbolic link) is read
// through its link when the owner of pgdata owns it, and refused otherwise (review 28-D,
// docs/design.md §8).

// linkedWAL makes pgdata/pg_wal a link to target, a directory holding timeline 2's history
// and the first segment of timeline 2.
func linkedWAL(t *testing.T, pgdata, target, link string) {
	t.Helper()
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "00000002.history"), []byte("1\t0/3000000\tno recovery target specified\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "000000020000000000000003"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(link, filepath.Join(pgdata, "pg_wal")); err != nil {
		t.Fatal(err)
	}
}

// readsHistory reports what HasHistory, ReadTimelineSwitch and the segment probe found
// through pgdata's pg_wal; err is the first error.
func readsHistory(pgdata string) (found bool, err error) {
	v := Version{Major: 15}
	has, hasErr := HasHistory(pgdata, v, 2)
	sw, readErr := ReadTimelineSwitch(pgdata, v, 2)
	missing, probed := Server{PgData: pgdata}.firstMissingSegment(2, 0x3000028, 16<<20)
	if err := errors.Join(hasErr, readErr); err != nil {
		return false, err
	}
	return has && sw == (TimelineSwitch{Parent: 1, At: 0x3000000}) && probed && missing == 0x4000000, nil
}

func TestLinkedWALDirOfTheOwnerIsRead(t *testing.T) {
	base := t.TempDir()
	pgdata := filepath.Join(base, "data")
	if err := os.Mkdir(pgdata, 0o700); err != nil {
		t.Fatal(err)
	}
	linkedWAL(t, pgdata, filepath.Join(base, "wal", "pg_wal"), filepath.Join(base, "wal", "pg_wal"))
	if found, err := readsHistory(pgdata); !found || err != nil {
		t.Errorf("pg_wal linked to the owner's directory: history and segments not read (found %v, %v)", found, err)
	}
	if has, err := HasHistory(pgdata, Version{Major: 15}, 3); has || err != nil {
		t.Errorf("timeline 3, which has no history file: %v, %v", has, err)
	}
}

func TestLinkedWALDirRefused(t *testing.T) {
	cases := []struct {
		name string
		// setup links pgdata/pg_wal somewhere under base.
		setup func(t *testing.T, base, pgdata string)
		want  error
	}{
		{"relative link", func(t *testing.T, base, pgdata string) {
			linkedWAL(t, pgdata, filepath.Join(base, "wal"), "../wal")
		}, ErrForeignWALDir},
		{"directory of another user", func(t *testing.T, base, pgdata string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the directory away")
			}
			wal := filepath.Join(base, "wal")
			linkedWAL(t, pgdata, wal, wal)
			if err := os.Chown(wal, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, ErrForeignWALDir},
		{"a further link in a directory others can write", func(t *testing.T, base, pgdata string) {
			shared := filepath.Join(base, "shared")
			if err := os.Mkdir(shared, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(shared, 0o1777); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(base, "wal"), filepath.Join(shared, "wal")); err != nil {
				t.Fatal(err)
			}
			linkedWAL(t, pgdata, filepath.Join(base, "wal"), filepath.Join(shared, "wal"))
		}, safefs.ErrUnsafeLink},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			pgdata := filepath.Join(base, "data")
			if err := os.Mkdir(pgdata, 0o700); err != nil {
				t.Fatal(err)
			}
			c.setup(t, base, pgdata)
			found, err := readsHistory(pgdata)
			if found || !errors.Is(err, c.want) {
				t.Errorf("found %v, error %v; want it refused with %q", found, err, c.want)
			}
			if _, probed := (Server{PgData: pgdata}).firstMissingSegment(2, 0x3000028, 16<<20); probed {
				t.Error("the segment probe read through the refused link")
			}
		})
	}
}
