package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestPackageDivertedShellAgent (issue #14 §3): the README's first migration path on Debian,
// run in a scratch root with the real dpkg and dpkg-divert. A stand-in resource-agents
// package installs the shell agent at the heartbeat path; the README's dpkg-divert moves it
// aside and ours is copied over it (install -m 0755, as the README says); an upgrade of
// resource-agents then lands beside it (pgsql.distrib) and ours stays. Without the
// diversion the same upgrade brings the shell agent back: the reason the README gives.
func TestPackageDivertedShellAgent(t *testing.T) {
	dist, version := distPackages(t)
	requirePackageRoot(t)
	shellV1, shellV2 := fakeResourceAgents(t, "1:4.12.0-2"), fakeResourceAgents(t, "1:4.12.0-3")
	for _, divert := range []bool{true, false} {
		t.Run(fmt.Sprintf("divert=%v", divert), func(t *testing.T) {
			root, dpkg := dpkgScratchRoot(t)
			dpkg("-i", shellV1)
			dpkg("-i", debPath(dist, version, pkgArches[0]))
			stock := filepath.Join(root, stockAgentPath)
			if divert {
				command(t, "", nil, "dpkg-divert", "--root="+root, "--local", "--rename", "--add", stockAgentPath)
			}
			command(t, "", nil, "install", "-m", "0755", filepath.Join(root, agentInstalled), stock)
			ours := readFile(t, filepath.Join(root, agentInstalled))

			dpkg("-i", shellV2) // an update of resource-agents
			got := readFile(t, stock)
			switch {
			case divert && !bytes.Equal(got, ours):
				t.Errorf("after the resource-agents update %s is not ours (%d bytes: %.40q)", stockAgentPath, len(got), got)
			case divert:
				if distrib := readFile(t, stock+".distrib"); !bytes.Contains(distrib, []byte("1:4.12.0-3")) {
					t.Errorf("the update's shell agent did not land in %s.distrib: %q", stockAgentPath, distrib)
				}
				if info, err := os.Stat(stock); err != nil || info.Mode().Perm() != 0o755 {
					t.Errorf("%s: %v, mode %v; want 0755", stockAgentPath, err, info.Mode())
				}
			case bytes.Equal(got, ours):
				t.Errorf("without the diversion the update kept ours: the README's reason for it is wrong")
			}
		})
	}
}

// fakeResourceAgents builds a package named resource-agents of the given version that
// installs a shell script at the heartbeat pgsql path naming that version.
func fakeResourceAgents(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	script := filepath.Join(tree, stockAgentPath)
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\n# the shell agent of resource-agents "+version+"\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tree, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := fmt.Sprintf("Package: resource-agents\nVersion: %s\nArchitecture: all\nMaintainer: pgsql-ra tests <tests@localhost>\nDescription: stand-in for the shell agents (test)\n", version)
	if err := os.WriteFile(filepath.Join(tree, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, "resource-agents.deb")
	command(t, "", nil, "dpkg-deb", "--root-owner-group", "--build", tree, deb)
	return deb
}

// stockAgentPath is where resource-agents installs the shell agent; the README's migration
// replaces this file with ours.
const stockAgentPath = "/usr/lib/ocf/resource.d/heartbeat/pgsql"
