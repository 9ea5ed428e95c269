package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// Access bits as in access(2).
const (
	accessWrite   = 2
	accessExecute = 1
)

// mayAccess reports whether account could open path with the given access bits, judged from
// owner, group and mode of path and the search permission of every directory above it. It
// looks only, so validation stays free of side effects (POSIX ACLs are not read).
func mayAccess(account pgctl.OSUser, path string, want uint32) bool {
	if account.UID == 0 {
		return true
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if !modeAllows(account, dir, accessExecute) {
			return false
		}
		if dir == "/" {
			break
		}
	}
	return modeAllows(account, abs, want)
}

func modeAllows(account pgctl.OSUser, path string, want uint32) bool {
	info, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	perm := uint32(info.Mode().Perm())
	switch {
	case st.Uid == account.UID:
		return (perm>>6)&want == want
	case inGroup(account, st.Gid):
		return (perm>>3)&want == want
	default:
		return perm&want == want
	}
}

func inGroup(account pgctl.OSUser, gid uint32) bool {
	if account.GID == gid {
		return true
	}
	for _, g := range account.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// nearestExisting returns the closest ancestor of path (or path itself) that exists.
func nearestExisting(path string) (string, fs.FileInfo, error) {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err == nil {
			return p, info, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || p == "/" {
			return p, nil, err
		}
	}
}
