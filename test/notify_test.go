package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rigPeer is another node of a replication rig: its own data directory and agent state,
// the same CIB file, so the nodes see each other's attributes as in a cluster.
type rigPeer struct {
	rig    *replicationRig
	c      *cluster
	params map[string]string
	meta   map[string]string
}

func (r *replicationRig) peer(c *cluster, node string) *rigPeer {
	return &rigPeer{rig: r, c: c,
		params: with(c.params(), "rep_mode", r.params["rep_mode"], "node_list", r.params["node_list"],
			"master_ip", r.params["master_ip"], "repuser", "postgres", "tmpdir", filepath.Join(c.Dir, "tmp"),
			"restart_on_promote", r.params["restart_on_promote"], "replication_slot_name", r.params["replication_slot_name"]),
		meta: with(r.meta, "on_node", node)}
}

func (p *rigPeer) run(t *testing.T, action string, extraMeta ...string) result {
	t.Helper()
	env := []string{"CIB_file=" + p.rig.cib, "HA_RSCTMP=" + filepath.Join(p.c.Dir, "run-ra")}
	return runAgentEnv(t, action, p.params, with(p.meta, extraMeta...), env)
}

func (p *rigPeer) must(t *testing.T, want int, action string, extraMeta ...string) result {
	t.Helper()
	res := p.run(t, action, extraMeta...)
	if res.RC != want {
		t.Fatalf("%s on %s: rc %d, want %d\n%s", action, p.meta["on_node"], res.RC, want, res.Stderr)
	}
	return res
}

// promotedRig is a rig whose node1 is a promoted primary that accepts replication
// connections on primaryHost, ready for standbys made with newStandbyOf.
func promotedRig(t *testing.T, repMode string, nodes ...string) *replicationRig {
	t.Helper()
	r := newReplicationRig(t)
	r.params["rep_mode"] = repMode
	r.params["master_ip"] = primaryHost
	if len(nodes) > 0 {
		r.params["node_list"] = strings.Join(nodes, " ")
		r.meta["clone_max"] = fmt.Sprint(len(nodes))
	}
	if len(nodes) == 3 {
		cib, err := os.ReadFile("../testdata/cib/three-nodes.xml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.cib, cib, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.c.appendConf(t, fmt.Sprintf("listen_addresses = '%s'\n", primaryHost))
	r.c.prependHBA(t, "host replication postgres 127.0.0.0/8 trust")
	r.must(t, 0, "start")
	for i := 0; i < 6 && r.attr(t, "node1", "master-pgsqltest", "reboot") != "1000"; i++ {
		r.must(t, 0, "monitor")
	}
	r.must(t, 0, "promote")
	return r
}

// primaryHost is where a rig's primary listens for its standbys (the VIP's role).
const primaryHost = "127.0.0.2"

// walReceiverStatus is pg_stat_wal_receiver.status on a standby ("" without a receiver).
func walReceiverStatus(t *testing.T, c *cluster) string {
	t.Helper()
	return strings.TrimSpace(c.sql(t, "select coalesce((select status from pg_stat_wal_receiver), '')"))
}

// TestPostPromoteNotifyReconnectsTheStandby: after a switchover the demoted node's first
// connection attempts find no primary, and PostgreSQL then waits wal_retrieve_retry_interval
// before trying again (5 s by default; 10 min here, so only the agent can make it connect).
// The post-promote notification on that node makes it connect to the new primary at once.
func TestPostPromoteNotifyReconnectsTheStandby(t *testing.T) {
	r := promotedRig(t, "async")
	standby := newStandbyOf(t, r.c, primaryHost)
	standby.appendConf(t, "wal_retrieve_retry_interval = '10min'\n")
	node2 := r.peer(standby, "node2")

	pgCtl := filepath.Join(pgBinDir, "pg_ctl")
	r.c.asOwner(t, pgCtl, "stop", "-D", r.c.PgData, "-m", "fast", "-w")
	node2.must(t, 0, "start") // finds no primary: PostgreSQL now waits out the retry interval
	r.c.asOwner(t, pgCtl, "start", "-D", r.c.PgData, "-w", "-l", r.c.Logfile)
	time.Sleep(time.Second)
	if got := walReceiverStatus(t, standby); got == "streaming" {
		t.Fatal("the standby streams before the notification: the test proves nothing")
	}

	node2.must(t, 0, "notify", "notify_type", "post", "notify_operation", "promote",
		"notify_promote_uname", "node1", "notify_demote_uname", " ")
	deadline := time.Now().Add(10 * time.Second)
	for walReceiverStatus(t, standby) != "streaming" {
		if time.Now().After(deadline) {
			t.Fatal("the standby did not reconnect within 10 s of the post-promote notification")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
