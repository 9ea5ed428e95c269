// Package metadata holds the agent's one parameter table. The OCF meta-data XML, the
// command-line flags and the resolution of OCF_RESKEY_* variables are all derived from it, so
// a parameter exists in exactly one place.
package metadata

// Type is the OCF content type of a parameter.
type Type string

const (
	String  Type = "string"
	Integer Type = "integer"
	Boolean Type = "boolean"
)

// Param describes one instance parameter, with the name, default and meaning of the shell
// agent it replaces (pgsql_RA), so that an existing resource definition keeps working.
type Param struct {
	Name     string
	Type     Type
	Default  string
	Required bool
	Unique   bool
	Short    string
	Long     string
}

// ConfigDefaultMarker stands for "<pgdata>/postgresql.conf" in the table: the default of
// `config` depends on the value of `pgdata`.
const ConfigDefaultMarker = "<pgdata>/postgresql.conf"

// Params lists every instance parameter in the order the old agent advertised them.
var Params = []Param{
	{Name: "pgctl", Type: String, Default: "/usr/bin/pg_ctl",
		Short: "pg_ctl command",
		Long:  "Path of pg_ctl. Used to start and promote PostgreSQL (stop signals the postmaster directly, so it works even when pg_ctl is gone)."},
	{Name: "start_opt", Type: String,
		Short: "start options",
		Long:  "Extra options for the postgres server, passed inside pg_ctl's -o after the config_file and listen address. Split into words as a shell would (quotes, a # comment); each word is passed quoted. Shell syntax that would run or expand something (an unquoted semicolon, ampersand, pipe, redirection, parenthesis or opening brace, a tilde that begins a word; a dollar sign or backquote outside single quotes) is refused. A -D or data_directory here does not move the server: it runs on pgdata."},
	{Name: "ctl_opt", Type: String,
		Short: "additional pg_ctl options",
		Long:  "Extra options for pg_ctl start, placed before -D. Split into words like a shell would (quotes are honoured) and passed as such. Refused, since pg_ctl would paste them into its shell's command line: server options (-o, --options; they belong in start_opt) and -p (the postgres beside pgctl is used); also what makes pg_ctl start nothing (help, version, -S, a mode such as restart, --) and a last option without its value."},
	{Name: "psql", Type: String, Default: "/usr/bin/psql",
		Short: "psql command",
		Long:  "Path of psql. Accepted for compatibility with the old agent; this agent talks SQL itself, so a missing psql is not an error."},
	{Name: "pgdata", Type: String, Default: "/var/lib/pgsql/data",
		Short: "data directory",
		Long:  "The PostgreSQL data directory (postmaster.pid, PG_VERSION, standby.signal live here). Must be an absolute path writable by pgdba."},
	{Name: "pgdba", Type: String, Default: "postgres",
		Short: "PostgreSQL DBA user",
		Long:  "Operating-system owner of the cluster. pg_ctl runs as this user, and the agent connects to PostgreSQL as the database role of the same name."},
	{Name: "pghost", Type: String,
		Short: "pghost",
		Long:  "If set, passed to the server as its listen address (-h) and used by the agent to connect. An absolute path is a unix socket directory."},
	{Name: "pgport", Type: Integer, Default: "5432",
		Short: "pgport",
		Long:  "Port of the server; also exported as PGPORT to the server and used in primary_conninfo."},
	{Name: "pglibs", Type: String, Default: "/usr/lib",
		Short: "PostgreSQL libraries",
		Long:  "Directory (or colon-separated directories) set as LD_LIBRARY_PATH of the processes the agent starts; empty and relative entries are left out."},
	{Name: "monitor_user", Type: String,
		Short: "monitor_user",
		Long:  "Database role for the monitor_sql query. Requires monitor_password. Empty: pgdba over the unix socket."},
	{Name: "monitor_password", Type: String,
		Short: "monitor_password",
		Long:  "Password of monitor_user. Never logged."},
	{Name: "monitor_sql", Type: String, Default: "select now();",
		Short: "monitor query",
		Long:  "Query run by the monitor of a single instance (rep_mode none or slave) and, when changed from the default, of a primary."},
	{Name: "config", Type: String, Default: ConfigDefaultMarker,
		Short: "Path to the PostgreSQL configuration file for the instance",
		Long:  "Path of postgresql.conf, passed to the server as config_file. Default: <pgdata>/postgresql.conf. A data_directory set there does not move the server: it runs on pgdata."},
	{Name: "pgdb", Type: String, Default: "template1",
		Short: "pgdb",
		Long:  "Database the agent connects to."},
	{Name: "logfile", Type: String, Default: "/dev/null",
		Short: "Path of the PostgreSQL server log file",
		Long:  "Server log file (pg_ctl -l). Created, owned by pgdba, if missing; pgdba must be able to write it."},
	{Name: "socketdir", Type: String,
		Short: "Unix socket directory for PostgreSQL",
		Long:  "Directory of the server's unix socket, used by the agent to connect when pghost is empty. Created (mode 2775, owner pgdba) at start if missing. Mandatory when postgresql.conf sets unix_socket_directories."},
	{Name: "stop_escalate", Type: Integer, Default: "90",
		Short: "stop escalation",
		Long:  "Seconds to wait after a fast shutdown before an immediate one. Capped below the stop operation's timeout; 0 or less goes straight to immediate."},
	{Name: "rep_mode", Type: String, Default: "none",
		Short: "Replication mode",
		Long:  "none: a single instance. async or sync: streaming replication as a promotable clone. slave: a plain primitive that runs as a hot standby of a primary elsewhere (master_ip)."},
	{Name: "node_list", Type: String,
		Short: "node list",
		Long:  "Space-separated names of all nodes that can run the resource. Mandatory for rep_mode async and sync."},
	{Name: "restore_command", Type: String,
		Short: "restore_command for recovery settings",
		Long:  "restore_command written into the standby's recovery settings."},
	{Name: "archive_cleanup_command", Type: String,
		Short: "archive_cleanup_command for recovery settings",
		Long:  "archive_cleanup_command written into the standby's recovery settings when set."},
	{Name: "recovery_end_command", Type: String,
		Short: "recovery_end_command for recovery settings",
		Long:  "recovery_end_command written into the standby's recovery settings when set."},
	{Name: "master_ip", Type: String,
		Short: "master ip",
		Long:  "Floating address of the primary: host of the standbys' primary_conninfo. Mandatory for rep_mode async, sync and slave."},
	{Name: "repuser", Type: String, Default: "postgres",
		Short: "replication user",
		Long:  "Role the standbys connect with (user of primary_conninfo)."},
	{Name: "primary_conninfo_opt", Type: String,
		Short: "primary_conninfo options",
		Long:  "Appended to primary_conninfo after host, port, user and application_name, e.g. keepalive settings."},
	{Name: "restart_on_promote", Type: Boolean, Default: "false",
		Short: "restart on promote",
		Long:  "Promote by restarting the standby as primary (same timeline) instead of pg_ctl promote (new timeline)."},
	{Name: "replication_slot_name", Type: String,
		Short: "replication slot name",
		Long:  "Base name of physical replication slots, one per standby: <name>_<node>. Lower-case letters, digits and underscores only."},
	{Name: "tmpdir", Type: String, Default: "/var/lib/pgsql/tmp",
		Short: "path to temp directory",
		Long:  "Agent state directory for replication: PGSQL.lock, rep_mode.conf, recovery.conf (PostgreSQL 12 and later)."},
	{Name: "xlog_check_count", Type: Integer, Default: "3",
		Short: "xlog check count",
		Long:  "Consecutive unchanged WAL-position snapshots a standby needs before it claims promotion when no primary exists."},
	{Name: "crm_attr_timeout", Type: Integer, Default: "5",
		Short: "timeout of crm_attribute forever update command",
		Long:  "Seconds allowed for one crm_attribute write of a persistent attribute."},
	{Name: "stop_escalate_in_slave", Type: Integer, Default: "90",
		Short: "stop escalation_in_slave",
		Long:  "Like stop_escalate, for stops of a standby and the restart of restart_on_promote."},
	{Name: "check_wal_receiver", Type: Boolean, Default: "false",
		Short: "check_wal_receiver",
		Long:  "Publish the wal receiver state in the <resource>-receiver-status node attribute on every monitor."},
	{Name: "max_lag", Type: Integer, Default: "0",
		Short: "largest lag of a promotable standby, in bytes",
		Long:  "A standby whose flushed WAL (pg_stat_replication.flush_lsn, as the primary sees it) is more than this many bytes behind the primary's position is not promotable: the primary gives it the score -INFINITY and logs why. A plain number of bytes; 0 (the default) is off. It only ever lowers a score: a standby within max_lag must still meet every other rule (rep_mode async: within one WAL segment; sync: the confirmed synchronous standby)."},
	{Name: "no_promote_nodes", Type: String,
		Short: "nodes never promoted",
		Long:  "Space-separated names of node_list members that are never promoted (reporting replicas): they run and stream as standbys and keep their status (HS:async), but their score stays -INFINITY, they never claim promotion at start or in the election when no primary runs, a promote there fails, and in rep_mode sync they are never named the synchronous standby. At least one node of node_list must stay promotable."},
	// Not in pgsql_RA (issue #13).
	{Name: "auto_rejoin", Type: Boolean, Default: "true",
		Short: "rejoin on evidence",
		Long: "At a start with PGSQL.lock, compare where this node's WAL ends (pg_controldata after a clean shutdown, pg_waldump after a crash) with where the latest promotion forked the history (<resource>-promote-point): " +
			"all of it in the new primary's history lifts the lock and the node starts as a standby; anything else keeps the lock, with the evidence in the log. " +
			"false: a lock always refuses the start (the old agent's behaviour). Whatever the value, a start without a lock is refused when the evidence proves this node has WAL the new primary lacks."},
	{Name: "rewind", Type: String, Default: "never",
		Short: "pg_rewind a diverged node",
		Long: "never: a node with WAL the new primary lacks stays locked until it is rebuilt (base backup). " +
			"auto: when the start's evidence proves that WAL (auto_rejoin), every promotion since switched to a new timeline (restart_on_promote=false: pg_rewind finds a fork only at a timeline switch) " +
			"and the node ran with wal_log_hints=on or data checksums, the start locks the node (if it was not), checks that master_ip answers as a primary on the timeline of the latest promotion, and runs pg_rewind as pgdba from it (user repuser, dbname=postgres, then primary_conninfo_opt, then host master_ip, port and target_session_attrs=read-write (PostgreSQL 10 and later), which it cannot override; its password kept off the command line, and sslpassword, hostaddr, service or a keyword libpq 15 to 17 does not know in it refuse the rewind), bounded by the start's timeout, " +
			"discards the node's WAL from the fork (logged: bytes and LSN range), puts the node's postgresql.conf, postgresql.auto.conf, pg_hba.conf and pg_ident.conf back, removes PGSQL.lock and starts it as a standby. " +
			"repuser then needs an ordinary (not replication) connection to the database postgres that pg_hba.conf allows, and must be a superuser or have EXECUTE on pg_ls_dir(text, boolean, boolean), pg_stat_file(text, boolean), pg_read_binary_file(text) and pg_read_binary_file(text, bigint, bigint, boolean). " +
			"Otherwise, or when pg_rewind fails, the start is refused and the lock kept, with the reason; a pg_rewind that fails after it began to change the data directory leaves it unusable: take a base backup."},
}

// Lookup returns the parameter called name.
func Lookup(name string) (Param, bool) {
	for _, p := range Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}
