package labkit

// The fault matrix (issue #12 §3): `make faults` runs each fault FAULT_RUNS
// times (10) for every agent of LAB_AGENTS (stock, paf, ours), one two-node lab per agent,
// the audited writer (issue #12 §2) committing through the VIP all along:
//
//	1 primary-kill     SIGKILL of the primary's postmaster (a PostgreSQL crash, the node stays up)
//	2 standby-kill     SIGKILL of the standby's postmaster
//	3 primary-hang     SIGSTOP of the primary's postmaster (SIGCONT after the verdict)
//	4 crm-attr-fails   crm_attribute fails for its first 3 calls on the primary's node (a shim
//	                   bound over /usr/sbin/crm_attribute with `lab replace`, removed with `lab
//	                   restore`); the standby's postmaster is killed to make the primary publish
//	                   (12 crm-attr-slow: the same with calls that hang 8 s, past crm_attr_timeout)
//	5 state-files      PGSQL.lock or rep_mode.conf garbage / truncated / empty on the standby
//	                   while it is stopped (node standby), then it is released (not PAF: it
//	                   keeps no such files)
//	6 primary-power-cut   the primary node's power cut; booted after the verdict (recorded:
//	                   whether it streams again with no human)
//	7 standby-power-cut   the standby node's power cut; booted after the verdict
//	8 primary-partition   the primary's cable cut at the switch; healed after the verdict
//	9 standby-hang     SIGSTOP of the standby's postmaster (SIGCONT after the verdict)
//	10 node-standby    node standby of the primary under the writer (the transition demote →
//	                   stop → promote), unstandby once the other node is promoted
//	11 dirty-power-cycle  the standby's power cut, 3 s of writes, the primary's power cut, both
//	                   booted, the stale one first: the newest node must be promoted (ours:
//	                   the old primary runs as a locked standby and wins the election,
//	                   docs/design.md §5); where nobody is, the cleanup does the admin's step
//	                   (the newest node's lock removed, cleanup)
//	13 tmpdir-ro-primary  the primary node's tmpdir read-only (bind, remount ro), then the
//	                   standby's postmaster SIGKILL: the primary must publish (not PAF)
//	14 tmpdir-ro-standby  the standby node's tmpdir read-only, then the primary's postmaster
//	                   SIGKILL: the standby cannot create PGSQL.lock (not PAF)
//	15 standby-wal-full   the standby's pg_wal disk full (rebuilt beforehand with its pg_wal on
//	                   a small tmpfs, `lab rejoin --wal-mb`; filled, a WAL switch on the
//	                   primary), held walFullHold, then freed: the admin's fix
//
// After each fault the run waits for a verdict: one promoted node that accepted a write begun
// after the fault, and the other node streaming from it again (a new postmaster where the
// fault killed it), or in a terminal state crm_mon shows (stopped after a failure, e.g.
// behind its lock; fenced and off). Then the run audits: acknowledged ids missing on the
// final primary, duplicates, the longest gap without an acknowledged commit, stale promotion
// (the primary lacks an acknowledged id another running node holds), two writers (two nodes
// answering pg_is_in_recovery() = f in the same poll, from the fault to the verdict, and for
// the hang also after the SIGCONT), new failed operations with their exit reasons, fencing.
// Before the next run the lab is brought back to a healthy pair (cleanup, `lab rejoin`, boot).
//
// Ours must lose no acknowledged commit in rep_mode=sync (async losses are counted, not
// failed), never show two writers with fencing on, never promote a stale node, and recover
// from every run. `make faults` (test/labctl faults) writes the table to
// bench/results/faults-<date>-<HHMM>.md and the runs to the .jsonl beside it; `make test` runs
// TestFaults, ours only, faults 1, 2 and 11 once, no file written (the CI subset, ~2 minutes).
// `go run ./test/labctl faults-report FILE.jsonl` renders a table again from a run's .jsonl
// (the statistics and tables: test/labreport).

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgsql-ra/pgsql-ra/test/labreport"
)

const (
	labPGData        = "/var/lib/postgresql/15/pgdata"
	labPGTmp         = "/var/lib/postgresql/tmp"
	crmAttributePath = "/usr/sbin/crm_attribute"
	faultShimFails   = labreport.CrmAttributeShimCalls // crm_attribute calls the shim fails before it passes them on
)

// labFault is one fault of the matrix.
type labFault struct {
	labreport.Fault               // id, name, what, whether PAF runs it
	timeout         time.Duration // fault → verdict
	// prepare readies the healthy pair for the fault before the audited writer starts
	// (fault 15: the standby rebuilt with a pg_wal that can fill).
	prepare func(t T, l *labSession, fr *faultRun)
	// refusal: ours refuses to promote, by design, with an exit reason holding this text
	// (the fault leaves no node that may safely be promoted; an admin must act): no primary
	// with that reason in crm_mon is its verdict, recorded as not recovered.
	refusal string
	inject  func(t T, l *labSession, fr *faultRun)
	cleanup func(t T, l *labSession, fr *faultRun) // after the verdict (also on failure)
}

// faultStoppedFor: how long the other node's instance must stay stopped after a new failure
// for the verdict to take it as the terminal state crm_mon shows (Pacemaker restarts an
// instance whose monitor failed within a few seconds).
const faultStoppedFor = 20 * time.Second

// faultRun is one run's state, shared by inject, the verdict and cleanup.
type faultRun struct {
	run              int
	primary, standby string            // before the fault
	identity         map[string]string // postmaster (pid@start) before the fault
	mustRestart      map[string]bool   // "streaming" counts only with a new postmaster there
	faultAt          time.Time
	rec              *labRecord
	stoppedPID       string // fault 3
	shimDir          string // fault 4
	planted          string // fault 5: the planted file's path on the host, and its content
	plantedContent   []byte
	newest           string // fault 11: the node that holds the newest data, wherever it runs
	readOnlyTmp      string // faults 13 and 14: the node whose tmpdir is read-only
	walFull          bool   // fault 15: the standby's pg_wal is on a tmpfs (lab rejoin --wal-mb)
	// promotedByAdmin is the node promoted after the admin's cleanup of a run that left no
	// primary: the audit counts the acknowledged ids there.
	promotedByAdmin string
}

