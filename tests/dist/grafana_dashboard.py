#!/usr/bin/env python3
"""grafana_dashboard.py - every query of the shipped Grafana dashboard names series that a real
memscoped's /metrics contains.

The dashboard's PromQL (panel targets and the template variables' label_values()) is read with a
small lexer: metric names are the identifiers that are neither functions, keywords nor label names;
the labels a selector matches on ({name!="other"}) and groups by (by, without, on, ignoring,
group_left, group_right) must be labels of those metrics' samples.  Series and labels that
Prometheus itself adds at scrape time (up, scrape_*, instance, job) are the only names not looked up.

So that every family the dashboard uses has samples, memscoped runs as nobody (a root process's
smaps_rollup is then refused: memscope_process_pss_unreadable), with two tiny processes pinned by
--metrics-match (one of root's, one of nobody's whose PSS it reads), and a memory cgroup with a
limit pinned by --metrics-match cgroup=.

Usage: grafana_dashboard.py DASHBOARD.json MEMSCOPED SUBJECT   (exit 77: cannot apply here)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
# What Prometheus adds to every target's series, and the series it records per scrape
# (https://prometheus.io/docs/concepts/jobs_instances/): not in any exporter's own text.
PROM_LABELS = {"instance", "job", "__name__"}
PROM_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
               "scrape_samples_post_metric_relabeling", "scrape_series_added"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "atan2", "inf", "nan"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<dur>\d+(?:\.\d+)?(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*\b)
  | (?P<num>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+))
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}@])
""", re.X)


def tokens(expr):
    # Grafana's variables: an interval, or a value inside a string (left as is there).
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    out, pos = [], 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot lex {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def parse(expr):
    """The metric selectors of expr as (metric, {label,...}), and the grouping labels."""
    t = tokens(expr)
    selectors, grouping = [], set()
    i = 0
    while i < len(t):
        kind, text = t[i]
        nxt = t[i + 1][1] if i + 1 < len(t) else None
        if kind == "ident" and text in GROUPING:
            if nxt == "(":
                j = i + 2
                while t[j][1] != ")":
                    if t[j][0] == "ident":
                        grouping.add(t[j][1])
                    j += 1
                i = j + 1
            else:
                i += 1
            continue
        if kind == "ident" and (nxt == "(" or text.lower() in KEYWORDS or text in AGGREGATIONS):
            i += 1   # a function or an aggregation
            continue
        if (kind == "ident") or (kind == "op" and text == "{"):
            name = text if kind == "ident" else None
            labels = set()
            j = i + 1 if kind == "ident" else i
            if j < len(t) and t[j][1] == "{":
                j += 1
                while t[j][1] != "}":
                    lab, op, val = t[j], t[j + 1], t[j + 2]
                    if lab[0] != "ident" or op[1] not in ("=", "!=", "=~", "!~") or val[0] != "str":
                        raise ValueError(f"bad matcher in {expr!r}")
                    if lab[1] == "__name__" and op[1] == "=":
                        name = val[1][1:-1]
                    else:
                        labels.add(lab[1])
                    j += 3
                    if t[j][1] == ",":
                        j += 1
                j += 1
            if name is None:
                raise ValueError(f"a selector without a metric name in {expr!r}")
            selectors.append((name, labels))
            i = j
            continue
        i += 1
    return selectors, grouping


def queries(dash):
    """(where, PromQL) of every panel target, and (where, metric selector, label) of each
    label_values() variable."""
    exprs, label_values = [], []

    def walk(panels):
        for p in panels:
            for tg in p.get("targets", []):
                exprs.append((f"panel '{p.get('title')}' {tg.get('refId')}", tg["expr"]))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\)\s*", q)
        if m:
            label_values.append((f"variable ${v['name']}", m.group(1), m.group(2)))
        else:
            exprs.append((f"variable ${v['name']}", re.sub(r"^\s*query_result\((.*)\)\s*$", r"\1", q)))
    return exprs, label_values


def scrape_labels(text):
    """metric name -> the label names its samples carry (families without samples are absent)."""
    seen = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s", line)
        if not m:
            continue
        labels = set(re.findall(r'([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"', m.group(2) or ""))
        seen.setdefault(m.group(1), set()).update(labels)
    return seen


