package test

import (
	"fmt"
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
	return p.runThrough(t, nil, action, extraMeta...)
}

// runThrough runs an action through a wrapper (argv that execs its arguments), or directly
// when wrapper is nil.
func (p *rigPeer) runThrough(t *testing.T, wrapper []string, action string, extraMeta ...string) result {
	t.Helper()
	env := []string{"CIB_file=" + p.rig.cib, "HA_RSCTMP=" + filepath.Join(p.c.Dir, "run-ra")}
	return runAgentWrapped(t, wrapper, action, p.params, with(p.meta, extraMeta...), env)
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
		r.useCIB(t, "three-nodes.xml")
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

// waitingStandby is a rig whose standby node2 found no primary at its start (node1's server was
// down) and now waits out wal_retrieve_retry_interval: 10 min, so only the agent can make it
// connect. node1's server is running again when it returns.
func waitingStandby(t *testing.T) (r *replicationRig, standby *cluster, node2 *rigPeer) {
	t.Helper()
	r = promotedRig(t, "async")
	standby = newStandbyOf(t, r.c, primaryHost)
	standby.appendConf(t, "wal_retrieve_retry_interval = '10min'\n")
	node2 = r.peer(standby, "node2")
	r.stopServer(t)
	node2.must(t, 0, "start") // finds no primary: PostgreSQL now waits out the retry interval
	r.startServer(t)
	requireNotStreaming(t, standby, "before the agent did anything")
	return r, standby, node2
}

func (r *replicationRig) stopServer(t *testing.T) {
	t.Helper()
	r.c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "stop", "-D", r.c.PgData, "-m", "fast", "-w")
}

func (r *replicationRig) startServer(t *testing.T) {
	t.Helper()
	r.c.asOwner(t, filepath.Join(pgBinDir, "pg_ctl"), "start", "-D", r.c.PgData, "-w", "-l", r.c.Logfile)
}

// requireNotStreaming fails when the standby streams a second later: what follows would
// prove nothing.
func requireNotStreaming(t *testing.T, standby *cluster, when string) {
	t.Helper()
	time.Sleep(time.Second)
	if got := walReceiverStatus(t, standby); got == "streaming" {
		t.Fatalf("the standby streams %s: the test proves nothing", when)
	}
}

func requireStreamingWithin(t *testing.T, standby *cluster, d time.Duration, after string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for walReceiverStatus(t, standby) != "streaming" {
		if time.Now().After(deadline) {
			t.Fatalf("the standby did not reconnect within %v of %s", d, after)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var postPromoteOfNode1 = []string{"notify_type", "post", "notify_operation", "promote",
	"notify_promote_uname", "node1", "notify_demote_uname", " "}

// TestPostPromoteNotifyReconnectsTheStandby: after a switchover the demoted node's first
// connection attempts find no primary, and PostgreSQL then waits wal_retrieve_retry_interval
// before trying again. The post-promote notification on that node makes it connect to the
// new primary at once.
func TestPostPromoteNotifyReconnectsTheStandby(t *testing.T) {
	_, standby, node2 := waitingStandby(t)
	node2.must(t, 0, "notify", postPromoteOfNode1...)
	requireStreamingWithin(t, standby, 10*time.Second, "the post-promote notification")
}

// TestStandbyMonitorReconnectsAfterAPromotion: in a switchover the VIP reaches the new primary
// only after the post-promote notification, so the attempt that notification starts can fail,
// and PostgreSQL waits again (lab: the old primary streamed 6.1 s after the move instead of
// 2.5 s). The standby's monitors retry for a while after a promotion, and only then: a
// standby that cannot connect is not reloaded at every monitor.
func TestStandbyMonitorReconnectsAfterAPromotion(t *testing.T) {
	r, standby, node2 := waitingStandby(t)
	r.useCIB(t, "two-nodes-node1-promoted.xml") // crm_mon now reports node1 promoted

	node2.must(t, 0, "monitor")
	requireNotStreaming(t, standby, "after a monitor with no promotion seen (the monitor must not reload)")

	r.stopServer(t)
	node2.must(t, 0, "notify", postPromoteOfNode1...) // its attempt finds nothing: waits again
	r.startServer(t)
	requireNotStreaming(t, standby, "after a notification that found no primary")

	node2.must(t, 0, "monitor")
	requireStreamingWithin(t, standby, 5*time.Second, "the first monitor after the promotion")
}
