package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/metadata"
)

// Agent runs one OCF action.
type Agent struct {
	Env     Env
	Params  metadata.Values
	Log     *Logger
	Stdout  io.Writer
	Stderr  io.Writer
	Version string          // the agent's own version, for meta-data
	Attrs   crmattr.Store   // node attributes (replication modes)
	Tools   crmattr.RunFunc // cluster tools (crm_node, crm_mon)
	JSON    bool            // explain: print JSON
}

// Run performs the action and returns its exit code. Every failure is logged and leaves
// exactly one exit reason on stderr.
func (a *Agent) Run(ctx context.Context) RC {
	switch a.Env.Action {
	case "meta-data":
		a.Stdout.Write(metadata.XML(a.Version, a.Env.Roles))
		return Success
	case "methods":
		fmt.Fprintln(a.Stdout, strings.Join(metadata.ActionNames(), "\n"))
		return Success
	case "manpage": // hidden: pgsql-ra manpage | man -l -
		fmt.Fprint(a.Stdout, metadata.ManPage(a.Version))
		return Success
	case "usage", "help":
		fmt.Fprintln(a.Stdout, Usage)
		return Success
	case "explain": // by hand only, not an OCF action: changes nothing (issue #13 §2)
		return a.explain(ctx, a.JSON)
	}

	c, cfgErr := ParseConfig(a.Params, a.Env)
	cfgErr = a.withStartProblems(c, cfgErr)
	switch a.Env.Action {
	case "validate-all":
		if cfgErr == nil && a.Env.CheckLevel >= 10 {
			sys, sysErr := CheckSystem(c, a.Env)
			if problem := pgCtlLocationProblem(sys.PgCtl); problem != nil {
				sysErr = multierror.Append(sysErr, problem)
			}
			cfgErr = sysErr
		}
		return a.report(cfgErr)
	case "stop":
		if cfgErr == nil && c.RepMode.Replicated() {
			sys, _ := CheckSystem(c, a.Env) // stop goes on with what could be found
			r := a.newReplica(ctx, c, sys)
			defer r.pub.save()
			return a.report(r.stop(ctx))
		}
		return a.report(a.stop(ctx, c, cfgErr))
	case "monitor", "status":
		if cfgErr == nil && c.RepMode.Replicated() && a.Env.Action == "monitor" {
			sys, err := CheckSystem(c, a.Env)
			if err != nil {
				return a.monitorRC(a.monitor(ctx, c, err))
			}
			r := a.newReplica(ctx, c, sys)
			defer r.pub.save()
			return a.monitorRC(r.monitor(ctx))
		}
		return a.monitorRC(a.monitor(ctx, c, cfgErr))
	case "start", "promote", "demote", "notify":
	default:
		return a.report(fail(ErrUnimplemented, nil, "action %q is not implemented", a.Env.Action))
	}

	if cfgErr != nil {
		return a.report(cfgErr)
	}
	if !c.RepMode.Replicated() {
		switch a.Env.Action {
		case "notify":
			return Success
		case "start":
			sys, err := CheckSystem(c, a.Env)
			if err != nil {
				return a.report(err)
			}
			return a.report(a.start(ctx, c, sys))
		}
		return a.report(fail(ErrUnimplemented, nil, "%s: rep_mode=%s is not promotable (use rep_mode=async or sync in a promotable clone)", a.Env.Action, c.RepMode))
	}
	sys, err := CheckSystem(c, a.Env)
	if err != nil {
		return a.report(err)
	}
	r := a.newReplica(ctx, c, sys)
	defer r.pub.save()
	switch a.Env.Action {
	case "start":
		return a.report(r.start(ctx))
	case "promote":
		return a.report(r.promote(ctx))
	case "demote":
		return a.report(r.demote(ctx))
	default:
		return a.report(r.notify(ctx))
	}
}

// withStartProblems adds c's StartProblems to cfgErr for the actions that start the server
// (demote restarts it as a standby, promote with restart_on_promote), before they change
// anything. The others go on with a warning: a monitor, or a promote that does not restart,
// answering 6 would have Pacemaker stop, everywhere, a resource an earlier version started
// with such options (reviews 34, 35). startServer refuses them too, whatever the action.
func (a *Agent) withStartProblems(c Config, cfgErr error) error {
	if c.StartProblems == nil {
		return cfgErr
	}
	switch action := a.Env.Action; {
	case action == "start", action == "demote", action == "validate-all", action == "promote" && c.RestartOnPromote:
		return multierror.Append(cfgErr, c.StartProblems)
	}
	for _, e := range problems(c.StartProblems) {
		a.Log.Warn(e.Reason + ": the next start or demote refuses it")
	}
	return cfgErr
}

// Usage is printed for `usage` and when no action is given.
const Usage = `usage: pgsql-ra {start|stop|status|monitor|promote|demote|notify|validate-all|meta-data|methods} [--PARAMETER=VALUE ...]
       pgsql-ra explain [--resource NAME] [--json] [--PARAMETER=VALUE ...]

Parameters come from OCF_RESKEY_<name> (as Pacemaker passes them) or from flags of the same
name, e.g. pgsql-ra monitor --pgdata=/var/lib/pgsql/data. "pgsql-ra meta-data" lists them.
explain, run by hand on a node, says what the agent sees and would decide there, and changes
nothing; --resource reads the parameters of the resource NAME from the CIB.`

// report turns an action's outcome into its exit code: each problem is logged, and the most
// severe one (with a count of the others) becomes the single exit reason.
func (a *Agent) report(err error) RC {
	if err == nil {
		return Success
	}
	errs := problems(err)
	for _, e := range errs {
		if e.Err != nil {
			a.Log.Error(e.Reason, "cause", e.Err)
		} else {
			a.Log.Error(e.Reason)
		}
	}
	rc, reason := summarize(errs)
	fmt.Fprintf(a.Stderr, "%s%s\n", a.Env.ReasonTag, truncateReason(reason))
	return rc
}

// monitorRC maps a monitor outcome: a state (not running, promoted) is an answer, not a
// failure, and gets no exit reason.
func (a *Agent) monitorRC(err error) RC {
	var state stateAnswer
	if errors.As(err, &state) {
		return RC(state)
	}
	return a.report(err)
}

// stateAnswer is a monitor result that is not an error: NotRunning or RunningPromoted.
type stateAnswer RC

func (s stateAnswer) Error() string { return RC(s).String() }

// errNotRunning is the monitor's "cleanly stopped".
var errNotRunning error = stateAnswer(NotRunning)
