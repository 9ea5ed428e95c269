package agent

import (
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

var pgctlControlHints = pgctl.ControlData{WALLogHints: true}

// Third review of issue #13 (session 6): JudgeRewind accepted a pg_rewind fork earlier than the proven one
// (the source's history left this node's timeline before the promotion the proof names:
// not that promotion's primary), and a fork on another timeline than the proof's.
func TestJudgeRewindRefusesAnotherFork(t *testing.T) {
	d := Divergence{Fork: PromotePoint{"node2", 3, 0x5000580, 4, 7, false}, To: 0x5000680, Timeline: 3}
	for _, out := range []string{
		// pg_rewind found the histories part 80 MB before node2's fork
		"pg_rewind: servers diverged at WAL location 0/100000 on timeline 1\npg_rewind: rewinding from last common checkpoint at 0/FF000 on timeline 1\npg_rewind: Done!\n",
		// at the proven LSN but on timeline 2, not 3
		"pg_rewind: servers diverged at WAL location 0/5000580 on timeline 2\npg_rewind: rewinding from last common checkpoint at 0/4000000 on timeline 2\npg_rewind: Done!\n",
	} {
		for _, dry := range []bool{true, false} {
			o := JudgeRewind(RewindRun{DryRun: dry, Output: out}, d)
			if o.OK {
				t.Errorf("dry=%v accepted (%s): output %q", dry, o.Why, out)
			}
		}
	}
}

// A split-brain demote's lock ("node2 is primary too: this node's data may have diverged",
// promote_seq kept: handover.go says this node's recent writes exist nowhere else) was
// rewound like any other proof (third review of issue #13, session 6): it must stay.
func TestDecideRewindKeepsASplitBrainLock(t *testing.T) {
	const fork = 0x5000580
	p6 := PromotePoint{"node1", 2, 0x4000000, 3, 6, false}
	p7 := PromotePoint{"node2", 3, fork, 4, 7, false}
	lock := LockInfo{Fields: map[string]string{"event": lockEventDiverged, "promote_seq": "6",
		"reason": "node2 is primary too: this node's data may have diverged"}}
	f := RejoinFacts{Self: "node1", AutoRejoin: true, Locked: true, Lock: lock,
		Own:    WALEnd{Known: true, Timeline: 3, Last: fork + 0x100000, LastLow: fork + 0x100000, RanAsPrimary: true, Source: "test"},
		Points: map[string]AttrRead{"node2": {Value: PromoteChain{p7, p6}.Attribute(), Found: true}, "node1": {}}}
	plan := DecideRejoin(f)
	rw := DecideRewind(RewindFacts{Mode: RewindAuto, Rejoin: f, Plan: plan, Control: &pgctlControlHints})
	if rw.Rewind {
		t.Errorf("split-brain lock rewound: %s", rw.Why)
	}
}
