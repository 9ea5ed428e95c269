package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// rewindCase is a start on evidence (DecideRejoin), then DecideRewind on its plan.
type rewindCase struct {
	name    string
	mode    string
	locked  bool
	own     WALEnd
	chain   PromoteChain
	control *pgctl.ControlData
	rewind  bool
	in      string // in the reason (a refusal) or the log line (a rewind)
}

// TestDecideRewind: only a refusal on proof of divergence is rewound, only with rewind=auto,
// only when every promotion of the chain switched timelines (pg_promote()) and this node has
// wal_log_hints or data checksums. Every other refusal stays as DecideRejoin made it.
func TestDecideRewind(t *testing.T) {
	const fork = pgctl.LSN(0x5000580)
	p6 := PromotePoint{"node1", 2, 0x4000000, 3, 6, false}
	p7 := PromotePoint{"node2", 3, fork, 4, 7, false}
	r6 := PromotePoint{"node1", 3, 0x4000000, 3, 6, false}
	r7 := PromotePoint{"node2", 3, fork, 3, 7, false}
	primary := func(last pgctl.LSN) WALEnd {
		return WALEnd{Known: true, Timeline: 3, Last: last, LastLow: last, RanAsPrimary: true, Source: "test"}
	}
	hints := &pgctl.ControlData{WALLogHints: true}
	sums := &pgctl.ControlData{DataChecksums: true}
	neither := &pgctl.ControlData{}
	promoted6 := LockInfo{Fields: map[string]string{"event": "promoted", "promote_seq": "6"}}
	for _, c := range []rewindCase{
		{"ahead, locked, wal_log_hints", RewindAuto, true, primary(fork + 0x100), PromoteChain{p7, p6}, hints, true, "from node2's fork at 0/5000580 to 0/5000680 on timeline 3 (257 bytes or more)"},
		{"ahead, lock removed, data checksums", RewindAuto, false, primary(fork + 0x100), PromoteChain{p7, p6}, sums, true, "257 bytes"},
		// Proven on lower bounds only: a crash recovery would stop short of what the data
		// files hold (third review of issue #13, session 6).
		{"ahead, crashed standby's minimum recovery point past the fork", RewindAuto, true,
			WALEnd{Timeline: 3, LastLow: 0x4000100, EndLow: fork + 0x40, RanAsPrimary: true, Problem: "pg_waldump failed"}, PromoteChain{p7, p6}, hints, false, "end of WAL not known exactly"},
		{"rewind=never keeps today's refusal", RewindNever, true, primary(fork + 0x100), PromoteChain{p7, p6}, hints, false, "past node2's fork at 0/5000580: PGSQL.lock kept, take a base backup"},
		{"no wal_log_hints, no checksums", RewindAuto, true, primary(fork + 0x100), PromoteChain{p7, p6}, neither, false, "wal_log_hints=off and no data checksums"},
		{"control data not read", RewindAuto, true, primary(fork + 0x100), PromoteChain{p7, p6}, nil, false, "pg_controldata failed"},
		{"restart_on_promote: one timeline", RewindAuto, true, primary(fork + 0x100), PromoteChain{r7, r6}, hints, false, "node2's promotion #7 kept timeline 3 (restart_on_promote)"},
		{"an earlier promotion kept its timeline", RewindAuto, true, primary(fork + 0x100),
			PromoteChain{{"node2", 3, fork, 4, 7, false}, r6}, hints, false, "node1's promotion #6 kept timeline 3"},
		// Not proven: the lock stays for want of evidence, and nothing is rewound.
		{"end of WAL unknown, locked", RewindAuto, true, WALEnd{Problem: "pg_waldump failed"}, PromoteChain{p7, p6}, hints, false, ""},
		{"behind the fork: no refusal to rewind", RewindAuto, true, primary(fork - 8), PromoteChain{p7, p6}, hints, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := RejoinFacts{Self: "node1", AutoRejoin: true, Locked: c.locked, Own: c.own,
				Points: map[string]AttrRead{"node2": {Value: c.chain.Attribute(), Found: true}, "node1": {}}}
			if c.locked {
				f.Lock = promoted6
			}
			plan := DecideRejoin(f)
			got := DecideRewind(RewindFacts{Mode: c.mode, Rejoin: f, Plan: plan, Control: c.control})
			if got.Rewind != c.rewind {
				t.Fatalf("rewind %v (%s; %s), want %v; rejoin plan %+v", got.Rewind, got.Why, got.Reason, c.rewind, plan)
			}
			if !got.Rewind && got.Reason != plan.Reason && plan.Proven && c.mode != RewindAuto {
				t.Errorf("rewind=%s changed the refusal: %q, was %q", c.mode, got.Reason, plan.Reason)
			}
			text := got.Reason
			if got.Rewind {
				text = got.Why
			}
			if !strings.Contains(text, c.in) {
				t.Errorf("%q does not say %q", text, c.in)
			}
			if !got.Rewind && plan.Proven && !strings.Contains(got.Reason, "PGSQL.lock kept") {
				t.Errorf("a refusal on proof that does not say the lock is kept: %q", got.Reason)
			}
		})
	}
}

