package labreport

import "fmt"

// Fault is one fault of the matrix as the reports name it; what it does to the lab is the
// driver's (test/labkit/faults.go, labFaults), which takes these descriptions from Faults.
type Fault struct {
	ID, Name, What string
	PAF            bool // applies to PAF too
}

// The crm_attribute shim of faults 4 and 12 fails or hangs this many calls on the primary's
// node before it passes them on; a hung call sleeps CrmAttributeShimHangSeconds, which
// outlasts crm_attr_timeout's default (5 s), as attrd stuck in an election.
const (
	CrmAttributeShimCalls       = 3
	CrmAttributeShimHangSeconds = 8
)

// WalFullHoldSeconds: how long fault 15 keeps the standby's pg_wal disk full before the
// admin frees it.
const WalFullHoldSeconds = 40

// PAFNotApplicable is the cell of a fault PAF does not run (Fault.PAF false).
const PAFNotApplicable = "n/a: PAF keeps no PGSQL.lock or rep_mode.conf"

// Faults is the fault matrix (issue #12 §3), in the order it runs and the table lists it.
func Faults() []Fault {
	crmAttribute := func(does string) string {
		return fmt.Sprintf("crm_attribute %s for %d calls on the primary's node (standby postmaster killed to make it publish)", does, CrmAttributeShimCalls)
	}
	return []Fault{
		{ID: "1", Name: "primary-kill", What: "primary postmaster SIGKILL", PAF: true},
		{ID: "2", Name: "standby-kill", What: "standby postmaster SIGKILL", PAF: true},
		{ID: "3", Name: "primary-hang", What: "primary postmaster SIGSTOP (hung PostgreSQL)", PAF: true},
		{ID: "4", Name: "crm-attr-fails", What: crmAttribute("fails"), PAF: true},
		{ID: "5", Name: "state-files", What: "corrupted PGSQL.lock / rep_mode.conf on the stopped standby"},
		{ID: "6", Name: "primary-power-cut", What: "primary node power cut (booted after the verdict)", PAF: true},
		{ID: "7", Name: "standby-power-cut", What: "standby node power cut (booted after the verdict)", PAF: true},
		{ID: "8", Name: "primary-partition", What: "network partition isolating the primary (healed after the verdict)", PAF: true},
		{ID: "9", Name: "standby-hang", What: "standby postmaster SIGSTOP (hung PostgreSQL)", PAF: true},
		{ID: "10", Name: "node-standby", What: "node standby of the primary under write load, unstandby once another node is promoted (demote → stop → promote)", PAF: true},
		{ID: "11", Name: "dirty-power-cycle", What: "both nodes cut, the standby first, writes, then the primary; both booted: the newest data must be promoted", PAF: true},
		{ID: "12", Name: "crm-attr-slow", What: crmAttribute(fmt.Sprintf("hangs %d s", CrmAttributeShimHangSeconds)), PAF: true},
		// 13 and 14 not PAF: it keeps nothing in tmpdir.
		{ID: "13", Name: "tmpdir-ro-primary", What: "the primary's tmpdir read-only, then the standby's postmaster killed to make the primary publish"},
		{ID: "14", Name: "tmpdir-ro-standby", What: "the standby's tmpdir read-only, then the primary's postmaster killed: the standby cannot create PGSQL.lock"},
		{ID: "15", Name: "standby-wal-full", What: fmt.Sprintf("the standby's pg_wal disk full (a WAL segment it cannot create) for %d s, then freed", WalFullHoldSeconds), PAF: true},
	}
}

// FaultByID is the fault id of Faults, or false.
func FaultByID(id string) (Fault, bool) {
	for _, f := range Faults() {
		if f.ID == id {
			return f, true
		}
	}
	return Fault{}, false
}
