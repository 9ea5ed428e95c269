package test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlaveMode: rep_mode=slave runs a plain hot standby of a primary outside the resource
// (master_ip): start writes the standby settings and starts it streaming, monitor reports
// it running, stop stops it.
func TestSlaveMode(t *testing.T) {
	primary := newCluster(t)
	const primaryHost = "127.0.0.2" // loopback; the standby's own server listens on no TCP address
	primary.appendConf(t, fmt.Sprintf("listen_addresses = '%s'\n", primaryHost))
	primary.prependHBA(t, "host replication postgres 127.0.0.0/8 trust")
	mustRC(t, 0, "start", primary.params(), nil)
	defer mustRC(t, 0, "stop", primary.params(), nil)
	primary.sql(t, "CREATE TABLE reports (id int)")

	standby := newStandbyOf(t, primary, primaryHost)
	params := with(standby.params(), "rep_mode", "slave", "master_ip", primaryHost, "repuser", "postgres",
		"tmpdir", filepath.Join(standby.Dir, "tmp"))
	meta := map[string]string{"on_node": "node2"}
	mustRC(t, 0, "start", params, meta)
	defer mustRC(t, 0, "stop", params, meta)
	mustRC(t, 0, "monitor", params, with(meta, "interval", "10000"))

	if got := strings.TrimSpace(standby.sql(t, "select pg_is_in_recovery()")); got != "t" {
		t.Fatalf("the slave is not in recovery: %q", got)
	}
	primary.sql(t, "INSERT INTO reports SELECT generate_series(1, 100)")
	deadline := time.Now().Add(10 * time.Second)
	for {
		status := strings.TrimSpace(standby.sql(t, "select coalesce((select status from pg_stat_wal_receiver), 'none') || ' ' || (select count(*) from reports)"))
		if status == "streaming 100" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slave does not stream the primary's rows: %q", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if app := strings.TrimSpace(primary.sql(t, "select application_name from pg_stat_replication")); app != "node2" {
		t.Errorf("application_name on the primary = %q, want the node name node2", app)
	}
}