func labFaults() []labFault {
	return []labFault{
		{Fault: describedFault("1"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				l.killPostmaster(t, fr.primary, "KILL")
				fr.faultAt = time.Now() // once delivered: a write begun earlier may still land
			}},
		{Fault: describedFault("2"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				fr.mustRestart[fr.standby] = true
				l.killPostmaster(t, fr.standby, "KILL")
				fr.faultAt = time.Now()
			}},
		{Fault: describedFault("3"), timeout: 240 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) { l.hangPostmaster(t, fr, fr.primary) },
			cleanup: func(t T, l *labSession, fr *faultRun) {
				if fr.stoppedPID == "" || !l.nodeAlive(fr.primary) {
					return
				}
				_, err := l.run(30*time.Second, "exec", fr.primary, "kill", "-CONT", fr.stoppedPID)
				fr.rec.set("sigcont_delivered", err == nil) // false: the postmaster was gone (stopped or killed)
				time.Sleep(8 * time.Second)                 // the two-writers poll goes on after the SIGCONT
			}},
		crmAttributeFault("4", shimFails),
		{Fault: describedFault("5"), timeout: 120 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				l.setNodeStandby(t, fr.standby, true)
				if !labWait(90*time.Second, func() bool {
					m, err := l.mon("")
					return err == nil && m.role(fr.standby) == ""
				}) {
					t.Fatalf("%s's instance still running 90 s after node standby:\n%s", fr.standby, l.statusText())
				}
				file, kind, content := faultStateVariant(fr.run)
				fr.rec.set("variant", file+" "+kind)
				fr.planted, fr.plantedContent = l.nodePath(fr.standby, filepath.Join(labPGTmp, file)), content
				if err := os.WriteFile(fr.planted, content, 0o600); err != nil {
					t.Fatal(err)
				}
				labChownPostgres(t, fr.planted)
				fr.faultAt = time.Now()
				l.setNodeStandby(t, fr.standby, false)
			},
			cleanup: func(t T, l *labSession, fr *faultRun) {
				l.setNodeStandby(t, fr.standby, false)
				if fr.planted == "" {
					return
				}
				switch b, err := os.ReadFile(fr.planted); {
				case err != nil:
					fr.rec.set("planted_file_after", "removed")
				case string(b) == string(fr.plantedContent):
					fr.rec.set("planted_file_after", "unchanged")
					os.Remove(fr.planted)
				default:
					fr.rec.set("planted_file_after", "rewritten")
				}
			}},
		{Fault: describedFault("6"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				l.mustLog(time.Minute, "crash", fr.primary)
				fr.faultAt = time.Now()
			},
			cleanup: func(t T, l *labSession, fr *faultRun) { l.faultBootAndWatch(t, fr, fr.primary) }},
		{Fault: describedFault("7"), timeout: 120 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				l.mustLog(time.Minute, "crash", fr.standby)
				fr.faultAt = time.Now()
			},
			cleanup: func(t T, l *labSession, fr *faultRun) { l.faultBootAndWatch(t, fr, fr.standby) }},
		{Fault: describedFault("8"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				l.mustLog(time.Minute, "partition", fr.primary)
				fr.faultAt = time.Now()
			},
			cleanup: func(t T, l *labSession, fr *faultRun) {
				l.faultHeal(t)
				for _, n := range []string{fr.primary, fr.standby} {
					if !l.nodeAlive(n) {
						l.faultBootAndWatch(t, fr, n)
					}
				}
			}},
		{Fault: describedFault("9"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) { l.hangPostmaster(t, fr, fr.standby) },
			cleanup: func(t T, l *labSession, fr *faultRun) {
				if fr.stoppedPID != "" && l.nodeAlive(fr.standby) {
					_, err := l.run(30*time.Second, "exec", fr.standby, "kill", "-CONT", fr.stoppedPID)
					fr.rec.set("sigcont_delivered", err == nil)
				}
			}},
		{Fault: describedFault("10"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				fr.mustRestart[fr.primary] = true
				l.setNodeStandby(t, fr.primary, true)
				fr.faultAt = time.Now()
				moved := labWait(90*time.Second, func() bool {
					m, err := l.mon("")
					return err == nil && slices.Equal(m.promoted(), []string{fr.standby})
				})
				fr.rec.set("promoted_elsewhere", moved)
				l.setNodeStandby(t, fr.primary, false)
			},
			cleanup: func(t T, l *labSession, fr *faultRun) { l.setNodeStandby(t, fr.primary, false) }},
		{Fault: describedFault("11"), timeout: 180 * time.Second,
			inject: func(t T, l *labSession, fr *faultRun) {
				l.mustLog(time.Minute, "crash", fr.standby)
				time.Sleep(3 * time.Second) // acknowledged commits only the primary holds
				l.mustLog(time.Minute, "crash", fr.primary)
				fr.faultAt = time.Now()
				fr.newest = fr.primary
				fr.mustRestart[fr.standby], fr.mustRestart[fr.primary] = true, true
				for _, n := range []string{fr.standby, fr.primary} {
					// The node booted first fences the other as unclean a few seconds
					// later (startup fencing, action off); when that lands during the
					// second node's boot, it stays off (`lab boot` says so at once):
					// powered on again, as an admin would.
					_, err := l.run(3*time.Minute, "boot", n)
					switch {
					case err == nil:
					case l.nodeAlive(n):
						t.Logf("boot of %s: %v (it runs: left to join)", n, err)
					default:
						t.Logf("boot of %s failed (fenced while it booted?), powering it on again: %v", n, err)
						fr.rec.set("booted_again", n)
						l.mustLog(3*time.Minute, "boot", n)
					}
				}
			},
			cleanup: func(t T, l *labSession, fr *faultRun) {
				// The admin's step when no node was promoted (the stock agent and PAF; ours
				// when a record contradicts, docs/design.md §8): the node with the newest
				// data loses its lock, and its failures are cleared.
				if m, err := l.mon(""); err != nil || len(m.promoted()) > 0 {
					return
				}
				fr.rec.set("admin_step", "rm PGSQL.lock on "+fr.newest+"; crm_resource --cleanup")
				os.Remove(l.nodePath(fr.newest, filepath.Join(labPGTmp, "PGSQL.lock")))
				l.run(time.Minute, "exec", l.anyNode(), "crm_resource", "--cleanup", "--resource", labClone)
			}},
		crmAttributeFault("12", shimHangs),
		// In sync mode the primary cannot rename away the dead standby (rep_mode.conf is in
		// its read-only tmpdir): its monitor fails, its demote cannot record the shutdown
		// checkpoint in the lock, and no node may be promoted without writing one
		// (docs/design.md §8): no primary until an admin makes tmpdir writable.
		withRefusal(tmpdirReadOnlyFault("13", func(fr *faultRun) (string, string) { return fr.primary, fr.standby }),
			"cannot record the shutdown checkpoint in the lock: write "+labPGTmp+"/PGSQL.lock: read-only file system"),
		// The standby must not be promoted without its lock (docs/design.md §7), and the
		// crashed primary's failed monitor bans it (migration-threshold=1): no primary
		// until an admin makes tmpdir writable and cleans up.
		withRefusal(tmpdirReadOnlyFault("14", func(fr *faultRun) (string, string) { return fr.standby, fr.primary }),
			"promote: cannot create "+labPGTmp+"/PGSQL.lock (read-only file system): not promoted"),
		walFullFault("15"),
	}
}

