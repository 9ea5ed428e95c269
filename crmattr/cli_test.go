package crmattr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// recorder is a RunFunc that records argv and answers with a canned result.
type recorder struct {
	calls  [][]string
	stdout string
	code   int
	err    error
}

func (r *recorder) run(_ context.Context, argv []string) ([]byte, int, error) {
	r.calls = append(r.calls, argv)
	return []byte(r.stdout), r.code, r.err
}

func TestCLIArgv(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		cli      CLI
		call     func(*CLI) error
		wantArgv []string
	}{
		{
			name:     "get forever",
			call:     func(c *CLI) error { _, _, err := c.Get(ctx, "node1", "cfpgsql-data-status", Forever); return err },
			wantArgv: []string{"crm_attribute", "--lifetime=forever", "--node=node1", "--name=cfpgsql-data-status", "--query", "--quiet"},
		},
		{
			name:     "get reboot with explicit path",
			cli:      CLI{Path: "/usr/sbin/crm_attribute"},
			call:     func(c *CLI) error { _, _, err := c.Get(ctx, "node2", "cfpgsql-status", Reboot); return err },
			wantArgv: []string{"/usr/sbin/crm_attribute", "--lifetime=reboot", "--node=node2", "--name=cfpgsql-status", "--query", "--quiet"},
		},
		{
			name:     "set value with spaces and pipe",
			call:     func(c *CLI) error { return c.Set(ctx, "node1", "cfpgsql-data-status", "STREAMING|SYNC", Forever) },
			wantArgv: []string{"crm_attribute", "--lifetime=forever", "--node=node1", "--name=cfpgsql-data-status", "--update=STREAMING|SYNC"},
		},
		{
			name:     "set negative value",
			call:     func(c *CLI) error { return c.Set(ctx, "node1", "x", "-INFINITY", Reboot) },
			wantArgv: []string{"crm_attribute", "--lifetime=reboot", "--node=node1", "--name=x", "--update=-INFINITY"},
		},
		{
			name:     "delete",
			call:     func(c *CLI) error { return c.Delete(ctx, "node1", "cfpgsql-xlog-loc", Reboot) },
			wantArgv: []string{"crm_attribute", "--lifetime=reboot", "--node=node1", "--name=cfpgsql-xlog-loc", "--delete"},
		},
		{
			name:     "promotion score set",
			call:     func(c *CLI) error { return c.SetPromotionScore(ctx, "cfpgsql", "node2", "-INFINITY") },
			wantArgv: []string{"crm_attribute", "--promotion=cfpgsql", "--node=node2", "--update=-INFINITY"},
		},
		{
			name:     "promotion score get",
			call:     func(c *CLI) error { _, _, err := c.GetPromotionScore(ctx, "cfpgsql", "node2"); return err },
			wantArgv: []string{"crm_attribute", "--promotion=cfpgsql", "--node=node2", "--query", "--quiet"},
		},
		{
			name:     "legacy promotion score set",
			cli:      CLI{LegacyPromotion: true},
			call:     func(c *CLI) error { return c.SetPromotionScore(ctx, "cfpgsql", "node2", "-INFINITY") },
			wantArgv: []string{"crm_attribute", "--lifetime=reboot", "--node=node2", "--name=master-cfpgsql", "--update=-INFINITY"},
		},
		{
			name:     "legacy promotion score get",
			cli:      CLI{LegacyPromotion: true},
			call:     func(c *CLI) error { _, _, err := c.GetPromotionScore(ctx, "cfpgsql", "node2"); return err },
			wantArgv: []string{"crm_attribute", "--lifetime=reboot", "--node=node2", "--name=master-cfpgsql", "--query", "--quiet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			cli := tt.cli
			cli.Run = rec.run
			if err := tt.call(&cli); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(rec.calls) != 1 || !slices.Equal(rec.calls[0], tt.wantArgv) {
				t.Errorf("argv = %q, want one call %q", rec.calls, tt.wantArgv)
			}
		})
	}
}

