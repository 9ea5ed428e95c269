package labkit

// TestLabSeedGuide (issue #14 §2): CFEngine's HA installation guide followed to the letter in
// the lab (`lab up --seed`, test/lab/seed): the CFEngine layout, the manual replication
// bootstrap, the cluster configured with live pcs commands; then what the guide says the admin
// sees, and the guide's operations, failover, recovery of the old primary and a switchover,
// with pcs.
//
// The guide is "High Availability – Installation Guide",
// https://docs.cfengine.com/docs/master/examples-tutorials-high-availability-installation-guide.html
// (source cfengine/documentation, examples/tutorials/high-availability/installation-guide.markdown
// at 1468ca69b61c71e0dfa44731844837c3713dd4dc). labGuide lists its commands verbatim; the lab
// records every command it runs (guide.log in the lab's directory) and the test compares the
// two, allowing only the changes listed in labGuideChanges, each with its reason.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// guideStep is one block of the guide's commands, verbatim (the Markdown indentation removed).
type guideStep struct {
	where    string   // the guide's section and step
	text     string   // the commands as the guide writes them
	ran      []string // the nodes the lab runs it on, in order; nil: not run
	why      string   // why it is not run, or what the lab adds to it
	appendTo string   // the guide lists settings for this file: the lab appends them
}

// guideChange is a difference allowed between the guide's text and what the lab runs.
type guideChange struct{ from, to, why string }

var labGuideChanges = []guideChange{
	{"192.168.100.100", labVIP, "the shared (VIP) address: the lab's subnet"},
	{"192.168.100.10/32", "10.213.7.11/32", "node1's address: the lab's subnet"},
	{"192.168.100.11/32", "10.213.7.12/32", "node2's address: the lab's subnet"},
	{"-h 192.168.10.10 ", "-h 10.213.7.11 ", "node1's replication address: the lab's one network"},
	{"create cfpgsql pgsql ", "create cfpgsql ocf:cfengine:pgsql ", "this agent, installed by its package, for the guide's shell agent copied over heartbeat/pgsql"},
	{`role="Master"`, `role="Promoted"`, "pcs 0.11: the role Master is deprecated (Pacemaker 2.1's Promoted)"},
	{"with Master mscfpgsql", "with Promoted mscfpgsql", "pcs 0.11: the role Master is deprecated"},
	{"pcs resource master mscfpgsql cfpgsql ", "pcs resource promotable cfpgsql mscfpgsql ", "pcs 0.11 has no `resource master`; `promotable` names the resource first, then the clone"},
	{"wal_keep_segments = 16", "wal_keep_size = 256MB", "PostgreSQL 13 removed wal_keep_segments (PostgreSQL 15 refuses to start with it): 16 segments of 16 MB"},
}

const (
	labGuidePGConf = "/var/cfengine/state/pg/data/postgresql.conf"
	labGuideClone  = "mscfpgsql"
	labGuideStart  = `pushd /tmp; su cfpostgres -c "/var/cfengine/bin/pg_ctl -D /var/cfengine/state/pg/data -l /var/log/postgresql.log start"; popd`
	labGuideStop   = `pushd /tmp; su cfpostgres -c "/var/cfengine/bin/pg_ctl -D /var/cfengine/state/pg/data -l /var/log/postgresql.log stop"; popd`
)

