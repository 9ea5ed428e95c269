package pgctl

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ControlData is the part of pg_controldata's report the agent decides on.
type ControlData struct {
	State          string // "shut down", "shut down in recovery", "in production", "in archive recovery", ...
	CheckpointLSN  LSN    // "Latest checkpoint location"
	CheckpointTLI  uint32 // "Latest checkpoint's TimeLineID"
	RedoLSN        LSN    // "Latest checkpoint's REDO location": where crash recovery starts
	WALSegSize     uint64 // "Bytes per WAL segment" (0: not reported)
	MinRecoveryLSN LSN    // "Minimum recovery ending location"
	BackupStartLSN LSN    // "Backup start location": not 0 while recovering from a base backup
	// WALLogHints ("wal_log_hints setting") and DataChecksums ("Data page checksum version"
	// not 0) as the server last ran: pg_rewind needs one of them on its target (issue #13).
	WALLogHints   bool
	DataChecksums bool
}

// Rewindable reports whether pg_rewind may run on this data directory: hint-bit changes are
// WAL-logged (wal_log_hints) or covered by data checksums, so that the pages a diverged
// history changed can all be found in its WAL.
func (c ControlData) Rewindable() bool { return c.WALLogHints || c.DataChecksums }

// RanAsPrimary reports whether the server's last run was out of recovery: the WAL it wrote
// last is its own (a standby's is what it received).
// A base backup copies the primary's pg_control ("in production"): while recovery from it has
// not reached the backup's end, its backup start location says so (the data directory's
// backup_label, before recovery starts, is the caller's to check: HasBackupLabel).
func (c ControlData) RanAsPrimary() bool {
	if c.BackupStartLSN != 0 {
		return false
	}
	switch c.State {
	case "shut down", "in production", "shutting down", "in crash recovery":
		return true
	}
	return false
}

// CleanlyShutDown reports whether the last stop of the server wrote a shutdown checkpoint.
func (c ControlData) CleanlyShutDown() bool {
	return c.State == "shut down" || c.State == "shut down in recovery"
}

// ParseControlData reads pg_controldata's "key: value" lines (LC_ALL=C output).
func ParseControlData(out []byte) (ControlData, error) {
	// Every line is read, however long: a bufio.Scanner would stop at the first line over
	// 64 KiB and silently drop the fields after it (#11).
	fields := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	var c ControlData
	var err error
	c.State = fields["Database cluster state"]
	if c.State == "" {
		return c, fmt.Errorf("pg_controldata output has no cluster state")
	}
	if c.CheckpointLSN, err = ParseLSN(fields["Latest checkpoint location"]); err != nil {
		return c, fmt.Errorf("pg_controldata: latest checkpoint location: %w", err)
	}
	tli, err := strconv.ParseUint(fields["Latest checkpoint's TimeLineID"], 10, 32)
	if err != nil {
		return c, fmt.Errorf("pg_controldata: checkpoint timeline: %w", err)
	}
	c.CheckpointTLI = uint32(tli)
	if v := fields["Latest checkpoint's REDO location"]; v != "" {
		if c.RedoLSN, err = ParseLSN(v); err != nil {
			return c, fmt.Errorf("pg_controldata: REDO location: %w", err)
		}
	}
	if v := fields["Bytes per WAL segment"]; v != "" {
		if c.WALSegSize, err = strconv.ParseUint(v, 10, 64); err != nil {
			return c, fmt.Errorf("pg_controldata: bytes per WAL segment: %w", err)
		}
	}
	if v := fields["Minimum recovery ending location"]; v != "" {
		if c.MinRecoveryLSN, err = ParseLSN(v); err != nil {
			return c, fmt.Errorf("pg_controldata: minimum recovery ending location: %w", err)
		}
	}
	if v := fields["Backup start location"]; v != "" {
		if c.BackupStartLSN, err = ParseLSN(v); err != nil {
			return c, fmt.Errorf("pg_controldata: backup start location: %w", err)
		}
	}
	c.WALLogHints = fields["wal_log_hints setting"] == "on"
	if v := fields["Data page checksum version"]; v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return c, fmt.Errorf("pg_controldata: data page checksum version: %w", err)
		}
		c.DataChecksums = n != 0
	}
	return c, nil
}

// ReadControlData runs pg_controldata (found beside pg_ctl) as the cluster owner.
func (s Server) ReadControlData(ctx context.Context) (ControlData, error) {
	bin := s.tool("pg_controldata")
	res, err := Run(ctx, Command{Argv: []string{bin, "-D", s.PgData}, Dir: s.PgData, Env: ChildEnv(s.Owner), As: &s.Owner})
	if err != nil {
		return ControlData{}, fmt.Errorf("pg_controldata: %w", err)
	}
	if res.ExitCode != 0 {
		return ControlData{}, fmt.Errorf("pg_controldata exited %d: %s", res.ExitCode, OneLine(res.Output))
	}
	return ParseControlData(res.Stdout)
}

// PromoteCtlArgv is the pg_ctl command line of a promote that waits at most wait: without
// -t, pg_ctl gives up after its own 60 s whatever the action's budget (review 27). pg_ctl
// waits for a promotion only since PostgreSQL 10 (upstream e7010ce); 9.x takes -w and -t
// and returns at once.
func (s Server) PromoteCtlArgv(wait time.Duration) []string {
	return []string{s.PgCtl, "-D", s.PgData, "-w", "-t", strconv.Itoa(max(int(wait.Seconds()), 1)), "promote"}
}

// PromoteCtl promotes a standby with pg_ctl promote, waiting until a second before the
// deadline (servers older than 12, which lack pg_promote()).
func (s Server) PromoteCtl(ctx context.Context) error {
	argv := s.PromoteCtlArgv(pgCtlWait(ctx))
	res, err := Run(ctx, Command{Argv: argv, Dir: s.PgData, Env: s.env(), As: &s.Owner})
	if err != nil {
		return fmt.Errorf("pg_ctl promote: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("pg_ctl promote exited %d: %s", res.ExitCode, OneLine(res.Output))
	}
	return nil
}
