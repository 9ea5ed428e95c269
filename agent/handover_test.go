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
		offline   map[string]bool
	}{
		{"switchover: wait for the demoted node's mark", demoteNode1, map[string]AttrRead{"node1": mark}, "node1", "", nil},
		{"#10 defect 4: demoted in this transition, mark lost: refuse", demoteNode1,
			map[string]AttrRead{"node1": {}}, "", "published no shutdown checkpoint", nil},
		{"#10 defect 7: an unreadable mark refuses instead of skipping the wait", Notification{Present: true},
			map[string]AttrRead{"node1": {Err: errors.New("crm_attribute timed out")}}, "", "cannot read", nil},
		{"a malformed mark refuses", Notification{Present: true},
			map[string]AttrRead{"node1": {Value: "0000000005000028", Found: true}}, "", "node1", nil},
		{"a mark from an earlier transition still counts", Notification{Present: true},
			map[string]AttrRead{"node1": mark, "node3": {}}, "node1", "", nil},
		{"failover: nothing demoted, no marks", Notification{Present: true, Promote: []string{"node2"}},
			map[string]AttrRead{"node1": {}}, "", "", nil},
		{"review: the demote of a crashed primary hands nothing over: a failover", demoteNode1,
			map[string]AttrRead{"node1": {Value: "none", Found: true}}, "", "", nil},
		{"this node's own mark is not waited for", demoteNode1,
			map[string]AttrRead{"node2": mark, "node1": mark}, "node1", "", nil},
		// issue #12, the fenced lab: Pacemaker lists the fenced primary as demoted.
		{"fenced: listed as demoted, offline, no mark: a failover", demoteNode1,
			map[string]AttrRead{"node1": {}}, "", "", map[string]bool{"node1": true}},
		{"offline with a mark: its demote ran, the mark is waited for", demoteNode1,
			map[string]AttrRead{"node1": mark}, "node1", "", map[string]bool{"node1": true}},
		{"another node offline does not excuse the demoted one", demoteNode1,
			map[string]AttrRead{"node1": {}}, "", "published no shutdown checkpoint", map[string]bool{"node3": true}},
		// review 22, finding 4: node_list spells the node otherwise (short name, FQDN).
		{"demoted, not in node_list, not shown fenced: refuse", Notification{Present: true, Demote: []string{"node1.example.com"}},
			map[string]AttrRead{"node1": {}}, "", "not in node_list", nil},
		{"demoted, not in node_list, shown fenced: a failover", Notification{Present: true, Demote: []string{"node1.example.com"}},
			map[string]AttrRead{"node1": {}}, "", "", map[string]bool{"node1.example.com": true}},
		{"this node in the demote list, not in node_list: nothing to wait for", Notification{Present: true, Demote: []string{"node2"}},
			map[string]AttrRead{"node1": {}}, "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			demands, err := PromoteDemands("node2", tc.n, MarkReads{Marks: tc.marks}, tc.offline)
			checkDemands(t, demands, err, tc.wantNodes, tc.wantErr)
		})
	}
}

// checkDemands compares PromoteDemands' outcome with the nodes it must wait for (space
// separated) and a part of its refusal ("": none).
func checkDemands(t *testing.T, demands []HandoverDemand, err error, wantNodes, wantErr string) {
	t.Helper()
	var nodes []string
	for _, d := range demands {
		nodes = append(nodes, d.Node)
	}
	if got := strings.Join(nodes, " "); got != wantNodes {
		t.Errorf("demands %q, want %q", got, wantNodes)
	}
	if (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) {
		t.Errorf("error %v, want one containing %q", err, wantErr)
	}
}