// labGuide is the guide's commands in its order, and what the lab does with each. With
// fencing (the lab's default) the guide's step for "a testing environment without fencing" is
// replaced by the lab's fence devices (the "fencing" addition).
func labGuide(fencing bool) []guideStep {
	both, n1, n2 := []string{"node1", "node2"}, []string{"node1"}, []string{"node2"}
	noFencing := guideStep{where: "Install cluster management tools, 8", text: `
pcs property set stonith-enabled=false
pcs property set no-quorum-policy=ignore`, ran: n1}
	if fencing {
		noFencing.ran, noFencing.why = nil, "for a testing environment without fencing; the lab fences (its fencing step)"
	}
	return []guideStep{
		{where: "Install cluster management tools", text: `yum -y install pcs pacemaker cman fence-agents`,
			why: "Debian 12: test/install-deps.sh installs pcs, pacemaker and corosync on the host, whose /usr the nodes share"},
		{where: "Install cluster management tools, 1", text: `uname -n | tr '[A-Z]' '[a-z]'`, ran: both},
		{where: "Install cluster management tools, 2", text: `passwd hacluster`, why: "only pcsd's authentication needs it"},
		{where: "Install cluster management tools, 3", text: `
service pcsd start
chkconfig pcsd on`, why: "no pcsd: pcs works on the local CIB"},
		{where: "Install cluster management tools, 4", text: `pcs cluster auth node1 node2 -u hacluster`, why: "needs pcsd"},
		{where: "Install cluster management tools, 5", text: `pcs cluster setup --name cfcluster node1 node2`,
			why: "needs pcsd: `lab up` writes corosync.conf (knet, two_node)"},
		{where: "Install cluster management tools, 6", text: `pcs cluster start --all`,
			why: "needs pcsd and systemd: `lab up` starts corosync and pacemakerd in each node"},
		{where: "Install cluster management tools, 7", text: `pcs status`, ran: n1},
		noFencing,
		{where: "Install cluster management tools, 9", text: `
pcs resource defaults resource-stickiness="INFINITY"
pcs resource defaults migration-threshold="1"
pcs resource create cfvirtip IPaddr2 ip=192.168.100.100 cidr_netmask=24 --group cfengine`, ran: n1},
		{where: "Install cluster management tools, 9", text: `pcs cluster enable --all`, why: "enables systemd units at boot: the nodes have no systemd"},
		{where: "Install cluster management tools, 10", text: `pcs status`, ran: n1},
		{where: "PostgreSQL configuration, 1", text: `(Install the CFEngine hub package on both node1 and node2.)`,
			why: "no CFEngine package: the node's disk gets the user cfpostgres, /var/cfengine/bin and /var/log/postgresql.log, and the hub-package step its initdb and cfdb"},
		{where: "PostgreSQL configuration, 2", text: `service cfengine3 stop`, why: "no CFEngine daemons in the lab"},
		{where: "PostgreSQL configuration, 3.1", text: `
mkdir -p /var/cfengine/state/pg/{data/pg_arch,tmp}
chown -R cfpostgres:cfpostgres /var/cfengine/state/pg/{data/pg_arch,tmp}`, ran: n1},
		{where: "PostgreSQL configuration, 3.2", appendTo: labGuidePGConf, ran: n1, text: `
listen_addresses = '*'
wal_level = replica
max_wal_senders = 5
wal_keep_segments = 16
hot_standby = on
restart_after_crash = off
archive_mode = on
archive_command = 'cp %p /var/cfengine/state/pg/data/pg_arch/%f'`,
			why: "the guide says to set these options; the lab appends them (the last setting of a name wins)"},
		{where: "PostgreSQL configuration, 3.3", ran: n1, text: `
echo "host replication all 192.168.100.10/32 trust" >> /var/cfengine/state/pg/data/pg_hba.conf
echo "host replication all 192.168.100.11/32 trust" >> /var/cfengine/state/pg/data/pg_hba.conf`},
		{where: "PostgreSQL configuration, 4.1", ran: n1,
			text: `pushd /tmp; su cfpostgres -c "/var/cfengine/bin/pg_ctl -w -D /var/cfengine/state/pg/data -l /var/log/postgresql.log start"; popd`},
		{where: "PostgreSQL configuration, 4.2", ran: n2, text: `
rm -rf /var/cfengine/state/pg/data/*
pushd /tmp; su cfpostgres -c "/var/cfengine/bin/pg_basebackup -h 192.168.10.10 -U cfpostgres -D /var/cfengine/state/pg/data -X stream -P"; popd`},
		{where: "PostgreSQL configuration, 4.3", ran: n2, text: `
cat <<EOF > /var/cfengine/state/pg/data/standby.conf
#192.168.100.100 is the shared over cluster IP address of active/master cluster node
primary_conninfo = 'host=192.168.100.100 port=5432 user=cfpostgres application_name=node2'
restore_command = 'cp /var/cfengine/state/pg/pg_arch/%f %p'
EOF
chown --reference /var/cfengine/state/pg/data/postgresql.conf /var/cfengine/state/pg/data/standby.conf
echo "include 'standby.conf'" >> /var/cfengine/state/pg/data/postgresql.conf
touch /var/cfengine/state/pg/data/standby.signal`},
		{where: "PostgreSQL configuration, 5", text: labGuideStart, ran: n2},
		{where: "PostgreSQL configuration, 6.1", text: `/var/cfengine/bin/psql -x cfdb -c "SELECT pg_is_in_recovery();"`, ran: n2},
		{where: "PostgreSQL configuration, 6.2", text: `/var/cfengine/bin/psql -x cfdb -c "SELECT * FROM pg_stat_replication;"`, ran: n1},
		{where: "PostgreSQL configuration, 7", text: labGuideStop, ran: []string{"node2", "node1"},
			why: "the guide leaves the order open: the standby first, so that node1's data (its shutdown checkpoint) is the newest, as the guide's result (node1 Master) has it"},
		{where: "PostgreSQL configuration, 8", ran: n2, text: `
rm -f /var/cfengine/state/pg/data/standby.signal
rm -f /var/cfengine/state/pg/data/standby.conf
sed -i "/standby\.conf/d" /var/cfengine/state/pg/data/postgresql.conf`},
		{where: "Cluster resource configuration, 1", text: `
wget https://raw.githubusercontent.com/cfengine/core/master/contrib/pgsql_RA
/bin/cp pgsql_RA /usr/lib/ocf/resource.d/heartbeat/pgsql
chown --reference /usr/lib/ocf/resource.d/heartbeat/{IPaddr2,pgsql}
chmod --reference /usr/lib/ocf/resource.d/heartbeat/{IPaddr2,pgsql}`,
			why: "this agent is installed by its package as ocf:cfengine:pgsql"},
		{where: "Cluster resource configuration, 2", ran: n1, text: `
pcs resource create cfpgsql pgsql  \
  pgctl="/var/cfengine/bin/pg_ctl" \
  psql="/var/cfengine/bin/psql"    \
  pgdata="/var/cfengine/state/pg/data" \
  pgdb="cfdb" pgdba="cfpostgres" repuser="cfpostgres" \
  tmpdir="/var/cfengine/state/pg/tmp" \
  rep_mode="async" node_list="node1 node2" \
  primary_conninfo_opt="keepalives_idle=60 keepalives_interval=5 keepalives_count=5" \
  master_ip="192.168.100.100" restart_on_promote="true" \
  logfile="/var/log/postgresql.log" \
  config="/var/cfengine/state/pg/data/postgresql.conf" \
  check_wal_receiver=true restore_command="cp /var/cfengine/state/pg/data/pg_arch/%f %p" \
  op monitor timeout="60s" interval="3s" on-fail="restart" role="Master" \
  op monitor timeout="60s" interval="4s" on-fail="restart" --disable`},
		{where: "Cluster resource configuration, 3", ran: n1,
			text: `pcs resource master mscfpgsql cfpgsql master-max=1 master-node-max=1 clone-max=2 clone-node-max=1 notify=true`},
		{where: "Cluster resource configuration, 4", ran: n1, text: `
pcs constraint colocation add cfengine with Master mscfpgsql INFINITY
pcs constraint order promote mscfpgsql then start cfengine symmetrical=false score=INFINITY
pcs constraint order demote mscfpgsql then stop cfengine symmetrical=false score=0`},
		{where: "Cluster resource configuration, 5", text: `pcs resource enable mscfpgsql --wait=30`, ran: n1},
		{where: "Cluster resource configuration, 6", text: `pcs constraint`, ran: n1},
		{where: "Cluster resource configuration, 7", text: `crm_mon -Afr1`, ran: n1},
		{where: "CFEngine configuration, 1", ran: both, text: `
cat <<EOF > /var/cfengine/ha.cfg
cmp_master: PRI
cmp_slave: HS:async,HS:sync,HS:alone
cmd: /usr/sbin/crm_attribute -l reboot -n cfpgsql-status -G -q
EOF`},
		{where: "CFEngine configuration, 2", text: `
sed -ri s/Requires/Wants/ /usr/lib/systemd/system/cf-hub.service
systemctl daemon-reload
systemctl mask cf-postgres.service`, why: "CFEngine itself (its systemd units): not in the lab"},
		{where: "CFEngine configuration, 3", text: `
cf-agent --bootstrap 192.168.100.10 --skip-bootstrap-policy-run
cf-agent --bootstrap 192.168.100.11 --skip-bootstrap-policy-run`, why: "CFEngine itself: not in the lab"},
		{where: "CFEngine configuration, 4-8", text: `
service cfengine3 stop
cf-key -s
cf-agent -Kf update.cf
service cfengine3 start`, why: "CFEngine itself (and its ha_info.json and def.json): not in the lab"},
	}
}

