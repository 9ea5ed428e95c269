package test

import (
	"slices"
	"strings"
	"testing"
	"time"
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

func TestFaultTableCells(t *testing.T) {
	faults := labFaults()[:2]
	results := []faultResult{
		{Fault: "1", Agent: "ours", Run: 1, Recovered: true, Outcome: "new primary; other node stopped after a failure", WritableS: 7, Acked: 100, Lost: 2, LongestGapS: 7.5,
			ExitReasons: []string{"start error: PGSQL.lock exists"}},
		{Fault: "1", Agent: "ours", Run: 2, Recovered: false, Outcome: "no recovery", WritableS: -1, Acked: 50, Lost: -1, TwoWriters: 3},
		{Fault: "1", Agent: "ours", Run: 3, Recovered: true, Outcome: "new primary; other node stopped after a failure", WritableS: 9, Acked: 10},
	}
	table := faultTable(results, []string{"ours", "paf"}, faults)
	for _, want := range []string{
		"| fault | ours | paf |", "recovered 2/3", "writable 8 (7–9) s", "lost 2 of 160 acked (1 runs unknown)",
		"two writers 1", "new primary; other node stopped after a failure ×2", "`start error: PGSQL.lock exists` ×1", "not run |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if got := faultStats([]float64{3, 1, 2}); got != "2 (1–3)" {
		t.Errorf("faultStats = %q", got)
	}
}
