#!/usr/bin/env bash
# Installs, non-interactively, every Debian package that building, testing and the lab need.
# Idempotent: packages already present are not touched, so a warm machine pays ~0.1 s.
# Service starts are blocked while packages install (a temporary policy-rc.d), and no
# PostgreSQL "main" cluster is created: tests initdb their own clusters.
# test/installdeps_test.go runs this script with a fake apt-get and dpkg-query on PATH and
# the two paths below pointed into a scratch directory.
set -euo pipefail

policy=${INSTALL_DEPS_POLICY_RC_D:-/usr/sbin/policy-rc.d}
pg_common=${INSTALL_DEPS_PG_COMMON:-/etc/postgresql-common}

packages=(
  postgresql-15          # server binaries: initdb, pg_ctl, pg_controldata, pg_basebackup
  postgresql-client-15
  pacemaker              # the two-node lab
  pacemaker-cli-utils    # crm_attribute, crm_mon, crm_resource
  corosync
  resource-agents        # ocf-tester, stock pgsql agent, ra-api-1.dtd, metadata.rng
  resource-agents-paf    # PAF (ocf:heartbeat:pgsqlms): the lab's second baseline (make bench)
  libxml2-utils          # xmllint (ocf-tester needs it; resource-agents does not pull it in)
  iproute2               # ip netns for the lab
  util-linux             # unshare, nsenter
  procps                 # ps, pgrep (used by the stock agent)
  rpm                    # rpm -qlp / --root for package tests
  man-db                 # man -l for the man page test
  lintian                # package tests: lintian judges the .deb
  rpmlint                # package tests: rpmlint judges the .rpm
  pcs                    # package tests: pcs resource describe renders the installed agent
  strace                 # counting the child processes an action spawns
  gnuplot-nox            # make bench: the failover chart (4 small packages without recommends)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

created_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=yes
fi
# The trap's status becomes the script's: it must not fail when there is nothing to remove
# (a policy-rc.d that was already there, as on container-built machines, is left alone).
cleanup() {
  if [ "$created_policy" = yes ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

# Keep postgresql-common from creating the "main" cluster on a fresh install.
mkdir -p "$pg_common"
if [ ! -e "$pg_common/createcluster.conf" ] ||
   ! grep -q '^create_main_cluster *= *false' "$pg_common/createcluster.conf"; then
  echo 'create_main_cluster = false' >>"$pg_common/createcluster.conf"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null >/dev/null
echo "install-deps: done"