// labGuideAdditions are the lab's own steps (recorded as "### lab NODE TITLE").
var labGuideAdditions = map[string]string{
	"hub-package": "what the CFEngine hub package's installation does: initdb of /var/cfengine/state/pg/data as cfpostgres, database cfdb, a role root (the guide's `psql -x cfdb` runs as root)",
	"lab-client":  "the lab's own checks: a role postgres and trust for the client's address (10.213.7.1), for lab sql and the writer through the VIP",
	"fencing":     "the lab's fencing with pcs: one fence_lab device per node, never run by the node it fences, stonith-enabled=true, stonith-action=off",
}

// guideRun is one recorded step of the seeded lab.
type guideRun struct{ kind, node, title, text string }

func readGuideLog(t T, path string) []guideRun {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs []guideRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if head, ok := strings.CutPrefix(line, "### "); ok {
			f := strings.SplitN(head, " ", 3)
			r := guideRun{kind: f[0], node: f[1]}
			if len(f) == 3 {
				r.title = f[2]
			}
			runs = append(runs, r)
			continue
		}
		if len(runs) == 0 {
			t.Fatalf("%s: text before the first ### line: %q", path, line)
		}
		runs[len(runs)-1].text += line + "\n"
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return runs
}

// guideLines is a command text compared line by line: continuation lines joined, each line's
// runs of blanks as one, empty lines dropped.
func guideLines(text string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

// TestLabSeedGuide: the seeded lab, the guide's checks, failover, recovery and switchover.
func TestLabSeedGuide(t *testing.T) {
	if !slices.Contains(labAgents(), "ours") {
		t.Skip("LAB_AGENTS does not include ours")
	}
	l, upSeconds := startSeededLab(t, "ours")
	rec := l.record(t, "seed-guide")
	rec.set("up_seed_s", upSeconds)
	for k, v := range l.figures() {
		rec.set(k, v)
	}
	runLabSteps(t, l, []labStep{
		{"guide", labSeedCommands},
		{"layout", labSeedLayout},
		{"admin-view", labSeedAdminView},
		{"failover", labFailover},
		{"recovery", labSeedRecovery},
		{"switchover", labSwitchover},
		{"after-switchover", labSeedAfterSwitchover},
	})
}

// startSeededLab brings up a lab set up by the guide (`lab up --seed`) with agent, the session
// using the guide's names (the clone mscfpgsql, pcs for the admin's moves), and returns the
// seconds `up` took.
func startSeededLab(t T, agent string) (*labSession, float64) {
	t.Helper()
	l := newLabSession(t, agent, 2)
	l.clone, l.pgTmp, l.pcs = labGuideClone, "/var/cfengine/state/pg/tmp", true
	began := time.Now()
	l.mustLog(6*time.Minute, "up", "--nodes", "2", "--agent", agent, "--seed")
	return l, labSeconds(time.Since(began))
}

// labSeedCommands: what the lab ran is the guide's text, with only the stated changes.
func labSeedCommands(t T, l *labSession) {
	rec := l.record(t, "seed-guide-commands")
	c := guideCompare(labGuide(l.fencing()), readGuideLog(t, filepath.Join(l.dir, "guide.log")), l.fencing())
	for _, line := range c.notes {
		t.Log(line)
	}
	for _, d := range c.diffs {
		t.Error(d)
	}
	rec.set("guide_commands_run", c.commandsRun)
	rec.set("guide_steps_not_run", c.notRun)
	rec.set("lab_additions", c.additions)
}

// guideComparison is the record of a seeded lab against the guide.
type guideComparison struct {
	notes       []string            // what is not run, what is changed and what the lab adds, and why
	diffs       []string            // every difference that is not stated
	notRun      []string            // the guide's steps the lab does not run
	additions   map[string][]string // the lab's own steps: the nodes each ran on
	commandsRun int                 // the guide's commands run
}

// guideExpected is what the lab must record for the guide's steps: each step that runs, with
// the stated changes, once per node it runs on; used counts the steps each change applies to.
func guideExpected(steps []guideStep) (want []guideRun, used map[string]int, notes []string) {
	used = map[string]int{}
	for _, s := range steps {
		if s.ran == nil {
			notes = append(notes, fmt.Sprintf("not run: %s: %s\n%s", s.where, s.why, strings.TrimSpace(s.text)))
			continue
		}
		text := s.text
		for _, c := range labGuideChanges {
			if strings.Contains(text, c.from) {
				used[c.from]++
				text = strings.ReplaceAll(text, c.from, c.to)
				notes = append(notes, fmt.Sprintf("changed: %s: %q -> %q (%s)", s.where, c.from, c.to, c.why))
			}
		}
		title := ""
		if s.appendTo != "" {
			title = "append " + s.appendTo
		}
		for _, n := range s.ran {
			want = append(want, guideRun{kind: "guide", node: n, title: title, text: text})
		}
	}
	return want, used, notes
}

// guideCompare compares a seeded lab's record (runs) with the guide's steps.
func guideCompare(steps []guideStep, runs []guideRun, fencing bool) guideComparison {
	want, used, notes := guideExpected(steps)
	c := guideComparison{notes: notes, additions: map[string][]string{}}
	for _, s := range steps {
		if s.ran == nil {
			c.notRun = append(c.notRun, fmt.Sprintf("%s (%s)", s.where, s.why))
		}
	}
	for _, ch := range labGuideChanges {
		if used[ch.from] == 0 {
			c.diffs = append(c.diffs, fmt.Sprintf("stated change %q -> %q matches no command of the guide", ch.from, ch.to))
		}
	}
	var got []guideRun
	for _, r := range runs {
		switch r.kind {
		case "guide":
			got = append(got, r)
		case "lab":
			if _, ok := labGuideAdditions[r.title]; !ok {
				c.diffs = append(c.diffs, fmt.Sprintf("the lab ran an unstated step %q on %s:\n%s", r.title, r.node, r.text))
			}
			c.additions[r.title] = append(c.additions[r.title], r.node)
		default:
			c.diffs = append(c.diffs, fmt.Sprintf("guide.log: unknown kind %q", r.kind))
		}
	}
	c.commandsRun = len(got)
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i >= len(got):
			c.diffs = append(c.diffs, fmt.Sprintf("guide command %d not run: on %s:\n%s", i+1, want[i].node, want[i].text))
		case i >= len(want):
			c.diffs = append(c.diffs, fmt.Sprintf("the lab ran more than the guide: on %s:\n%s", got[i].node, got[i].text))
		case got[i].node != want[i].node || got[i].title != want[i].title ||
			!slices.Equal(guideLines(got[i].text), guideLines(want[i].text)):
			c.diffs = append(c.diffs, fmt.Sprintf("guide command %d differs:\nthe guide (with the stated changes), on %s %s:\n%s\nthe lab ran, on %s %s:\n%s",
				i+1, want[i].node, want[i].title, strings.Join(guideLines(want[i].text), "\n"),
				got[i].node, got[i].title, strings.Join(guideLines(got[i].text), "\n")))
		}
	}
	wantAdditions := map[string][]string{"hub-package": {"node1", "node2"}, "lab-client": {"node1"}}
	if fencing {
		wantAdditions["fencing"] = []string{"node1"}
	}
	for title, nodes := range wantAdditions {
		if !slices.Equal(c.additions[title], nodes) {
			c.diffs = append(c.diffs, fmt.Sprintf("lab step %q ran on %v, want %v", title, c.additions[title], nodes))
		}
	}
	for title, why := range labGuideAdditions {
		c.notes = append(c.notes, fmt.Sprintf("added by the lab: %s on %v: %s", title, c.additions[title], why))
	}
	return c
}

