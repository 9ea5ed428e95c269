package labkit

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLabLiveMigration (issue #14 §3): the README promises that an admin swaps the file and
// nothing else changes. The lab runs the stock agent (ocf:heartbeat:pgsql, the seed's
// parameters) under an audited writer; then the file is replaced by ours on each node's disk,
// the standby first. Asserted: PostgreSQL is not restarted, no role changes, the attributes
// continue without flapping, no operation fails, the stock agent's lock is honoured, and no
// acknowledged commit is lost; then a switchover and a failover run under ours.
func TestLabLiveMigration(t *testing.T) {
	if agents := labAgents(); !slices.Contains(agents, "ours") || !slices.Contains(agents, "stock") {
		t.Skip("needs LAB_AGENTS with stock and ours")
	}
	ours := envOr("PGSQL_RA_AGENT", benchAgentPaths["ours"]) // make test: the installed package's
	l := startLab(t, "stock", 2)
	rec := l.record(t, "live-migration")
	primary, standby := l.caughtUpPair(t)
	if !l.lockPresent(primary) {
		t.Fatalf("the stock agent's primary %s has no PGSQL.lock (the premise)", primary)
	}
	before := l.mustMon(t, "")
	started := map[string]string{}
	for _, n := range []string{primary, standby} {
		started[n] = l.postmasterIdentity(t, n)
	}
	w := l.startAuditedWriter("migration")
	watch := l.watchAttributes([]string{primary, standby})

	for _, n := range []string{standby, primary} {
		l.mustLog(30*time.Second, "replace", n, benchAgentPaths["stock"], ours)
		if out, err := l.run(30*time.Second, "exec", n, benchAgentPaths["stock"], "meta-data"); err != nil || !strings.Contains(out, `name="no_promote_nodes"`) {
			t.Fatalf("%s: %s is not ours after the swap (%v)", n, benchAgentPaths["stock"], err)
		}
	}
	swapped := time.Now()
	// Both roles' monitors (every 3 s and 4 s) run a few times under ours.
	time.Sleep(20 * time.Second)
	seen := watch.stop()
	acked := w.stop()
	rec.set("acked_during_swap", len(acked))

	after := l.mustMon(t, "")
	for _, n := range []string{primary, standby} {
		if got := l.postmasterIdentity(t, n); got != started[n] {
			t.Errorf("%s: PostgreSQL restarted at the swap (postmaster %q, was %q)", n, got, started[n])
		}
		if after.role(n) != before.role(n) {
			t.Errorf("%s: role %q after the swap, was %q", n, after.role(n), before.role(n))
		}
		if f := after.pgsqlFailures(n); len(f) > 0 {
			t.Errorf("%s: failed operations after the swap: %+v", n, f)
		}
		if values := seen[n]; len(values) != 1 {
			t.Errorf("%s: attributes changed during the swap: %v", n, values)
		}
	}
	if !l.lockPresent(primary) {
		t.Errorf("the primary %s lost PGSQL.lock at the swap", primary)
	}
	if missing := l.missingRows(t, acked); len(missing) > 0 {
		t.Errorf("%d acknowledged rows missing after the swap: %v", len(missing), missing[:min(5, len(missing))])
	}
	rec.set("swap_observed_s", labSeconds(time.Since(swapped)))
	rec.set("attribute_values_seen", seen)

	// From now on the lab runs ours: the scenarios assert what they assert for ours.
	l.agent = "ours"
	if !subtest(t, "switchover", func(t T) { labSwitchover(t, l) }) {
		return
	}
	subtest(t, "failover", func(t T) { labFailover(t, l) })
}

// missingRows returns the acknowledged notes the primary (through the VIP) does not hold.
func (l *labSession) missingRows(t T, acked []string) []string {
	t.Helper()
	var missing []string
	for _, note := range acked {
		if n := l.mustSQL(t, "vip", fmt.Sprintf("select count(*) from lab_rows where note = '%s'", note)); n != "1" {
			missing = append(missing, note)
		}
	}
	return missing
}

// attributeWatch samples every node's status, data-status and score.
type attributeWatch struct {
	done chan struct{}
	wg   sync.WaitGroup
	seen map[string][]string
}

func (l *labSession) watchAttributes(nodes []string) *attributeWatch {
	w := &attributeWatch{done: make(chan struct{}), seen: map[string][]string{}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			if m, err := l.mon(""); err == nil {
				for _, n := range nodes {
					a := m.attrs(n)
					v := fmt.Sprintf("%s %s %s", a[labRsc+"-status"], a[labRsc+"-data-status"], a["master-"+labRsc])
					if !slices.Contains(w.seen[n], v) {
						w.seen[n] = append(w.seen[n], v)
					}
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *attributeWatch) stop() map[string][]string {
	close(w.done)
	w.wg.Wait()
	return w.seen
}
