package metadata

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// Action is an OCF action advertised in the meta-data, with the old agent's timeouts.
type Action struct {
	Name     string
	Timeout  string
	Interval string
	Depth    string
	Promoted bool // the monitor that runs on the promoted instance
}

// Actions are advertised in this order. Timeouts and intervals are those of the shell agent,
// so `pcs resource create` fills in the same operation defaults as before.
var Actions = []Action{
	{Name: "start", Timeout: "120s"},
	{Name: "stop", Timeout: "120s"},
	{Name: "status", Timeout: "60s"},
	{Name: "monitor", Depth: "0", Timeout: "30s", Interval: "30s"},
	{Name: "monitor", Depth: "0", Timeout: "30s", Interval: "29s", Promoted: true},
	{Name: "promote", Timeout: "120s"},
	{Name: "demote", Timeout: "120s"},
	{Name: "notify", Timeout: "90s"},
	{Name: "meta-data", Timeout: "5s"},
	{Name: "validate-all", Timeout: "5s"},
	{Name: "methods", Timeout: "5s"},
}

// ActionNames lists the actions for the `methods` action.
func ActionNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, a := range Actions {
		if !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	return names
}

// DefaultTimeout returns the advertised timeout of an action, used when Pacemaker passes none.
func DefaultTimeout(action string) (string, bool) {
	for _, a := range Actions {
		if a.Name == action {
			return a.Timeout, true
		}
	}
	return "", false
}

// RoleNames are the words Pacemaker understands for the promoted role.
type RoleNames struct{ Promoted string }

var (
	// OCF11Roles are the OCF 1.1 role names (Pacemaker 2.1 and later).
	OCF11Roles = RoleNames{Promoted: "Promoted"}
	// OCF10Roles are for a Pacemaker that announces OCF 1.0 (OCF_RA_VERSION_MINOR=0).
	OCF10Roles = RoleNames{Promoted: "Master"}
)

// RolesFor picks the role vocabulary from the OCF version Pacemaker announces.
func RolesFor(raVersionMajor, raVersionMinor string) RoleNames {
	if raVersionMajor == "1" && raVersionMinor == "0" {
		return OCF10Roles
	}
	return OCF11Roles
}

const longDescription = `Resource agent for PostgreSQL, a drop-in replacement of the pgsql agent used by
CFEngine Enterprise hubs. It manages a single instance (rep_mode none), a hot standby of a
primary elsewhere (rep_mode slave), or a streaming-replication pair or group as a promotable
clone (rep_mode async or sync), with the same parameters, node attributes and PGSQL.lock as the
shell agent it replaces.`

type xmlText struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type xmlContent struct {
	Type    string `xml:"type,attr"`
	Default string `xml:"default,attr"`
}

type xmlParam struct {
	Name      string     `xml:"name,attr"`
	Unique    string     `xml:"unique,attr"`
	Required  string     `xml:"required,attr"`
	LongDesc  xmlText    `xml:"longdesc"`
	ShortDesc xmlText    `xml:"shortdesc"`
	Content   xmlContent `xml:"content"`
}

type xmlAction struct {
	Name     string `xml:"name,attr"`
	Timeout  string `xml:"timeout,attr"`
	Interval string `xml:"interval,attr,omitempty"`
	Depth    string `xml:"depth,attr,omitempty"`
	Role     string `xml:"role,attr,omitempty"`
}

type xmlAgent struct {
	XMLName    xml.Name    `xml:"resource-agent"`
	Name       string      `xml:"name,attr"`
	Version    string      `xml:"version,attr"`
	OCFVersion string      `xml:"version"`
	LongDesc   xmlText     `xml:"longdesc"`
	ShortDesc  xmlText     `xml:"shortdesc"`
	Params     []xmlParam  `xml:"parameters>parameter"`
	Actions    []xmlAction `xml:"actions>action"`
}

// DefaultPGData is the default of the pgdata parameter; the meta-data shows config's default
// expanded with it, as the shell agent did.
func DefaultPGData() string {
	p, _ := Lookup("pgdata")
	return p.Default
}

// ExpandDefault returns a parameter's default with ConfigDefaultMarker resolved for pgdata.
func ExpandDefault(p Param, pgdata string) string {
	return strings.Replace(p.Default, "<pgdata>", pgdata, 1)
}

// XML renders the meta-data document. It is valid against resource-agents' ra-api-1.dtd
// (what ocf-tester checks) and metadata.rng (what resource-agents lints its agents with).
func XML(agentVersion string, roles RoleNames) []byte {
	doc := xmlAgent{
		Name:       "pgsql",
		Version:    agentVersion,
		OCFVersion: "1.0",
		LongDesc:   xmlText{Lang: "en", Text: strings.Join(strings.Fields(longDescription), " ")},
		ShortDesc:  xmlText{Lang: "en", Text: "Manages a PostgreSQL database instance, standalone or replicated"},
	}
	for _, p := range Params {
		doc.Params = append(doc.Params, xmlParam{
			Name:      p.Name,
			Unique:    boolDigit(p.Unique),
			Required:  boolDigit(p.Required),
			LongDesc:  xmlText{Lang: "en", Text: p.Long},
			ShortDesc: xmlText{Lang: "en", Text: p.Short},
			Content:   xmlContent{Type: string(p.Type), Default: ExpandDefault(p, DefaultPGData())},
		})
	}
	for _, a := range Actions {
		x := xmlAction{Name: a.Name, Timeout: a.Timeout, Interval: a.Interval, Depth: a.Depth}
		if a.Promoted {
			x.Role = roles.Promoted
		}
		doc.Actions = append(doc.Actions, x)
	}
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("metadata: marshal of a static document failed: " + err.Error())
	}
	var out bytes.Buffer
	out.WriteString(xml.Header)
	out.WriteString(`<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">` + "\n")
	out.Write(body)
	out.WriteString("\n")
	return out.Bytes()
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
