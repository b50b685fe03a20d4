#!/bin/bash
# bench/history.sh BUILD_DIR [--sampler-only]: the history numbers.  The store's (a simulated day of 200 processes,
# a 1,000-process sample set, a 24 h query) come from history_bench; the sampler's CPU is measured on
# 1,000 real processes: memscoped's CPU time (utime + stime) over 60 s with a 10 s interval, less an
# idle memscoped's (--sample-interval 0) over the same time.  Loopback only; everything it starts
# it stops.
set -euo pipefail
build=${1:?usage: bench/history.sh BUILD_DIR}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

[[ ${2:-} == --sampler-only ]] || "$build/bench/history_bench" "$tmp"

# 1,000 processes that hold still (their stdin is a pipe that stays open until the end).
mkfifo "$tmp/hold"
exec 3<>"$tmp/hold"
for _ in $(seq 1000); do
  "$build/tests/memscope-history-subject" flat <&3 >/dev/null &
  pids+=($!)
done

ticks=$(getconf CLK_TCK)
cpu_over() {   # cpu_over INTERVAL: memscoped's CPU seconds over 60 s, after one round
  "$build/server/memscoped" --listen 127.0.0.1:0 --data-dir "$tmp/store-$1" --sample-interval "$1" 2>"$tmp/log-$1" &
  local m=$!
  pids+=("$m")
  sleep 12
  local a b
  a=$(awk '{print $14 + $15}' "/proc/$m/stat")
  sleep 60
  b=$(awk '{print $14 + $15}' "/proc/$m/stat")
  kill "$m"
  wait "$m" 2>/dev/null || true
  echo "scale=3; ($b - $a) / $ticks" | bc
}
busy=$(cpu_over 10s)
idle=$(cpu_over 0)
echo "sampler_1000_cpu_60s ${busy} s (idle memscoped ${idle} s)"
echo "sampler_1000_share $(echo "scale=3; ($busy - $idle) * 100 / 60" | bc) % of one core"
exec 3>&-
