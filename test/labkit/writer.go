package labkit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// auditedWriter commits one row at a time through the VIP, each with its own note
// (<prefix>-<id>, ids increasing from 0), and remembers the ids whose COMMIT was
// acknowledged, with when (issue #12 §2). A failed attempt is retried with the same id on a
// new connection, as a client retries its transaction: an attempt that committed but was not
// acknowledged then shows up as a duplicate. Each attempt is bounded (connect 2 s, 12 s in
// all), so a hung server is a failure, not a stuck writer.
type auditedWriter struct {
	prefix   string
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	began    time.Time
	ended    time.Time
	acked    []string
	ackedIDs []int
	ackStart []time.Time // when the acknowledged attempt began
	ackAt    []time.Time // when its acknowledgement arrived
	attempts int
	failures int
}

func (l *labSession) startAuditedWriter(prefix string) *auditedWriter {
	w := &auditedWriter{prefix: prefix, done: make(chan struct{}), began: time.Now()}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for id := 0; ; {
			select {
			case <-w.done:
				return
			default:
			}
			note := fmt.Sprintf("%s-%d", prefix, id)
			start := time.Now()
			_, err := l.run(15*time.Second, "client", "env", "PGCONNECT_TIMEOUT=2", "timeout", "-s", "KILL", "12",
				labPsql, "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", labVIP, "-U", "postgres", "-d", "postgres",
				"-c", fmt.Sprintf("insert into lab_rows(note) values ('%s')", note))
			w.mu.Lock()
			w.attempts++
			if err == nil {
				w.acked = append(w.acked, note)
				w.ackedIDs = append(w.ackedIDs, id)
				w.ackStart = append(w.ackStart, start)
				w.ackAt = append(w.ackAt, time.Now())
				id++
			} else {
				w.failures++
			}
			w.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return w
}

func (w *auditedWriter) stop() []string {
	close(w.done)
	w.wg.Wait()
	w.ended = time.Now()
	return w.acked
}

// firstAckAfter is the first acknowledgement of an attempt begun at or after t, and whether
// there is one (the writer may still be running).
func (w *auditedWriter) firstAckAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, s := range w.ackStart {
		if !s.Before(t) {
			return w.ackAt[i], true
		}
	}
	return time.Time{}, false
}

// longestGap is the longest time without an acknowledged commit between the writer's start
// and its stop (both ends count as edges).
func (w *auditedWriter) longestGap() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return writerLongestGap(w.began, w.ended, w.ackAt)
}

func writerLongestGap(began, ended time.Time, acks []time.Time) time.Duration {
	var longest time.Duration
	prev := began
	for _, a := range append(slices.Clone(acks), ended) {
		longest = max(longest, a.Sub(prev))
		prev = a
	}
	return longest
}

// writerAudit is what the final primary holds of the writer's ids.
type writerAudit struct {
	Acked      int // acknowledged commits
	Missing    []int
	Duplicates int // ids present more than once
	Unacked    int // ids present but never acknowledged (committed, the answer lost)
}

// auditWriterNotes compares the acknowledged ids with the notes a node holds.
func auditWriterNotes(prefix string, acked []int, notes []string) writerAudit {
	count := map[int]int{}
	for _, n := range notes {
		if id, err := strconv.Atoi(strings.TrimPrefix(n, prefix+"-")); err == nil && strings.HasPrefix(n, prefix+"-") {
			count[id]++
		}
	}
	a := writerAudit{Acked: len(acked)}
	ackedSet := map[int]bool{}
	for _, id := range acked {
		ackedSet[id] = true
		if count[id] == 0 {
			a.Missing = append(a.Missing, id)
		}
	}
	for id, c := range count {
		if c > 1 {
			a.Duplicates++
		}
		if !ackedSet[id] {
			a.Unacked++
		}
	}
	return a
}

// maxAckedPresent is the highest acknowledged id among notes (-1: none).
func maxAckedPresent(prefix string, acked []int, notes []string) int {
	ackedSet := map[int]bool{}
	for _, id := range acked {
		ackedSet[id] = true
	}
	best := -1
	for _, n := range notes {
		if id, err := strconv.Atoi(strings.TrimPrefix(n, prefix+"-")); err == nil && ackedSet[id] {
			best = max(best, id)
		}
	}
	return best
}
