package pgctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LocalState is what a running server says about itself in one round trip.
type LocalState struct {
	InRecovery        bool
	Timeline          uint32 // the timeline being received (standby) or of the last checkpoint
	ReceiveLSN        LSN    // standby: last WAL received (0: none)
	ReplayLSN         LSN    // standby: last WAL replayed (0: none)
	CurrentLSN        LSN    // primary: current write position
	ReceiverStatus    string // pg_stat_wal_receiver.status ("streaming", ...); "" without a receiver
	PrimaryEndLSN     LSN    // standby: the primary's WAL end as its walsender last reported it (0: none)
	SyncStandbyNames  string // synchronous_standby_names in effect
	ReceiverConnected bool
	// ReceiverReadWrite: the WAL receiver's connection, as the server reports it
	// (pg_stat_wal_receiver.conninfo, whatever file or option set it), insists on a
	// read-write session (target_session_attrs=read-write): it streams from a primary.
	// False without a receiver, or where the conninfo is not visible to the agent's user. The
	// server lists every keyword unquoted, target_session_attrs always (its default: any), so
	// a second one is another keyword's value pretending (review 32): false.
	ReceiverReadWrite bool
}

// Streaming reports whether the standby's WAL receiver is streaming from a primary.
func (s LocalState) Streaming() bool { return s.ReceiverStatus == "streaming" }

// Position is the newest WAL position this server has: received or replayed on a standby,
// the write position on a primary.
func (s LocalState) Position() LSN {
	if !s.InRecovery {
		return s.CurrentLSN
	}
	return max(s.ReceiveLSN, s.ReplayLSN)
}

// localStateSQL uses the function names of PostgreSQL 10+; walNames rewrites them for older
// servers.
const localStateSQL = `SELECT pg_is_in_recovery(),
  COALESCE(pg_last_wal_receive_lsn()::text, ''),
  COALESCE(pg_last_wal_replay_lsn()::text, ''),
  CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_current_wal_lsn()::text END,
  COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))::bigint,
  COALESCE((SELECT status FROM pg_stat_wal_receiver), ''),
  current_setting('synchronous_standby_names'),
  COALESCE((SELECT latest_end_lsn FROM pg_stat_wal_receiver)::text, ''),
  COALESCE((SELECT conninfo ~ '(^| )target_session_attrs=read-write( |$)'
    AND conninfo !~ 'target_session_attrs=.*target_session_attrs=' FROM pg_stat_wal_receiver), false)`

// walNames maps a query to the names a version knows.
func walNames(v Version, sql string) string {
	if v.Has(WALFunctionNames) {
		return sql
	}
	return strings.NewReplacer("_wal_receive_lsn", "_xlog_receive_location",
		"_wal_replay_lsn", "_xlog_replay_location", "pg_current_wal_lsn", "pg_current_xlog_location",
		"pg_walfile_name", "pg_xlogfile_name").Replace(sql)
}

