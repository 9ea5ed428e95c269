package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// runExplain runs `pgsql-ra explain ARGS` by hand: parameters as OCF_RESKEY_* (nil: none),
// the node from on_node, the cluster tools pointed at cib. It fails the test unless rc 0.
func runExplain(t *testing.T, cib, node, rundir string, params map[string]string, args ...string) result {
	t.Helper()
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CIB_file=" + cib, "HA_RSCTMP=" + rundir,
		"OCF_RESKEY_CRM_meta_on_node=" + node}
	if params != nil {
		env = append(env, "OCF_RESOURCE_INSTANCE=pgsqltest")
		for k, v := range params {
			env = append(env, "OCF_RESKEY_"+k+"="+v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, agentBinary(t), append([]string{"explain"}, args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		t.Fatalf("explain %v on %s: %v\nstdout:\n%s\nstderr:\n%s", args, node, err, res.Stdout, res.Stderr)
	}
	return res
}

// stateDigest fingerprints what the agent may write on a node besides PostgreSQL's own files:
// tmpdir (lock, rep_mode.conf, recovery.conf...), HA_RSCTMP (the attribute memory), and the
// configuration files in pgdata. A running PostgreSQL rewrites WAL and pg_control by itself,
// so the rest of pgdata is compared only on a stopped node (treeDigest of the whole tree).
func stateDigest(t *testing.T, c *cluster) string {
	t.Helper()
	parts := []string{treeDigest(t, filepath.Join(c.Dir, "tmp")), treeDigest(t, filepath.Join(c.Dir, "run-ra"))}
	entries, _ := os.ReadDir(c.PgData)
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".conf") || strings.HasSuffix(e.Name(), ".signal") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b, _ := os.ReadFile(filepath.Join(c.PgData, n))
		parts = append(parts, fmt.Sprintf("%s %x", n, b))
	}
	return strings.Join(parts, "\n")
}

