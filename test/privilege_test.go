package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue #11: the root agent never acts through a path, file or PID that the database
// owner (postgres here) controls. Each attack is planted by postgres itself.

// rootVictimDir is a root-owned directory of mode 1777 outside the cluster, which the agent
// must never change; checkVictim fails the test if it did.
func rootVictimDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "pgsql-ra-victim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkVictim(t *testing.T, dir string) {
	t.Helper()
	info, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 || info.Mode() != os.ModeDir|os.ModeSticky|0o777 {
		t.Errorf("root's %s is now %v %d:%d", dir, info.Mode(), st.Uid, st.Gid)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("root's %s gained %s", dir, entries[0].Name())
	}
}

// TestPrivilegeLinkedTmpdir (item 1): tmpdir is a link postgres put in its own directory,
// pointing at a root-owned directory of mode 1777. validate-all refuses it, and neither
// start (rep_mode=slave) nor demote (async) chowns the target or writes into it.
func TestPrivilegeLinkedTmpdir(t *testing.T) {
	r := newReplicationRig(t)
	victim := rootVictimDir(t)
	link := filepath.Join(r.c.Dir, "tmp")
	r.c.asOwner(t, "/bin/ln", "-s", victim, link)
	slave := with(r.c.params(), "rep_mode", "slave", "master_ip", "127.0.0.2", "repuser", "postgres", "tmpdir", link)

	res := runAgent(t, "validate-all", slave, map[string]string{"on_node": "node1"})
	if res.RC != 4 || !strings.Contains(strings.Join(res.reasons(), ""), "tmpdir") {
		t.Errorf("validate-all: rc %d, reasons %q; want 4 naming tmpdir", res.RC, res.reasons())
	}
	if res := runAgent(t, "start", slave, map[string]string{"on_node": "node1"}); res.RC == 0 {
		t.Errorf("start (slave) through a linked tmpdir succeeded")
	}
	checkVictim(t, victim)
	if res := r.run(t, "demote"); res.RC == 0 {
		t.Errorf("demote through a linked tmpdir succeeded")
	}
	checkVictim(t, victim)
}

// TestPrivilegeSpecialFiles (item 3): a FIFO or a link to /dev/zero where the agent reads
// or rewrites a file makes the action fail with a reason within its timeout, instead of
// blocking (FIFO) or reading without end (/dev/zero).
func TestPrivilegeSpecialFiles(t *testing.T) {
	for _, tc := range []struct {
		file   string // relative to the cluster's directory
		action string
	}{
		{"data/postmaster.pid", "start"},
		{"data/PG_VERSION", "validate-all"},
		{"tmp/PGSQL.lock", "start"},
		{"tmp/recovery.conf", "start"},
		{"tmp/rep_mode.conf", "start"},
		{"run-ra/pgsql-ra-pgsqltest.attrs.json", "monitor"},
	} {
		for _, kind := range []string{"fifo", "zero"} {
			t.Run(strings.ReplaceAll(tc.file, "/", "_")+"_"+kind, func(t *testing.T) {
				r := newReplicationRig(t)
				path := filepath.Join(r.c.Dir, tc.file)
				r.c.asOwner(t, "/bin/mkdir", "-p", filepath.Dir(path))
				os.Remove(path)
				// Before the cluster's own cleanup, which reads postmaster.pid.
				t.Cleanup(func() { os.Remove(path) })
				if kind == "fifo" {
					r.c.asOwner(t, "/usr/bin/mkfifo", path)
				} else {
					r.c.asOwner(t, "/bin/ln", "-s", "/dev/zero", path)
				}
				res := r.run(t, tc.action, "timeout", "5000")
				if res.Duration > 6*time.Second {
					t.Errorf("%s took %v with a 5 s timeout", tc.action, res.Duration)
				}
				if tc.action != "monitor" && res.RC == 0 {
					t.Errorf("%s succeeded with %s as a %s", tc.action, tc.file, kind)
				}
				if len(res.reasons()) > 1 {
					t.Errorf("%d exit reasons: %q", len(res.reasons()), res.reasons())
				}
			})
		}
	}
}

// TestPrivilegeForeignPID (item 4): postmaster.pid, which postgres can write, names a root
// process called postgres. stop must not signal it, monitor must not count it.
func TestPrivilegeForeignPID(t *testing.T) {
	c := newCluster(t)
	bin, err := os.MkdirTemp("/var/tmp", "pgsql-ra-bin-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(bin, "postgres")
	if err := os.WriteFile(fake, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := exec.Command(fake, "60")
	victim.Dir = "/"
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { victim.Process.Kill(); victim.Wait() }()
	pidFile := filepath.Join(c.PgData, "postmaster.pid")
	c.asOwner(t, "/bin/sh", "-c", "echo "+strconv.Itoa(victim.Process.Pid)+" > "+pidFile)

	if res := runAgent(t, "stop", c.params(), nil); res.RC != 0 {
		t.Errorf("stop: rc %d, want 0 (not running)\n%s", res.RC, res.Stderr)
	}
	time.Sleep(200 * time.Millisecond)
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(victim.Process.Pid) + "/stat")
	if err != nil || strings.Contains(string(stat), ") Z ") {
		t.Errorf("stop signalled root's process %d called postgres", victim.Process.Pid)
	}
	mustRC(t, 7, "monitor", c.params(), nil)
}

// TestPrivilegeCreatedDirs (item 7): start creates a missing socket directory, and the
// missing directories above it, for postgres (the socket directory with mode 2775), and a
// missing log file owned by postgres.
func TestPrivilegeCreatedDirs(t *testing.T) {
	c := newCluster(t)
	socketDir := filepath.Join(c.Dir, "sockets", "pg", "run")
	c.appendConf(t, "unix_socket_directories = '"+socketDir+"'\n")
	params := with(c.params(), "socketdir", socketDir, "logfile", filepath.Join(c.Dir, "new.log"))
	mustRC(t, 0, "start", params, nil)
	defer mustRC(t, 0, "stop", params, nil)
	uid, _ := strconv.Atoi(c.Owner.Uid)
	for path, want := range map[string]os.FileMode{
		filepath.Join(c.Dir, "sockets"):       os.ModeDir | 0o755,
		filepath.Join(c.Dir, "sockets", "pg"): os.ModeDir | 0o755,
		socketDir:                             os.ModeDir | os.ModeSetgid | 0o775,
		filepath.Join(c.Dir, "new.log"):       0o640,
	} {
		info, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); info.Mode() != want || int(st.Uid) != uid {
			t.Errorf("%s: %v owned by %d, want %v owned by postgres", path, info.Mode(), st.Uid, want)
		}
	}
}
