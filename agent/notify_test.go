package agent

import "testing"

func TestReadNotification(t *testing.T) {
	env := map[string]string{
		"OCF_RESKEY_CRM_meta_notify_type":             "post",
		"OCF_RESKEY_CRM_meta_notify_operation":        "promote",
		"OCF_RESKEY_CRM_meta_notify_promote_uname":    "Node2 ",
		"OCF_RESKEY_CRM_meta_notify_master_uname":     "node1",
		"OCF_RESKEY_CRM_meta_notify_promoted_uname":   "node3",
		"OCF_RESKEY_CRM_meta_notify_slave_uname":      "node2",
		"OCF_RESKEY_CRM_meta_notify_demote_uname":     " ",
		"OCF_RESKEY_CRM_meta_notify_unpromoted_uname": "",
	}
	n := ReadNotification(func(k string) string { return env[k] })
	if !n.Present || n.Type != "post" || n.Operation != "promote" {
		t.Fatalf("type/operation: %+v", n)
	}
	if len(n.Promote) != 1 || n.Promote[0] != "node2" {
		t.Errorf("promote list %q, want [node2] (lower-cased, trimmed)", n.Promote)
	}
	if len(n.Promoted) != 1 || n.Promoted[0] != "node3" {
		t.Errorf("promoted list %q: the OCF 1.1 name must win over notify_master_uname", n.Promoted)
	}
	if len(n.Unpromoted) != 1 || n.Unpromoted[0] != "node2" {
		t.Errorf("unpromoted list %q: an empty new name falls back to notify_slave_uname", n.Unpromoted)
	}
	if len(n.Demote) != 0 {
		t.Errorf("demote list %q: a single space is an empty list", n.Demote)
	}
}

func TestDecideDemote(t *testing.T) {
	pair := []string{"node1", "node2"}
	cases := []struct {
		name             string
		nodes            []string
		restartOnPromote bool
		n                Notification
		want             DemoteOutcome
	}{
		{"switchover: another node is promoted in this transition", pair, false,
			Notification{Present: true, Promote: []string{"node2"}, Promoted: []string{"node1"}}, DemoteToStandby},
		{"full-cluster stop: only this node is promoted", pair, false,
			Notification{Present: true, Promoted: []string{"node1"}}, DemoteToStandby},
		{"resource-agents#851 partition healed: two primaries, nothing promoted", pair, false,
			Notification{Present: true, Promoted: []string{"node1", "node2"}}, DemoteAndStop},
		{"#10 defect 5: no notify data, restart_on_promote: a split brain cannot be ruled out", pair, true,
			Notification{}, DemoteAndStop},
		{"no notify data, new timelines: a locked standby, PostgreSQL refuses a fork", pair, false,
			Notification{}, DemoteToStandby},
		{"no notify data, this node alone (ocf-tester on one node)", []string{"node1"}, true,
			Notification{}, DemoteToStandby},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, why := DecideDemote("node1", tc.nodes, tc.restartOnPromote, tc.n)
			if got != tc.want || why == "" {
				t.Errorf("outcome %v (%q), want %v", got, why, tc.want)
			}
		})
	}
}
