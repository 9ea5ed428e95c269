package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerRunsOnPgData: a -D or data_directory in start_opt, or a data_directory in the
// config file, would win over pg_ctl's -D: the server ran on another directory, pg_ctl waited
// in vain for pgdata's postmaster.pid, and monitor and stop never saw that postmaster (review
// 36). The agent's options end with pgdata as the data directory, so the server runs there.
func TestServerRunsOnPgData(t *testing.T) {
	for _, variant := range []string{"start_opt -D", "start_opt data_directory", "config data_directory"} {
		t.Run(strings.ReplaceAll(variant, " ", "_"), func(t *testing.T) {
			c := newCluster(t)
			other := newCluster(t) // another cluster: an old copy, a restore
			p := c.params()
			switch variant {
			case "start_opt -D":
				p["start_opt"] = "-D " + other.PgData
			case "start_opt data_directory":
				p["start_opt"] = "-c data_directory=" + other.PgData
			case "config data_directory":
				c.appendConf(t, "data_directory = '"+other.PgData+"'\n")
			}
			if st := runAgent(t, "start", p, nil); st.RC != 0 {
				t.Fatalf("start: rc %d %q", st.RC, st.reasons())
			}
			if got := strings.TrimSpace(c.sql(t, "SHOW data_directory")); got != c.PgData {
				t.Errorf("the server runs on %s, want pgdata %s", got, c.PgData)
			}
			if _, err := os.Stat(filepath.Join(other.PgData, "postmaster.pid")); err == nil {
				t.Errorf("a postmaster runs on %s", other.PgData)
			}
			if st := runAgent(t, "stop", p, nil); st.RC != 0 {
				t.Errorf("stop: rc %d %q", st.RC, st.reasons())
			}
			if mon := runAgent(t, "monitor", p, nil); mon.RC != 7 {
				t.Errorf("monitor after the stop: rc %d, want 7", mon.RC)
			}
		})
	}
}

// TestPgCtlLocationIsCheckedResolved: pgctl is refused when the path it resolves to (links
// followed, as pg_ctl's own find_my_exec does before pasting it into its shell's command
// lines) holds shell syntax, though the path as written is clean (review 36).
func TestPgCtlLocationIsCheckedResolved(t *testing.T) {
	c := newCluster(t)
	weird := filepath.Join(c.Dir, "pg $(touch PWNED)")
	if err := os.MkdirAll(weird, 0o755); err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(filepath.Join(pgBinDir, "pg_ctl")) // a copy: resolved, it stays there
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(weird, "pg_ctl"), binary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(pgBinDir, "postgres"), filepath.Join(weird, "postgres")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(c.Dir, "bin")
	if err := os.Symlink(weird, link); err != nil {
		t.Fatal(err)
	}
	p := with(c.params(), "pgctl", filepath.Join(link, "pg_ctl"))
	for _, action := range []string{"validate-all", "start"} {
		if r := runAgent(t, action, p, nil); r.RC != 6 || len(r.reasons()) != 1 || !strings.Contains(r.reasons()[0], "pgctl=") {
			t.Errorf("%s with pgctl resolving to %q: rc %d %q, want 6 naming pgctl", action, weird, r.RC, r.reasons())
		}
	}
	if _, err := os.Stat(filepath.Join(c.PgData, "PWNED")); err == nil {
		t.Error("pg_ctl's shell ran the $(touch PWNED) of the resolved pgctl directory")
	}
	runAgent(t, "stop", c.params(), nil)
}
