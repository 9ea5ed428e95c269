package labkit

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLabRecreateAsOurs (issue #14 §3, its last paragraph): the README's other migration path,
// done live with pcs inside a node. The lab is set up by CFEngine's HA guide with the stock
// agent (`lab up --seed --agent stock`: cfpgsql is ocf:heartbeat:pgsql), a healthy pair, the
// audited writer running. The admin reads the resource's options (`pcs resource config
// --output-format=cmd`, pcs 0.11's commands that re-create it) and the constraints, deletes
// cfpgsql (its promotable clone and constraints go with it), creates it again as
// ocf:cfengine:pgsql with the same options, operations and clone, adds the guide's constraints
// again and enables the clone. Asserted: the same configuration but the agent, a healthy pair
// again (the same primary where possible: recorded), the guide's attributes and CFEngine's
// role probe, no acknowledged commit lost on the final primary, no failed operation left.
// Recorded: the downtime (the writer's longest gap, and the delete to the first acknowledged
// commit after it) and what the stock agent's stop did with PGSQL.lock. The stock agent's stop
// of a primary keeps the lock while a standby runs (both stop in the delete's transition), so
// ours refuses the old primary's start: recorded with the admin's step (the lock removed on the
// old primary, `pcs resource cleanup`), and asserted that the refusal names the lock. A second
// run, on a fresh lab, removes the lock between the delete and the enable: no step after it.
func TestLabRecreateAsOurs(t *testing.T) {
	if agents := labAgents(); !slices.Contains(agents, "ours") || !slices.Contains(agents, "stock") {
		t.Skip("needs LAB_AGENTS with stock and ours")
	}
	// The path without a word about the lock; then with the lock removed before the enable.
	for _, lockFirst := range []bool{false, true} {
		subtest(t, map[bool]string{false: "as-written", true: "lock-removed-first"}[lockFirst], func(t T) {
			if lockFirst && os.Getenv("CI") == "true" {
				t.Skip("CI runs the path as written only (its 30-minute budget); make test and make lab run both")
			}
			labRecreate(t, lockFirst)
		})
	}
}

// labRecreate is one re-create on a lab of its own; lockFirst: the admin removes the stock
// agent's PGSQL.lock on the old primary between the delete and the enable.
func labRecreate(t T, lockFirst bool) {
	l, _ := startSeededLab(t, "stock")
	rec := l.record(t, "recreate-as-ours")
	rec.set("lock_removed_before_enable", lockFirst)
	primary, standby := l.caughtUpPair(t)
	l.waitHealthyAttributes(t, primary, standby)
	rec.set("primary_before", primary)

	// What the admin reads first: the resource as pcs commands, and the constraints.
	config := l.mustRun(t, primary, "pcs", "resource", "config", "--output-format=cmd", labGuideClone)
	constraints := l.mustRun(t, primary, "pcs", "constraint")
	create, err := recreateCommands(config)
	if err != nil {
		t.Fatal(err)
	}
	rec.set("pcs_resource_config_cmd", config)

	w := l.startAuditedWriter("recreate")
	if !labWait(20*time.Second, func() bool { _, ok := w.firstAckAfter(w.began); return ok }) {
		t.Fatalf("the writer got no commit acknowledged within 20 s:\n%s", l.statusText())
	}
	// pcs stops the clone (the stock agent's demote and stops) before it deletes it.
	deleted := time.Now()
	l.mustRun(t, primary, "pcs", "resource", "delete", labRsc)
	stopped := time.Now()
	rec.set("delete_s", labSeconds(stopped.Sub(deleted)))
	lockAfterStop := map[string]bool{primary: l.lockPresent(primary), standby: l.lockPresent(standby)}
	rec.set("lock_after_stock_stop", lockAfterStop)
	t.Logf("PGSQL.lock after the stock agent's stop: %v", lockAfterStop)
	if lockFirst && lockAfterStop[primary] {
		l.mustRun(t, primary, "rm", "-f", l.pgTmp+"/PGSQL.lock")
	}

	commands := append(create, guideCommands(l, "Cluster resource configuration, 4")...)
	commands = append(commands, "pcs resource enable "+labGuideClone)
	for _, c := range commands {
		l.mustRun(t, primary, "bash", "-e", "-c", c)
	}
	rec.set("recreate_commands", commands)
	rec.set("delete_to_enabled_s", labSeconds(time.Since(deleted)))

	if steps := recreateRecover(t, l, rec, primary); lockFirst && len(steps) > 0 {
		t.Errorf("with the lock removed before the enable, the admin still had to: %v", steps)
	}
	primaryAfter, standbyAfter := l.healthyPair(t)
	rec.set("delete_to_healthy_s", labSeconds(time.Since(deleted)))
	rec.set("primary_after", primaryAfter)
	rec.set("same_primary", primaryAfter == primary)
	// The downtime: from the delete to the first commit acknowledged of an attempt begun after
	// the delete had stopped the resource; and the writer's longest gap.
	if labWait(20*time.Second, func() bool { _, ok := w.firstAckAfter(stopped); return ok }) {
		first, _ := w.firstAckAfter(stopped)
		rec.set("delete_to_first_ack_s", labSeconds(first.Sub(deleted)))
	} else {
		t.Errorf("no commit acknowledged within 20 s of the healthy pair after the re-create:\n%s", l.statusText())
	}
	time.Sleep(2 * time.Second) // a few more commits on the final primary
	w.stop()
	rec.set("longest_gap_s", labSeconds(w.longestGap()))

	// The same configuration, but the agent.
	if got, want := l.mustRun(t, primaryAfter, "pcs", "resource", "config", "--output-format=cmd", labGuideClone),
		strings.ReplaceAll(config, stockAgentType, oursAgentType); got != want {
		t.Errorf("the re-created resource differs from the old one but for the agent:\nnow:\n%s\nwant:\n%s", got, want)
	}
	if got := l.mustRun(t, primaryAfter, "pcs", "constraint"); got != constraints {
		t.Errorf("constraints after the re-create:\n%s\nbefore:\n%s", got, constraints)
	}
	l.waitHealthyAttributes(t, primaryAfter, standbyAfter)
	rec.set("cfengine_role_probe", l.haCfgProbe(t, primaryAfter, standbyAfter))
	m := l.mustMon(t, "")
	for _, n := range []string{primaryAfter, standbyAfter} {
		if f := m.pgsqlFailures(n); len(f) > 0 {
			t.Errorf("%s: failed operations left: %+v", n, f)
		}
	}
	rec.set("attributes", map[string]map[string]string{primaryAfter: m.attrs(primaryAfter), standbyAfter: m.attrs(standbyAfter)})

	notes, err := l.nodeNotes(primaryAfter, w.prefix)
	if err != nil {
		t.Fatal(err)
	}
	audit := auditWriterNotes(w.prefix, w.ackedIDs, notes)
	rec.set("audit", audit)
	if len(audit.Missing) > 0 || audit.Acked == 0 {
		t.Errorf("%d of %d acknowledged commits missing on the final primary %s: %v", len(audit.Missing), audit.Acked, primaryAfter, audit.Missing)
	}
	rec.requireFields(t, "lock_after_stock_stop", "delete_to_first_ack_s", "longest_gap_s", "primary_after")
}

const (
	stockAgentType = "ocf:heartbeat:pgsql"
	oursAgentType  = "ocf:cfengine:pgsql"
)

// recreateCommands turns `pcs resource config --output-format=cmd` of the promotable clone
// into the admin's commands: the same, the agent ours, the primitive created disabled (as the
// guide creates it) so that it does not start before it is promotable.
func recreateCommands(config string) ([]string, error) {
	var commands []string
	for _, c := range strings.Split(config, ";\n") {
		if c = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c), ";")); c == "" {
			continue
		}
		if strings.HasPrefix(c, "pcs resource create ") {
			if !strings.Contains(c, " "+stockAgentType+" ") {
				return nil, fmt.Errorf("the resource is not %s:\n%s", stockAgentType, c)
			}
			c = strings.Replace(c, " "+stockAgentType+" ", " "+oursAgentType+" ", 1)
			c = strings.Replace(c, "pcs resource create ", "pcs resource create --disable ", 1)
		}
		commands = append(commands, c)
	}
	if len(commands) < 2 {
		return nil, fmt.Errorf("pcs resource config --output-format=cmd: want the create and promotable commands:\n%s", config)
	}
	return commands, nil
}

