package labkit

// Fencing in the lab (issue #12 §1): what the scenarios read of it. The lab fences by default
// (LAB_STONITH=true: one fence_lab device per node); its power switch logs every request it
// serves to $LAB_DIR/fence.log, one line each:
//
//	<epoch µs> <requester> <action> <plug> <exit code> <message...>

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fencing reports whether the session's lab was brought up with fencing (lab.env).
func (l *labSession) fencing() bool {
	b, err := os.ReadFile(filepath.Join(l.dir, "lab.env"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "LAB_STONITH="); ok {
			return strings.TrimSpace(v) == "true"
		}
	}
	return false
}

// labFence is one request the lab's power switch served.
type labFence struct {
	At        time.Time
	Requester string
	Action    string
	Plug      string
	Code      int
	Message   string
}

// fences are the power switch's requests served at or after since, oldest first.
func (l *labSession) fences(since time.Time) []labFence {
	f, err := os.Open(filepath.Join(l.dir, "fence.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []labFence
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fe, ok := parseLabFence(sc.Text()); ok && !fe.At.Before(since) {
			out = append(out, fe)
		}
	}
	return out
}

func parseLabFence(line string) (labFence, bool) {
	f := strings.SplitN(line, " ", 6)
	if len(f) < 5 {
		return labFence{}, false
	}
	us, err1 := strconv.ParseInt(f[0], 10, 64)
	code, err2 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil {
		return labFence{}, false
	}
	fe := labFence{At: time.UnixMicro(us), Requester: f[1], Action: f[2], Plug: f[3], Code: code}
	if len(f) == 6 {
		fe.Message = strings.TrimSpace(f[5])
	}
	return fe, true
}

// powerOffs are the successful fencing "off" (or "reboot") requests of target since a time.
func (l *labSession) powerOffs(target string, since time.Time) []labFence {
	var out []labFence
	for _, fe := range l.fences(since) {
		if fe.Plug == target && (fe.Action == "off" || fe.Action == "reboot") && fe.Code == 0 {
			out = append(out, fe)
		}
	}
	return out
}

// fenceHistory is `stonith_admin --history '*'` as a running node knows it.
func (l *labSession) fenceHistory() string {
	out, err := l.run(30*time.Second, "fences", l.anyNode())
	if err != nil {
		return err.Error()
	}
	return out
}
