package metadata

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite ../testdata/metadata.golden.xml from XML(\"TEST\", OCF11Roles)")

const goldenPath = "../testdata/metadata.golden.xml"

// The test's own view of the document, independent of the structs xml.go marshals from, so
// that a renamed struct tag there shows up here as a missing element or attribute.
type parsedText struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type parsedParam struct {
	Name      string       `xml:"name,attr"`
	Unique    string       `xml:"unique,attr"`
	Required  string       `xml:"required,attr"`
	LongDesc  []parsedText `xml:"longdesc"`
	ShortDesc []parsedText `xml:"shortdesc"`
	Content   []struct {
		Type    string `xml:"type,attr"`
		Default string `xml:"default,attr"`
	} `xml:"content"`
}

type parsedAction struct {
	Name     string `xml:"name,attr"`
	Timeout  string `xml:"timeout,attr"`
	Interval string `xml:"interval,attr"`
	Depth    string `xml:"depth,attr"`
	Role     string `xml:"role,attr"`
}

type parsedAgent struct {
	XMLName   xml.Name       `xml:"resource-agent"`
	Name      string         `xml:"name,attr"`
	Version   string         `xml:"version,attr"`
	OCF       []string       `xml:"version"`
	LongDesc  []parsedText   `xml:"longdesc"`
	ShortDesc []parsedText   `xml:"shortdesc"`
	Params    []parsedParam  `xml:"parameters>parameter"`
	Actions   []parsedAction `xml:"actions>action"`
}

func parseMetadata(t *testing.T, doc []byte) parsedAgent {
	t.Helper()
	var a parsedAgent
	if err := xml.Unmarshal(doc, &a); err != nil {
		t.Fatalf("meta-data is not well-formed XML: %v", err)
	}
	return a
}

func TestXMLGolden(t *testing.T) {
	got := XML("TEST", OCF11Roles)
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", goldenPath)
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("reading golden file (regenerate with `go test ./metadata -update`): %v", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("meta-data differs from %s at line %d:\n got: %q\nwant: %q\n(run `go test ./metadata -update` if the change is intended)", goldenPath, i+1, g, w)
			}
		}
		t.Fatalf("meta-data differs from %s (run `go test ./metadata -update` if intended)", goldenPath)
	}
}

func TestXMLIsDeterministic(t *testing.T) {
	if a, b := XML("TEST", OCF11Roles), XML("TEST", OCF11Roles); !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same meta-data differ")
	}
}

func TestXMLPrologue(t *testing.T) {
	doc := string(XML("TEST", OCF11Roles))
	lines := strings.SplitN(doc, "\n", 3)
	if len(lines) < 3 {
		t.Fatalf("meta-data has fewer than three lines: %q", doc)
	}
	if !strings.HasPrefix(lines[0], "<?xml version=\"1.0\"") {
		t.Errorf("first line = %q, want the XML declaration", lines[0])
	}
	if want := `<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`; lines[1] != want {
		t.Errorf("second line = %q, want %q (ocf-tester resolves the DTD from it)", lines[1], want)
	}
	if !strings.HasSuffix(doc, "</resource-agent>\n") {
		t.Errorf("document does not end with </resource-agent> and a newline")
	}
}

func TestXMLAgentElement(t *testing.T) {
	a := parseMetadata(t, XML("1.2.3", OCF11Roles))
	if a.Name != "pgsql" {
		t.Errorf("resource-agent name = %q, want pgsql", a.Name)
	}
	if a.Version != "1.2.3" {
		t.Errorf("resource-agent version = %q, want the agent version 1.2.3", a.Version)
	}
	if len(a.OCF) != 1 || a.OCF[0] != "1.0" {
		t.Errorf("<version> elements = %q, want exactly one with 1.0", a.OCF)
	}
	for what, list := range map[string][]parsedText{"longdesc": a.LongDesc, "shortdesc": a.ShortDesc} {
		if len(list) != 1 {
			t.Errorf("agent has %d %s elements, want 1 (metadata.rng)", len(list), what)
			continue
		}
		if list[0].Lang != "en" || strings.TrimSpace(list[0].Text) == "" {
			t.Errorf("agent %s = %+v, want lang=en and some text", what, list[0])
		}
	}
}

