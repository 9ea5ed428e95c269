package agent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// The pre-promote guard (docs/design.md §2), for three nodes or more: when the primary is lost,
// the standby Pacemaker promotes is the synchronous one, but another standby may have
// received more WAL (commits no client saw acknowledged). That standby must not follow the
// new primary: with restart_on_promote=true both share a timeline, so PostgreSQL would splice
// the new primary's WAL onto a history it never had. In the pre-promote notification every
// standby publishes its position; the others compare theirs with the promotee's and a node
// that is ahead stops and locks itself, with a reason, until an admin rebuilds it.

// guardMinNodes: with two nodes there is no third node that could be ahead of the promotee.
const guardMinNodes = 3

// guardWait bounds the wait for the promotee's position; prePromoteFreshness tells a value
// published in this transition from one left by an earlier one. Freshness only decides how
// long to wait, never whether to compare: it reads another node's clock. An older value of
// the promotee is never ahead of its present position (the attribute goes at its start, so
// a rebuilt node publishes anew), and comparing with it can only err toward locking.
const (
	guardWait           = 5 * time.Second
	prePromoteFreshness = time.Minute
)

// MayFollow decides whether a standby at own may follow the node about to be promoted at
// promotee. It must not when it is on a newer timeline, or has WAL beyond the promotee's
// position on any timeline: a standby whose WAL receiver is down reports the timeline of its
// last restartpoint, older than the WAL it received (the simulator found a standby so
// reported "behind" that held WAL the promotee lacked; issue #10).
func MayFollow(own, promotee Position) (bool, string) {
	if own.Timeline > promotee.Timeline || own.LSN > promotee.LSN {
		return false, fmt.Sprintf("has WAL up to %s, the new primary only up to %s", own, promotee)
	}
	return true, fmt.Sprintf("at %s, not ahead of the new primary at %s", own, promotee)
}

// formatPrePromote renders a position with the time it was taken: "<tli>:<lsn>:<unix>".
func formatPrePromote(p Position, at time.Time) string {
	return fmt.Sprintf("%d:%s:%d", p.Timeline, pgctl.LSN(p.LSN).Attribute(), at.Unix())
}

func parsePrePromote(s string) (Position, time.Time, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Position{}, time.Time{}, fmt.Errorf("malformed pre-promote position %q", s)
	}
	tli, err1 := strconv.ParseUint(parts[0], 10, 32)
	lsn, err2 := pgctl.ParseAttributeLSN(parts[1])
	unix, err3 := strconv.ParseInt(parts[2], 10, 64)
	// Only what formatPrePromote writes: no blanks around the LSN, no '+' on the time (#11).
	if err1 != nil || err2 != nil || err3 != nil || len(parts[1]) != 16 || strings.HasPrefix(parts[2], "+") {
		return Position{}, time.Time{}, fmt.Errorf("malformed pre-promote position %q", s)
	}
	return Position{Timeline: uint32(tli), LSN: uint64(lsn)}, time.Unix(unix, 0), nil
}

// prePromoteGuard runs in the pre-promote notification on every node.
func (r *replica) prePromoteGuard(ctx context.Context) {
	n := r.a.Env.Notify
	if len(r.c.NodeList) < guardMinNodes || len(n.Promote) != 1 {
		return
	}
	promotee := n.Promote[0]
	stateCtx, cancel := context.WithDeadline(ctx, time.Now().Add(min(guardWait, time.Until(deadlineOf(ctx))/4)))
	st, err := r.localState(stateCtx)
	cancel()
	if err != nil {
		r.guardUnanswered(ctx, promotee, err)
		return
	}
	if !st.InRecovery {
		return // a primary here: nothing that could follow
	}
	own := Position{Timeline: st.Timeline, LSN: uint64(st.Position())}
	if _, err := r.pub.set(ctx, r.self, r.names.PrePromotePosition(), formatPrePromote(own, time.Now())); err != nil {
		r.a.Log.Warn("cannot publish the pre-promote position", "error", err)
	}
	if promotee == r.self || r.handsOver(ctx, n.Demote) {
		// A switchover: the promote waits for the demoted primary's last WAL, and no standby
		// (the demoted primary included) can be beyond the end of that WAL.
		return
	}
	theirs, ok := r.awaitPrePromotePosition(ctx, promotee)
	if !ok {
		// Nothing proves this node is not ahead: refuse (docs/design.md §1).
		r.leaveDiverged(ctx, own, fmt.Sprintf("%s, about to be promoted, published no position within %s: this node at %s cannot tell whether it is ahead; rebuild it from the new primary", promotee, guardWait, own))
		return
	}
	follow, why := MayFollow(own, theirs)
	if !follow {
		r.leaveDiverged(ctx, own, fmt.Sprintf("this node %s (%s): it cannot follow it; rebuild it from the new primary", why, promotee))
		return
	}
	r.a.Log.Info("pre-promote guard: may follow "+promotee, "why", why)
}

