package pgctl

import (
	"os"
	"path/filepath"
	"testing"
)

func TestControlDataRewindable(t *testing.T) {
	base := "Database cluster state:               in production\n" +
		"Latest checkpoint location:           0/3000060\n" +
		"Latest checkpoint's TimeLineID:       1\n"
	for _, c := range []struct {
		name, lines string
		hints, sums bool
		bad         bool
	}{
		{"neither line (an old pg_controldata)", "", false, false, false},
		{"wal_log_hints on", "wal_log_hints setting:                on\nData page checksum version:           0\n", true, false, false},
		{"wal_log_hints off, checksums", "wal_log_hints setting:                off\nData page checksum version:           1\n", false, true, false},
		{"both off", "wal_log_hints setting:                off\nData page checksum version:           0\n", false, false, false},
		{"checksum version not a number", "Data page checksum version:           x\n", false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cd, err := ParseControlData([]byte(base + c.lines))
			if (err != nil) != c.bad {
				t.Fatalf("error %v, want error %v", err, c.bad)
			}
			if c.bad {
				return
			}
			if cd.WALLogHints != c.hints || cd.DataChecksums != c.sums || cd.Rewindable() != (c.hints || c.sums) {
				t.Errorf("hints %v, checksums %v, rewindable %v; want %v, %v", cd.WALLogHints, cd.DataChecksums, cd.Rewindable(), c.hints, c.sums)
			}
		})
	}
}

func TestSplitConninfoPassword(t *testing.T) {
	for _, c := range []struct{ in, rest, password string }{
		{"", "", ""},
		{"host=db port=5432 user=rep", "host=db port=5432 user=rep", ""},
		{"keepalives=1 password=secret sslmode=require", "keepalives=1 sslmode=require", "secret"},
		{`password='a b\'c\\d' sslmode=verify-full`, "sslmode=verify-full", `a b'c\d`},
		{`password=a\ b application_name='x y'`, "application_name='x y'", "a b"},
		{"password=first password=second", "", "second"},
	} {
		rest, password, err := SplitConninfoPassword(c.in)
		if err != nil || rest != c.rest || password != c.password {
			t.Errorf("SplitConninfoPassword(%q) = %q, %q, %v; want %q, %q", c.in, rest, password, err, c.rest, c.password)
		}
	}
	// '' is no escape in libpq: 'it' ends the value and "'s'" is no keyword=value.
	for _, bad := range []string{"password", "host", "password='open", "=x", "password = 'it''s' x=1"} {
		if _, _, err := SplitConninfoPassword(bad); err == nil {
			t.Errorf("SplitConninfoPassword(%q) accepted", bad)
		}
	}
}

// TestSaveFilesRestores: what pg_rewind copies over a node's configuration goes back, and a
// file the node did not have goes away.
func TestSaveFilesRestores(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), mode)
	}
	write("postgresql.conf", "listen_addresses = 'node1'\n", 0o600)
	write("pg_hba.conf", "local all all peer\n", 0o640)
	saved, err := SaveFiles(dir, RewindKeeps)
	if err != nil {
		t.Fatal(err)
	}
	write("postgresql.conf", "listen_addresses = 'node2'\n", 0o644)
	write("pg_hba.conf", "host all all 0.0.0.0/0 trust\n", 0o600)
	write("postgresql.auto.conf", "primary_conninfo = 'x'\n", 0o600)
	if err := saved.Restore(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"postgresql.conf": "listen_addresses = 'node1'\n", "pg_hba.conf": "local all all peer\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "pg_hba.conf")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("pg_hba.conf mode %v, %v; want 0640", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgresql.auto.conf")); !os.IsNotExist(err) {
		t.Errorf("postgresql.auto.conf, which the node did not have, was left behind: %v", err)
	}
}
