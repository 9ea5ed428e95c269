package pgctl

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Version
		wantStr string
	}{
		{"two-part version before 10", "9.6", Version{9, 6}, "9.6"},
		{"oldest two-part", "9.0", Version{9, 0}, "9.0"},
		{"one-part version from 10 on", "10", Version{10, 0}, "10"},
		{"trailing newline as in the PG_VERSION file", "15\n", Version{15, 0}, "15"},
		{"surrounding blanks", "  17 \n", Version{17, 0}, "17"},
		{"pre-10 with newline", "9.4\n", Version{9, 4}, "9.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVersion(tc.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseVersion(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.wantStr {
				t.Errorf("String() = %q, want %q", got.String(), tc.wantStr)
			}
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty file", ""},
		{"only a newline", "\n"},
		{"not a number", "abc"},
		{"minor version after 10 (PG_VERSION never has one)", "15.2"},
		{"zero major", "0"},
		{"negative major", "-1"},
		{"dot without minor", "9."},
		{"non-numeric minor", "9.x"},
		{"full server version string", "PostgreSQL 15.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := ParseVersion(tc.in); err == nil {
				t.Errorf("ParseVersion(%q) = %+v, want an error", tc.in, v)
			}
		})
	}
}

func TestReadVersion(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadVersion(dir); err == nil {
		t.Error("ReadVersion of a directory without PG_VERSION succeeded")
	}
	if err := os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := ReadVersion(dir)
	if err != nil || v != (Version{16, 0}) {
		t.Errorf("ReadVersion = %+v, %v; want 16", v, err)
	}
}

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		name string
		v, o Version
		want bool
	}{
		{"same version", Version{12, 0}, Version{12, 0}, true},
		{"newer major", Version{13, 0}, Version{12, 0}, true},
		{"older major", Version{11, 0}, Version{12, 0}, false},
		{"newer minor of 9", Version{9, 6}, Version{9, 4}, true},
		{"older minor of 9", Version{9, 3}, Version{9, 4}, false},
		{"10 is newer than 9.6", Version{10, 0}, Version{9, 6}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.AtLeast(tc.o); got != tc.want {
				t.Errorf("%v.AtLeast(%v) = %v, want %v", tc.v, tc.o, got, tc.want)
			}
		})
	}
}

// TestCapabilities follows the version table in version.go.
func TestCapabilities(t *testing.T) {
	features := []struct {
		f    Feature
		name string
		has  func(v Version) bool
	}{
		{StreamingReplication, "StreamingReplication", func(v Version) bool { return v.AtLeast(Version{9, 1}) }},
		{ReplicationSlots, "ReplicationSlots", func(v Version) bool { return v.AtLeast(Version{9, 4}) }},
		{ReplicationStateViews, "ReplicationStateViews", func(v Version) bool { return v.AtLeast(Version{9, 6}) }},
		{QuotedStandbyNames, "QuotedStandbyNames", func(v Version) bool { return v.AtLeast(Version{9, 6}) }},
		{WALFunctionNames, "WALFunctionNames", func(v Version) bool { return v.Major >= 10 }},
		{WALDirectory, "WALDirectory", func(v Version) bool { return v.Major >= 10 }},
		{StandbySignal, "StandbySignal", func(v Version) bool { return v.Major >= 12 }},
		{PromoteFunction, "PromoteFunction", func(v Version) bool { return v.Major >= 12 }},
		{StatsTempDirectory, "StatsTempDirectory", func(v Version) bool { return v.Major < 15 }},
		{WALKeepSize, "WALKeepSize", func(v Version) bool { return v.Major >= 13 }},
	}
	versions := []Version{{9, 0}, {9, 1}, {9, 3}, {9, 4}, {9, 5}, {9, 6}}
	for major := 10; major <= 17; major++ {
		versions = append(versions, Version{major, 0})
	}
	versions = append(versions, Version{18, 0}) // newer than tested: keeps the newest's features
	for _, v := range versions {
		for _, f := range features {
			t.Run(v.String()+"/"+f.name, func(t *testing.T) {
				if got, want := v.Has(f.f), f.has(v); got != want {
					t.Errorf("Version %v Has(%s) = %v, want %v", v, f.name, got, want)
				}
			})
		}
	}
}

// Spot checks of the boundaries the version table names, written out so a reader sees them.
func TestCapabilityBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Version
		f    Feature
		want bool
	}{
		{"9.0 has no streaming replication", Version{9, 0}, StreamingReplication, false},
		{"9.1 has streaming replication", Version{9, 1}, StreamingReplication, true},
		{"9.3 has no replication slots", Version{9, 3}, ReplicationSlots, false},
		{"9.4 has replication slots", Version{9, 4}, ReplicationSlots, true},
		{"9.5 does not quote standby names", Version{9, 5}, QuotedStandbyNames, false},
		{"9.6 quotes standby names", Version{9, 6}, QuotedStandbyNames, true},
		{"9.5 has no pg_stat_wal_receiver", Version{9, 5}, ReplicationStateViews, false},
		{"9.6 has pg_stat_wal_receiver", Version{9, 6}, ReplicationStateViews, true},
		{"9.6 has the xlog function names", Version{9, 6}, WALFunctionNames, false},
		{"9.6 keeps WAL in pg_xlog", Version{9, 6}, WALDirectory, false},
		{"10 keeps WAL in pg_wal", Version{10, 0}, WALDirectory, true},
		{"10 has the wal function names", Version{10, 0}, WALFunctionNames, true},
		{"11 uses recovery.conf", Version{11, 0}, StandbySignal, false},
		{"12 uses standby.signal", Version{12, 0}, StandbySignal, true},
		{"11 has no pg_promote()", Version{11, 0}, PromoteFunction, false},
		{"12 has pg_promote()", Version{12, 0}, PromoteFunction, true},
		{"14 has stats_temp_directory", Version{14, 0}, StatsTempDirectory, true},
		{"15 has no stats_temp_directory", Version{15, 0}, StatsTempDirectory, false},
		{"unknown feature is never there", Version{17, 0}, Feature(99), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.Has(tc.f); got != tc.want {
				t.Errorf("%v.Has(%d) = %v, want %v", tc.v, tc.f, got, tc.want)
			}
		})
	}
}

func TestFeatureNameAndSince(t *testing.T) {
	for _, tc := range []struct {
		f     Feature
		since Version
	}{
		{StreamingReplication, Version{9, 1}},
		{ReplicationSlots, Version{9, 4}},
		{QuotedStandbyNames, Version{9, 6}},
		{WALFunctionNames, Version{10, 0}},
		{StandbySignal, Version{12, 0}},
		{PromoteFunction, Version{12, 0}},
	} {
		name := FeatureName(tc.f)
		t.Run(name, func(t *testing.T) {
			if name == "" || name == "unknown feature" {
				t.Errorf("FeatureName(%d) = %q, want a description", tc.f, name)
			}
			if got := Since(tc.f); got != tc.since {
				t.Errorf("Since = %v, want %v", got, tc.since)
			}
		})
	}
	if got := FeatureName(Feature(99)); got != "unknown feature" {
		t.Errorf("FeatureName(99) = %q, want \"unknown feature\"", got)
	}
	if got := Since(Feature(99)); got != (Version{}) {
		t.Errorf("Since(99) = %v, want the zero Version", got)
	}
	if !NewestTested.AtLeast(OldestTested) {
		t.Errorf("NewestTested %v is older than OldestTested %v", NewestTested, OldestTested)
	}
}
