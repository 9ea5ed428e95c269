package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fakes stand in for Debian's package tools: dpkg-query reports every package installed
// except those named in FAKE_MISSING; apt-get logs its arguments, whether policy-rc.d
// existed while it ran, and exits with FAKE_APT_INSTALL_RC for an install.
const fakeDpkgQuery = `#!/bin/sh
pkg=""
for a in "$@"; do pkg="$a"; done
for m in $FAKE_MISSING; do
  if [ "$m" = "$pkg" ]; then exit 1; fi
done
printf 'install ok installed'
`

const fakeAptGet = `#!/bin/sh
if [ -e "$INSTALL_DEPS_POLICY_RC_D" ]; then policy=present; else policy=absent; fi
echo "apt-get $* policy=$policy" >>"$FAKE_LOG"
case " $* " in
  *" install "*) exit "${FAKE_APT_INSTALL_RC:-0}" ;;
esac
exit 0
`

// TestInstallDepsScript runs test/install-deps.sh against fake package tools in both states
// a machine can be in: policy-rc.d already there (container-built machines) or not, and
// packages missing or all present. A fresh machine's first `make demo` once failed because
// the script's EXIT trap returned 1 when policy-rc.d already existed.
func TestInstallDepsScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the script refuses to install without root")
	}
	script, err := filepath.Abs("install-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	const existingPolicy = "#!/bin/sh\n# the machine's own\nexit 101\n"
	cases := []struct {
		name          string
		policyExisted bool
		missing       string
		installRC     string
		wantOK        bool
		wantInstall   bool
	}{
		{"policy present, packages missing", true, "strace rpm", "0", true, true},
		{"policy absent, packages missing", false, "strace rpm", "0", true, true},
		{"policy present, nothing missing", true, "", "0", true, false},
		{"policy absent, nothing missing", false, "", "0", true, false},
		{"policy present, install fails", true, "strace", "100", false, true},
		{"policy absent, install fails", false, "strace", "100", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			writeExecutable(t, filepath.Join(bin, "dpkg-query"), fakeDpkgQuery)
			writeExecutable(t, filepath.Join(bin, "apt-get"), fakeAptGet)
			policy := filepath.Join(dir, "policy-rc.d")
			if tc.policyExisted {
				writeExecutable(t, policy, existingPolicy)
			}
			pgCommon := filepath.Join(dir, "postgresql-common")
			aptLog := filepath.Join(dir, "apt.log")

			cmd := exec.Command("bash", script)
			cmd.Env = []string{
				"PATH=" + bin + ":/usr/bin:/bin",
				"INSTALL_DEPS_POLICY_RC_D=" + policy,
				"INSTALL_DEPS_PG_COMMON=" + pgCommon,
				"FAKE_MISSING=" + tc.missing,
				"FAKE_APT_INSTALL_RC=" + tc.installRC,
				"FAKE_LOG=" + aptLog,
			}
			out, err := cmd.CombinedOutput()
			if tc.wantOK && err != nil {
				t.Fatalf("install-deps.sh failed: %v\n%s", err, out)
			}
			if !tc.wantOK && err == nil {
				t.Fatalf("install-deps.sh succeeded although apt-get install failed:\n%s", out)
			}

			aptCalls, _ := os.ReadFile(aptLog)
			installed := strings.Contains(string(aptCalls), " install ")
			if installed != tc.wantInstall {
				t.Fatalf("apt-get install called: %v, want %v; calls:\n%s", installed, tc.wantInstall, aptCalls)
			}
			if tc.wantInstall {
				for _, p := range strings.Fields(tc.missing) {
					if !strings.Contains(string(aptCalls), p) {
						t.Errorf("apt-get was not asked for %s:\n%s", p, aptCalls)
					}
				}
				// Service starts stay blocked for the whole install, whoever made the file.
				if strings.Contains(string(aptCalls), "policy=absent") {
					t.Errorf("apt-get ran without policy-rc.d in place:\n%s", aptCalls)
				}
				conf, err := os.ReadFile(filepath.Join(pgCommon, "createcluster.conf"))
				if err != nil || !strings.Contains(string(conf), "create_main_cluster = false") {
					t.Errorf("createcluster.conf does not stop the main cluster: %q, %v", conf, err)
				}
			}

			got, err := os.ReadFile(policy)
			switch {
			case tc.policyExisted && (err != nil || string(got) != existingPolicy):
				t.Errorf("the machine's own policy-rc.d was changed or removed: %q, %v", got, err)
			case !tc.policyExisted && err == nil:
				t.Errorf("the policy-rc.d the script created was left behind")
			}
		})
	}
}

func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
