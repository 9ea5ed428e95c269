package crmattr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Review 8, finding 3. design.md I6 says the retries of failed crm_attribute calls are bounded
// by a quarter of the action's time (Retry.Budget). pause only checks the time spent so far
// plus the next pause, not the next attempt, which may itself run for a whole crm_attr_timeout
// (a hung attrd: the per-call timeout kills it, exit -1, retryable). With crm_attr_timeout 5 s
// (the default) and a 20 s monitor (Budget 18 s, retry budget 4.5 s), one hung call retried
// once spends 5.1 s after its first failure; here, scaled down, 0.3 s allowed, 0.9 s spent.
func TestReview8RetryTimeExceedsItsBudget(t *testing.T) {
	const perCall = 800 * time.Millisecond
	hung := func(ctx context.Context, _ []string) ([]byte, int, error) {
		select {
		case <-time.After(perCall): // the per-call timeout kills crm_attribute
		case <-ctx.Done():
		}
		return nil, -1, errors.New("signal: killed")
	}
	retry := &Retry{Budget: 300 * time.Millisecond}
	cli := &CLI{Run: hung, Retry: retry}
	began := time.Now()
	if err := cli.Set(context.Background(), "node1", "x", "1", Reboot); err == nil {
		t.Fatal("Set passed although every call hung")
	}
	retried := time.Since(began) - perCall // the first attempt is not a retry
	if retried > retry.Budget+100*time.Millisecond {
		t.Errorf("retries took %v after the first failure, budget %v", retried.Round(10*time.Millisecond), retry.Budget)
	}
}
