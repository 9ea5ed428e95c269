package pgctl

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// plant puts a FIFO or a link to /dev/zero where a file the agent reads or rewrites is
// expected (#11: either blocked every action past its timeout, /dev/zero without bound).
func plant(t *testing.T, path, kind string) {
	t.Helper()
	var err error
	if kind == "fifo" {
		err = syscall.Mkfifo(path, 0o600)
	} else {
		err = os.Symlink("/dev/zero", path)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// returnsQuickly fails the test when op has not returned within two seconds.
func returnsQuickly(t *testing.T, what string, op func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { op(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatalf("%s still blocked after 2s", what)
	}
}

func TestSpecialFilesDoNotBlock(t *testing.T) {
	for _, kind := range []string{"fifo", "zero"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			special := filepath.Join(dir, "special")
			plant(t, special, kind)
			plant(t, filepath.Join(dir, PidFile), kind)
			plant(t, filepath.Join(dir, "PG_VERSION"), kind)
			calls := map[string]func() error{
				"WriteFileAtomic": func() error { _, err := WriteFileAtomic(special, []byte("x"), 0o600, OSUser{}); return err },
				"EnsureInclude":   func() error { _, err := EnsureInclude(special, "/x/recovery.conf"); return err },
				"ReadSetting":     func() error { _, _, err := ReadSetting(special, "port"); return err },
				"ReadVersion":     func() error { _, err := ReadVersion(dir); return err },
				"FindPostmaster":  func() error { _, err := FindPostmaster(dir); return err },
			}
			for name, call := range calls {
				var err error
				returnsQuickly(t, name, func() { err = call() })
				if err == nil {
					t.Errorf("%s on a %s succeeded, want an error", name, kind)
				}
			}
			returnsQuickly(t, "LastServerError", func() { LastServerError(special, 0) })
			returnsQuickly(t, "ReadSyncStandbys", func() { ReadSyncStandbys(dir) })
			if info, err := os.Lstat(special); err != nil || info.Mode().IsRegular() {
				t.Errorf("%s was replaced by a regular file", kind)
			}
		})
	}
}

// TestEnsureIncludeLinkedConfig: a postgresql.conf that is a link is an error, and the link
// and its target stay as they are (a rewrite once replaced the link by a file).
func TestEnsureIncludeLinkedConfig(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.conf")
	if err := os.WriteFile(real, []byte("port = 5432\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "postgresql.conf")
	if err := os.Symlink(real, config); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureInclude(config, "/tmp/x/recovery.conf"); err == nil {
		t.Error("EnsureInclude through a link succeeded, want an error")
	}
	if info, err := os.Lstat(config); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v, %v", info.Mode(), err)
	}
	if b, _ := os.ReadFile(real); string(b) != "port = 5432\n" {
		t.Errorf("the link's target changed: %q", b)
	}
}

// TestEnsureIncludeLongLine: a line longer than 64 KB before the include line does not hide
// it, so the line is added once, not at every start.
func TestEnsureIncludeLongLine(t *testing.T) {
	config := writeConf(t, "# "+strings.Repeat("x", 70*1024)+"\nport = 5432\n")
	for i := 0; i < 3; i++ {
		if _, err := EnsureInclude(config, "/tmp/x/recovery.conf"); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(config)
	if n := strings.Count(string(b), IncludeMarker); n != 1 {
		t.Errorf("%d include lines after three calls, want 1", n)
	}
	if v, found, err := ReadSetting(config, "port"); err != nil || !found || v != "5432" {
		t.Errorf("ReadSetting after a long line = %q, %v, %v", v, found, err)
	}
}
