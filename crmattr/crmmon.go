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
}

type crmMonXML struct {
	Nodes []struct {
		Name   string `xml:"name,attr"`
		Online string `xml:"online,attr"`
	} `xml:"nodes>node"`
	Resources crmMonResources `xml:"resources"`
}

type crmMonResources struct {
	Resources []crmMonResource  `xml:"resource"`
	Clones    []crmMonResources `xml:"clone"`
	Groups    []crmMonResources `xml:"group"`
}

type crmMonResource struct {
	ID    string `xml:"id,attr"`
	Role  string `xml:"role,attr"`
	Nodes []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
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
	var parsed crmMonXML
	if err := xml.Unmarshal(doc, &parsed); err != nil {
		return ClusterView{}, fmt.Errorf("parsing crm_mon XML: %w", err)
	}
	view := ClusterView{Online: map[string]bool{}}
	for _, n := range parsed.Nodes {
		view.Online[strings.ToLower(n.Name)] = n.Online == "true"
	}
	var walk func(r crmMonResources)
	walk = func(r crmMonResources) {
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
			walk(c)
		}
	}
	walk(parsed.Resources)
	return view, nil
}
