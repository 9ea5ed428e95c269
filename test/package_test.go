package test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pgsql-ra/pgsql-ra/metadata"
)

// The packages under test are the ones `make test` builds first (`make packages`): it sets
// PGSQL_RA_DIST to its dist/ directory and PGSQL_RA_PKG_VERSION to the package version.

const (
	agentInstalled = "/usr/lib/ocf/resource.d/cfengine/pgsql"
	manInstalled   = "/usr/share/man/man8/pgsql-ra.8.gz"
	docDir         = "/usr/share/doc/pgsql-ra"
	licenseDir     = "/usr/share/licenses/pgsql-ra"
	// pkgRelease is the packaging revision of both packages (nfpm.yaml's release).
	pkgRelease = "1"
)

// commonFiles is what both packages install, with its mode (all root:root).
var commonFiles = map[string]fs.FileMode{
	agentInstalled:        0o755,
	docDir + "/README.md": 0o644,
	manInstalled:          0o644,
}

// rpmFiles adds the license where rpm puts %license files.
var rpmFiles = withFiles(commonFiles, map[string]fs.FileMode{licenseDir + "/LICENSE": 0o644})

// debFiles adds Debian's copyright file and changelog, and lintian's overrides (#14).
var debFiles = withFiles(commonFiles, map[string]fs.FileMode{
	docDir + "/copyright":                   0o644,
	docDir + "/changelog.Debian.gz":         0o644,
	"/usr/share/lintian/overrides/pgsql-ra": 0o644,
})

// rpmOwnedDirs are the directories only this package fills; the rpm owns them (dpkg removes
// empty directories by itself).
var rpmOwnedDirs = []string{"/usr/lib/ocf/resource.d/cfengine", docDir, licenseDir}

func withFiles(base, extra map[string]fs.FileMode) map[string]fs.FileMode {
	out := map[string]fs.FileMode{}
	for _, m := range []map[string]fs.FileMode{base, extra} {
		for path, mode := range m {
			out[path] = mode
		}
	}
	return out
}

type pkgArch struct {
	goarch, rpmArch string
	machine         elf.Machine
	native          bool // the test machine can run the binary
}

var pkgArches = []pkgArch{
	{"amd64", "x86_64", elf.EM_X86_64, true},
	{"arm64", "aarch64", elf.EM_AARCH64, false},
}

// distPackages returns dist/ and the package version, or skips when the packages were not
// built for this run (a plain `go test ./...`).
func distPackages(t *testing.T) (dist, version string) {
	t.Helper()
	dist = os.Getenv("PGSQL_RA_DIST")
	if dist == "" {
		t.Skip("PGSQL_RA_DIST is unset: package tests run under `make test`, which builds dist/ first (or: make packages && PGSQL_RA_DIST=$PWD/dist go test ./test -run Package)")
	}
	version = os.Getenv("PGSQL_RA_PKG_VERSION")
	if version == "" {
		matches, _ := filepath.Glob(filepath.Join(dist, "pgsql-ra-*-1.x86_64.rpm"))
		if len(matches) != 1 {
			t.Fatalf("PGSQL_RA_PKG_VERSION unset and %d x86_64 rpms in %s: %v", len(matches), dist, matches)
		}
		version = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(matches[0]), "pgsql-ra-"), "-1.x86_64.rpm")
	}
	return dist, version
}

func rpmPath(dist, version string, a pkgArch) string {
	return filepath.Join(dist, fmt.Sprintf("pgsql-ra-%s-%s.%s.rpm", version, pkgRelease, a.rpmArch))
}

func debPath(dist, version string, a pkgArch) string {
	return filepath.Join(dist, fmt.Sprintf("pgsql-ra_%s_%s.deb", debVersion(version), a.goarch))
}

// debVersion is the .deb's version: the package version and the Debian revision.
func debVersion(version string) string {
	return version + "-" + pkgRelease
}