// TestGuideCompare (no lab): the comparison finds what a seeded lab could get wrong: a
// command changed beyond the stated changes, a command left out, one added, a lab step unstated.
func TestGuideCompare(t *testing.T) {
	steps := labGuide(true)
	want, _, _ := guideExpected(steps)
	lab := []guideRun{{kind: "lab", node: "node1", title: "fencing"}, {kind: "lab", node: "node1", title: "hub-package"},
		{kind: "lab", node: "node2", title: "hub-package"}, {kind: "lab", node: "node1", title: "lab-client"}}
	faithful := append(slices.Clone(lab), want...)
	if d := guideCompare(steps, faithful, true).diffs; len(d) > 0 {
		t.Fatalf("the guide as expected: %v", d)
	}
	tampered := func(edit func([]guideRun) []guideRun) []guideRun {
		runs := make([]guideRun, len(faithful))
		copy(runs, faithful)
		return edit(runs)
	}
	for name, runs := range map[string][]guideRun{
		"an option dropped": tampered(func(r []guideRun) []guideRun {
			for i := range r {
				r[i].text = strings.Replace(r[i].text, " --disable", "", 1)
			}
			return r
		}),
		"the guide's role Master": tampered(func(r []guideRun) []guideRun {
			for i := range r {
				r[i].text = strings.ReplaceAll(r[i].text, `role="Promoted"`, `role="Master"`)
			}
			return r
		}),
		"a command left out": tampered(func(r []guideRun) []guideRun { return r[:len(r)-1] }),
		"a command added": tampered(func(r []guideRun) []guideRun {
			return append(r, guideRun{kind: "guide", node: "node1", text: "pcs resource cleanup"})
		}),
		"another node": tampered(func(r []guideRun) []guideRun { r[len(lab)].node = "node2"; return r }),
		"an unstated lab step": tampered(func(r []guideRun) []guideRun {
			return append(r, guideRun{kind: "lab", node: "node1", title: "tuning", text: "echo shared_buffers = 1GB >> postgresql.conf"})
		}),
	} {
		if d := guideCompare(steps, runs, true).diffs; len(d) == 0 {
			t.Errorf("%s: not found", name)
		}
	}
}

