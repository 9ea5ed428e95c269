package metadata

import (
	"strings"

	"github.com/spf13/pflag"
)

// Values are resolved parameter values keyed by parameter name. Every parameter of the table
// has an entry.
type Values map[string]string

// EnvPrefix is how Pacemaker passes instance parameters.
const EnvPrefix = "OCF_RESKEY_"

// NewFlagSet returns a flag set with one string flag per parameter (typed checks happen in
// the agent, so a bad value gets an OCF exit reason rather than a flag-parsing error).
// `--stop-escalate` is accepted for `--stop_escalate`.
func NewFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, n string) pflag.NormalizedName {
		return pflag.NormalizedName(strings.ReplaceAll(n, "-", "_"))
	})
	for _, p := range Params {
		fs.String(p.Name, "", p.Short+" (env "+EnvPrefix+p.Name+")")
	}
	return fs
}

// Resolve gives every parameter its value: a flag given on the command line wins, then
// OCF_RESKEY_<name>, then the table's default. An empty value counts as unset, as an admin
// who writes `pgport=""` means "the default".
func Resolve(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) Values {
	values := Values{}
	for _, p := range Params {
		if f := fs.Lookup(p.Name); f != nil && f.Changed && f.Value.String() != "" {
			values[p.Name] = f.Value.String()
			continue
		}
		if v, ok := lookupEnv(EnvPrefix + p.Name); ok && v != "" {
			values[p.Name] = v
			continue
		}
		values[p.Name] = p.Default
	}
	values["config"] = strings.Replace(values["config"], "<pgdata>", values["pgdata"], 1)
	return values
}
