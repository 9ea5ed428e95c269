package test

// fence_lab (test/lab/fence_lab, issue #12 §1) without a lab: its metadata, its options as
// flags and as key=value lines on stdin, its exit codes. A fake power switch answers the
// spool in a temporary lab dir and records what it was asked. Needs bash only, not root.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const fenceLabScript = "lab/fence_lab"

type fenceLabResult struct {
	stdout, stderr string
	code           int
}

func runFenceLab(t *testing.T, stdin string, args ...string) fenceLabResult {
	t.Helper()
	cmd := exec.Command(fenceLabScript, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return fenceLabResult{o.String(), e.String(), code}
}

// fenceLabMetadata is the fence-agents metadata format, as pacemaker-fenced and pcs read it.
type fenceLabMetadata struct {
	XMLName    xml.Name `xml:"resource-agent"`
	Name       string   `xml:"name,attr"`
	ShortDesc  string   `xml:"shortdesc,attr"`
	Parameters []struct {
		Name     string `xml:"name,attr"`
		Required string `xml:"required,attr"`
		Getopt   struct {
			Mixed string `xml:"mixed,attr"`
		} `xml:"getopt"`
		Content struct {
			Type    string `xml:"type,attr"`
			Default string `xml:"default,attr"`
		} `xml:"content"`
	} `xml:"parameters>parameter"`
	Actions []struct {
		Name string `xml:"name,attr"`
	} `xml:"actions>action"`
}

func TestFenceLabMetadata(t *testing.T) {
	for _, how := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"-o", "metadata"}},
		{"", []string{"--action=metadata"}},
		{"action=metadata\n", nil},
	} {
		r := runFenceLab(t, how.stdin, how.args...)
		if r.code != 0 {
			t.Fatalf("metadata %v: exit %d: %s", how.args, r.code, r.stderr)
		}
		var md fenceLabMetadata
		if err := xml.Unmarshal([]byte(r.stdout), &md); err != nil {
			t.Fatalf("metadata is not XML: %v\n%s", err, r.stdout)
		}
		if md.Name != "fence_lab" || md.ShortDesc == "" {
			t.Errorf("resource-agent name %q shortdesc %q", md.Name, md.ShortDesc)
		}
		var actions, params []string
		for _, a := range md.Actions {
			actions = append(actions, a.Name)
		}
		for _, p := range md.Parameters {
			params = append(params, p.Name)
			if p.Getopt.Mixed == "" || p.Content.Type == "" {
				t.Errorf("parameter %s lacks getopt or content", p.Name)
			}
		}
		for _, want := range []string{"on", "off", "reboot", "status", "monitor", "list", "metadata"} {
			if !slices.Contains(actions, want) {
				t.Errorf("action %s missing from %v", want, actions)
			}
		}
		for _, want := range []string{"action", "plug", "port", "lab_dir"} {
			if !slices.Contains(params, want) {
				t.Errorf("parameter %s missing from %v", want, params)
			}
		}
	}
	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		cmd := exec.Command(xmllint, "--noout", "-")
		cmd.Stdin = strings.NewReader(runFenceLab(t, "", "-o", "metadata").stdout)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("xmllint: %v\n%s", err, out)
		}
	}
}

// fakeSwitch answers fence_lab's requests in dir/fence-switch: status of "node2" is off,
// everything else succeeds.
type fakeSwitch struct {
	mu       sync.Mutex
	requests []map[string]string
	stop     chan struct{}
	done     chan struct{}
}

func startFakeSwitch(t *testing.T, dir string) *fakeSwitch {
	spool := filepath.Join(dir, "fence-switch")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &fakeSwitch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			reqs, _ := filepath.Glob(filepath.Join(spool, "*.req"))
			for _, req := range reqs {
				b, err := os.ReadFile(req)
				if err != nil {
					continue
				}
				os.Remove(req)
				kv := map[string]string{}
				for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					k, v, _ := strings.Cut(line, "=")
					kv[k] = v
				}
				s.mu.Lock()
				s.requests = append(s.requests, kv)
				s.mu.Unlock()
				answer := "0\nSuccess\n"
				switch {
				case kv["action"] == "status" && kv["plug"] == "node2":
					answer = "2\nStatus: OFF\n"
				case kv["action"] == "status":
					answer = "0\nStatus: ON\n"
				case kv["action"] == "list":
					answer = "0\nnode1,node1\nnode2,node2\n"
				}
				base := strings.TrimSuffix(req, ".req")
				os.WriteFile(base+".new", []byte(answer), 0o600)
				os.Rename(base+".new", base+".res")
			}
		}
	}()
	t.Cleanup(func() { close(s.stop); <-s.done })
	return s
}

func (s *fakeSwitch) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *fakeSwitch) last() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

