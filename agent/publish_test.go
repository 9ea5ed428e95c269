package agent

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
)

func quietLogger() *Logger { return NewLogger(LogSettings{}, io.Discard) }

// cf is the attribute catalogue of a resource named cfpgsql.
var cf = attrNames{resource: "cfpgsql"}

// TestPublisherWritesOnlyChanges: a steady-state monitor writes nothing; a remembered value
// is trusted for a while, then read back (not rewritten); a probe trusts nothing it remembers.
func TestPublisherWritesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	store := &crmattr.Fake{}
	dir := t.TempDir()
	clock := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	open := func(trust bool) *publisher {
		p := newPublisher(store, "cfpgsql", dir, trust, quietLogger())
		p.now = func() time.Time { return clock }
		return p
	}

	p := open(true)
	if changed, err := p.set(ctx, "node1", cf.Status(), "PRI"); err != nil || !changed {
		t.Fatalf("first set: changed=%v err=%v", changed, err)
	}
	if _, err := p.score(ctx, "node1", ScorePromoteMe); err != nil {
		t.Fatal(err)
	}
	p.save()
	writes := store.Writes()

	// The next action on this node: the same values are neither written nor read.
	p = open(true)
	for i := 0; i < 3; i++ {
		if changed, _ := p.set(ctx, "node1", cf.Status(), "PRI"); changed {
			t.Error("an unchanged value was written")
		}
		if changed, _ := p.score(ctx, "node1", ScorePromoteMe); changed {
			t.Error("an unchanged score was written")
		}
	}
	if store.Writes() != writes {
		t.Errorf("steady state wrote %d times", store.Writes()-writes)
	}

	// An attribute known to be absent is reported absent (not as a marker value).
	if err := p.remove(ctx, "node1", cf.XlogLoc()); err != nil {
		t.Fatal(err)
	}
	if v, found, _ := p.current(ctx, "node1", cf.XlogLoc()); found || v != "" {
		t.Errorf("absent attribute read as %q found=%v", v, found)
	}

	// Something else cleared the attribute (Pacemaker restarted on the node): after
	// recheckAfter the publisher notices and writes it again.
	_ = store.Delete(ctx, "node1", "cfpgsql-status", crmattr.Reboot)
	p.save()
	clock = clock.Add(recheckAfter + time.Second)
	p = open(true)
	if changed, _ := p.set(ctx, "node1", cf.Status(), "PRI"); !changed {
		t.Error("a cleared attribute was not rewritten after the recheck interval")
	}

	// A probe reads before it writes, whatever it remembers.
	_ = store.Delete(ctx, "node1", "cfpgsql-status", crmattr.Reboot)
	p = open(false)
	if changed, _ := p.set(ctx, "node1", cf.Status(), "PRI"); !changed {
		t.Error("a probe trusted a remembered value")
	}
}

// TestPublisherUntrustingActionReplacesTheMemory: node2 remembers it set its own data-status
// LATEST as primary; node1, primary since, set it STREAMING|ASYNC. An action that does not
// trust the memory (here one that touches nothing) replaces it, so that when node2 is
// promoted again its LATEST is written (the full-cluster restart then found node2 not LATEST
// and promoted the other node).
func TestPublisherUntrustingActionReplacesTheMemory(t *testing.T) {
	ctx := context.Background()
	store := &crmattr.Fake{}
	dir := t.TempDir()
	monitor := newPublisher(store, "cfpgsql", dir, true, quietLogger())
	if _, err := monitor.set(ctx, "node2", cf.DataStatus(), "LATEST"); err != nil {
		t.Fatal(err)
	}
	monitor.save()
	_ = store.Set(ctx, "node2", "cfpgsql-data-status", "STREAMING|ASYNC", crmattr.Forever) // node1's monitor

	newPublisher(store, "cfpgsql", dir, false, quietLogger()).save() // e.g. the demote's notification
	promoted := newPublisher(store, "cfpgsql", dir, true, quietLogger())
	if changed, _ := promoted.set(ctx, "node2", cf.DataStatus(), "LATEST"); !changed {
		t.Error("a remembered LATEST hid node1's write")
	}
}

// TestPublisherNeverSkipsALoweringWrite (issue #10, defect 2): another node rewrote what this
// node remembers. A write that lowers promotability goes through whatever the memory says,
// and a remembered absence is read again; a write that raises may be saved by the memory.
func TestPublisherNeverSkipsALoweringWrite(t *testing.T) {
	ctx := context.Background()
	store := &crmattr.Fake{}
	dir := t.TempDir()
	open := func() *publisher { return newPublisher(store, "cfpgsql", dir, true, quietLogger()) }

	p := open()
	if _, err := p.score(ctx, "node2", ScoreCannotPromote); err != nil {
		t.Fatal(err)
	}
	if _, err := p.set(ctx, "node2", cf.DataStatus(), dataDisconnect); err != nil {
		t.Fatal(err)
	}
	p.save()
	// The standby raised itself and a primary wrote it streaming: this node's memory is stale.
	_ = store.SetPromotionScore(ctx, "cfpgsql", "node2", ScoreCanPromote)
	_ = store.Set(ctx, "node2", cf.DataStatus().Name, dataStreamingAsyn, crmattr.Forever)

	p = open()
	if changed, err := p.score(ctx, "node2", ScoreCannotPromote); err != nil || !changed {
		t.Errorf("lowering the score: changed=%v err=%v; the stale memory suppressed it", changed, err)
	}
	if got, _, _ := store.GetPromotionScore(ctx, "cfpgsql", "node2"); got != ScoreCannotPromote {
		t.Errorf("node2's score is %q, want -INFINITY", got)
	}
	if changed, _ := p.set(ctx, "node2", cf.DataStatus(), dataDisconnect); !changed {
		t.Error("DISCONNECT was not written over a stale memory")
	}

	// A remembered absence is not trusted: the score node3 created since is seen.
	p = open()
	if _, found, _ := p.current(ctx, "node3", cf.Score()); found {
		t.Fatal("node3 has no score yet")
	}
	p.save()
	_ = store.SetPromotionScore(ctx, "cfpgsql", "node3", ScoreCanPromote)
	p = open()
	if v, found, _ := p.current(ctx, "node3", cf.Score()); !found || v != ScoreCanPromote {
		t.Errorf("node3's score read as %q found=%v; a remembered absence was trusted", v, found)
	}

	// Raising or keeping may still be saved by the memory (that is what keeps monitors cheap).
	p = open()
	_, _ = p.set(ctx, "node2", cf.Status(), StatusAsync)
	p.save()
	_ = store.Set(ctx, "node2", cf.Status().Name, StatusAlone, crmattr.Reboot)
	p = open()
	if changed, _ := p.set(ctx, "node2", cf.Status(), StatusAsync); changed {
		t.Error("a non-lowering write was not saved by a fresh memory")
	}
}
