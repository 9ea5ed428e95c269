package test

import (
	"strings"
	"testing"
	"time"
)

// TestReplicationSlots: with replication_slot_name the promoted primary holds one slot per
// other node of node_list (<name>_<node>), drops a stale slot of a node that left node_list
// (it would keep WAL forever), leaves slots that are not the agent's alone, and a standby
// streams through its slot (primary_slot_name in its standby settings).
func TestReplicationSlots(t *testing.T) {
	r := promotedRig(t, "async")
	r.params["replication_slot_name"] = "pgsql"
	r.c.sql(t, "SELECT pg_create_physical_replication_slot('pgsql_node9')")
	r.c.sql(t, "SELECT pg_create_physical_replication_slot('backup_tool')")
	r.must(t, 0, "demote", switchoverToNode2...)
	r.must(t, 0, "promote")
	slots := func() string {
		return strings.TrimSpace(r.c.sql(t, "select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots"))
	}
	if got := slots(); got != "backup_tool,pgsql_node2" {
		t.Fatalf("slots after the promote: %q, want backup_tool,pgsql_node2", got)
	}

	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	deadline := time.Now().Add(15 * time.Second)
	for strings.TrimSpace(r.c.sql(t, "select active from pg_replication_slots where slot_name = 'pgsql_node2'")) != "t" {
		if time.Now().After(deadline) {
			t.Fatalf("node2 does not stream through slot pgsql_node2 (wal receiver: %q)", walReceiverStatus(t, standby))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
