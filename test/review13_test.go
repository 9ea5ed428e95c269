package test

import (
	"fmt"
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
