package agent

import (
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

func TestShouldWakeReceiver(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 23, 7, 0, time.UTC)
	open := now.Add(20 * time.Second)
	noReceiver := pgctl.LocalState{InRecovery: true}
	for _, tc := range []struct {
		name             string
		st               pgctl.LocalState
		primaryElsewhere bool
		wakeUntil        time.Time
		want             bool
	}{
		{"lab switchover: attempt failed before the VIP moved (streamed 6.1 s after the move)", noReceiver, true, open, true},
		{"receiver connecting: a reload would not hurry it", pgctl.LocalState{InRecovery: true, ReceiverStatus: "starting"}, true, open, false},
		{"already streaming", pgctl.LocalState{InRecovery: true, ReceiverStatus: "streaming"}, true, open, false},
		{"no primary anywhere: nothing to connect to, the election runs", noReceiver, false, open, false},
		{"window over: a standby that cannot connect is not reloaded at every monitor", noReceiver, true, now.Add(-time.Second), false},
		{"no promotion seen since this node started", noReceiver, true, time.Time{}, false},
		{"a primary is never reloaded", pgctl.LocalState{InRecovery: false}, true, open, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShouldWakeReceiver(tc.st, tc.primaryElsewhere, now, tc.wakeUntil); got != tc.want {
				t.Errorf("ShouldWakeReceiver = %v, want %v", got, tc.want)
			}
		})
	}
}
