package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

func TestHandoverReceived(t *testing.T) {
	mark := WALPoint{Timeline: 3, LSN: 0x5000028}
	cases := []struct {
		name     string
		timeline uint32
		replayed uint64
		want     bool
	}{
		{"#10 defect 7: replay ended exactly at the checkpoint's start: the record is not replayed", 3, 0x5000028, false},
		{"replay ended inside earlier WAL", 3, 0x4FFFFF0, false},
		{"replay ended past the checkpoint record", 3, 0x50000A0, true},
		{"a lower timeline cannot hold the demoted primary's last WAL", 2, 0x6000000, false},
		{"a higher timeline is past it (a stale mark of older history)", 4, 0x1000, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, why := HandoverReceived(mark, tc.timeline, pgctl.LSN(tc.replayed))
			if got != tc.want || why == "" {
				t.Errorf("got %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

func TestPromoteDemands(t *testing.T) {
	mark := AttrRead{Value: "1:0000000005000028", Found: true}
	demoteNode1 := Notification{Present: true, Promote: []string{"node2"}, Demote: []string{"node1"}}
	cases := []struct {
		name      string
		n         Notification
		marks     map[string]AttrRead
		wantNodes string
		wantErr   string
	}{
		{"switchover: wait for the demoted node's mark", demoteNode1, map[string]AttrRead{"node1": mark}, "node1", ""},
		{"#10 defect 4: demoted in this transition, mark lost: refuse", demoteNode1,
			map[string]AttrRead{"node1": {}}, "", "published no shutdown checkpoint"},
		{"#10 defect 7: an unreadable mark refuses instead of skipping the wait", Notification{Present: true},
			map[string]AttrRead{"node1": {Err: errors.New("crm_attribute timed out")}}, "", "cannot read"},
		{"a malformed mark refuses", Notification{Present: true},
			map[string]AttrRead{"node1": {Value: "0000000005000028", Found: true}}, "", "node1"},
		{"a mark from an earlier transition still counts", Notification{Present: true},
			map[string]AttrRead{"node1": mark, "node3": {}}, "node1", ""},
		{"failover: nothing demoted, no marks", Notification{Present: true, Promote: []string{"node2"}},
			map[string]AttrRead{"node1": {}}, "", ""},
		{"this node's own mark is not waited for", demoteNode1,
			map[string]AttrRead{"node2": mark, "node1": mark}, "node1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			demands, err := PromoteDemands("node2", tc.n, tc.marks)
			var nodes []string
			for _, d := range demands {
				nodes = append(nodes, d.Node)
			}
			if got := strings.Join(nodes, " "); got != tc.wantNodes {
				t.Errorf("demands %q, want %q", got, tc.wantNodes)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestMayUnlock(t *testing.T) {
	demoted := LockInfo{Fields: map[string]string{"event": "demoted", "timeline": "2", "lsn": "0/5000028"}}
	cases := []struct {
		name string
		lock LockInfo
		ack  AttrRead
		want bool
	}{
		{"acknowledged past the checkpoint", demoted, AttrRead{Value: "node2:2:00000000050000A0", Found: true}, true},
		{"acknowledged only up to the checkpoint's start", demoted, AttrRead{Value: "node2:2:0000000005000028", Found: true}, false},
		{"acknowledged on another timeline", demoted, AttrRead{Value: "node2:3:00000000050000A0", Found: true}, false},
		{"no acknowledgement", demoted, AttrRead{}, false},
		{"the acknowledgement cannot be read", demoted, AttrRead{Err: errors.New("cib unavailable")}, false},
		{"the lock of a promote (crashed primary) is never lifted here",
			LockInfo{Fields: map[string]string{"event": "promoted", "timeline": "2", "lsn": "0/5000028"}},
			AttrRead{Value: "node2:2:00000000050000A0", Found: true}, false},
		{"the shell agent's empty lock is never lifted here", LockInfo{Fields: map[string]string{}},
			AttrRead{Value: "node2:2:00000000050000A0", Found: true}, false},
		{"a diverged lock is never lifted here",
			LockInfo{Fields: map[string]string{"event": "diverged", "timeline": "2", "lsn": "0/5000028"}},
			AttrRead{Value: "node2:2:00000000050000A0", Found: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := MayUnlock(tc.lock, tc.ack); got != tc.want || why == "" {
				t.Errorf("got %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

func TestWALPointRoundTrip(t *testing.T) {
	p := WALPoint{Timeline: 12, LSN: 0x1_0000_0028}
	got, err := ParseWALPoint(p.Attribute())
	if err != nil || got != p {
		t.Errorf("%q read back as %v, %v", p.Attribute(), got, err)
	}
	for _, bad := range []string{"", "12", "0:0000000100000028", "-1:0000000100000028", "12:100000028", "x:0000000100000028"} {
		if _, err := ParseWALPoint(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