var wantParams = []struct {
	name, def, typ string
}{
	{"pgctl", "/usr/bin/pg_ctl", "string"},
	{"start_opt", "", "string"},
	{"ctl_opt", "", "string"},
	{"psql", "/usr/bin/psql", "string"},
	{"pgdata", "/var/lib/pgsql/data", "string"},
	{"pgdba", "postgres", "string"},
	{"pghost", "", "string"},
	{"pgport", "5432", "integer"},
	{"pglibs", "/usr/lib", "string"},
	{"monitor_user", "", "string"},
	{"monitor_password", "", "string"},
	{"monitor_sql", "select now();", "string"},
	{"config", "/var/lib/pgsql/data/postgresql.conf", "string"},
	{"pgdb", "template1", "string"},
	{"logfile", "/dev/null", "string"},
	{"socketdir", "", "string"},
	{"stop_escalate", "90", "integer"},
	{"rep_mode", "none", "string"},
	{"node_list", "", "string"},
	{"restore_command", "", "string"},
	{"archive_cleanup_command", "", "string"},
	{"recovery_end_command", "", "string"},
	{"master_ip", "", "string"},
	{"repuser", "postgres", "string"},
	{"primary_conninfo_opt", "", "string"},
	{"restart_on_promote", "false", "boolean"},
	{"replication_slot_name", "", "string"},
	{"tmpdir", "/var/lib/pgsql/tmp", "string"},
	{"xlog_check_count", "3", "integer"},
	{"crm_attr_timeout", "5", "integer"},
	{"stop_escalate_in_slave", "90", "integer"},
	{"check_wal_receiver", "false", "boolean"},
	// This agent's own (issue #13).
	{"max_lag", "0", "integer"},
	{"no_promote_nodes", "", "string"},
	{"auto_rejoin", "true", "boolean"},
	{"rewind", "never", "string"},
}

func TestXMLParameters(t *testing.T) {
	a := parseMetadata(t, XML("TEST", OCF11Roles))
	if len(a.Params) != 36 || len(wantParams) != 36 {
		t.Fatalf("meta-data has %d parameters, want the 32 of pgsql_RA and max_lag, no_promote_nodes, auto_rejoin, rewind (issue #13)", len(a.Params))
	}
	for i, want := range wantParams {
		got := a.Params[i]
		t.Run(want.name, func(t *testing.T) {
			if got.Name != want.name {
				t.Fatalf("parameter #%d is %q, want %q (order of the old agent)", i+1, got.Name, want.name)
			}
			if got.Required != "0" || got.Unique != "0" {
				t.Errorf("required=%q unique=%q, want both \"0\" as in pgsql_RA", got.Required, got.Unique)
			}
			if len(got.LongDesc) != 1 || got.LongDesc[0].Lang != "en" || strings.TrimSpace(got.LongDesc[0].Text) == "" {
				t.Errorf("longdesc = %+v, want exactly one non-empty with lang=en", got.LongDesc)
			}
			if len(got.ShortDesc) != 1 || got.ShortDesc[0].Lang != "en" || strings.TrimSpace(got.ShortDesc[0].Text) == "" {
				t.Errorf("shortdesc = %+v, want exactly one non-empty with lang=en", got.ShortDesc)
			}
			if len(got.Content) != 1 {
				t.Fatalf("%d content elements, want 1", len(got.Content))
			}
			if got.Content[0].Type != want.typ {
				t.Errorf("type = %q, want %q", got.Content[0].Type, want.typ)
			}
			if got.Content[0].Default != want.def {
				t.Errorf("default = %q, want %q", got.Content[0].Default, want.def)
			}
		})
	}
}

// The table itself (not only the rendered XML) must carry the defaults, since flags and
// Resolve use it directly.
func TestParamsTableMatchesReference(t *testing.T) {
	if len(Params) != len(wantParams) {
		t.Fatalf("Params has %d entries, want %d", len(Params), len(wantParams))
	}
	for i, want := range wantParams {
		t.Run(want.name, func(t *testing.T) {
			p := Params[i]
			if p.Name != want.name || string(p.Type) != want.typ {
				t.Errorf("Params[%d] = %s/%s, want %s/%s", i, p.Name, p.Type, want.name, want.typ)
			}
			if got := ExpandDefault(p, DefaultPGData()); got != want.def {
				t.Errorf("expanded default = %q, want %q", got, want.def)
			}
			if looked, ok := Lookup(want.name); !ok || looked.Name != want.name {
				t.Errorf("Lookup(%q) = %+v, %v", want.name, looked, ok)
			}
		})
	}
	if _, ok := Lookup("no_such_parameter"); ok {
		t.Error("Lookup of an unknown name reported ok")
	}
	if p, _ := Lookup("config"); p.Default != ConfigDefaultMarker {
		t.Errorf("config's table default = %q, want the marker %q", p.Default, ConfigDefaultMarker)
	}
}

