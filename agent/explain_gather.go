package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-multierror"
	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// explain runs `pgsql-ra explain` (issue #13 §2): it gathers the facts and prints the
// explanation, as text or (json) as JSON. It only reads: no attribute is written, no file is
// created (the publisher, whose memory is a file, is not used), PostgreSQL gets read-only
// queries. A fact that cannot be gathered is reported, never fatal: explain is what an admin
// runs when something is wrong.
func (a *Agent) explain(ctx context.Context, asJSON bool) RC {
	e := Explain(a.explainFacts(ctx))
	if asJSON {
		b, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			return a.report(fail(ErrGeneric, err, "explain: cannot render JSON"))
		}
		a.Stdout.Write(append(b, '\n'))
		return Success
	}
	fmt.Fprint(a.Stdout, e.Text())
	return Success
}

// explainCatalogue is every attribute explain shows for a node (docs/design.md §6).
func explainCatalogue(n attrNames) []Attr {
	return []Attr{n.Status(), n.DataStatus(), n.Score(), n.ReceiverStatus(), n.MasterBaseline(), n.XlogLoc(),
		n.XlogTimeline(), n.PrePromotePosition(), n.DemotedLSN(), n.Handover(), n.CatchUpTarget(), n.PromotePoint()}
}

func (a *Agent) explainFacts(ctx context.Context) ExplainFacts {
	// The clone's meta attributes are not at hand when run by hand: the parameters are
	// checked as a promotable clone with notifications would have them.
	env := a.Env
	env.Promotable, env.NotifyOff = true, false
	c, cfgErr := ParseConfig(a.Params, env)
	f := ExplainFacts{Resource: a.Env.Resource(), Config: c, Attrs: map[string]map[string]AttrRead{}}
	for _, e := range problems(multierror.Append(cfgErr, c.StartProblems).ErrorOrNil()) {
		f.ConfigProblems = append(f.ConfigProblems, e.Reason)
	}
	sys, sysErr := CheckSystem(c, env)
	for _, e := range problems(sysErr) {
		f.Problems = append(f.Problems, e.Reason)
	}
	r := &replica{a: a, c: c, sys: sys, names: attrNames{resource: f.Resource}, server: c.server(sys.Owner)}
	if sys.PgCtl != "" {
		r.server.PgCtl = sys.PgCtl
	}
	r.self = a.localNode(ctx)
	f.Node = r.self

	pm, err := pgctl.FindPostmaster(c.PgData)
	switch {
	case err != nil:
		f.Problems = append(f.Problems, "whether PostgreSQL runs: "+err.Error())
	case pm.Running:
		f.Running, f.PID = true, pm.PID
		a.explainServer(ctx, r, &f)
	default:
		if cd, err := r.server.ReadControlData(ctx); err == nil {
			f.Control = &cd
		} else {
			f.Problems = append(f.Problems, "control data: "+err.Error())
		}
		if c.RepMode.Replicated() {
			// The start's rejoin evidence (read-only: pg_controldata, pg_waldump, history files).
			own := r.walEnd(ctx)
			f.WALEnd = &own
		}
	}

	if c.RepMode.Replicated() {
		for _, node := range c.NodeList {
			f.Attrs[node] = map[string]AttrRead{}
			for _, at := range explainCatalogue(r.names) {
				var read AttrRead
				if at == r.names.Score() {
					read.Value, read.Found, read.Err = a.Attrs.GetPromotionScore(ctx, f.Resource, node)
				} else {
					read.Value, read.Found, read.Err = r.get(ctx, node, at)
				}
				f.Attrs[node][at.Name] = read
			}
		}
		if view, err := crmattr.ReadClusterView(ctx, a.Tools, f.Resource); err == nil {
			f.Promoted, f.PromotedRead = view.Promoted, true
		} else {
			f.Problems = append(f.Problems, "where Pacemaker runs the resource promoted: "+err.Error())
		}
		info, locked, err := ReadLock(c.TmpDir)
		f.Locked, f.Lock = locked, info
		if err != nil {
			f.LockErr = err.Error()
		}
	}
	return f
}

// explainServer reads the running server's state and, on a primary, its standbys.
func (a *Agent) explainServer(ctx context.Context, r *replica, f *ExplainFacts) {
	conn, err := r.connect(ctx)
	if err != nil {
		f.Problems = append(f.Problems, "PostgreSQL does not answer: "+err.Error())
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	st, err := pgctl.QueryLocalState(ctx, conn, r.sys.Version)
	if err != nil {
		f.Problems = append(f.Problems, "PostgreSQL's state: "+err.Error())
		return
	}
	f.State = &st
	if st.InRecovery || !r.c.RepMode.Replicated() {
		return
	}
	rows, err := pgctl.QueryReplication(ctx, conn, r.sys.Version)
	if err != nil {
		f.Problems = append(f.Problems, "pg_stat_replication: "+err.Error())
		return
	}
	f.Rows, f.RowsRead = rows, true
	if r.c.RepMode == RepSync {
		if named := pgctl.ReadSyncStandbys(r.c.TmpDir); len(named) > 0 {
			f.SyncNamed = named[0]
		}
		f.Confirm = readSyncConfirm(r.c.TmpDir)
	}
}
