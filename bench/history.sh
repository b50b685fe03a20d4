#!/bin/bash
# bench/history.sh BUILD_DIR [--sampler-only | --diff-only]: the history numbers.  The store's (a
# simulated day of 200 processes, a 1,000-process sample set, a 24 h query) come from history_bench;
# the cost of a diff is measured on the 10,000-region subject against the cost of reading its smaps,
# in turns in the same run; the sampler's CPU is measured on 1,000 real processes: memscoped's CPU
# time (utime + stime) over 60 s with a 10 s interval, less an idle memscoped's (--sample-interval 0)
# over the same time (bench/cheap.sh measures the sampler thread alone).  Loopback only; everything
# it starts it stops.
set -euo pipefail
build=${1:?usage: bench/history.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

[[ -n ${2:-} ]] || "$build/bench/history_bench" "$tmp"

# diff of the 10,000-region subject: two snapshots of it (from -> to), and one against now (which
# reads smaps), each against a plain read of its smaps (open, 1 MiB reads to the end), taking turns.
diff_cost() {
  mkfifo "$tmp/hold-diff"
  exec 4<>"$tmp/hold-diff"
  "$build/tests/memscope-subject" --regions 10000 --pages 2048 --write 1024 <&4 >"$tmp/subject.json" &
  pids+=($!)
  "$build/server/memscoped" --listen 127.0.0.1:0 --data-dir "$tmp/store-diff" --sample-interval 0 2>"$tmp/log-diff" &
  local m=$!
  pids+=("$m")
  python3 - "$build/bench/msbench" "$tmp/subject.json" "$tmp/log-diff" <<'PY'
import json, os, re, statistics, subprocess, sys, time, urllib.request
msbench, subj, logf = sys.argv[1:4]
for _ in range(300):
    if os.path.getsize(subj) > 0 and re.search(r"listening on http://127\.0\.0\.1:\d+/", open(logf).read()):
        break
    time.sleep(0.1)
pid = json.loads(open(subj).readline())["pid"]
port = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", open(logf).read()).group(1)
base = f"http://127.0.0.1:{port}/api/v1"
def snap():
    req = urllib.request.Request(f"{base}/processes/{pid}/snapshots", data=b"", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["id"]
a, b = snap(), snap()
regions = sum(1 for _ in open(f"/proc/{pid}/maps"))
def smaps_ms():
    t = time.perf_counter()
    fd = os.open(f"/proc/{pid}/smaps", os.O_RDONLY)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)
    return (time.perf_counter() - t) * 1e3
def http_ms(url, reps):
    out = json.loads(subprocess.run([msbench, "http", str(reps), url], check=True, capture_output=True, text=True).stdout)
    return [x / 1e3 for x in next(iter(out.values()))["samples_us"]]
two, now, floor = [], [], []
u_two, u_now = f"{base}/processes/{pid}/diff?from={a}&to={b}", f"{base}/processes/{pid}/diff?from={a}"
for _ in range(10):                       # turns: the load moves, the ratio within a turn does not
    floor += [smaps_ms() for _ in range(3)]
    two += http_ms(u_two, 3)
    now += http_ms(u_now, 3)
med = statistics.median
print(f"diff_subject_regions {regions} lines in maps")
print(f"smaps_read_median {med(floor):.2f} ms (n={len(floor)})")
print(f"diff_two_snapshots_median {med(two):.2f} ms (n={len(two)}) = {med(two) / med(floor):.2f}x the smaps read")
print(f"diff_snapshot_vs_now_median {med(now):.2f} ms (n={len(now)}) = {med(now) / med(floor):.2f}x the smaps read")
PY
  kill "$m"
  wait "$m" 2>/dev/null || true
  exec 4>&-
  echo "diff_load_average $(cut -d' ' -f1-3 /proc/loadavg)"
}
[[ ${2:-} == --sampler-only ]] || diff_cost
[[ ${2:-} != --diff-only ]] || exit 0

hold_still "$build" 1000

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
