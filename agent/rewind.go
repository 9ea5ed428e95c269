package agent

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// rewind=auto (issue #13 §1; docs/design.md §5 "Rejoin"): a start whose evidence proves
// divergence (DecideRejoin: Proven) may bring this node back with pg_rewind from the current
// primary instead of refusing. Whether it may is DecideRewind, a pure function of the
// rejoin decision and this node's control data; what pg_rewind's run proves is JudgeRewind.
// The effect (the lock, pg_rewind, the node's configuration) is rewindrun.go's.

// The values of the rewind parameter.
const (
	RewindNever = "never"
	RewindAuto  = "auto"
)

// RewindFacts are what DecideRewind decides on.
type RewindFacts struct {
	Mode    string             // the rewind parameter
	Rejoin  RejoinFacts        // what DecideRejoin decided on
	Plan    RejoinPlan         // DecideRejoin's verdict on this start
	Control *pgctl.ControlData // this node's control data (nil: pg_controldata failed)
}

// RewindPlan is DecideRewind's verdict: rewind, or refuse with Reason (the exit reason).
type RewindPlan struct {
	Rewind bool
	Why    string // for the log
	Reason string
}

// DecideRewind decides whether a refused start may rewind instead. Only a refusal on proof
// of divergence is rewound: a lock kept for want of evidence stays (what pg_rewind would
// discard is then not known). pg_rewind finds where two histories part by their timelines
// (the history files): every promotion of the chain must have switched to a new timeline
// (pg_promote()). One that kept its timeline (restart_on_promote) hides its fork from it:
// pg_rewind would answer "no rewind required", or keep WAL the primary lacks, and PostgreSQL
// would then replay the primary's WAL over this node's diverged data files. Its target needs
// wal_log_hints or data checksums, as the node last ran (pg_controldata).
func DecideRewind(f RewindFacts) RewindPlan {
	d := f.Plan.Diverged
	switch {
	case !f.Plan.Proven || d == nil:
		return RewindPlan{Why: "no proof of divergence: nothing to rewind", Reason: f.Plan.Reason}
	case f.Mode != RewindAuto:
		return RewindPlan{Why: fmt.Sprintf("rewind=%s: only a base backup brings this node back", f.Mode), Reason: f.Plan.Reason}
	}
	refuse := func(why, reason string) RewindPlan {
		return RewindPlan{Why: "rewind=auto cannot help: " + why, Reason: "no rewind: " + reason + ": PGSQL.lock kept, take a base backup"}
	}
	switch {
	case f.Rejoin.Locked && f.Rejoin.Lock.Fields["event"] == lockEventDiverged:
		// A split-brain demote's lock, or one taken without a clean shutdown: this node's
		// recent writes may exist nowhere else, and pg_rewind would discard the only copy
		// (third review of issue #13, session 6). An admin decides.
		return refuse("the lock says this node's data diverged ("+labelOr(f.Rejoin.Lock.Fields["reason"], "split brain or no clean shutdown")+"): its writes past the fork may exist nowhere else",
			"a diverged lock: its writes may exist nowhere else")
	case !f.Rejoin.Own.Known:
		// Proven on lower bounds only: a crash recovery before pg_rewind would end at the
		// WAL pg_wal holds, short of what the data files already hold (third review).
		return refuse("this node's end of WAL is not known exactly ("+f.Rejoin.Own.Problem+")", "end of WAL not known exactly")
	}
	for _, p := range d.Chain {
		switch {
		case !p.Exact():
			return refuse(p.String()+": its timeline is not known", fmt.Sprintf("%s's promotion #%d not confirmed", p.Node, p.Seq))
		case p.NewTLI == p.OldTLI:
			return refuse(fmt.Sprintf("%s kept its timeline, and pg_rewind finds a fork only where a timeline switches", p),
				fmt.Sprintf("%s's promotion #%d kept timeline %d (restart_on_promote)", p.Node, p.Seq, p.OldTLI))
		}
	}
	switch {
	case f.Control == nil:
		return refuse("this node's control data was not read: whether it has wal_log_hints or data checksums is not known",
			"wal_log_hints/checksums unknown (pg_controldata failed)")
	case !f.Control.Rewindable():
		return refuse("this node ran with wal_log_hints=off and without data checksums, which pg_rewind needs",
			"wal_log_hints=off and no data checksums")
	}
	return RewindPlan{Rewind: true, Why: fmt.Sprintf("rewind=auto: pg_rewind from the primary would discard this node's WAL from %s's fork at %s to %s on timeline %d (%d bytes or more)",
		d.Fork.Node, d.Fork.Fork, d.To, d.Timeline, d.Bytes())}
}

