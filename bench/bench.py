#!/usr/bin/python3
"""bench.py - memscope's benchmark: memscope against the kernel's own cost and the tools
people use today, side by side in one run, with ratios and the issue's targets marked met or missed.

Run it through bench/run.sh.  It builds the subject (tests/subject.c), msbench (bench/msbench.c: the
floor and the HTTP client, in C) and memscoped in Release mode, starts everything itself on loopback,
and writes a markdown table and a JSON document.  --short is the CI form: one size, few repetitions;
it fails only when something is broken (a request fails or answers wrong, a peer tool crashes),
never because a target is missed.

It must run under Debian's /usr/bin/python3 so that `import psutil` is Debian's python3-psutil, the
same psutil Glances uses.
"""
import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1 << 30
MIB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
# Subjects run through a symlink with this name, so smem's name filter finds ours and no other.
SUBJECT_TAG = f"bsubj-{os.getpid():x}"

# The targets.  Ratios are memscope ÷ floor (at most) or peer ÷ memscope (at least).
T_SMAPS_FLOOR = 1.5
T_SMAPS_PSUTIL = 5.0
T_MAPS_FLOOR = 2.0
T_PAGEMAP_FLOOR = 1.3
T_PROCESSES_GLANCES = 2.0
T_RSS_IDLE = 4 * MIB
T_RSS_GROWTH = 0.10
# memscoped hands free heap pages back once no request has begun for a second (server/heaptrim.h):
# its RSS after a load is read after that.
TRIM_WAIT_S = 1.5
T_MAPS_RSS_SMAPS = 0.35     # /maps?rss=1 ÷ the kernel's read of smaps, 10,000 regions
T_MAPS_RSS_SMAPS_100K = 0.40
T_WSS_ACCURACY = 0.05      # /wss on the accuracy subject: within ±5% of what it reads
T_PSS_CPU_SHARE = 0.01      # PSS/USS of 1,000 processes every 10 s: share of one core
PSS_PROCS = 1000
PSS_PERIOD_S = 10
LINEAR_SLACK = 1.25     # "cost grows linearly": 10x the regions may cost at most 12.5x the time

broken = []             # what failed: any entry makes the run exit 1


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    broken.append(msg)
    log("BROKEN: " + msg)


# ---- statistics ---------------------------------------------------------------------------------

def pct(sorted_xs, p):
    """Percentile by linear interpolation between closest ranks."""
    if len(sorted_xs) == 1:
        return sorted_xs[0]
    k = (len(sorted_xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (k - lo)


def summary(samples_us, **extra):
    xs = sorted(samples_us)
    d = {"n": len(xs), "median_ms": statistics.median(xs) / 1000, "p10_ms": pct(xs, 10) / 1000,
         "p90_ms": pct(xs, 90) / 1000, "min_ms": xs[0] / 1000, "max_ms": xs[-1] / 1000}
    d.update(extra)
    return d


def time_calls(fn, reps):
    """Times fn() reps times after one warm-up call; returns samples in microseconds."""
    fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e6)
    return out


# ---- processes we start -------------------------------------------------------------------------

children = []


def cleanup():
    for p in children:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=5)
            except Exception:
                p.kill()


atexit.register(cleanup)


def on_signal(sig, frame):
    raise SystemExit(128 + sig)     # so atexit runs: children stopped, vm.max_map_count restored


signal.signal(signal.SIGTERM, on_signal)


class Subject:
    """tests/subject.c: a process with known memory; it lives until its stdin closes."""

    def __init__(self, exe, regions=0, heap=0, heap_write=0, heap_read=0, noreserve=False, extra=()):
        args = [exe, *extra]
        if regions:
            args += ["--regions", str(regions)]
        if heap:
            args += ["--heap", str(heap), "--heap-write", str(heap_write), "--heap-read", str(heap_read)]
        if noreserve:
            args += ["--heap-noreserve", "1"]
        self.desc = dict(regions=regions, heap=heap, heap_write=heap_write, heap_read=heap_read)
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        children.append(self.p)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"subject {args} died: exit {self.p.wait()}")
        self.info = json.loads(line)
        self.pid = self.info["pid"]
        h = int(self.info["heap"], 16) if heap else 0
        self.start = h & ~(PAGE - 1)
        self.end = (h + heap + PAGE - 1) & ~(PAGE - 1)
        with open(f"/proc/{self.pid}/maps") as f:
            self.nregions = sum(1 for _ in f)

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=30)


class Memscoped:
    """memscoped on 127.0.0.1, port chosen by the kernel and read back from its start line."""

    def __init__(self, exe, threads=None, extra=()):
        args = [exe, "--listen", "127.0.0.1:0", "--log-level", "info", "--data-dir", "none", *extra]
        if threads:
            args += ["--threads", str(threads)]
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        children.append(self.p)
        self.log = []
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            line = self.p.stderr.readline()
            if not line:
                break
            self.log.append(line.rstrip())
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            raise RuntimeError("memscoped did not start: " + " | ".join(self.log))
        # Keep draining stderr so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.port}"

    def _drain(self):
        for line in self.p.stderr:
            if len(self.log) < 1000:
                self.log.append(line.rstrip())

    def vmrss(self):
        return status_kb(self.p.pid, "VmRSS") * 1024

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                fail("memscoped did not stop on SIGTERM within 10 s")
                self.p.kill()
        if self.p.returncode not in (0, None):
            fail(f"memscoped exited with status {self.p.returncode}")


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- running msbench, wrk and the peers ---------------------------------------------------------

def msbench(exe, *args, timeout=900):
    r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        fail(f"msbench {args[0]} exited {r.returncode}: {r.stderr.strip()[:500]}")
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None
    return json.loads(r.stdout)


class Acc:
    """Samples gathered over interleaved rounds.  The floor, memscope and the peers take turns
    (a few repetitions each per round), so a change in the machine's load during the run falls on
    all of them alike instead of on whichever happened to run then."""

    def __init__(self):
        self.samples, self.extra = {}, {}

    def add(self, d):
        for k, v in (d or {}).items():
            if isinstance(v, dict) and "samples_us" in v:
                self.samples.setdefault(k, []).extend(v.pop("samples_us"))
                self.extra[k] = v
            elif isinstance(v, dict) and k not in self.samples:
                self.extra[k] = v           # e.g. {"unsupported": ...}, {"skipped": ...}

    def result(self):
        out = {k: summary(v, **self.extra.get(k, {})) for k, v in self.samples.items()}
        for k, v in self.extra.items():
            out.setdefault(k, v)
        return out


def floor(exe, subj, reps):
    d = msbench(exe, "floor", subj.pid, subj.start or PAGE, subj.end or 2 * PAGE, reps) or {}
    return {k: v for k, v in d.items() if isinstance(v, dict)}


def http_many(exe, base, paths, reps):
    """paths: {name: path}; returns {name: {samples_us, ...}}.  One keep-alive connection for all."""
    urls = [base + p for p in paths.values()]
    d = msbench(exe, "http", reps, *urls) or {}
    out = {}
    for name, p in paths.items():
        v = d.get(base + p)
        if v and "samples_us" in v:
            out[name] = v
            if v.get("new_connections", 0):
                log(f"note: {name} opened {v['new_connections']} new connections (keep-alive not kept)")
    return out


