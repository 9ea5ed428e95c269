package agent

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// monDoc renders a minimal crm_mon --output-as=xml document.
func monDoc(stonith bool, nodes ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<pacemaker-result api-version="2.25" request="crm_mon"><summary><cluster_options stonith-enabled="%v"/></summary><nodes>`, stonith)
	for _, n := range nodes {
		b.WriteString(n)
	}
	b.WriteString(`</nodes><status code="0" message="OK"/></pacemaker-result>`)
	return []byte(b.String())
}

func r22Replica(t *testing.T, self string, nodeList []string, demote []string, fake *crmattr.Fake, tools crmattr.RunFunc) *replica {
	log := NewLogger(LogSettings{}, io.Discard)
	a := &Agent{Env: Env{Instance: "pgsql:0", Action: "promote", Notify: Notification{Present: true, Demote: demote, Promote: []string{self}}},
		Attrs: fake, Tools: tools, Log: log}
	return &replica{a: a, self: self, names: attrNames{resource: "pgsql"},
		c:   Config{TmpDir: t.TempDir(), NodeList: nodeList, RepMode: RepAsync},
		pub: newPublisher(fake, "pgsql", "", false, log)}
}

// Review 22, finding 4: the promote rule says a node listed as demoted without a mark is excused only when crm_mon
// shows it offline and clean. A demoted node the notification names but node_list spells
// differently (Pacemaker unames are FQDNs, node_list short names) is never even looked at:
// marks are keyed by node_list, PromoteDemands iterates marks, offlineUnproven skips
// names without a marks entry. crm_mon here shows node1.example.com UNCLEAN.
func TestReview22DemotedNodeOutsideNodeListIsExcused(t *testing.T) {
	var calls atomic.Int32
	tools := func(ctx context.Context, argv []string) ([]byte, int, error) {
		calls.Add(1)
		return monDoc(true,
			`<node name="node1.example.com" online="false" unclean="true"/>`,
			`<node name="node2.example.com" online="true" unclean="false"/>`), 0, nil
	}
	r := r22Replica(t, "node2.example.com", []string{"node1", "node2"}, []string{"node1.example.com"}, &crmattr.Fake{}, tools)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	st := pgctl.LocalState{InRecovery: true}
	demands, err := r.awaitDemotedPrimaries(ctx, &st)
	if err == nil {
		t.Errorf("promote allowed (demands %v, crm_mon calls %d): node1.example.com was listed as demoted, published no mark and crm_mon shows it UNCLEAN", demands, calls.Load())
	}
}

// Review 22, finding 1: requires=quorum, the fence of node1 takes 3.5 s (a normal fence_ipmilan power-off).
// The promote has 60 s of budget, but the agent gives up after 3 s and refuses; with
// migration-threshold=1 (README, the lab) the refusal bans this node: the failover that is
// legitimate 0.5 s later never happens on it.
func TestReview22FenceSlowerThanThreeSecondsRefused(t *testing.T) {
	start := time.Now()
	tools := func(ctx context.Context, argv []string) ([]byte, int, error) {
		unclean := time.Since(start) < 3500*time.Millisecond
		return monDoc(true,
			fmt.Sprintf(`<node name="node1" online="false" unclean="%v"/>`, unclean),
			`<node name="node2" online="true" unclean="false"/>`), 0, nil
	}
	r := r22Replica(t, "node2", []string{"node1", "node2"}, []string{"node1"}, &crmattr.Fake{}, tools)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := pgctl.LocalState{InRecovery: true}
	if _, err := r.awaitDemotedPrimaries(ctx, &st); err != nil {
		t.Errorf("refused after %.1fs with %.0fs of budget left: %v", time.Since(start).Seconds(), time.Until(deadlineOf(ctx)).Seconds(), err)
	}
}

// Review 22, finding 2: one failed crm_mon at the first call (exit 102, the CIB connection dropped for a
// moment) refuses at once, although later calls within the same 3 s would show node1 fenced;
// a failure after the first call is tolerated (readFencedView keeps the view it had).
func TestReview22FirstCrmMonFailureRefusesAtOnce(t *testing.T) {
	var calls atomic.Int32
	tools := func(ctx context.Context, argv []string) ([]byte, int, error) {
		if calls.Add(1) == 1 {
			return nil, 102, nil
		}
		return monDoc(true, `<node name="node1" online="false" unclean="false"/>`, `<node name="node2" online="true" unclean="false"/>`), 0, nil
	}
	r := r22Replica(t, "node2", []string{"node1", "node2"}, []string{"node1"}, &crmattr.Fake{}, tools)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := pgctl.LocalState{InRecovery: true}
	if _, err := r.awaitDemotedPrimaries(ctx, &st); err != nil {
		t.Errorf("refused after %d crm_mon call(s), node1 fenced from the second call on: %v", calls.Load(), err)
	}
}

// Review 22, finding 3: node1 was demoted after promotion #3 (its mark says so), promoted
// again as #4, and its removal of its own mark failed (acknowledgeHandovers only warns), or it
// crashed before it. Lost while primary, its fence pending (requires=quorum: crm_mon shows it
// UNCLEAN), it is listed as demoted in node2's promote: the old mark must not pass for a
// demote of its run as #4's primary, so crm_mon decides, and node2 refuses.
func TestReview22StaleOwnMarkDoesNotExcuseALostPrimary(t *testing.T) {
	var calls atomic.Int32
	tools := func(ctx context.Context, argv []string) ([]byte, int, error) {
		calls.Add(1)
		return monDoc(true, `<node name="node1" online="false" unclean="true"/>`, `<node name="node2" online="true" unclean="false"/>`), 0, nil
	}
	fake := &crmattr.Fake{}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	ran4 := PromoteChain{{Node: "node1", OldTLI: 2, Fork: 0x6000000, NewTLI: 3, Seq: 4}}
	for name, value := range map[string]string{
		"pgsql-demoted-lsn":   DemoteMark{Point: WALPoint{Timeline: 2, LSN: 0x5000028}, Seq: 3}.Attribute(),
		"pgsql-promote-point": ran4.Attribute(),
	} {
		if err := fake.Set(ctx, "node1", name, value, crmattr.Forever); err != nil {
			t.Fatal(err)
		}
	}
	r := r22Replica(t, "node2", []string{"node1", "node2"}, []string{"node1"}, fake, tools)
	st := pgctl.LocalState{InRecovery: true, Timeline: 3, ReplayLSN: 0x7000000}
	demands, err := r.awaitDemotedPrimaries(ctx, &st)
	if err == nil || !strings.Contains(err.Error(), "promoted since") {
		t.Errorf("promote allowed or refused for another reason (demands %v, crm_mon calls %d, error %v): node1's mark is from before its promotion #4 and crm_mon shows it UNCLEAN", demands, calls.Load(), err)
	}
	if calls.Load() == 0 {
		t.Errorf("crm_mon was not asked about node1")
	}
}

// The pre-promote guard stands down only for a hand-over (handsOver): a mark of node1's
// latest run as primary. The same mark once node1 was promoted again (#4) is no hand-over,
// and the guard must compare this node with the promotee (second review of issue #13,
// session 6; review 22, finding 3).
func TestHandsOverOnlyForAMarkOfTheLatestRun(t *testing.T) {
	ctx := context.Background()
	mark := DemoteMark{Point: WALPoint{Timeline: 2, LSN: 0x5000028}, Seq: 3}.Attribute()
	for _, tc := range []struct {
		latest uint64
		want   bool
	}{{3, true}, {4, false}} {
		fake := &crmattr.Fake{}
		point := PromoteChain{{Node: "node1", OldTLI: 2, Fork: 0x6000000, NewTLI: 3, Seq: tc.latest}}.Attribute()
		if err := fake.Set(ctx, "node1", "pgsql-demoted-lsn", mark, crmattr.Forever); err != nil {
			t.Fatal(err)
		}
		if err := fake.Set(ctx, "node1", "pgsql-promote-point", point, crmattr.Forever); err != nil {
			t.Fatal(err)
		}
		r := r22Replica(t, "node3", []string{"node1", "node2", "node3"}, []string{"node1"}, fake, nil)
		if got := r.handsOver(ctx, []string{"node1"}); got != tc.want {
			t.Errorf("mark %s, latest promotion #%d: handsOver %v, want %v", mark, tc.latest, got, tc.want)
		}
	}
}
