package test

import (
	"strings"
	"testing"
	"time"
)

// Review 14 (docs/design.md §4, "A stopped standby's walsender"): the post-stop notification
// ends a stopped node's walsender with pg_terminate_backend. A walsender ended that way
// first reports its FATAL to the standby, a blocking write that nothing bounds: when the
// standby vanished with WAL still unsent (its socket full, as a power cut leaves it under any
// write load that does not wait for the standby: transactions not yet committed, vacuum,
// full-page writes, sessions with synchronous_commit=local), the walsender stays in that
// write (wait event ClientWrite) and never again reaches the wal_sender_timeout check of its
// loop. Its row stays, reported streaming, the standby stays named, and every commit waits
// until TCP gives up on the dead peer (tcp_retries2: about 15 minutes), where without the
// notification wal_sender_timeout (60 s) would have ended it. Here the standby's WAL receiver
// is stopped (SIGSTOP: its socket stays open and full), the state a dead peer leaves until
// TCP's retransmissions end; measured, the ended walsender was still in ClientWrite 75 s
// later with synchronous_standby_names "node2". A second pg_terminate_backend ends the write
// (PostgreSQL drops the report to the client when a die interrupt comes while it is blocked).
func TestReview14PostStopEndsAWalSenderBlockedOnAFullSocket(t *testing.T) {
	r, walSender, before := stalledSyncStandby(t)

	// WAL the standby never reads, committed without waiting for it, until the walsender
	// cannot send any more: the socket's buffers are full, the WAL it sent lags the primary's
	// by far more than they hold.
	blocked := func() bool {
		return strings.TrimSpace(r.c.sql(t, "select pg_current_wal_lsn() - sent_lsn > 64*1024*1024 from pg_stat_replication where pid = "+before)) == "t"
	}
	for i := 0; !blocked(); i++ {
		if i == 30 {
			t.Fatal("node2's walsender never fell behind: the test proves nothing")
		}
		r.c.sql(t, "SET synchronous_commit = local; INSERT INTO reports SELECT generate_series(1, 300000)")
	}

	committed := r.waitingCommit(t) // node2 receives nothing
	r.setClusterOption(t, "stonith-enabled", "true")
	r.fenceNode2(t) // crm_mon shows node2 fenced: offline and clean (review 18)
	notified := time.Now()
	r.must(t, 0, "notify", postStopOfNode2...)
	if !commitReturned(t, committed, notified) {
		state := strings.TrimSpace(r.c.sql(t, "select coalesce((select state || ' ' || coalesce(wait_event, '') from pg_stat_activity where pid = "+before+"), 'gone')"))
		t.Errorf("the commit still waits 10 s after the post-stop notification with fencing on: node2's walsender %s (%s), synchronous_standby_names %q",
			before, state, strings.TrimSpace(r.c.sql(t, "show synchronous_standby_names")))
	}
	if got := walSender(); got == before {
		t.Errorf("node2's walsender %s still runs after the post-stop notification with fencing on", got)
	}
}
