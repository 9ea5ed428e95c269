package pgctl

import (
	"os"
	"path/filepath"
	"testing"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "postgresql.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadSetting(t *testing.T) {
	for _, tc := range []struct {
		name, conf, setting string
		want                string
		found               bool
	}{
		{"simple assignment", "port = 5433\n", "port", "5433", true},
		{"last assignment wins", "port = 5432\nlisten_addresses = '*'\nport = 5433\n", "port", "5433", true},
		{"no blanks around =", "port=5435\n", "port", "5435", true},
		{"name value without =", "port 5434\n", "port", "5434", true},
		{"tab between name and value", "port\t5436\n", "port", "5436", true},
		{"indented line", "   port = 5437\n", "port", "5437", true},
		{"trailing comment on an unquoted value", "port = 5438 # the port\n", "port", "5438", true},
		{"comment glued to the value", "port = 5439# the port\n", "port", "5439", true},
		{"commented-out line ignored", "port = 5432\n# port = 6000\n", "port", "5432", true},
		{"only commented-out lines", "#port = 6000\n  # port = 6001\n", "port", "", false},
		{"quoted value with # inside", "unix_socket_directories = '/run/pg # not a comment' # comment\n", "unix_socket_directories", "/run/pg # not a comment", true},
		{"doubled quotes inside a quoted value", "archive_command = 'cp ''%p'' /arch/''%f'''\n", "archive_command", "cp '%p' /arch/'%f'", true},
		{"backslash-escaped quote inside a quoted value", `restore_command = 'cp \'a b\' x'` + "\n", "restore_command", "cp 'a b' x", true},
		{"empty quoted value is set", "unix_socket_directories = ''\n", "unix_socket_directories", "", true},
		{"quoted value with blanks and no =", "unix_socket_directories '/run/a, /run/b'\n", "unix_socket_directories", "/run/a, /run/b", true},
		{"name is case-insensitive", "Port = 5440\n", "port", "5440", true},
		{"longer name with the same prefix does not match", "port_extra = 1\n", "port", "", false},
		{"missing setting", "listen_addresses = '*'\n", "port", "", false},
		{"empty file", "", "port", "", false},
		{"include directive not followed", "include 'other.conf'\n", "port", "", false},
		{"no newline at end of file", "port = 5441", "port", "5441", true},
		{"CRLF line endings", "port = 5442\r\n", "port", "5442", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := ReadSetting(writeConf(t, tc.conf), tc.setting)
			if err != nil {
				t.Fatalf("ReadSetting: %v", err)
			}
			if got != tc.want || found != tc.found {
				t.Errorf("ReadSetting(%q) = %q, %v; want %q, %v", tc.setting, got, found, tc.want, tc.found)
			}
		})
	}
}

func TestReadSettingMissingFile(t *testing.T) {
	_, found, err := ReadSetting(filepath.Join(t.TempDir(), "absent.conf"), "port")
	if err == nil || found {
		t.Errorf("ReadSetting of a missing file = found %v, err %v; want an error", found, err)
	}
}