// TestJudgeRewind: what a pg_rewind run proves, from its output (PostgreSQL 15's words).
func TestJudgeRewind(t *testing.T) {
	d := Divergence{Fork: PromotePoint{"node2", 3, 0x5000580, 4, 7, false}, To: 0x5000680, Timeline: 3}
	const (
		diverged  = "pg_rewind: servers diverged at WAL location 0/5000580 on timeline 3\n"
		rewinding = "pg_rewind: rewinding from last common checkpoint at 0/4000060 on timeline 3\n"
	)
	for _, c := range []struct {
		name        string
		run         RewindRun
		ok, touched bool
		in          string
	}{
		{"done", RewindRun{Output: diverged + rewinding + "pg_rewind: Done!\n"}, true, true, "from node2's fork at 0/5000580 to 0/5000680 on timeline 3 (257 bytes or more; pg_rewind: servers diverged at 0/5000580)"},
		// Any other point than the proven fork: the source is not the history the evidence
		// names (third review of issue #13, session 6).
		{"diverged before the fork", RewindRun{Output: strings.Replace(diverged, "0/5000580", "0/5000100", 1) + rewinding + "pg_rewind: Done!\n"}, false, true, "pg_rewind's fork 0/5000100 is not node2's fork at 0/5000580: take a base backup"},
		{"primary unreachable", RewindRun{ExitCode: 1, Output: "pg_rewind: error: connection to server at \"10.0.0.5\", port 5432 failed: Connection refused\n"},
			false, false, "no rewind (PGSQL.lock kept): connection to server at \"10.0.0.5\", port 5432 failed: Connection refused"},
		{"wal_log_hints off after all", RewindRun{ExitCode: 1, Output: "pg_rewind: error: target server needs to use either data checksums or \"wal_log_hints = on\"\n"},
			false, false, "no rewind (PGSQL.lock kept)"},
		{"failed while copying", RewindRun{ExitCode: 1, Output: diverged + rewinding + "pg_rewind: error: could not open file \"base/5/1259\": Permission denied\n"},
			false, true, "pg_rewind failed midway, take a base backup (PGSQL.lock kept): could not open file"},
		{"deadline while copying", RewindRun{Err: errors.New("pg_rewind did not finish before the deadline"), Output: diverged + rewinding},
			false, true, "failed midway, take a base backup"},
		{"deadline while connecting", RewindRun{Err: errors.New("pg_rewind did not finish before the deadline")}, false, false, "did not finish before the deadline"},
		{"no rewind required", RewindRun{Output: diverged + "pg_rewind: no rewind required\n"}, false, false, "pg_rewind found no divergence, yet WAL to 0/5000680 past node2's fork at 0/5000580"},
		{"same timeline", RewindRun{Output: "pg_rewind: source and target cluster are on the same timeline\npg_rewind: no rewind required\n"}, false, false, "found no divergence"},
		{"rewound from past the fork", RewindRun{Output: strings.Replace(diverged, "0/5000580", "0/5000600", 1) + rewinding + "pg_rewind: Done!\n"},
			false, true, "pg_rewind's fork 0/5000600 is not node2's fork at 0/5000580: take a base backup"},
		// The dry run the start makes first changes nothing, whatever its end.
		{"dry run", RewindRun{DryRun: true, Output: diverged + rewinding + "pg_rewind: Done!\n"}, true, false, "pg_rewind --dry-run: servers diverged at 0/5000580"},
		{"dry run, primary unreachable", RewindRun{DryRun: true, ExitCode: 1, Output: "pg_rewind: error: connection to server at \"10.0.0.5\", port 5432 failed: Connection refused\n"},
			false, false, "no rewind (PGSQL.lock kept): connection to server"},
		{"dry run fails after its rewinding line", RewindRun{DryRun: true, ExitCode: 1, Output: diverged + rewinding + "pg_rewind: error: could not read file\n"}, false, false, "no rewind (PGSQL.lock kept)"},
		{"dry run finds a later divergence", RewindRun{DryRun: true, Output: strings.Replace(diverged, "0/5000580", "0/5000600", 1) + rewinding + "pg_rewind: Done!\n"},
			false, false, "no rewind: pg_rewind's fork 0/5000600 is not node2's fork at 0/5000580 (PGSQL.lock kept)"},
		{"dry run finds no divergence", RewindRun{DryRun: true, Output: "pg_rewind: source and target cluster are on the same timeline\npg_rewind: no rewind required\n"}, false, false, "found no divergence"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := JudgeRewind(c.run, d)
			if o.OK != c.ok || o.Touched != c.touched {
				t.Fatalf("ok %v, touched %v (%s; %s), want %v, %v", o.OK, o.Touched, o.Why, o.Reason, c.ok, c.touched)
			}
			text := o.Reason
			if o.OK {
				text = o.Why
			} else if !strings.Contains(o.Reason, "PGSQL.lock kept") {
				t.Errorf("a failed rewind whose reason does not say the lock is kept: %q", o.Reason)
			}
			if !strings.Contains(text, c.in) {
				t.Errorf("%q does not say %q", text, c.in)
			}
		})
	}
}