// labSeedLayout: CFEngine's layout inside each node, as the guide and the hub package leave it.
func labSeedLayout(t T, l *labSession) {
	for _, n := range []string{"node1", "node2"} {
		check := func(desc string, args ...string) string {
			t.Helper()
			out, err := l.run(30*time.Second, l.admin(n, args)...)
			if err != nil {
				t.Errorf("%s: %s: %v", n, desc, err)
			}
			return out
		}
		if out := check("user cfpostgres", "id", "-un", "cfpostgres"); out != "cfpostgres" {
			t.Errorf("%s: id -un cfpostgres: %q", n, out)
		}
		for _, prog := range []string{"pg_ctl", "psql"} {
			if out := check(prog, "readlink", "-f", "/var/cfengine/bin/"+prog); out != filepath.Join(labPGBin, prog) {
				t.Errorf("%s: /var/cfengine/bin/%s -> %q, want PostgreSQL 15's %s", n, prog, out, filepath.Join(labPGBin, prog))
			}
		}
		owners := check("owners", "stat", "-c", "%n %U %a", "/var/cfengine/state/pg/data", "/var/cfengine/state/pg/data/pg_arch",
			"/var/cfengine/state/pg/tmp", "/var/log/postgresql.log")
		for _, line := range strings.Split(owners, "\n") {
			if f := strings.Fields(line); len(f) != 3 || f[1] != "cfpostgres" {
				t.Errorf("%s: %q: not owned by cfpostgres", n, line)
			}
		}
		conf := check("postgresql.conf", "cat", labGuidePGConf)
		if strings.Contains(conf, "standby.conf") {
			t.Errorf("%s: postgresql.conf still includes standby.conf (the guide's clean-up)", n)
		}
		for _, setting := range []string{"archive_command = 'cp %p /var/cfengine/state/pg/data/pg_arch/%f'", "wal_level = replica", "hot_standby = on"} {
			if !strings.Contains(conf, setting) {
				t.Errorf("%s: postgresql.conf lacks %q", n, setting)
			}
		}
		// The guide's clean-up removed node2's standby.conf; the agent writes its own recovery
		// settings (standby.signal on the standby only).
		if _, err := os.Stat(l.nodePath(n, "/var/cfengine/state/pg/data/standby.conf")); err == nil {
			t.Errorf("%s: standby.conf is back in the data directory", n)
		}
	}
	if out := l.mustSQL(t, "node1", "select count(*) from pg_database where datname = 'cfdb'"); out != "1" {
		t.Errorf("no database cfdb on node1")
	}
	// The archive: the primary's archive_command fills pg_arch.
	l.mustSQL(t, "node1", "select pg_switch_wal()")
	if !labWait(30*time.Second, func() bool {
		entries, _ := os.ReadDir(l.nodePath("node1", "/var/cfengine/state/pg/data/pg_arch"))
		return len(entries) > 0
	}) {
		t.Errorf("node1's pg_arch is empty 30 s after a WAL switch")
	}
}