// command runs a tool and returns its stdout; a failure ends the test with its stderr.
func command(t *testing.T, dir string, stdin []byte, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := run(dir, stdin, nil, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stderr, stdout)
	}
	return stdout
}

// run runs a tool in the C locale, with env added to the test's environment, and returns
// what it wrote and how it exited.
func run(dir string, stdin []byte, env []string, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func sortedKeys(m map[string]fs.FileMode) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPackageNames: make packages built exactly the four packages, named as the issue asks.
func TestPackageNames(t *testing.T) {
	dist, version := distPackages(t)
	var want []string
	for _, a := range pkgArches {
		want = append(want, filepath.Base(rpmPath(dist, version, a)), filepath.Base(debPath(dist, version, a)))
	}
	sort.Strings(want)
	var got []string
	for _, pattern := range []string{"*.rpm", "*.deb"} {
		m, _ := filepath.Glob(filepath.Join(dist, pattern))
		for _, p := range m {
			got = append(got, filepath.Base(p))
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("packages in %s:\n%s\nwant:\n%s", dist, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.ContainsAny(version, "- ") || version == "" {
		t.Errorf("package version %q: must be non-empty, without hyphens or spaces", version)
	}
}

// TestPackageRPMContents: rpm -qlp lists exactly the packaged files and owned directories,
// with their modes and root ownership; docs and license are marked.
func TestPackageRPMContents(t *testing.T) {
	dist, version := distPackages(t)
	for _, a := range pkgArches {
		t.Run(a.rpmArch, func(t *testing.T) {
			pkg := rpmPath(dist, version, a)
			want := map[string]string{}
			for path, mode := range rpmFiles {
				want[path] = mode.String() + " root root"
			}
			for _, d := range rpmOwnedDirs {
				want[d] = (fs.ModeDir | 0o755).String() + " root root"
			}
			var wantList []string
			for path := range want {
				wantList = append(wantList, path)
			}
			sort.Strings(wantList)

			list := lines(command(t, "", nil, "rpm", "-qlp", pkg))
			if strings.Join(list, "\n") != strings.Join(wantList, "\n") {
				t.Errorf("rpm -qlp %s:\n%s\nwant:\n%s", pkg, strings.Join(list, "\n"), strings.Join(wantList, "\n"))
			}
			out := command(t, "", nil, "rpm", "-qp", "--qf", `[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]`, pkg)
			got := map[string]string{}
			for _, l := range lines(out) {
				f := strings.Fields(l)
				if len(f) != 4 {
					t.Fatalf("unexpected line %q", l)
				}
				got[f[3]] = strings.Join(f[:3], " ")
			}
			for path, w := range want {
				if got[path] != w {
					t.Errorf("%s: %q, want %q", path, got[path], w)
				}
			}
			docs := lines(command(t, "", nil, "rpm", "-qdp", pkg))
			if strings.Join(docs, " ") != docDir+"/README.md "+manInstalled {
				t.Errorf("rpm -qdp: %v", docs)
			}
			if lic := lines(command(t, "", nil, "rpm", "-qLp", pkg)); strings.Join(lic, " ") != licenseDir+"/LICENSE" {
				t.Errorf("rpm -qLp: %v", lic)
			}
		})
	}
}

// TestPackageRPMInfo: rpm -qip shows name, version (release 1), license, architecture and
// URL; the only dependencies are weak ones.
func TestPackageRPMInfo(t *testing.T) {
	dist, version := distPackages(t)
	for _, a := range pkgArches {
		t.Run(a.rpmArch, func(t *testing.T) {
			pkg := rpmPath(dist, version, a)
			info := map[string]string{}
			sc := bufio.NewScanner(strings.NewReader(command(t, "", nil, "rpm", "-qip", pkg)))
			for sc.Scan() {
				k, v, ok := strings.Cut(sc.Text(), ":")
				if ok && !strings.HasPrefix(k, " ") && len(k) > 0 {
					if _, seen := info[strings.TrimSpace(k)]; !seen {
						info[strings.TrimSpace(k)] = strings.TrimSpace(v)
					}
				}
			}
			for k, want := range map[string]string{
				"Name": "pgsql-ra", "Version": version, "Release": pkgRelease, "License": "GPL-2.0-or-later",
				"Architecture": a.rpmArch, "URL": "https://github.com/pgsql-ra/pgsql-ra",
			} {
				if info[k] != want {
					t.Errorf("rpm -qip %s: %s = %q, want %q", filepath.Base(pkg), k, info[k], want)
				}
			}
			for _, r := range lines(command(t, "", nil, "rpm", "-qp", "--requires", pkg)) {
				if !strings.HasPrefix(r, "rpmlib(") {
					t.Errorf("hard dependency %q: the agent is static; use weak dependencies", r)
				}
			}
			if got := lines(command(t, "", nil, "rpm", "-qp", "--recommends", pkg)); strings.Join(got, " ") != "pacemaker-cli" {
				t.Errorf("recommends: %v, want pacemaker-cli", got)
			}
			if got := lines(command(t, "", nil, "rpm", "-qp", "--suggests", pkg)); strings.Join(got, " ") != "postgresql-server" {
				t.Errorf("suggests: %v, want postgresql-server", got)
			}
		})
	}
}

// TestPackageDebContents: dpkg-deb -c lists exactly the packaged files (modes, root:root)
// and no directory but their parents; the control fields are right.
func TestPackageDebContents(t *testing.T) {
	dist, version := distPackages(t)
	for _, a := range pkgArches {
		t.Run(a.goarch, func(t *testing.T) {
			pkg := debPath(dist, version, a)
			wantDirs := map[string]bool{}
			for path := range debFiles {
				for d := filepath.Dir(path); d != "/"; d = filepath.Dir(d) {
					wantDirs[d] = true
				}
			}
			files := map[string]string{}
			for _, l := range lines(command(t, "", nil, "dpkg-deb", "-c", pkg)) {
				// drwxr-xr-x root/root         0 2026-11-22 03:44 ./usr/
				f := strings.Fields(l)
				if len(f) != 6 {
					t.Fatalf("unexpected dpkg-deb -c line %q", l)
				}
				perms, owner, path := f[0], f[1], "/"+strings.Trim(strings.TrimPrefix(f[5], "."), "/")
				// nfpm writes the changelog it generates with numeric ids only.
				if owner != "root/root" && owner != "0/0" {
					t.Errorf("%s: owner %s", path, owner)
				}
				switch perms[0] {
				case 'd':
					if !wantDirs[path] {
						t.Errorf("unexpected directory %s", path)
					}
					if perms != (fs.ModeDir | 0o755).String() {
						t.Errorf("%s: %s", path, perms)
					}
					delete(wantDirs, path)
				case '-':
					files[path] = perms
				default:
					t.Errorf("unexpected entry %q", l)
				}
			}
			var got []string
			for path := range files {
				got = append(got, path)
			}
			sort.Strings(got)
			if want := sortedKeys(debFiles); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("dpkg-deb -c %s files:\n%s\nwant:\n%s", filepath.Base(pkg), strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for path, mode := range debFiles {
				if files[path] != "" && files[path] != mode.String() {
					t.Errorf("%s: %s, want %s", path, files[path], mode)
				}
			}
			if len(wantDirs) != 0 {
				t.Errorf("directories missing: %v", wantDirs)
			}

			control := command(t, "", nil, "dpkg-deb", "-f", pkg, "Package", "Version", "Architecture", "Depends", "Recommends", "Suggests", "Homepage")
			want := fmt.Sprintf("Package: pgsql-ra\nVersion: %s\nArchitecture: %s\nRecommends: pacemaker-cli-utils\nSuggests: postgresql\nHomepage: https://github.com/pgsql-ra/pgsql-ra\n", debVersion(version), a.goarch)
			if control != want {
				t.Errorf("control fields:\n%s\nwant (no Depends):\n%s", control, want)
			}
		})
	}
}

// requirePackageRoot: installing into a scratch root sets file owners, which needs root.
func requirePackageRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: rpm and dpkg set owners when they install into a scratch root")
	}
}

// packageTool drives rpm or dpkg in a scratch root (its own package database).
type packageTool struct {
	name  string
	files map[string]fs.FileMode // what the package installs
	path  func(dist, version string) string
	// version is the full version the tool reports for the installed package.
	version          func(version string) string
	install, upgrade func(pkg string)
	installed        func() string // the installed version; fails the test if none
	remove           func()
	leftovers        func() []string // the tool's own records of the package after remove
}

// TestPackageRPMInstall installs each rpm into a scratch root with rpm --root, upgrades it
// to a newer build with -U and erases it (testInstallUpgradeRemove).
func TestPackageRPMInstall(t *testing.T) {
	dist, version := distPackages(t)
	requirePackageRoot(t)
	for _, a := range pkgArches {
		t.Run(a.rpmArch, func(t *testing.T) {
			root := t.TempDir()
			inRoot := []string{"--root", root, "--dbpath", "/var/lib/rpm"}
			rpm := func(args ...string) string {
				return command(t, "", nil, "rpm", append(inRoot, args...)...)
			}
			rpm("--initdb")
			flags := []string{"--nodeps", "--nosignature"}
			if !a.native {
				flags = append(flags, "--ignorearch")
			}
			testInstallUpgradeRemove(t, root, dist, version, a, packageTool{
				name:    "rpm",
				files:   rpmFiles,
				path:    func(dist, version string) string { return rpmPath(dist, version, a) },
				version: func(v string) string { return v + "-" + pkgRelease },
				install: func(pkg string) { rpm(append(append([]string{"-i"}, flags...), pkg)...) },
				upgrade: func(pkg string) { rpm(append(append([]string{"-U"}, flags...), pkg)...) },
				installed: func() string {
					// One line per installed instance: an upgrade must replace, not add.
					got := strings.TrimSpace(rpm("-q", "--qf", "%{VERSION}-%{RELEASE}\n", "pgsql-ra"))
					rpm("-V", "pgsql-ra")
					return got
				},
				remove: func() { rpm("-e", "--nodeps", "pgsql-ra") },
				leftovers: func() []string {
					if out, _, err := run("", nil, nil, "rpm", append(inRoot, "-q", "pgsql-ra")...); err == nil {
						return []string{"rpm -q: " + out}
					}
					return nil
				},
			})
		})
	}
}

// TestPackageDebInstall installs each .deb with dpkg --root into a scratch root whose dpkg
// admin directory is initialised by hand (an empty status file, info/ and updates/),
// upgrades it to a newer build with dpkg -i and purges it (testInstallUpgradeRemove).
func TestPackageDebInstall(t *testing.T) {
	dist, version := distPackages(t)
	requirePackageRoot(t)
	for _, a := range pkgArches {
		t.Run(a.goarch, func(t *testing.T) {
			root, dpkg := dpkgScratchRoot(t)
			install := []string{"-i"}
			if !a.native {
				install = append(install, "--force-architecture")
			}
			testInstallUpgradeRemove(t, root, dist, version, a, packageTool{
				name:    "dpkg",
				files:   debFiles,
				path:    func(dist, version string) string { return debPath(dist, version, a) },
				version: debVersion,
				install: func(pkg string) { dpkg(append(install, pkg)...) },
				upgrade: func(pkg string) { dpkg(append(install, pkg)...) },
				installed: func() string {
					status := dpkg("-s", "pgsql-ra")
					if !strings.Contains(status, "Status: install ok installed\n") {
						t.Errorf("dpkg -s:\n%s", status)
					}
					_, v, _ := strings.Cut(status, "\nVersion: ")
					v, _, _ = strings.Cut(v, "\n")
					return v
				},
				remove: func() { dpkg("-P", "pgsql-ra") },
				leftovers: func() []string {
					left, _ := filepath.Glob(filepath.Join(root, "var/lib/dpkg/info/pgsql-ra.*"))
					if out := dpkg("-l"); strings.Contains(out, "pgsql-ra") {
						left = append(left, "dpkg -l: "+out)
					}
					return left
				},
			})
		})
	}
}

// dpkgScratchRoot is an empty root with a dpkg admin directory initialised by hand (an empty
// status file, info/ and updates/), and dpkg run on it.
func dpkgScratchRoot(t *testing.T) (root string, dpkg func(args ...string) string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, func(args ...string) string {
		return command(t, "", nil, "dpkg", append([]string{"--root=" + root}, args...)...)
	}
}

// testInstallUpgradeRemove installs the package under test into root and checks what it put
// there (checkInstalled), upgrades it to a newer build (newerPackages) and checks that the
// newer files replaced the old ones, then removes it and checks that nothing of it is left.
func testInstallUpgradeRemove(t *testing.T, root, dist, version string, a pkgArch, pt packageTool) {
	t.Helper()
	pt.install(pt.path(dist, version))
	if got := pt.installed(); got != pt.version(version) {
		t.Errorf("%s: installed version %q, want %q", pt.name, got, pt.version(version))
	}
	checkInstalled(t, root, dist, a, pt.files)

	newDist, newVersion := newerPackages(t, version)
	agent := filepath.Join(root, agentInstalled)
	if bytes.Equal(readFile(t, agent), readFile(t, filepath.Join(newDist, "linux-"+a.goarch, "pgsql-ra"))) {
		t.Fatalf("the newer build's agent equals the installed one: the upgrade would prove nothing")
	}
	pt.upgrade(pt.path(newDist, newVersion))
	if got := pt.installed(); got != pt.version(newVersion) {
		t.Errorf("%s: version after the upgrade %q, want %q", pt.name, got, pt.version(newVersion))
	}
	checkInstalled(t, root, newDist, a, pt.files)
	if a.native {
		if out := command(t, "", nil, agent, "--version"); !strings.Contains(out, newVersion) {
			t.Errorf("upgraded agent --version: %q, want %s", out, newVersion)
		}
	}

	pt.remove()
	for _, path := range append(sortedKeys(pt.files), rpmOwnedDirs...) {
		if _, err := os.Lstat(filepath.Join(root, path)); err == nil {
			t.Errorf("%s left behind by %s's remove", path, pt.name)
		}
	}
	if left := pt.leftovers(); len(left) != 0 {
		t.Errorf("%s still knows the package after its remove: %v", pt.name, left)
	}
}

// newer holds the packages newerPackages builds once per test run (TestMain removes them).
var newer struct {
	once          sync.Once
	dist, version string
	err           error
}

// newerPackages builds packages of a version above the one under test, for the upgrade
// tests: the Makefile's own `rpm deb` rules with VERSION set to it and DIST and BIN pointed
// into a temporary directory, so the binaries, the man page and nfpm's run are the ones
// `make packages` does. Its agent reports the newer version.
func newerPackages(t *testing.T, version string) (dist, newVersion string) {
	t.Helper()
	newer.once.Do(func() {
		dir, err := os.MkdirTemp("", "pgsql-ra-newer-")
		if err != nil {
			newer.err = err
			return
		}
		newer.dist, newer.version = dir, version+"+1" // sorts after version for rpm and dpkg
		stdout, stderr, err := run("..", nil, nil, "make", "--no-print-directory", "rpm", "deb",
			"VERSION="+newer.version, "DIST="+dir, "BIN="+filepath.Join(dir, "bin", "pgsql-ra"))
		if err != nil {
			newer.err = fmt.Errorf("make rpm deb VERSION=%s: %v\n%s%s", newer.version, err, stderr, stdout)
		}
	})
	if newer.err != nil {
		t.Fatal(newer.err)
	}
	return newer.dist, newer.version
}

// checkInstalled checks what a package put below root: modes and owners, the agent is the
// static binary built for the architecture, and (on this machine's architecture) it gives
// valid meta-data; the man page renders without a warning. files are what the package
// installs, dist holds the binary and man page it was built from.
func checkInstalled(t *testing.T, root, dist string, a pkgArch, files map[string]fs.FileMode) {
	t.Helper()
	for path, mode := range files {
		info, err := os.Lstat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		st := info.Sys().(*syscall.Stat_t)
		if info.Mode() != mode || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: %v %d:%d, want %v 0:0", path, info.Mode(), st.Uid, st.Gid, mode)
		}
	}
	agent := filepath.Join(root, agentInstalled)
	sameFile(t, agent, filepath.Join(dist, "linux-"+a.goarch, "pgsql-ra"))
	sameFile(t, filepath.Join(root, manInstalled), filepath.Join(dist, "pgsql-ra.8.gz"))

	f, err := elf.Open(agent)
	if err != nil {
		t.Fatalf("agent is not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Machine != a.machine {
		t.Errorf("agent built for %v, want %v", f.Machine, a.machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("agent is dynamically linked (%v): it must be static", p.Type)
		}
	}

	if a.native {
		xml := command(t, "/usr/share/resource-agents", nil, agent, "meta-data")
		command(t, "/usr/share/resource-agents", []byte(xml), "xmllint", "--noout", "--valid", "-")
		command(t, "/usr/share/resource-agents", []byte(xml), "xmllint", "--noout", "--relaxng", "metadata.rng", "-")
		if !strings.Contains(xml, `<resource-agent name="pgsql"`) {
			t.Errorf("meta-data:\n%s", xml)
		}
	}
	renderManPage(t, filepath.Join(root, manInstalled))
}

func sameFile(t *testing.T, got, want string) {
	t.Helper()
	if !bytes.Equal(readFile(t, got), readFile(t, want)) {
		t.Errorf("%s differs from %s", got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renderManPage: man -l formats the installed page with no groff warning (--warnings=w: all
// categories) at 80 columns, with every parameter in it.
func renderManPage(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("man"); err != nil {
		t.Fatalf("man is missing (test/install-deps.sh installs man-db)")
	}
	cmd := exec.Command("man", "--warnings=w", "-l", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() != 0 {
		t.Fatalf("man -l %s: %v\n%s", path, err, stderr.String())
	}
	text := stdout.String()
	if !strings.HasPrefix(text, "PGSQL-RA(8)") {
		t.Errorf("man page header: %q", strings.SplitN(text, "\n", 2)[0])
	}
	for _, p := range metadata.Params {
		if !strings.Contains(text, p.Name) {
			t.Errorf("rendered man page lacks parameter %s", p.Name)
		}
	}
}

// TestPackageLint: the packages as distributions judge them (#14). lintian finds no error
// in the .debs (its overrides ship inside them, /usr/share/lintian/overrides/pgsql-ra), and
// rpmlint none in the rpms with the repository's filters (packaging/rpmlintrc; a filter that
// matches nothing is itself an error). Warnings are logged.
func TestPackageLint(t *testing.T) {
	dist, version := distPackages(t)
	// rpmlint unpacks an rpm with `rpm2cpio | cpio -id` in a scratch directory, but nfpm's
	// payload names are absolute (/usr/...), which GNU cpio extracts below / unless told
	// --no-absolute-filenames: rpmlint would then write our files into this machine's root
	// and check an empty directory. A cpio first on PATH adds the flag.
	realCpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Fatalf("cpio is missing (rpmlint needs it): %v", err)
	}
	bin := t.TempDir()
	writeExecutable(t, filepath.Join(bin, "cpio"), "#!/bin/sh\nexec "+realCpio+" --no-absolute-filenames \"$@\"\n")
	rpmlintEnv := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	rpmlintrc, err := filepath.Abs("../packaging/rpmlintrc")
	if err != nil {
		t.Fatal(err)
	}

	for _, a := range pkgArches {
		t.Run(a.goarch, func(t *testing.T) {
			checkLint(t, nil, "lintian", debPath(dist, version, a))
			checkLint(t, rpmlintEnv, "rpmlint", "-r", rpmlintrc, rpmPath(dist, version, a))
		})
	}
}

// checkLint runs a package checker and fails on its exit status or on any error it reports
// (lintian's "E: pkg: tag", rpmlint's "pkg.arch: E: tag").
func checkLint(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is missing (test/install-deps.sh installs it)", name)
	}
	stdout, stderr, err := run("", nil, env, name, args...)
	var errs []string
	for _, l := range lines(stdout) {
		switch {
		case strings.HasPrefix(l, "E: ") || strings.Contains(l, ": E: "):
			errs = append(errs, l)
		case strings.HasPrefix(l, "W: ") || strings.Contains(l, ": W: "):
			t.Logf("%s: %s", name, l)
		}
	}
	if err != nil || len(errs) != 0 {
		t.Errorf("%s %s: %v, errors:\n%s\n%s%s", name, strings.Join(args, " "), err, strings.Join(errs, "\n"), stdout, stderr)
	}
}

// TestPackagePcsDescribe: pcs renders the installed agent's meta-data (it asks Pacemaker
// for it; no cluster needs to run), with every parameter of the table listed once under
// "Resource options" with its description, and no warning.
func TestPackagePcsDescribe(t *testing.T) {
	if _, err := os.Stat(agentInstalled); err != nil {
		t.Skipf("the agent is not installed at %s (make test installs the .deb first: make install-deb)", agentInstalled)
	}
	if _, err := exec.LookPath("pcs"); err != nil {
		t.Fatalf("pcs is missing (test/install-deps.sh installs it)")
	}
	stdout, stderr, err := run("", nil, nil, "pcs", "resource", "describe", "ocf:cfengine:pgsql")
	if err != nil || stderr != "" {
		t.Fatalf("pcs resource describe ocf:cfengine:pgsql: %v\n%s%s", err, stderr, stdout)
	}
	if !strings.HasPrefix(stdout, "ocf:cfengine:pgsql - ") {
		t.Errorf("pcs resource describe header: %q", strings.SplitN(stdout, "\n", 2)[0])
	}
	_, options, ok := strings.Cut(stdout, "\nResource options:\n")
	if !ok {
		t.Fatalf("no Resource options in pcs resource describe:\n%s", stdout)
	}
	options, _, _ = strings.Cut(options, "\n\n")
	described := map[string]int{}
	for _, l := range strings.Split(options, "\n") {
		// "  pgctl: Path of pg_ctl. ..." or "  name (required): ..." (a parameter); deeper
		// indents continue one.
		if head, desc, ok := strings.Cut(strings.TrimPrefix(l, "  "), ": "); ok && !strings.HasPrefix(l, "   ") {
			name := strings.Fields(head + " ")[0]
			described[name]++
			if strings.TrimSpace(desc) == "" {
				t.Errorf("pcs shows parameter %s without a description", name)
			}
		}
	}
	for _, p := range metadata.Params {
		if described[p.Name] != 1 {
			t.Errorf("pcs resource describe lists parameter %s %d times, want once", p.Name, described[p.Name])
		}
		delete(described, p.Name)
	}
	if len(described) != 0 {
		t.Errorf("pcs resource describe lists parameters the table does not have: %v", described)
	}
}