// guardUnanswered: this node's state cannot be read. Not running, or a primary (by
// Pacemaker's list or by the missing standby marker): nothing that could follow. A running
// standby that does not answer cannot prove it is not ahead of the promotee: it is taken
// out like one that is (docs/design.md §2), with the only position it knows, a lower bound
// from its control file, in the lock.
func (r *replica) guardUnanswered(ctx context.Context, promotee string, stateErr error) {
	n := r.a.Env.Notify
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err == nil && !pm.Running {
		return
	}
	if promotee == r.self || Has(n.Promoted, r.self) || !r.layout.IsConfiguredStandby() || r.handsOver(ctx, n.Demote) {
		r.a.Log.Warn("pre-promote guard: cannot read this node's state", "error", stateErr)
		return
	}
	own, known := Position{}, "its position is not known"
	if cd, err := r.server.ReadControlData(ctx); err == nil {
		own = Position{Timeline: cd.CheckpointTLI, LSN: uint64(max(cd.CheckpointLSN, cd.MinRecoveryLSN))}
		known = fmt.Sprintf("its control file puts its WAL at or past %s", own)
	}
	r.leaveDiverged(ctx, own, fmt.Sprintf("PostgreSQL runs as a standby but does not answer (%v): this node cannot tell whether it is ahead of %s, about to be promoted (%s); rebuild it from the new primary",
		stateErr, promotee, known))
}

// handsOver reports whether a node demoted in this transition (this one too) published the
// shutdown checkpoint that ends the cluster's history: a switchover (MarkEndsTheHistory). A
// mark alone is not enough: one left from an earlier transition must not switch the guard
// off (issue #10 review), nor one that outlived a later promotion of the node (review 22,
// finding 3) or of another node (review 26).
func (r *replica) handsOver(ctx context.Context, demoted []string) bool {
	var points map[string]AttrRead
	for _, node := range demoted {
		value, found, err := r.get(ctx, node, r.names.DemotedLSN())
		if err != nil || !found {
			continue
		}
		if points == nil {
			points = r.promotePoints(ctx)
		}
		ends, why := MarkEndsTheHistory(node, AttrRead{Value: value, Found: found}, points)
		if ends {
			return true
		}
		r.a.Log.Info("pre-promote guard: no hand-over", "node", node, "why", why)
	}
	return false
}

// awaitPrePromotePosition waits, bounded, for the position the promotee publishes in the same
// notification round.
// A value that looks older than prePromoteFreshness is used when no newer one comes in time.
func (r *replica) awaitPrePromotePosition(ctx context.Context, node string) (Position, bool) {
	deadline := time.Now().Add(min(guardWait, time.Until(deadlineOf(ctx))/2))
	var older Position
	haveOlder := false
	for {
		if text, found, err := r.get(ctx, node, r.names.PrePromotePosition()); err == nil && found {
			if p, at, err := parsePrePromote(text); err == nil {
				if time.Since(at) < prePromoteFreshness {
					return p, true
				}
				older, haveOlder = p, true
			}
		}
		if time.Now().After(deadline) || !pause(ctx, 100*time.Millisecond) {
			return older, haveOlder
		}
	}
}

// leaveDiverged takes this standby out: not promotable, disconnected, locked with the reason,
// stopped. Pacemaker's next monitor finds it stopped and the start is refused by the lock.
func (r *replica) leaveDiverged(ctx context.Context, own Position, reason string) {
	r.a.Log.Error("pre-promote guard: stopping this standby: " + reason)
	if _, err := r.pub.score(ctx, r.self, ScoreCannotPromote); err != nil {
		r.a.Log.Warn("cannot lower the promotion score", "error", err)
	}
	if _, err := r.pub.set(ctx, r.self, r.names.DataStatus(), dataDisconnect); err != nil {
		r.a.Log.Warn("cannot set data-status", "error", err)
	}
	rec := LockRecord{Event: "diverged", Node: r.self, Timeline: own.Timeline, LSN: pgctl.LSN(own.LSN), At: time.Now(), Reason: reason}
	if err := WriteLock(r.c.TmpDir, rec); err != nil {
		r.a.Log.Error("cannot create the lock", "error", err)
	}
	if _, err := r.stopServer(ctx, r.c.StopEscalateInSlave, 2); err != nil {
		r.a.Log.Error("pre-promote guard: PostgreSQL did not stop", "error", err)
		return
	}
	_ = r.setStatus(ctx, r.self, StatusStopped)
}
