package pgctl

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// StandbySettings are the recovery settings of a standby (the shell agent's make_recovery_conf).
type StandbySettings struct {
	PrimaryConninfo       string
	RestoreCommand        string
	ArchiveCleanupCommand string
	RecoveryEndCommand    string
	PrimarySlotName       string
	// CurrentTimeline keeps recovery on the timeline it starts on
	// (recovery_target_timeline='current' instead of 'latest'): a standby that must follow
	// nobody must not switch to a later primary's timeline found in pg_wal or an archive.
	CurrentTimeline bool
}

// ServerOptions are the server's command-line options (pg_ctl -o) for this start: the admin's
// startOpt, and around it, for a standby that must follow nobody (CurrentTimeline), the pins
// of its empty primary_conninfo and restore_command, its current timeline and no recovery
// target. From PostgreSQL 12 on these are ordinary settings, and postgresql.auto.conf, read
// after every other file (pg_basebackup -R writes primary_conninfo there; a point-in-time
// restore leaves recovery targets), or start_opt would override the agent's include; only
// the command line overrides both (reviews 30, 31). The recovery targets go before startOpt:
// the server refuses a second kind of target, even an empty one, after a first (review 32),
// so a target of the admin's own start_opt still applies; the rest goes after, where it
// wins. Before 12 recovery.conf, which the agent writes whole, is their only source: no pins.
func (s StandbySettings) ServerOptions(v Version, startOpt []string) []string {
	if !s.CurrentTimeline || !v.Has(StandbySignal) {
		return startOpt
	}
	pins := followNobodyPins
	if v.Has(PromoteTriggerFile) {
		pins = slices.Concat(pins, []string{"-c", "promote_trigger_file="})
	}
	return slices.Concat(followNobodyTargets, startOpt, pins)
}

var (
	// followNobodyTargets: no recovery target (one would stop replay early or refuse the
	// start); an empty value unsets a setting.
	followNobodyTargets = []string{"-c", "recovery_target=", "-c", "recovery_target_lsn=", "-c", "recovery_target_name=",
		"-c", "recovery_target_time=", "-c", "recovery_target_xid="}
	// followNobodyPins: no stream, no archive, the current timeline; no cleanup of an archive
	// a primary's standbys may still need, from this node's restart points (review 33 S1).
	// Where a trigger file could promote it by itself (12 to 15), none (review 33 S2).
	followNobodyPins = []string{"-c", "primary_conninfo=", "-c", "restore_command=", "-c", "recovery_target_timeline=current",
		"-c", "archive_cleanup_command="}
)

// Render writes the settings as postgresql.conf lines. Before PostgreSQL 12 they live in
// recovery.conf, which also needs standby_mode.
func (s StandbySettings) Render(v Version) []byte {
	var b strings.Builder
	line := func(name, value string) { fmt.Fprintf(&b, "%s = %s\n", name, QuoteConfValue(value)) }
	if !v.Has(StandbySignal) {
		line("standby_mode", "on")
	}
	// An empty value unsets the setting from 12 on (and overrides one in postgresql.conf);
	// before 12 recovery.conf is the only place, and an empty value there counts as set: a
	// WAL receiver with an empty conninfo connects to the server itself, and restore_command
	// runs an empty command for every file (review 29). Left out there.
	setting := func(name, value string) {
		if value != "" || v.Has(StandbySignal) {
			line(name, value)
		}
	}
	setting("primary_conninfo", s.PrimaryConninfo)
	setting("restore_command", s.RestoreCommand)
	switch {
	case !s.CurrentTimeline:
		line("recovery_target_timeline", "latest")
	case v.Has(CurrentTimelineKeyword):
		line("recovery_target_timeline", "current")
	default:
		// Before 12 the current timeline is the default, and 'current' would read as
		// latest (CurrentTimelineKeyword).
	}
	if s.ArchiveCleanupCommand != "" {
		line("archive_cleanup_command", s.ArchiveCleanupCommand)
	}
	if s.RecoveryEndCommand != "" {
		line("recovery_end_command", s.RecoveryEndCommand)
	}
	if s.PrimarySlotName != "" {
		line("primary_slot_name", s.PrimarySlotName)
	}
	return []byte(b.String())
}

// Layout says where a version keeps a standby's settings: PostgreSQL 12 and later read them
// from any config file (the agent's <tmpdir>/recovery.conf, included from postgresql.conf)
// and become standbys because of <pgdata>/standby.signal; before 12, <pgdata>/recovery.conf
// is both.
type Layout struct {
	Version Version
	PgData  string
	TmpDir  string
	Config  string // postgresql.conf
}

