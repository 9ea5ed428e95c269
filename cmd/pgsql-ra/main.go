// Command pgsql-ra is the pgsql OCF resource agent: Pacemaker runs it as
// /usr/lib/ocf/resource.d/cfengine/pgsql with the action as its argument.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/agent"
	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/metadata"
)

// version is stamped at build time (-ldflags "-X main.version=...").
var version = "0.0.0-dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	flags := metadata.NewFlagSet("pgsql-ra")
	flags.ParseErrorsAllowlist.UnknownFlags = true // OCF: extra arguments are ignored
	showVersion := flags.Bool("version", false, "print the agent's version and exit")
	asJSON := flags.Bool("json", false, "explain: print the facts and answers as JSON")
	resource := flags.String("resource", "", "explain: read the parameters of this resource from the CIB")
	flags.Usage = func() {}
	if err := flags.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Println(agent.Usage)
		return int(agent.ErrArgs)
	}
	if *showVersion {
		fmt.Println("pgsql-ra", version)
		return 0
	}
	action := os.Getenv("__OCF_ACTION")
	if flags.NArg() > 0 {
		action = flags.Arg(0)
	}
	if action == "" {
		fmt.Println(agent.Usage)
		return int(agent.ErrArgs)
	}

	getenv, lookupEnv := os.Getenv, os.LookupEnv
	if *resource != "" {
		// explain --resource: the CIB's instance parameters come before OCF_RESKEY_* (flags
		// still win), and the resource's name is the primitive's.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cibParams, primitive, err := crmattr.ResourceParams(ctx, agent.CommandRunner(os.Getenv, 10*time.Second), *resource)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s--resource %s: %v\n", agent.DefaultExitReasonPrefix, *resource, err)
			return int(agent.ErrConfigured)
		}
		getenv = func(name string) string {
			if name == "OCF_RESOURCE_INSTANCE" {
				return primitive
			}
			return os.Getenv(name)
		}
		lookupEnv = func(name string) (string, bool) {
			if v, ok := cibParams[strings.TrimPrefix(name, metadata.EnvPrefix)]; ok && strings.HasPrefix(name, metadata.EnvPrefix) {
				return v, true
			}
			return os.LookupEnv(name)
		}
	}
	env := agent.ReadEnv(action, getenv)
	log := agent.NewLogger(agent.ReadLogSettings(env.Instance, getenv, agent.IsTerminal(os.Stderr)), os.Stderr)
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), env.Budget())
	defer cancel()

	params := metadata.Resolve(flags, lookupEnv)
	tools := agent.CommandRunner(getenv, agent.CrmAttrTimeout(params))
	attrs := crmattr.NewCLI(tools, env.FeatureSet)
	// A quarter of the action's time for riding out crm_attribute failures (issue #12).
	attrs.Retry = &crmattr.Retry{Budget: env.Budget() / 4, Warn: log.Warn}
	a := &agent.Agent{
		Attrs:   attrs,
		Tools:   tools,
		Env:     env,
		Params:  params,
		Log:     log,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
		JSON:    *asJSON,
	}
	return int(a.Run(ctx))
}
