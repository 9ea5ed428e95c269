package crmattr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RunFunc runs argv (argv[0] resolved through PATH) and returns its stdout and exit code.
// err is only for "could not run", "killed" and "deadline exceeded"; a non-zero exit is
// reported in exitCode with a nil err.
type RunFunc func(ctx context.Context, argv []string) (stdout []byte, exitCode int, err error)

// CLI is the Store backed by the crm_attribute tool.
//
// Every option is passed in its long form with "=" (--update=-INFINITY), so a value starting
// with "-" can never be read as options: Pacemaker 2.1.5 splits a separate "-INFINITY"
// argument into short options: `crm_attribute ... --update -INFINITY`, and the
// `crm_attribute -p -v -INFINITY` that Debian 12's resource-agents runs through
// ocf_promotion_score, both exit 105 with "Could not map name=FINITY to a UUID".
type CLI struct {
	Run  RunFunc
	Path string // crm_attribute binary; "" means "crm_attribute"

	// LegacyPromotion is for Pacemaker older than CRM feature set 3.10.0, whose
	// crm_attribute has no --promotion option. The score is then written as the plain node
	// attribute master-<resource> with lifetime reboot. That is exactly the command crm_master
	// runs, without its flaws: crm_master is a shell wrapper that needs
	// OCF_RESOURCE_INSTANCE and re-splits its arguments, turning --update=-INFINITY into
	// "--update -INFINITY" (on 2.1.5 it exits 105, "Could not map name=FINITY to a UUID").
	LegacyPromotion bool

	// Retry, when set, repeats a call that failed for a reason that may pass.
	Retry *Retry
}

// Retry rides out a transient failure of crm_attribute: attrd or the CIB busy or restarting
// for a moment. The soak of issue #12 ended with no primary when three calls in a row
// failed on the primary's node: its monitor failed, and migration-threshold=1 banned it.
// Every call is idempotent (a query, an update to a value, a delete), so repeating one is
// safe; a failure that outlasts the budget is returned as before, so a decision that needs
// a write still sees the write fail (docs/design.md, I4).
type Retry struct {
	// Budget is the time all calls of one action together may spend retrying, a part of the
	// action's timeout, so that a crm_attribute that stays broken still leaves the action
	// time to answer with its reason.
	Budget time.Duration
	// Warn, when set, hears of every failure that is retried and of the call that then passed.
	Warn func(msg string, kv ...any)

	mu    sync.Mutex
	spent time.Duration
}

// Backoff between attempts: doubling from retryFirstPause, at most retryLongestPause.
const (
	retryFirstPause   = 100 * time.Millisecond
	retryLongestPause = time.Second
)

// Exit codes that answer a call for good: a retry would get the same answer.
const (
	exitUsage = 64 // CRM_EX_USAGE: the agent's argv is wrong
)

// retryable tells whether a failed attempt may pass when repeated: not when the action's own
// deadline has passed and not on an answer that stays the same (bad usage, no such node or
// attribute). A call that could not run or that the per-call timeout (crm_attr_timeout)
// killed has no exit code (-1) and may pass.
func retryable(ctx context.Context, code int) bool {
	if ctx.Err() != nil {
		return false
	}
	return code != exitUsage && code != exitNoSuchObject && code != exitLegacyNoSuchObject
}

