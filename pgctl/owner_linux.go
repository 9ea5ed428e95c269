package pgctl

import (
	"os"
	"syscall"
)

// ownerOf returns the uid and gid of a file as an OSUser (name unknown).
func ownerOf(info os.FileInfo) OSUser {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return OSUser{UID: st.Uid, GID: st.Gid}
	}
	return OSUser{}
}