// Review 22, finding 3: a mark is tied to the node's run as primary that its demote ended.
// One that outlived a later promotion of the node (the promote's removal of its own mark
// failed, or the node crashed before it) must not excuse the node without crm_mon.
func TestPromoteDemandsMarkOfLatestRun(t *testing.T) {
	demoteNode1 := Notification{Present: true, Promote: []string{"node2"}, Demote: []string{"node1"}}
	point := func(node string, seq uint64) AttrRead {
		p := PromotePoint{Node: node, OldTLI: 1, Fork: 0x5000028, NewTLI: 2, Seq: seq}
		return AttrRead{Value: PromoteChain{p}.Attribute(), Found: true}
	}
	mark := func(v string) map[string]AttrRead { return map[string]AttrRead{"node1": {Value: v, Found: true}} }
	const ckpt = "1:0000000005000028"
	fenced := map[string]bool{"node1": true}
	cases := []struct {
		name      string
		marks     map[string]AttrRead
		point     AttrRead
		offline   map[string]bool
		wantNodes string
		wantErr   string
	}{
		{"the mark ends its latest promotion: a hand-over", mark(ckpt + ":4"), point("node1", 4), nil, "node1", ""},
		{"promoted since the mark, online: refuse", mark(ckpt + ":3"), point("node1", 4), nil, "", "promoted since (#4)"},
		{"promoted since the mark, fenced: a failover that still holds the old mark's WAL", mark(ckpt + ":3"), point("node1", 4), fenced, "node1", ""},
		{"a crashed primary's demote of its latest run: a failover", mark("none:4"), point("node1", 4), nil, "", ""},
		{"a crashed primary's old demote, promoted since, online: refuse", mark("none:3"), point("node1", 4), nil, "", "promoted since"},
		{"a crashed primary's old demote, promoted since, fenced", mark("none:3"), point("node1", 4), fenced, "", ""},
		{"the promote point unreadable: refuse", mark(ckpt + ":4"), AttrRead{Err: errors.New("attrd timed out")}, nil, "", "cannot be read"},
		{"the promote point unreadable, fenced", mark(ckpt + ":4"), AttrRead{Err: errors.New("attrd timed out")}, fenced, "node1", ""},
		{"a numbered mark without a promote point: refuse", mark(ckpt + ":4"), AttrRead{}, nil, "", "published no promote point"},
		{"an unnumbered mark, no promotion published: a hand-over", mark(ckpt), AttrRead{}, nil, "node1", ""},
		{"an unnumbered mark of a node promoted since: refuse", mark(ckpt), point("node1", 1), nil, "", "carries no promotion number"},
		// Reviews 23 and 25: an earlier build's mark, even on the latest promotion's new
		// timeline past its fork (timeline numbers are reused after a rebuild), proves
		// nothing once a promotion is published; the fence does, and the WAL is waited for.
		{"an unnumbered mark past the fork, on the new timeline: refuse", mark("2:0000000006000000"), point("node1", 4), nil, "", "carries no promotion number"},
		{"an unnumbered mark past the fork, fenced: its WAL waited for", mark("2:0000000006000000"), point("node1", 4), fenced, "node1", ""},
		{"an unnumbered none of a node promoted since: refuse", mark("none"), point("node1", 4), nil, "", "carries no promotion number"},
		{"the head of its promote point is another node's: refuse", mark(ckpt + ":4"), point("node3", 4), nil, "", "not one of its own"},
		{"an unreadable mark refuses even when fenced", map[string]AttrRead{"node1": {Err: errors.New("timeout")}}, point("node1", 4), fenced, "", "cannot read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reads := MarkReads{Marks: tc.marks, Points: map[string]AttrRead{"node1": tc.point}}
			demands, err := PromoteDemands("node2", demoteNode1, reads, tc.offline)
			checkDemands(t, demands, err, tc.wantNodes, tc.wantErr)
		})
	}
}

