package agent

import (
	"slices"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
)

// TestUnfencedNodes (review 18): a stopped node counts as fenced only as crm_mon shows a fenced
// node, offline and clean (Pacemaker 2.1.5: node_state in_ccm=false crmd=offline join=down
// expected=down, history erased). Unclean is a node lost and not fenced yet; online is a node
// whose loss this node's CIB replica has not recorded yet (it trails the DC's: the loss record
// is a diff of its own, and a replica that failed to apply one serves its old copy until the
// DC resyncs it), so crm_mon shows it online and clean; absent is no record at all.
func TestUnfencedNodes(t *testing.T) {
	view := crmattr.ClusterView{
		Online:         map[string]bool{"node2": false, "node3": true, "node4": false},
		Unclean:        []string{"node4"},
		StonithEnabled: true,
	}
	got := unfencedNodes(view, []string{"node2", "node3", "node4", "node5"})
	if want := []string{"node3", "node4", "node5"}; !slices.Equal(got, want) {
		t.Errorf("unfenced %v, want %v: node2 offline and clean is fenced; node3 online (a replica that has not recorded its loss), node4 unclean, node5 unknown to crm_mon are not", got, want)
	}
}
