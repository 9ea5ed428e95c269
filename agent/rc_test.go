package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/go-multierror"
)

func TestRCString(t *testing.T) {
	for _, tc := range []struct {
		rc   RC
		want string
	}{
		{Success, "success"},
		{ErrGeneric, "generic error"},
		{ErrArgs, "invalid arguments"},
		{ErrUnimplemented, "unimplemented"},
		{ErrPerm, "insufficient privileges"},
		{ErrInstalled, "not installed"},
		{ErrConfigured, "not configured"},
		{NotRunning, "not running"},
		{RunningPromoted, "running promoted"},
		{FailedPromoted, "failed promoted"},
		{Degraded, "degraded"},
		{DegradedPromoted, "degraded promoted"},
		{RC(42), "rc 42"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.rc.String(); got != tc.want {
				t.Errorf("RC(%d).String() = %q, want %q", int(tc.rc), got, tc.want)
			}
		})
	}
}

// The numeric values are the OCF exit codes (OCF resource agent API); Pacemaker reads them, so a
// renumbering would be a silent protocol break.
func TestRCValues(t *testing.T) {
	for rc, want := range map[RC]int{
		Success: 0, ErrGeneric: 1, ErrArgs: 2, ErrUnimplemented: 3, ErrPerm: 4, ErrInstalled: 5,
		ErrConfigured: 6, NotRunning: 7, RunningPromoted: 8, FailedPromoted: 9,
		Degraded: 190, DegradedPromoted: 191,
	} {
		if int(rc) != want {
			t.Errorf("%s = %d, want %d", rc, int(rc), want)
		}
	}
}

func TestErrorTextAndUnwrap(t *testing.T) {
	cause := errors.New("permission denied")
	e := fail(ErrPerm, cause, "pgdata=%s is not writable", "/srv/pg")
	if e.RC != ErrPerm || e.Reason != "pgdata=/srv/pg is not writable" {
		t.Errorf("fail built %+v", e)
	}
	if got := e.Error(); got != "pgdata=/srv/pg is not writable: permission denied" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, cause) {
		t.Error("errors.Is does not find the cause through Unwrap")
	}
	if got := fail(ErrGeneric, nil, "plain").Error(); got != "plain" {
		t.Errorf("Error() without cause = %q, want the reason only", got)
	}
}

func TestProblems(t *testing.T) {
	configured := fail(ErrConfigured, nil, "bad pgport")
	for _, tc := range []struct {
		name    string
		err     error
		wantRCs []RC
	}{
		{"nil: nothing", nil, nil},
		{"one *Error", configured, []RC{ErrConfigured}},
		{"wrapped *Error keeps its code", fmt.Errorf("while starting: %w", configured), []RC{ErrConfigured}},
		{"plain error counts as generic", errors.New("boom"), []RC{ErrGeneric}},
		{"multierror flattened", multierror.Append(nil, configured, fail(ErrPerm, nil, "x"), errors.New("y")), []RC{ErrConfigured, ErrPerm, ErrGeneric}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(tc.err)
			if len(got) != len(tc.wantRCs) {
				t.Fatalf("%d problems, want %d", len(got), len(tc.wantRCs))
			}
			for i, p := range got {
				if p.RC != tc.wantRCs[i] {
					t.Errorf("problem %d RC = %v, want %v", i, p.RC, tc.wantRCs[i])
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	e := func(rc RC, reason string) *Error { return &Error{RC: rc, Reason: reason} }
	for _, tc := range []struct {
		name       string
		errs       []*Error
		wantRC     RC
		wantReason string
	}{
		{"nothing wrong", nil, Success, ""},
		{"one problem: its reason alone", []*Error{e(ErrPerm, "p")}, ErrPerm, "p"},
		{"configured beats installed", []*Error{e(ErrInstalled, "i"), e(ErrConfigured, "c")}, ErrConfigured, "c (and 1 more: see log)"},
		{"installed beats perm", []*Error{e(ErrPerm, "p"), e(ErrInstalled, "i")}, ErrInstalled, "i (and 1 more: see log)"},
		{"perm beats generic", []*Error{e(ErrGeneric, "g"), e(ErrPerm, "p")}, ErrPerm, "p (and 1 more: see log)"},
		{"args beats generic", []*Error{e(ErrGeneric, "g"), e(ErrArgs, "a")}, ErrArgs, "a (and 1 more: see log)"},
		{"all four: configured", []*Error{e(ErrGeneric, "g"), e(ErrPerm, "p"), e(ErrConfigured, "c"), e(ErrInstalled, "i")}, ErrConfigured, "c (and 3 more: see log)"},
		{"equal severity: the first", []*Error{e(ErrConfigured, "first"), e(ErrConfigured, "second")}, ErrConfigured, "first (and 1 more: see log)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, reason := summarize(tc.errs)
			if rc != tc.wantRC || reason != tc.wantReason {
				t.Errorf("summarize = %v, %q; want %v, %q", rc, reason, tc.wantRC, tc.wantReason)
			}
		})
	}
}

func TestTruncateReason(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short reason unchanged", "pgport=\"abc\" is not an integer", "pgport=\"abc\" is not an integer"},
		{"exactly 128 bytes unchanged", long[:128], long[:128]},
		{"129 bytes cut with an ellipsis", long[:129], long[:125] + "..."},
		{"long reason cut to 128 bytes", long, long[:125] + "..."},
		{"newlines become blanks (one line on stderr)", "a\nb\nc", "a b c"},
		{"escape sequences and other control bytes are escaped (#11)", "pgdata=/x\x1b[2J\r\x00 gone", `pgdata=/x\x1b[2J\r\x00 gone`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateReason(tc.in)
			if got != tc.want {
				t.Errorf("truncateReason = %q, want %q", got, tc.want)
			}
			if len(got) > 128 {
				t.Errorf("%d bytes, more than Pacemaker keeps (128)", len(got))
			}
		})
	}
}

func TestTruncateReasonKeepsUTF8Valid(t *testing.T) {
	// A path with non-ASCII letters in a long reason: the cut must not split a character, or
	// the exit reason Pacemaker stores in the CIB (XML) is not valid UTF-8.
	in := "config=/srv/" + strings.Repeat("é", 100) + "/postgresql.conf not found"
	got := truncateReason(in)
	if len(got) > 128 {
		t.Errorf("%d bytes, more than 128", len(got))
	}
	if !utf8.ValidString(got) {
		t.Errorf("truncated reason is not valid UTF-8: %q", got)
	}
	if !strings.HasSuffix(got, "...") {
		t.Errorf("truncated reason %q does not end with ...", got)
	}
}
