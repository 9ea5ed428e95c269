// Package agent implements the OCF actions of the pgsql resource agent and the decisions
// behind them. Effects go through pgctl (PostgreSQL) and crmattr (node attributes).
package agent

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/go-multierror"
)

// RC is an OCF exit code, named as in OCF 1.1.
type RC int

const (
	Success          RC = 0
	ErrGeneric       RC = 1
	ErrArgs          RC = 2
	ErrUnimplemented RC = 3
	ErrPerm          RC = 4
	ErrInstalled     RC = 5
	ErrConfigured    RC = 6
	NotRunning       RC = 7
	RunningPromoted  RC = 8
	FailedPromoted   RC = 9
	Degraded         RC = 190
	DegradedPromoted RC = 191
)

var rcNames = map[RC]string{
	Success: "success", ErrGeneric: "generic error", ErrArgs: "invalid arguments",
	ErrUnimplemented: "unimplemented", ErrPerm: "insufficient privileges",
	ErrInstalled: "not installed", ErrConfigured: "not configured", NotRunning: "not running",
	RunningPromoted: "running promoted", FailedPromoted: "failed promoted",
	Degraded: "degraded", DegradedPromoted: "degraded promoted",
}

func (rc RC) String() string {
	if name, ok := rcNames[rc]; ok {
		return name
	}
	return fmt.Sprintf("rc %d", int(rc))
}

// Error is a failure with its OCF meaning: the code to exit with and the reason an operator
// reads in crm_mon. Err keeps the cause for the log.
type Error struct {
	RC     RC
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// fail builds an *Error; the reason is a format string.
func fail(rc RC, err error, format string, args ...any) *Error {
	return &Error{RC: rc, Reason: fmt.Sprintf(format, args...), Err: err}
}

// severity orders codes when several problems are reported at once: the code returned is
// the one that tells Pacemaker the most (a configuration error stops the resource everywhere,
// a missing binary or permission only on this node).
var severity = map[RC]int{ErrConfigured: 5, ErrInstalled: 4, ErrPerm: 3, ErrArgs: 2, ErrGeneric: 1}

// problems flattens err into its *Error parts (a multierror of validation problems, or one
// error); anything that is not an *Error counts as a generic error.
func problems(err error) []*Error {
	var list []error
	var merr *multierror.Error
	if errors.As(err, &merr) {
		list = merr.Errors
	} else if err != nil {
		list = []error{err}
	}
	var out []*Error
	for _, e := range list {
		var oe *Error
		if !errors.As(e, &oe) {
			oe = &Error{RC: ErrGeneric, Reason: e.Error()}
		}
		out = append(out, oe)
	}
	return out
}

// summarize picks the exit code and the single exit reason for a set of problems: the most
// severe problem, and a count of the others (each of which is logged).
func summarize(errs []*Error) (RC, string) {
	if len(errs) == 0 {
		return Success, ""
	}
	worst := errs[0]
	for _, e := range errs[1:] {
		if severity[e.RC] > severity[worst.RC] {
			worst = e
		}
	}
	reason := worst.Reason
	if n := len(errs) - 1; n > 0 {
		reason += fmt.Sprintf(" (and %d more: see log)", n)
	}
	return worst.RC, reason
}

// maxReason is the length Pacemaker keeps of an exit reason.
const maxReason = 128

func truncateReason(s string) string {
	s = escapeControls(strings.ReplaceAll(s, "\n", " "))
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) { // never split a character: the CIB is XML
		cut--
	}
	return s[:cut] + "..."
}

// rootCause is the innermost error err wraps: for a failed file operation the system's
// word ("read-only file system"), without the path the reason already names.
func rootCause(err error) error {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err
		}
		err = inner
	}
}
