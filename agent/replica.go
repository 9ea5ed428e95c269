package agent

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// replica holds what the actions of rep_mode async and sync share.
type replica struct {
	a      *Agent
	c      Config
	sys    System
	self   string
	names  attrNames
	pub    *publisher
	layout pgctl.Layout
	server pgctl.Server
	// effects, when set, stand in for server's in rewind (tests record their order).
	effects rewindEffects
	// cleanPrimaryShutdown: before this start the data directory was a primary's, shut
	// down cleanly (control data "shut down").
	cleanPrimaryShutdown bool
	// catchUp is the primary's position given to this start (see CaughtUpTo).
	catchUp    WALPoint
	hasCatchUp bool
	// followNobody: this start runs a locked crashed primary as a standby with no
	// primary_conninfo (MayRunLockedStandby).
	followNobody bool
}

// CommandRunner runs cluster tools (crm_attribute, crm_mon, crm_node) for crmattr: argv
// through exec, C locale, a fixed PATH, in its own process group, bounded by ctx. CIB_file
// is passed through so tests can point the tools at a CIB file instead of a live cluster.
// Each call is bounded by perCall (crm_attr_timeout) as well as by ctx: attrd or the CIB can
// hang, and one hung call must not use up the whole action.
func CommandRunner(getenv func(string) string, perCall time.Duration) crmattr.RunFunc {
	return func(ctx context.Context, argv []string) ([]byte, int, error) {
		if perCall > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, perCall)
			defer cancel()
		}
		env := []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		for _, name := range []string{"CIB_file", "CIB_shadow"} {
			if v := getenv(name); v != "" {
				env = append(env, name+"="+v)
			}
		}
		res, err := pgctl.Run(ctx, pgctl.Command{Argv: argv, Env: env})
		return res.Stdout, res.ExitCode, err
	}
}

func (a *Agent) newReplica(ctx context.Context, c Config, sys System) *replica {
	r := &replica{a: a, c: c, sys: sys, names: attrNames{resource: a.Env.Resource()}}
	r.self = a.localNode(ctx)
	// Only recurring monitors trust what earlier actions remembered: every other action may
	// follow a role change, after which attributes this node wrote may have been rewritten by
	// another node (a primary writes its standbys' status, data-status and score).
	trust := a.Env.Action == "monitor" && !a.Env.IsProbe()
	r.pub = newPublisher(a.Attrs, a.Env.Resource(), a.Env.RunDir, trust, a.Log)
	r.layout = pgctl.Layout{Version: sys.Version, PgData: c.PgData, TmpDir: c.TmpDir, Config: c.ConfigFile}
	r.server = c.server(sys.Owner)
	if sys.PgCtl != "" {
		r.server.PgCtl = sys.PgCtl
	}
	return r
}

// localNode is this node's name as Pacemaker knows it: from the action's meta data, else
// crm_node -n, else the host name; lower-cased like node_list.
func (a *Agent) localNode(ctx context.Context) string {
	if a.Env.OnNode != "" {
		return a.Env.OnNode
	}
	if a.Tools != nil {
		if out, code, err := a.Tools(ctx, []string{"crm_node", "-n"}); err == nil && code == 0 {
			if name := NodeName(string(out)); name != "" {
				return name
			}
		}
	}
	host, _ := os.Hostname()
	return NodeName(host)
}

// others are the nodes of node_list except this one.
func (r *replica) others() []string {
	var out []string
	for _, n := range r.c.NodeList {
		if n != r.self {
			out = append(out, n)
		}
	}
	return out
}

// connect opens the agent's own session: pgdba over the socket.
func (r *replica) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgctl.Connect(ctx, pgctl.ConnParams{Host: r.c.connHost(), Port: r.c.PgPort,
		Database: r.c.PgDB, User: r.c.PgDBA, PeerAs: &r.sys.Owner})
}

