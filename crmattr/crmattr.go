// Package crmattr reads and writes Pacemaker node attributes: the <rsc>-status,
// <rsc>-data-status, <rsc>-xlog-loc and <rsc>-master-baseline attributes and the promotion
// score. CLI drives the crm_attribute tool; Fake is an in-memory Store for other packages'
// tests.
package crmattr

import (
	"context"
	"errors"
	"fmt"
)

// Lifetime says where Pacemaker keeps a node attribute.
type Lifetime string

const (
	// Reboot is a transient attribute, kept in the CIB status section; it is cleared when the
	// node leaves the cluster or Pacemaker restarts on it.
	Reboot Lifetime = "reboot"
	// Forever is a persistent attribute, kept in the nodes section of the CIB configuration;
	// it survives reboots and full-cluster restarts.
	Forever Lifetime = "forever"
)

// Store reads and writes node attributes.
//
// The node argument is the node name as Pacemaker knows it (crm_node -n, the uname in the
// CIB), not necessarily the host name; it must not be empty, because crm_attribute without a
// node would silently act on the local node (or on a cluster option). An empty node, name or
// resource, or a lifetime other than Reboot/Forever, is an error and nothing is run.
type Store interface {
	// Get reads an attribute. A missing attribute is found=false with a nil error: the
	// old agent treated it as a failure and retried forever.
	Get(ctx context.Context, node, name string, lt Lifetime) (value string, found bool, err error)
	// Set writes an attribute, creating it when missing.
	Set(ctx context.Context, node, name, value string, lt Lifetime) error
	// Delete removes an attribute; removing a missing attribute is not an error.
	Delete(ctx context.Context, node, name string, lt Lifetime) error
	// SetPromotionScore writes resource's promotion score on node (transient). score is the
	// attribute text, e.g. "1000", "100" or "-INFINITY".
	SetPromotionScore(ctx context.Context, resource, node string, score string) error
	// GetPromotionScore reads resource's promotion score on node; found=false when unset.
	GetPromotionScore(ctx context.Context, resource, node string) (score string, found bool, err error)
}

// PromotionAttrName is the node attribute holding resource's promotion score. Both crm_master
// and `crm_attribute --promotion` write this name, with lifetime reboot.
func PromotionAttrName(resource string) string { return "master-" + resource }

var errEmptyArg = errors.New("empty argument")

// checkAttr rejects arguments that would make crm_attribute act on something else than one
// node attribute.
func checkAttr(node, name string, lt Lifetime) error {
	switch {
	case node == "":
		return fmt.Errorf("node name: %w", errEmptyArg)
	case name == "":
		return fmt.Errorf("attribute name: %w", errEmptyArg)
	case lt != Reboot && lt != Forever:
		return fmt.Errorf("invalid attribute lifetime %q", lt)
	}
	return nil
}

// checkPromotion rejects an empty resource: `crm_attribute --promotion=` would fall back to
// the OCF_RESOURCE_INSTANCE environment variable.
func checkPromotion(resource, node string) error {
	if resource == "" {
		return fmt.Errorf("resource name: %w", errEmptyArg)
	}
	return checkAttr(node, PromotionAttrName(resource), Reboot)
}
