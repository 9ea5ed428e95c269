package agent

import (
	"strings"

	"github.com/pgsql-ra/pgsql-ra/pgctl"
)

// ReplicationRow is one line of pg_stat_replication as the primary sees it.
type ReplicationRow = pgctl.ReplicationRow

// StandbyView is what the primary concludes about one other node of node_list from
// pg_stat_replication: the attributes to publish for it and what to do with rep_mode.conf.
type StandbyView struct {
	Node       string
	DataStatus string // <rsc>-data-status
	Score      string // promotion score
	Status     string // <rsc>-status; "" leaves it to the standby itself
	Sync       syncChange
	Reason     string
}

type syncChange int

const (
	syncKeep        syncChange = iota
	syncMakeSync               // this streaming standby may become the sync standby
	syncDropIfNamed            // this node must not stay in synchronous_standby_names
)

// ClassifyStandby applies the primary's rules (REFERENCE §5.2) to one node: a streaming
// sync standby is promotable; a streaming async one only in async mode with at most two
// nodes (with more the primary cannot tell which standby is newest); everything else is not.
// QUORUM (PostgreSQL 10 quorum commit) is named explicitly but stays unpromotable: with
// ANY n of several standbys, each one may lack commits the others acknowledged. The Sync
// field matters only in rep_mode=sync.
func ClassifyStandby(node string, rows []ReplicationRow, mode RepMode, nodeCount int) StandbyView {
	var row *ReplicationRow
	for i := range rows {
		if NodeName(rows[i].ApplicationName) == node {
			row = &rows[i]
			break
		}
	}
	v := StandbyView{Node: node, Score: ScoreCannotPromote}
	if row == nil {
		v.DataStatus, v.Sync = dataDisconnect, syncDropIfNamed
		v.Reason = "not connected to the primary"
		return v
	}
	state, syncState := strings.ToUpper(row.State), strings.ToUpper(row.SyncState)
	v.DataStatus = state + "|" + syncState
	if state != "STREAMING" {
		v.Status, v.Sync = StatusConnected, syncDropIfNamed
		v.Reason = "connected but " + strings.ToLower(state) + ", not streaming"
		return v
	}
	switch syncState {
	case "SYNC":
		v.Status, v.Score = StatusSync, ScoreCanPromote
		v.Reason = "streaming, synchronous"
	case "QUORUM":
		v.Status = StatusPotential
		v.Reason = "streaming in a quorum: may lack commits the other quorum members acknowledged"
	case "ASYNC":
		v.Status, v.Sync = StatusAsync, syncMakeSync
		switch {
		case mode == RepSync:
			v.Reason = "streaming asynchronously in rep_mode=sync: may lack acknowledged commits"
		case nodeCount > 2:
			v.Reason = "streaming asynchronously with more than two nodes: the newest standby is not known"
		default:
			v.Score = ScoreCanPromote
			v.Reason = "streaming asynchronously (two nodes)"
		}
	case "POTENTIAL":
		v.Status = StatusPotential
		v.Reason = "streaming, potential synchronous standby"
	default:
		v.Status, v.Sync = StatusConnected, syncDropIfNamed
		v.Reason = "streaming with unknown sync_state " + syncState
	}
	return v
}