// guideCommands is the text of one of the guide's steps, as the seeded lab runs it.
func guideCommands(l *labSession, where string) []string {
	for _, s := range labGuide(l.fencing()) {
		if s.where == where {
			want, _, _ := guideExpected([]guideStep{s})
			return guideLines(want[0].text)
		}
	}
	l.t.Fatalf("the guide has no step %q", where)
	return nil
}

// recreateRecover waits for the re-created resource to give a healthy pair. When the start is
// refused (the stock agent's PGSQL.lock, kept by its stop), it records the refusal and whether
// it names the lock, then does the admin's steps, which it returns: the lock removed on the
// node that was primary, whose data is the newest (the stock agent's clean stop), and `pcs
// resource cleanup`.
func recreateRecover(t T, l *labSession, rec *labRecord, oldPrimary string) (steps []string) {
	t.Helper()
	began := time.Now()
	var m labMon
	labWait(90*time.Second, func() bool {
		if _, _, _, ok := l.waitHealthyPair(0); ok {
			return true
		}
		var err error
		if m, err = l.mon(""); err != nil {
			return false
		}
		for _, n := range []string{"node1", "node2"} {
			if len(m.pgsqlFailures(n)) > 0 && m.settled(n) {
				return true
			}
		}
		return false
	})
	rec.set("recreated_to_verdict_s", labSeconds(time.Since(began)))
	if _, _, _, ok := l.waitHealthyPair(0); ok {
		rec.set("admin_steps", []string{})
		return nil
	}
	m = l.mustMon(t, "")
	var refusals []string
	for _, n := range []string{"node1", "node2"} {
		for _, f := range m.pgsqlFailures(n) {
			refusals = append(refusals, fmt.Sprintf("%s %s %s: %s", n, f.Task, f.ExitStatus, labOr(f.ExitReason, "(no exit reason)")))
		}
	}
	rec.set("refusals", refusals)
	rec.set("promoted_before_admin", m.promoted())
	t.Logf("no healthy pair %.1f s after the re-create; refusals: %v\n%s", time.Since(began).Seconds(), refusals, l.statusText())
	if l.lockPresent(oldPrimary) {
		lock := l.pgTmp + "/PGSQL.lock"
		names := slices.ContainsFunc(refusals, func(r string) bool { return strings.Contains(r, lock) })
		rec.set("refusal_names_lock", names)
		if !names {
			t.Errorf("%s keeps the stock agent's %s, but no refusal names it: %v", oldPrimary, lock, refusals)
		}
		// crm_mon shows the shell agent's message; ours logs the cause beside it.
		rec.set("log_names_shell_agents_lock", l.pacemakerLogHas(oldPrimary, "an empty lock, as the shell agent wrote it"))
		steps = append(steps, "rm "+lock+" on "+oldPrimary)
		l.mustRun(t, oldPrimary, "rm", "-f", lock)
	}
	steps = append(steps, "pcs resource cleanup "+labRsc)
	l.mustRun(t, oldPrimary, "pcs", "resource", "cleanup", labRsc)
	rec.set("admin_steps", steps)
	rec.note("the re-created resource did not give a healthy pair by itself; the admin's steps: %s", strings.Join(steps, "; "))
	return steps
}
