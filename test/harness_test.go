// Package test holds the acceptance tests that run the agent binary against real
// PostgreSQL, real ocf-tester and (in lab/) a real Pacemaker cluster. They need root (the
// agent switches to the cluster owner) and the packages test/install-deps.sh installs.
package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pgBinDir holds the PostgreSQL server binaries the tests use.
var pgBinDir = envOr("PG_BINDIR", "/usr/lib/postgresql/15/bin")

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// requireRoot skips tests that need root and real PostgreSQL when run as a normal user;
// `make test` (and CI) run as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the agent runs PostgreSQL as its owner through process credentials")
	}
	if _, err := os.Stat(filepath.Join(pgBinDir, "initdb")); err != nil {
		t.Fatalf("PostgreSQL server binaries missing in %s (run test/install-deps.sh): %v", pgBinDir, err)
	}
}

// TestMain removes the agent binary and the newer packages the tests built for themselves.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtPath != "" {
		os.RemoveAll(filepath.Dir(builtPath))
	}
	if newer.dist != "" {
		os.RemoveAll(newer.dist)
	}
	os.Exit(code)
}

// agentBinary is the agent under test: PGSQL_RA_AGENT (make test points it at the installed
// /usr/lib/ocf/resource.d/cfengine/pgsql), else a fresh build.
func agentBinary(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("PGSQL_RA_AGENT"); path != "" {
		return path
	}
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("/var/tmp", "pgsql-ra-bin-")
		if err == nil {
			os.Chmod(dir, 0o755)
			builtPath = filepath.Join(dir, "pgsql")
			cmd := exec.Command("go", "build", "-o", builtPath, "../cmd/pgsql-ra")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, berr := cmd.CombinedOutput(); berr != nil {
				err = fmt.Errorf("go build: %v: %s", berr, out)
			}
		}
		buildErr = err
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtPath
}

var (
	builtOnce sync.Once
	builtPath string
	buildErr  error
)

// cluster is a PostgreSQL data directory made by initdb for one test, owned by postgres,
// with its socket in its own directory and no TCP listener.
type cluster struct {
	Dir, PgData, SocketDir, Logfile string
	Port                            int
	Owner                           *user.User
}

// newCluster initdb's a cluster under /var/tmp (postgres must be able to reach it, which
// t.TempDir's 0700 root-owned parents forbid) and removes it at the end of the test.
func newCluster(t *testing.T, initdbArgs ...string) *cluster {
	t.Helper()
	requireRoot(t)
	owner, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("user postgres: %v", err)
	}
	dir, err := os.MkdirTemp("/var/tmp", "pgsql-ra-test-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{Dir: dir, PgData: filepath.Join(dir, "data"), SocketDir: filepath.Join(dir, "run"),
		Logfile: filepath.Join(dir, "postgresql.log"), Port: freePort(t), Owner: owner}
	t.Cleanup(func() { c.kill(t); os.RemoveAll(dir) })
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)
	for _, d := range []string{dir, c.SocketDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
		os.Chown(d, uid, gid)
	}
	c.asOwner(t, append([]string{filepath.Join(pgBinDir, "initdb"), "-D", c.PgData, "-A", "peer", "--no-sync"}, initdbArgs...)...)
	c.appendConf(t, fmt.Sprintf("unix_socket_directories = '%s'\nlisten_addresses = ''\nport = %d\n", c.SocketDir, c.Port))
	return c
}

// newStandbyOf makes a second data directory with pg_basebackup from primary, which must
// be running and accept replication connections on primaryHost:primary.Port. The copy gets
// its own socket directory and no TCP listener; its port number is the primary's (the agent
// uses pgport for both the local server and primary_conninfo, as the old agent did).
func newStandbyOf(t *testing.T, primary *cluster, primaryHost string) *cluster {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "pgsql-ra-test-")
	if err != nil {
		t.Fatal(err)
	}
	s := &cluster{Dir: dir, PgData: filepath.Join(dir, "data"), SocketDir: filepath.Join(dir, "run"),
		Logfile: filepath.Join(dir, "postgresql.log"), Port: primary.Port, Owner: primary.Owner}
	t.Cleanup(func() { s.kill(t); os.RemoveAll(dir) })
	uid, _ := strconv.Atoi(s.Owner.Uid)
	gid, _ := strconv.Atoi(s.Owner.Gid)
	for _, d := range []string{dir, s.SocketDir} {
		os.MkdirAll(d, 0o755)
		os.Chmod(d, 0o755)
		os.Chown(d, uid, gid)
	}
	s.asOwner(t, filepath.Join(pgBinDir, "pg_basebackup"), "-h", primaryHost, "-p", strconv.Itoa(primary.Port),
		"-D", s.PgData, "-X", "stream", "--no-sync")
	s.appendConf(t, fmt.Sprintf("unix_socket_directories = '%s'\nlisten_addresses = ''\n", s.SocketDir))
	return s
}

// asOwner runs a command as postgres (the test's own setup, not the agent under test).
func (c *cluster) asOwner(t *testing.T, argv ...string) string {
	t.Helper()
	return c.asOwnerWithin(t, ownerCommandDeadline, argv...)
}

// Every command a test runs as the owner has a client-side deadline: a statement_timeout
// does not end a COMMIT that waits for a synchronous standby, and a hung helper must fail
// its test instead of hanging the suite (issue #10).
const (
	ownerCommandDeadline = 3 * time.Minute
	sqlDeadline          = time.Minute
)

