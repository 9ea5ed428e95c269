package metadata

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPageCoversTables: every parameter (with its type, default and meaning), every action
// and every OCF exit code is in the man page, as the table says.
func TestManPageCoversTables(t *testing.T) {
	page := ManPage("1.2.3")
	if !strings.HasPrefix(page, `.\"`) || !strings.Contains(page, "\n.TH PGSQL\\-RA 8 \"\" \"pgsql\\-ra 1.2.3\" ") {
		t.Errorf("missing or wrong .TH line:\n%s", head(page, 3))
	}
	for _, p := range Params {
		block := "\n.TP\n.B " + roffText(p.Name) + "\n(" + string(p.Type) + ", "
		i := strings.Index(page, block)
		if i < 0 {
			t.Errorf("parameter %s: no entry %q", p.Name, block)
			continue
		}
		entry := page[i+1:]
		for _, next := range []string{"\n.TP\n", "\n.SH "} {
			if j := strings.Index(entry, next); j >= 0 {
				entry = entry[:j+1]
			}
		}
		if p.Default != "" && !strings.Contains(entry, `default \fI`+roffText(p.Default)+`\fR`) {
			t.Errorf("parameter %s: default %q missing:\n%s", p.Name, p.Default, entry)
		}
		if !strings.Contains(entry, "\n"+roffText(p.Long)+"\n") {
			t.Errorf("parameter %s: long description missing:\n%s", p.Name, entry)
		}
	}
	for _, name := range ActionNames() {
		if !strings.Contains(page, "\n.TP\n.B "+roffText(name)+"\n") {
			t.Errorf("action %s missing", name)
		}
	}
	for _, a := range Actions {
		if !strings.Contains(page, "timeout "+a.Timeout) {
			t.Errorf("action %s: timeout %s missing", a.Name, a.Timeout)
		}
	}
	for code := 0; code <= 9; code++ {
		if !strings.Contains(page, "\n.TP\n.BR "+string(rune('0'+code))+` " (" "OCF_`) {
			t.Errorf("exit code %d missing", code)
		}
	}
	for _, want := range []string{".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH ACTIONS",
		".SH PARAMETERS", ".SH ENVIRONMENT", ".SH EXIT STATUS", ".SH FILES", ".SH SEE ALSO",
		`OCF_RESKEY_CRM_meta_timeout`, `OCF_CHECK_LEVEL`, `HA_LOGFILE`, `HA_LOGFACILITY`, `HA_debug`,
		`/usr/lib/ocf/resource.d/cfengine/pgsql`, `<tmpdir>/PGSQL.lock`, `<tmpdir>/rep_mode.conf`,
		".BR crm_mon (8)", ".BR crm_attribute (8)", ".BR pg_ctl (1)", `.BR ocf\-tester (8)`} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(page, "manpage") {
		t.Errorf("the hidden manpage action is documented")
	}
}

// TestManPageRequests: a line that starts with a dot or an apostrophe is one of the man(7)
// requests the generator writes, never escaped-looking text from the table.
func TestManPageRequests(t *testing.T) {
	allowed := map[string]bool{`.\"`: true, ".TH": true, ".SH": true, ".TP": true, ".B": true,
		".I": true, ".BR": true, ".RB": true, ".br": true, ".PP": true, ".nh": true, ".ad": true}
	for n, line := range strings.Split(ManPage("0.1.0"), "\n") {
		if strings.HasPrefix(line, "'") {
			t.Errorf("line %d starts with an apostrophe: %q", n+1, line)
		}
		if strings.HasPrefix(line, ".") {
			req, _, _ := strings.Cut(line, " ")
			if !allowed[req] {
				t.Errorf("line %d: unexpected request %q", n+1, line)
			}
		}
		if strings.HasPrefix(line, " ") {
			t.Errorf("line %d starts with a space (a break): %q", n+1, line)
		}
	}
}

func TestRoffEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`plain`, `plain`},
		{`a\b`, `a\eb`},
		{`-D and --x`, `\-D and \-\-x`},
		{`.starts with a dot`, `\&.starts with a dot`},
		{`'starts with a quote`, `\&'starts with a quote`},
		{"two\n  lines", "two lines"},
		{`pg_ctl's -o "x"`, `pg_ctl's \-o "x"`},
	} {
		if got := roffText(c.in); got != c.want {
			t.Errorf("roffText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got, want := roffArg(`a "b" -c\d`), `"a \(dqb\(dq \-c\ed"`; got != want {
		t.Errorf("roffArg = %q, want %q", got, want)
	}
}

// TestManPageRenders: man(1) formats the page without a single groff warning at 80 columns.
// --warnings=w turns on every groff warning category (plain --warnings is only "mac"), so an
// unknown escape, request or font counts too.
func TestManPageRenders(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (Debian: man-db, installed by test/install-deps.sh)")
	}
	dir := t.TempDir()
	render := func(page string) (stdout, stderr string) {
		t.Helper()
		path := filepath.Join(dir, "page.8")
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("man", "--warnings=w", "-l", path)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("man -l: %v\n%s", err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	// The check must be able to fail: an undefined request and an unknown escape are reported.
	if _, stderr := render(".TH X 8\n.SH A\n.XX b\na\\qb\n"); strings.Count(stderr, "warning") != 2 {
		t.Fatalf("man --warnings=w does not report an undefined request and an unknown escape; stderr %q", stderr)
	}
	stdout, stderr := render(ManPage("0.1.0"))
	if stderr != "" {
		t.Errorf("man --warnings -l: %s", stderr)
	}
	text := strings.ReplaceAll(stdout, "\u2010", "-") // in case a hyphen is typeset as U+2010
	for _, p := range Params {
		if !strings.Contains(text, "\n       "+p.Name) {
			t.Errorf("rendered page lacks parameter %s", p.Name)
		}
	}
	if !strings.Contains(text, "/usr/lib/ocf/resource.d/cfengine/pgsql action [--parameter=value...]") {
		t.Errorf("rendered synopsis is wrong:\n%s", head(text, 12))
	}
}

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// TestManPageExplain (issue #13 §2): the man page documents pgsql-ra explain and its flags.
func TestManPageExplain(t *testing.T) {
	page := ManPage("1.2.3")
	for _, want := range []string{"\n.SH EXPLAIN\n", " explain\n", `\-\-resource`, `\-\-json`, "would rejoin automatically", "changes nothing"} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
}
