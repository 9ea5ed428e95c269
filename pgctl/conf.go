package pgctl

import (
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// ReadSetting returns the value postgresql.conf at path gives to a setting (the last
// assignment wins, as in PostgreSQL). Include directives are not followed: the agent only
// asks about settings an admin writes into the main file.
func ReadSetting(path, name string) (value string, found bool, err error) {
	content, err := safefs.ReadFile(path, safefs.ConfigLimit)
	if err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(string(content), "\n") {
		key, val, ok := parseConfLine(line)
		if ok && strings.EqualFold(key, name) {
			value, found = val, true
		}
	}
	return value, found, nil
}

// parseConfLine splits "name = value # comment" (the '=' is optional); quoted values may
// contain '#' and doubled or backslash-escaped quotes.
func parseConfLine(line string) (key, value string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", "", false
	}
	end := strings.IndexAny(line, " \t=")
	if end <= 0 { // no value, or no name ("= 1" sets nothing; #11)
		return "", "", false
	}
	key = line[:end]
	rest := strings.TrimLeft(line[end:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	if strings.HasPrefix(rest, "'") {
		var b strings.Builder
		for i := 1; i < len(rest); i++ {
			switch c := rest[i]; {
			case c == '\\' && i+1 < len(rest):
				i++
				b.WriteByte(rest[i])
			case c == '\'' && i+1 < len(rest) && rest[i+1] == '\'':
				i++
				b.WriteByte('\'')
			case c == '\'':
				return key, b.String(), true
			default:
				b.WriteByte(c)
			}
		}
		return key, b.String(), true
	}
	if hash := strings.IndexByte(rest, '#'); hash >= 0 {
		rest = rest[:hash]
	}
	return key, strings.TrimSpace(rest), true
}
