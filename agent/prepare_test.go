package agent

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// raceLab is a directory the agent prepares a file or directory in while an attacker
// goroutine swaps whatever appears at path for a link to root's victim (#11: the agent
// once created by path and then chowned by path).
type raceLab struct {
	dir, path, victim string
	owner             pgctl.OSUser
}

func newRaceLab(t *testing.T, victimIsDir bool) *raceLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the agent chowns to postgres")
	}
	owner, err := pgctl.LookupUser("postgres")
	if err != nil {
		t.Skipf("no postgres user: %v", err)
	}
	dir := t.TempDir()
	l := &raceLab{dir: dir, path: filepath.Join(dir, "target"), victim: filepath.Join(dir, "victim"), owner: owner}
	if victimIsDir {
		err = os.Mkdir(l.victim, 0o755)
	} else {
		err = os.WriteFile(l.victim, []byte("root's\n"), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// attack replaces anything that shows up at path with a link to the victim until stop.
func (l *raceLab) attack(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	link := filepath.Join(l.dir, "link")
	for {
		select {
		case <-stop:
			return
		default:
		}
		info, err := os.Lstat(l.path)
		if err != nil || info.Mode()&os.ModeSymlink != 0 {
			continue
		}
		if info.IsDir() {
			_ = os.Rename(l.path, l.path+".moved")
		}
		_ = os.Symlink(l.victim, link)
		_ = os.Rename(link, l.path)
	}
}

func (l *raceLab) run(t *testing.T, prepare func() error) {
	t.Helper()
	stop, done := make(chan struct{}), make(chan struct{})
	go l.attack(stop, done)
	defer func() { close(stop); <-done }()
	for i := 0; i < 1000; i++ {
		os.RemoveAll(l.path)
		os.RemoveAll(l.path + ".moved")
		_ = prepare()
		info, err := os.Lstat(l.victim)
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != 0 || info.Mode().Perm() != 0o755 && info.Mode().Perm() != 0o644 {
			t.Fatalf("after %d rounds root's victim is %v owned by %d", i+1, info.Mode(), st.Uid)
		}
	}
}

func TestPrepareLogfileRace(t *testing.T) {
	l := newRaceLab(t, false)
	l.run(t, func() error { return prepareLogfile(l.path, l.owner) })
}

func TestPrepareSocketDirRace(t *testing.T) {
	l := newRaceLab(t, true)
	l.run(t, func() error { return prepareSocketDir(l.path, l.owner) })
}
