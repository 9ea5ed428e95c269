package safefs

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// TestOpenDirAsChecksTheWalkersSearchRight: a directory root reaches but the identity the
// walk is done as cannot (a parent it may not search) is refused; with search right it is
// reached; and root's own rights are intact afterwards, on every thread (the changed ids
// died with the walk's thread).
func TestOpenDirAsChecksTheWalkersSearchRight(t *testing.T) {
	l := newLab(t)
	who := Identity{UID: l.pg.UID, GID: l.pg.GID}
	secret := filepath.Join(l.root, "secret")
	inner := filepath.Join(secret, "inner")
	must(t, os.Mkdir(secret, 0o700))
	must(t, os.Mkdir(inner, 0o755))
	must(t, os.WriteFile(filepath.Join(secret, "root-only"), []byte("root's\n"), 0o600))

	if d, err := OpenDirAs(inner, who); !errors.Is(err, os.ErrPermission) {
		if d != nil {
			d.Close()
		}
		t.Errorf("walked as %d under a 0700 root directory: %v, want permission denied", who.UID, err)
	}
	d, err := OpenDir(inner)
	if err != nil {
		t.Fatalf("root's own walk: %v", err)
	}
	d.Close()
	must(t, os.Chmod(secret, 0o711))
	if d, err := OpenDirAs(inner, who); err != nil {
		t.Errorf("walked as %d with search right: %v", who.UID, err)
	} else {
		d.Close()
	}
	must(t, os.Chmod(secret, 0o700))

	// Many walks, then root's reads from many goroutines (spread over the runtime's
	// threads): none may run with the walker's ids.
	for i := 0; i < 50; i++ {
		if d, err := OpenDirAs(inner, who); err == nil {
			d.Close()
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ReadFile(filepath.Join(secret, "root-only"), StateLimit)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("root lost its rights after walks as %d: %v", who.UID, err)
		}
	}
}

// Review 31: the walk must lose root's supplementary groups. A directory root:root 0710 is
// searchable through group 0 only; postgres (not in group 0) must be refused.
func TestOpenDirAsDropsRootsGroups(t *testing.T) {
	l := newLab(t)
	secret := filepath.Join(l.root, "secret")
	inner := filepath.Join(secret, "inner")
	must(t, os.Mkdir(secret, 0o700))
	must(t, os.Mkdir(inner, 0o755))
	must(t, os.Chown(secret, 0, 0))
	must(t, os.Chmod(secret, 0o710))
	// As under a root whose session carries group 0 (the test runner here has none).
	old, _ := syscall.Getgroups()
	must(t, syscall.Setgroups([]int{0}))
	defer syscall.Setgroups(old)
	for _, groups := range [][]uint32{nil, {l.pg.GID}, {l.pg.GID, 65534}} {
		d, err := OpenDirAs(inner, Identity{UID: l.pg.UID, GID: l.pg.GID, Groups: groups})
		if !errors.Is(err, os.ErrPermission) {
			if d != nil {
				d.Close()
			}
			t.Errorf("groups %v: walked under a root:root 0710 directory: %v", groups, err)
		}
	}
}

// TestTrustIsTheAgentsWhileItsEUIDIsSwitched: a connect as the owner switches the process's
// effective uid to the owner's for a moment (pgctl's dialAs, holding LockCredentials). A
// walk then must still trust only root's directories: a link the owner planted in its own
// directory is refused, not taken for one the agent itself made (review 32 F3).
func TestTrustIsTheAgentsWhileItsEUIDIsSwitched(t *testing.T) {
	l := newLab(t)
	l.as(t, "ln", "-s", l.root, l.in("up"))
	through := filepath.Join(l.in("up"), filepath.Base(l.victimFile))

	_, err := func() ([]byte, error) {
		defer LockCredentials()()
		must(t, syscall.Setresgid(-1, int(l.pg.GID), -1))
		defer func() { must(t, syscall.Setresgid(-1, 0, -1)) }()
		must(t, syscall.Setresuid(-1, int(l.pg.UID), -1))
		defer func() { must(t, syscall.Setresuid(-1, 0, -1)) }()
		return ReadFile(through, StateLimit)
	}()
	if !errors.Is(err, ErrUnsafeLink) {
		t.Errorf("read %s through the owner's link while the euid was the owner's: %v, want %v", through, err, ErrUnsafeLink)
	}
	if os.Geteuid() != 0 || ProcessEUID() != 0 {
		t.Fatalf("euid %d after the switch back, ProcessEUID %d", os.Geteuid(), ProcessEUID())
	}
}
