package agent

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/go-multierror"

	"github.com/pgsql-ra/pgsql-ra/metadata"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// RepMode is the rep_mode parameter.
type RepMode string

const (
	RepNone  RepMode = "none"
	RepAsync RepMode = "async"
	RepSync  RepMode = "sync"
	RepSlave RepMode = "slave"
)

// Replicated reports whether the mode runs as a promotable clone.
func (m RepMode) Replicated() bool { return m == RepAsync || m == RepSync }

// Config is the typed form of the instance parameters. Field names follow the parameters.
type Config struct {
	PgCtl, Psql, PgData, PgDBA, PgHost, PgLibs      string
	CtlOpt, StartOpt                                []string
	PgPort                                          int
	MonitorUser, MonitorPassword, MonitorSQL        string
	ConfigFile, PgDB, Logfile, SocketDir            string
	StopEscalate, StopEscalateInSlave               int // seconds
	RepMode                                         RepMode
	NodeList                                        []string // lower-cased
	RestoreCommand, ArchiveCleanupCommand           string
	RecoveryEndCommand, MasterIP, RepUser           string
	PrimaryConninfoOpt, ReplicationSlotName, TmpDir string
	RestartOnPromote, CheckWALReceiver              bool
	AutoRejoin                                      bool   // issue #13: lift a lock on evidence
	Rewind                                          string // issue #13: RewindNever or RewindAuto
	XlogCheckCount, CrmAttrTimeout                  int
	// MaxLag (bytes; 0 off) and NoPromoteNodes (lower-cased) only ever lower promotability
	// (issue #13 §4, docs/design.md §4a).
	MaxLag         uint64
	NoPromoteNodes []string
	// StartProblems: start_opt and ctl_opt values that cannot be split into words or that
	// pg_ctl's shell would read other than word by word (review 34). Only the actions that
	// start the server refuse them (Agent.withStartProblems, startServer), so that a server
	// an earlier version started with them is still monitored and stopped after an upgrade.
	StartProblems *multierror.Error
}

var slotNamePattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// ParseConfig types and checks the parameters on their own (OCF_CHECK_LEVEL 0: nothing on
// this machine is looked at). Every problem is collected; the Config holds every field that
// parsed, so an action that needs only a few (stop needs pgdata) can still run.
func ParseConfig(v metadata.Values, env Env) (Config, error) {
	var errs *multierror.Error
	add := func(e *Error) { errs = multierror.Append(errs, e) }
	integer := func(name string, lowest, highest int) int {
		n, err := strconv.Atoi(strings.TrimSpace(v[name]))
		if err != nil || n < lowest || n > highest {
			add(fail(ErrConfigured, nil, "%s=%q is not an integer from %d to %d", name, v[name], lowest, highest))
			p, _ := metadata.Lookup(name)
			n, _ = strconv.Atoi(p.Default)
		}
		return n
	}
	boolean := func(name string) bool {
		b, ok := ParseBool(v[name])
		if !ok {
			add(fail(ErrConfigured, nil, "%s=%q is not a boolean (yes/no, true/false, on/off, 1/0)", name, v[name]))
		}
		return b
	}
	absolute := func(name string) string {
		if v[name] != "" && !filepath.IsAbs(v[name]) {
			add(fail(ErrConfigured, nil, "%s=%q must be an absolute path", name, v[name]))
		}
		return v[name]
	}
	for _, e := range textProblems(v) {
		add(e)
	}
	if env.TimeoutProblem != "" {
		add(fail(ErrConfigured, nil, "%s", env.TimeoutProblem))
	}

	c := Config{
		PgCtl: v["pgctl"], Psql: v["psql"],
		PgData: absolute("pgdata"), PgDBA: v["pgdba"], PgHost: v["pghost"], PgLibs: v["pglibs"],
		PgPort:      integer("pgport", 1, 65535),
		MonitorUser: v["monitor_user"], MonitorPassword: v["monitor_password"], MonitorSQL: v["monitor_sql"],
		ConfigFile: absolute("config"), PgDB: v["pgdb"], Logfile: absolute("logfile"),
		SocketDir:           absolute("socketdir"),
		StopEscalate:        integer("stop_escalate", -maxSeconds, maxSeconds),
		StopEscalateInSlave: integer("stop_escalate_in_slave", -maxSeconds, maxSeconds),
		RepMode:             RepMode(strings.ToLower(v["rep_mode"])),
		RestoreCommand:      v["restore_command"], ArchiveCleanupCommand: v["archive_cleanup_command"],
		RecoveryEndCommand: v["recovery_end_command"], MasterIP: v["master_ip"], RepUser: v["repuser"],
		PrimaryConninfoOpt: v["primary_conninfo_opt"], ReplicationSlotName: v["replication_slot_name"],
		TmpDir:           absolute("tmpdir"),
		RestartOnPromote: boolean("restart_on_promote"), CheckWALReceiver: boolean("check_wal_receiver"),
		AutoRejoin: boolean("auto_rejoin"), Rewind: strings.ToLower(strings.TrimSpace(v["rewind"])),
		XlogCheckCount: integer("xlog_check_count", 1, 1000), CrmAttrTimeout: integer("crm_attr_timeout", 1, 3600),
	}
	if strings.Contains(c.PgCtl, "/") && !filepath.IsAbs(c.PgCtl) {
		add(fail(ErrConfigured, nil, "pgctl=%q must be an absolute path or a command name", c.PgCtl))
	}
	if c.PgLibs != "" && !filepath.IsAbs(c.PgLibs) {
		add(fail(ErrConfigured, nil, "pglibs=%q must be an absolute path", c.PgLibs))
	}
	if words, err := pgctl.SplitWords(v["ctl_opt"]); err != nil {
		c.StartProblems = multierror.Append(c.StartProblems, fail(ErrConfigured, nil, "ctl_opt: %v", err))
	} else {
		c.CtlOpt = words
		if err := pgctl.CheckCtlOpt(words); err != nil {
			c.StartProblems = multierror.Append(c.StartProblems, fail(ErrConfigured, nil, "ctl_opt: %v", err))
		}
	}
	if words, err := pgctl.SplitCommandWords(v["start_opt"]); err != nil {
		c.StartProblems = multierror.Append(c.StartProblems, fail(ErrConfigured, nil, "start_opt: %v", err))
	} else {
		c.StartOpt = words
	}
	switch c.Rewind {
	case RewindNever, RewindAuto:
	default:
		add(fail(ErrConfigured, nil, "rewind=%q is not one of never, auto", v["rewind"]))
	}
	if c.PgDBA == "" {
		add(fail(ErrConfigured, nil, "pgdba must not be empty"))
	}
	if c.MonitorPassword != "" && c.MonitorUser == "" {
		add(fail(ErrConfigured, nil, "monitor_password is set but monitor_user is not"))
	}
	for _, n := range strings.Fields(v["node_list"]) {
		c.NodeList = append(c.NodeList, strings.ToLower(n))
	}
	if raw := strings.TrimSpace(v["max_lag"]); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 63)
		if err != nil {
			add(fail(ErrConfigured, nil, "max_lag=%q is not a number of bytes (a plain integer, 0 or more; 0 is off)", v["max_lag"]))
		}
		c.MaxLag = n
	}
	for _, n := range strings.Fields(v["no_promote_nodes"]) {
		c.NoPromoteNodes = append(c.NoPromoteNodes, NodeName(n))
	}
	if c.ReplicationSlotName != "" && !slotNamePattern.MatchString(c.ReplicationSlotName) {
		add(fail(ErrConfigured, nil, "replication_slot_name=%q may hold only a-z, 0-9 and _", c.ReplicationSlotName))
	}

	switch c.RepMode {
	case RepNone:
	case RepAsync, RepSync:
		if !env.Promotable {
			add(fail(ErrConfigured, nil, "rep_mode=%s needs a promotable clone (promotable=true, promoted-max=1)", c.RepMode))
		}
		if env.NotifyOff {
			add(fail(ErrConfigured, nil, "rep_mode=%s needs the clone meta attribute notify=true", c.RepMode))
		}
		if len(c.NodeList) == 0 {
			add(fail(ErrConfigured, nil, "rep_mode=%s needs node_list", c.RepMode))
		}
		if c.MasterIP == "" {
			add(fail(ErrConfigured, nil, "rep_mode=%s needs master_ip", c.RepMode))
		}
		for _, n := range c.NoPromoteNodes {
			if len(c.NodeList) > 0 && !slices.Contains(c.NodeList, n) {
				add(fail(ErrConfigured, nil, "no_promote_nodes names %q, which is not in node_list (%s)", n, strings.Join(c.NodeList, " ")))
			}
		}
		if len(c.NodeList) > 0 && !slices.ContainsFunc(c.NodeList, func(n string) bool { return !slices.Contains(c.NoPromoteNodes, n) }) {
			add(fail(ErrConfigured, nil, "no_promote_nodes names every node of node_list: no node could ever be promoted"))
		}
	case RepSlave:
		if env.Promotable {
			add(fail(ErrConfigured, nil, "rep_mode=slave must not be a promotable clone"))
		}
		if c.MasterIP == "" {
			add(fail(ErrConfigured, nil, "rep_mode=slave needs master_ip"))
		}
	default:
		add(fail(ErrConfigured, nil, "rep_mode=%q is not one of none, async, sync, slave", v["rep_mode"]))
	}
	return c, errs.ErrorOrNil()
}

