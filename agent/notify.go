package agent

import "strings"

// Notification is what Pacemaker tells a clone instance about a transition, from the
// OCF_RESKEY_CRM_meta_notify_* variables. It is set for notify actions and, with notify=true,
// copied into the meta of start, stop, promote and demote too. Node lists are normalised
// (NodeName); Pacemaker renders an empty list as a single space.
type Notification struct {
	Type       string // "pre" or "post"
	Operation  string // start, stop, promote, demote
	Promote    []string
	Demote     []string
	Start      []string
	Stop       []string
	Promoted   []string // instances promoted before the transition
	Unpromoted []string
	Present    bool // any notify variable was set
}

// ReadNotification collects the notify variables; the OCF 1.1 names (promoted/unpromoted)
// win over the deprecated master/slave ones, which older Pacemaker sends alone.
func ReadNotification(getenv func(string) string) Notification {
	const prefix = "OCF_RESKEY_CRM_meta_notify_"
	var n Notification
	list := func(names ...string) []string {
		for _, name := range names {
			if v, ok := lookup(getenv, prefix+name+"_uname"); ok {
				n.Present = true
				var nodes []string
				for _, f := range strings.Fields(v) {
					nodes = append(nodes, NodeName(f))
				}
				return nodes
			}
		}
		return nil
	}
	n.Type, n.Operation = getenv(prefix+"type"), getenv(prefix+"operation")
	n.Present = n.Type != "" || n.Operation != ""
	n.Promote, n.Demote = list("promote"), list("demote")
	n.Start, n.Stop = list("start"), list("stop")
	n.Promoted, n.Unpromoted = list("promoted", "master"), list("unpromoted", "slave")
	return n
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// Has reports whether node is in list.
func Has(list []string, node string) bool {
	for _, n := range list {
		if n == node {
			return true
		}
	}
	return false
}
