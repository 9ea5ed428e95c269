package test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// toolFault makes one cluster tool fail for the agent alone: the agent runs in a private
// mount namespace in which /usr/sbin/<tool> is a script that exits 1 for every call whose
// arguments include all of failWhen (and appends the call to Log), and runs a copy of the
// real tool otherwise. The agent calls the tools by their /usr/sbin path with a fixed PATH,
// so only a namespace can stand in for attrd refusing a write (issue #10, defect 6).
type toolFault struct {
	Wrapper []string // argv prefix for runAgentWrapped
	Log     string   // one line per refused call
}

func newToolFault(t *testing.T, tool string, failWhen ...string) toolFault {
	t.Helper()
	return newToolFaultLimited(t, tool, 0, failWhen...)
}

// newFlakyTool is a toolFault that refuses only the first n calls (with any arguments), as
// attrd or the CIB that is busy for a moment (issue #12).
func newFlakyTool(t *testing.T, tool string, n int) toolFault {
	t.Helper()
	return newToolFaultLimited(t, tool, n)
}

// newToolFaultLimited refuses the calls that match failWhen, only the first limit of them
// when limit > 0 (counted under a lock: the agent may run the tool concurrently).
func newToolFaultLimited(t *testing.T, tool string, limit int, failWhen ...string) toolFault {
	t.Helper()
	dir := t.TempDir()
	real := filepath.Join("/usr/sbin", tool)
	copyPath := filepath.Join(dir, "real-"+tool)
	copyExecutable(t, real, copyPath)
	f := toolFault{Log: filepath.Join(dir, "refused.log")}
	passOn := fmt.Sprintf("exec %s \"$@\"", shellQuote(copyPath))
	var conds []string
	for _, arg := range failWhen {
		conds = append(conds, fmt.Sprintf("  case \" $* \" in *' %s '*) ;; *) %s;; esac\n", arg, passOn))
	}
	if limit > 0 {
		counter := shellQuote(filepath.Join(dir, "count"))
		conds = append(conds, fmt.Sprintf("exec 8>>%[1]s\nflock 8\nn=$(( $(wc -l < %[1]s) + 1 ))\necho >&8\nexec 8>&-\n[ \"$n\" -le %[2]d ] || %[3]s\n",
			counter, limit, passOn))
	}
	script := "#!/bin/sh\n" + strings.Join(conds, "") +
		fmt.Sprintf("echo \"$*\" >> %s\necho '%s: refused by the test' >&2\nexit 1\n", shellQuote(f.Log), tool)
	shim := filepath.Join(dir, tool)
	if err := os.WriteFile(shim, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// unshare execs sh, which execs the agent after the bind mount: one process id.
	f.Wrapper = []string{"unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", `mount --bind "$0" "$1" && shift && exec "$@"`, shim, real}
	return f
}

// refused returns the calls the shim refused.
func (f toolFault) refused(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.Log)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Skipf("%s not installed: %v", from, err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