// CrmAttrTimeout is crm_attr_timeout, the bound of one call of a cluster tool. An invalid
// value (validation reports it) counts as the default.
func CrmAttrTimeout(v metadata.Values) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v["crm_attr_timeout"]))
	if err != nil || n < 1 {
		p, _ := metadata.Lookup("crm_attr_timeout")
		n, _ = strconv.Atoi(p.Default)
	}
	return time.Duration(n) * time.Second
}

// maxSeconds bounds the parameters in seconds: a day, longer than any operation may take
// (9223372037 s overflowed time.Duration into an immediate shutdown, #11).
const maxSeconds = 24 * 60 * 60

// pathParams are the parameters that name files or directories. pg_ctl puts pgdata and
// logfile, inside double quotes, into a command line for /bin/sh (as pgdba), and the agent
// writes paths into postgresql.conf and its own files: they may hold no control character
// and none of shellMeta.
var pathParams = []string{"pgctl", "psql", "pgdata", "pglibs", "config", "logfile", "socketdir", "tmpdir"}

// quotedShellMeta are the characters a shell reads inside a double-quoted string: a `\\`
// there becomes `\`, and a backslash before a newline joins two names, either of which can
// name another existing path (review 39).
const quotedShellMeta = "\"$`\\"

// shellMeta are characters a shell treats specially, inside double quotes or out.
const shellMeta = "\"'$`\\;&|<>(){}*?[]!#~"

// textProblems: no value may hold a control character (a newline breaks the lines the
// agent writes into postgresql.conf and its logs, an escape sequence reaches a terminal
// through an exit reason); tabs are allowed outside paths. Paths hold no shell
// metacharacter either (#11).
func textProblems(v metadata.Values) []*Error {
	var out []*Error
	for _, p := range metadata.Params {
		value, isPath := v[p.Name], slices.Contains(pathParams, p.Name)
		bad := strings.IndexFunc(value, func(r rune) bool { return unicode.IsControl(r) && (isPath || r != '\t') })
		switch {
		case bad >= 0 && p.Name == "monitor_password":
			out = append(out, fail(ErrConfigured, nil, "monitor_password holds a control character"))
		case bad >= 0:
			out = append(out, fail(ErrConfigured, nil, "%s=%q holds a control character", p.Name, value))
		case isPath && strings.ContainsAny(value, shellMeta) && (p.Name != "pgctl" || strings.Contains(value, "/")):
			out = append(out, fail(ErrConfigured, nil, "%s=%q holds a shell metacharacter (one of %s): pg_ctl passes paths through /bin/sh",
				p.Name, value, shellMeta))
		}
	}
	return out
}

// ParseBool reads a boolean as Pacemaker and the shell library do (yes/true/on/1/ja/y and
// their negatives, any case). ok is false for anything else; the old agent silently read
// such a value as false.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "on", "1", "ja":
		return true, true
	case "no", "n", "false", "off", "0", "nein":
		return false, true
	}
	return false, false
}
