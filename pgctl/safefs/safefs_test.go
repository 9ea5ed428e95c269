package safefs

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// lab is a root-owned directory with an attacker directory inside owned by postgres (the
// database owner the agent must not let steer it) and a root-owned victim directory and
// file that nothing may change.
type lab struct {
	root, attacker, victimDir, victimFile string
	pg                                    Owner
}

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the attacks are by postgres against root-owned files")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	root, err := os.MkdirTemp("/var/tmp", "safefs-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	l := &lab{root: root, attacker: filepath.Join(root, "pg"), victimDir: filepath.Join(root, "victim"),
		victimFile: filepath.Join(root, "victim.conf"), pg: Owner{UID: uint32(uid), GID: uint32(gid)}}
	must(t, os.Chmod(root, 0o755))
	must(t, os.Mkdir(l.attacker, 0o755))
	must(t, os.Chown(l.attacker, uid, gid))
	must(t, os.Mkdir(l.victimDir, 0o755))
	must(t, os.Chmod(l.victimDir, os.ModeSticky|0o777))
	must(t, os.WriteFile(l.victimFile, []byte("root's\n"), 0o644))
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// as runs a command as postgres: the attacker plants its files itself.
func (l *lab) as(t *testing.T, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: l.pg.UID, Gid: l.pg.GID}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v as postgres: %v: %s", argv, err, out)
	}
}

func (l *lab) in(name string) string { return filepath.Join(l.attacker, name) }

// unchanged fails the test if the victims' owner, mode or content changed or the victim
// directory gained an entry.
func (l *lab) unchanged(t *testing.T) {
	t.Helper()
	for path, want := range map[string]os.FileMode{l.victimDir: os.ModeDir | os.ModeSticky | 0o777, l.victimFile: 0o644} {
		info, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 || info.Mode() != want {
			t.Errorf("%s is now %v %d:%d, want %v 0:0", path, info.Mode(), st.Uid, st.Gid, want)
		}
	}
	if b, _ := os.ReadFile(l.victimFile); string(b) != "root's\n" {
		t.Errorf("%s now holds %q", l.victimFile, b)
	}
	if entries, _ := os.ReadDir(l.victimDir); len(entries) != 0 {
		t.Errorf("%s gained %d entries (%s...)", l.victimDir, len(entries), entries[0].Name())
	}
}

// quick runs op and fails the test if it blocks (a FIFO, /dev/zero) or succeeds.
func quick(t *testing.T, what string, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("%s succeeded, want an error", what)
		}
		return err
	case <-time.After(3 * time.Second):
		t.Fatalf("%s still blocked after 3s", what)
		return nil
	}
}

func TestLinkedDirectoryIsRefused(t *testing.T) {
	l := newLab(t)
	l.as(t, "ln", "-s", l.victimDir, l.in("tmp"))
	err := quick(t, "writing through a linked tmpdir", func() error {
		_, err := WriteFileAtomic(filepath.Join(l.in("tmp"), "recovery.conf"), []byte("x\n"), 0o600, &l.pg)
		return err
	})
	if !errors.Is(err, ErrUnsafeLink) {
		t.Errorf("error %v, want ErrUnsafeLink", err)
	}
	quick(t, "MkdirAll through a linked tmpdir", func() error { return MkdirAll(l.in("tmp"), 0o700, &l.pg) })
	quick(t, "MkdirAll below a linked tmpdir", func() error { return MkdirAll(l.in("tmp/sub"), 0o700, &l.pg) })
	l.unchanged(t)
}

func TestLinkInRootDirectoryIsFollowed(t *testing.T) {
	l := newLab(t)
	must(t, os.Symlink(l.attacker, filepath.Join(l.root, "link")))
	must(t, os.WriteFile(l.in("f"), []byte("ok"), 0o600))
	b, err := ReadFile(filepath.Join(l.root, "link", "f"), 10)
	if err != nil || string(b) != "ok" {
		t.Errorf("read through root's link = %q, %v", b, err)
	}
}

func TestSpecialFilesFailFast(t *testing.T) {
	l := newLab(t)
	l.as(t, "mkfifo", l.in("fifo"))
	l.as(t, "ln", "-s", "/dev/zero", l.in("zero"))
	l.as(t, "ln", "-s", l.victimFile, l.in("victim"))
	for _, name := range []string{"fifo", "zero", "victim"} {
		path := l.in(name)
		quick(t, "ReadFile "+name, func() error { _, err := ReadFile(path, StateLimit); return err })
		quick(t, "Open "+name, func() error { _, err := Open(path, StateLimit); return err })
		quick(t, "ReadTail "+name, func() error { _, err := ReadTail(path, 100); return err })
		quick(t, "WriteFileAtomic "+name, func() error {
			_, err := WriteFileAtomic(path, []byte("x"), 0o600, &l.pg)
			return err
		})
		if st, err := Lstat(path); err != nil || st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			t.Errorf("%s was replaced by a regular file (%v)", name, err)
		}
	}
	l.unchanged(t)
}