// describedFault is fault id's description in the catalogue the reports share
// (labreport.Faults).
func describedFault(id string) labreport.Fault {
	f, ok := labreport.FaultByID(id)
	if !ok {
		panic("fault " + id + " is not in labreport.Faults")
	}
	return f
}

// withRefusal sets the exit reason with which ours refuses the fault (labFault.refusal).
func withRefusal(f labFault, reason string) labFault {
	f.refusal = reason
	return f
}

// tmpdirReadOnlyFault turns the agent's tmpdir read-only on one node (a bind of the directory
// onto itself, remounted read-only in the node's mount namespace: what the kernel does to an
// ext4 file system after an error) and kills the other node's postmaster, so that the node
// whose tmpdir refuses writes must act: publish (13) or promote (14). A full disk fails the
// same writes with ENOSPC instead of EROFS. Not PAF: it keeps nothing in tmpdir.
func tmpdirReadOnlyFault(id string, nodes func(fr *faultRun) (readOnly, killed string)) labFault {
	return labFault{Fault: describedFault(id), timeout: 180 * time.Second,
		inject: func(t T, l *labSession, fr *faultRun) {
			readOnly, killed := nodes(fr)
			l.mustLog(30*time.Second, "exec", readOnly, "mount", "--bind", labPGTmp, labPGTmp)
			l.mustLog(30*time.Second, "exec", readOnly, "mount", "-o", "remount,bind,ro", labPGTmp)
			fr.readOnlyTmp = readOnly
			fr.mustRestart[killed] = true
			l.killPostmaster(t, killed, "KILL")
			fr.faultAt = time.Now()
		},
		cleanup: func(t T, l *labSession, fr *faultRun) {
			if fr.readOnlyTmp != "" && l.nodeAlive(fr.readOnlyTmp) { // a node booted again mounts its tmpdir afresh
				l.restoreTmpdir(t, fr.readOnlyTmp)
			}
			l.adminCleanupWhenNoPrimary(t, fr)
		}}
}

// The standby's pg_wal disk of fault 15: labWalMB MiB of tmpfs, held full for walFullHold
// before the admin frees it. The hold outlasts the monitors that must notice (a sync
// standby that cannot write blocks every commit on the primary until it is let go).
const (
	labWalfs    = "/var/lib/postgresql/walfs" // test/lab/lab's WALFS
	labWalMB    = "64"
	walFullHold = labreport.WalFullHoldSeconds * time.Second
	labPGLog    = "/var/log/postgresql/postgresql.log"
)

// walFullFault fills the standby's pg_wal disk: the standby is first rebuilt (lab rejoin
// --wal-mb) with its pg_wal on a small tmpfs; the fault fills that file system and switches
// the primary to a new WAL segment, which the standby's WAL receiver cannot create (ENOSPC).
// After walFullHold the filler is removed, as the admin would: the verdict is the standby
// streaming again with no other step. What the hold left is recorded: the standby's
// attributes, whether it received WAL past the switch, and the ENOSPC lines in its
// PostgreSQL log (neither behind nor a line: the fault did not bite, the run fails).
func walFullFault(id string) labFault {
	filler := filepath.Join(labWalfs, "filler")
	return labFault{Fault: describedFault(id), timeout: 180 * time.Second,
		prepare: func(t T, l *labSession, fr *faultRun) {
			fr.walFull = true
			l.mustLog(5*time.Minute, "rejoin", fr.standby, "--wal-mb", labWalMB)
		},
		inject: func(t T, l *labSession, fr *faultRun) {
			logged := l.nodeLogCount(fr.standby, labPGLog, "No space left on device")
			avail := strings.TrimSpace(l.mustLog(30*time.Second, "exec", fr.standby, "findmnt", "-bnro", "AVAIL", "--mountpoint", labWalfs))
			l.mustLog(30*time.Second, "exec", fr.standby, "fallocate", "-l", avail, filler)
			fr.rec.set("wal_disk_filled_bytes", avail)
			l.mustSQL(t, fr.primary, "select pg_switch_wal()")
			fr.faultAt = time.Now()
			switched := l.mustSQL(t, fr.primary, "select pg_current_wal_lsn()") // in the segment the standby cannot create
			time.Sleep(walFullHold)
			m := l.mustMon(t, "")
			a := m.attrs(fr.standby)
			fr.rec.set("standby_status_when_full", a[labRsc+"-status"])
			fr.rec.set("standby_data_status_when_full", a[labRsc+"-data-status"])
			fr.rec.set("standby_score_when_full", a["master-"+labRsc])
			// Whether the fault bit: the standby received nothing of the segment it could not
			// create, or its log (where the agent sends it: not PAF's) says ENOSPC.
			behind, err := l.sql(fr.standby, fmt.Sprintf("select pg_last_wal_receive_lsn() < '%s'", switched))
			answer := labOr(behind, fmt.Sprint(err))
			fr.rec.set("standby_behind_the_switch", answer)
			enospc := l.nodeLogCount(fr.standby, labPGLog, "No space left on device") - logged
			fr.rec.set("enospc_log_lines", enospc)
			if behind != "t" && enospc <= 0 { // fewer lines: the log was rotated, nothing proves it
				t.Errorf("%s received WAL past %s (%q) and logged no 'No space left on device' in %v with its pg_wal disk full: the fault did not bite", fr.standby, switched, answer, walFullHold)
			}
			l.mustLog(30*time.Second, "exec", fr.standby, "rm", "-f", filler)
		},
		cleanup: func(t T, l *labSession, fr *faultRun) {
			if !fr.walFull {
				return
			}
			if l.nodeAlive(fr.standby) {
				l.run(30*time.Second, "exec", fr.standby, "rm", "-f", filler)
			}
			// Back to a pg_wal in the data directory: the next fault must not depend on a
			// tmpfs (a power cut would empty it).
			if _, err := l.run(5*time.Minute, "rejoin", fr.standby); err != nil {
				t.Logf("lab rejoin %s after the full pg_wal failed (faultRestore tries again): %v", fr.standby, firstLine(err.Error()))
			}
		}}
}