// labSeedAdminView: what the guide says the admin sees after the setup: the constraints, the
// attributes in crm_mon -Afr1, and CFEngine's role probe from ha.cfg.
func labSeedAdminView(t T, l *labSession) {
	rec, m := l.bootRecord(t, "seed-admin-view")
	if vip := m.vipOn(); vip != "node1" {
		t.Errorf("cfvirtip on %q, want node1", vip)
	}
	l.ensureRowsTable(t)
	if node, err := l.writeVIP("seed"); err != nil || node != "node1" {
		t.Errorf("write through the VIP: on %q, %v; want node1", node, err)
	}

	// `pcs constraint`: the guide's expected lines, Master spelled Promoted. (The guide's
	// expected output also shows a location constraint "Enabled on: node1 (role: Master)" that
	// none of its commands creates: not expected here.)
	constraints := l.mustRun(t, "node1", "pcs", "constraint")
	for _, line := range []string{
		"promote mscfpgsql then start cfengine (score:INFINITY) (non-symmetrical)",
		"demote mscfpgsql then stop cfengine (score:0) (non-symmetrical)",
		"cfengine with mscfpgsql (score:INFINITY) (rsc-role:Started) (with-rsc-role:Promoted)",
	} {
		if !strings.Contains(constraints, line) {
			t.Errorf("pcs constraint lacks %q:\n%s", line, constraints)
		}
	}
	if strings.Contains(constraints, "Resource: mscfpgsql") {
		t.Errorf("pcs constraint has a location constraint for mscfpgsql:\n%s", constraints)
	}
	if l.fencing() {
		for _, n := range []string{"node1", "node2"} {
			if !regexp.MustCompile(`Resource: fence-` + n + `\s+Disabled on:\s+Node: ` + n + ` \(score:-INFINITY\)`).MatchString(constraints) {
				t.Errorf("pcs constraint: fence-%s is not kept off %s:\n%s", n, n, constraints)
			}
		}
	}
	rec.set("pcs_constraint", constraints)

	// crm_mon -Afr1: the guide's attribute names and values (values read from the XML).
	rec.set("attributes_settled_s", l.waitHealthyAttributes(t, "node1", "node2"))
	text := l.mustRun(t, "node1", "crm_mon", "-Afr1")
	for _, want := range []string{"Promoted: [ node1 ]", "Unpromoted: [ node2 ]", "cfvirtip", "Started node1"} {
		if !strings.Contains(text, want) {
			t.Errorf("crm_mon -Afr1 lacks %q:\n%s", want, text)
		}
	}
	for name := range labHealthyPrimary {
		if !strings.Contains(text, name) {
			t.Errorf("crm_mon -Afr1 does not show %s:\n%s", name, text)
		}
	}
	m = l.mustMon(t, "")
	rec.set("attributes", map[string]map[string]string{"node1": m.attrs("node1"), "node2": m.attrs("node2")})
	rec.set("cfengine_role_probe", l.haCfgProbe(t, "node1", "node2"))
}

