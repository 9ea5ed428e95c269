package crmattr

import (
	"context"
	"errors"
	"testing"
)

func TestFakeRoundTrip(t *testing.T) {
	ctx := context.Background()
	var f Fake
	if _, found, err := f.Get(ctx, "node1", "cfpgsql-status", Reboot); found || err != nil {
		t.Fatalf("Get on empty fake: found=%v err=%v", found, err)
	}
	if err := f.Set(ctx, "node1", "cfpgsql-status", "STOP", Reboot); err != nil {
		t.Fatal(err)
	}
	if value, found, err := f.Get(ctx, "node1", "cfpgsql-status", Reboot); value != "STOP" || !found || err != nil {
		t.Errorf("Get = %q, %v, %v; want STOP", value, found, err)
	}
	// Lifetimes and nodes are separate namespaces.
	if _, found, _ := f.Get(ctx, "node1", "cfpgsql-status", Forever); found {
		t.Error("Forever attribute found after a Reboot write")
	}
	if _, found, _ := f.Get(ctx, "node2", "cfpgsql-status", Reboot); found {
		t.Error("node2 attribute found after a node1 write")
	}
	if err := f.Delete(ctx, "node1", "cfpgsql-status", Reboot); err != nil {
		t.Fatal(err)
	}
	if _, found, err := f.Get(ctx, "node1", "cfpgsql-status", Reboot); found || err != nil {
		t.Errorf("Get after Delete: found=%v err=%v", found, err)
	}
	if err := f.Delete(ctx, "node1", "cfpgsql-status", Reboot); err != nil {
		t.Errorf("Delete of a missing attribute: %v", err)
	}
}

func TestFakePromotionScoreIsTheMasterAttribute(t *testing.T) {
	ctx := context.Background()
	var f Fake
	if err := f.SetPromotionScore(ctx, "cfpgsql", "node2", "-INFINITY"); err != nil {
		t.Fatal(err)
	}
	if score, found, err := f.GetPromotionScore(ctx, "cfpgsql", "node2"); score != "-INFINITY" || !found || err != nil {
		t.Errorf("GetPromotionScore = %q, %v, %v", score, found, err)
	}
	if value, _, _ := f.Get(ctx, "node2", PromotionAttrName("cfpgsql"), Reboot); value != "-INFINITY" {
		t.Errorf("master-cfpgsql = %q", value)
	}
	if err := f.SetPromotionScore(ctx, "", "node2", "100"); err == nil {
		t.Error("empty resource accepted")
	}
}

func TestFakeWritesCountsOnlyChanges(t *testing.T) {
	ctx := context.Background()
	var f Fake
	steps := []struct {
		name  string
		write func() error
		want  int
	}{
		{"create", func() error { return f.Set(ctx, "node1", "a", "1", Forever) }, 1},
		{"same value", func() error { return f.Set(ctx, "node1", "a", "1", Forever) }, 1},
		{"new value", func() error { return f.Set(ctx, "node1", "a", "2", Forever) }, 2},
		{"score", func() error { return f.SetPromotionScore(ctx, "rsc", "node1", "100") }, 3},
		{"same score", func() error { return f.SetPromotionScore(ctx, "rsc", "node1", "100") }, 3},
		{"delete", func() error { return f.Delete(ctx, "node1", "a", Forever) }, 4},
		{"delete missing", func() error { return f.Delete(ctx, "node1", "a", Forever) }, 4},
		{"rejected", func() error { _ = f.Set(ctx, "", "a", "1", Forever); return nil }, 4},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := f.Writes(); got != step.want {
			t.Errorf("after %s: Writes() = %d, want %d", step.name, got, step.want)
		}
	}
}

func TestFakeFailNext(t *testing.T) {
	ctx := context.Background()
	var f Fake
	boom := errors.New("boom")
	f.FailNext(boom)
	if err := f.Set(ctx, "node1", "a", "1", Reboot); !errors.Is(err, boom) {
		t.Fatalf("first call: err = %v, want boom", err)
	}
	if f.Writes() != 0 {
		t.Error("failed call counted as a write")
	}
	if _, found, err := f.Get(ctx, "node1", "a", Reboot); found || err != nil {
		t.Errorf("second call: found=%v err=%v; want the failed Set to have changed nothing", found, err)
	}
}