def limited_cgroup(name):
    """A memory cgroup with a 1 GiB limit: (its directory, its procs file, its path as memscoped
    names it), or None where none can be made."""
    for root, limit_file, procs in (("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "cgroup.procs"),
                                    ("/sys/fs/cgroup", "memory.max", "cgroup.procs")):
        try:
            if limit_file == "memory.max":
                with open(os.path.join(root, "cgroup.subtree_control")) as f:
                    if "memory" not in f.read().split():
                        continue
            d = os.path.join(root, name)
            os.mkdir(d)
            with open(os.path.join(d, limit_file), "w") as f:
                f.write(str(1 << 30))
            return d, os.path.join(d, procs), "/" + name
        except OSError:
            continue
    return None


def main():
    dash_path, memscoped, subject = (os.path.abspath(a) for a in sys.argv[1:4])
    with open(dash_path) as f:
        dash = json.load(f)
    exprs, label_values = queries(dash)
    if not exprs:
        print("the dashboard has no queries")
        return 1
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("skipped, because memscoped is run as nobody (setpriv, as root) so that unreadable PSS has samples")
        return SKIP

    tag = f"ms-grafana-{os.getpid()}"
    comm = f"msgf{os.getpid() % 100000}r"
    tmp = tempfile.mkdtemp(prefix="memscope-grafana-")
    cg = limited_cgroup(tag)
    procs = []
    try:
        if cg is None:
            print("skipped, because no memory cgroup could be made here (cgroup v1 memory or v2 with memory "
                  "delegated): memscope_cgroup_limit_bytes would have no samples")
            return SKIP
        link = os.path.join(tmp, comm)
        os.symlink(subject, link)
        subj = subprocess.Popen([link, "--pages", "16", "--write", "16"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        procs.append(subj)
        subj.stdout.readline()
        with open(cg[1], "w") as f:
            f.write(str(subj.pid))
        os.chmod(tmp, 0o755)
        # A second one of nobody's own, whose PSS the nobody memscoped can read.
        own_comm = comm[:-1] + "n"
        own_link = os.path.join(tmp, own_comm)
        os.symlink(subject, own_link)
        own = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", own_link,
                                "--pages", "16", "--write", "16"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs.append(own)
        own.stdout.readline()
        srv = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", memscoped,
                                "--listen", "127.0.0.1:0", "--data-dir", "none",
                                "--metrics-match", f"comm=^({comm}|{own_comm})$", "--metrics-match", f"cgroup=^{cg[2]}$"],
                               stderr=subprocess.PIPE, text=True)
        procs.append(srv)
        port = None
        deadline = time.time() + 20
        while port is None and time.time() < deadline:
            line = srv.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            port = m and m.group(1)
        if not port:
            print("memscoped did not start")
            return 1
        # The request counters have samples once a request has been answered (and counted, just
        # after its reply went out): ask for health, then scrape until they show.
        base = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(f"{base}/api/v1/health", timeout=60).read()
        for _ in range(20):
            with urllib.request.urlopen(f"{base}/metrics", timeout=60) as r:
                present = scrape_labels(r.read().decode())
            if "memscope_http_requests_total" in present:
                break
            time.sleep(0.2)

        failures, checked = [], 0

        def need(where, metric, labels):
            nonlocal checked
            checked += 1
            if metric in PROM_SERIES:
                return
            if metric not in present:
                failures.append(f"{where}: {metric} is not in the scrape")
                return
            for lab in labels - PROM_LABELS - present[metric]:
                failures.append(f"{where}: {metric} has no label {lab}")

        for where, expr in exprs:
            sels, grouping = parse(expr)
            if not sels:
                failures.append(f"{where}: no metric in {expr!r}")
            for metric, labels in sels:
                need(where, metric, labels)
            have = set().union(*(present.get(m, set()) for m, _ in sels)) | PROM_LABELS
            for lab in grouping - have:
                failures.append(f"{where}: grouping label {lab} is on none of {sorted(m for m, _ in sels)}")
        for where, sel, lab in label_values:
            sels, _ = parse(sel)
            for metric, labels in sels:
                need(where, metric, labels | {lab})
        for f in failures:
            print(f)
        print(f"{len(exprs)} queries and {len(label_values)} variables, {checked} selectors against "
              f"{len(present)} metrics scraped: {len(failures)} problems")
        return 1 if failures else 0
    finally:
        for p in reversed(procs):
            if p.stdin:
                p.stdin.close()   # the subject ends when its stdin closes
            else:
                p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if cg:
            for _ in range(50):
                try:
                    os.rmdir(cg[0])
                    break
                except OSError:
                    time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