// pause returns how long to wait before attempt+1, or false when the budget (or the
// action's deadline) leaves no time for it.
func (r *Retry) pause(ctx context.Context, attempt int, sinceFirst time.Duration) (time.Duration, bool) {
	if r == nil {
		return 0, false
	}
	wait := min(retryFirstPause<<min(attempt-1, 10), retryLongestPause)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spent+sinceFirst+wait > r.Budget {
		return 0, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < 2*wait {
		return 0, false
	}
	return wait, true
}

// retryContext bounds a repeated attempt of a call that first failed at firstFailure by
// what is left of the budget: a hung crm_attribute would otherwise run for a whole
// crm_attr_timeout past it (fourth review of issue #13).
func (r *Retry) retryContext(ctx context.Context, firstFailure time.Time) (context.Context, context.CancelFunc) {
	r.mu.Lock()
	left := r.Budget - r.spent
	r.mu.Unlock()
	return context.WithDeadline(ctx, firstFailure.Add(left))
}

// charge adds the time one call spent after its first failure to the budget.
func (r *Retry) charge(d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.spent += d
	r.mu.Unlock()
}

func (r *Retry) warn(msg string, kv ...any) {
	if r != nil && r.Warn != nil {
		r.Warn(msg, kv...)
	}
}

var _ Store = (*CLI)(nil)

// promotionOptionFeatureSet is the first CRM feature set whose crm_attribute has
// --promotion; resource-agents' ocf_promotion_score uses the same threshold.
const promotionOptionFeatureSet = "3.10.0"

// NewCLI returns a CLI for the Pacemaker whose CRM feature set is crmFeatureSet (from
// OCF_RESKEY_crm_feature_set, e.g. "3.16.2"). An empty feature set means a modern
// Pacemaker; one that cannot be parsed gets the legacy form, which works on every version.
func NewCLI(run RunFunc, crmFeatureSet string) *CLI {
	cli := &CLI{Run: run}
	if crmFeatureSet != "" {
		cmp, ok := compareVersions(crmFeatureSet, promotionOptionFeatureSet)
		cli.LegacyPromotion = !ok || cmp < 0
	}
	return cli
}

// Exit codes of `crm_attribute --query` for a missing attribute. Pacemaker 2.1.5 exits 105
// (CRM_EX_NOSUCH) with nothing on stdout and "crm_attribute: Error performing operation: No
// such device or address" on stderr; Pacemaker 1.1 exits 6 (ENXIO). 2.1.5 also exits 105
// for a node name it does not know ("Could not map name=nodeX to a UUID"), so a query cannot
// tell a mistyped node from a missing attribute; an update or delete does fail on it.
const (
	exitNoSuchObject       = 105
	exitLegacyNoSuchObject = 6
)

func (c *CLI) Get(ctx context.Context, node, name string, lt Lifetime) (string, bool, error) {
	if err := checkAttr(node, name, lt); err != nil {
		return "", false, err
	}
	return c.invoke(ctx, "query "+node+"/"+name, true, attrArgs(lt, node, name, "--query", "--quiet"))
}

func (c *CLI) Set(ctx context.Context, node, name, value string, lt Lifetime) error {
	if err := checkAttr(node, name, lt); err != nil {
		return err
	}
	_, _, err := c.invoke(ctx, "update "+node+"/"+name, false, attrArgs(lt, node, name, "--update="+value))
	return err
}

// Delete relies on crm_attribute exiting 0 for a missing attribute (observed on 2.1.5).
func (c *CLI) Delete(ctx context.Context, node, name string, lt Lifetime) error {
	if err := checkAttr(node, name, lt); err != nil {
		return err
	}
	_, _, err := c.invoke(ctx, "delete "+node+"/"+name, false, attrArgs(lt, node, name, "--delete"))
	return err
}

// SetPromotionScore uses --promotion together with --node, which 2.1.5 honours: the score
// lands in that node's status section, so it works for other nodes too.
func (c *CLI) SetPromotionScore(ctx context.Context, resource, node, score string) error {
	if err := checkPromotion(resource, node); err != nil {
		return err
	}
	if c.LegacyPromotion {
		return c.Set(ctx, node, PromotionAttrName(resource), score, Reboot)
	}
	_, _, err := c.invoke(ctx, "promotion score update "+node+"/"+resource, false,
		promotionArgs(resource, node, "--update="+score))
	return err
}

func (c *CLI) GetPromotionScore(ctx context.Context, resource, node string) (string, bool, error) {
	if err := checkPromotion(resource, node); err != nil {
		return "", false, err
	}
	if c.LegacyPromotion {
		return c.Get(ctx, node, PromotionAttrName(resource), Reboot)
	}
	return c.invoke(ctx, "promotion score query "+node+"/"+resource, true,
		promotionArgs(resource, node, "--query", "--quiet"))
}

func attrArgs(lt Lifetime, node, name string, command ...string) []string {
	return append([]string{"--lifetime=" + string(lt), "--node=" + node, "--name=" + name}, command...)
}

func promotionArgs(resource, node string, command ...string) []string {
	return append([]string{"--promotion=" + resource, "--node=" + node}, command...)
}

// invoke runs crm_attribute with args and returns its trimmed stdout. With query set, the
// "no such object" exits mean found=false; otherwise every non-zero exit is an error. A
// failure that may pass is repeated within the Retry budget.
func (c *CLI) invoke(ctx context.Context, activity string, query bool, args []string) (string, bool, error) {
	path := c.Path
	if path == "" {
		path = "crm_attribute"
	}
	argv := append([]string{path}, args...)
	var firstFailure time.Time
	for attempt := 1; ; attempt++ {
		attemptCtx, cancel := ctx, context.CancelFunc(func() {})
		if attempt > 1 {
			attemptCtx, cancel = c.Retry.retryContext(ctx, firstFailure)
		}
		out, found, code, err := c.attempt(attemptCtx, activity, query, argv)
		cancel()
		if err == nil {
			if attempt > 1 {
				c.Retry.charge(time.Since(firstFailure))
				c.Retry.warn("crm_attribute passed after failing", "call", activity, "attempts", attempt)
			}
			return out, found, nil
		}
		if attempt == 1 {
			firstFailure = time.Now()
		}
		wait, ok := c.Retry.pause(ctx, attempt, time.Since(firstFailure))
		if !ok || !retryable(ctx, code) {
			if attempt > 1 {
				c.Retry.charge(time.Since(firstFailure))
				err = fmt.Errorf("%w (%d attempts)", err, attempt)
			}
			return "", false, err
		}
		c.Retry.warn("crm_attribute failed, retrying", "call", activity, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// attempt runs crm_attribute once; code is its exit code, -1 when it did not run to its end.
func (c *CLI) attempt(ctx context.Context, activity string, query bool, argv []string) (out string, found bool, code int, err error) {
	stdout, code, err := c.Run(ctx, argv)
	out = strings.TrimSpace(string(stdout))
	switch {
	case err != nil:
		return "", false, -1, fmt.Errorf("crm_attribute %s: running %q: %w", activity, argv, err)
	case query && (code == exitNoSuchObject || code == exitLegacyNoSuchObject):
		return "", false, code, nil
	case code != 0:
		return "", false, code, fmt.Errorf("crm_attribute %s: %q exited %d: %q", activity, argv, code, out)
	}
	return out, true, code, nil
}

// compareVersions compares dotted numeric versions ("3.16.2"), missing parts counting as 0.
// ok is false when either version has a part that is not a number.
func compareVersions(a, b string) (cmp int, ok bool) {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, okA := versionPart(as, i)
		y, okB := versionPart(bs, i)
		if !okA || !okB {
			return 0, false
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

func versionPart(parts []string, i int) (uint64, bool) {
	if i >= len(parts) {
		return 0, true
	}
	n, err := strconv.ParseUint(parts[i], 10, 32)
	return n, err == nil
}
