package pgctl

import (
	"strings"
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

// Review 9: a URI in primary_conninfo_opt with a query ("postgresql://rep:s3cret@h/db?sslmode=require")
// reads as the keyword "postgresql://rep:s3cret@h/db?sslmode": not "password", so it stays in
// pg_rewind's --source-server (visible to every local user in ps), and libpq's refusal of it
// (invalid connection option "postgresql://rep:s3cret@...") reaches the log and the exit
// reason. Keywords libpq 18 adds hold secrets too (oauth_client_secret, scram_client_key) and
// a PostgreSQL 15 pg_rewind runs with the system's newest libpq.so.5 on PGDG installs. A
// keyword that is not a known, secret-free libpq keyword must be refused, its value unnamed.
func TestReview9UnknownKeywordsStayOffArgv(t *testing.T) {
	const secret = "s3cretPW"
	own := []string{"host=10.0.0.5", "port=5432", "target_session_attrs=read-write"}
	for _, opts := range []string{
		"postgresql://rep:" + secret + "@10.0.0.5/postgres?sslmode=require",
		"oauth_client_secret=" + secret,
		"scram_client_key=" + secret,
		"sslpasword=" + secret, // a typo of sslpassword
	} {
		src, err := NewRewindSource([]string{"user=rep"}, opts, own)
		switch {
		case err == nil:
			t.Errorf("opts %q accepted: pg_rewind's command line would be --source-server=%q", opts, src.Conninfo)
		case strings.Contains(err.Error(), secret):
			t.Errorf("opts %q refused with the secret in the error: %v", opts, err)
		}
	}
}
