package agent

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
)

func quietLogger() *Logger { return NewLogger(LogSettings{}, io.Discard) }

// TestPublisherWritesOnlyChanges: a steady-state monitor writes nothing; a remembered value
// is trusted for a while, then read back (not rewritten); a probe trusts nothing it remembers.
func TestPublisherWritesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	store := &crmattr.Fake{}
	dir := t.TempDir()
	clock := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	open := func(trust bool) *publisher {
		p := newPublisher(store, "cfpgsql", "node1", dir, trust, quietLogger())
		p.now = func() time.Time { return clock }
		return p
	}

	p := open(true)
	if changed, err := p.set(ctx, "node1", "cfpgsql-status", "PRI", crmattr.Reboot); err != nil || !changed {
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
		if changed, _ := p.set(ctx, "node1", "cfpgsql-status", "PRI", crmattr.Reboot); changed {
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
	if err := p.remove(ctx, "node1", "cfpgsql-xlog-loc", crmattr.Reboot); err != nil {
		t.Fatal(err)
	}
	if v, found, _ := p.current(ctx, "node1", "cfpgsql-xlog-loc", crmattr.Reboot); found || v != "" {
		t.Errorf("absent attribute read as %q found=%v", v, found)
	}

	// Something else cleared the attribute (Pacemaker restarted on the node): after
	// recheckAfter the publisher notices and writes it again.
	_ = store.Delete(ctx, "node1", "cfpgsql-status", crmattr.Reboot)
	p.save()
	clock = clock.Add(recheckAfter + time.Second)
	p = open(true)
	if changed, _ := p.set(ctx, "node1", "cfpgsql-status", "PRI", crmattr.Reboot); !changed {
		t.Error("a cleared attribute was not rewritten after the recheck interval")
	}

	// A probe reads before it writes, whatever it remembers.
	_ = store.Delete(ctx, "node1", "cfpgsql-status", crmattr.Reboot)
	p = open(false)
	if changed, _ := p.set(ctx, "node1", "cfpgsql-status", "PRI", crmattr.Reboot); !changed {
		t.Error("a probe trusted a remembered value")
	}
}

// TestPublisherRereadsAnotherNodesAbsence: a standby creates its own score at start. The
// primary saw no score there a moment before; had it trusted that absence for recheckAfter,
// it would have left the new standby unpromotable for a minute (seen in the lab, sync mode).
func TestPublisherRereadsAnotherNodesAbsence(t *testing.T) {
	ctx := context.Background()
	store := &crmattr.Fake{}
	primary := newPublisher(store, "cfpgsql", "node1", t.TempDir(), true, quietLogger())
	if _, found, _ := primary.current(ctx, "node2", "master-cfpgsql", crmattr.Reboot); found {
		t.Fatal("a score before anyone set it")
	}
	if err := store.SetPromotionScore(ctx, "cfpgsql", "node2", ScoreCannotPromote); err != nil { // node2's start
		t.Fatal(err)
	}
	if v, found, _ := primary.current(ctx, "node2", "master-cfpgsql", crmattr.Reboot); !found || v != ScoreCannotPromote {
		t.Errorf("node2's own new score read as %q found=%v", v, found)
	}
	if changed, _ := primary.score(ctx, "node2", ScoreCanPromote); !changed {
		t.Error("the primary did not raise node2's score")
	}

	// This node's own absent attributes stay remembered: no read in steady state.
	if err := primary.remove(ctx, "node1", "cfpgsql-xlog-loc", crmattr.Reboot); err != nil {
		t.Fatal(err)
	}
	_ = store.Set(ctx, "node1", "cfpgsql-xlog-loc", "stray", crmattr.Reboot)
	if _, found, _ := primary.current(ctx, "node1", "cfpgsql-xlog-loc", crmattr.Reboot); found {
		t.Error("the remembered absence of this node's own attribute was read again")
	}
}

// TestPublisherForgetsARestartedNode: the primary remembers it set node2 HS:async; node2's
// own stop and start then set STOP and HS:alone. After the start notification the primary
// reads node2's status again and sets HS:async at once (not a minute later).
func TestPublisherForgetsARestartedNode(t *testing.T) {
	ctx := context.Background()
	store := &crmattr.Fake{}
	primary := newPublisher(store, "cfpgsql", "node1", t.TempDir(), true, quietLogger())
	if _, err := primary.set(ctx, "node2", "cfpgsql-status", "HS:async", crmattr.Reboot); err != nil {
		t.Fatal(err)
	}
	_ = store.Set(ctx, "node2", "cfpgsql-status", "HS:alone", crmattr.Reboot) // node2 restarted
	if changed, _ := primary.set(ctx, "node2", "cfpgsql-status", "HS:async", crmattr.Reboot); changed {
		t.Fatal("the test assumes the remembered value hides node2's own write")
	}
	primary.forget("node2")
	if changed, _ := primary.set(ctx, "node2", "cfpgsql-status", "HS:async", crmattr.Reboot); !changed {
		t.Error("after forget the primary did not correct node2's status")
	}
	if v, _, _ := store.Get(ctx, "node2", "cfpgsql-status", crmattr.Reboot); v != "HS:async" {
		t.Errorf("node2's status %q", v)
	}
}
