package labkit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/test/labreport"
)

// The audited writer's statistics (issue #12 §2), without a lab.
func TestAuditWriterNotes(t *testing.T) {
	notes := []string{"p-0", "p-1", "p-1", "p-3", "p-4", "other-2", "p-x"}
	a := auditWriterNotes("p", []int{0, 1, 2, 3}, notes)
	if a.Acked != 4 || !slices.Equal(a.Missing, []int{2}) || a.Duplicates != 1 || a.Unacked != 1 {
		t.Errorf("audit = %+v, want 4 acked, missing [2], 1 duplicate, 1 unacknowledged (p-4)", a)
	}
	if got := maxAckedPresent("p", []int{0, 1, 2, 3}, notes); got != 3 {
		t.Errorf("maxAckedPresent = %d, want 3 (4 was never acknowledged)", got)
	}
	if got := maxAckedPresent("p", []int{5}, notes); got != -1 {
		t.Errorf("maxAckedPresent without any = %d, want -1", got)
	}
}

func TestWriterLongestGap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, c := range []struct {
		acks []time.Time
		end  float64
		want time.Duration
	}{
		{nil, 5, 5 * time.Second},
		{[]time.Time{at(1), at(1.5), at(8)}, 9, 6500 * time.Millisecond},
		{[]time.Time{at(1), at(2)}, 12, 10 * time.Second}, // the tail counts: no ack until the stop
	} {
		if got := writerLongestGap(t0, at(c.end), c.acks); got != c.want {
			t.Errorf("gap(%v, end %v) = %v, want %v", c.acks, c.end, got, c.want)
		}
	}
}

// The drivers' faults are the reports' catalogue (test/labreport), in its order, and the
// crm_attribute shim does what faults 4 and 12 say it does.
func TestLabFaultsFollowTheCatalogue(t *testing.T) {
	var ids, want []string
	for _, f := range labFaults() {
		ids = append(ids, f.ID)
		if f.inject == nil || f.timeout <= 0 {
			t.Errorf("fault %s has no inject or timeout", f.ID)
		}
	}
	for _, f := range labreport.Faults() {
		want = append(want, f.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("labFaults ids %v, catalogue %v", ids, want)
	}
	for id, mode := range map[string]shimMode{"4": shimFails, "12": shimHangs} {
		if f := describedFault(id); !strings.HasPrefix(f.What, "crm_attribute "+mode.what()+" for ") {
			t.Errorf("fault %s: %q, but the shim %s", id, f.What, mode.what())
		}
	}
}

// labctl refuses fault lists naming no fault before it starts a lab.
func TestUnknownFaults(t *testing.T) {
	if got := UnknownFaults([]string{"1", "primary-kill", "15", "standby-wal-full"}, true); len(got) != 0 {
		t.Errorf("known ids and names reported unknown: %q", got)
	}
	if got := UnknownFaults([]string{"1", "99", "primary-kil"}, true); !slices.Equal(got, []string{"99", "primary-kil"}) {
		t.Errorf("unknown entries: %q, want [99 primary-kil]", got)
	}
	if got := UnknownFaults([]string{"6", "primary-kill"}, false); !slices.Equal(got, []string{"primary-kill"}) {
		t.Errorf("by id only: %q, want [primary-kill]", got)
	}
}