// TestJudgeSource: pg_rewind's source must be a primary on the timeline the evidence's
// latest promotion created; anything else is refused with what the server is.
func TestJudgeSource(t *testing.T) {
	d := Divergence{Fork: PromotePoint{"node2", 3, 0x5000580, 4, 7, false}, To: 0x5000680, Timeline: 3,
		Chain: PromoteChain{{"node3", 4, 0x6000000, 5, 8, false}, {"node2", 3, 0x5000580, 4, 7, false}}}
	for _, c := range []struct {
		name  string
		check SourceCheck
		ok    bool
		in    string
	}{
		{"the latest promotion's primary", SourceCheck{State: pgctl.SourceState{Timeline: 5}}, true, "a primary on timeline 5, node3's promotion #8"},
		{"unreachable", SourceCheck{Err: errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")}, false,
			"no rewind (PGSQL.lock kept): cannot check master_ip: dial tcp 10.0.0.5:5432: connect: connection refused"},
		{"a standby", SourceCheck{State: pgctl.SourceState{InRecovery: true}}, false, "the server at master_ip is a standby, not node3's primary"},
		// node2, the fork's promotee, still running as a primary: it holds the proven fork, but
		// not the history of node3's promotion after it.
		{"an older primary", SourceCheck{State: pgctl.SourceState{Timeline: 4}}, false, "master_ip is on timeline 4, not 5 (node3's promotion #8): not the current primary"},
		{"a later timeline", SourceCheck{State: pgctl.SourceState{Timeline: 6}}, false, "master_ip is on timeline 6, past 5 (node3's promotion #8): a promotion published no point"},
		{"no timeline", SourceCheck{}, false, "master_ip did not say its timeline"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := JudgeSource(c.check, d)
			text := p.Reason
			if p.Rewind {
				text = p.Why
			} else if !strings.HasPrefix(p.Reason, "no rewind (PGSQL.lock kept): ") {
				t.Errorf("a refusal that does not say the lock is kept: %q", p.Reason)
			}
			if len(p.Reason) > maxReason {
				t.Errorf("the reason %q is longer than Pacemaker keeps (%d bytes)", p.Reason, maxReason)
			}
			if p.Rewind != c.ok || !strings.Contains(text, c.in) {
				t.Errorf("rewind %v, %q; want %v, saying %q", p.Rewind, text, c.ok, c.in)
			}
		})
	}
	if p := JudgeSource(SourceCheck{State: pgctl.SourceState{Timeline: 5}}, Divergence{}); p.Rewind {
		t.Error("a divergence without a chain accepted a source")
	}
}
