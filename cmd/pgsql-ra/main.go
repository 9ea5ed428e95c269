// Command pgsql-ra is the pgsql OCF resource agent: Pacemaker runs it as
// /usr/lib/ocf/resource.d/cfengine/pgsql with the action as its argument.
package main

import (
	"context"
	"fmt"
	"os"

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

	env := agent.ReadEnv(action, os.Getenv)
	log := agent.NewLogger(agent.ReadLogSettings(env.Instance, os.Getenv, agent.IsTerminal(os.Stderr)), os.Stderr)
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), env.Budget())
	defer cancel()

	params := metadata.Resolve(flags, os.LookupEnv)
	tools := agent.CommandRunner(os.Getenv, agent.CrmAttrTimeout(params))
	a := &agent.Agent{
		Attrs:   crmattr.NewCLI(tools, env.FeatureSet),
		Tools:   tools,
		Env:     env,
		Params:  params,
		Log:     log,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
	}
	return int(a.Run(ctx))
}
