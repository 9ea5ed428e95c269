package pgctl

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Review 10: primary_conninfo_opt sets an empty user (an empty quoted value, or a bare
// "user=" at its end):
//
//	user=''
//
// libpq takes an empty user for the operating-system user, so pg_rewind, run as the cluster
// owner, connects as that role (postgres, a superuser on most installs); pgx skips an empty
// user, so the source check (QuerySource) still connects as repuser. The check then no longer
// "connects as pg_rewind will" (docs/design.md §5, "Rejoin", step 1), and the dry run proves
// another role's rights. Checked by hand with PostgreSQL 15 (a socket, trust):
//
//	pg_rewind --dry-run --source-server="user=rep dbname=postgres host=/tmp/s port=54399"
//	  -> ERROR: permission denied for function pg_read_binary_file      (connected as rep)
//	pg_rewind --dry-run --source-server="user=rep dbname=postgres user='' host=/tmp/s port=54399"
//	  -> target server needs to use either data checksums or "wal_log_hints = on"  (as postgres)
func TestReview10EmptyUserIsAnotherRoleForPgRewind(t *testing.T) {
	defaults := []string{"user=rep", "application_name=node1", "dbname=postgres", "connect_timeout=10"}
	own := []string{"host=10.0.0.5", "port=5432", "target_session_attrs=read-write"}
	for _, opts := range []string{"user=''", "sslmode=prefer user=", "user=  "} {
		src, err := NewRewindSource(defaults, opts, own)
		if err != nil {
			continue // a refusal is fine
		}
		user, _ := src.Last("user") // what libpq (pg_rewind) reads
		var pieces []string
		for _, kv := range src.settings {
			if strings.Contains(" "+strings.Join(sourceCheckKeys, " ")+" ", " "+kv.Key+" ") {
				pieces = append(pieces, kv.Raw)
			}
		}
		cfg, err := pgx.ParseConfigWithOptions(strings.Join(pieces, " "), pgx.ParseConfigOptions{
			ParseConfigOptions: pgconn.ParseConfigOptions{ConnStringAllowedKeys: sourceCheckKeys}})
		if err != nil {
			continue // the check would refuse: fine
		}
		if user == "" || cfg.User != user {
			t.Errorf("opts %q: pg_rewind connects as %q (libpq: an empty user is the operating-system user), the source check as %q; conninfo %q",
				opts, user, cfg.User, src.Conninfo)
		}
	}
}
