package agent

import (
	"encoding/json"
	"path/filepath"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// syncConfirmFile keeps the primary's SyncConfirm between rounds. It lives and dies with
// rep_mode.conf: whenever that file is reset (start, stop, demote, promote), so is this one,
// so a confirmation never outlives the naming it was earned under.
func syncConfirmFile(tmpdir string) string { return filepath.Join(tmpdir, "sync-confirm.json") }

// readSyncConfirm returns the recorded confirmation; anything unreadable counts as none
// (the standby then has to earn it again: only availability is lost).
func readSyncConfirm(tmpdir string) SyncConfirm {
	var c SyncConfirm
	b, err := safefs.ReadFile(syncConfirmFile(tmpdir), safefs.StateLimit)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return SyncConfirm{}
	}
	return c
}

func writeSyncConfirm(tmpdir string, c SyncConfirm, owner pgctl.OSUser) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = pgctl.WriteFileAtomic(syncConfirmFile(tmpdir), b, 0o600, owner)
	return err
}

func removeSyncConfirm(tmpdir string) error { return safefs.Remove(syncConfirmFile(tmpdir)) }