def get_json(url, timeout=120):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def wrk(url, seconds, conns, threads=2):
    if not shutil.which("wrk"):
        return {"skipped": "wrk is not installed"}
    r = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", url],
                       capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        fail(f"wrk {url} exited {r.returncode}: {r.stderr.strip()[:300]}")
        return {"error": r.stderr.strip()[:300]}
    out = {"seconds": seconds, "connections": conns, "threads": threads, "raw": r.stdout}
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    out["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", r.stdout)
    out["requests"] = int(m.group(1)) if m else 0
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", r.stdout, re.M)
        out[f"p{p}_ms"] = float(m.group(1)) * unit[m.group(2)] if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", r.stdout)
    out["socket_errors"] = sum(map(int, m.groups())) if m else 0
    if out["non_2xx"] or out["rps"] is None or out["requests"] == 0:
        fail(f"wrk {url}: {out['non_2xx']} non-2xx answers, {out['requests']} requests")
    if out["socket_errors"]:
        log(f"note: wrk {url}: {out['socket_errors']} socket errors")
    return out


def time_command(argv, reps, what):
    """Wall time of a whole command (fork, exec, start-up and the work), as a user pays it."""
    if not shutil.which(argv[0]):
        return {"skipped": f"{argv[0]} is not installed"}
    res = {}

    def run():
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        res["rc"], res["out"], res["err"] = r.returncode, r.stdout, r.stderr
        if r.returncode != 0:
            raise RuntimeError(f"{what} exited {r.returncode}: {r.stderr.decode(errors='replace')[:300]}")

    try:
        s = time_calls(run, reps)
    except Exception as e:          # a crash of a peer tool is a broken run
        fail(str(e))
        return {"error": str(e)}
    return {"samples_us": s, "bytes": len(res["out"])}


def psutil_times(pid, reps, nregions):
    import psutil
    p = psutil.Process(pid)
    out = {}
    try:
        maps = p.memory_maps(grouped=False)
        if len(maps) != nregions:
            # psutil drops nothing: a different count means one of us reads smaps wrong
            fail(f"psutil memory_maps(grouped=False) gave {len(maps)} regions, maps has {nregions}")
        out["memory_maps"] = {"samples_us": time_calls(lambda: p.memory_maps(grouped=False), reps),
                              "regions": len(maps)}
    except Exception as e:
        fail(f"psutil memory_maps crashed: {e!r}")
    try:
        out["memory_full_info"] = {"samples_us": time_calls(p.memory_full_info, reps)}
    except Exception as e:
        fail(f"psutil memory_full_info crashed: {e!r}")
    return out