func TestCLIQueryResults(t *testing.T) {
	runnerErr := errors.New("signal: killed")
	tests := []struct {
		name      string
		rec       recorder
		wantValue string
		wantFound bool
		wantErr   string // substring; "" means no error
	}{
		{name: "value with trailing newline", rec: recorder{stdout: "HS:sync\n"}, wantValue: "HS:sync", wantFound: true},
		{name: "empty value", rec: recorder{stdout: "\n"}, wantValue: "", wantFound: true},
		{name: "missing on pacemaker 2", rec: recorder{code: 105}},
		{name: "missing on pacemaker 1.1", rec: recorder{code: 6}},
		{
			name:    "other exit",
			rec:     recorder{code: 102, stdout: "partial output\n"},
			wantErr: `crm_attribute query node1/cfpgsql-status: ["crm_attribute" "--lifetime=reboot" "--node=node1" "--name=cfpgsql-status" "--query" "--quiet"] exited 102: "partial output"`,
		},
		{name: "runner failure", rec: recorder{err: runnerErr}, wantErr: "crm_attribute query node1/cfpgsql-status: running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := &CLI{Run: tt.rec.run}
			value, found, err := cli.Get(context.Background(), "node1", "cfpgsql-status", Reboot)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.rec.err != nil && !errors.Is(err, tt.rec.err) {
					t.Errorf("err = %v does not wrap the runner's error", err)
				}
				return
			}
			if err != nil || value != tt.wantValue || found != tt.wantFound {
				t.Errorf("Get = %q, %v, %v; want %q, %v, nil", value, found, err, tt.wantValue, tt.wantFound)
			}
		})
	}
}

// The "no such object" exits only mean "not found" for queries; for a write they are failures
// (on 2.1.5 an unknown node exits 105).
func TestCLIWriteExitCodes(t *testing.T) {
	ctx := context.Background()
	for _, code := range []int{105, 6, 1} {
		cli := &CLI{Run: (&recorder{code: code}).run}
		if err := cli.Set(ctx, "nodeX", "a", "b", Forever); err == nil {
			t.Errorf("Set with exit %d: no error", code)
		}
		if err := cli.Delete(ctx, "nodeX", "a", Forever); err == nil {
			t.Errorf("Delete with exit %d: no error", code)
		}
		if err := cli.SetPromotionScore(ctx, "rsc", "nodeX", "100"); err == nil {
			t.Errorf("SetPromotionScore with exit %d: no error", code)
		}
	}
	cli := &CLI{Run: (&recorder{code: 105}).run}
	if score, found, err := cli.GetPromotionScore(ctx, "rsc", "node1"); found || err != nil {
		t.Errorf("GetPromotionScore with exit 105 = %q, %v, %v; want not found", score, found, err)
	}
}

func TestCLIRejectsBadArguments(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(*CLI) error
	}{
		{"empty node", func(c *CLI) error { return c.Set(ctx, "", "a", "b", Reboot) }},
		{"empty name", func(c *CLI) error { _, _, err := c.Get(ctx, "node1", "", Reboot); return err }},
		{"bad lifetime", func(c *CLI) error { return c.Delete(ctx, "node1", "a", "") }},
		{"empty resource", func(c *CLI) error { return c.SetPromotionScore(ctx, "", "node1", "100") }},
		{"promotion empty node", func(c *CLI) error { _, _, err := c.GetPromotionScore(ctx, "rsc", ""); return err }},
		{"legacy empty resource", func(c *CLI) error {
			c.LegacyPromotion = true
			return c.SetPromotionScore(ctx, "", "node1", "100")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			if err := tt.call(&CLI{Run: rec.run}); err == nil {
				t.Error("no error")
			}
			if len(rec.calls) != 0 {
				t.Errorf("ran %q", rec.calls)
			}
		})
	}
}

