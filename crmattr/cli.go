package crmattr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
// "no such object" exits mean found=false; otherwise every non-zero exit is an error.
func (c *CLI) invoke(ctx context.Context, activity string, query bool, args []string) (string, bool, error) {
	path := c.Path
	if path == "" {
		path = "crm_attribute"
	}
	argv := append([]string{path}, args...)
	stdout, code, err := c.Run(ctx, argv)
	out := strings.TrimSpace(string(stdout))
	switch {
	case err != nil:
		return "", false, fmt.Errorf("crm_attribute %s: running %q: %w", activity, argv, err)
	case query && (code == exitNoSuchObject || code == exitLegacyNoSuchObject):
		return "", false, nil
	case code != 0:
		return "", false, fmt.Errorf("crm_attribute %s: %q exited %d: %q", activity, argv, code, out)
	}
	return out, true, nil
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