// TestExplainChangesNothing (issue #13 §2): `pgsql-ra explain` on a primary, on its streaming
// standby and on the stopped standby shows role, positions, the primary's view and the
// answers, as text and as JSON, and changes nothing: the CIB file is byte for byte the same,
// and so is every file the agent writes (the whole data directory of the stopped node).
// --resource reads the parameters from the CIB.
func TestExplainChangesNothing(t *testing.T) {
	r := promotedRig(t, "async")
	standby := newStandbyOf(t, r.c, primaryHost)
	node2 := r.peer(standby, "node2")
	node2.must(t, 0, "start")
	waitReceived(t, r.c, standby)
	r.must(t, 8, "monitor")
	node2.must(t, 0, "monitor")
	if got := r.attr(t, "node2", scoreAttr, "reboot"); got != "100" {
		t.Fatalf("node2 not promotable while streaming: %q", got)
	}
	run1, run2 := filepath.Join(r.c.Dir, "run-ra"), filepath.Join(standby.Dir, "run-ra")
	cibBefore, _ := os.ReadFile(r.cib)
	before1, before2 := stateDigest(t, r.c), stateDigest(t, standby)

	primary := runExplain(t, r.cib, "node1", run1, r.params)
	for _, want := range []string{"role:      primary", "timeline 2", "node2      streaming async", "STREAMING|ASYNC 100",
		"promotable: yes", "start would be refused: yes", "would rejoin automatically: unknown, because PostgreSQL runs here"} {
		if !strings.Contains(primary.Stdout, want) {
			t.Errorf("explain on the primary lacks %q:\n%s", want, primary.Stdout)
		}
	}
	var e struct {
		Role     string `json:"role"`
		Standbys []struct {
			Node       string `json:"node"`
			Promotable bool   `json:"promotable"`
		} `json:"standbys"`
		Answers []struct{ Question, Verdict string } `json:"answers"`
	}
	asJSON := runExplain(t, r.cib, "node1", run1, r.params, "--json")
	if err := json.Unmarshal([]byte(asJSON.Stdout), &e); err != nil {
		t.Fatalf("explain --json: %v\n%s", err, asJSON.Stdout)
	}
	if e.Role != "primary" || len(e.Standbys) != 1 || e.Standbys[0].Node != "node2" || !e.Standbys[0].Promotable || len(e.Answers) != 3 {
		t.Errorf("explain --json on the primary: %+v", e)
	}

	onStandby := runExplain(t, r.cib, "node2", run2, node2.params)
	for _, want := range []string{"role:      standby", "WAL receiver streaming", "received (flushed) 0/",
		"promotable: yes, because its score is 100", "start would be refused: no"} {
		if !strings.Contains(onStandby.Stdout, want) {
			t.Errorf("explain on the standby lacks %q:\n%s", want, onStandby.Stdout)
		}
	}
	if cibAfter, _ := os.ReadFile(r.cib); !bytes.Equal(cibBefore, cibAfter) {
		t.Error("explain changed the CIB")
	}
	if after := stateDigest(t, r.c); after != before1 {
		t.Errorf("explain changed the primary's files:\nbefore\n%s\nafter\n%s", before1, after)
	}
	if after := stateDigest(t, standby); after != before2 {
		t.Errorf("explain changed the standby's files:\nbefore\n%s\nafter\n%s", before2, after)
	}

	// A stopped node: its whole tree stays the same.
	node2.must(t, 0, "stop")
	cibBefore, _ = os.ReadFile(r.cib)
	whole := treeDigest(t, standby.Dir)
	stopped := runExplain(t, r.cib, "node2", run2, node2.params)
	for _, want := range []string{"role:      stopped", "control:   shut down in recovery", "promotable: no",
		"start would be refused: no, because no PGSQL.lock", "WAL end:   last record",
		"would rejoin automatically: yes, because no PGSQL.lock and the start would go on as a standby: this node's last record"} {
		if !strings.Contains(stopped.Stdout, want) {
			t.Errorf("explain on the stopped standby lacks %q:\n%s", want, stopped.Stdout)
		}
	}
	if after := treeDigest(t, standby.Dir); after != whole {
		t.Error("explain changed files of the stopped node")
	}
	if cibAfter, _ := os.ReadFile(r.cib); !bytes.Equal(cibBefore, cibAfter) {
		t.Error("explain changed the CIB (stopped node)")
	}

	// --resource: the parameters come from the CIB's primitive, nothing from OCF_RESKEY_*.
	var nvpairs strings.Builder
	keys := make([]string, 0, len(r.params))
	for k := range r.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&nvpairs, `<nvpair id="pgsqltest-%s" name="%s" value="%s"/>`, k, k, r.params[k])
	}
	r.crmCIBAdmin(t, "--create", "--scope", "resources", "--xml-text",
		`<primitive id="pgsqltest" class="ocf" provider="cfengine" type="pgsql"><instance_attributes id="pgsqltest-ia">`+
			nvpairs.String()+`</instance_attributes></primitive>`)
	cibBefore, _ = os.ReadFile(r.cib)
	byName := runExplain(t, r.cib, "node1", run1, nil, "--resource", "pgsqltest")
	for _, want := range []string{"resource pgsqltest on node node1", "role:      primary", "promotable: yes"} {
		if !strings.Contains(byName.Stdout, want) {
			t.Errorf("explain --resource lacks %q:\n%s\n%s", want, byName.Stdout, byName.Stderr)
		}
	}
	if cibAfter, _ := os.ReadFile(r.cib); !bytes.Equal(cibBefore, cibAfter) {
		t.Error("explain --resource changed the CIB")
	}
}

// crmCIBAdmin runs the real cibadmin on the rig's CIB file (test setup).
func (r *replicationRig) crmCIBAdmin(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("cibadmin", args...)
	cmd.Env = []string{"CIB_file=" + r.cib, "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cibadmin %v: %v: %s", args, err, out)
	}
}