class Glances:
    """glances -w: its REST API on loopback, refreshing every second (-t 1) so that its figures are
    no older than one second, the freshness the target asks of memscope's /processes."""

    def __init__(self):
        self.port = free_port()
        self.p = subprocess.Popen(["glances", "-w", "--disable-webui", "--bind", "127.0.0.1",
                                   "--port", str(self.port), "-t", "1"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd="/tmp")
        children.append(self.p)
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline and not self.url:
            if self.p.poll() is not None:
                raise RuntimeError(f"glances exited {self.p.returncode}")
            for v in (4, 3):
                u = f"http://127.0.0.1:{self.port}/api/{v}/processlist"
                try:
                    st, body = get_json(u, timeout=10)
                except (OSError, ValueError):
                    continue
                if st == 200 and isinstance(body, list) and body:
                    self.url, self.api, self.nproc = u, v, len(body)
                    break
            time.sleep(0.5)
        if not self.url:
            raise RuntimeError("glances never answered /api/{4,3}/processlist")
        self.version = subprocess.run(["glances", "--version"], capture_output=True, text=True,
                                      cwd="/tmp").stdout.splitlines()[0].strip()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()


# ---- checks that memscope's answers are right (a fast wrong answer is a broken run) -------------

def check_answers(base, subj):
    pid = subj.pid
    st, maps = get_json(f"{base}/api/v1/processes/{pid}/maps")
    if st != 200:
        return fail(f"/maps answered {st}")
    regions = maps.get("regions", maps) if isinstance(maps, dict) else maps
    if len(regions) != subj.nregions:
        fail(f"/maps has {len(regions)} regions, /proc/{pid}/maps has {subj.nregions}")
    st, sm = get_json(f"{base}/api/v1/processes/{pid}/smaps")
    if st != 200:
        return fail(f"/smaps answered {st}")
    if len(sm.get("regions", [])) != subj.nregions:
        fail(f"/smaps has {len(sm.get('regions', []))} regions, /proc/{pid}/maps has {subj.nregions}")
    check_rss(base, pid)
    if not subj.desc["heap"]:
        return
    want_present = (subj.desc["heap_write"] + subj.desc["heap_read"]) // PAGE
    # the pages only read are the zero page only where a read fault maps it (not on every kernel)
    _, health = get_json(f"{base}/api/v1/health")
    zero_on_read = bool(health and health.get("can_see", {}).get("read_fault_zero_page"))
    want_zero = subj.desc["heap_read"] // PAGE if zero_on_read else 0
    for method in ("scan", "pread"):
        st, pm = get_json(f"{base}/api/v1/processes/{pid}/pagemap?start={subj.start:#x}&end={subj.end:#x}&method={method}")
        if st != 200:
            fail(f"/pagemap method={method} answered {st}")
            continue
        c = pm.get("counts", {})
        if c.get("present") != want_present:
            fail(f"/pagemap method={method}: present {c.get('present')}, the subject touched {want_present}")
        if c.get("zero_page") is not None and c.get("zero_page") != want_zero:
            fail(f"/pagemap method={method}: zero_page {c.get('zero_page')}, the subject read {want_zero}")


def smaps_rss(pid, key="Rss:"):
    """{region start: Rss bytes} (or another kB field's) from /proc/PID/smaps, read here without
    memscope's code."""
    out, start = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if "-" in head and ":" not in head:
                start = int(head.split("-")[0], 16)
            elif line.startswith(key):
                out[start] = int(line.split()[1]) * 1024
    return out


def compare_regions(query, m, field, want, label):
    """m (the answer to /maps?QUERY) against want ({start: bytes} from smaps), region by region."""
    got = {int(g["start"], 16): g[field] for g in m["regions"]}
    if m.get("source") != "pagemap_scan":
        fail(f"/maps?{query} answered from {m.get('source')}: {m.get('fallback_reason')}")
    if got != want:
        bad = [hex(a) for a in set(got) | set(want) if got.get(a) != want.get(a)]
        fail(f"/maps?{query} differs from smaps' {label} in {len(bad)} of {len(want)} regions (first {bad[:3]})")
    return {"regions": len(got), "equal": got == want, field: sum(got.values())}


def check_pss(base, pid):
    """/maps?rss=1&pss=1: every region's pss equals smaps' Pss, compared when two reads of smaps
    around the answer agree (other processes map and unmap the shared libraries meanwhile)."""
    # Frame numbers and /proc/kpagecount need CAP_SYS_ADMIN, which a user other than root, and
    # root in a container, may lack: the route then answers from smaps, and says so with 403
    # frames_hidden to method=scan.
    st, _ = get_json(f"{base}/api/v1/processes/{pid}/maps?rss=1&pss=1&method=scan&start=0x0&end=0x1000")
    if st == 403:
        log("/maps?rss=1&pss=1 skipped, because the frame numbers are hidden here (no CAP_SYS_ADMIN)")
        return None
    for _ in range(10):
        before = smaps_rss(pid, "Pss:")
        st, m = get_json(f"{base}/api/v1/processes/{pid}/maps?rss=1&pss=1")
        if st != 200:
            return fail(f"/maps?rss=1&pss=1 answered {st}")
        if smaps_rss(pid, "Pss:") == before:
            return compare_regions("rss=1&pss=1", m, "pss", before, "Pss")
    return {"regions": 0, "equal": None, "note": "smaps' Pss kept moving: not compared"}


def check_rss(base, pid):
    """/maps?rss=1 from maps + PAGEMAP_SCAN: every region's rss equals smaps' Rss."""
    st, m = get_json(f"{base}/api/v1/processes/{pid}/maps?rss=1")
    if st != 200:
        return fail(f"/maps?rss=1 answered {st}")
    return compare_regions("rss=1", m, "rss", smaps_rss(pid), "Rss")


def pss_share(msd, subj_exe, nprocs, period_s, periods):
    """PSS and USS of every process every period_s: memscoped's CPU time (user + system, from its
    stat) over the steady periods, as a share of one core; the first (cold) request reported apart."""
    subs = []
    try:
        for _ in range(nprocs):
            subs.append(Subject(subj_exe, heap=1 * MIB, heap_write=512 * 1024))
        # The history sampler off: its own cost (list, rollups, the store's write) is measured by
        # cheap.sh; here memscoped's CPU is what the route's PSS of every process costs.
        m = Memscoped(msd, extra=("--sample-interval", "0"))
        tck = os.sysconf("SC_CLK_TCK")

        def cpu_s():
            f = open(f"/proc/{m.p.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / tck
        url = m.base + "/api/v1/processes?fields=pss,uss"
        c0 = cpu_s()
        t0 = time.time()
        st, cold = get_json(url)
        cold_s = cpu_s() - c0
        if st != 200:
            fail(f"/processes?fields=pss,uss answered {st}")
            return {"error": f"answered {st}"}
        rows = []
        c1 = cpu_s()
        t1 = time.time()
        for _ in range(periods):
            time.sleep(max(0.0, period_s - (time.time() - t0) % period_s))
            st, d = get_json(url)
            if st != 200:
                fail(f"/processes?fields=pss,uss answered {st}")
                break
            rows.append({k: d["pss"].get(k) for k in ("fresh", "cached", "skipped", "none", "failed", "cpu_ms")})
        time.sleep(max(0.0, period_s - (time.time() - t0) % period_s))
        share = (cpu_s() - c1) / (time.time() - t1)
        m.stop()
        return {"processes": cold["total"], "subjects": nprocs, "period_s": period_s, "periods": len(rows),
                "cold": dict(cold["pss"], memscoped_cpu_s=cold_s), "steady": rows, "cpu_share": share,
                "clk_tck": tck}
    finally:
        for x in subs:
            x.stop()


def fast_part(R, msb, msd, subj_exe, rounds, creps, short):
    """/maps?rss=1 against the kernel's read of smaps at 10,000 and 100,000 regions, rss == Rss
    checked on each subject, and the PSS/USS budget on PSS_PROCS processes."""
    srv = Memscoped(msd)
    R["maps_rss"] = {}
    sizes, mc = ((10000,) if short else (10000, 100000)), None
    if 100000 in sizes:
        try:
            mc = MapCount(262144)
        except OSError as e:   # a container's /proc/sys is read-only
            log(f"/maps?rss=1 at 100,000 regions skipped, because vm.max_map_count cannot be raised here: {e}")
            sizes = (10000,)
    try:
        for n in sizes:
            log(f"/maps?rss=1: {n} regions")
            s = Subject(subj_exe, regions=n, heap=4 * GIB if n == 10000 else 64 * MIB,
                        heap_write=1 * GIB if n == 10000 else 16 * MIB, heap_read=512 * MIB if n == 10000 else 8 * MIB)
            chk = check_rss(srv.base, s.pid)
            chk_pss = check_pss(srv.base, s.pid)   # None where frame numbers are hidden
            # The floor's smaps read and the two answers strictly in turns (msbench turns): this
            # VM's speed moves in steps of seconds, and blocks of repetitions let a step fall on
            # one side of the ratio only.
            acc = Acc()
            paths = {"/maps?rss=1": f"/api/v1/processes/{s.pid}/maps?rss=1",
                     "/maps?rss=1&method=smaps": f"/api/v1/processes/{s.pid}/maps?rss=1&method=smaps"}
            if chk_pss:   # frame numbers and kpagecount: CAP_SYS_ADMIN only
                paths["/maps?rss=1&pss=1"] = f"/api/v1/processes/{s.pid}/maps?rss=1&pss=1"
            # --both-cpus: each turn's floor is the mean of a read on each CPU (why: msbench.c,
            # floor_both); memscoped runs where the scheduler puts it.
            reps = rounds * (creps if n < 100000 else 2)
            d = msbench(msb, "turns", "--both-cpus", reps,
                        f"/proc/{s.pid}/smaps", *[srv.base + p for p in paths.values()]) or {}
            fl = (d.get("file") or {}).get("samples_us")
            got = {"floor_smaps": d.get("file")}
            got.update({k: v for k, v in d.items() if k.startswith("file_on_cpu")})
            got.update({name: d.get(srv.base + p) for name, p in paths.items()})
            turns = {name: turn_ratio((d.get(srv.base + p) or {}).get("samples_us"), fl)
                     for name, p in paths.items()}
            acc.add({k: v for k, v in got.items() if v})
            R["maps_rss"][str(n)] = dict(acc.result(), maps_lines=s.nregions, check=chk, check_pss=chk_pss,
                                         turn_ratio_median=turns["/maps?rss=1"], turns=turns,
                                         kernel=kernel_part(msb, s.pid, reps))
            s.stop()
    finally:
        if mc:
            mc.restore()
        srv.stop()
    if not short:
        log(f"PSS/USS: {PSS_PROCS} subjects, every {PSS_PERIOD_S} s")
        R["pss"] = pss_share(msd, subj_exe, PSS_PROCS, PSS_PERIOD_S, 6)
        log("/wss: its cost on the 10,000-region subject, its answer on the accuracy subject")
        R["wss"] = wss_part(msd, subj_exe)


def kernel_part(msb, pid, reps):
    """What /maps?rss=1 asks of the kernel (maps read, one PAGEMAP_SCAN walk), timed without
    memscope against smaps, per CPU: the least any answer built this way can cost."""
    d = msbench(msb, "kernel", pid, reps) or {}
    if "unsupported" in d:
        return {"unsupported": d["unsupported"]}
    out = {"resident_bytes": d.get("resident_bytes")}
    for k in d:
        if k.startswith("smaps_cpu"):
            c = k[len("smaps_"):]
            m, sc, sm = (statistics.median(d[f"{w}_{c}"]["samples_us"]) / 1000 for w in ("maps", "scan", "smaps"))
            out[c] = dict(maps_ms=m, scan_ms=sc, smaps_ms=sm, ratio=(m + sc) / sm)
    return out


def floor_per_cpu(r):
    """[(cpu name, median ms of the floor's reads on it)] of one size's results."""
    return [(k[len("file_on_"):], med(v)) for k, v in r.items() if k.startswith("file_on_cpu")]


def turn_ratio(q, fl):
    """The median of each turn's own ratio (route ÷ that turn's floor)."""
    return statistics.median([a / b for a, b in zip(q, fl)]) if q and fl else None


def wss_part(msd, subj_exe):
    """/wss (clear the accessed bits, wait, read smaps' Referenced): the cost it reports on the
    10,000-region subject, and its answer on a subject that keeps reading exactly 64 MiB of a
    512 MiB region and nothing of a second, resident 64 MiB region."""
    m = Memscoped(msd, extra=("--allow-clear-refs", "--sample-interval", "0"))
    out = {}
    try:
        s = Subject(subj_exe, regions=10000)
        try:
            st, d = get_json(f"{m.base}/api/v1/processes/{s.pid}/wss?interval_ms=1000")
            if st != 200:
                fail(f"/wss of the 10,000-region subject answered {st}")
            else:
                out["regions"] = {"count": d["count"], "cost": d["cost"], "measured_interval_ms": d["measured_interval_ms"]}
        finally:
            s.stop()
        # spinning: its translations stay in the TLB, the case a clear without a flush gets wrong
        s = Subject(subj_exe, extra=("--wss", "512M", "--wss-touch", "64M", "--wss-idle", "64M", "--wss-spin", "1"))
        try:
            hot, idle = int(s.info["wss"], 16), int(s.info["wss_idle"], 16)
            st, d = get_json(f"{m.base}/api/v1/processes/{s.pid}/wss?interval_ms=1000")
            if st != 200:
                fail(f"/wss of the accuracy subject answered {st}")
            else:
                def at(a):
                    return next((r for r in d["regions"] if int(r["start"], 16) <= a < int(r["end"], 16)), None)
                h, z = at(hot), at(idle)
                out["accuracy"] = {"want": 64 * MIB, "hot_referenced": h and h["referenced"],
                                   "idle_referenced": z and z["referenced"], "idle_rss": z and z["rss"],
                                   "cost": d["cost"], "measured_interval_ms": d["measured_interval_ms"],
                                   "tlb_flushed": d.get("tlb_flushed")}
        finally:
            s.stop()
    finally:
        m.stop()
    return out


# ---- the machine --------------------------------------------------------------------------------

def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = status_like("/proc/meminfo", "MemTotal") * 1024
    deb = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"

    def out(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, cwd=ROOT, timeout=30).stdout.strip()
        except Exception:
            return "?"
    commit = out("git", "rev-parse", "--short", "HEAD")
    if out("git", "status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    import psutil
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_bytes": mem, "kernel": os.uname().release,
            "debian": deb, "commit": commit, "date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_start": open("/proc/loadavg").read().split()[:3], "psutil": psutil.__version__,
            "procs": len([d for d in os.listdir("/proc") if d.isdigit()]),
            "thp": open("/sys/kernel/mm/transparent_hugepage/enabled").read().strip()}


def status_like(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class MapCount:
    """vm.max_map_count raised for the 100,000-region subject, restored however we leave."""
    PATH = "/proc/sys/vm/max_map_count"

    def __init__(self, want):
        self.old = int(open(self.PATH).read())
        self.changed = False
        if self.old < want:
            with open(self.PATH, "w") as f:
                f.write(str(want))
            self.changed = True
            atexit.register(self.restore)
            log(f"vm.max_map_count {self.old} -> {want} for this run")

    def restore(self):
        if self.changed:
            with open(self.PATH, "w") as f:
                f.write(str(self.old))
            self.changed = False
            log(f"vm.max_map_count restored to {self.old}")


# ---- the run ------------------------------------------------------------------------------------

def build(build_dir, no_server):
    targets = ["msbench", "memscope-subject"] + ([] if no_server else ["memscoped"])
    log(f"building {' '.join(targets)} (Release) in {build_dir}")
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DMEMSCOPE_WERROR=OFF"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", *targets], check=True,
                   stdout=subprocess.DEVNULL)
    return (os.path.join(build_dir, "bench", "msbench"), os.path.join(build_dir, "tests", "memscope-subject"),
            None if no_server else os.path.join(build_dir, "server", "memscoped"))


def subject_paths(s):
    p = s.pid
    rng = f"start={s.start:#x}&end={s.end:#x}"
    return {"/maps": f"/api/v1/processes/{p}/maps", "/smaps": f"/api/v1/processes/{p}/smaps",
            "/processes/PID": f"/api/v1/processes/{p}",
            "/pagemap scan": f"/api/v1/processes/{p}/pagemap?{rng}&method=scan",
            "/pagemap pread": f"/api/v1/processes/{p}/pagemap?{rng}&method=pread",
            "/processes": "/api/v1/processes"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--short", action="store_true", help="CI form: one size, few repetitions, < 2 minutes")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--out", help="write NAME.md and NAME.json (default: bench/RESULTS.* for a full run, "
                                  "BUILD_DIR/bench-short.* for --short)")
    ap.add_argument("--no-server", action="store_true", help="skip memscoped (floor and peers only)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--memscoped", help="benchmark this memscoped binary instead of the one built here")
    ap.add_argument("--only-fast", action="store_true",
                    help="only /maps?rss=1 (10k, 100k regions) and the PSS/USS budget; writes bench/RESULTS-fast.*")
    a = ap.parse_args()
    short = a.short
    t_start = time.time()
    if os.geteuid() != 0:
        log("note: not root: PFNs, the zero page and other processes' smaps may be hidden")

    rounds = 3 if short else 10        # interleaved rounds: floor, memscope, peers in turn
    creps = 2 if short else 3          # C-side repetitions per round (floor, HTTP); peers do 1
    reps, preps = rounds * creps, rounds
    wrk_s = 3 if short else 10
    load_n = 5000 if short else 100000

    if a.no_build:
        b = a.build_dir
        msb, subj_exe, msd = (os.path.join(b, "bench", "msbench"), os.path.join(b, "tests", "memscope-subject"),
                              None if a.no_server else os.path.join(b, "server", "memscoped"))
    else:
        msb, subj_exe, msd = build(a.build_dir, a.no_server)
    if a.memscoped:
        msd = a.memscoped
    link = os.path.join(a.build_dir, SUBJECT_TAG)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.abspath(subj_exe), link)
    atexit.register(lambda: os.path.lexists(link) and os.unlink(link))
    subj_exe = link

    R = {"mode": "short" if short else "full", "machine": machine(),
         "reps": {"c": reps, "peers": preps, "wrk_seconds": wrk_s, "rss_requests": load_n}}
    if a.only_fast:
        R["mode"] = "only-fast"
        fast_part(R, msb, msd, subj_exe, rounds, creps, short)
        md = finish(R, t_start, report_fast)
        base = a.out or os.path.join(ROOT, "bench", "RESULTS-fast")
        with open(base + ".json", "w") as f:
            json.dump(R, f, indent=1, default=str)
        with open(base + ".md", "w") as f:
            f.write(md)
        print(md)
        return 1 if broken else 0

    # -- the main subject -----------------------------------------------------------------------
    main_desc = dict(regions=10000, heap=4 * GIB, heap_write=1 * GIB, heap_read=512 * MIB)
    log(f"subject: {main_desc}")
    subj = Subject(subj_exe, **main_desc)
    R["subject"] = dict(main_desc, pid=subj.pid, maps_lines=subj.nregions, heap_range=[hex(subj.start), hex(subj.end)])

    srv = None
    if msd:
        srv = Memscoped(msd)
        st, health = get_json(srv.base + "/api/v1/health")
        R["memscoped"] = {"health": health, "threads_default": os.cpu_count()}
        log(f"memscoped on port {srv.port}: checking its answers")
        check_answers(srv.base, subj)
    smem_argv = ["smem", "-P", "^" + SUBJECT_TAG]
    if shutil.which("smem"):
        # smem filters processes by name before it reads smaps, so this is one process's worth of
        # work.  The subject runs under a name of its own: other subjects may be alive here.
        pids = subprocess.run(["smem", "-H", "-P", "^" + SUBJECT_TAG, "-c", "pid"], capture_output=True,
                              text=True).stdout.split()
        if pids != [str(subj.pid)]:
            fail(f"smem -P {SUBJECT_TAG} listed pids {pids}, not the subject's {subj.pid}")

    accs = {k: Acc() for k in ("floor", "http", "psutil", "pmap", "smem")}
    for rnd in range(rounds):
        log(f"round {rnd + 1}/{rounds}: floor, memscope over HTTP, psutil, pmap -XX, smem")
        accs["floor"].add(floor(msb, subj, creps))
        if srv:
            accs["http"].add(http_many(msb, srv.base, subject_paths(subj), creps))
        accs["psutil"].add(psutil_times(subj.pid, 1, subj.nregions))
        accs["pmap"].add({"pmap": time_command(["pmap", "-XX", str(subj.pid)], 1, "pmap -XX")})
        accs["smem"].add({"smem": time_command(smem_argv, 1, "smem")})
    for k in ("floor", "http", "psutil"):
        R[k] = accs[k].result()
    R["pmap"] = accs["pmap"].result().get("pmap")
    R["smem"] = accs["smem"].result().get("smem")
    fs = R["floor"].get("pagemap_scan", {})
    if fs.get("present") is not None and fs["present"] != (main_desc["heap_write"] + main_desc["heap_read"]) // PAGE:
        fail(f"the floor's own PAGEMAP_SCAN counted {fs['present']} present pages")

    # -- throughput -------------------------------------------------------------------------------
    R["wrk"] = {}
    conns = 8
    if srv:
        log(f"wrk: /processes and /smaps, {wrk_s} s each, {conns} connections")
        R["wrk"]["/processes"] = wrk(srv.base + "/api/v1/processes", wrk_s, conns)
        R["wrk"]["/smaps"] = wrk(srv.base + f"/api/v1/processes/{subj.pid}/smaps", wrk_s, conns)
    R["glances"] = {}
    if shutil.which("glances"):
        log("glances -w")
        try:
            g = Glances()
            R["glances"] = {"version": g.version, "api": g.api, "url_path": f"/api/{g.api}/processlist",
                            "processes": g.nproc}
            d = msbench(msb, "http", preps * 3, g.url) or {}
            if g.url in d and "samples_us" in d[g.url]:
                R["glances"]["sequential"] = summary(d[g.url].pop("samples_us"), **d[g.url])
            R["wrk"]["glances"] = wrk(g.url, wrk_s, conns)
            if g.p.poll() is not None:
                fail(f"glances died during the run (exit {g.p.returncode})")
            g.stop()
        except Exception as e:
            fail(f"glances: {e}")
    else:
        R["glances"] = {"skipped": "glances is not installed (apt-get install glances)"}
        log("glances is not installed: skipped")
    subj.stop()

    # -- how cost grows ---------------------------------------------------------------------------
    R["scale_regions"], R["scale_range"] = {}, {}
    if not short:
        mc = MapCount(262144)
        try:
            for n in (1000, 10000, 100000):
                log(f"scale: {n} regions")
                s = Subject(subj_exe, regions=n, heap=64 * MIB, heap_write=16 * MIB, heap_read=8 * MIB)
                acc = Acc()
                k = 3 if n < 100000 else 1
                for _ in range(5):
                    f = floor(msb, s, k)
                    acc.add({"floor_smaps": f.get("smaps")})
                    if srv:
                        acc.add({"http_smaps": http_many(msb, srv.base, {"/smaps": f"/api/v1/processes/{s.pid}/smaps"}, k).get("/smaps")})
                    acc.add({"psutil_memory_maps": psutil_times(s.pid, 1, s.nregions).get("memory_maps")})
                R["scale_regions"][str(n)] = dict(acc.result(), maps_lines=s.nregions)
                s.stop()
        finally:
            mc.restore()
        for g in (1, 8, 32):
            log(f"scale: {g} GiB range")
            s = Subject(subj_exe, heap=g * GIB, heap_write=256 * MIB, heap_read=128 * MIB, noreserve=True)
            if srv:
                check_answers(srv.base, s)
            rng = f"start={s.start:#x}&end={s.end:#x}"
            acc = Acc()
            for _ in range(5):
                f = floor(msb, s, 4)
                acc.add({"floor_scan": f.get("pagemap_scan"), "floor_pread": f.get("pagemap_pread")})
                if srv:
                    acc.add(http_many(msb, srv.base, {
                        "http_scan": f"/api/v1/processes/{s.pid}/pagemap?{rng}&method=scan",
                        "http_pread": f"/api/v1/processes/{s.pid}/pagemap?{rng}&method=pread"}, 4))
            R["scale_range"][str(g)] = acc.result()
            s.stop()

    # -- memscoped's own memory -------------------------------------------------------------------
    if srv:
        srv.stop()
        log(f"memscoped resident memory: idle, then after {load_n} requests")
        small = Subject(subj_exe, regions=200, heap=16 * MIB, heap_write=4 * MIB, heap_read=2 * MIB)
        m = Memscoped(msd)
        time.sleep(1.0)
        rss = {"idle": m.vmrss()}
        p = small.pid
        rng = f"start={small.start:#x}&end={small.end:#x}"
        mix = ["/api/v1/health", "/api/v1/system", "/api/v1/processes?limit=10",
               f"/api/v1/processes/{p}", f"/api/v1/processes/{p}/maps", f"/api/v1/processes/{p}/smaps",
               f"/api/v1/processes/{p}/smaps?group=path", f"/api/v1/processes/{p}/pagemap?{rng}",
               f"/api/v1/processes/{p}/pagemap?{rng}&method=pread",
               f"/api/v1/processes/{p}/pagemap?start={small.start:#x}&end={small.start + 64 * PAGE:#x}&frames=1",
               f"/api/v1/processes/{p}/translate?addr={small.start:#x}",
               "404:/api/v1/no-such-route", "400:/api/v1/processes/abc/maps",
               f"400:/api/v1/processes/{p}/pagemap?start=0x2000&end=0x1000"]
        urls = [(u[:4] + m.base + u[4:]) if u[0].isdigit() else m.base + u for u in mix]
        d = msbench(msb, "load", 1000, *urls)
        time.sleep(TRIM_WAIT_S)
        rss["after_1000"] = m.vmrss()
        # two clients at once, as the thread pool would see them
        t0 = time.time()
        half = (load_n - 1000) // 2
        ps_ = [subprocess.Popen([msb, "load", str(half), *urls], stdout=subprocess.PIPE, text=True) for _ in range(2)]
        done = (d or {}).get("requests", 0)
        rss["failed"] = bool(not d or d.get("failed"))
        for q in ps_:
            out, _ = q.communicate(timeout=1800)
            try:
                done += json.loads(out)["requests"]
            except (ValueError, KeyError):
                pass
            if q.returncode != 0:
                rss["failed"] = True
                fail(f"msbench load exited {q.returncode}: {out.strip()[:300]}")
        rss["requests"] = done
        rss["load_seconds"] = round(time.time() - t0, 1)
        time.sleep(TRIM_WAIT_S)
        rss["after_load"] = m.vmrss()
        rss["hwm"] = status_kb(m.p.pid, "VmHWM") * 1024
        rss["growth_vs_idle"] = rss["after_load"] / rss["idle"] - 1
        rss["growth_vs_warm"] = rss["after_load"] / rss["after_1000"] - 1
        R["rss"] = rss
        m.stop()
        small.stop()

    if msd:
        fast_part(R, msb, msd, subj_exe, rounds, creps, short)
    md = finish(R, t_start, report)

    base = a.out or (os.path.join(ROOT, "bench", "RESULTS") if not short else os.path.join(a.build_dir, "bench-short"))
    with open(base + ".json", "w") as f:
        json.dump(R, f, indent=1, default=str)
    with open(base + ".md", "w") as f:
        f.write(md)
    print(md)
    log(f"wrote {base}.md and {base}.json in {R['duration_s']} s")
    if broken:
        log(f"{len(broken)} thing(s) broken:\n  " + "\n  ".join(broken))
        return 1
    return 0