func TestReadLimit(t *testing.T) {
	l := newLab(t)
	must(t, os.WriteFile(l.in("big"), make([]byte, 100), 0o600))
	if _, err := ReadFile(l.in("big"), 99); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile over the limit = %v, want ErrTooLarge", err)
	}
	if b, err := ReadFile(l.in("big"), 100); err != nil || len(b) != 100 {
		t.Errorf("ReadFile at the limit = %d bytes, %v", len(b), err)
	}
	if b, err := ReadTail(l.in("big"), 10); err != nil || len(b) != 10 {
		t.Errorf("ReadTail = %d bytes, %v", len(b), err)
	}
}

// TestSwapAfterOpen: the directory is swapped for a link between the walk and the write;
// the write lands in the directory that was walked, not in the link's target.
func TestSwapAfterOpen(t *testing.T) {
	l := newLab(t)
	l.as(t, "mkdir", l.in("tmp"))
	d, err := OpenDir(l.in("tmp"))
	must(t, err)
	defer d.Close()
	l.as(t, "mv", l.in("tmp"), l.in("moved"))
	l.as(t, "ln", "-s", l.victimDir, l.in("tmp"))
	if _, err := d.WriteFileAtomic("recovery.conf", []byte("x\n"), 0o600, &l.pg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.in("moved"), "recovery.conf")); err != nil {
		t.Errorf("the file is not in the directory that was opened: %v", err)
	}
	l.unchanged(t)
}

func TestCreateFileLeavesExistingAlone(t *testing.T) {
	l := newLab(t)
	l.as(t, "ln", "-s", l.victimFile, l.in("postgresql.log"))
	created, err := CreateFile(l.in("postgresql.log"), 0o640, &l.pg)
	if err != nil || created {
		t.Errorf("CreateFile over a link = %v, %v; want not created, no error", created, err)
	}
	l.unchanged(t)
	created, err = CreateFile(l.in("new.log"), 0o640, &l.pg)
	info, serr := os.Lstat(l.in("new.log"))
	if err != nil || !created || serr != nil || info.Mode() != 0o640 || info.Sys().(*syscall.Stat_t).Uid != l.pg.UID {
		t.Errorf("CreateFile = %v, %v; file %v (%v)", created, err, info, serr)
	}
}

func TestRemoveRemovesTheLinkOnly(t *testing.T) {
	l := newLab(t)
	l.as(t, "ln", "-s", l.victimFile, l.in("postmaster.pid"))
	must(t, Remove(l.in("postmaster.pid")))
	must(t, Remove(l.in("postmaster.pid"))) // missing: no error
	l.unchanged(t)
	if Exists(l.in("postmaster.pid")) {
		t.Error("the link is still there")
	}
}

func TestMkdirAll(t *testing.T) {
	l := newLab(t)
	target := filepath.Join(l.root, "run", "pg", "sock")
	must(t, MkdirAll(target, 0o2775, &l.pg))
	for path, want := range map[string]os.FileMode{
		filepath.Join(l.root, "run"):       os.ModeDir | 0o755,
		filepath.Join(l.root, "run", "pg"): os.ModeDir | 0o755,
		target:                             os.ModeDir | os.ModeSetgid | 0o775,
	} {
		info, err := os.Lstat(path)
		must(t, err)
		if st := info.Sys().(*syscall.Stat_t); info.Mode() != want || st.Uid != l.pg.UID || st.Gid != l.pg.GID {
			t.Errorf("%s: %v %d:%d, want %v owned by postgres", path, info.Mode(), st.Uid, st.Gid, want)
		}
	}
	// An existing directory is never changed.
	must(t, MkdirAll(l.victimDir, 0o700, &l.pg))
	l.unchanged(t)
}

// TestRemoveUnderAMissingDirectory: nothing to remove is no error, also when the directory
// does not exist yet (a first start removes stale state files before tmpdir exists).
func TestRemoveUnderAMissingDirectory(t *testing.T) {
	if err := Remove(filepath.Join(t.TempDir(), "absent", "file")); err != nil {
		t.Errorf("Remove under a missing directory: %v", err)
	}
}
