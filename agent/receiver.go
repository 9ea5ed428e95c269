package agent

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// After a promotion elsewhere, a standby whose WAL receiver is not running is asked to retry
// its primary at once (a configuration reload wakes PostgreSQL's startup process), first by
// the post-promote notification, then by its monitors for receiverWakeWindow.
//
// Why twice: in a switchover the VIP leaves the demoted node before the promotion and reaches
// the new primary only after the post-promote notification. The demoted standby's attempts
// before that find nothing behind the VIP; when one fails at once ("No route to host")
// PostgreSQL waits wal_retrieve_retry_interval (5 s by default) before the next, and the old
// primary streamed 6.1 s after the move instead of 2.5 s (lab, first switchover of 20). The
// first monitor of the new role runs after the VIP moved.
const receiverWakeWindow = 30 * time.Second

// ShouldWakeReceiver decides whether a standby's monitor asks PostgreSQL to retry its primary
// now: only a standby with no WAL receiver process (one that is connecting is left alone),
// while a primary runs elsewhere, within the window a promotion opened. Outside the window a
// standby that cannot connect is not reloaded at every monitor (PostgreSQL retries by itself).
func ShouldWakeReceiver(st pgctl.LocalState, primaryElsewhere bool, now, wakeUntil time.Time) bool {
	return st.InRecovery && st.ReceiverStatus == "" && primaryElsewhere && now.Before(wakeUntil)
}

func receiverWakeFile(tmpdir string) string { return filepath.Join(tmpdir, "receiver-wake-until") }

// openReceiverWakeWindow lets the next monitors wake the WAL receiver until now+window.
func (r *replica) openReceiverWakeWindow(now time.Time) {
	until := strconv.FormatInt(now.Add(receiverWakeWindow).Unix(), 10)
	if _, err := pgctl.WriteFileAtomic(receiverWakeFile(r.c.TmpDir), []byte(until+"\n"), 0o600, r.sys.Owner); err != nil {
		r.a.Log.Warn("cannot record the receiver wake window", "error", err)
	}
}

// receiverWakeUntil is the end of the window; the zero time when none was opened.
func (r *replica) receiverWakeUntil() time.Time {
	b, err := safefs.ReadFile(receiverWakeFile(r.c.TmpDir), safefs.StateLimit)
	if err != nil {
		return time.Time{}
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(secs, 0)
}

// reconnectReceiver wakes a standby that does not stream (post-promote notification).
func (r *replica) reconnectReceiver(ctx context.Context) {
	conn, err := r.connect(ctx)
	if err != nil {
		return // not running here: nothing to reconnect
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if st, err := pgctl.QueryLocalState(ctx, conn, r.sys.Version); err == nil && st.InRecovery && !st.Streaming() {
		r.wakeStartupProcess(ctx, conn, "a primary was promoted: WAL receiver asked to reconnect now")
	}
}

// wakeReceiverAgain is the monitor's part: st was read by this monitor.
func (r *replica) wakeReceiverAgain(ctx context.Context, st pgctl.LocalState, primaryElsewhere bool) {
	if !ShouldWakeReceiver(st, primaryElsewhere, time.Now(), r.receiverWakeUntil()) {
		return
	}
	conn, err := r.connect(ctx)
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	r.wakeStartupProcess(ctx, conn, "no WAL receiver since the promotion: asked to reconnect now")
}

// wakeStartupProcess reloads the configuration, which wakes the startup process from its wait
// between two attempts to reach the primary.
func (r *replica) wakeStartupProcess(ctx context.Context, conn *pgx.Conn, done string) {
	if err := pgctl.Reload(ctx, conn); err != nil {
		r.a.Log.Warn("cannot wake the WAL receiver", "error", err)
		return
	}
	r.a.Log.Info(done)
}
