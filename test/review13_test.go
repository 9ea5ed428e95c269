package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newWriteFault is a toolFault (see newToolFault) that refuses only the crm_attribute calls
// that update name on node (the agent passes --node, --name, then --update=<value>): its
// queries, and every other call, go to the real tool.
func newWriteFault(t *testing.T, node, name string) toolFault {
	t.Helper()
	dir := t.TempDir()
	real := "/usr/sbin/crm_attribute"
	copyPath := filepath.Join(dir, "real-crm_attribute")
	copyExecutable(t, real, copyPath)
	f := toolFault{Log: filepath.Join(dir, "refused.log")}
	script := fmt.Sprintf(`#!/bin/sh
case " $* " in *" --node=%s --name=%s --update="*) ;; *) exec %s "$@";; esac
echo "$*" >> %s
echo 'crm_attribute: refused by the test' >&2
exit 1
`, node, name, shellQuote(copyPath), shellQuote(f.Log))
	shim := filepath.Join(dir, "crm_attribute")
	writeExecutable(t, shim, script)
	f.Wrapper = []string{"unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", `mount --bind "$0" "$1" && shift && exec "$@"`, shim, real}
	return f
}

// Review 13 (docs/design.md §3, promote; §7): review 11 moved every refusal it knew of
// before the promote's first write, but one stayed after it: the promote writes every other
// node DISCONNECT (and lowers its score) and only then publishes its pending promote point,
// and refuses when that write fails ("cannot publish <rsc>-promote-point"). attrd refusing
// that one write (the CIB busy, crm_attr_timeout: issue #12) then costs the crashed primary
// node1, which holds the newest data, its LATEST, and with it its start as a locked standby,
// exactly as the tmpdir refusal did before review 11. A promote that publishes no point must
// leave the other nodes as they were.
func TestReview13PromoteRefusedForAnUnwritablePointChangesNothing(t *testing.T) {
	r, _, node2, transition := crashedPrimaryTransition(t)
	r.must(t, 0, "demote", transition...)
	r.must(t, 0, "stop", transition...)
	if got := r.attr(t, "node1", "pgsqltest-data-status", "forever"); got != "LATEST" {
		t.Fatalf("node1's data-status before node2's promote is %q, want LATEST", got)
	}
	fault := newWriteFault(t, "node2", "pgsqltest-promote-point")
	refused := node2.runThrough(t, fault.Wrapper, "promote", transition...)
	if reasons := refused.reasons(); refused.RC != 1 || len(reasons) != 1 || !strings.Contains(reasons[0], "promote-point") {
		t.Fatalf("promote with node2's promote point unwritable: rc %d, reasons %q; want 1 naming the promote point\n%s", refused.RC, reasons, refused.Stderr)
	}
	if len(fault.refused(t)) == 0 {
		t.Fatal("the fault refused no call: the test proves nothing")
	}
	if got := r.attr(t, "node1", "pgsqltest-data-status", "forever"); got != "LATEST" {
		t.Errorf("the promote refused for an unwritable promote point changed node1's data-status from LATEST to %q", got)
	}
	startLockedStandby(t, r)
	r.must(t, 0, "stop")
	node2.must(t, 0, "stop")
}

// Review 13 (docs/design.md §7): the probe before the promote's first write looks at tmpdir
// only, not at what stands at PGSQL.lock. A directory there (tmpdir belongs to the postgres
// user, who can make one while the node runs as a standby; safefs never replaces one) passes
// the probe, and the promote is refused only at WriteLock, after it published its pending
// promote point: that point outlives the refusal, and with it node1, the crashed primary with
// the newest data, is no longer the latest promotion its lock names, so its start as a
// locked standby is refused (review 11's harm, by another way). What the lock's write would
// refuse, the probe must refuse before anything is written.
func TestReview13PromoteRefusedForWhatStandsAtTheLockChangesNothing(t *testing.T) {
	r, standby, node2, transition := crashedPrimaryTransition(t)
	r.must(t, 0, "demote", transition...)
	r.must(t, 0, "stop", transition...)
	before := r.promoteRecords(t)
	lock := filepath.Join(node2.params["tmpdir"], "PGSQL.lock")
	if err := os.Mkdir(lock, 0o700); err != nil {
		t.Fatal(err)
	}
	refused := node2.run(t, "promote", transition...)
	if reasons := refused.reasons(); refused.RC != 1 || len(reasons) != 1 || !strings.Contains(reasons[0], "PGSQL.lock") {
		t.Fatalf("promote with a directory at PGSQL.lock: rc %d, reasons %q; want 1 naming PGSQL.lock\n%s", refused.RC, reasons, refused.Stderr)
	}
	if got := strings.TrimSpace(standby.sql(t, "select pg_is_in_recovery()")); got != "t" {
		t.Fatalf("node2 left recovery without its lock (pg_is_in_recovery %q)", got)
	}
	after := r.promoteRecords(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("the promote refused for the directory at PGSQL.lock changed %s from %q to %q", k, v, after[k])
		}
	}
	startLockedStandby(t, r)
	r.must(t, 0, "stop")
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	node2.must(t, 0, "stop")
}