func (c *cluster) asOwnerWithin(t *testing.T, deadline time.Duration, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := c.ownerCommand(ctx, argv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

// ownerCommand is argv as the cluster's owner, in its directory, with a minimal environment,
// ended with ctx.
func (c *cluster) ownerCommand(ctx context.Context, argv ...string) *exec.Cmd {
	uid, _ := strconv.Atoi(c.Owner.Uid)
	gid, _ := strconv.Atoi(c.Owner.Gid)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	cmd.Dir = c.Dir
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin", "HOME=" + c.Dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return cmd
}

// psqlArgv is psql running statement on the cluster, as sql runs it.
func (c *cluster) psqlArgv(statement string) []string {
	return []string{"/usr/bin/psql", "-X", "-At", "-h", c.SocketDir, "-p", strconv.Itoa(c.Port),
		"-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", statement}
}

// sql runs statements through psql as postgres (test setup only).
func (c *cluster) sql(t *testing.T, statement string) string {
	t.Helper()
	return c.asOwnerWithin(t, sqlDeadline, c.psqlArgv(statement)...)
}

func (c *cluster) appendConf(t *testing.T, text string) {
	t.Helper()
	c.appendTo(t, "postgresql.conf", text)
}

// appendAutoConf adds lines to postgresql.auto.conf, as ALTER SYSTEM or pg_basebackup -R do.
func (c *cluster) appendAutoConf(t *testing.T, text string) {
	t.Helper()
	c.appendTo(t, "postgresql.auto.conf", text)
}

func (c *cluster) appendTo(t *testing.T, file, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(c.PgData, file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// prependHBA puts an authentication rule before initdb's (the first matching rule wins).
func (c *cluster) prependHBA(t *testing.T, rule string) {
	t.Helper()
	path := filepath.Join(c.PgData, "pg_hba.conf")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(rule+"\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// crashPostmaster kills the postmaster with SIGKILL, as a power cut of its server, and gives
// the primary's walsender time to notice the closed connection.
func (c *cluster) crashPostmaster(t *testing.T) {
	t.Helper()
	if pid := c.postmasterPID(); pid == 0 || syscall.Kill(pid, syscall.SIGKILL) != nil {
		t.Fatal("cannot kill the postmaster of " + c.PgData)
	}
	time.Sleep(500 * time.Millisecond)
}

// postmasterPID returns the PID in postmaster.pid, or 0.
func (c *cluster) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(c.PgData, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// kill ends a server a test left behind (also a SIGSTOPped one).
func (c *cluster) kill(t *testing.T) {
	pid := c.postmasterPID()
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return
	}
	syscall.Kill(pid, syscall.SIGCONT)
	syscall.Kill(pid, syscall.SIGQUIT)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// params are the instance parameters that point the agent at this cluster.
func (c *cluster) params() map[string]string {
	return map[string]string{
		"pgctl":     filepath.Join(pgBinDir, "pg_ctl"),
		"pgdata":    c.PgData,
		"socketdir": c.SocketDir,
		"pgport":    strconv.Itoa(c.Port),
		"logfile":   c.Logfile,
	}
}

// freePort finds a TCP port nobody listens on; the port only names the unix socket here.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// result is one run of the agent.
type result struct {
	RC       int
	PID      int // the agent process's: the pid in its log tag
	Stdout   string
	Stderr   string
	Duration time.Duration
}

// reasons returns the exit-reason lines on stderr.
func (r result) reasons() []string {
	var out []string
	for _, line := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(line, "ocf-exit-reason:") {
			out = append(out, strings.TrimPrefix(line, "ocf-exit-reason:"))
		}
	}
	return out
}

// runAgent runs one action the way Pacemaker does: parameters as OCF_RESKEY_*, meta
// attributes as OCF_RESKEY_CRM_meta_*, the action as the argument, stdin from /dev/null.
func runAgent(t *testing.T, action string, params map[string]string, meta map[string]string) result {
	t.Helper()
	return runAgentEnv(t, action, params, meta, nil)
}

// runAgentEnv is runAgent with extra environment variables.
func runAgentEnv(t *testing.T, action string, params, meta map[string]string, extra []string) result {
	t.Helper()
	return runAgentWrapped(t, nil, action, params, meta, extra)
}

// runAgentWrapped runs the agent through wrapper (argv that ends by exec'ing its arguments,
// so the agent keeps the process id the result reports), or directly when wrapper is nil.
func runAgentWrapped(t *testing.T, wrapper []string, action string, params, meta map[string]string, extra []string) result {
	t.Helper()
	env := append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=pgsqltest", "OCF_EXIT_REASON_PREFIX=ocf-exit-reason:"}, extra...)
	for k, v := range params {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	if _, ok := meta["timeout"]; !ok {
		env = append(env, "OCF_RESKEY_CRM_meta_timeout=15000")
	}
	for k, v := range meta {
		env = append(env, "OCF_RESKEY_CRM_meta_"+k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append(append([]string{}, wrapper...), agentBinary(t), action)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(began)}
	if cmd.Process != nil {
		r.PID = cmd.Process.Pid
	}
	if exitErr, ok := err.(*exec.ExitError); ok {
		r.RC = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running agent %s: %v", action, err)
	}
	return r
}

// mustRC runs an action and fails the test unless it exits with want.
func mustRC(t *testing.T, want int, action string, params, meta map[string]string) result {
	t.Helper()
	r := runAgent(t, action, params, meta)
	if r.RC != want {
		t.Fatalf("%s: rc %d, want %d\nstderr:\n%s", action, r.RC, want, r.Stderr)
	}
	return r
}

// treeDigest fingerprints every file, directory and symlink below root (path, mode, owner,
// content), to prove an action changed nothing on disk.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d", path, info.Mode(), st.Uid, st.Gid)
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("digest of %s: %v", root, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
