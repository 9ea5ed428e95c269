package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/test/labkit"
)

// drive runs one of the lab's drivers (faults, soak, bench) with its flags: 0 every step
// passed, 1 one failed (its output says which), 2 bad arguments.
func drive(name string, args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	agentList := flags.String("agents", "stock paf ours", "the agents, in the order they run")
	results := flags.String("results", "bench/results", "the directory the tables and records go to")
	var body func(t labkit.T)
	var check func() error
	switch name {
	case "faults":
		faults := flags.String("faults", "", "the faults to run, ids or names (default: all)")
		runs := flags.Int("runs", 10, "runs per fault and agent")
		check = func() error {
			if unknown := labkit.UnknownFaults(fields(*faults), true); len(unknown) > 0 {
				return fmt.Errorf("-faults: no such fault %q (ids or names of test/labreport/catalogue.go)", unknown)
			}
			return atLeastOne("-runs", *runs)
		}
		body = func(t labkit.T) {
			labkit.RunFaults(t, labkit.FaultsConfig{Agents: fields(*agentList), Faults: fields(*faults), Runs: *runs, ResultsDir: *results})
		}
	case "soak":
		duration := flags.Duration("duration", 30*time.Minute, "how long each agent's soak runs")
		seed := flags.Int64("seed", 1, "the random faults' seed")
		sequence := flags.String("sequence", "", "fault ids to run first (a violation prints the sequence to replay)")
		check = func() error {
			if unknown := labkit.UnknownFaults(fields(*sequence), false); len(unknown) > 0 {
				return fmt.Errorf("-sequence: no such fault id %q", unknown)
			}
			if *duration <= 0 {
				return fmt.Errorf("-duration %s: must be positive", *duration)
			}
			return nil
		}
		body = func(t labkit.T) {
			labkit.RunSoak(t, labkit.SoakConfig{Agents: fields(*agentList), Duration: *duration, Seed: *seed, Replay: *sequence, ResultsDir: *results})
		}
	case "bench":
		cfg := labkit.BenchConfig{}
		flags.IntVar(&cfg.Rounds, "rounds", 3, "rounds; each gives every agent a fresh lab, in a rotating order")
		flags.IntVar(&cfg.MonitorCalls, "monitor-calls", 200, "monitor calls per role")
		flags.IntVar(&cfg.StraceCalls, "strace-calls", 20, "more monitor calls per role, under strace")
		flags.IntVar(&cfg.Failovers, "failovers", 10, "power cuts of the primary per agent")
		flags.IntVar(&cfg.NoRestartCuts, "no-restart-cuts", 3, "more power cuts with restart_on_promote=false")
		flags.IntVar(&cfg.LoadTPS, "load-tps", 50, "pgbench's rate during the steps under load (0: none)")
		check = func() error {
			if err := atLeastOne("-rounds", cfg.Rounds); err != nil {
				return err
			}
			for _, n := range []struct {
				flag  string
				value int
			}{{"-monitor-calls", cfg.MonitorCalls}, {"-strace-calls", cfg.StraceCalls}, {"-failovers", cfg.Failovers}, {"-no-restart-cuts", cfg.NoRestartCuts}, {"-load-tps", cfg.LoadTPS}} {
				if n.value < 0 {
					return fmt.Errorf("%s %d: must not be negative", n.flag, n.value)
				}
			}
			return nil
		}
		body = func(t labkit.T) {
			cfg.Agents, cfg.ResultsDir = fields(*agentList), *results
			labkit.RunBench(t, cfg)
		}
	}
	err := flags.Parse(args)
	if err == nil && flags.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if err == nil {
		err = check()
	}
	if err == nil {
		err = knownAgents(fields(*agentList))
	}
	if err == nil && *results == "" {
		err = fmt.Errorf("-results: a directory is needed")
	}
	if err != nil {
		fmt.Fprintf(stderr, "labctl %s: %v\n%s", name, err, usage)
		return 2
	}
	return labkit.Main(name, body)
}

// fields splits a list given as "a b" or "a,b".
func fields(list string) []string {
	return strings.Fields(strings.ReplaceAll(list, ",", " "))
}

func atLeastOne(flag string, n int) error {
	if n < 1 {
		return fmt.Errorf("%s %d: at least 1", flag, n)
	}
	return nil
}

// knownAgents refuses an empty list and any agent the lab cannot install.
func knownAgents(agents []string) error {
	if len(agents) == 0 {
		return fmt.Errorf("-agents: at least one of stock, paf, ours")
	}
	for _, a := range agents {
		if a != "stock" && a != "paf" && a != "ours" {
			return fmt.Errorf("-agents: unknown agent %q (stock, paf, ours)", a)
		}
	}
	return nil
}
