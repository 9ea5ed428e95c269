package pgctl

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEscalationDelay(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name                 string
		stopEscalate, budget time.Duration
		want                 time.Duration
	}{
		{"zero escalate goes straight to immediate", 0, 115 * s, 0},
		{"negative escalate goes straight to immediate", -5 * s, 115 * s, 0},
		{"default 90 s within ocf-tester's 20 s timeout (18 s budget) is capped", 90 * s, 18 * s, 12 * s},
		{"short escalate within a long budget is kept", 5 * s, 100 * s, 5 * s},
		{"default 90 s within the default 120 s stop (115 s budget) is kept", 90 * s, 115 * s, 90 * s},
		{"escalate just below the cap is kept", 105 * s, 115 * s, 105 * s},
		{"escalate above the cap leaves 10 s", 110 * s, 115 * s, 105 * s},
		{"no budget left: immediate at once", 90 * s, 0, 0},
		{"negative budget: immediate at once", 90 * s, -s, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := EscalationDelay(tc.stopEscalate, tc.budget)
			if got != tc.want {
				t.Errorf("EscalationDelay(%v, %v) = %v, want %v", tc.stopEscalate, tc.budget, got, tc.want)
			}
			if got < 0 {
				t.Errorf("negative delay %v", got)
			}
			if got > max(tc.stopEscalate, 0) {
				t.Errorf("delay %v is longer than stop_escalate %v", got, tc.stopEscalate)
			}
			// Whatever is asked for, the immediate shutdown keeps a third of the budget or
			// 10 s, whichever is less.
			if tc.budget > 0 {
				if left, need := tc.budget-got, min(tc.budget/3, 10*s); left < need {
					t.Errorf("only %v left for the immediate shutdown, want at least %v", left, need)
				}
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty string", "", nil},
		{"only blanks", " \t\n ", nil},
		{"plain words", "-s --core-files", []string{"-s", "--core-files"}},
		{"runs of blanks, tabs and newlines", "  -a\t\t-b\n-c  ", []string{"-a", "-b", "-c"}},
		{"single quotes keep blanks", "-o '-c work_mem=4MB'", []string{"-o", "-c work_mem=4MB"}},
		{"double quotes keep blanks", `-o "-c a=1 -c b=2"`, []string{"-o", "-c a=1 -c b=2"}},
		{"quote in the middle of a word", `--opt='a b'c`, []string{"--opt=a bc"}},
		{"adjacent quoted parts join", `'a'"b"c`, []string{"abc"}},
		{"backslash escapes a blank", `a\ b c`, []string{"a b", "c"}},
		{"backslash escapes a quote", `it\'s`, []string{"it's"}},
		{"backslash escapes a backslash", `a\\b`, []string{`a\b`}},
		{"inside double quotes a backslash before a plain letter stays", `"a\b"`, []string{`a\b`}},
		{"inside double quotes a backslash escapes a quote", `"say \"hi\""`, []string{`say "hi"`}},
		{"backslash is literal inside single quotes", `'a\b'`, []string{`a\b`}},
		{"escaped double quote inside double quotes", `"say \"hi\""`, []string{`say "hi"`}},
		{"single quote inside double quotes", `"it's"`, []string{"it's"}},
		{"double quote inside single quotes", `'say "hi"'`, []string{`say "hi"`}},
		{"empty single-quoted word is a word", `''`, []string{""}},
		{"empty double-quoted word between words", `a "" b`, []string{"a", "", "b"}},
		{"nothing is expanded", `$HOME * ~ $(id)`, []string{"$HOME", "*", "~", "$(id)"}},
		{"shell-quoted single quote", `'it'\''s'`, []string{"it's"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitWords(tc.in)
			if err != nil {
				t.Fatalf("SplitWords(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("SplitWords(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestSplitCommandWords: start_opt, which pg_ctl's shell parses as part of a command line
// (review 33). A comment is dropped as the shell would; what the shell would run or expand
// is refused, quoted it is an ordinary character; otherwise the words are SplitWords's.
func TestSplitCommandWords(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		refused bool
	}{
		{"-c work_mem=8MB # sized for the nightly batch", []string{"-c", "work_mem=8MB"}, false},
		{"# all commented", nil, false},
		{"-c cluster_name=a#b", []string{"-c", "cluster_name=a#b"}, false},
		{`-c 'cluster_name=a;b' -c "x=#1" 'p|q' a\;b \$HOME`, []string{"-c", "cluster_name=a;b", "-c", "x=#1", "p|q", "a;b", "$HOME"}, false},
		{"-c '$HOME'", []string{"-c", "$HOME"}, false},
		{"-c work_mem=8MB; -c primary_conninfo=x", nil, true},
		{"-c work_mem=8MB&&true", nil, true},
		{"-c a=1 || true", nil, true},
		{"-c a=1 | tee", nil, true},
		{"-c a=1 >/tmp/x", nil, true},
		{"-c a=1 </dev/null", nil, true},
		{"-c a=(1)", nil, true},
		{"-c a=1 &", nil, true},
		{"-c a=$HOME", nil, true},
		{`-c "a=$HOME"`, nil, true},
		{"-c a=`id`", nil, true},
		{"-c ~/x", nil, true},
		{"-c search_path={a,b}", nil, true},
		{"-c 'search_path={a,b}' x}", []string{"-c", "search_path={a,b}", "x}"}, false},
		{"-c a=~/x '~' \\~", []string{"-c", "a=~/x", "~", "~"}, false},
		{"-c 'unterminated", nil, true},
	} {
		got, err := SplitCommandWords(tc.in)
		if refused := err != nil; refused != tc.refused || !slices.Equal(got, tc.want) {
			t.Errorf("SplitCommandWords(%q) = %q, %v; want %q, refused %v", tc.in, got, err, tc.want, tc.refused)
		}
	}
}

func TestSplitWordsRejectsUnterminated(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"unterminated single quote", "-o 'abc"},
		{"unterminated double quote", `-o "abc`},
		{"trailing backslash", `abc\`},
		{"quote closed by the other kind", `'abc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := SplitWords(tc.in); err == nil {
				t.Errorf("SplitWords(%q) = %q, want an error", tc.in, got)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain path unchanged", "/var/lib/pgsql/data/postgresql.conf", "/var/lib/pgsql/data/postgresql.conf"},
		{"address unchanged", "10.0.0.1", "10.0.0.1"},
		{"host name unchanged", "db-1.example.com", "db-1.example.com"},
		{"path with a blank quoted", "/srv/pg data/postgresql.conf", "'/srv/pg data/postgresql.conf'"},
		{"single quote escaped", "it's", `'it'\''s'`},
		{"empty string is an empty word", "", "''"},
		{"wildcard quoted", "*", "'*'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShellQuote(tc.in); got != tc.want {
				t.Errorf("ShellQuote(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestShellQuoteRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"blank", "/srv/pg data/postgresql.conf"},
		{"single quote", "/srv/o'brien/postgresql.conf"},
		{"only a single quote", "'"},
		{"two single quotes", "''"},
		{"double quote", `/srv/a"b/postgresql.conf`},
		{"backslash", `/srv/back\slash`},
		{"dollar and backtick", "/srv/$HOME/`id`"},
		{"tab and newline", "a\tb\nc"},
		{"empty", ""},
		{"mixed quoting", `a'b"c\d e`},
		{"non-ASCII", "/srv/données/postgresql.conf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := ShellQuote(tc.in)
			got, err := SplitWords(q)
			if err != nil {
				t.Fatalf("SplitWords(ShellQuote(%q) = %q): %v", tc.in, q, err)
			}
			if len(got) != 1 || got[0] != tc.in {
				t.Errorf("SplitWords(%q) = %q, want [%q]", q, got, tc.in)
			}
		})
	}
}

// TestPromoteCtlArgv: pg_ctl promote waits as long as the promote may (-t), not pg_ctl's own
// 60 s; ctl_opt is for pg_ctl start only, as in the old agent (review 27).
func TestPromoteCtlArgv(t *testing.T) {
	s := Server{PgCtl: "/usr/lib/postgresql/11/bin/pg_ctl", PgData: "/var/lib/pgsql/data", CtlOpt: []string{"-s"}}
	for wait, seconds := range map[time.Duration]string{107*time.Second + 600*time.Millisecond: "107", 0: "1"} {
		want := []string{"/usr/lib/postgresql/11/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-w", "-t", seconds, "promote"}
		if got := s.PromoteCtlArgv(wait); !slices.Equal(got, want) {
			t.Errorf("PromoteCtlArgv(%v) =\n %q\nwant\n %q", wait, got, want)
		}
	}
}

func TestStartArgv(t *testing.T) {
	base := Server{
		PgCtl:   "/usr/bin/pg_ctl",
		PgData:  "/var/lib/pgsql/data",
		Config:  "/var/lib/pgsql/data/postgresql.conf",
		Logfile: "/var/log/pgsql.log",
		Port:    5432,
	}
	for _, tc := range []struct {
		name   string
		change func(*Server)
		wait   time.Duration
		want   []string
	}{
		{"defaults", func(*Server) {}, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		{"pghost adds -h inside -o", func(s *Server) { s.Listen = "10.0.0.1" }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf -h 10.0.0.1 --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		{"wildcard listen address quoted", func(s *Server) { s.Listen = "*" }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf -h '*' --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		{"ctl_opt words before -D", func(s *Server) { s.CtlOpt = []string{"-s", "--core-files"} }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-s", "--core-files", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		{"start_opt after config_file and -h", func(s *Server) { s.Listen = "db"; s.StartOpt = []string{"-c", "work_mem=4MB"} }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf -h db -c work_mem=4MB --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		// review 36: pgdata is the data directory whatever start_opt says.
		{"start_opt's -D overridden", func(s *Server) { s.StartOpt = []string{"-D", "/srv/other"} }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf -D /srv/other --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		// review 33: pg_ctl's shell reads -o; a start_opt word is never syntax there.
		{"start_opt words quoted for pg_ctl's shell", func(s *Server) { s.StartOpt = []string{"-c", "cluster_name=a;b #c", "-c", "primary_conninfo="} }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf -c 'cluster_name=a;b #c' -c primary_conninfo= --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		{"config path with a blank is quoted", func(s *Server) { s.Config = "/etc/pg conf/main.conf" }, 30 * time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file='/etc/pg conf/main.conf' --data_directory=/var/lib/pgsql/data", "-w", "-t", "30", "start"}},
		{"fractional wait rounds down", func(*Server) {}, 90*time.Second + 900*time.Millisecond, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf --data_directory=/var/lib/pgsql/data", "-w", "-t", "90", "start"}},
		{"wait below a second is one second", func(*Server) {}, 200 * time.Millisecond, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf --data_directory=/var/lib/pgsql/data", "-w", "-t", "1", "start"}},
		{"negative wait is one second", func(*Server) {}, -time.Second, []string{
			"/usr/bin/pg_ctl", "-D", "/var/lib/pgsql/data", "-l", "/var/log/pgsql.log",
			"-o", "-c config_file=/var/lib/pgsql/data/postgresql.conf --data_directory=/var/lib/pgsql/data", "-w", "-t", "1", "start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.change(&s)
			got := s.StartArgv(tc.wait)
			if !slices.Equal(got, tc.want) {
				t.Errorf("StartArgv =\n %q\nwant\n %q", got, tc.want)
			}
			if n := len(got); n < 4 || strings.Join(got[n-4:], " ") != "-w -t "+got[n-2]+" start" {
				t.Errorf("argv does not end with -w -t N start: %q", got)
			}
			if slices.Contains(got, "-h") {
				t.Errorf("-h is a separate pg_ctl argument; it belongs inside -o: %q", got)
			}
			opts := got[slices.Index(got, "-o")+1]
			if hasH, wantH := strings.Contains(opts, " -h "), s.Listen != ""; hasH != wantH {
				t.Errorf("-o %q: -h present = %v, want %v (only when pghost is set)", opts, hasH, wantH)
			}
		})
	}
}

func TestStartArgvDoesNotShareCtlOpt(t *testing.T) {
	ctl := make([]string, 1, 8)
	ctl[0] = "-s"
	s := Server{PgCtl: "pg_ctl", PgData: "/d", Config: "/d/c", Logfile: "/dev/null", CtlOpt: ctl}
	first := s.StartArgv(time.Second)
	_ = s.StartArgv(2 * time.Second)
	if first[len(first)-2] != "1" {
		t.Errorf("a second StartArgv call changed the first result: %q", first)
	}
	if got := ctl[:cap(ctl)][1]; got != "" {
		t.Errorf("StartArgv wrote into the CtlOpt backing array: %q", got)
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"already one line", "done", "done"},
		{"lines and blanks folded", "waiting for server to start....\n  stopped waiting\npg_ctl: could not start server\n", "waiting for server to start.... stopped waiting pg_ctl: could not start server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OneLine([]byte(tc.in)); got != tc.want {
				t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
