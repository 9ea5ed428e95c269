package crmattr

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
)

// ClusterView is the part of `crm_mon --output-as=xml` the agent needs: which nodes are
// online and where a resource runs promoted. The agent asks only when nothing cheaper
// (notify variables, its own WAL receiver) can answer.
type ClusterView struct {
	Online   map[string]bool // node name → online
	Promoted []string        // nodes where the resource's instance is promoted
	// StonithEnabled: the cluster fences. Only then is a lost node's instance reported
	// stopped after a confirmed fence; without fencing Pacemaker assumes the stop.
	StonithEnabled bool
	// Unclean are the nodes the cluster lost and has not fenced (yet): Pacemaker reports a
	// resource that does not require fencing (requires=quorum or nothing) stopped there
	// before the fence, and the post-stop notification with it.
	Unclean []string
}

// CrmMon is the part of `crm_mon --output-as=xml` (Pacemaker 2.1) that the agent and the
// lab's scenarios read: one schema for both (issue #12), checked against a real document in
// testdata/crm_mon.
type CrmMon struct {
	DC struct {
		Present bool   `xml:"present,attr" json:"present"`
		Name    string `xml:"name,attr" json:"name"`
	} `xml:"summary>current_dc" json:"dc"`
	Options struct {
		StonithEnabled bool `xml:"stonith-enabled,attr" json:"stonith_enabled"`
	} `xml:"summary>cluster_options" json:"options"`
	Nodes      []MonNode           `xml:"nodes>node" json:"nodes"`
	Resources  MonResources        `xml:"resources" json:"resources"`
	Attributes []MonNodeAttributes `xml:"node_attributes>node" json:"node_attributes"`
	History    []MonNodeHistory    `xml:"node_history>node" json:"node_history"`
	Failures   []MonFailure        `xml:"failures>failure" json:"failures"`
}

// MonNode is a cluster member and its membership. A node element that lacks the online or
// unclean attribute (crm_mon 2.1 always writes both; another version or a tool that trims the
// XML may not) reads as online and unclean: nothing in it says the node is down and fenced,
// and the agent ends a walsender only for a node shown offline and clean (review 19, D3).
type MonNode struct {
	Name    string `xml:"name,attr" json:"name"`
	Online  bool   `xml:"online,attr" json:"online"`
	Standby bool   `xml:"standby,attr" json:"standby"`
	// Unclean: the cluster lost the node and has not fenced it yet (a fence pending, failing
	// or not required by the resource): what ran there may still run.
	Unclean bool `xml:"unclean,attr" json:"unclean,omitempty"`
}

// UnmarshalXML reads a node element; online and unclean are false only when written
// "false": missing, empty or anything else reads true.
func (n *MonNode) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Name    string `xml:"name,attr"`
		Online  string `xml:"online,attr"`
		Standby bool   `xml:"standby,attr"`
		Unclean string `xml:"unclean,attr"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	unlessFalse := func(v string) bool { return !strings.EqualFold(strings.TrimSpace(v), "false") }
	*n = MonNode{Name: raw.Name, Online: unlessFalse(raw.Online), Standby: raw.Standby, Unclean: unlessFalse(raw.Unclean)}
	return nil
}

// MonResources are primitives and the collections (clones, groups) around them.
type MonResources struct {
	Resources []MonResource   `xml:"resource" json:"resources,omitempty"`
	Clones    []MonCollection `xml:"clone" json:"clones,omitempty"`
	Groups    []MonCollection `xml:"group" json:"groups,omitempty"`
}

// MonCollection is a clone or a group.
type MonCollection struct {
	ID string `xml:"id,attr" json:"id"`
	MonResources
}

// MonResource is one instance of a primitive: its role, state and where it is placed.
type MonResource struct {
	ID      string `xml:"id,attr" json:"id"`
	Role    string `xml:"role,attr" json:"role"` // Promoted, Unpromoted, Started, Stopped (Master, Slave before 2.1)
	Active  bool   `xml:"active,attr" json:"active"`
	Failed  bool   `xml:"failed,attr" json:"failed"`
	Blocked bool   `xml:"blocked,attr" json:"blocked"`
	Nodes   []struct {
		Name string `xml:"name,attr" json:"name"`
	} `xml:"node" json:"nodes"`
}

// MonNodeAttributes are one node's attributes (crm_mon -A).
type MonNodeAttributes struct {
	Node  string `xml:"name,attr" json:"node"`
	Attrs []struct {
		Name  string `xml:"name,attr" json:"name"`
		Value string `xml:"value,attr" json:"value"`
	} `xml:"attribute" json:"attributes"`
}

// MonNodeHistory is one node's operation history (crm_mon -f): fail counts.
type MonNodeHistory struct {
	Node      string `xml:"name,attr" json:"node"`
	Resources []struct {
		ID        string `xml:"id,attr" json:"id"`
		FailCount string `xml:"fail-count,attr" json:"fail_count"`
	} `xml:"resource_history" json:"resources"`
}

// MonFailure is a failed operation.
type MonFailure struct {
	OpKey      string `xml:"op_key,attr" json:"op_key"`
	Node       string `xml:"node,attr" json:"node"`
	Task       string `xml:"task,attr" json:"task"`
	ExitCode   int    `xml:"exitcode,attr" json:"exitcode"`
	ExitStatus string `xml:"exitstatus,attr" json:"exitstatus"`
	ExitReason string `xml:"exitreason,attr" json:"exitreason"`
}

// ParseCrmMon reads a crm_mon XML document.
func ParseCrmMon(doc []byte) (CrmMon, error) {
	var m CrmMon
	if err := xml.Unmarshal(doc, &m); err != nil {
		return CrmMon{}, fmt.Errorf("parsing crm_mon XML: %w", err)
	}
	return m, nil
}

// ReadClusterView runs crm_mon once and parses its XML.
func ReadClusterView(ctx context.Context, run RunFunc, resource string) (ClusterView, error) {
	out, code, err := run(ctx, []string{"crm_mon", "--output-as=xml", "--one-shot", "--inactive"})
	if err != nil || code != 0 {
		return ClusterView{}, fmt.Errorf("crm_mon --output-as=xml: exit %d: %v", code, err)
	}
	return ParseClusterView(out, resource)
}

// ParseClusterView reads crm_mon XML (Pacemaker 2.x; roles "Promoted" or the older "Master").
func ParseClusterView(doc []byte, resource string) (ClusterView, error) {
	parsed, err := ParseCrmMon(doc)
	if err != nil {
		return ClusterView{}, err
	}
	view := ClusterView{Online: map[string]bool{}, StonithEnabled: parsed.Options.StonithEnabled}
	for _, n := range parsed.Nodes {
		// A name crm_mon lists twice (a stale entry left by a node id change, names that
		// differ in case only) is online if either entry is: an offline entry must not
		// make a running node look fenced (review 19).
		name := strings.ToLower(n.Name)
		view.Online[name] = view.Online[name] || n.Online
		if n.Unclean {
			view.Unclean = append(view.Unclean, name)
		}
	}
	var walk func(r MonResources)
	walk = func(r MonResources) {
		for _, res := range r.Resources {
			id, _, _ := strings.Cut(res.ID, ":")
			if id != resource || (res.Role != "Promoted" && res.Role != "Master") {
				continue
			}
			for _, n := range res.Nodes {
				view.Promoted = append(view.Promoted, strings.ToLower(n.Name))
			}
		}
		for _, c := range append(r.Clones, r.Groups...) {
			walk(c.MonResources)
		}
	}
	walk(parsed.Resources)
	return view, nil
}
