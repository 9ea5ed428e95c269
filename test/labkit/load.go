package labkit

// The second load of issue #12 §2: pgbench (shipped with PostgreSQL) through the VIP from
// the lab's client namespace at a fixed rate, while the bench measures a switchover and a
// power cut ("switchover-load", "failover-load"). pgbench's clients end with the old
// primary's connections: the load is on until the fault, which is what it is for.

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

var labPgbench = filepath.Join(labPGBin, "pgbench")

// labLoad is one pgbench run.
type labLoad struct {
	cmd    *exec.Cmd
	output bytes.Buffer
	tps    int
	done   chan error
}

// startLoad creates pgbench's tables through the VIP (pgbench -i, scale 1: they replace any
// earlier ones) and starts 4 clients at tps transactions a second in all, for at most
// maxLoad; the measurement begins once they run.
func (l *labSession) startLoad(t T, tps int) *labLoad {
	t.Helper()
	l.mustLog(2*time.Minute, "client", "env", "PGCONNECT_TIMEOUT=5", labPgbench, "-i", "-q", "-s", "1",
		"-h", labVIP, "-U", "postgres", "postgres")
	ld := &labLoad{tps: tps, done: make(chan error, 1)}
	ld.cmd = exec.Command(l.script, "client", "env", "PGCONNECT_TIMEOUT=2", labPgbench, "-n",
		"-R", strconv.Itoa(tps), "-T", strconv.Itoa(int(maxLoad.Seconds())), "-c", "4", "-j", "2",
		"-h", labVIP, "-U", "postgres", "postgres")
	ld.cmd.Env = l.env()
	ld.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ld.cmd.Stdout, ld.cmd.Stderr = &ld.output, &ld.output
	if err := ld.cmd.Start(); err != nil {
		t.Fatalf("starting pgbench: %v", err)
	}
	go func() { ld.done <- ld.cmd.Wait() }()
	time.Sleep(3 * time.Second)
	select {
	case err := <-ld.done:
		t.Fatalf("pgbench ended before the measurement: %v\n%s", err, ld.output.String())
	default:
	}
	return ld
}

// maxLoad bounds a load run: the measurement's own timeouts are shorter.
const maxLoad = 5 * time.Minute

var pgbenchProcessed = regexp.MustCompile(`number of transactions actually processed: (\d+)`)

// stop ends pgbench if it still runs (its process group: SIGTERM, then SIGKILL) and records
// the rate and what pgbench reported it processed (when it printed its summary).
func (ld *labLoad) stop(rec *labRecord) {
	select {
	case <-ld.done:
	case <-time.After(time.Second):
		_ = syscall.Kill(-ld.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-ld.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-ld.cmd.Process.Pid, syscall.SIGKILL)
			<-ld.done
		}
	}
	rec.set("load_tps", ld.tps)
	if m := pgbenchProcessed.FindStringSubmatch(ld.output.String()); m != nil {
		n, _ := strconv.Atoi(m[1])
		rec.set("load_transactions", n)
	}
}