func TestFenceLabOptions(t *testing.T) {
	dir := t.TempDir()
	sw := startFakeSwitch(t, dir)
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name      string
		stdin     string
		args      []string
		code      int
		action    string // what the switch was asked ("" = nothing)
		plug      string
		stdoutHas string
		stderrHas string
	}{
		{"stdin off", fmt.Sprintf("# pacemaker-fenced\naction=off\nplug=node1\nlab_dir=%s\nnodename=node1\npcmk_whatever=1\n", dir), nil, 0, "off", "node1", "Success", "ignoring unknown option pcmk_whatever"},
		{"stdin port, CRLF", fmt.Sprintf("action=reboot\r\nport=node1\r\nlab_dir=%s\r\n", dir), nil, 0, "reboot", "node1", "Success", ""},
		{"stdin option= is action", fmt.Sprintf("option=on\nplug=node1\nlab_dir=%s", dir), nil, 0, "on", "node1", "Success", ""},
		{"short flags", "", []string{"-o", "off", "-n", "node1", "--lab-dir", dir}, 0, "off", "node1", "Success", ""},
		{"long flags with =", "", []string{"--action=on", "--plug=node1", "--lab-dir=" + dir}, 0, "on", "node1", "Success", ""},
		{"getopt -ooff", "", []string{"-ooff", "-nnode1", "--lab-dir=" + dir}, 0, "off", "node1", "Success", ""},
		{"default action reboot", fmt.Sprintf("plug=node1\nlab_dir=%s\n", dir), nil, 0, "reboot", "node1", "Success", ""},
		{"status on", "", []string{"-o", "status", "-n", "node1", "--lab-dir=" + dir}, 0, "status", "node1", "Status: ON", ""},
		{"status off exits 2", "", []string{"-o", "status", "-n", "node2", "--lab-dir=" + dir}, 2, "status", "node2", "Status: OFF", ""},
		{"list", "", []string{"-o", "list", "--lab-dir=" + dir}, 0, "list", "", "node2,node2", ""},
		{"monitor", fmt.Sprintf("action=monitor\nlab_dir=%s\n", dir), nil, 0, "monitor", "", "", ""},
		{"no plug", "", []string{"-o", "off", "--lab-dir=" + dir}, 1, "", "", "", "plug is required"},
		{"no lab_dir", "", []string{"-o", "off", "-n", "node1"}, 1, "", "", "", "lab_dir is required"},
		{"bad plug", "", []string{"-o", "off", "-n", "node1;rm", "--lab-dir=" + dir}, 1, "", "", "", "no such lab node"},
		{"unknown action", "", []string{"-o", "explode", "-n", "node1", "--lab-dir=" + dir}, 1, "", "", "", "unsupported action"},
		{"unknown flag", "", []string{"--explode"}, 1, "", "", "", "unknown option"},
		{"flag without value", "", []string{"-o"}, 1, "", "", "", "needs a value"},
		{"no switch", "", []string{"-o", "off", "-n", "node1", "--lab-dir=" + filepath.Join(dir, "nope")}, 1, "", "", "", "no power switch"},
		{"status needs no ping target", "", []string{"-o", "status", "-n", "node1", "--lab-dir=" + dir, "--ping-targets=192.0.2.1"}, 0, "status", "node1", "Status: ON", ""},
		{"version", "", []string{"-V"}, 0, "", "", "1.", ""},
		{"help", "", []string{"--help"}, 0, "", "", "--plug", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := sw.count()
			r := runFenceLab(t, tc.stdin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.stdoutHas) {
				t.Errorf("stdout %q lacks %q", r.stdout, tc.stdoutHas)
			}
			if !strings.Contains(r.stderr, tc.stderrHas) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.stderrHas)
			}
			asked := sw.count() > before
			if tc.action == "" {
				if asked {
					t.Errorf("the switch was asked %v", sw.last())
				}
				return
			}
			got := sw.last()
			if !asked || got["action"] != tc.action || got["plug"] != tc.plug || got["requester"] != host {
				t.Errorf("the switch was asked %v, want action=%s plug=%s requester=%s", got, tc.action, tc.plug, host)
			}
		})
	}
}

// TestFenceLabPingTargets: as fence_heuristics_ping, off and reboot go ahead only when the
// requesting node reaches one of ping_targets; a node cut off from the network (here: a
// fresh network namespace, its loopback down) is refused, so it cannot win the fence race
// (issue #12 §3: the partitioned primary fenced the healthy standby in a soak run).
func TestFenceLabPingTargets(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	sw := startFakeSwitch(t, dir)
	args := []string{"-o", "off", "-n", "node1", "--lab-dir=" + dir, "--ping-targets=127.0.0.1"}
	if r := runFenceLab(t, "", args...); r.code != 0 || sw.count() != 1 {
		t.Errorf("reaching 127.0.0.1: exit %d, %d request(s); want 0 and the switch asked (stderr %q)", r.code, sw.count(), r.stderr)
	}
	cmd := exec.Command("unshare", append([]string{"-n", fenceLabScript}, args...)...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "reaches none of 127.0.0.1") || sw.count() != 1 {
		t.Errorf("cut off from the network: %v, %q, %d request(s); want refused and the switch not asked", err, out, sw.count())
	}
}
