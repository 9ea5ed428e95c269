package pgctl

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLastServerErrorOfThisStart: only what the log gained after the start began says why it
// failed; an earlier run's FATAL (a stop ending a session) is not the reason (review 37).
func TestLastServerErrorOfThisStart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "postgresql.log")
	old := "FATAL:  terminating connection due to administrator command\nLOG:  database system is shut down\n"
	if err := os.WriteFile(log, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	before := LogSize(log)
	if before != int64(len(old)) {
		t.Fatalf("LogSize = %d, want %d", before, len(old))
	}
	if got := LastServerError(log, before); got != "" {
		t.Errorf("nothing written since: %q, want none", got)
	}
	appendLine := func(line string) {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	appendLine("LOG:  starting PostgreSQL 15\n")
	if got := LastServerError(log, before); got != "" {
		t.Errorf("no FATAL since: %q, want none", got)
	}
	appendLine(`FATAL:  unrecognized configuration parameter "bogus"` + "\n")
	if got, want := LastServerError(log, before), `FATAL:  unrecognized configuration parameter "bogus"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := os.WriteFile(log, []byte("PANIC:  could not locate a valid checkpoint record\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := LastServerError(log, before), "PANIC:  could not locate a valid checkpoint record"; got != want {
		t.Errorf("log truncated since: got %q, want %q", got, want)
	}
}

// TestLibraryPathKeepsAbsoluteDirs: an empty or relative LD_LIBRARY_PATH entry would be read
// from pgdata, the server's working directory (review 36); such entries are left out.
func TestLibraryPathKeepsAbsoluteDirs(t *testing.T) {
	for libs, want := range map[string]string{
		"/usr/lib": "LD_LIBRARY_PATH=/usr/lib", "/usr/lib:": "LD_LIBRARY_PATH=/usr/lib",
		"/a::/b": "LD_LIBRARY_PATH=/a:/b", "/a:lib:.": "LD_LIBRARY_PATH=/a", ":": "", "": "",
	} {
		env := Server{LibDir: libs, Port: 5432}.env()
		i := slices.IndexFunc(env, func(e string) bool { return len(e) > 16 && e[:16] == "LD_LIBRARY_PATH=" })
		got := ""
		if i >= 0 {
			got = env[i]
		}
		if got != want {
			t.Errorf("pglibs %q: %q, want %q", libs, got, want)
		}
	}
}

// TestToolBesidePgCtl: the programs the agent runs beside pg_ctl are found beside the binary a
// pgctl link names, where pg_ctl finds postgres (review 37); a link to a multi-call wrapper
// whose directory lacks them (Debian's pg_wrapper) keeps them beside the link (review 38).
func TestToolBesidePgCtl(t *testing.T) {
	dir := t.TempDir()
	bin, wrapperDir, links := filepath.Join(dir, "15", "bin"), filepath.Join(dir, "common"), filepath.Join(dir, "links")
	for _, d := range []string{bin, wrapperDir, links} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(bin, "pg_ctl"), filepath.Join(bin, "postgres"), filepath.Join(wrapperDir, "pg_wrapper")} {
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"pg_ctl": filepath.Join(bin, "pg_ctl"), "wrapped": filepath.Join(wrapperDir, "pg_wrapper")} {
		if err := os.Symlink(target, filepath.Join(links, link)); err != nil {
			t.Fatal(err)
		}
	}
	for pgctl, want := range map[string]string{
		filepath.Join(bin, "pg_ctl"):     filepath.Join(bin, "postgres"),
		filepath.Join(links, "pg_ctl"):   filepath.Join(bin, "postgres"),
		filepath.Join(links, "wrapped"):  filepath.Join(links, "postgres"),
		filepath.Join(dir, "none", "pg"): filepath.Join(dir, "none", "postgres"),
	} {
		if got := (Server{PgCtl: pgctl}).tool("postgres"); got != want {
			t.Errorf("pgctl=%s: postgres at %s, want %s", pgctl, got, want)
		}
	}
}