func TestXMLActions(t *testing.T) {
	want := []parsedAction{
		{Name: "start", Timeout: "120s"},
		{Name: "stop", Timeout: "120s"},
		{Name: "status", Timeout: "60s"},
		{Name: "monitor", Timeout: "30s", Interval: "30s", Depth: "0"},
		{Name: "monitor", Timeout: "30s", Interval: "29s", Depth: "0", Role: "Promoted"},
		{Name: "promote", Timeout: "120s"},
		{Name: "demote", Timeout: "120s"},
		{Name: "notify", Timeout: "90s"},
		{Name: "meta-data", Timeout: "5s"},
		{Name: "validate-all", Timeout: "5s"},
		{Name: "methods", Timeout: "5s"},
	}
	for _, tc := range []struct {
		name  string
		roles RoleNames
		role  string
	}{
		{"OCF 1.1 roles", OCF11Roles, "Promoted"},
		{"OCF 1.0 roles", OCF10Roles, "Master"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseMetadata(t, XML("TEST", tc.roles)).Actions
			if len(got) != len(want) {
				t.Fatalf("%d actions, want %d: %+v", len(got), len(want), got)
			}
			for i, w := range want {
				if w.Role != "" {
					w.Role = tc.role
				}
				if got[i] != w {
					t.Errorf("action #%d = %+v, want %+v", i+1, got[i], w)
				}
			}
		})
	}
}

func TestActionNamesAndDefaultTimeout(t *testing.T) {
	wantNames := []string{"start", "stop", "status", "monitor", "promote", "demote", "notify", "meta-data", "validate-all", "methods"}
	if got := ActionNames(); strings.Join(got, ",") != strings.Join(wantNames, ",") {
		t.Errorf("ActionNames() = %q, want %q (monitor once)", got, wantNames)
	}
	for _, tc := range []struct {
		action, timeout string
		ok              bool
	}{
		{"start", "120s", true},
		{"stop", "120s", true},
		{"status", "60s", true},
		{"monitor", "30s", true},
		{"promote", "120s", true},
		{"demote", "120s", true},
		{"notify", "90s", true},
		{"meta-data", "5s", true},
		{"validate-all", "5s", true},
		{"methods", "5s", true},
		{"unknown action has none", "", false},
	} {
		t.Run(tc.action, func(t *testing.T) {
			got, ok := DefaultTimeout(tc.action)
			if got != tc.timeout || ok != tc.ok {
				t.Errorf("DefaultTimeout(%q) = %q, %v; want %q, %v", tc.action, got, ok, tc.timeout, tc.ok)
			}
		})
	}
}

func TestRolesFor(t *testing.T) {
	for _, tc := range []struct {
		name         string
		major, minor string
		want         string
	}{
		{"OCF 1.0 announced: Master", "1", "0", "Master"},
		{"OCF 1.1 announced: Promoted", "1", "1", "Promoted"},
		{"nothing announced (run by hand): Promoted", "", "", "Promoted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RolesFor(tc.major, tc.minor).Promoted; got != tc.want {
				t.Errorf("RolesFor(%q, %q).Promoted = %q, want %q", tc.major, tc.minor, got, tc.want)
			}
		})
	}
}

// TestXMLValidatesWithXmllint checks the documents against the grammars ocf-tester
// (ra-api-1.dtd) and resource-agents' lint (metadata.rng) use. metadata.rng only allows
// Promoted/Unpromoted roles, so the OCF 1.0 (Master) document is checked against the DTD only.
func TestXMLValidatesWithXmllint(t *testing.T) {
	const dir = "/usr/share/resource-agents"
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed")
	}
	dtd, rng := filepath.Join(dir, "ra-api-1.dtd"), filepath.Join(dir, "metadata.rng")
	for _, f := range []string{dtd, rng} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s not installed", f)
		}
	}
	run := func(t *testing.T, doc []byte, args ...string) {
		t.Helper()
		cmd := exec.Command(xmllint, append([]string{"--noout"}, append(args, "-")...)...)
		cmd.Dir = dir // the DOCTYPE names ra-api-1.dtd relative to the document
		cmd.Stdin = bytes.NewReader(doc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("xmllint %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, tc := range []struct {
		name     string
		roles    RoleNames
		checkRNG bool
	}{
		{"OCF 1.1 roles", OCF11Roles, true},
		{"OCF 1.0 roles", OCF10Roles, false},
	} {
		doc := XML("TEST", tc.roles)
		t.Run(tc.name+"/ra-api-1.dtd", func(t *testing.T) { run(t, doc, "--valid") })
		if tc.checkRNG {
			t.Run(tc.name+"/metadata.rng", func(t *testing.T) { run(t, doc, "--relaxng", rng) })
		}
	}
}
