package pgctl

import (
	"fmt"
	"strings"
)

// pg_ctl's options (getopt_long in pg_ctl.c, 9.6 to 17): the short ones that take a value,
// and every long one with whether it takes a value.
const pgCtlShortWithValue = "DelmNopPStU"

var pgCtlLong = map[string]bool{
	"help": false, "version": false, "log": true, "mode": true, "pgdata": true, "options": true,
	"silent": false, "timeout": true, "core-files": false, "wait": false, "no-wait": false,
}

// CheckCtlOpt refuses ctl_opt words that pg_ctl, reading them before the agent's own
// arguments as getopt_long does (grouped short options, a value attached or in the next
// word, a long option abbreviated), would take as server options: pg_ctl pastes every -o
// into its shell's command line ahead of the agent's, so a # or ; there would drop the
// options the agent puts after them, a locked standby's pins among them (review 34). Server
// options belong in start_opt, which is read word by word. A last option still wanting its
// value would take the agent's -D as it, and is refused too.
func CheckCtlOpt(words []string) error {
	for i := 0; i < len(words); i++ {
		w := words[i]
		var option string // the option that takes a value, when the word ends wanting it
		switch {
		case w == "--":
			return nil // the rest are arguments, not options (pg_ctl then refuses them)
		case strings.HasPrefix(w, "--"):
			name, _, attached := strings.Cut(w[2:], "=")
			long, takesValue := longOption(name)
			if long == "options" {
				return fmt.Errorf("%q is pg_ctl's --options: put server options in start_opt", w)
			}
			if takesValue && !attached {
				option = "--" + long
			}
		case strings.HasPrefix(w, "-") && len(w) > 1:
			for j := 1; j < len(w); j++ {
				if strings.IndexByte(pgCtlShortWithValue, w[j]) < 0 {
					continue
				}
				if w[j] == 'o' {
					return fmt.Errorf("%q is pg_ctl's -o: put server options in start_opt", w)
				}
				if j == len(w)-1 {
					option = "-" + string(w[j])
				}
				break // the rest of the word is the value
			}
		}
		if option == "" {
			continue
		}
		if i++; i == len(words) {
			return fmt.Errorf("ctl_opt ends in %s without its value (pg_ctl would take the agent's -D for it)", option)
		}
	}
	return nil
}

// longOption is the long option name abbreviates (exactly, or as the only one it begins),
// and whether it takes a value; "" when none or several match (pg_ctl refuses it).
func longOption(name string) (string, bool) {
	if takes, ok := pgCtlLong[name]; ok {
		return name, takes
	}
	match := ""
	for long := range pgCtlLong {
		if strings.HasPrefix(long, name) {
			if match != "" {
				return "", false
			}
			match = long
		}
	}
	return match, pgCtlLong[match]
}
