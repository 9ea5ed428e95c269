package pgctl

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Review 9: primary_conninfo_opt ending in a backslash ("application_name=x\") was kept as
// written, and NewRewindSource joins it to the agent's own settings with a space: libpq (and
// pgx, which reads keyword=value strings as libpq does) takes "\ " as an escaped space, so the
// agent's host=<master_ip> becomes part of the last value of primary_conninfo_opt, and
// pg_rewind (and the source check) connect to the host primary_conninfo_opt names, or to the
// default socket when it names none. Checked by hand with psql 15:
//
//	psql 'user=x host=127.0.0.3 application_name=x\ host=127.0.0.2 port=1' -> "connection to server at "127.0.0.3", port 1 failed"
//
// RewindSource.Last("host") still says master_ip, so the log names a server pg_rewind does not use.
func TestReview9TrailingBackslashCannotOverrideHost(t *testing.T) {
	defaults := []string{"user=rep", "application_name=node1", "dbname=postgres", "connect_timeout=10"}
	own := []string{"host=10.0.0.5", "port=5432", "target_session_attrs=read-write"}
	for _, opts := range []string{`host=10.9.9.9 application_name=x\`, `sslmode=prefer application_name=x\`} {
		src, err := NewRewindSource(defaults, opts, own)
		if err != nil {
			continue // a refusal is fine too
		}
		cfg, err := pgconn.ParseConfig(src.Conninfo)
		if err != nil {
			t.Errorf("opts %q: conninfo %q does not parse as libpq would: %v", opts, src.Conninfo, err)
			continue
		}
		last, _ := src.Last("host")
		if cfg.Host != "10.0.0.5" || cfg.Port != 5432 || last != cfg.Host {
			t.Errorf("opts %q: libpq connects to host %q port %d (the agent believes host %q); conninfo %q", opts, cfg.Host, cfg.Port, last, src.Conninfo)
		}
	}
}