// nodeLogCount is how many lines of node's file path hold text (0 when it cannot be read).
func (l *labSession) nodeLogCount(node, path, text string) int {
	b, err := os.ReadFile(l.nodePath(node, path))
	if err != nil {
		return 0
	}
	return strings.Count(string(b), text)
}

// restoreTmpdir undoes tmpdirReadOnlyFault's bind mount on node.
func (l *labSession) restoreTmpdir(t T, node string) {
	for i := 0; i < 5; i++ {
		if _, err := l.run(30*time.Second, "exec", node, "findmnt", "-rn", "--mountpoint", labPGTmp); err != nil {
			return
		}
		if _, err := l.run(30*time.Second, "exec", node, "umount", "-l", labPGTmp); err != nil {
			t.Errorf("umount %s on %s: %v", labPGTmp, node, err)
		}
	}
}

// adminCleanupWhenNoPrimary: the admin's step once the fault is mended and no node is
// promoted (crm_resource --cleanup), and which node Pacemaker then promotes: whether it is
// the killed primary, the node with the newest data (recorded; faultRestore does the rest).
func (l *labSession) adminCleanupWhenNoPrimary(t T, fr *faultRun) {
	if m, err := l.mon(""); err != nil || len(m.promoted()) > 0 {
		return
	}
	fr.rec.set("admin_step", "crm_resource --cleanup")
	l.run(time.Minute, "exec", l.anyNode(), "crm_resource", "--cleanup", "--resource", labClone)
	promoted := ""
	labWait(120*time.Second, func() bool {
		m, err := l.mon("")
		if err == nil && len(m.promoted()) == 1 {
			promoted = m.promoted()[0]
		}
		return promoted != ""
	})
	fr.promotedByAdmin = promoted
	fr.rec.set("promoted_after_admin_step", labOr(promoted, "none within 120 s"))
	fr.rec.set("newest_promoted_after_admin_step", promoted == fr.primary)
	t.Logf("after the admin's cleanup: %s promoted (the killed primary, with the newest data: %s)", labOr(promoted, "no node"), fr.primary)
}

// crmAttributeFault binds a crm_attribute shim over the primary node's binary that fails or
// hangs its first faultShimFails calls (faults 4 and 12), and kills the standby's postmaster
// so that the primary must publish.
func crmAttributeFault(id string, mode shimMode) labFault {
	return labFault{Fault: describedFault(id), timeout: 180 * time.Second,
		inject: func(t T, l *labSession, fr *faultRun) {
			fr.shimDir = l.installCrmAttributeShim(t, fr.primary, faultShimFails, mode)
			fr.mustRestart[fr.standby] = true
			l.mustLog(30*time.Second, "replace", fr.primary, crmAttributePath, filepath.Join(fr.shimDir, "crm_attribute.shim"))
			l.killPostmaster(t, fr.standby, "KILL")
			fr.faultAt = time.Now()
		},
		cleanup: func(t T, l *labSession, fr *faultRun) {
			if fr.shimDir == "" {
				return
			}
			// A call the shim keeps hanging holds the bind mount busy for up to
			// faultShimHang seconds: the restore is tried again until it is done.
			var err error
			labWait(time.Duration(2*faultShimHang)*time.Second, func() bool {
				_, err = l.run(30*time.Second, "restore", fr.primary, crmAttributePath)
				return err == nil
			})
			if err != nil {
				t.Errorf("lab restore %s %s: %v", fr.primary, crmAttributePath, err)
			}
			calls, _ := strconv.Atoi(strings.TrimSpace(fileText(filepath.Join(fr.shimDir, "calls"))))
			fr.rec.set("crm_attribute_calls", calls)
			fr.rec.set("crm_attribute_"+mode.recordName(), min(calls, faultShimFails))
		}}
}

// shimMode is what the crm_attribute shim does to the calls it takes.
type shimMode int

const (
	shimFails shimMode = iota // exit 1 at once
	shimHangs                 // sleep faultShimHang, then run the real crm_attribute
)

// faultShimHang outlasts crm_attr_timeout's default (5 s), as attrd stuck in an election.
const faultShimHang = labreport.CrmAttributeShimHangSeconds

func (m shimMode) what() string {
	if m == shimHangs {
		return fmt.Sprintf("hangs %d s", faultShimHang)
	}
	return "fails"
}

func (m shimMode) recordName() string {
	if m == shimHangs {
		return "hung"
	}
	return "failed"
}

// action is the shim's shell code for a call it takes.
func (m shimMode) action() string {
	if m == shimHangs {
		return fmt.Sprintf("sleep %d", faultShimHang)
	}
	return `echo "crm_attribute: fault shim: call $n fails" >&2; exit 1`
}

// hangPostmaster stops node's postmaster (SIGSTOP), which must be a new one where the
// verdict sees it streaming again.
func (l *labSession) hangPostmaster(t T, fr *faultRun, node string) {
	fr.mustRestart[node] = true
	fr.stoppedPID = l.postmasterPID(t, node)
	l.mustLog(30*time.Second, "exec", node, "kill", "-STOP", fr.stoppedPID)
	fr.faultAt = time.Now()
}

