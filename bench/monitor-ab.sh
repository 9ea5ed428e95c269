#!/bin/bash
# monitor-ab.sh BASE: the CPU and wall time of our standby's monitor, built from BASE (a
# commit) and from the work tree, in one lab, on one standby, with one captured environment
# (the bench's way: a real recurring monitor's), in alternating rounds whose order flips every
# round. make bench compares agents across days; this compares two builds on the same day,
# which tells a change in the code from a change in the machine (issue #10).
#
# Environment: ROUNDS (default 6), CALLS per round and build (default 200). Writes
# bench/results/monitor-ab-<date>-<HHMM>.md (table per round, medians, paired differences).
set -euo pipefail
base=${1:?usage: monitor-ab.sh BASE-COMMIT}
rounds=${ROUNDS:-6} calls=${CALLS:-200}
repo=$(cd "$(dirname "$0")/.." && pwd)
lab=$repo/test/lab/lab
work=/var/tmp/pgsql-ra-ab # /var/tmp is the host's inside the lab's nodes too
export LAB_NAME=pgsql-ra-ab LAB_DIR=$work/lab
agent=/usr/lib/ocf/resource.d/cfengine/pgsql
stamp=$(date -u +%Y-%m-%d-%H%M)
out=$repo/bench/results/monitor-ab-$stamp.md

rm -rf "$work" && mkdir -p "$work"
tree=$(mktemp -d /var/tmp/pgsql-ra-ab-base.XXXXXX)
trap 'git -C "$repo" worktree remove --force "$tree" 2>/dev/null || true' EXIT
git -C "$repo" worktree add -q --detach "$tree" "$base"
build() { (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$2" ./cmd/pgsql-ra); }
build "$tree" "$work/agent-base"
build "$repo" "$work/agent-head"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/helper" ./test/labctl)

"$lab" up --nodes 2 --agent ours
trap '"$lab" down || true; git -C "$repo" worktree remove --force "$tree" 2>/dev/null || true' EXIT
"$lab" pg-init
"$lab" load-cib
healthy() { "$lab" exec node1 crm_mon -1 | grep -q 'Promoted: \[ node1 \]' && "$lab" exec node1 crm_mon -1 | grep -q 'Unpromoted: \[ node2 \]'; }
for _ in $(seq 60); do healthy && break; sleep 2; done
healthy || { echo "monitor-ab: the lab did not settle to node1 PRI, node2 HS" >&2; exit 1; }
sleep 10 # node2 streams and its attributes are written: the steady state being measured

# The environment of Pacemaker's next recurring monitor of node2 (test/labkit/bench.go's wrapper).
cat >"$work/wrap" <<EOF
#!/bin/sh
if [ "\$1" = monitor ] && [ "\${OCF_RESKEY_CRM_meta_interval:-0}" != 0 ]; then
  env -0 >$work/env-node2.tmp && mv $work/env-node2.tmp $work/env-node2
fi
exec unshare --mount --propagation private sh -c 'umount "\$0" && exec "\$0" "\$@"' $agent "\$@"
EOF
chmod 755 "$work/wrap"
"$lab" exec node2 mount --bind "$work/wrap" "$agent"
for _ in $(seq 30); do [ -f "$work/env-node2" ] && break; sleep 1; done
"$lab" exec node2 umount "$agent"
[ -f "$work/env-node2" ] || { echo "monitor-ab: no monitor environment captured on node2" >&2; exit 1; }

for r in $(seq "$rounds"); do
  order="base head"
  [ $((r % 2)) = 0 ] && order="head base"
  for v in $order; do
    "$lab" exec node2 env LABKIT_HELPER=bench-monitor BENCH_HELPER_DIR="$work" BENCH_HELPER_NODE=node2 BENCH_HELPER_AGENT="$work/agent-$v" \
      BENCH_HELPER_CALLS="$calls" BENCH_HELPER_STRACE_CALLS=0 "$work/helper" >/dev/null
    mv "$work/monitor-node2.jsonl" "$work/round$r-$v.jsonl"
  done
done

python3 - "$work" "$rounds" "$base" "$(git -C "$repo" describe --always --dirty)" "$stamp" >"$out" <<'EOF'
import json, statistics, sys
work, rounds, base, head, stamp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def load(r, v):
    calls = [json.loads(l) for l in open(f"{work}/round{r}-{v}.jsonl")]
    bad = [c["rc"] for c in calls if c["rc"] != 0]
    if bad:
        sys.exit(f"monitor-ab: round {r} {v}: monitors returned {sorted(set(bad))}")
    return [c["cpu_ms"] for c in calls], [c["wall_ms"] for c in calls]
rows, diffs, base_p50, every = [], [], [], {"base": ([], []), "head": ([], [])}
for r in range(1, rounds + 1):
    p50 = {}
    for v in ("base", "head"):
        cpu, wall = load(r, v)
        every[v][0].extend(cpu); every[v][1].extend(wall)
        p50[v] = (statistics.median(cpu), statistics.median(wall))
    diffs.append(p50["head"][0] - p50["base"][0])
    base_p50.append(p50["base"][0])
    rows.append(f"| {r} | {'base, head' if r % 2 else 'head, base'} | {p50['base'][0]:.2f} | {p50['head'][0]:.2f} | "
                f"{diffs[-1]:+.2f} | {p50['base'][1]:.2f} | {p50['head'][1]:.2f} |")
print(f"# Standby monitor, two builds in one lab, {stamp[:10]} {stamp[11:13]}:{stamp[13:]} UTC\n")
print(f"base {base}, head {head}; {rounds} rounds of {len(load(1, 'base')[0])} calls per build, "
      "on node2 streaming from node1 (ours, two-node lab), the environment of a real recurring monitor; "
      "CPU is user + system of the call and its children (wait4). Written by bench/monitor-ab.sh.\n")
print("| round | order | base CPU p50 ms | head CPU p50 ms | head − base | base wall p50 ms | head wall p50 ms |")
print("|---|---|---|---|---|---|---|")
print("\n".join(rows))
b, h = every["base"], every["head"]
print(f"\nAll calls: CPU p50 base {statistics.median(b[0]):.2f} ms, head {statistics.median(h[0]):.2f} ms; "
      f"wall p50 base {statistics.median(b[1]):.2f} ms, head {statistics.median(h[1]):.2f} ms. "
      f"Paired difference of the round medians (head − base): median {statistics.median(diffs):+.2f} ms, "
      f"range {min(diffs):+.2f} to {max(diffs):+.2f} ms; base's round medians {min(base_p50):.2f}–{max(base_p50):.2f} ms.")
EOF
echo "monitor-ab: $out"
