package pgctl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteFileAtomic replaces path with content unless it already holds exactly that: a temp
// file in the same directory, fsync, rename, fsync of the directory. The file is given to
// owner with mode perm. changed reports whether anything was written.
func WriteFileAtomic(path string, content []byte, perm os.FileMode, owner OSUser) (changed bool, err error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if os.Geteuid() == 0 {
		if err := tmp.Chown(int(owner.UID), int(owner.GID)); err != nil {
			tmp.Close()
			return false, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}

// QuoteConfValue renders s as a single-quoted postgresql.conf string: quotes doubled and
// backslashes (escape characters there) doubled.
func QuoteConfValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// QuoteConninfoValue renders s as a libpq connection-string value, quoted when needed.
func QuoteConninfoValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\\=") {
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
// mode.
func EnsureInclude(config, file string) (changed bool, err error) {
	content, err := os.ReadFile(config)
	if err != nil {
		return false, err
	}
	if hasInclude(content, file) {
		return false, nil
	}
	info, err := os.Stat(config)
	if err != nil {
		return false, err
	}
	owner := ownerOf(info)
	if len(content) > 0 && content[len(content)-1] != '\n' {
		content = append(content, '\n')
	}
	content = append(content, fmt.Sprintf("include_if_exists %s %s\n", QuoteConfValue(file), IncludeMarker)...)
	return WriteFileAtomic(config, content, info.Mode().Perm(), owner)
}

// hasInclude reports whether an uncommented include line names file.
func hasInclude(content []byte, file string) bool {
	scanner := bufio.NewScanner(bytes.NewReader(content))
	for scanner.Scan() {
		key, value, ok := parseConfLine(scanner.Text())
		if ok && (key == "include" || key == "include_if_exists") && filepath.Clean(value) == filepath.Clean(file) {
			return true
		}
	}
	return false
}

// RemoveFile deletes path; a missing file is not an error.
func RemoveFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
