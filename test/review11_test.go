package test

import (
	"strings"
	"testing"
)

// Review 11 (issue #12, tmpdir read-only or full; docs/design.md §7: "costs availability,
// never the lock"): a promote that cannot create PGSQL.lock is refused, but only after it
// wrote every other node DISCONNECT and published its pending promote point. Neither goes
// away with the refusal: the crashed primary node1, which holds the newest data and whose
// own point was the latest, then has neither its LATEST nor the latest point, so its start
// is refused by its lock (no locked standby, no election: section 5, "A locked standby"),
// and every rejoin compared with the chain stays undecided while the pending point is in it.
// A promote that cannot write its lock must change nothing in the cluster.
func TestReview11PromoteRefusedForItsTmpdirChangesNothing(t *testing.T) {
	r, _, node2, transition := crashedPrimaryTransition(t)
	r.must(t, 0, "demote", transition...)
	r.must(t, 0, "stop", transition...)
	before := r.promoteRecords(t)
	if before["node1 data-status"] != "LATEST" {
		t.Fatalf("node1's data-status before node2's promote is %q, want LATEST", before["node1 data-status"])
	}
	tmp := node2.params["tmpdir"]
	for _, fault := range []struct {
		name    string
		wrapper []string
	}{
		{"read-only", readOnlyDir(tmp)},
		{"full", fullDir(tmp)},
	} {
		if refused := node2.runThrough(t, fault.wrapper, "promote", transition...); refused.RC != 1 || !strings.Contains(strings.Join(refused.reasons(), " "), "PGSQL.lock") {
			t.Fatalf("promote with a %s tmpdir: rc %d, reasons %q; want 1 naming PGSQL.lock", fault.name, refused.RC, refused.reasons())
		}
		after := r.promoteRecords(t)
		for k, v := range before {
			if after[k] != v {
				t.Errorf("the promote refused for its %s tmpdir changed %s from %q to %q", fault.name, k, v, after[k])
			}
		}
	}
	// The crashed primary can still come back as the locked standby it was before the
	// refused promote (and take part in the election).
	startLockedStandby(t, r)
	r.must(t, 0, "stop")
	node2.must(t, 0, "stop")
}

// Review 11: with restart_on_promote the promote publishes its exact point once the standby
// stopped, before removing the standby marker. When that removal fails (pgdata read-only),
// the promote fails with PostgreSQL stopped and still configured as a standby: no promotion
// happened, yet an exact point says one forked at the stopped standby's end of WAL. The
// crashed primary node1, whose commit node2 lacks, is then refused on a "proof" of divergence
// from a primary that never existed, and told to take a base backup: an admin who does so
// from node2 loses that commit. The point must stay pending (it decides nothing) until the
// restart as a primary is under way (docs/design.md §5, "Rejoin": written before the restart).
func TestReview11RestartPromoteThatNeverStartedPublishesNoFork(t *testing.T) {
	r, standby, node2 := dirtyPowerCycle(t, true)
	failed := node2.runThrough(t, readOnlyDir(standby.PgData), "promote", "notify_promote_uname", "node2")
	if reasons := failed.reasons(); failed.RC != 1 || len(reasons) != 1 || !strings.Contains(reasons[0], "cannot remove") {
		t.Fatalf("the promote with pgdata read-only: rc %d, reasons %q; want 1, the standby marker not removed\n%s", failed.RC, reasons, failed.Stderr)
	}
	point := r.attr(t, "node2", "pgsqltest-promote-point", "forever")
	if head := strings.Split(strings.Fields(point + " ")[0], ":"); len(head) < 5 || head[3] != "0" {
		t.Errorf("node2's promote point after a promote that never restarted it as a primary: %q, want its head pending (new timeline 0)", point)
	}
	started := r.run(t, "start")
	if strings.Contains(started.Stderr, "take a base backup") {
		t.Errorf("node1, holding a commit node2 lacks, is told to take a base backup against a promotion that never happened:\n%s", started.Stderr)
	}
	r.must(t, 0, "stop")
}

// Review 11: a promote refuses when it cannot read every node's promote point (its number
// must be past every published one: docs/design.md §5, "Rejoin"), but it reads them only
// after writing every other node DISCONNECT. The CIB busy for node1's point then costs the
// crashed primary node1, which holds the newest data, its LATEST and with it its start as a
// locked standby, as the tmpdir refusal did. What can refuse the promote before its first
// write must be known before it.
func TestReview11PromoteRefusedForAnUnreadablePointChangesNothing(t *testing.T) {
	r, _, node2, transition := crashedPrimaryTransition(t)
	r.must(t, 0, "demote", transition...)
	r.must(t, 0, "stop", transition...)
	fault := newToolFault(t, "crm_attribute", "--node=node1", "--name=pgsqltest-promote-point", "--query")
	refused := node2.runThrough(t, fault.Wrapper, "promote", transition...)
	if reasons := refused.reasons(); refused.RC != 1 || len(reasons) != 1 || !strings.Contains(reasons[0], "promote point") {
		t.Fatalf("promote with node1's promote point unreadable: rc %d, reasons %q; want 1 naming the promote point\n%s", refused.RC, reasons, refused.Stderr)
	}
	if got := r.attr(t, "node1", "pgsqltest-data-status", "forever"); got != "LATEST" {
		t.Errorf("the promote refused for an unreadable promote point changed node1's data-status from LATEST to %q", got)
	}
	startLockedStandby(t, r)
	r.must(t, 0, "stop")
	node2.must(t, 0, "stop")
}

// promoteRecords are what a refused promote must leave as they were: the crashed primary
// node1's data-status and both nodes' promote points.
func (r *replicationRig) promoteRecords(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"node1 data-status":   r.attr(t, "node1", "pgsqltest-data-status", "forever"),
		"node2 promote-point": r.attr(t, "node2", "pgsqltest-promote-point", "forever"),
		"node1 promote-point": r.attr(t, "node1", "pgsqltest-promote-point", "forever"),
	}
}
