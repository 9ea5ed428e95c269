//go:build amd64 || arm64

package safefs

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// walkAs walks to path on an OS thread of its own, whose ids are changed to who's and which
// ends with the walk (a goroutine that exits with its thread locked takes the thread with
// it), so no other code ever runs with them. The system calls are those of 64-bit Linux,
// whose ids are 32 bits wide: amd64 and arm64, the architectures packaged.
func walkAs(path string, who Identity) (*Dir, error) {
	type result struct {
		d   *Dir
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := becomeOnThisThread(who); err != nil {
			done <- result{nil, err}
			return
		}
		d, err := walk(path, nil)
		if err == nil {
			if err = isOnThisThread(who); err != nil {
				d.Close()
				d = nil
			}
		}
		done <- result{d, err}
	}()
	r := <-done
	return r.d, r.err
}

// becomeOnThisThread gives the calling thread who's file system ids. The raw system calls
// act on this thread only (the syscall package's Setgroups changes every thread).
func becomeOnThisThread(who Identity) error {
	groups := who.Groups
	if len(groups) == 0 {
		groups = []uint32{who.GID}
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&groups[0])), 0); e != 0 {
		return os.NewSyscallError("setgroups", e)
	}
	syscall.RawSyscall(syscall.SYS_SETFSGID, uintptr(who.GID), 0, 0)
	syscall.RawSyscall(syscall.SYS_SETFSUID, uintptr(who.UID), 0, 0)
	return isOnThisThread(who)
}

// isOnThisThread checks that the calling thread's file system ids are who's (before the walk,
// and after it: nothing may have changed them meanwhile). setfsgid and setfsuid return the
// previous id and no error; an id that is none (-1) changes nothing and returns the current
// one.
func isOnThisThread(who Identity) error {
	const current = ^uintptr(0)
	gid, _, _ := syscall.RawSyscall(syscall.SYS_SETFSGID, current, 0, 0)
	uid, _, _ := syscall.RawSyscall(syscall.SYS_SETFSUID, current, 0, 0)
	if uint32(uid) != who.UID || uint32(gid) != who.GID {
		return fmt.Errorf("file system ids %d:%d, not %d:%d", uint32(uid), uint32(gid), who.UID, who.GID)
	}
	return nil
}