// haCfgProbe runs the `cmd` of each node's /var/cfengine/ha.cfg (the guide's CFEngine
// configuration, step 1), as CFEngine does to learn the node's role: primary must answer PRI
// (cmp_master) and standby HS:async, one of cmp_slave.
func (l *labSession) haCfgProbe(t T, primary, standby string) map[string]string {
	t.Helper()
	cfg := map[string]string{}
	for _, line := range strings.Split(fileText(l.nodePath(primary, "/var/cfengine/ha.cfg")), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			cfg[k] = v
		}
	}
	if cfg["cmd"] != "/usr/sbin/crm_attribute -l reboot -n cfpgsql-status -G -q" || cfg["cmp_master"] != "PRI" ||
		!slices.Contains(strings.Split(cfg["cmp_slave"], ","), "HS:async") {
		t.Fatalf("%s: ha.cfg is not the guide's: %v", primary, cfg)
	}
	return l.roleProbe(t, strings.Fields(cfg["cmd"]), map[string]string{primary: cfg["cmp_master"], standby: "HS:async"})
}

// mustRun runs an admin's command inside node and returns its output.
func (l *labSession) mustRun(t T, node string, args ...string) string {
	t.Helper()
	out, err := l.run(time.Minute, l.admin(node, args)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// labSeedRecovery: the guide's recovery of the crashed old primary. Its "Troubleshooting"
// says to start the failed node again (`pcs cluster start`, here `lab boot`: no systemd in the
// nodes) and to clear failed actions with `pcs resource cleanup cfpgsql`. With issue #13 the
// agent may rejoin the node by itself on the evidence (labLock accepts either); a start refused
// by PGSQL.lock is left, after the guide's cleanup, to the README's procedure (`lab rejoin`:
// a new base backup), which the guide does not document.
func labSeedRecovery(t T, l *labSession) {
	labLock(t, l)
	if t.Failed() {
		return
	}
	rec := l.record(t, "seed-recovery")
	m := l.mustMon(t, "")
	promoted := m.promoted()
	if len(promoted) != 1 {
		t.Fatalf("promoted: %v, want one node:\n%s", promoted, l.statusText())
	}
	primary, old := promoted[0], otherNode(promoted[0])
	steps := []string{"lab boot " + old + " (the guide: pcs cluster start)"}
	if len(m.pgsqlFailures(old)) > 0 {
		steps = append(steps, "pcs resource cleanup "+labRsc)
		l.mustRun(t, primary, "pcs", "resource", "cleanup", labRsc)
	}
	if !labWait(30*time.Second, func() bool { return l.streams(primary, old) }) {
		steps = append(steps, "lab rejoin "+old)
		l.mustLog(4*time.Minute, "rejoin", old)
	}
	rec.set("steps", steps)
	rec.set("old_primary", old)
	l.healthyPair(t)
	l.waitHealthyAttributes(t, primary, old)
	if node, err := l.writeVIP("after-recovery"); err != nil || node != primary {
		t.Errorf("write through the VIP after the recovery: on %q, %v; want %s", node, err, primary)
	}
}

// labSeedAfterSwitchover: after the pcs switchover, the roles as CFEngine reads them.
func labSeedAfterSwitchover(t T, l *labSession) {
	rec := l.record(t, "seed-after-switchover")
	primary, standby := l.healthyPair(t)
	l.waitHealthyAttributes(t, primary, standby)
	rec.set("cfengine_role_probe", l.haCfgProbe(t, primary, standby))
	if node, err := l.writeVIP("after-switchover"); err != nil || node != primary {
		t.Errorf("write through the VIP: on %q, %v; want %s", node, err, primary)
	}
	if out := l.mustRun(t, primary, "pcs", "constraint"); strings.Contains(out, "cli-ban") || strings.Contains(out, "Resource: "+labGuideClone) {
		t.Errorf("pcs resource clear left a constraint:\n%s", out)
	}
}