// faultBootAndWatch boots a node a fault powered off (or fencing did) and records whether it
// streams again with no human within a minute (ours: the start lifts PGSQL.lock on the
// evidence, issue #13); faultRestore does the rest.
func (l *labSession) faultBootAndWatch(t T, fr *faultRun, node string) {
	if l.nodeAlive(node) {
		return
	}
	if _, err := l.run(3*time.Minute, "boot", node); err != nil {
		t.Errorf("lab boot %s: %v", node, err)
		return
	}
	booted := time.Now()
	back := labWait(60*time.Second, func() bool {
		m, err := l.mon("")
		if err != nil || len(m.promoted()) != 1 {
			return false
		}
		return l.streams(m.promoted()[0], node)
	})
	fr.rec.set("streams_without_human_after_boot", back)
	if back {
		fr.rec.set("boot_to_streaming_s", labSeconds(time.Since(booted)))
	}
}

// faultHeal reconnects every node a fault cut off.
func (l *labSession) faultHeal(t T) {
	for _, n := range []string{"node1", "node2", "node3"} {
		if _, err := os.Stat(filepath.Join(l.dir, n, "partitioned")); err == nil {
			if _, err := l.run(time.Minute, "heal", n); err != nil {
				t.Errorf("lab heal %s: %v", n, err)
			}
		}
	}
}

// faultStateVariant: run 1, 2, 3... take the six variants in an order that covers both files
// and all three kinds of damage within three runs.
func faultStateVariant(run int) (file, kind string, content []byte) {
	variants := []struct{ file, kind string }{
		{"PGSQL.lock", "garbage"}, {"rep_mode.conf", "truncated"}, {"PGSQL.lock", "empty"},
		{"rep_mode.conf", "garbage"}, {"PGSQL.lock", "truncated"}, {"rep_mode.conf", "empty"},
	}
	v := variants[(run-1)%len(variants)]
	switch v.kind {
	case "garbage":
		content = make([]byte, 512)
		rand.New(rand.NewSource(int64(run))).Read(content)
	case "truncated":
		if v.file == "PGSQL.lock" {
			content = []byte("event=promo") // cut inside our key=value lines
		} else {
			content = []byte(`synchronous_standby_names = '"nod`)
		}
	}
	return v.file, v.kind, content
}

// FaultsConfig is one run of the matrix.
type FaultsConfig struct {
	Agents []string // in the order they run; the table's columns are stock, paf, ours
	Faults []string // ids or names; none: every fault
	Runs   int      // runs per fault and agent
	// ResultsDir receives faults-<date>-<HHMM>.jsonl and .md; "": no file written.
	ResultsDir string
}

// UnknownFaults are the entries of list that name no fault of the matrix, by id or by name
// (byName false: by id only, as a soak's sequence lists them).
func UnknownFaults(list []string, byName bool) []string {
	var unknown []string
	for _, entry := range list {
		if !slices.ContainsFunc(labFaults(), func(f labFault) bool { return f.ID == entry || (byName && f.Name == entry) }) {
			unknown = append(unknown, entry)
		}
	}
	return unknown
}

