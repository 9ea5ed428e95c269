package crmattr

import (
	"context"
	"encoding/xml"
	"fmt"
)

// ResourceParams reads a resource's instance parameters from the CIB (`pgsql-ra explain
// --resource NAME`, issue #13 §2): one `cibadmin --query --scope resources`, parsed here.
// name may be the primitive or a clone (or master/promotable) holding it; primitive is the
// primitive's id, the resource name the node attributes use.
func ResourceParams(ctx context.Context, run RunFunc, name string) (params map[string]string, primitive string, err error) {
	out, code, err := run(ctx, []string{"cibadmin", "--query", "--scope", "resources"})
	if err != nil || code != 0 {
		return nil, "", fmt.Errorf("cibadmin --query --scope resources: exit %d: %v", code, err)
	}
	return ParseResourceParams(out, name)
}

type cibPrimitive struct {
	ID       string   `xml:"id,attr"`
	Instance []cibSet `xml:"instance_attributes"`
}

type cibSet struct {
	NVPairs []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"nvpair"`
}

type cibContainer struct {
	ID         string         `xml:"id,attr"`
	Primitives []cibPrimitive `xml:"primitive"`
	Clones     []cibContainer `xml:"clone"`
	Masters    []cibContainer `xml:"master"`
	Groups     []cibContainer `xml:"group"`
	Bundles    []cibContainer `xml:"bundle"`
}

// ParseResourceParams finds name in the <resources> section (or a whole CIB's) and returns
// the nvpairs of its instance_attributes (every set, later sets not overriding earlier ones,
// as Pacemaker applies sets without rules in order).
func ParseResourceParams(doc []byte, name string) (map[string]string, string, error) {
	var root struct {
		cibContainer
		Configuration struct {
			Resources cibContainer `xml:"resources"`
		} `xml:"configuration"`
	}
	if err := xml.Unmarshal(doc, &root); err != nil {
		return nil, "", fmt.Errorf("parsing the CIB's resources: %w", err)
	}
	var found *cibPrimitive
	var walk func(c cibContainer, inside bool)
	walk = func(c cibContainer, inside bool) {
		for i := range c.Primitives {
			if found == nil && (inside || c.Primitives[i].ID == name) {
				found = &c.Primitives[i]
			}
		}
		for _, list := range [][]cibContainer{c.Clones, c.Masters, c.Groups, c.Bundles} {
			for _, child := range list {
				walk(child, inside || child.ID == name)
			}
		}
	}
	walk(root.cibContainer, false)
	walk(root.Configuration.Resources, false)
	if found == nil {
		return nil, "", fmt.Errorf("no primitive resource %q in the CIB", name)
	}
	params := map[string]string{}
	for _, set := range found.Instance {
		for _, nv := range set.NVPairs {
			if _, ok := params[nv.Name]; !ok {
				params[nv.Name] = nv.Value
			}
		}
	}
	return params, found.ID, nil
}