def finish(R, t_start, report_fn):
    """The run's closing figures, verdicts and what broke, then its table."""
    R["duration_s"] = round(time.time() - t_start, 1)
    R["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    R["verdicts"] = verdicts(R)
    R["broken"] = broken
    return report_fn(R)


# ---- verdicts and the report --------------------------------------------------------------------

def med(d):
    return d.get("median_ms") if isinstance(d, dict) else None


def ratio(a, b):
    return a / b if a is not None and b else None


def verdicts(R):
    """Each target: the measured ratio, the limit, and met / missed / not measured."""
    v = []
    F, H, P = R.get("floor", {}), R.get("http", {}), R.get("psutil", {})

    def add(name, value, op, limit, note=""):
        if value is None:
            state = "not measured"
        else:
            state = "met" if (value <= limit if op == "<=" else value >= limit) else "missed"
        v.append({"target": name, "value": value, "op": op, "limit": limit, "verdict": state, "note": note})

    if R.get("mode") == "only-fast":
        v.clear()
        fast_verdicts(R, add)
        return v
    add("/smaps ÷ floor smaps (10k regions)", ratio(med(H.get("/smaps")), med(F.get("smaps"))), "<=", T_SMAPS_FLOOR)
    def psutil_note(psutil_ms, floor_ms):
        # What the target asks of memscope in units of the kernel's own read, so a miss that no reader
        # of smaps could avoid reads as such.
        x = ratio(psutil_ms, floor_ms)
        return (f"psutil itself costs {x:.2f}× the floor read of smaps: {T_SMAPS_PSUTIL:.0f}× faster than psutil "
                f"means /smaps at {x / T_SMAPS_PSUTIL:.2f}× the floor") if x else ""

    add("psutil memory_maps ÷ /smaps (10k regions)", ratio(med(P.get("memory_maps")), med(H.get("/smaps"))), ">=", T_SMAPS_PSUTIL,
        psutil_note(med(P.get("memory_maps")), med(F.get("smaps"))))
    sr = R.get("scale_regions", {}).get("100000")
    if sr:
        add("/smaps ÷ floor smaps (100k regions)", ratio(med(sr.get("http_smaps")), med(sr.get("floor_smaps"))), "<=", T_SMAPS_FLOOR)
        add("psutil memory_maps ÷ /smaps (100k regions)", ratio(med(sr.get("psutil_memory_maps")), med(sr.get("http_smaps"))), ">=", T_SMAPS_PSUTIL,
            psutil_note(med(sr.get("psutil_memory_maps")), med(sr.get("floor_smaps"))))
        s10 = R["scale_regions"].get("10000", {})
        g = ratio(med(sr.get("http_smaps")), med(s10.get("http_smaps")))
        gf = ratio(med(sr.get("floor_smaps")), med(s10.get("floor_smaps")))
        lim = max(10 * LINEAR_SLACK, (gf or 0) * 1.1)
        add("/smaps growth 10k → 100k regions (linear: ≤ 12.5×, or the floor's own growth +10%)", g, "<=", lim,
            f"floor grew {gf:.1f}×" if gf else "")
    add("/maps ÷ floor maps", ratio(med(H.get("/maps")), med(F.get("maps"))), "<=", T_MAPS_FLOOR)
    add("/pagemap (scan) ÷ PAGEMAP_SCAN floor", ratio(med(H.get("/pagemap scan")), med(F.get("pagemap_scan"))), "<=", T_PAGEMAP_FLOOR)
    add("/pagemap (pread fallback) ÷ batched pread floor", ratio(med(H.get("/pagemap pread")), med(F.get("pagemap_pread"))), "<=", T_PAGEMAP_FLOOR)
    for g, r in R.get("scale_range", {}).items():
        add(f"/pagemap (scan) ÷ floor, {g} GiB range", ratio(med(r.get("http_scan")), med(r.get("floor_scan"))), "<=", T_PAGEMAP_FLOOR)
        add(f"/pagemap (pread) ÷ floor, {g} GiB range", ratio(med(r.get("http_pread")), med(r.get("floor_pread"))), "<=", T_PAGEMAP_FLOOR)
    W = R.get("wrk", {})
    def clean_rps(w):
        return w.get("rps") if w and not w.get("non_2xx") and w.get("requests") else None
    add("/processes req/s ÷ Glances processlist req/s (wrk)",
        ratio(clean_rps(W.get("/processes")), clean_rps(W.get("glances"))), ">=", T_PROCESSES_GLANCES,
        "both answer from a list at most 1 s old: memscope --list-cache-ms 1000 (its default), Glances -t 1")
    rss = R.get("rss")
    if rss and rss.get("failed"):
        rss = None                  # the load did not complete: no verdict on growth
    add("memscoped idle VmRSS (MiB)", rss["idle"] / MIB if rss else None, "<=", T_RSS_IDLE / MIB)
    add(f"memscoped VmRSS growth after {rss['requests'] if rss else '?'} requests (vs idle)",
        rss["growth_vs_idle"] if rss else None, "<=", T_RSS_GROWTH,
        f"vs after the first 1,000 requests: {rss['growth_vs_warm']:+.1%}" if rss else "")
    fast_verdicts(R, add)
    return v


def fast_verdicts(R, add):
    for n, lim in (("10000", T_MAPS_RSS_SMAPS), ("100000", T_MAPS_RSS_SMAPS_100K)):
        r = R.get("maps_rss", {}).get(n)
        if r:
            chk = r.get("check") or {}
            cpus = "; ".join(f"smaps on {c}: {fms(ms)} ms" for c, ms in floor_per_cpu(r))
            add(f"/maps?rss=1 ÷ floor smaps ({int(n) // 1000}k regions), per turn",
                r.get("turn_ratio_median"), "<=", lim,
                (f"the floor the mean of a read on each CPU ({cpus}); " if cpus else "")
                + (f"rss == smaps' Rss in all {chk.get('regions')} regions in this run" if chk.get("equal")
                   else "rss differed from smaps' Rss: see Broken"))
    w = R.get("wss", {})
    a, c = w.get("accuracy"), w.get("regions")
    if a:
        dev = abs(a["hot_referenced"] / a["want"] - 1) if a.get("hot_referenced") is not None else None
        add("/wss on the accuracy subject: deviation of referenced from the 64 MiB it reads", dev, "<=", T_WSS_ACCURACY,
            f"{a['hot_referenced']} bytes referenced of 64 MiB read; the idle region: {a['idle_referenced']} referenced "
            f"of {a['idle_rss']} resident; interval {a['measured_interval_ms']:.0f} ms")
    p = R.get("pss")
    if p and "cpu_share" in p:
        add(f"PSS/USS of every process ({p['processes']}) every {p['period_s']} s: memscoped CPU (history sampler off), share of one core",
            p["cpu_share"], "<=", T_PSS_CPU_SHARE,
            f"all of memscoped, the list re-read included; the rollup reads alone (the requests' cpu_ms): "
            f"{pss_part_share(p):.2%}; cold first request: {p['cold']['memscoped_cpu_s'] * 1000:.0f} ms CPU, "
            f"{p['cold']['fresh']} rollups read")


def pss_part_share(p):
    """The share of one core spent reading rollups (each request's own cpu_ms) over the steady periods."""
    return sum(r["cpu_ms"] or 0 for r in p["steady"]) / 1000 / (p["periods"] * p["period_s"])


def fms(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def frow(name, d, floor_ms=None, what=""):
    if not isinstance(d, dict) or "median_ms" not in d:
        d = d if isinstance(d, dict) else {}
        why = d.get("skipped") or d.get("error") or d.get("unsupported") or "not measured"
        return f"| {name} | {what} | – | – | – | {why} |"
    r = ratio(d["median_ms"], floor_ms)
    size = d.get("bytes")
    return (f"| {name} | {what} | {fms(d['median_ms'])} | {fms(d['p10_ms'])}–{fms(d['p90_ms'])} "
            f"(min {fms(d['min_ms'])}, max {fms(d['max_ms'])}, n={d['n']}) | "
            f"{'%.2f×' % r if r else '–'} | {human(size) if size is not None else ''} |")


def human(n):
    for u in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or u == "GiB":
            return f"{n:.0f} {u}" if u == "B" else f"{n:.1f} {u}"
        n /= 1024


def report(R):
    M = R["machine"]
    F, H, P = R.get("floor", {}), R.get("http", {}), R.get("psutil", {})
    L = []
    L.append(f"# memscope benchmark ({R['mode']} run)\n")
    L.append(f"Ran {M['date_utc']} on {M['cpu']}, {M['cores']} cores, {human(M['mem_bytes'])} RAM, "
             f"kernel {M['kernel']}, Debian {M['debian']}, THP `{M['thp']}`, {M['procs']} processes, "
             f"load average {' '.join(M['loadavg_start'])} at start and {' '.join(M['loadavg_end'])} at end "
             f"(a shared machine: read ratios, not absolute times). memscope commit {M['commit']}; "
             f"psutil {M['psutil']}; {R.get('glances', {}).get('version', 'Glances not run')}. "
             f"The run took {R['duration_s']} s. Produced by `bench/run.sh{' --short' if R['mode'] == 'short' else ''}`.\n")
    s = R["subject"]
    L.append(f"Subject: `memscope-subject --regions {s['regions']} --heap {s['heap'] // GIB}G --heap-write "
             f"{s['heap_write'] // MIB}M --heap-read {s['heap_read'] // MIB}M` ({s['maps_lines']} lines in maps; "
             f"heap range {s['heap_range'][0]}–{s['heap_range'][1]}, MADV_NOHUGEPAGE). "
             f"Times are wall-clock medians of {R['reps']['c']} runs for the floor and HTTP, "
             f"{R['reps']['peers']} for the peers, each after one warm-up; spread is p10–p90.\n")

    L.extend(targets_table(R))
    L.append("## Side by side (10,000-region subject)\n")
    L.append("| what | does | median ms | spread ms | × its floor | answer size |\n|---|---|---|---|---|---|")
    L.append(frow("floor: read smaps", F.get("smaps"), None, "open + 1 MiB reads to EOF"))
    L.append(frow("floor: read maps", F.get("maps"), None, "open + 1 MiB reads to EOF"))
    L.append(frow("floor: read smaps_rollup", F.get("smaps_rollup"), None, "open + read to EOF"))
    L.append(frow("floor: PAGEMAP_SCAN walk", F.get("pagemap_scan"), None, "heap range, page counts"))
    L.append(frow("floor: batched pread walk", F.get("pagemap_pread"), None, "heap range, 512 KiB preads"))
    L.append(frow("memscope GET /maps", H.get("/maps"), med(F.get("maps")), "vs floor maps"))
    L.append(frow("memscope GET /smaps", H.get("/smaps"), med(F.get("smaps")), "vs floor smaps"))
    L.append(frow("memscope GET /processes/PID", H.get("/processes/PID"), med(F.get("smaps_rollup")), "vs floor smaps_rollup"))
    L.append(frow("memscope GET /pagemap method=scan", H.get("/pagemap scan"), med(F.get("pagemap_scan")), "vs PAGEMAP_SCAN floor"))
    L.append(frow("memscope GET /pagemap method=pread", H.get("/pagemap pread"), med(F.get("pagemap_pread")), "vs pread floor"))
    L.append(frow("floor: read status, stat, cmdline of every process", F.get("all_processes"), None,
                  f"{F.get('all_processes', {}).get('processes', '?')} processes"))
    L.append(frow("memscope GET /processes", H.get("/processes"), med(F.get("all_processes")), "vs floor of every process"))
    L.append(frow("psutil memory_maps(grouped=False)", P.get("memory_maps"), med(F.get("smaps")), "vs floor smaps"))
    L.append(frow("psutil memory_full_info()", P.get("memory_full_info"), med(F.get("smaps_rollup")), "vs floor smaps_rollup"))
    L.append(frow("pmap -XX PID", R.get("pmap"), med(F.get("smaps")), "whole command, vs floor smaps"))
    L.append(frow("smem -P SUBJECT", R.get("smem"), med(F.get("smaps")), "whole command, vs floor smaps"))
    L.append(frow("Glances GET processlist (sequential)", R.get("glances", {}).get("sequential"), None,
                  f"{R.get('glances', {}).get('url_path', '')}, cached, refresh 1 s"))
    L.append("")

    L.append("## memscope against each peer (same work, ratio = peer ÷ memscope: how many times faster memscope is)\n")
    L.append("| peer | memscope route | peer ms | memscope ms | ratio |\n|---|---|---|---|---|")
    pairs = [("psutil memory_maps(grouped=False)", P.get("memory_maps"), "/smaps"),
             ("pmap -XX", R.get("pmap"), "/smaps"),
             ("psutil memory_full_info()", P.get("memory_full_info"), "/processes/PID"),
             ("smem (one process)", R.get("smem"), "/processes/PID"),
             ("Glances processlist (sequential)", R.get("glances", {}).get("sequential"), "/processes")]
    for name, pd, route in pairs:
        r = ratio(med(pd), med(H.get(route)))
        L.append(f"| {name} | {route} | {fms(med(pd))} | {fms(med(H.get(route)))} | {'%.1f×' % r if r else '–'} |")
    L.append("")

    W = R.get("wrk", {})
    if W:
        L.append("## Throughput under load (wrk, loopback, 2 threads, 8 connections; client and server share the 2 cores)\n")
        L.append("| URL | req/s | p50 ms | p75 ms | p90 ms | p99 ms | requests | non-2xx |\n|---|---|---|---|---|---|---|---|")
        for k, w in W.items():
            if "rps" not in w:
                L.append(f"| {k} | {w.get('skipped') or w.get('error')} | | | | | | |")
                continue
            L.append(f"| {k} | {w['rps']:.0f} | {fms(w['p50_ms'])} | {fms(w['p75_ms'])} | {fms(w['p90_ms'])} | "
                     f"{fms(w['p99_ms'])} | {w['requests']} | {w['non_2xx']} |")
        L.append("")

    if R.get("scale_regions"):
        L.append("## How cost grows: /smaps by number of regions (heap 64 MiB)\n")
        L.append("| regions | floor smaps ms | /smaps ms | ÷ floor | psutil memory_maps ms | psutil ÷ /smaps | /smaps µs per region |\n"
                 "|---|---|---|---|---|---|---|")
        for n, r in R["scale_regions"].items():
            fl, h, p = med(r.get("floor_smaps")), med(r.get("http_smaps")), med(r.get("psutil_memory_maps"))
            L.append(f"| {int(n):,} ({r['maps_lines']} lines) | {fms(fl)} | {fms(h)} | {fmt_x(ratio(h, fl))} | {fms(p)} | "
                     f"{fmt_x(ratio(p, h))} | {fms(h * 1000 / r['maps_lines']) if h else '–'} |")
        L.append("")
    if R.get("scale_range"):
        L.append("## How cost grows: /pagemap by range (256 MiB written + 128 MiB read at the start of the range)\n")
        L.append("| range | floor scan ms | /pagemap scan ms | ÷ floor | floor pread ms | /pagemap pread ms | ÷ floor |\n"
                 "|---|---|---|---|---|---|---|")
        for g, r in R["scale_range"].items():
            a, b, c, d = med(r.get("floor_scan")), med(r.get("http_scan")), med(r.get("floor_pread")), med(r.get("http_pread"))
            L.append(f"| {g} GiB | {fms(a)} | {fms(b)} | {fmt_x(ratio(b, a))} | {fms(c)} | {fms(d)} | {fmt_x(ratio(d, c))} |")
        L.append("")
    rss = R.get("rss")
    if rss:
        L.append("## memscoped's own memory (VmRSS)\n")
        L.append(f"Idle (fresh, 1 s after start): {rss['idle'] / MIB:.2f} MiB; after the first 1,000 requests: "
                 f"{rss['after_1000'] / MIB:.2f} MiB; after {rss['requests']:,} requests ({rss['load_seconds']} s, two "
                 f"keep-alive clients, a mix of every route including errors): {rss['after_load'] / MIB:.2f} MiB "
                 f"({rss['growth_vs_idle']:+.1%} vs idle, {rss['growth_vs_warm']:+.1%} vs after 1,000); peak (VmHWM) "
                 f"{rss['hwm'] / MIB:.2f} MiB." + (" Some load requests failed: no verdict on growth." if rss.get("failed") else "") + "\n")
    L.extend(fast_sections(R))
    return report_end(R, L)


def targets_table(R):
    L = []
    L.append("## Targets\n")
    L.append("| target | measured | limit | verdict | note |\n|---|---|---|---|---|")
    for v in R["verdicts"]:
        val = v["value"]
        share = "share of one core" in v["target"]
        shown = "–" if val is None else (f"{val:+.1%}" if "growth" in v["target"] and "VmRSS" in v["target"]
                                         else f"{val:.2%}" if share
                                         else f"{val:.2f}" if "MiB" in v["target"] else f"{val:.2f}×")
        lim = f"{v['limit']:.0%}" if "VmRSS growth" in v["target"] or share else (
            f"{v['limit']:.2f}" if "MiB" in v["target"] else f"{v['limit']:.2f}×")
        mark = {"met": "**met**", "missed": "**MISSED**"}.get(v["verdict"], v["verdict"])
        L.append(f"| {v['target']} | {shown} | {v['op']} {lim} | {mark} | {v['note']} |")
    L.append("")
    return L


def report_end(R, L):
    if R.get("broken"):
        L.append("## Broken\n")
        L.extend(f"- {b}" for b in R["broken"])
        L.append("")
    return "\n".join(L) + "\n"


def fast_sections(R):
    L = []
    if R.get("maps_rss"):
        L.append("## Resident bytes per region below smaps: /maps?rss=1 (maps + PAGEMAP_SCAN)\n")
        L.append("The floor's read of `smaps` and the answers were taken strictly in turns (`msbench turns --both-cpus`: "
                 "the floor read once on each CPU, then one GET of each route, repeated); a turn's floor is the "
                 "mean of its two reads, because this VM's two vCPUs run the same work at different speeds "
                 "(smaps 19 against 30 ms in the same minute) and memscoped answers on whichever the scheduler "
                 "picks. \"per turn\" is the median of the turns' own ratios (the verdict).\n")
        L.append("| regions | floor smaps ms | /maps?rss=1 ms | ÷ floor smaps (medians) | per turn | /maps?rss=1&method=smaps ms | ÷ floor smaps, per turn | rss == Rss | /maps?rss=1&pss=1 ms | ÷ floor smaps, per turn | pss == Pss |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|")
        for n, r in R["maps_rss"].items():
            fl, q, sm = med(r.get("floor_smaps")), med(r.get("/maps?rss=1")), med(r.get("/maps?rss=1&method=smaps"))
            ps = med(r.get("/maps?rss=1&pss=1"))
            chk, cp = r.get("check") or {}, r.get("check_pss") or {}
            pss_eq = ("yes, " + str(cp.get("regions")) + " regions" if cp.get("equal") else
                      cp.get("note", "NO") if cp else "skipped: no CAP_SYS_ADMIN to read frame numbers")
            tr = r.get("turns") or {}
            L.append(f"| {int(n):,} ({r['maps_lines']} lines) | {fms(fl)} | {fms(q)} | {fmt_x(ratio(q, fl))} | "
                     f"{fmt_x(r.get('turn_ratio_median'))} | {fms(sm)} | "
                     f"{fmt_x(tr.get('/maps?rss=1&method=smaps') or ratio(sm, fl))} | {'yes, ' + str(chk.get('regions')) + ' regions' if chk.get('equal') else 'NO'} | "
                     f"{fms(ps)} | {fmt_x(tr.get('/maps?rss=1&pss=1') or ratio(ps, fl))} | {pss_eq} |")
        L.append("")
        L.append("What the route asks of the kernel, timed alone (`msbench kernel`: maps read to the end, one "
                 "`PAGEMAP_SCAN` walk with the route's masks, and smaps, in turns on each CPU): "
                 + "; ".join(f"{int(n):,} regions, " + ", ".join(
                     f"{c}: {fms(v['maps_ms'])} + {fms(v['scan_ms'])} ms against {fms(v['smaps_ms'])} ({fmt_x(v['ratio'])})"
                     for c, v in (r.get("kernel") or {}).items() if c.startswith("cpu"))
                     for n, r in R["maps_rss"].items()) + ". No answer that makes these two reads one after the other can cost less.\n")
        L.append("The floor on each CPU (medians of its reads): "
                 + "; ".join(f"{int(n):,} regions: " + ", ".join(f"{c} {fms(ms)} ms" for c, ms in floor_per_cpu(r))
                             for n, r in R["maps_rss"].items()) + ".")
        L.append("")
    p = R.get("pss")
    if p and "steady" in p:
        L.append(f"## PSS and USS of every process on a budget (/processes?fields=pss,uss every {p['period_s']} s)\n")
        L.append(f"{p['processes']} processes ({p['subjects']} idle subjects plus the machine's own). The first request "
                 f"read {p['cold']['fresh']} rollups in {p['cold']['cpu_ms']:.0f} ms of the request's CPU "
                 f"(memscoped used {p['cold']['memscoped_cpu_s'] * 1000:.0f} ms in all, the list included). Then, "
                 f"over {p['periods']} periods, memscoped used **{p['cpu_share']:.2%} of one core** (user + system, "
                 f"from its stat, {p['clk_tck']} ticks/s: the list re-read included).\n")
        L.append("| request | fresh | cached | skipped | none | failed | cpu_ms |\n|---|---|---|---|---|---|---|")
        for i, r in enumerate(p["steady"]):
            L.append(f"| {i + 1} | {r['fresh']} | {r['cached']} | {r['skipped']} | {r['none']} | {r['failed']} | {fms(r['cpu_ms'])} |")
        L.append("")
    return L


def wss_section(R):
    c = R.get("wss", {}).get("regions")
    if not c:
        return []
    k = c["cost"]
    return ["## Working set: /wss on the 10,000-region subject\n",
            f"What the route reports of its own cost (interval {c['measured_interval_ms']:.0f} ms, {c['count']} regions): "
            f"kernel {k['kernel_ms']:.1f} ms (clear_refs {k['clear_refs_kernel_ms']:.1f} ms, the smaps read "
            f"{k['smaps_kernel_ms']:.1f} ms), memscoped {k['user_ms']:.1f} ms of user time. No limit is set for it; "
            f"its accuracy is the target above.\n"]


def report_fast(R):
    M = R["machine"]
    L = [f"# memscope benchmark: below smaps (bench/run.sh --only-fast)\n",
         f"Ran {M['date_utc']} on {M['cpu']}, {M['cores']} cores, kernel {M['kernel']}, {M['procs']} processes, "
         f"load average {' '.join(M['loadavg_start'])} at start and {' '.join(M['loadavg_end'])} at end "
         f"(a shared machine: read ratios, not absolute times). memscope commit {M['commit']}. "
         f"The run took {R['duration_s']} s. Times are wall-clock medians; the floor and memscope take turns.\n",
         ]
    L.extend(targets_table(R))
    L.extend(wss_section(R))
    L.extend(fast_sections(R))
    return report_end(R, L)


def fmt_x(r):
    return f"{r:.2f}×" if r else "–"


if __name__ == "__main__":
    sys.exit(main())
