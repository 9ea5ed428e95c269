package pgctl

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// Version is a PostgreSQL major version as PG_VERSION spells it: "9.6" is {9, 6}, "15" is
// {15, 0} (from 10 on the major version is one number).
type Version struct{ Major, Minor int }

func (v Version) String() string {
	if v.Major < 10 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return strconv.Itoa(v.Major)
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool {
	return v.Major > o.Major || (v.Major == o.Major && v.Minor >= o.Minor)
}

// ParseVersion reads the text of a PG_VERSION file.
func ParseVersion(text string) (Version, error) {
	s := strings.TrimSpace(text)
	major, minor, hasMinor := strings.Cut(s, ".")
	var v Version
	var err error
	if v.Major, err = parseDecimal(major); err != nil || v.Major <= 0 {
		return Version{}, fmt.Errorf("PG_VERSION %q is not a PostgreSQL version", s)
	}
	if hasMinor {
		if v.Minor, err = parseDecimal(minor); err != nil || v.Major >= 10 {
			return Version{}, fmt.Errorf("PG_VERSION %q is not a PostgreSQL version", s)
		}
	}
	return v, nil
}

// versionLimit caps the read of PG_VERSION ("9.6\n" or "17\n").
const versionLimit = 64

// parseDecimal reads an unsigned decimal number: digits only, so no sign ("9.-1" and "+15"
// are not versions; #11), and an error when it does not fit an int.
func parseDecimal(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an unsigned decimal number", s)
	}
	return strconv.Atoi(s)
}

// ReadVersion reads <pgdata>/PG_VERSION.
func ReadVersion(pgdata string) (Version, error) {
	b, err := safefs.ReadFile(filepath.Join(pgdata, "PG_VERSION"), versionLimit)
	if err != nil {
		return Version{}, err
	}
	return ParseVersion(string(b))
}

// Feature is something the agent does differently depending on the server's major version.
type Feature int

const (
	// StreamingReplication: hot standby with streaming (rep_mode async, sync, slave).
	StreamingReplication Feature = iota
	// ReplicationSlots: physical replication slots (replication_slot_name).
	ReplicationSlots
	// ReplicationStateViews: pg_stat_wal_receiver and pg_control_checkpoint(), which the
	// agent's state query reads (a standby's receiver status and timeline).
	ReplicationStateViews
	// QuotedStandbyNames: synchronous_standby_names entries are identifiers, so node names
	// are double-quoted.
	QuotedStandbyNames
	// WALFunctionNames: pg_last_wal_replay_lsn() and friends instead of the xlog/location names.
	WALFunctionNames
	// WALDirectory: WAL and timeline history files live in pg_wal, not pg_xlog.
	WALDirectory
	// StandbySignal: recovery settings are ordinary settings and standby.signal requests a
	// standby; recovery.conf in PGDATA stops the server from starting.
	StandbySignal
	// PromoteFunction: SELECT pg_promote() exists.
	PromoteFunction
	// CurrentTimelineKeyword: recovery_target_timeline takes 'current'. Before 12 the server
	// reads any word but 'latest' as a number, and 'current' as 0, which means latest there;
	// its default is the current timeline.
	CurrentTimelineKeyword
	// TargetSessionAttrs: libpq's target_session_attrs keyword (the server's own libpq makes
	// its WAL receiver's connection; an unknown keyword fails it).
	TargetSessionAttrs
	// StatsTempDirectory: the stats_temp_directory setting exists (removed in 15).
	StatsTempDirectory
	// PromoteTriggerFile: the promote_trigger_file setting (12 to 15; before 12 recovery.conf's
	// trigger_file, removed in 16): a file at that path promotes a standby by itself.
	PromoteTriggerFile
	// WALKeepSize: wal_keep_size (MB) replaced wal_keep_segments (issue #13: the crash
	// recovery before pg_rewind keeps every WAL segment with it).
	WALKeepSize
)

type capability struct {
	feature Feature
	name    string
	since   Version // first version with the feature
	until   Version // first version without it; zero: still there
}

// capabilities is the one place that knows which PostgreSQL version has what.
var capabilities = []capability{
	{StreamingReplication, "streaming replication", Version{9, 1}, Version{}},
	{ReplicationSlots, "replication slots", Version{9, 4}, Version{}},
	{ReplicationStateViews, "pg_stat_wal_receiver", Version{9, 6}, Version{}},
	{QuotedStandbyNames, "quoted synchronous_standby_names", Version{9, 6}, Version{}},
	{WALFunctionNames, "pg_*_wal_*_lsn functions", Version{10, 0}, Version{}},
	{WALDirectory, "pg_wal", Version{10, 0}, Version{}},
	{StandbySignal, "standby.signal", Version{12, 0}, Version{}},
	{PromoteFunction, "pg_promote()", Version{12, 0}, Version{}},
	{CurrentTimelineKeyword, "recovery_target_timeline 'current'", Version{12, 0}, Version{}},
	{TargetSessionAttrs, "target_session_attrs", Version{10, 0}, Version{}},
	{StatsTempDirectory, "stats_temp_directory", Version{8, 4}, Version{15, 0}},
	{WALKeepSize, "wal_keep_size", Version{13, 0}, Version{}},
	{PromoteTriggerFile, "promote_trigger_file", Version{12, 0}, Version{16, 0}},
}

// Has reports whether version v has feature f.
func (v Version) Has(f Feature) bool {
	for _, c := range capabilities {
		if c.feature == f {
			return v.AtLeast(c.since) && (c.until == Version{} || !v.AtLeast(c.until))
		}
	}
	return false
}

// FeatureName describes f for messages.
func FeatureName(f Feature) string {
	for _, c := range capabilities {
		if c.feature == f {
			return c.name
		}
	}
	return "unknown feature"
}

// Since returns the first version with feature f.
func Since(f Feature) Version {
	for _, c := range capabilities {
		if c.feature == f {
			return c.since
		}
	}
	return Version{}
}

// Tested versions: the agent's integration tests run against these majors; newer ones are
// accepted with the capabilities of the newest known.
var (
	OldestTested = Version{10, 0}
	NewestTested = Version{17, 0}
)