// SourceCheck is what the server at master_ip answered before pg_rewind (rewindrun.go):
// pgctl.QuerySource's state, or why it could not be asked.
type SourceCheck struct {
	State pgctl.SourceState
	Err   error
}

// JudgeSource decides whether the server at master_ip may be pg_rewind's source: it must be
// a primary (not in recovery) writing on the timeline the latest promotion of the evidence
// created (d.Chain[0], which DecideRewind required exact and a timeline switch). The dry
// run's fork proves only that the source's history parts from this node's at the proven
// fork; a standby of that history, or the old primary of another, could show the same fork.
// Strict: a later timeline is refused too, though it may descend from the latest promotion:
// a promotion that published no point is one the evidence does not cover (Pacemaker starts
// no instance while a promotion runs, and every promotion publishes its point before it
// promotes). Every refusal keeps the lock and names what the server is.
func JudgeSource(c SourceCheck, d Divergence) RewindPlan {
	if len(d.Chain) == 0 {
		return RewindPlan{Why: "no promotion to compare the source with", Reason: "no rewind (PGSQL.lock kept): the evidence names no current primary"}
	}
	k := d.Chain[0]
	promotion := fmt.Sprintf("%s's promotion #%d", k.Node, k.Seq)
	// why for the log, reason (at most 128 bytes, what Pacemaker keeps) for the exit reason.
	refuse := func(why, reason string) RewindPlan {
		return RewindPlan{Why: "pg_rewind's source refused: " + why, Reason: "no rewind (PGSQL.lock kept): " + reason}
	}
	switch st := c.State; {
	case c.Err != nil:
		return refuse("cannot check the primary at master_ip: "+c.Err.Error(), "cannot check master_ip: "+c.Err.Error())
	case st.InRecovery:
		return refuse(fmt.Sprintf("the server at master_ip is a standby (in recovery), not the primary of %s", promotion),
			fmt.Sprintf("the server at master_ip is a standby, not %s's primary", k.Node))
	case st.Timeline == 0:
		return refuse("the server at master_ip did not say which timeline it writes", "master_ip did not say its timeline")
	case st.Timeline < k.NewTLI:
		return refuse(fmt.Sprintf("the server at master_ip writes timeline %d, older than timeline %d of %s: it is not the current primary",
			st.Timeline, k.NewTLI, promotion),
			fmt.Sprintf("master_ip is on timeline %d, not %d (%s): not the current primary", st.Timeline, k.NewTLI, promotion))
	case st.Timeline > k.NewTLI:
		return refuse(fmt.Sprintf("the server at master_ip writes timeline %d, past timeline %d of %s, the latest the evidence knows: a later promotion published no point",
			st.Timeline, k.NewTLI, promotion),
			fmt.Sprintf("master_ip is on timeline %d, past %d (%s): a promotion published no point", st.Timeline, k.NewTLI, promotion))
	}
	return RewindPlan{Rewind: true, Why: fmt.Sprintf("the server at master_ip is a primary on timeline %d, %s", c.State.Timeline, promotion)}
}

// RewindRun is what a pg_rewind run left.
type RewindRun struct {
	DryRun   bool // pg_rewind --dry-run, which changes nothing
	Output   string
	ExitCode int
	Err      error // it could not run, or the deadline ended it
}

// RewindOutcome is JudgeRewind's verdict.
type RewindOutcome struct {
	OK bool
	// Touched: pg_rewind may have changed this node's data files; after a failure only a base
	// backup repairs them.
	Touched bool
	At      pgctl.LSN // where pg_rewind found the histories part (0: not reported)
	Why     string    // for the log
	Reason  string    // the exit reason when not OK
}

// What pg_rewind prints: where it found the histories part ("WAL location" from 10 on,
// "WAL position" in 9.6), and the line after which it starts changing the target ("This is
// the point of no return").
var (
	rewindDiverged  = regexp.MustCompile(`servers diverged at WAL (?:location|position) ([0-9A-Fa-f]+/[0-9A-Fa-f]+) on timeline (\d+)`)
	rewindRewinding = "rewinding from last common checkpoint"
)

