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
// word, a long option abbreviated), would paste into its shell's command line ahead of the
// agent's options: every -o (server options), and -p (the postgres binary, inside double
// quotes a " ends), where a # or ; would drop the options the agent puts after them, a
// locked standby's pins among them (reviews 34, 35). Server options belong in start_opt,
// which is read word by word; the postgres binary is the one beside pgctl. Refused too: a
// last option still wanting its value (it would take the agent's -D as it), and what makes
// pg_ctl start nothing: help, version, -S, a word that is no option (a mode, --).
func CheckCtlOpt(words []string) error {
	for i := 0; i < len(words); i++ {
		w := words[i]
		var option string // the option that takes a value, when the word ends wanting it
		switch {
		case w == "--" || w == "-" || !strings.HasPrefix(w, "-"):
			// pg_ctl's mode (start, the agent's) or a stray argument: pg_ctl would start
			// nothing (review 36).
			return fmt.Errorf("%q is not an option of pg_ctl start", w)
		case strings.HasPrefix(w, "--"):
			name, _, attached := strings.Cut(w[2:], "=")
			long, takesValue := longOption(name)
			switch long {
			case "options":
				return fmt.Errorf("%q is pg_ctl's --options: put server options in start_opt", w)
			case "help", "version":
				return fmt.Errorf("%q is pg_ctl's --%s: pg_ctl would start nothing", w, long)
			}
			if takesValue && !attached {
				option = "--" + long
			}
		case w == "-?" || w == "-V":
			return fmt.Errorf("%q is pg_ctl's help or version: pg_ctl would start nothing", w)
		case strings.HasPrefix(w, "-") && len(w) > 1:
			for j := 1; j < len(w); j++ {
				if strings.IndexByte(pgCtlShortWithValue, w[j]) < 0 {
					continue
				}
				switch w[j] {
				case 'S':
					return fmt.Errorf("%q is pg_ctl's -S, for Windows services only", w)
				case 'o':
					return fmt.Errorf("%q is pg_ctl's -o: put server options in start_opt", w)
				case 'p':
					return fmt.Errorf("%q is pg_ctl's -p: the agent starts the postgres beside pgctl", w)
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