// RunFaults runs the matrix (make faults: test/labctl; make test: TestFaults' subset) and
// prints its table.
func RunFaults(t T, cfg FaultsConfig) {
	requireLabTools(t)
	agents, faults, runs := cfg.Agents, labFaults(), max(1, cfg.Runs)
	if len(cfg.Faults) > 0 {
		faults = slices.DeleteFunc(faults, func(f labFault) bool {
			return !slices.Contains(cfg.Faults, f.ID) && !slices.Contains(cfg.Faults, f.Name)
		})
	}
	began := time.Now()
	var raw string
	if cfg.ResultsDir != "" {
		dir, err := filepath.Abs(cfg.ResultsDir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		raw = filepath.Join(dir, "faults-"+began.UTC().Format("2006-01-02-1504")+".jsonl")
		if err := os.WriteFile(raw, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var results []labreport.FaultResult
	fencing := false
	t.Cleanup(func() {
		// Columns in the bench's order (stock, paf, ours), whatever order the agents ran in.
		labreport.SortAgents(agents)
		table := labreport.FaultTable(results, agents, faultDescriptions(faults))
		header := fmt.Sprintf("# pgsql-ra fault matrix (issue #12 §3), %s\n\n"+
			"Agents %s on the two-node lab (test/lab), rep_mode=%s, fencing %v; %d run(s) per fault and agent (FAULT_RUNS); run time %s.",
			began.UTC().Format("2006-01-02 15:04 MST"), strings.Join(agents, ", "), envOr("LAB_REP_MODE", "async"), fencing,
			runs, time.Since(began).Round(time.Second))
		if raw != "" {
			header += " Raw records: " + filepath.Base(raw) + "."
		}
		md := header + "\n\n" + table + labreport.FaultLegend
		fmt.Printf("\n%s\n", md)
		if raw != "" {
			out := strings.TrimSuffix(raw, ".jsonl") + ".md"
			if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				t.Error(err)
			}
			fmt.Printf("(written to %s and %s)\n", out, raw)
		}
	})
	for _, agent := range agents {
		subtest(t, agent, func(t T) {
			l := startLab(t, agent, 2)
			if raw != "" {
				l.results = raw
			}
			fencing = l.fencing()
			l.ensureRowsTable(t)
			broken := false
			for _, f := range faults {
				if agent == "paf" && !f.PAF {
					results = append(results, labreport.FaultResult{Fault: f.ID, Agent: agent, Skipped: labreport.PAFNotApplicable})
					continue
				}
				for run := 1; run <= runs && !broken; run++ {
					subtest(t, fmt.Sprintf("%s-%s/run-%d", f.ID, f.Name, run), func(t T) {
						res := labreport.FaultResult{Fault: f.ID, Agent: agent, Run: run, WritableS: -1}
						defer func() { results = append(results, res) }()
						err := l.faultRestore(t)
						if err != nil {
							// A node the lab cannot rebuild (fenced again and again while it is
							// rebuilt, seen with PAF) costs the lab, not the rest of the matrix.
							t.Logf("lab not restored to a healthy pair (%s): building the lab anew", firstLine(err.Error()))
							err = l.rebuild(t)
						}
						if err != nil {
							broken = true
							res.Skipped = "lab not restored to a healthy pair: " + firstLine(err.Error())
							t.Fatalf("before the run: %v", err)
						}
						l.faultOnce(t, f, run, &res)
					})
				}
			}
		})
	}
}

// rebuild tears the lab down and builds it again with the same agent, as startLab does.
func (l *labSession) rebuild(t T) error {
	t.Helper()
	if _, err := l.run(2*time.Minute, "down"); err != nil {
		return err
	}
	for _, step := range l.buildSteps() {
		if _, err := l.run(step.timeout, step.args...); err != nil {
			return err
		}
	}
	l.ensureRowsTable(t)
	return nil
}

// faultDescriptions are the faults as the table names them.
func faultDescriptions(faults []labFault) []labreport.Fault {
	out := make([]labreport.Fault, len(faults))
	for i, f := range faults {
		out[i] = f.Fault
	}
	return out
}

// faultOnce runs one fault on a healthy pair and fills res.
func (l *labSession) faultOnce(t T, f labFault, run int, res *labreport.FaultResult) {
	rec := l.record(t, "fault-"+f.Name)
	rec.set("fault", f.ID)
	rec.set("run", run)
	fencing := l.fencing()
	rec.set("fencing", fencing)
	repMode := envOr("LAB_REP_MODE", "async")
	rec.set("rep_mode", repMode)
	fr := &faultRun{run: run, identity: map[string]string{}, mustRestart: map[string]bool{}, rec: rec}
	fr.primary, fr.standby = l.caughtUpPair(t)
	if f.prepare != nil {
		f.prepare(t, l, fr)
		if p, s := l.caughtUpPair(t); p != fr.primary || s != fr.standby {
			t.Fatalf("the fault's preparation moved the primary from %s to %s", fr.primary, p)
		}
	}
	rec.set("primary_before", fr.primary)
	for _, n := range []string{fr.primary, fr.standby} {
		fr.identity[n] = l.postmasterIdentity(t, n)
	}
	baseline := l.mustMon(t, "")
	prefix := fmt.Sprintf("f%s-%s-%d-%d", f.ID, l.agent, run, time.Now().Unix())
	w := l.startAuditedWriter(prefix)
	var stopOnce sync.Once
	stopWriter := func() { stopOnce.Do(func() { w.stop() }) }
	t.Cleanup(stopWriter)
	if !labWait(20*time.Second, func() bool { _, ok := w.firstAckAfter(w.began); return ok }) {
		t.Fatalf("the audited writer got no acknowledgement within 20 s on a healthy pair:\n%s", l.statusText())
	}
	time.Sleep(2 * time.Second)
	watch := l.watchWriters()
	var cleanOnce sync.Once
	cleanup := func() {
		cleanOnce.Do(func() {
			if f.cleanup != nil {
				f.cleanup(t, l, fr)
			}
		})
	}
	t.Cleanup(cleanup)

	f.inject(t, l, fr)
	v := l.faultVerdict(fr, w, baseline, f.timeout)
	refused := !v.recovered && f.refusal != "" && slices.ContainsFunc(v.reasons, func(r string) bool { return strings.Contains(r, f.refusal) })
	if refused {
		v.outcome = "no primary: refused as designed (" + f.refusal + ")"
	}
	cleanup()
	doubles, doubleAt := watch.stop()
	time.Sleep(time.Second)
	stopWriter()

	res.Recovered, res.Outcome, res.ExitReasons, res.Fenced = v.recovered, v.outcome, v.reasons, v.fenced
	if t, ok := w.firstAckAfter(fr.faultAt); ok {
		if v.recovered {
			res.WritableS = labSeconds(t.Sub(fr.faultAt))
		} else { // a write after the cleanup (e.g. the SIGCONT): not a recovery
			rec.set("first_write_after_cleanup_s", labSeconds(t.Sub(fr.faultAt)))
		}
	}
	res.LongestGapS = labSeconds(w.longestGap())
	res.TwoWriters = doubles
	rec.set("recovered", v.recovered)
	rec.set("outcome", v.outcome)
	rec.set("verdict_s", v.verdictS)
	rec.set("primary_after", v.primary)
	rec.set("writable_s", res.WritableS)
	rec.set("longest_gap_s", res.LongestGapS)
	rec.set("two_writers", doubles)
	if doubleAt != "" {
		rec.note("two writers: %s", doubleAt)
	}
	rec.set("exit_reasons", v.reasons)
	rec.set("fenced", v.fenced)
	rec.set("writer_attempts", w.attempts)

	// The audit, on the final primary and on every other node PostgreSQL answers on.
	present := map[string][]string{}
	for _, n := range []string{"node1", "node2"} {
		if notes, err := l.nodeNotes(n, prefix); err == nil {
			present[n] = notes
		}
	}
	res.Acked = len(w.ackedIDs)
	rec.set("acked", res.Acked)
	// A run that left no primary is audited on the node the admin's cleanup promoted: what
	// the refusal cost once the admin did the documented step.
	audited := v.primary
	if audited == "" && fr.promotedByAdmin != "" {
		audited = fr.promotedByAdmin
		rec.set("audited_after_admin_step", audited)
	}
	if notes, ok := present[audited]; ok && audited != "" {
		a := auditWriterNotes(prefix, w.ackedIDs, notes)
		res.Lost, res.Duplicates = len(a.Missing), a.Duplicates
		rec.set("lost", res.Lost)
		rec.set("lost_ids", a.Missing[:min(len(a.Missing), 20)])
		rec.set("duplicates", a.Duplicates)
		rec.set("unacked_present", a.Unacked)
		maxOn := map[string]int{}
		for n, notes := range present {
			maxOn[n] = maxAckedPresent(prefix, w.ackedIDs, notes)
		}
		rec.set("max_acked_present", maxOn)
		for n, m := range maxOn {
			if n != audited && m > maxOn[audited] {
				res.Stale = true
				rec.note("stale promotion: %s holds acknowledged id %d, the primary %s only up to %d", n, m, audited, maxOn[audited])
			}
		}
	} else {
		res.Lost = -1
		rec.set("lost", "unknown: no primary answers")
	}
	if fr.newest != "" && v.primary != "" && v.primary != fr.newest {
		// The stale node may be the only one that answers: the holder of the newest data
		// can be stopped behind its lock, out of the comparison above.
		res.Stale = true
		rec.note("stale promotion: %s promoted, but %s holds the newest data", v.primary, fr.newest)
	}
	rec.set("stale", res.Stale)
	t.Logf("%s run %d: %s; writable after %.1f s; %d acknowledged, %d lost, %d duplicates, longest gap %.1f s; two writers %d; exit reasons %q",
		f.Name, run, v.outcome, res.WritableS, res.Acked, res.Lost, res.Duplicates, res.LongestGapS, doubles, v.reasons)

	// What the agents must do (issue #12 §3); asserted for ours, recorded for the others.
	if res.Acked == 0 {
		t.Errorf("the audited writer had no acknowledged commit: the run measured nothing")
	}
	if labAgentTraits[l.agent].acceptance {
		switch {
		case refused:
			t.Logf("refused as designed: no primary, crm_mon shows %q", f.refusal)
		case !v.recovered:
			t.Errorf("no recovery within %v of %s: %s\n%s", f.timeout, f.What, v.outcome, l.statusText())
		}
		switch {
		case repMode == "sync" && res.Lost > 0:
			t.Errorf("rep_mode=sync: %d acknowledged commits missing on the final primary %s", res.Lost, audited)
		case repMode == "sync" && res.Lost < 0:
			t.Errorf("rep_mode=sync: no primary to count the acknowledged commits on, even after the admin's cleanup")
		}
		if fencing && doubles > 0 {
			t.Errorf("two writers with fencing on: %s", doubleAt)
		}
		if res.Stale {
			t.Errorf("stale promotion: %s", strings.Join(rec.notes, "; "))
		}
	}
}

// faultVerdictResult is how the cluster ended after a fault.
type faultVerdictResult struct {
	recovered        bool
	outcome, primary string
	verdictS         float64
	reasons, fenced  []string
}

// faultVerdict waits for recovery: one promoted node that accepted a write begun after the
// fault, and the other node streaming from it (with a new postmaster where the fault killed
// it), or stopped after a failure crm_mon lists, or off (fenced).
func (l *labSession) faultVerdict(fr *faultRun, w *auditedWriter, baseline labMon, timeout time.Duration) faultVerdictResult {
	var v faultVerdictResult
	deadline := fr.faultAt.Add(timeout)
	var last labMon
	var stoppedSince time.Time // "stopped after a failure" counts once it lasted faultStoppedFor
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		m, err := l.mon("")
		if err != nil {
			continue
		}
		last = m
		p := m.promoted()
		if len(p) != 1 {
			continue
		}
		if _, ok := w.firstAckAfter(fr.faultAt); !ok {
			continue
		}
		o := otherNode(p[0])
		state := ""
		r, placed := m.instance(o)
		switch {
		case !l.nodeAlive(o):
			state = "other node off (fenced)"
		case l.streams(p[0], o) && (!fr.mustRestart[o] || l.postmasterIdentityOr(o) != fr.identity[o]):
			state = "other node streaming"
		case placed && r.Blocked:
			state = "other node blocked (failed stop)"
		case (!placed || !r.Active) && len(faultNewFailures(baseline, m, o)) > 0:
			// A failed monitor stops the instance before Pacemaker starts it again: only
			// a stop that lasts is a terminal state.
			if stoppedSince.IsZero() {
				stoppedSince = time.Now()
			}
			if time.Since(stoppedSince) < faultStoppedFor {
				continue
			}
			state = "other node stopped after a failure"
		default:
			stoppedSince = time.Time{}
			continue
		}
		v.recovered, v.primary = true, p[0]
		v.outcome = map[bool]string{true: "same", false: "new"}[p[0] == fr.primary] + " primary; " + state
		break
	}
	v.verdictS = labSeconds(time.Since(fr.faultAt))
	if !v.recovered {
		p := last.promoted()
		if len(p) == 1 {
			v.primary = p[0]
		}
		v.outcome = fmt.Sprintf("no recovery within %v (promoted: %v)", timeout, p)
	}
	if m, err := l.mon(""); err == nil {
		last = m
	}
	for _, n := range []string{"node1", "node2"} {
		for _, f := range faultNewFailures(baseline, last, n) {
			v.reasons = append(v.reasons, fmt.Sprintf("%s %s: %s", f.Task, f.ExitStatus, labOr(f.ExitReason, "(no exit reason)")))
		}
		if offs := l.powerOffs(n, fr.faultAt); len(offs) > 0 {
			v.fenced = append(v.fenced, fmt.Sprintf("%s (by %s at %.1f s)", n, offs[0].Requester, offs[0].At.Sub(fr.faultAt).Seconds()))
		}
	}
	return v
}

// faultNewFailures are node's pgsql failures in m that baseline did not show.
func faultNewFailures(baseline, m labMon, node string) []labFailure {
	seen := map[string]bool{}
	for _, f := range baseline.pgsqlFailures(node) {
		seen[f.OpKey+"|"+f.ExitStatus+"|"+f.ExitReason] = true
	}
	var out []labFailure
	for _, f := range m.pgsqlFailures(node) {
		if !seen[f.OpKey+"|"+f.ExitStatus+"|"+f.ExitReason] {
			out = append(out, f)
		}
	}
	return out
}

// faultRestore brings the lab back to a healthy pair: nodes booted, node standby off, one
// primary (a cleanup of the clone if none), the other node streaming (its cleanup, else `lab
// rejoin`: a new base backup, the lock removed).
func (l *labSession) faultRestore(t T) error {
	t.Helper()
	if _, _, _, ok := l.waitHealthyPair(5 * time.Second); ok {
		return nil
	}
	l.faultHeal(t)
	for _, n := range []string{"node1", "node2"} {
		if !l.nodeAlive(n) {
			if _, err := l.run(3*time.Minute, "boot", n); err != nil {
				return err
			}
		}
	}
	for _, n := range []string{"node1", "node2"} {
		l.run(30*time.Second, "exec", l.anyNode(), "crm_attribute", "--type", "nodes", "--node", n, "--name", "standby", "--update", "off")
	}
	primary := ""
	promoted := func() bool {
		m, err := l.mon("")
		if err == nil && len(m.promoted()) == 1 {
			primary = m.promoted()[0]
		}
		return primary != ""
	}
	if !labWait(30*time.Second, promoted) {
		l.run(time.Minute, "exec", l.anyNode(), "crm_resource", "--cleanup", "--resource", labClone)
		if !labWait(90*time.Second, promoted) {
			return fmt.Errorf("no primary 90 s after a cleanup of %s:\n%s", labClone, l.statusText())
		}
	}
	other := otherNode(primary)
	if _, _, _, ok := l.waitHealthyPair(10 * time.Second); ok {
		return nil
	}
	if !l.lockPresent(other) {
		l.run(time.Minute, "exec", primary, "crm_resource", "--cleanup", "--resource", labRsc, "--node", other)
		if _, _, _, ok := l.waitHealthyPair(40 * time.Second); ok {
			return nil
		}
	}
	if _, err := l.run(5*time.Minute, "rejoin", other); err != nil {
		// Startup fencing: the primary's node may fence the rejoining one (off, or reboot)
		// while it is being rebuilt; the PAF soak saw `lab rejoin` killed with it (exit 137).
		// Booted if it is off, it is rebuilt once more.
		t.Logf("lab rejoin %s failed (fenced while it was rebuilt?), trying once more: %v", other, firstLine(err.Error()))
		if !l.nodeAlive(other) {
			if _, err := l.run(3*time.Minute, "boot", other); err != nil {
				return err
			}
		}
		if _, err := l.run(5*time.Minute, "rejoin", other); err != nil {
			return err
		}
	}
	if _, _, _, ok := l.waitHealthyPair(60 * time.Second); !ok {
		return fmt.Errorf("no healthy pair 60 s after lab rejoin %s:\n%s", other, l.statusText())
	}
	return nil
}

// killPostmaster sends sig to node's postmaster (as its pid file names it).
func (l *labSession) killPostmaster(t T, node, sig string) {
	t.Helper()
	l.mustLog(30*time.Second, "exec", node, "kill", "-"+sig, l.postmasterPID(t, node))
}

// postmasterPID is node's postmaster pid in the node's PID namespace.
func (l *labSession) postmasterPID(t T, node string) string {
	t.Helper()
	id := l.postmasterIdentity(t, node)
	pid, _, _ := strings.Cut(id, "@")
	return pid
}

// postmasterIdentityOr is postmasterIdentity, "" when there is no pid file.
func (l *labSession) postmasterIdentityOr(node string) string {
	lines := strings.Split(fileText(l.nodePath(node, labPGData+"/postmaster.pid")), "\n")
	if len(lines) < 3 {
		return ""
	}
	return lines[0] + "@" + lines[2]
}

// quickSQL runs a statement as postgres inside node, bounded (a hung server answers nothing
// within 4 s; the psql is killed inside the node, not left behind).
func (l *labSession) quickSQL(node, statement string) (string, error) {
	return l.run(10*time.Second, "exec", node, "timeout", "-s", "KILL", "4", "runuser", "-u", "postgres", "--",
		"env", "PGCONNECT_TIMEOUT=2", labPsql, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement)
}

// nodeNotes are the writer's notes node holds.
func (l *labSession) nodeNotes(node, prefix string) ([]string, error) {
	if !l.nodeAlive(node) {
		return nil, fmt.Errorf("%s is off", node)
	}
	out, err := l.quickSQL(node, fmt.Sprintf("select note from lab_rows where note like '%s-%%'", prefix))
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// writerWatch polls pg_is_in_recovery() on every running node twice a second.
type writerWatch struct {
	done    chan struct{}
	wg      sync.WaitGroup
	doubles int
	first   string
}

func (l *labSession) watchWriters() *writerWatch {
	w := &writerWatch{done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			var mu sync.Mutex
			var writers []string
			var wg sync.WaitGroup
			for _, n := range []string{"node1", "node2"} {
				if !l.nodeAlive(n) {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if out, err := l.quickSQL(n, "select pg_is_in_recovery()"); err == nil && out == "f" {
						mu.Lock()
						writers = append(writers, n)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(writers) > 1 {
				w.doubles++
				if w.first == "" {
					sort.Strings(writers)
					w.first = fmt.Sprintf("%v at %s", writers, time.Now().Format("15:04:05.0"))
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the watch: the polls that saw two writers, and the first of them.
func (w *writerWatch) stop() (int, string) {
	close(w.done)
	w.wg.Wait()
	return w.doubles, w.first
}

// installCrmAttributeShim writes, in a fresh host directory every node sees, a copy of the
// real crm_attribute and a shim that counts its calls (file "calls", under flock) and fails
// or hangs (mode) the first n, then runs the copy. `lab replace` binds the shim over the
// node's binary.
func (l *labSession) installCrmAttributeShim(t T, node string, n int, mode shimMode) string {
	t.Helper()
	dir := filepath.Join(l.dir, "faults", fmt.Sprintf("%s-%d", node, time.Now().UnixNano()))
	if err := os.MkdirAll(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o1777)
	real := filepath.Join(dir, "crm_attribute.real")
	if err := benchCopyFile(crmAttributePath, real, 0o755); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls")
	if err := os.WriteFile(calls, []byte("0\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(calls, 0o666)
	shim := fmt.Sprintf(`#!/bin/bash
# Fault shim (issue #12 §3): the first %[1]d crm_attribute calls on this node: %[4]s.
exec 8<>%[2]q
flock 8
n=$(( $(cat %[2]q) + 1 ))
echo "$n" >%[2]q
exec 8>&-
if [ "$n" -le %[1]d ]; then
  %[5]s
fi
exec -a crm_attribute %[3]q "$@"
`, n, calls, real, mode.what(), mode.action())
	if err := os.WriteFile(filepath.Join(dir, "crm_attribute.shim"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// setNodeStandby puts node in (or out of) Pacemaker's node standby mode.
func (l *labSession) setNodeStandby(t T, node string, on bool) {
	t.Helper()
	value := map[bool]string{true: "on", false: "off"}[on]
	if _, err := l.run(30*time.Second, "exec", l.anyNode(), "crm_attribute", "--type", "nodes", "--node", node, "--name", "standby", "--update", value); err != nil {
		t.Errorf("node standby %s %s: %v", node, value, err)
	}
}

// labChownPostgres gives a file planted on a node's disk to postgres, as the agent's own.
func labChownPostgres(t T, path string) {
	t.Helper()
	if out, err := exec.Command("chown", "postgres:postgres", path).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v: %s", path, err, out)
	}
}
