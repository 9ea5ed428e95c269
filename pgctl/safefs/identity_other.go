//go:build !(amd64 || arm64)

package safefs

import (
	"errors"
	"os"
)

// Elsewhere than amd64 and arm64 the id system calls differ (16-bit ids on 386 and 32-bit
// arm): OpenDirAs refuses, as a walk it cannot do as who (review 31).

// OpenDirAs is OpenDir without root or as root; otherwise it is not supported here.
func OpenDirAs(path string, who Identity) (*Dir, error) {
	defer LockCredentials()() // first: a connect as the owner changes the euid of every thread
	if os.Geteuid() != 0 || who.UID == 0 {
		return OpenDir(path)
	}
	return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("walking as another user is not supported on this architecture")}
}