// QueryLocalState asks a running server for its role and positions.
func QueryLocalState(ctx context.Context, conn *pgx.Conn, v Version) (LocalState, error) {
	var s LocalState
	var receive, replay, current, primaryEnd string
	var timeline int64
	err := conn.QueryRow(ctx, walNames(v, localStateSQL)).Scan(&s.InRecovery, &receive, &replay, &current,
		&timeline, &s.ReceiverStatus, &s.SyncStandbyNames, &primaryEnd, &s.ReceiverReadWrite)
	if err != nil {
		return s, fmt.Errorf("reading the server's state: %w", err)
	}
	s.Timeline = uint32(timeline)
	s.ReceiverConnected = s.ReceiverStatus != ""
	for _, f := range []struct {
		text string
		lsn  *LSN
	}{{receive, &s.ReceiveLSN}, {replay, &s.ReplayLSN}, {current, &s.CurrentLSN}, {primaryEnd, &s.PrimaryEndLSN}} {
		if f.text == "" {
			continue
		}
		if *f.lsn, err = ParseLSN(f.text); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ReplicationRow is one line of pg_stat_replication.
type ReplicationRow struct {
	ApplicationName string
	State           string // upper case: STREAMING, CATCHUP, STARTUP, BACKUP, STOPPING
	SyncState       string // upper case: SYNC, ASYNC, POTENTIAL, QUORUM
	FlushLSN        LSN    // WAL the standby has written to disk (0: not reported yet)
	PID             int32  // the walsender's process id
}

// QueryReplication lists the standbys connected to a primary.
func QueryReplication(ctx context.Context, conn *pgx.Conn, v Version) ([]ReplicationRow, error) {
	sql := `SELECT COALESCE(application_name, ''), upper(COALESCE(state, '')),
  upper(COALESCE(sync_state, '')), COALESCE(flush_lsn::text, ''), pid FROM pg_stat_replication`
	if !v.Has(WALFunctionNames) {
		sql = strings.Replace(sql, "flush_lsn", "flush_location", 1)
	}
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("reading pg_stat_replication: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReplicationRow, error) {
		var row ReplicationRow
		var flush string
		if err := r.Scan(&row.ApplicationName, &row.State, &row.SyncState, &flush, &row.PID); err != nil {
			return row, err
		}
		if flush != "" {
			lsn, err := ParseLSN(flush)
			if err != nil {
				return row, err
			}
			row.FlushLSN = lsn
		}
		return row, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading pg_stat_replication: %w", err)
	}
	return out, nil
}

// TerminateWalSender ends the walsender process pid with pg_terminate_backend: a standby
// that vanished without closing its connection (a fenced node) keeps its walsender, and its
// pg_stat_replication row, until wal_sender_timeout. ended is false when no process had that
// pid any more. applicationName is the application name pg_stat_replication showed for pid:
// the pid is signalled only while pg_stat_replication still shows it under that name, in the
// statement that signals, so a pid the walsender left between the read and the signal, taken
// by another backend (a client's, or one waiting for the synchronous standby, whose commit
// would then show unreplicated), is not ended (review 17).
func TerminateWalSender(ctx context.Context, conn *pgx.Conn, pid int32, applicationName string) (ended bool, err error) {
	err = conn.QueryRow(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_replication
  WHERE pid = $1 AND COALESCE(application_name, '') = $2`, pid, applicationName).Scan(&ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ending walsender %d: %w", pid, err)
	}
	return ended, nil
}

// PromoteSQL promotes a standby with pg_promote() (PostgreSQL 12+) and waits up to wait for
// it to leave recovery.
func PromoteSQL(ctx context.Context, conn *pgx.Conn, wait time.Duration) error {
	var done bool
	seconds := max(int(wait.Seconds()), 1)
	if err := conn.QueryRow(ctx, "SELECT pg_promote(true, $1)", seconds).Scan(&done); err != nil {
		return fmt.Errorf("pg_promote: %w", err)
	}
	if !done {
		return fmt.Errorf("pg_promote: still in recovery after %ds", seconds)
	}
	return nil
}

// Reload makes the server re-read its configuration files.
func Reload(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("pg_reload_conf: %w", err)
	}
	return nil
}

// Slots lists the physical replication slots that exist.
func Slots(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT slot_name::text FROM pg_replication_slots WHERE slot_type = 'physical'")
	if err != nil {
		return nil, fmt.Errorf("listing replication slots: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing replication slots: %w", err)
	}
	return names, nil
}

// CreateSlot creates a physical replication slot (the name is passed as a parameter, never
// spliced into SQL).
func CreateSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot($1)", name); err != nil {
		return fmt.Errorf("creating replication slot %s: %w", name, err)
	}
	return nil
}

// DropSlot removes a physical replication slot.
func DropSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", name); err != nil {
		return fmt.Errorf("dropping replication slot %s: %w", name, err)
	}
	return nil
}
