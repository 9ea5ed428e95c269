package agent

import (
	"errors"
	"testing"
)

func TestMayRunLockedStandby(t *testing.T) {
	promoted := LockInfo{Fields: map[string]string{"event": lockEventPromoted, "node": "node1", "timeline": "1", "lsn": "0/3000000", "promote_seq": "2"}}
	own := AttrRead{Found: true, Value: "node1:1:0000000003000000:2:2 node2:1:0000000002000000:1:1"}
	older := AttrRead{Found: true, Value: "node2:1:0000000002000000:1:1"}
	base := LockedStandbyFacts{Self: "node1", AutoRejoin: true, Lock: promoted,
		Points:     map[string]AttrRead{"node1": own, "node2": older},
		DataStatus: map[string]string{"node1": dataLatest, "node2": dataDisconnect}}
	with := func(change func(*LockedStandbyFacts)) LockedStandbyFacts {
		f := base
		f.Points = map[string]AttrRead{"node1": own, "node2": older}
		f.DataStatus = map[string]string{"node1": dataLatest, "node2": dataDisconnect}
		change(&f)
		return f
	}
	lockWith := func(key, value string) LockInfo {
		fields := map[string]string{}
		for k, v := range promoted.Fields {
			fields[k] = v
		}
		fields[key] = value
		return LockInfo{Fields: fields}
	}
	tests := []struct {
		name  string
		facts LockedStandbyFacts
		want  bool
	}{
		{"dirty power cycle: own promotion the latest, no primary", base, true},
		{"the standby was still streaming when both were cut", with(func(f *LockedStandbyFacts) { f.DataStatus["node2"] = dataStreamingAsyn }), true},
		{"a primary runs elsewhere", with(func(f *LockedStandbyFacts) { f.Promoted = []string{"node2"} }), false},
		{"cluster state unreadable", with(func(f *LockedStandbyFacts) { f.ViewErr = errors.New("crm_mon failed") }), false},
		{"auto_rejoin off", with(func(f *LockedStandbyFacts) { f.AutoRejoin = false }), false},
		{"diverged lock", with(func(f *LockedStandbyFacts) { f.Lock = lockWith("event", lockEventDiverged) }), false},
		{"demote lock", with(func(f *LockedStandbyFacts) { f.Lock = lockWith("event", lockEventDemoted) }), false},
		{"shell agent's empty lock", with(func(f *LockedStandbyFacts) { f.Lock = LockInfo{Fields: map[string]string{}} }), false},
		{"lock copied from another node", with(func(f *LockedStandbyFacts) { f.Lock = lockWith("node", "node2") }), false},
		{"lock without a promotion number", with(func(f *LockedStandbyFacts) { f.Lock = lockWith("promote_seq", "") }), false},
		{"a later promotion published its point (restart_on_promote keeps the timeline)", with(func(f *LockedStandbyFacts) {
			f.Points["node2"] = AttrRead{Found: true, Value: "node2:1:0000000003100000:0:3 node1:1:0000000003000000:2:2 node2:1:0000000002000000:1:1"}
		}), false},
		{"the lock names an older promotion of this node", with(func(f *LockedStandbyFacts) { f.Lock = lockWith("promote_seq", "1") }), false},
		{"a promote point unreadable", with(func(f *LockedStandbyFacts) { f.Points["node2"] = AttrRead{Err: errors.New("attrd")} }), false},
		{"no promote point at all", with(func(f *LockedStandbyFacts) { f.Points = map[string]AttrRead{} }), false},
		{"another node holds LATEST", with(func(f *LockedStandbyFacts) { f.DataStatus["node2"] = dataLatest }), false},
		{"this node was written off", with(func(f *LockedStandbyFacts) { f.DataStatus["node1"] = dataDisconnect }), false},
		{"data-status unreadable", with(func(f *LockedStandbyFacts) { f.DataStatus = nil }), false},
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
