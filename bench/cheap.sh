#!/bin/bash
# bench/cheap.sh BUILD_DIR [BEFORE_MEMSCOPED]: what keeping the history and PSS of every process
# costs with 1,000 real processes (started here, held still).  In one run:
#  1. cheap_bench: per 10 s round for 60 s, the full list, the cheap list and a PSS cache fed by the
#     cheap list within a 1% budget, each by its thread's CPU clock (before = full list + rollups,
#     after = cheap list + rollups: PSS of every process every 10 s);
#  2. memscoped's sampler (--sample-interval 10s, a store in a temporary directory) for 60 s after
#     its first round: the sampler thread's CPU time from /proc/PID/task/TID/stat (named
#     ms-sampler) and from its own clock (/health's cpu_total_us), and every round's rollups read,
#     kept and skipped;
#  3. with BEFORE_MEMSCOPED (a memscoped built from an earlier commit), the same for it: its
#     sampler thread is unnamed, so the busiest thread is taken (the others idle here).
# Loopback only; everything it starts it stops.  Prints "name value" lines; note the load average.
set -euo pipefail
build=${1:?usage: bench/cheap.sh BUILD_DIR [BEFORE_MEMSCOPED]}
before=${2:-}
. "$(dirname "$0")/lib.sh"
echo "load_average_start $(cut -d' ' -f1-3 /proc/loadavg)"

hold_still "$build" 1000
sleep 5
echo "processes_visible $(ls /proc | grep -c '^[0-9]')"

"$build/bench/cheap_bench" 6 10000 10 | sed 's/^/cheap_bench /'
echo "load_average_after_cheap_bench $(cut -d' ' -f1-3 /proc/loadavg)"

sampler_run() {   # sampler_run LABEL BINARY
  local label=$1 bin=$2
  "$bin" --listen 127.0.0.1:0 --data-dir "$tmp/store-$label" --sample-interval 10s 2>"$tmp/log-$label" &
  local m=$!
  pids+=("$m")
  python3 - "$label" "$m" "$tmp/log-$label" <<'PY'
import json, os, re, sys, time, urllib.request
label, pid, logf = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tck = os.sysconf("SC_CLK_TCK")
port = None
for _ in range(100):
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", open(logf).read())
    if m:
        port = m.group(1)
        break
    time.sleep(0.1)
def health():
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=30) as r:
        return json.load(r)["history"].get("sampler", {})
def threads():
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s.rsplit(")", 1)[1].split()
        out[t] = (comm, int(f[11]) + int(f[12]))
    return out
def proc_ticks():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
while health().get("rounds", 0) < 1:     # the first (cold) round: every rollup due
    time.sleep(0.5)
h0, th0, p0, t0 = health(), threads(), proc_ticks(), time.time()
seen, rows = h0.get("rounds"), []
while time.time() - t0 < 60:
    time.sleep(1)
    h = health()
    if h.get("rounds") != seen:
        seen = h.get("rounds")
        rows.append(h)
h1, th1, p1, t1 = health(), threads(), proc_ticks(), time.time()
wall = t1 - t0
d = {t: th1[t][1] - th0[t][1] for t in th1 if t in th0}
busiest = max(d, key=d.get)
named = [t for t in d if th1[t][0] == "ms-sampler"]
tid = named[0] if named else busiest
print(f"{label}_sampler_thread {th1[tid][0]} (busiest: {th1[busiest][0]})")
print(f"{label}_sampler_share_taskstat {d[tid] / tck * 100 / wall:.3f} % of one core ({d[tid]} ticks over {wall:.1f} s)")
print(f"{label}_rollups_skipped_per_round {sum(r['rollups_skipped'] for r in rows) / max(len(rows), 1):.1f} over {len(rows)} rounds")
print(f"{label}_memscoped_share_taskstat {(p1 - p0) / tck * 100 / wall:.3f} % of one core (whole process)")
if "cpu_total_us" in h1:
    print(f"{label}_sampler_share_clock {(h1['cpu_total_us'] - h0['cpu_total_us']) / 1e6 * 100 / wall:.3f} % of one core")
    print(f"{label}_sampler_list_share_clock {(h1['list_cpu_total_us'] - h0['list_cpu_total_us']) / 1e6 * 100 / wall:.3f} % of one core")
    snaps = sum(r.get("snapshot_cpu_us", 0) for r in rows)
    print(f"{label}_sampler_share_clock_without_auto_snapshots {((h1['cpu_total_us'] - h0['cpu_total_us']) - snaps) / 1e6 * 100 / wall:.3f} % of one core (auto-snapshots: {snaps / 1e3:.1f} ms CPU over the minute)")
for r in rows:
    extra = "".join(f" {k} {r[k]}" for k in ("rollups_failed", "rollups_max_waited", "list_cpu_us", "rollup_cpu_us",
                                              "rollup_budget_us", "write_cpu_us", "snapshot_cpu_us") if k in r)
    print(f"{label}_round {r['rounds']} processes {r['processes']} read {r['rollups_read']} kept {r['rollups_kept']} "
          f"skipped {r['rollups_skipped']} cpu_us {r['cpu_us']}{extra}")
PY
  kill "$m"
  wait "$m" 2>/dev/null || true
  echo "load_average_after_$label $(cut -d' ' -f1-3 /proc/loadavg)"
}
sampler_run after "$build/server/memscoped"
[[ -z $before ]] || sampler_run before "$before"
exec 3>&-
