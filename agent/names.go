package agent

import "strings"

// The node attributes of the old agent, an external interface (CFEngine reads
// <rsc>-status): names, lifetimes and values stay exactly as they were.
type attrNames struct{ resource string }

func (n attrNames) Status() string         { return n.resource + "-status" }          // reboot
func (n attrNames) DataStatus() string     { return n.resource + "-data-status" }     // forever
func (n attrNames) XlogLoc() string        { return n.resource + "-xlog-loc" }        // reboot
func (n attrNames) MasterBaseline() string { return n.resource + "-master-baseline" } // reboot
func (n attrNames) ReceiverStatus() string { return n.resource + "-receiver-status" } // reboot

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
