#!/usr/bin/env bash
# Measures the figures the foundation issue asks for (nothing here is asserted):
# binary size, wall time of meta-data and of a monitor on a running instance (median of 50),
# and the child processes a monitor spawns. Needs root (initdb as postgres) and strace.
# usage: test/figures.sh path/to/pgsql-ra
set -euo pipefail
agent=$(readlink -f "${1:?usage: figures.sh AGENT}")
pgbin=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
runs=${RUNS:-50}

dir=$(mktemp -d /var/tmp/pgsql-ra-figures-XXXXXX)
chmod 755 "$dir"; chown postgres "$dir"
cleanup() {
  env "${agent_env[@]}" "$agent" stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
port=$((40000 + RANDOM % 20000))
agent_env=(OCF_RESOURCE_INSTANCE=figures OCF_RESKEY_CRM_meta_timeout=20000 OCF_RESKEY_CRM_meta_interval=10000
  OCF_RESKEY_pgctl="$pgbin/pg_ctl" OCF_RESKEY_pgdata="$dir/data" OCF_RESKEY_socketdir="$dir"
  OCF_RESKEY_pgport="$port" OCF_RESKEY_logfile="$dir/pg.log")
trap cleanup EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$dir/data" -A peer --no-sync >/dev/null
printf "unix_socket_directories = '%s'\nlisten_addresses = ''\n" "$dir" >>"$dir/data/postgresql.conf"
env "${agent_env[@]}" "$agent" start </dev/null >/dev/null 2>&1

# median_ms CMD...: median wall time of RUNS runs, in milliseconds.
median_ms() {
  local times=() start end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" </dev/null >/dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

echo "binary size:            $(stat -c %s "$agent") bytes"
echo "meta-data, median of $runs: $(median_ms "$agent" meta-data) ms"
echo "monitor,   median of $runs: $(median_ms env "${agent_env[@]}" "$agent" monitor) ms"
trace="$dir/trace"
env "${agent_env[@]}" strace -f -qq -e trace=execve -e signal=none -o "$trace" "$agent" monitor </dev/null >/dev/null 2>&1 || true
echo "monitor child processes: $(( $(grep -c 'execve(.*= 0' "$trace") - 1 ))"
