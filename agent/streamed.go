package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// StreamRecord is what a standby remembers of its current postmaster run (in the run
// directory: a reboot forgets it, as it should). Run: the postmaster run in which it was
// seen streaming (the election's Streamed, docs/design.md I7); pg_last_wal_receive_lsn()
// cannot tell, it is set as soon as recovery asks for streaming. Seq and Node: the confirmed
// promotion whose primary it was streaming from (0: not known), which is what lets its own
// promotion continue that promotion's chain of promote points (rejoin.go, ChainFor).
type StreamRecord struct {
	Run  string
	Seq  uint64
	Node string
}

func (s StreamRecord) String() string {
	if s.Seq == 0 {
		return s.Run
	}
	return fmt.Sprintf("%s %d %s", s.Run, s.Seq, s.Node)
}

// ParseStreamRecord reads what String wrote; anything else is no record.
func ParseStreamRecord(text string) (StreamRecord, bool) {
	f := strings.Fields(text)
	switch len(f) {
	case 1:
		return StreamRecord{Run: f[0]}, true
	case 3:
		seq, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || seq == 0 {
			return StreamRecord{}, false
		}
		return StreamRecord{Run: f[0], Seq: seq, Node: f[2]}, true
	}
	return StreamRecord{}, false
}

func (r *replica) streamedFile() string {
	return filepath.Join(r.a.Env.RunDir, "pgsql-ra-"+r.a.Env.Resource()+".streamed")
}

// streamRecord is the record of the postmaster run pm, if there is one.
func (r *replica) streamRecord(pm pgctl.Postmaster) (StreamRecord, bool) {
	if r.a.Env.RunDir == "" || pm.Started == "" {
		return StreamRecord{}, false
	}
	b, err := safefs.ReadFile(r.streamedFile(), safefs.StateLimit)
	if err != nil {
		return StreamRecord{}, false
	}
	rec, ok := ParseStreamRecord(string(b))
	return rec, ok && rec.Run == pm.Run()
}

// streamedInRun: this standby was seen streaming in the postmaster run pm.
func (r *replica) streamedInRun(pm pgctl.Postmaster) bool {
	_, ok := r.streamRecord(pm)
	return ok
}

// recordStreamed runs in a monitor that sees this standby streaming (st). It writes once per
// run and once per promotion followed: the cluster's latest confirmed promotion is the
// primary it streams from (a demoted primary no longer accepts a read-write session, and a
// promote notification makes the record forget it, forgetFollowedPromotion). That holds only
// for a WAL receiver whose connection insists on a read-write session, as the agent's
// primary_conninfo does from PostgreSQL 10 on (pgctl.TargetSessionAttrs); the server says
// which conninfo is in force, so one from postgresql.auto.conf (pg_basebackup -R writes one
// without target_session_attrs), start_opt or a later include counts as it should (review
// 31). Otherwise a demoted primary may stream from itself through the VIP, and a record
// would excuse its election from waiting for the others and link it to a promotion it never
// followed (review 29): nothing is recorded, the election waits, the link stays unproven.
func (r *replica) recordStreamed(ctx context.Context, pm pgctl.Postmaster, st pgctl.LocalState) {
	if r.a.Env.RunDir == "" || pm.Started == "" || !r.sys.Version.Has(pgctl.TargetSessionAttrs) || !st.ReceiverReadWrite {
		return
	}
	rec, ok := r.streamRecord(pm)
	if ok && rec.Seq != 0 {
		return
	}
	next := StreamRecord{Run: pm.Run()}
	if chain, _ := LatestPromotion(r.promotePoints(ctx)); chain != nil && chain[0].Exact() {
		next.Seq, next.Node = chain[0].Seq, chain[0].Node
	}
	if ok && next == rec {
		return
	}
	if _, err := pgctl.WriteFileAtomic(r.streamedFile(), []byte(next.String()), 0o600, pgctl.OSUser{}); err != nil {
		r.a.Log.Warn("cannot record that this standby streams", "error", err)
	}
}

// forgetFollowedPromotion: after another node's promotion this standby follows a new primary
// only once it streams again; the run it streamed in stays recorded.
func (r *replica) forgetFollowedPromotion() {
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil {
		return
	}
	if rec, ok := r.streamRecord(pm); ok && rec.Seq != 0 {
		rec.Seq, rec.Node = 0, ""
		if _, err := pgctl.WriteFileAtomic(r.streamedFile(), []byte(rec.String()), 0o600, pgctl.OSUser{}); err != nil {
			r.a.Log.Warn("cannot update the streaming record", "error", err)
		}
	}
}

// followedPromotion is the promotion whose primary this node streamed from in its current
// run (ok false: none known).
func (r *replica) followedPromotion() (StreamRecord, bool) {
	pm, err := pgctl.FindPostmaster(r.c.PgData)
	if err != nil || !pm.Running {
		return StreamRecord{}, false
	}
	rec, ok := r.streamRecord(pm)
	return rec, ok && rec.Seq != 0
}
