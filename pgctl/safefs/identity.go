package safefs

import (
	"os"
	"sync"
)

// Identity is who a walk is done as: the file system user, group and supplementary groups
// the kernel checks each directory's search permission against (OpenDirAs).
type Identity struct {
	UID, GID uint32
	Groups   []uint32
}

// credentials serialises every change of ids in the process: OpenDirAs's walk, and code
// that switches the process's effective ids (pgctl's connect as the owner), which Go
// applies to every thread and which would give the walk's thread root's file system ids
// back in the middle of the walk (review 31).
var credentials sync.Mutex

// processEUID is the effective uid the process started with, read before any code could
// switch it: a connect as the owner switches every thread's euid for a moment, and a
// decision that read os.Geteuid() then would take the owner for the agent (review 32 F3).
var processEUID = os.Geteuid()

// ProcessEUID is the agent's own effective uid, whatever a connect as the owner has
// switched it to at this moment: every decision on trust, ownership or a credentials
// switch asks this, not os.Geteuid().
func ProcessEUID() int { return processEUID }

// LockCredentials holds off OpenDirAs until the returned function is called: for code that
// changes the process's ids.
func LockCredentials() (unlock func()) {
	credentials.Lock()
	return credentials.Unlock
}

// OpenDirAs is OpenDir walked with who's file system identity (walkAs): a directory who
// could not reach (under a parent who may not search) is not reached, root's rights
// notwithstanding. The descriptor it returns is the process's, as any. Without root, or as
// root, the walk is OpenDir's.
func OpenDirAs(path string, who Identity) (*Dir, error) {
	if ProcessEUID() != 0 || who.UID == 0 {
		return OpenDir(path)
	}
	defer LockCredentials()() // a connect as the owner changes the ids of every thread
	return walkAs(path, who)
}
