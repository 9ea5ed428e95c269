package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// TestAwaitOutOfRecovery: after pg_ctl promote, which waits only since PostgreSQL 10, the
// promote asks the server until it has left recovery; it gives up a second before its
// deadline with the server's last answer, and at once when the server cannot be asked.
func TestAwaitOutOfRecovery(t *testing.T) {
	const interval = time.Millisecond
	gone := errors.New("connection refused")
	for _, c := range []struct {
		name       string
		answers    []pgctl.LocalState // the last one repeats
		failAt     int                // the read that fails (0: none)
		budget     time.Duration
		wantReads  int // at least
		wantMost   int // at most (0: wantReads exactly)
		wantInRec  bool
		wantFailed bool
	}{
		{"already promoted (pg_promote, pg_ctl -w since 10): one read", []pgctl.LocalState{{}}, 0, time.Minute, 1, 0, false, false},
		{"promotion ends on the third read", []pgctl.LocalState{{InRecovery: true}, {InRecovery: true}, {}}, 0, time.Minute, 3, 0, false, false},
		{"never ends: gives up before the deadline, still a standby", []pgctl.LocalState{{InRecovery: true}}, 0, 1100 * time.Millisecond, 2, 200, true, false},
		{"the server goes away: no more waiting", []pgctl.LocalState{{InRecovery: true}}, 2, time.Minute, 2, 0, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			reads := 0
			read := func(context.Context) (pgctl.LocalState, error) {
				reads++
				if reads == c.failAt {
					return pgctl.LocalState{InRecovery: true}, gone
				}
				return c.answers[min(reads, len(c.answers))-1], nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.budget)
			defer cancel()
			st, err := awaitOutOfRecovery(ctx, read, interval)
			most := c.wantMost
			if most == 0 {
				most = c.wantReads
			}
			if reads < c.wantReads || reads > most {
				t.Errorf("%d reads, want %d to %d", reads, c.wantReads, most)
			}
			if st.InRecovery != c.wantInRec || (err != nil) != c.wantFailed {
				t.Errorf("ended in recovery %v with error %v, want in recovery %v, failed %v", st.InRecovery, err, c.wantInRec, c.wantFailed)
			}
			if ctx.Err() != nil {
				t.Errorf("waited past the deadline")
			}
		})
	}
}
