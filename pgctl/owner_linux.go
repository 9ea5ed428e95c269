package pgctl

import (
	"os"
	"syscall"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// ownerOf returns the uid and gid of a file as an OSUser (name unknown).
func ownerOf(info os.FileInfo) OSUser {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return OSUser{UID: st.Uid, GID: st.Gid}
	}
	return OSUser{}
}

// FileOwner is the account as the owner safefs gives new files and directories to.
func (u OSUser) FileOwner() *safefs.Owner { return &safefs.Owner{UID: u.UID, GID: u.GID} }