func TestDemoteMarkAttribute(t *testing.T) {
	for _, m := range []DemoteMark{{Point: WALPoint{Timeline: 3, LSN: 0x5000028}, Seq: 7}, {None: true, Seq: 2}, {None: true}} {
		got, err := ParseDemoteMark(m.Attribute())
		if err != nil || got != m {
			t.Errorf("ParseDemoteMark(%q) = %+v, %v; want %+v", m.Attribute(), got, err, m)
		}
	}
	for in, want := range map[string]DemoteMark{
		"none":                 {None: true},
		"2:0000000005000028":   {Point: WALPoint{Timeline: 2, LSN: 0x5000028}},
		"2:0000000005000028:9": {Point: WALPoint{Timeline: 2, LSN: 0x5000028}, Seq: 9},
	} {
		if got, err := ParseDemoteMark(in); err != nil || got != want {
			t.Errorf("ParseDemoteMark(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "none:x", "2:0000000005000028:", "2:0000000005000028:-1", "0000000005000028", "1:2:3:4", "none:1:2"} {
		if m, err := ParseDemoteMark(bad); err == nil {
			t.Errorf("ParseDemoteMark(%q) = %+v, want an error", bad, m)
		}
	}
}

func TestMayUnlock(t *testing.T) {
	demoted := LockInfo{Fields: map[string]string{"event": "demoted", "timeline": "2", "lsn": "0/5000028"}}
	ack := func(v string) AttrRead { return AttrRead{Value: v, Found: true} }
	failover := Notification{Present: true, Promote: []string{"node2"}}
	inPlace := Notification{Present: true, Promote: []string{"node1"}, Demote: []string{"node1"}, Start: []string{"node1"}}
	cases := []struct {
		name string
		lock LockInfo
		ack  AttrRead
		n    Notification
		want bool
	}{
		{"acknowledged past the checkpoint", demoted, ack("node2:2:0000000005000028:00000000050000A0"), failover, true},
		{"acknowledged only up to the checkpoint's start", demoted, ack("node2:2:0000000005000028:0000000005000028"), failover, false},
		{"review: an acknowledgement of another demote's mark never lifts this lock", demoted,
			ack("node2:2:0000000004000028:00000000050000A0"), failover, false},
		{"acknowledged on another timeline", demoted, ack("node2:3:0000000005000028:00000000050000A0"), failover, false},
		{"the old three-part form is not an acknowledgement", demoted, ack("node2:2:00000000050000A0"), failover, false},
		{"no acknowledgement", demoted, AttrRead{}, failover, false},
		{"the acknowledgement cannot be read", demoted, AttrRead{Err: errors.New("cib unavailable")}, failover, false},
		{"review: recovery in place (demote, stop, start, promote of this node)", demoted, AttrRead{}, inPlace, true},
		{"another node promoted with this one: not in place", demoted, AttrRead{},
			Notification{Present: true, Promote: []string{"node1", "node2"}}, false},
		{"by hand, no notification, another node in node_list", demoted, AttrRead{}, Notification{}, false},
		{"the lock of a promote (crashed primary) is never lifted here",
			LockInfo{Fields: map[string]string{"event": "promoted", "timeline": "2", "lsn": "0/5000028"}},
			ack("node2:2:0000000005000028:00000000050000A0"), inPlace, false},
		{"the shell agent's empty lock is never lifted here", LockInfo{Fields: map[string]string{}},
			ack("node2:2:0000000005000028:00000000050000A0"), inPlace, false},
		{"a diverged lock is never lifted here",
			LockInfo{Fields: map[string]string{"event": "diverged", "timeline": "2", "lsn": "0/5000028"}},
			ack("node2:2:0000000005000028:00000000050000A0"), inPlace, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := UnlockFacts{Self: "node1", NodeList: []string{"node1", "node2"}, Lock: tc.lock, Ack: tc.ack, Notify: tc.n}
			if got, why := MayUnlock(f); got != tc.want || why == "" {
				t.Errorf("got %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

// TestMayUnlockAlone: with no other node in node_list nobody else can have been promoted (the
// one-node cluster ocf-tester runs on), so a demote's lock goes at the next start.
func TestMayUnlockAlone(t *testing.T) {
	demoted := LockInfo{Fields: map[string]string{"event": "demoted", "timeline": "2", "lsn": "0/5000028"}}
	if ok, _ := MayUnlock(UnlockFacts{Self: "node1", NodeList: []string{"node1"}, Lock: demoted}); !ok {
		t.Error("a lone node's demote lock was kept")
	}
	crashed := LockInfo{Fields: map[string]string{"event": "promoted", "timeline": "2", "lsn": "0/5000028"}}
	if ok, _ := MayUnlock(UnlockFacts{Self: "node1", NodeList: []string{"node1"}, Lock: crashed}); ok {
		t.Error("a lone node's crash lock was lifted")
	}
}

// TestMayUnlockLastPrimary: a full-cluster stop demotes the primary with nothing promoted; at
// the next start no node was promoted since (it alone holds LATEST), so its lock goes.
func TestMayUnlockLastPrimary(t *testing.T) {
	demoted := LockInfo{Fields: map[string]string{"event": "demoted", "timeline": "2", "lsn": "0/5000028"}}
	cases := []struct {
		name   string
		status map[string]string
		want   bool
	}{
		{"full-cluster restart: still the only LATEST", map[string]string{"node1": "LATEST", "node2": "STREAMING|ASYNC"}, true},
		{"node2 was promoted since (LATEST, and node1 DISCONNECT)", map[string]string{"node1": "DISCONNECT", "node2": "LATEST"}, false},
		{"node2 promoted but node1's DISCONNECT lost", map[string]string{"node1": "LATEST", "node2": "LATEST"}, false},
		{"data-status unreadable", nil, false},
	}
	onlyLatest := map[string]string{"node1": "LATEST", "node2": "STREAMING|ASYNC"}
	switchover := UnlockFacts{Self: "node1", NodeList: []string{"node1", "node2"}, Lock: demoted,
		Notify: Notification{Present: true, Promote: []string{"node2"}}, DataStatus: onlyLatest}
	if ok, _ := MayUnlock(switchover); ok {
		t.Error("review: a start in a transition that promotes node2 lifted the lock on LATEST alone")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := UnlockFacts{Self: "node1", NodeList: []string{"node1", "node2"}, Lock: demoted,
				Notify: Notification{Present: true}, DataStatus: tc.status}
			if got, why := MayUnlock(f); got != tc.want {
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

func TestHandoverRoundTrip(t *testing.T) {
	h := Handover{Node: "node2", Mark: WALPoint{Timeline: 2, LSN: 0x5000028}, Replayed: 0x50000A0}
	got, err := ParseHandover(h.Attribute())
	if err != nil || got != h {
		t.Errorf("%q read back as %+v, %v", h.Attribute(), got, err)
	}
}

func TestCaughtUpTo(t *testing.T) {
	target := WALPoint{Timeline: 2, LSN: 0x5000000}
	standby := func(tli uint32, received, primaryEnd uint64) pgctl.LocalState {
		return pgctl.LocalState{InRecovery: true, Timeline: tli, ReceiveLSN: pgctl.LSN(received), PrimaryEndLSN: pgctl.LSN(primaryEnd)}
	}
	cases := []struct {
		name string
		st   pgctl.LocalState
		want bool
	}{
		{"received the target, close to the primary's end", standby(2, 0x5000100, 0x5000200), true},
		{"#10 defect 1: streaming from the first byte, far behind the target", standby(2, 0x1000, 0x5000200), false},
		{"review: an old target met, but far behind the primary's end now", standby(2, 0x5000100, 0x5000100+catchUpBound+1), false},
		{"no report from the primary's walsender yet (nothing new to send): the target counts", standby(2, 0x5000100, 0), true},
		{"no report from the walsender and the target not reached", standby(2, 0x4000000, 0), false},
		{"another timeline", standby(3, 0x5000100, 0x5000200), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CaughtUpTo(target, tc.st); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// MarkEndsTheHistory: the pre-promote guard stands down only for a mark of the demoted
// node's latest run that is also the latest promotion anyone published (reviews 22, 26).
func TestMarkEndsTheHistory(t *testing.T) {
	head := func(node string, seq uint64) AttrRead {
		return AttrRead{Value: PromoteChain{{Node: node, OldTLI: 1, Fork: 0x4000000, NewTLI: 2, Seq: seq}}.Attribute(), Found: true}
	}
	mark := func(v string) AttrRead { return AttrRead{Value: v, Found: true} }
	const m5 = "2:0000000005000028:5"
	cases := []struct {
		name   string
		mark   AttrRead
		points map[string]AttrRead
		want   bool
	}{
		{"its latest run, the latest promotion", mark(m5), map[string]AttrRead{"node1": head("node1", 5), "node2": head("node2", 4)}, true},
		{"review 26: another node promoted since", mark(m5), map[string]AttrRead{"node1": head("node1", 5), "node2": head("node2", 6)}, false},
		{"promoted itself since", mark(m5), map[string]AttrRead{"node1": head("node1", 6)}, false},
		{"its own point gone, the number is another node's", mark(m5), map[string]AttrRead{"node2": head("node2", 5)}, false},
		{"a crashed primary hands no WAL over", mark("none:5"), map[string]AttrRead{"node1": head("node1", 5)}, false},
		{"another point unreadable", mark(m5), map[string]AttrRead{"node1": head("node1", 5), "node2": {Err: errors.New("timeout")}}, false},
		{"another point malformed", mark(m5), map[string]AttrRead{"node1": head("node1", 5), "node2": {Value: "node2:x", Found: true}}, false},
		{"no mark", AttrRead{}, map[string]AttrRead{"node1": head("node1", 5)}, false},
		{"the mark unreadable", AttrRead{Err: errors.New("timeout")}, map[string]AttrRead{"node1": head("node1", 5)}, false},
		{"an unnumbered mark, no promotion anywhere", mark("2:0000000005000028"), map[string]AttrRead{}, true},
	}
	for _, tc := range cases {
		if got, why := MarkEndsTheHistory("node1", tc.mark, tc.points); got != tc.want {
			t.Errorf("%s: %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}