// localState reads the running server's role and positions.
func (r *replica) localState(ctx context.Context) (pgctl.LocalState, error) {
	conn, err := r.connect(ctx)
	if err != nil {
		return pgctl.LocalState{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return pgctl.QueryLocalState(ctx, conn, r.sys.Version)
}

// primaryConninfo is the standby's primary_conninfo: the primary at master_ip as repuser.
// primary_conninfo_opt comes last, may override them and may hold the password. (pg_rewind's
// source is built apart, rewindSource: there the agent's host, port and
// target_session_attrs come last.)
func (r *replica) primaryConninfo() string {
	conninfo := []string{
		"host=" + pgctl.QuoteConninfoValue(r.c.MasterIP),
		"port=" + strconv.Itoa(r.c.PgPort),
		"user=" + pgctl.QuoteConninfoValue(r.c.RepUser),
		"application_name=" + pgctl.QuoteConninfoValue(r.self),
	}
	// Only a primary will do: right after a demote the VIP is still on this node, and
	// without this the new standby streams from itself and never follows the new primary
	// (seen in the lab: it then also held up a fast shutdown for wal_sender_timeout). A 9.x
	// server's libpq may not know the keyword, and would refuse every connection for it.
	if r.sys.Version.Has(pgctl.TargetSessionAttrs) {
		conninfo = append(conninfo, "target_session_attrs=read-write")
	}
	if r.c.PrimaryConninfoOpt != "" {
		conninfo = append(conninfo, r.c.PrimaryConninfoOpt)
	}
	return strings.Join(conninfo, " ")
}

// standbySettings are the recovery settings this node runs with as a standby.
func (r *replica) standbySettings() pgctl.StandbySettings {
	s := pgctl.StandbySettings{
		PrimaryConninfo:       r.primaryConninfo(),
		RestoreCommand:        r.c.RestoreCommand,
		ArchiveCleanupCommand: r.c.ArchiveCleanupCommand,
		RecoveryEndCommand:    r.c.RecoveryEndCommand,
	}
	if r.c.ReplicationSlotName != "" {
		s.PrimarySlotName = SlotName(r.c.ReplicationSlotName, r.self)
	}
	if r.followNobody {
		// It replays its own WAL only: no stream, no slot, no archive (a later primary's
		// timeline may be there: fourth review of issue #13), no timeline switch; and it
		// cleans no archive up to its own restart points (review 33 S1).
		s.PrimaryConninfo, s.PrimarySlotName, s.RestoreCommand, s.CurrentTimeline = "", "", "", true
		s.ArchiveCleanupCommand = ""
	}
	return s
}

// stopServer asks PostgreSQL to stop: fast, then immediate after escalateAfter seconds,
// capped to 1/share of the time left. It keeps back a reserve of the action's time for what
// follows a failure (status UNKNOWN, the lock, the exit reason), which otherwise found its
// own deadline spent.
func (r *replica) stopServer(ctx context.Context, escalateAfter, share int) (pgctl.ShutdownMode, error) {
	deadline := deadlineOf(ctx)
	stopCtx, cancel := context.WithDeadline(ctx, deadline.Add(-min(time.Second, time.Until(deadline)/5)))
	defer cancel()
	escalate := pgctl.EscalationDelay(time.Duration(escalateAfter)*time.Second, time.Until(deadlineOf(stopCtx))/time.Duration(share))
	return r.server.Stop(stopCtx, escalate)
}

// setStatus writes a node's <rsc>-status.
func (r *replica) setStatus(ctx context.Context, node, value string) error {
	_, err := r.pub.set(ctx, node, r.names.Status(), value)
	return err
}

// get reads an attribute from the cluster, bypassing the publisher's memory.
func (r *replica) get(ctx context.Context, node string, a Attr) (string, bool, error) {
	return r.a.Attrs.Get(ctx, node, a.Name, a.Lifetime)
}

// del deletes an attribute in the cluster.
func (r *replica) del(ctx context.Context, node string, a Attr) error {
	return r.a.Attrs.Delete(ctx, node, a.Name, a.Lifetime)
}
