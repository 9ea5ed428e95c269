package crmattr

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseClusterView: crm_mon XML (#11). A document rendered from known nodes and roles
// reads back as them; any document either fails or gives lower-case node names.
// `make fuzz` runs it; the plain `go test` runs its seeds and testdata/fuzz/FuzzParseClusterView/.
func FuzzParseClusterView(f *testing.F) {
	f.Add([]byte(`<pacemaker-result><nodes><node name="PG1" online="true"/><node name="pg2" online="false"/></nodes>`+
		`<resources><clone id="pgsql-clone"><resource id="pgsql" role="Promoted"><node name="PG1"/></resource>`+
		`<resource id="pgsql" role="Unpromoted"><node name="pg2"/></resource></clone></resources></pacemaker-result>`),
		"pgsql", "pg1", true, "Promoted", "pgsql:0")
	f.Add([]byte(`<crm_mon><resources><group id="g"><clone id="c"><resource id="pgsql:1" role="Master"><node name="a"/></resource></clone></group></resources></crm_mon>`),
		"pgsql", "Node.Example", false, "Master", "pgsql")
	f.Add([]byte(`<pacemaker-result><nodes><node name="x"`), "pgsql", "a&b<c>\"'", true, "Unpromoted", "other:pgsql")
	f.Fuzz(func(t *testing.T, doc []byte, resource, node string, online bool, role, id string) {
		if xmlText(resource+node+role+id) && resource != "" && !strings.Contains(resource, ":") {
			checkRenderedView(t, resource, node, online, role, id)
		}

		view, err := ParseClusterView(doc, resource)
		if err != nil {
			return
		}
		for name := range view.Online {
			if name != strings.ToLower(name) {
				t.Errorf("ParseClusterView(%q): node %q is not lower case", doc, name)
			}
		}
		for _, name := range view.Promoted {
			if name != strings.ToLower(name) {
				t.Errorf("ParseClusterView(%q): promoted node %q is not lower case", doc, name)
			}
		}
	})
}

// xmlText reports whether s can be an XML attribute value as crm_mon writes one: UTF-8 made
// of the characters XML allows.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

type renderedNode struct {
	Name   string `xml:"name,attr"`
	Online string `xml:"online,attr,omitempty"`
}

type renderedResource struct {
	ID    string         `xml:"id,attr"`
	Role  string         `xml:"role,attr"`
	Nodes []renderedNode `xml:"node"`
}

type renderedView struct {
	XMLName   xml.Name           `xml:"pacemaker-result"`
	Nodes     []renderedNode     `xml:"nodes>node"`
	Resources []renderedResource `xml:"resources>clone>resource"`
}

// checkRenderedView renders a crm_mon document with one node running the instance id in role
// and checks what ParseClusterView reads for resource.
func checkRenderedView(t *testing.T, resource, node string, online bool, role, id string) {
	t.Helper()
	state := "false"
	if online {
		state = "true"
	}
	doc, err := xml.Marshal(renderedView{
		Nodes:     []renderedNode{{Name: node, Online: state}, {Name: "witness", Online: "true"}},
		Resources: []renderedResource{{ID: id, Role: role, Nodes: []renderedNode{{Name: node}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	view, err := ParseClusterView(doc, resource)
	if err != nil {
		t.Fatalf("ParseClusterView(%q): %v", doc, err)
	}
	lower := strings.ToLower(node)
	if got, ok := view.Online[lower]; !ok || (got != online && lower != "witness") {
		t.Errorf("ParseClusterView(%q).Online = %v, want %q: %v", doc, view.Online, lower, online)
	}
	var want []string
	if instance, _, _ := strings.Cut(id, ":"); instance == resource && (role == "Promoted" || role == "Master") {
		want = []string{lower}
	}
	if !slices.Equal(view.Promoted, want) {
		t.Errorf("ParseClusterView(%q, %q).Promoted = %q, want %q", doc, resource, view.Promoted, want)
	}
}
