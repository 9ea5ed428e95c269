package agent

import (
	"errors"
	"testing"
)

func TestMayRunLockedStandby(t *testing.T) {
	promoted := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "node": "node1", "timeline": "1", "lsn": "0/3000000"}}
	base := LockedStandbyFacts{Self: "node1", AutoRejoin: true, Lock: promoted}
	with := func(change func(*LockedStandbyFacts)) LockedStandbyFacts {
		f := base
		change(&f)
		return f
	}
	lockOf := func(fields map[string]string) LockInfo { return LockInfo{Fields: fields} }
	tests := []struct {
		name  string
		facts LockedStandbyFacts
		want  bool
	}{
		{"dirty power cycle: own promote lock, no primary", base, true},
		{"a primary runs elsewhere", with(func(f *LockedStandbyFacts) { f.Promoted = []string{"node2"} }), false},
		{"cluster state unreadable", with(func(f *LockedStandbyFacts) { f.ViewErr = errors.New("crm_mon failed") }), false},
		{"restart_on_promote", with(func(f *LockedStandbyFacts) { f.RestartOnPromote = true }), false},
		{"auto_rejoin off", with(func(f *LockedStandbyFacts) { f.AutoRejoin = false }), false},
		{"diverged lock", with(func(f *LockedStandbyFacts) {
			f.Lock = lockOf(map[string]string{"event": lockEventDiverged, "node": "node1"})
		}), false},
		{"demote lock", with(func(f *LockedStandbyFacts) {
			f.Lock = lockOf(map[string]string{"event": lockEventDemoted, "node": "node1", "timeline": "1", "lsn": "0/3000000"})
		}), false},
		{"shell agent's empty lock", with(func(f *LockedStandbyFacts) { f.Lock = lockOf(map[string]string{}) }), false},
		{"lock copied from another node", with(func(f *LockedStandbyFacts) {
			f.Lock = lockOf(map[string]string{"event": lockEventPromoted, "node": "node2"})
		}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := MayRunLockedStandby(tc.facts)
			if got != tc.want || why == "" {
				t.Errorf("MayRunLockedStandby = %v (%q), want %v with a reason", got, why, tc.want)
			}
		})
	}
}

func TestLockedStandbyMustRestart(t *testing.T) {
	promoted := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "node": "node1"}}
	demoted := LockInfo{Fields: map[string]string{"event": lockEventDemoted, "node": "node1"}}
	tests := []struct {
		name                                string
		lock                                LockInfo
		locked, streaming, primaryElsewhere bool
		want                                bool
	}{
		{"locked, no primary yet: keeps running for the election", promoted, true, false, false, false},
		{"locked, a primary elsewhere: restart to check the evidence", promoted, true, false, true, true},
		{"unlocked standby waiting for its primary", LockInfo{}, false, false, true, false},
		{"demoted standby waiting for its hand-over", demoted, true, false, true, false},
	}
	for _, tc := range tests {
		if got := LockedStandbyMustRestart(tc.lock, tc.locked, tc.streaming, tc.primaryElsewhere); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