// JudgeRewind reads a pg_rewind run against the divergence DecideRejoin proved. It succeeded
// when it exited 0 after rewinding from a point at or before the fork this node's WAL is
// proven to pass; a point past it would keep WAL the primary lacks, and "no rewind required"
// contradicts the proof: both keep the lock. A dry run (which the start makes first, before
// it changes anything) succeeds on the same terms and touches nothing whatever its end.
func JudgeRewind(run RewindRun, d Divergence) RewindOutcome {
	var o RewindOutcome
	var tli uint32
	if m := rewindDiverged.FindStringSubmatch(run.Output); m != nil {
		o.At, _ = pgctl.ParseLSN(m[1])
		if n, err := strconv.ParseUint(m[2], 10, 32); err == nil {
			tli = uint32(n)
		}
	}
	o.Touched = strings.Contains(run.Output, rewindRewinding) && !run.DryRun
	msg := rewindMessage(run)
	fork := fmt.Sprintf("%s's fork at %s", d.Fork.Node, d.Fork.Fork)
	switch {
	case run.DryRun && (run.Err != nil || run.ExitCode != 0):
		o.Why = "pg_rewind --dry-run failed: " + msg
		o.Reason = "no rewind (PGSQL.lock kept): " + msg
	case run.DryRun && o.At != 0 && (o.At != d.Fork.Fork || tli != d.Fork.OldTLI):
		// Any other point than the proven fork means the server at master_ip does not hold
		// the history the proof was made against (third review of issue #13, session 6).
		o.Why = fmt.Sprintf("pg_rewind --dry-run finds the histories part at %s on timeline %d, not at %s on timeline %d: the source is not the history the evidence names", o.At, tli, fork, d.Fork.OldTLI)
		o.Reason = fmt.Sprintf("no rewind: pg_rewind's fork %s is not %s (PGSQL.lock kept)", o.At, fork)
	case (run.Err != nil || run.ExitCode != 0) && o.Touched:
		o.Why = "pg_rewind failed while rewinding; the data directory is unusable: " + msg
		o.Reason = "pg_rewind failed midway, take a base backup (PGSQL.lock kept): " + msg
	case run.Err != nil || run.ExitCode != 0:
		o.Why = "pg_rewind failed before changing the data files: " + msg
		o.Reason = "no rewind (PGSQL.lock kept): " + msg
	case o.At == 0 || !strings.Contains(run.Output, rewindRewinding):
		o.Why = fmt.Sprintf("pg_rewind found nothing to rewind (%s), yet this node's WAL reaches %s past %s", msg, d.To, fork)
		o.Reason = fmt.Sprintf("pg_rewind found no divergence, yet WAL to %s past %s: PGSQL.lock kept", d.To, fork)
	case o.At != d.Fork.Fork || tli != d.Fork.OldTLI:
		o.Why = fmt.Sprintf("pg_rewind rewound from %s on timeline %d, not from %s on timeline %d: the data directory follows another history than the evidence names", o.At, tli, fork, d.Fork.OldTLI)
		o.Reason = fmt.Sprintf("pg_rewind's fork %s is not %s: take a base backup (PGSQL.lock kept)", o.At, fork)
	case run.DryRun:
		o.OK = true
		o.Why = fmt.Sprintf("pg_rewind --dry-run: servers diverged at %s, at or before %s", o.At, fork)
	default:
		o.OK = true
		o.Why = fmt.Sprintf("pg_rewind discarded this node's WAL from %s to %s on timeline %d (%d bytes or more; pg_rewind: servers diverged at %s): %s",
			fork, d.To, d.Timeline, d.Bytes(), o.At, msg)
	}
	return o
}

// rewindMessage is the line of pg_rewind's output that says most: its first error, else its
// last line.
func rewindMessage(run RewindRun) string {
	lines := strings.Split(strings.TrimSpace(run.Output), "\n")
	msg := strings.TrimSpace(lines[len(lines)-1])
	for _, line := range lines {
		if _, rest, ok := strings.Cut(line, "error: "); ok {
			msg = strings.TrimSpace(rest)
			break
		}
		if _, rest, ok := strings.Cut(line, "fatal: "); ok {
			msg = strings.TrimSpace(rest)
			break
		}
	}
	switch {
	case run.Err != nil && msg != "":
		return run.Err.Error() + " (" + msg + ")"
	case run.Err != nil:
		return run.Err.Error()
	case run.ExitCode != 0 && msg == "":
		return "exit status " + strconv.Itoa(run.ExitCode)
	}
	return strings.TrimPrefix(msg, "pg_rewind: ")
}

func labelOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
