package pgctl

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// ConnParams say where and as whom the agent connects.
type ConnParams struct {
	Host     string // unix socket directory (absolute path) or a TCP host
	Port     int
	Database string
	User     string // database role
	Password string // empty: peer or trust authentication over the socket
	// PeerAs is the OS account whose identity the unix-socket connection carries, so that
	// peer authentication maps it to the role of the same name while the agent runs as root.
	PeerAs *OSUser
}

// socketFile is the name of the server's unix socket for a port.
func socketFile(dir string, port int) string {
	return fmt.Sprintf("%s/.s.PGSQL.%d", strings.TrimRight(dir, "/"), port)
}

// IsSocketDir reports whether host names a unix socket directory rather than a TCP host.
func IsSocketDir(host string) bool { return strings.HasPrefix(host, "/") }

// SocketDirCandidates are tried, in order, when neither pghost nor socketdir is set and
// postgresql.conf does not name one: Debian's and upstream's compiled-in defaults.
var SocketDirCandidates = []string{"/var/run/postgresql", "/tmp"}

// FindSocketDir returns the first candidate directory holding the socket for port.
func FindSocketDir(candidates []string, port int) string {
	for _, dir := range candidates {
		if _, err := os.Stat(socketFile(dir, port)); err == nil {
			return dir
		}
	}
	return candidates[0]
}

// Connect opens one session for the agent's own queries. The session never waits for a
// synchronous standby (synchronous_commit=off) and its statements end at the context's
// deadline (statement_timeout).
func Connect(ctx context.Context, p ConnParams) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password = p.Host, uint16(p.Port), p.Database, p.User, p.Password
	cfg.TLSConfig, cfg.Fallbacks = nil, nil
	cfg.RuntimeParams = map[string]string{
		"application_name":   "pgsql-ra",
		"synchronous_commit": "off",
	}
	if deadline, ok := ctx.Deadline(); ok {
		ms := time.Until(deadline).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(ms, 10)
		cfg.ConnectTimeout = time.Until(deadline)
	}
	cfg.DialFunc = dialAs(p.PeerAs)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s port %d as %s: %w", p.Host, p.Port, p.User, err)
	}
	return conn, nil
}

// dialAs returns a dialer that, for unix sockets, connects with the effective uid and gid of
// account: the server's peer authentication reads the connecting process's effective
// credentials (SO_PEERCRED) at connect time. Running as root, the agent switches its
// effective ids (all threads) for the connect call only and switches back at once; no child
// process and no su is needed.
func dialAs(account *OSUser) pgconn.DialFunc {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network != "unix" || account == nil || safefs.ProcessEUID() != 0 || account.UID == 0 {
			return d.DialContext(ctx, network, addr)
		}
		defer safefs.LockCredentials()()
		egid := os.Getegid()
		if err := syscall.Setresgid(-1, int(account.GID), -1); err != nil {
			return nil, fmt.Errorf("switching effective gid to %d: %w", account.GID, err)
		}
		if err := syscall.Setresuid(-1, int(account.UID), -1); err != nil {
			_ = syscall.Setresgid(-1, egid, -1)
			return nil, fmt.Errorf("switching effective uid to %d: %w", account.UID, err)
		}
		conn, dialErr := d.DialContext(ctx, network, addr)
		if err := syscall.Setresuid(-1, 0, -1); err != nil {
			// Continuing as a non-root process would fail later in confusing ways.
			panic("pgctl: cannot return to effective uid 0: " + err.Error())
		}
		if err := syscall.Setresgid(-1, egid, -1); err != nil {
			panic("pgctl: cannot return to the original effective gid: " + err.Error())
		}
		return conn, dialErr
	}
}