func TestNewCLIPromotionForm(t *testing.T) {
	tests := []struct {
		featureSet string
		wantLegacy bool
	}{
		{"", false},
		{"3.16.2", false},
		{"3.10.0", false},
		{"3.10", false},
		{"3.9.9", true},
		{"3.0.14", true},
		{"not-a-version", true},
	}
	for _, tt := range tests {
		t.Run(tt.featureSet, func(t *testing.T) {
			if got := NewCLI(nil, tt.featureSet).LegacyPromotion; got != tt.wantLegacy {
				t.Errorf("LegacyPromotion = %v, want %v", got, tt.wantLegacy)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b   string
		want   int
		wantOK bool
	}{
		{"3.10.0", "3.10.0", 0, true},
		{"3.10", "3.10.0", 0, true},
		{"3.9.0", "3.10.0", -1, true},
		{"3.16.2", "3.10.0", 1, true},
		{"3.0.14", "3.10.0", -1, true},
		{"4", "3.99.99", 1, true},
		{"3.10.0.1", "3.10.0", 1, true},
		{"3.x", "3.10.0", 0, false},
		{"", "3.10.0", 0, false},
		{"3.+10", "3.10.0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			got, ok := compareVersions(tt.a, tt.b)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("compareVersions(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// flaky is a RunFunc that fails its first fails calls with exit code failCode, then answers
// with stdout and exit 0.
type flaky struct {
	fails, failCode, calls int
	stdout                 string
}

func (f *flaky) run(context.Context, []string) ([]byte, int, error) {
	f.calls++
	if f.calls <= f.fails {
		return []byte("error"), f.failCode, nil
	}
	return []byte(f.stdout), 0, nil
}

// The soak of issue #12: three failing calls in a row must not fail the action when the
// budget allows repeating them.
func TestCLIRetryRidesOutTransientFailures(t *testing.T) {
	ctx := context.Background()
	run := &flaky{fails: 3, failCode: 1, stdout: "LATEST"}
	var warned int
	cli := &CLI{Run: run.run, Retry: &Retry{Budget: 5 * time.Second, Warn: func(string, ...any) { warned++ }}}
	if err := cli.Set(ctx, "node1", "cfpgsql-data-status", "LATEST", Forever); err != nil {
		t.Fatalf("Set after 3 transient failures: %v", err)
	}
	if run.calls != 4 {
		t.Errorf("calls = %d, want 4", run.calls)
	}
	if warned != 4 { // three retries announced, one pass after failing
		t.Errorf("warnings = %d, want 4", warned)
	}
	if cli.Retry.spent <= 0 {
		t.Errorf("spent = %v, want the retry time charged", cli.Retry.spent)
	}
}

func TestCLIRetryGivesUp(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		retry     *Retry
		failCode  int
		query     bool
		wantCalls int
	}{
		{name: "no retry configured", failCode: 1, wantCalls: 1},
		{name: "budget spent", retry: &Retry{Budget: 350 * time.Millisecond}, failCode: 1, wantCalls: 3},
		{name: "bad usage is final", retry: &Retry{Budget: 5 * time.Second}, failCode: exitUsage, wantCalls: 1},
		{name: "unknown node on update is final", retry: &Retry{Budget: 5 * time.Second}, failCode: exitNoSuchObject, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := &flaky{fails: 1000, failCode: tc.failCode}
			cli := &CLI{Run: run.run, Retry: tc.retry}
			err := cli.Set(ctx, "node1", "x", "1", Reboot)
			if err == nil {
				t.Fatal("Set passed although every call failed")
			}
			if run.calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d (err %v)", run.calls, tc.wantCalls, err)
			}
		})
	}
}

// A retry never outlives the action's deadline.
func TestCLIRetryStopsAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	run := &flaky{fails: 1000, failCode: 1}
	cli := &CLI{Run: run.run, Retry: &Retry{Budget: time.Minute}}
	start := time.Now()
	if err := cli.Set(ctx, "node1", "x", "1", Reboot); err == nil {
		t.Fatal("Set passed although every call failed")
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("gave up after %v, past the 300ms deadline", took)
	}
}
