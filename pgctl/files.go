package pgctl

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// WriteFileAtomic replaces path with content unless it already holds exactly that: a temp
// file in the same directory, fsync, rename, fsync of the directory, all through safefs (a
// link, FIFO or device under path is an error, never followed). The file is given to owner
// with mode perm. changed reports whether anything was written.
func WriteFileAtomic(path string, content []byte, perm os.FileMode, owner OSUser) (changed bool, err error) {
	return safefs.WriteFileAtomic(path, content, uint32(perm.Perm()), owner.FileOwner())
}

// QuoteConfValue renders s as a single-quoted postgresql.conf string: quotes doubled and
// backslashes (escape characters there) doubled.
func QuoteConfValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// QuoteConninfoValue renders s as a libpq connection-string value, quoted when needed.
func QuoteConninfoValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\r\f\v'\\=") {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// IncludeMarker ends every line the agent adds to postgresql.conf.
const IncludeMarker = "# added by pgsql-ra"

// EnsureInclude makes postgresql.conf include file: it leaves the file alone when an active
// include or include_if_exists line for file exists already (the shell agent's lines
// included), else appends `include_if_exists '<file>' # added by pgsql-ra`, so that the
// server still starts if the included file is ever missing. The config keeps its owner and
// mode. A config that is a symbolic link is an error: rewriting it would replace the link
// by a file (#11); config= must name the file itself.
func EnsureInclude(config, file string) (changed bool, err error) {
	dir, err := safefs.OpenDir(filepath.Dir(config))
	if err != nil {
		return false, err
	}
	defer dir.Close()
	name := filepath.Base(config)
	f, err := dir.Open(name, safefs.ConfigLimit)
	if err != nil {
		return false, err
	}
	var content []byte
	st, err := f.Stat()
	if err == nil {
		content, err = io.ReadAll(f)
	}
	f.Close()
	if err != nil {
		return false, err
	}
	if hasInclude(content, file) {
		return false, nil
	}
	if len(content) > 0 && content[len(content)-1] != '\n' {
		content = append(content, '\n')
	}
	content = append(content, fmt.Sprintf("include_if_exists %s %s\n", QuoteConfValue(file), IncludeMarker)...)
	return dir.WriteFileAtomic(name, content, st.Mode&0o7777, &safefs.Owner{UID: st.Uid, GID: st.Gid})
}

// hasInclude reports whether an uncommented include line names file. Lines of any length
// count (a scanner's 64 KB token limit once hid the agent's own line, which was then
// appended again at every start).
func hasInclude(content []byte, file string) bool {
	for _, line := range strings.Split(string(content), "\n") {
		key, value, ok := parseConfLine(line)
		if ok && (key == "include" || key == "include_if_exists") && filepath.Clean(value) == filepath.Clean(file) {
			return true
		}
	}
	return false
}

// RemoveFile deletes path; a missing file is not an error.
func RemoveFile(path string) error { return safefs.Remove(path) }
