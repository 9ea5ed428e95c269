package pgctl

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// Review 31: dialAs switches the effective ids of every thread (euid 0 -> owner -> 0), and the
// kernel sets the fsuid with every euid change. Without the shared credentials lock, taken
// before OpenDirAs reads the euid, a walk that ran while a goroutine connected read the
// owner's euid, took the shortcut for a walker without root, and then walked with root's
// rights: a directory the owner cannot reach was opened.
func TestOpenDirAsWhileConnectingAsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	base, err := os.MkdirTemp("/var/tmp", "pgsql-ra-idrace-")
	must(t, err)
	defer os.RemoveAll(base)
	must(t, os.Chmod(base, 0o755))
	secret := filepath.Join(base, "secret")
	inner := filepath.Join(secret, "a", "b", "c", "d", "e", "f", "inner")
	must(t, os.MkdirAll(inner, 0o755))
	must(t, os.Chmod(secret, 0o700)) // nobody (65534) may not search it
	who := safefs.Identity{UID: 65534, GID: 65534}
	if d, err := safefs.OpenDirAs(inner, who); err == nil {
		d.Close()
		t.Fatal("walk reached the secret directory without any race")
	}
	var stop atomic.Bool
	go func() {
		dial := dialAs(&OSUser{UID: 65534, GID: 65534})
		for !stop.Load() {
			if c, err := dial(context.Background(), "unix", filepath.Join(base, "no-socket")); err == nil {
				c.Close()
			}
		}
	}()
	defer stop.Store(true)
	deadline := time.Now().Add(3 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		if d, err := safefs.OpenDirAs(inner, who); err == nil {
			d.Close()
			t.Fatalf("walk %d as uid 65534 opened %s under a 0700 root directory (a concurrent connect as the owner)", n, inner)
		}
	}
}
