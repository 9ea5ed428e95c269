package agent

import (
	"strings"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
)

// Attr is one node attribute of the catalogue (docs/design.md, "Attribute catalogue"): its
// name for this resource and its lifetime. Every read and write goes through one, so a name
// is never paired with the wrong lifetime.
type Attr struct {
	Name     string
	Lifetime crmattr.Lifetime
}

// attrNames is the catalogue for one resource. The first six are the old agent's, an
// external interface (CFEngine reads <rsc>-status): names, lifetimes and values stay
// exactly as they were; the rest are this agent's own.
type attrNames struct{ resource string }

func (n attrNames) transient(suffix string) Attr  { return Attr{n.resource + suffix, crmattr.Reboot} }
func (n attrNames) persistent(suffix string) Attr { return Attr{n.resource + suffix, crmattr.Forever} }

func (n attrNames) Status() Attr         { return n.transient("-status") }
func (n attrNames) DataStatus() Attr     { return n.persistent("-data-status") }
func (n attrNames) XlogLoc() Attr        { return n.transient("-xlog-loc") }
func (n attrNames) MasterBaseline() Attr { return n.transient("-master-baseline") }
func (n attrNames) ReceiverStatus() Attr { return n.transient("-receiver-status") }

// Score is the promotion score master-<rsc>, written with crm_attribute --promotion.
func (n attrNames) Score() Attr { return Attr{crmattr.PromotionAttrName(n.resource), crmattr.Reboot} }

// XlogTimeline is published beside xlog-loc so the election compares timelines first.
func (n attrNames) XlogTimeline() Attr { return n.transient("-xlog-tli") }

// PrePromotePosition is a standby's position at pre-promote (the guard).
func (n attrNames) PrePromotePosition() Attr { return n.transient("-pre-promote-position") }

// DemotedLSN is a demoted primary's shutdown checkpoint (see handover.go).
func (n attrNames) DemotedLSN() Attr { return n.persistent("-demoted-lsn") }

// Handover is the next primary's acknowledgement of a demoted primary's WAL.
func (n attrNames) Handover() Attr { return n.persistent("-handover") }

// PromotePoint is the latest promotion of this node: where it forked the history it promoted
// from (rejoin.go, issue #13). Persistent: a node that was away must still find it.
func (n attrNames) PromotePoint() Attr { return n.persistent("-promote-point") }

// CatchUpTarget is the primary's position given to a starting standby (see
// afterStandbyStart).
func (n attrNames) CatchUpTarget() Attr { return n.transient("-catchup-target") }

// Values of <rsc>-status.
const (
	StatusPrimary     = "PRI"
	StatusSync        = "HS:sync"
	StatusAsync       = "HS:async"
	StatusAlone       = "HS:alone"
	StatusPotential   = "HS:potential"
	StatusConnected   = "HS:connected"
	StatusStopped     = "STOP"
	StatusUnknown     = "UNKNOWN"
	dataLatest        = "LATEST"
	dataDisconnect    = "DISCONNECT"
	dataStreamingSync = "STREAMING|SYNC"
	dataStreamingAsyn = "STREAMING|ASYNC"
)

// Promotion scores.
const (
	ScoreCannotPromote = "-INFINITY"
	ScoreCanPromote    = "100"
	ScorePromoteMe     = "1000"
)

// Values of <rsc>-receiver-status.
const (
	receiverNormal  = "normal"
	receiverPrimary = "normal (master)"
	receiverError   = "ERROR"
)

// NodeName is how the agent spells a node everywhere (node_list, application_name,
// attributes): lower case, as the old agent did, so "Node1" and "node1" are one node.
func NodeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// SlotSuffix turns a node name into the part of a replication slot name that identifies it:
// slot names allow only [a-z0-9_].
func SlotSuffix(node string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' {
			return '_'
		}
		return r
	}, NodeName(node))
}

// SlotName is the slot a standby on node uses: <replication_slot_name>_<node>.
func SlotName(base, node string) string { return base + "_" + SlotSuffix(node) }