// SettingsFile is where the recovery settings are written.
func (l Layout) SettingsFile() string {
	if l.Version.Has(StandbySignal) {
		return filepath.Join(l.TmpDir, "recovery.conf")
	}
	return filepath.Join(l.PgData, "recovery.conf")
}

// StandbyMarker is the file whose presence makes the server start as a standby.
func (l Layout) StandbyMarker() string {
	if l.Version.Has(StandbySignal) {
		return filepath.Join(l.PgData, "standby.signal")
	}
	return filepath.Join(l.PgData, "recovery.conf")
}

// ConfigureStandby writes everything that makes the next start a standby start, idempotently:
// the settings file, the include line (PostgreSQL 12+), and the standby marker.
func (l Layout) ConfigureStandby(s StandbySettings, owner OSUser) error {
	if l.Version.Has(StandbySignal) {
		// A missing tmpdir is created for owner; an existing one is never chowned (#11).
		if err := safefs.MkdirAll(l.TmpDir, 0o700, owner.FileOwner()); err != nil {
			return err
		}
		if _, err := EnsureInclude(l.Config, l.SettingsFile()); err != nil {
			return fmt.Errorf("adding the include line to %s: %w", l.Config, err)
		}
	}
	if _, err := WriteFileAtomic(l.SettingsFile(), s.Render(l.Version), 0o600, owner); err != nil {
		return err
	}
	if l.Version.Has(StandbySignal) {
		if _, err := WriteFileAtomic(l.StandbyMarker(), nil, 0o600, owner); err != nil {
			return err
		}
	}
	return nil
}

// ClearStandby removes the standby marker, so that the next start comes up as a primary
// (restart_on_promote). The settings file of PostgreSQL 12+ stays: it is harmless on a
// primary.
func (l Layout) ClearStandby() error { return RemoveFile(l.StandbyMarker()) }

// IsConfiguredStandby reports whether the next start would be a standby start.
func (l Layout) IsConfiguredStandby() bool {
	return safefs.Exists(l.StandbyMarker())
}

// RepModeFile is <tmpdir>/rep_mode.conf, which names the synchronous standby in rep_mode=sync.
func RepModeFile(tmpdir string) string { return filepath.Join(tmpdir, "rep_mode.conf") }

// RenderSyncStandbys is the single line of rep_mode.conf: the standbys that may be
// synchronous, in priority order, each quoted as an identifier (PostgreSQL 9.6+ parses the
// list as identifiers). A plain list means FIRST 1: exactly one is synchronous at a time and
// the others are "potential", ready to take over the moment it goes; none means no
// synchronous standby.
func RenderSyncStandbys(nodes ...string) []byte {
	quoted := make([]string, len(nodes))
	for i, node := range nodes {
		quoted[i] = `"` + strings.ReplaceAll(node, `"`, `""`) + `"`
	}
	return []byte("synchronous_standby_names = " + QuoteConfValue(strings.Join(quoted, ",")) + "\n")
}

// ReadSyncStandbys returns the nodes rep_mode.conf names, in order (none for no file, and
// none for a list it cannot read, which the agent then rewrites).
func ReadSyncStandbys(tmpdir string) []string {
	value, _, err := ReadSetting(RepModeFile(tmpdir), "synchronous_standby_names")
	if err != nil {
		return nil
	}
	nodes, err := splitStandbyNames(value)
	if err != nil {
		return nil
	}
	return nodes
}

// splitStandbyNames reads the comma-separated names of a synchronous_standby_names list as
// RenderSyncStandbys writes them: double-quoted identifiers with "" for a quote, so a name
// may hold quotes, commas and blanks (#11); bare names (the shell agent's) are read as
// written, without surrounding blanks. Empty entries are skipped.
func splitStandbyNames(value string) ([]string, error) {
	var nodes []string
	rest := strings.TrimSpace(value)
	for rest != "" {
		var node string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				if rest[i] != '"' {
					b.WriteByte(rest[i])
				} else if i+1 < len(rest) && rest[i+1] == '"' {
					b.WriteByte('"')
					i++
				} else {
					break
				}
			}
			if i >= len(rest) {
				return nil, fmt.Errorf("unterminated quoted name in %q", value)
			}
			node, rest = b.String(), strings.TrimSpace(rest[i+1:])
			if rest != "" && rest[0] != ',' {
				return nil, fmt.Errorf("text after a quoted name in %q", value)
			}
		} else {
			bare, _, _ := strings.Cut(rest, ",")
			if strings.Contains(bare, `"`) {
				return nil, fmt.Errorf("stray quote in %q", value)
			}
			node, rest = strings.TrimSpace(bare), rest[len(bare):]
		}
		if node != "" {
			nodes = append(nodes, node)
		}
		rest = strings.TrimSpace(strings.TrimPrefix(rest, ","))
	}
	return nodes, nil
}
