#!/usr/bin/env bash
# F10's big-machine figures in one call of the lent device machine (DEVELOPERS.md "A bigger machine"),
# about 6 minutes on 16 cores. Prepare here: `npm ci && bash bench/device/bundle.sh` (~6 min); then
# the device tool's run with carry [".device"], timeout_s 600:
#   bash .device/run.sh bash bench/device/f10.sh
# Reports come back under $OUT: cloud on all cores and on 8 (taskset), the edge against the bare echo
# (stitched --no-mosquitto: the device machine has no Mosquitto) on all cores, 8 and 4. Put them
# beside the 2-core ones as bench/reports/<name>-<N>-cores.md, saying where they come from.
set -uo pipefail
out=${OUT:-/tmp/f10-out}
mkdir -p "$out"
cores=$(nproc)
tsx=node_modules/.bin/tsx
step() { # step <report name> <cpu list> <bench args...>: one bench, its report and log kept under $out
  local name=$1 cpus=$2 bench=$3
  shift 2
  echo "== $(date -u +%T) $name: taskset -c $cpus $*"
  taskset -c "$cpus" "$tsx" bench/run.ts "$@" > "$out/$name.log" 2>&1
  echo "   rc $? ($(tail -1 "$out/$name.log"))"
  cp "bench/reports/$bench.md" "$out/$name.md" 2>/dev/null
  cp "bench/reports/$bench.json" "$out/$name.json" 2>/dev/null
}
all="0-$((cores - 1))"
step cloud-$cores-cores "$all" cloud --rounds 1 --seconds 3
step stitched-$cores-cores "$all" stitched --no-mosquitto --rounds 2 --seconds 3
[ "$cores" -gt 8 ] && step cloud-8-cores 0-7 cloud --rounds 1 --seconds 3
[ "$cores" -gt 8 ] && step stitched-8-cores 0-7 stitched --no-mosquitto --rounds 2 --seconds 3
[ "$cores" -gt 4 ] && step stitched-4-cores 0-3 stitched --no-mosquitto --rounds 2 --seconds 3
uptime > "$out/uptime.txt"
ls -la "$out"
