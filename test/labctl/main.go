// Command labctl drives the lab's measurements and renders their reports (issue #12: the
// bench and fault drivers are programs, not tests). On the lab (root, test/install-deps.sh
// done), as make faults, make soak and make bench run it:
//
//	go run ./test/labctl faults [-agents "stock paf ours"] [-faults "1 7"] [-runs 10]
//	go run ./test/labctl soak [-agents ...] [-duration 30m] [-seed 1] [-sequence "1 6 ..."]
//	go run ./test/labctl bench [-agents ...] [-rounds 3] ...
//
// Each writes its table into -results (bench/results) and prints it; the drivers themselves
// are test/labkit's (make test runs their CI subsets as tests there). With no lab, from a
// run's records:
//
//	go run ./test/labctl faults-report [-note TEXT] bench/results/faults-<date>-<HHMM>.jsonl
//	go run ./test/labctl bench-report [-note TEXT] [-agents "stock paf ours"] bench/results/<date>-<HHMM>.jsonl
//
// Each writes the .md beside the .jsonl (bench-report also the failover chart, with gnuplot)
// and prints it. The statistics and tables are test/labreport's.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/test/labkit"
	"github.com/pgsql-ra/pgsql-ra/test/labreport"
)

const usage = `usage: labctl faults [-agents "stock paf ours"] [-faults "1 7"] [-runs 10] [-results DIR]
       labctl soak [-agents "stock paf ours"] [-duration 30m] [-seed 1] [-sequence "1 6"] [-results DIR]
       labctl bench [-agents "stock paf ours"] [-rounds 3] [-monitor-calls 200] [-strace-calls 20]
                    [-failovers 10] [-no-restart-cuts 3] [-load-tps 50] [-results DIR]
       labctl faults-report [-note TEXT] FILE.jsonl
       labctl bench-report [-note TEXT] [-agents "stock paf ours"] FILE.jsonl
`

func main() {
	labkit.RunHelperIfAsked() // the lab runs this binary as its helpers too
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
}

// Run runs labctl with args (without the program's name): 0 done, 1 the run or the report
// failed, 2 bad arguments (with the usage on stderr).
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "faults", "soak", "bench":
		return drive(args[0], args[1:], stderr)
	case "faults-report":
		return faultsReport(args[1:], stdout, stderr)
	case "bench-report":
		return benchReport(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "labctl: unknown command %q\n%s", args[0], usage)
	return 2
}

// parse parses a subcommand's flags and its one argument, the records' path; "" after it has
// told stderr why.
func parse(flags *flag.FlagSet, args []string, stderr io.Writer) string {
	flags.SetOutput(io.Discard)
	if err := flags.Parse(args); err != nil {
		fmt.Fprintf(stderr, "labctl %s: %v\n%s", flags.Name(), err, usage)
		return ""
	}
	if flags.NArg() != 1 || flags.Arg(0) == "" {
		fmt.Fprintf(stderr, "labctl %s: one records file (.jsonl) expected, got %d arguments\n%s", flags.Name(), flags.NArg(), usage)
		return ""
	}
	return flags.Arg(0)
}

// faultsReport renders the fault matrix's table again from a run's records.
func faultsReport(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("faults-report", flag.ContinueOnError)
	note := flags.String("note", "", "a line for the header, e.g. how the records were gathered")
	raw := parse(flags, args, stderr)
	if raw == "" {
		return 2
	}
	md, err := labreport.WriteFaultsReport(raw, *note)
	if err != nil {
		fmt.Fprintf(stderr, "labctl faults-report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n(written to %s)\n", md, labreport.MarkdownPath(raw))
	return 0
}

// benchReport renders the bench table again from a run's records, a column per agent of
// -agents, else per agent in the records (stock, paf, ours first).
func benchReport(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("bench-report", flag.ContinueOnError)
	note := flags.String("note", "", "a line for the header, e.g. how the records were gathered")
	agentList := flags.String("agents", "", "the table's columns, e.g. \"stock paf ours\" (default: the agents in the records)")
	raw := parse(flags, args, stderr)
	if raw == "" {
		return 2
	}
	agents := strings.Fields(strings.ReplaceAll(*agentList, ",", " "))
	if len(agents) == 0 {
		records, err := labreport.ReadRecords(raw)
		if err != nil {
			fmt.Fprintf(stderr, "labctl bench-report: %v\n", err)
			return 1
		}
		for _, r := range records {
			if a, ok := r["agent"].(string); ok && a != "" && !slices.Contains(agents, a) {
				agents = append(agents, a)
			}
		}
		labreport.SortAgents(agents)
	}
	at, err := labreport.RunTime(raw)
	if err != nil {
		fmt.Fprintf(stderr, "labctl bench-report: %v\n", err)
		return 1
	}
	shown, chartErr, err := labreport.WriteBenchReport(raw, agents, at, *note)
	if chartErr != nil {
		fmt.Fprintf(stderr, "labctl bench-report: no failover chart: %v\n", chartErr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "labctl bench-report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "\n%s\n(written to %s and %s)\n", shown, labreport.MarkdownPath(raw), raw)
	return 0
}
