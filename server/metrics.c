/* metrics.c - GET /metrics: memscoped's own figures and the memory of the biggest processes, in the
 * Prometheus text exposition format (0.0.4), for a Prometheus that scrapes every node.
 *
 * What a scrape costs, and so what is exported:
 *   - the process list is status + stat + cmdline per process (what GET /processes reads), never
 *     smaps: a few hundred microseconds per thousand processes;
 *   - per-process gauges only for the top N by RSS (--metrics-top, 1..200, default 20), which keeps
 *     both the work and the label cardinality bounded whatever the machine runs;
 *   - PSS and USS need smaps_rollup, whose cost grows with the process's number of mappings (the
 *     kernel walks every VMA under the mmap lock).  So they are read for those top N only, and only
 *     until the scrape has spent METRICS_ROLLUP_BUDGET on them: past that, the remaining processes
 *     get rss/swap/virtual but no pss/uss series, and memscope_metrics_rollups_skipped_total says
 *     so.  An unreadable rollup (no ptrace access, process gone) likewise drops only pss/uss for that
 *     process and is counted in memscope_process_read_errors_total{reason}.
 *
 * Every family is written whole (HELP, TYPE, its samples) before the next, as the format requires. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/smaps.h"
#include "core/status.h"
#include "experiments.h"
#include "http.h"
#include "jw.h"
#include "metrics.h"
#include "oomwatch.h"
#include "routes_fast.h"

#define METRICS_ROLLUP_BUDGET_NS (250 * 1000 * 1000ull)
#define METRICS_MAX_ROUTES 256

/* ---- counters fed by other modules ---- */

static atomic_uint_fast64_t read_errors[MS_ERR__COUNT];
static atomic_uint_fast64_t rollups_skipped;

/* The reasons a read of someone else's /proc files fails for reasons not the client's; each is
 * always exported (at 0 too) so rate() works from the first scrape. */
static const ms_err read_error_reasons[] = {
    MS_ERR_NOENT, MS_ERR_PERM, MS_ERR_IO, MS_ERR_PARSE, MS_ERR_TOOBIG, MS_ERR_UNSUPPORTED, MS_ERR_NOMEM,
};

void metrics_count_read_error(ms_err e)
{
    for (size_t i = 0; i < sizeof read_error_reasons / sizeof read_error_reasons[0]; i++)
        if (read_error_reasons[i] == e) {
            atomic_fetch_add_explicit(&read_errors[e], 1, memory_order_relaxed);
            return;
        }
}

/* Requests answered, by route pattern and status, and their latencies.  Guarded by stats_lock. */
typedef struct {
    const char *route;
    unsigned status;
    uint64_t count;
} request_stat;

#define REQUEST_STATS_MAX 256
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static request_stat stats[REQUEST_STATS_MAX];
static size_t nstats;

/* The latency histogram's bucket bounds (seconds). */
static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static const size_t nlatency_bounds = sizeof latency_bounds / sizeof latency_bounds[0];
static uint64_t lat_buckets[sizeof latency_bounds / sizeof latency_bounds[0]];
static double lat_sum;
static uint64_t lat_count;

void metrics_count_request(const char *route, unsigned status, double seconds)
{
    pthread_mutex_lock(&stats_lock);
    size_t i;
    for (i = 0; i < nstats; i++)
        if (stats[i].status == status && stats[i].route == route)
            break;
    if (i == nstats && nstats < REQUEST_STATS_MAX) {
        stats[i].route = route;
        stats[i].status = status;
        stats[i].count = 0;
        nstats++;
    }
    if (i < nstats)
        stats[i].count++;
    for (size_t b = 0; b < nlatency_bounds; b++)
        if (seconds <= latency_bounds[b])
            lat_buckets[b]++;
    lat_sum += seconds;
    lat_count++;
    pthread_mutex_unlock(&stats_lock);
}

/* Copies up to n (route, status, count) rows; returns the number of rows. */
static size_t requests_snapshot(request_stat *out, size_t n)
{
    pthread_mutex_lock(&stats_lock);
    size_t k = nstats < n ? nstats : n;
    memcpy(out, stats, k * sizeof *out);
    pthread_mutex_unlock(&stats_lock);
    return k;
}

/* Cumulative bucket counts for latency_bounds, their sum and count. */
static void latency_snapshot(uint64_t *buckets, double *sum, uint64_t *count)
{
    pthread_mutex_lock(&stats_lock);
    memcpy(buckets, lat_buckets, sizeof lat_buckets);
    *sum = lat_sum;
    *count = lat_count;
    pthread_mutex_unlock(&stats_lock);
}

/* ---- the text writer: append, remember the first failure ---- */

typedef struct {
    ms_buf *b;
    ms_err rc;
} mw;

static void put_n(mw *w, const char *s, size_t n)
{
    if (w->rc == MS_OK)
        w->rc = ms_buf_append(w->b, s, n);
}

static void put(mw *w, const char *s)
{
    put_n(w, s, strlen(s));
}

static void put_u64(mw *w, uint64_t v)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_n(w, d + i, sizeof d - i);
}

static void put_dbl(mw *w, double v)
{
    char d[40];
    int n = snprintf(d, sizeof d, "%.9g", v);
    if (n > 0 && (size_t)n < sizeof d)
        put_n(w, d, (size_t)n);
    else
        put(w, "NaN");
}

/* A label value: backslash, double quote and newline escaped as the format says; bytes that are not
 * UTF-8 (a process may name itself anything) become U+FFFD so the whole scrape stays parseable. */
static void put_label_value(mw *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;   /* [run, i) is text to copy as is */
    while (i < n) {
        const char *esc = NULL;
        size_t k = 1;
        if (p[i] == '\\') esc = "\\\\";
        else if (p[i] == '"') esc = "\\\"";
        else if (p[i] == '\n') esc = "\\n";
        else if ((k = jw_utf8_len(p + i, n - i)) == 0) { esc = "\xEF\xBF\xBD"; k = 1; }
        if (esc) {
            put_n(w, s + run, i - run);
            put(w, esc);
            run = i + k;
        }
        i += k;
    }
    put_n(w, s + run, n - run);
}

static void family(mw *w, const char *name, const char *type, const char *help)
{
    put(w, "# HELP ");
    put(w, name);
    put(w, " ");
    put(w, help);
    put(w, "\n# TYPE ");
    put(w, name);
    put(w, " ");
    put(w, type);
    put(w, "\n");
}

static void sample_u64(mw *w, const char *name, uint64_t v)
{
    put(w, name);
    put(w, " ");
    put_u64(w, v);
    put(w, "\n");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- memscoped's own figures ---- */

static void write_http(mw *w)
{
    request_stat *st = calloc(METRICS_MAX_ROUTES, sizeof *st);
    if (!st) {
        w->rc = MS_ERR_NOMEM;
        return;
    }
    size_t n = requests_snapshot(st, METRICS_MAX_ROUTES);
    family(w, "memscope_http_requests_total", "counter",
           "HTTP requests answered, by route pattern and status code.");
    for (size_t i = 0; i < n; i++) {
        put(w, "memscope_http_requests_total{route=\"");
        put_label_value(w, st[i].route, strlen(st[i].route));
        put(w, "\",code=\"");
        put_u64(w, st[i].status);
        put(w, "\"} ");
        put_u64(w, st[i].count);
        put(w, "\n");
    }
    free(st);

    uint64_t buckets[16], count;
    double sum;
    if (nlatency_bounds > sizeof buckets / sizeof buckets[0]) {
        w->rc = MS_ERR_TOOBIG;
        return;
    }
    latency_snapshot(buckets, &sum, &count);
    family(w, "memscope_http_request_duration_seconds", "histogram",
           "Time from a request's arrival to its reply being queued.");
    for (size_t i = 0; i < nlatency_bounds; i++) {
        char le[32];
        snprintf(le, sizeof le, "%g", latency_bounds[i]);
        put(w, "memscope_http_request_duration_seconds_bucket{le=\"");
        put(w, le);
        put(w, "\"} ");
        put_u64(w, buckets[i]);
        put(w, "\n");
    }
    put(w, "memscope_http_request_duration_seconds_bucket{le=\"+Inf\"} ");
    put_u64(w, count);
    put(w, "\nmemscope_http_request_duration_seconds_sum ");
    put_dbl(w, sum);
    put(w, "\nmemscope_http_request_duration_seconds_count ");
    put_u64(w, count);
    put(w, "\n");
}

static void write_counters(mw *w, server_ctx *srv)
{
    uint64_t running, refused;
    if (srv->exp) {
        ms_xmgr_counts(srv->exp, &running, &refused);
        family(w, "memscope_experiments_running", "gauge", "Experiments (memscope-lab processes) alive now.");
        sample_u64(w, "memscope_experiments_running", running);
        family(w, "memscope_experiments_refused_total", "counter",
               "Experiment starts refused because a limit would have been exceeded.");
        sample_u64(w, "memscope_experiments_refused_total", refused);
    }
    family(w, "memscope_process_read_errors_total", "counter",
           "Failed reads of a process's /proc files, by reason (no_such_process: it exited mid-read).");
    for (size_t i = 0; i < sizeof read_error_reasons / sizeof read_error_reasons[0]; i++) {
        ms_err e = read_error_reasons[i];
        put(w, "memscope_process_read_errors_total{reason=\"");
        put(w, ms_errcode(e));
        put(w, "\"} ");
        put_u64(w, atomic_load_explicit(&read_errors[e], memory_order_relaxed));
        put(w, "\n");
    }
    family(w, "memscope_metrics_rollups_skipped_total", "counter",
           "Top processes exported without pss/uss because a scrape's smaps_rollup time budget was spent.");
    sample_u64(w, "memscope_metrics_rollups_skipped_total", atomic_load_explicit(&rollups_skipped, memory_order_relaxed));
}

/* The conventional process_* family for memscoped itself, as every Prometheus client library
 * exports it, so the usual dashboards and alerts apply. */
static void write_self(mw *w, server_ctx *srv)
{
    ms_status st;
    ms_status_init(&st);
    int dirfd = -1;
    ms_err rc = ms_dir_open("/proc/self", &dirfd);
    if (rc == MS_OK)
        rc = ms_status_read(dirfd, &st);
    if (dirfd >= 0)
        close(dirfd);
    if (rc == MS_OK) {
        family(w, "process_resident_memory_bytes", "gauge", "Resident memory size of memscoped in bytes.");
        sample_u64(w, "process_resident_memory_bytes", st.vm_rss);
        family(w, "process_virtual_memory_bytes", "gauge", "Virtual memory size of memscoped in bytes.");
        sample_u64(w, "process_virtual_memory_bytes", st.vm_size);
    } else {
        metrics_count_read_error(rc);
    }
    ms_status_free(&st);

    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        family(w, "process_cpu_seconds_total", "counter", "User and system CPU time of memscoped in seconds.");
        put(w, "process_cpu_seconds_total ");
        put_dbl(w, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
        put(w, "\n");
    }

    family(w, "process_start_time_seconds", "gauge", "Start time of memscoped since the Unix epoch in seconds.");
    sample_u64(w, "process_start_time_seconds", (uint64_t)srv->started);

    DIR *d = opendir("/proc/self/fd");
    if (d) {
        uint64_t n = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        family(w, "process_open_fds", "gauge", "Open file descriptors of memscoped.");
        sample_u64(w, "process_open_fds", n - 1);   /* less the one opendir itself holds */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        family(w, "process_max_fds", "gauge", "Limit on open file descriptors of memscoped.");
        sample_u64(w, "process_max_fds", (uint64_t)rl.rlim_cur);
    }
}

/* ---- the top processes ---- */

typedef struct {
    int pid;
    char name[64];
    uint64_t rss, swap, vsz, pss, uss;
    bool has_rollup;
    char cgroup[MS_CG_PATH_MAX];  /* "" when unknown */
    char container[65];
} top_proc;

/* PSS and USS from smaps_rollup; false (and counted) when it cannot be read. */
static bool read_rollup(int pid, uint64_t *pss, uint64_t *uss, bool *gone)
{
    int dirfd = -1;
    ms_smaps s;
    ms_smaps_init(&s);
    ms_err rc = ms_pid_open(pid, &dirfd);
    if (rc == MS_OK)
        rc = ms_smaps_rollup_read(dirfd, &s);
    if (rc == MS_ERR_NOMM)
        rc = MS_ERR_NOENT;   /* a zombie now: as good as gone, like an empty rollup below */
    if (rc == MS_OK && s.maps.nregions > 0) {
        ms_smaps_totals t;
        ms_smaps_totals_of(&s, 0, s.maps.nregions, &t);
        *pss = t.v[MS_SF_PSS];
        *uss = ms_smaps_uss(&t);
        if (!t.seen[MS_SF_PSS])
            rc = MS_ERR_PARSE;
    } else if (rc == MS_OK) {
        rc = MS_ERR_NOENT;   /* an empty rollup: the process became a zombie or exited */
    }
    *gone = rc == MS_ERR_NOENT;
    /* A process that exited between the list and its rollup is the ordinary life of processes, not
     * a read that failed: it is left out of the scrape, and counting it would make the error counter
     * rise forever on a busy host. */
    if (rc != MS_OK && !*gone)
        metrics_count_read_error(rc);
    if (dirfd >= 0)
        close(dirfd);
    ms_smaps_free(&s);
    return rc == MS_OK;
}

/* The biggest `top` processes of l by RSS (sorts l). */
static ms_err collect_top(ms_proclist *l, unsigned top, top_proc **out, size_t *nout)
{
    ms_err rc = MS_OK;
    top_proc *t = NULL;
    size_t n = 0;
    ms_proclist_sort(l, MS_PSORT_VM_RSS, true);
    t = calloc(top ? top : 1, sizeof *t);
    if (!t) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < l->n && n < top; i++) {
        const ms_procinfo *p = &l->p[i];
        if (p->kernel_thread || p->vm_rss == 0)
            continue;
        top_proc *q = &t[n];
        q->pid = p->pid;
        memcpy(q->name, p->name, sizeof q->name);
        q->name[sizeof q->name - 1] = '\0';
        q->rss = p->vm_rss;
        q->swap = p->vm_swap;
        q->vsz = p->vm_size;
        snprintf(q->cgroup, sizeof q->cgroup, "%s", p->cgroup ? p->cgroup : "");
        memcpy(q->container, p->container.id, sizeof q->container);
        if (now_ns() - t0 < METRICS_ROLLUP_BUDGET_NS) {
            bool gone;
            q->has_rollup = read_rollup(p->pid, &q->pss, &q->uss, &gone);
            if (gone)
                continue;   /* exited since the list was read: leave it out */
        } else {
            atomic_fetch_add_explicit(&rollups_skipped, 1, memory_order_relaxed);
        }
        n++;
    }
    *out = t;
    *nout = n;
    t = NULL;
out:
    free(t);
    return rc;
}

enum { G_RSS, G_PSS, G_USS, G_SWAP, G_VIRTUAL, G__COUNT };

static void write_top(mw *w, const top_proc *t, size_t n)
{
    static const struct {
        const char *name, *help;
    } g[G__COUNT] = {
        [G_RSS] = {"memscope_process_rss_bytes", "Resident set size (VmRSS) of a top process by RSS."},
        [G_PSS] = {"memscope_process_pss_bytes", "Proportional set size (smaps_rollup Pss) of a top process by RSS."},
        [G_USS] = {"memscope_process_uss_bytes",
                   "Unique set size (smaps_rollup Private_Clean + Private_Dirty + Private_Hugetlb) of a top process by RSS."},
        [G_SWAP] = {"memscope_process_swap_bytes", "Swapped-out memory (VmSwap) of a top process by RSS."},
        [G_VIRTUAL] = {"memscope_process_virtual_bytes", "Virtual memory size (VmSize) of a top process by RSS."},
    };
    for (int k = 0; k < G__COUNT; k++) {
        family(w, g[k].name, "gauge", g[k].help);
        for (size_t i = 0; i < n; i++) {
            const top_proc *q = &t[i];
            uint64_t v;
            switch (k) {
            case G_RSS: v = q->rss; break;
            case G_PSS: v = q->pss; break;
            case G_USS: v = q->uss; break;
            case G_SWAP: v = q->swap; break;
            default: v = q->vsz; break;
            }
            if ((k == G_PSS || k == G_USS) && !q->has_rollup)
                continue;
            put(w, g[k].name);
            put(w, "{pid=\"");
            put_u64(w, (uint64_t)q->pid);
            put(w, "\",name=\"");
            put_label_value(w, q->name, strlen(q->name));
            put(w, "\",cgroup=\"");
            put_label_value(w, q->cgroup, strlen(q->cgroup));
            put(w, "\",container=\"");
            put_label_value(w, q->container, strlen(q->container));
            put(w, "\"} ");
            put_u64(w, v);
            put(w, "\n");
        }
    }
}

/* ---- name groups: every process, summed by comm ---- */

/* Per-process series come and go as processes change rank, start and exit; trends and alerts need
 * series that stay.  So every process (kernel threads aside) is also summed into its name group
 * (stat's comm): rss and swap from the list, pss and uss from the server's PSS cache (core/
 * psscache.h) within METRICS_PSS_BUDGET_NS of CPU.  A group's pss/uss are exported only when every
 * member has a figure (read now, or reused because the process has not moved since): a partial sum
 * would read as a drop.  How many processes' figures were fresh, cached, skipped (budget spent) or
 * failed is exported beside them, and the number of groups left without pss/uss. */

#define METRICS_PSS_BUDGET_NS (100 * 1000 * 1000ull)

typedef struct {
    const char *name;
    uint64_t rss, swap, pss, uss, n;
    bool pss_complete;
} name_group;

typedef struct {
    const ms_procinfo *p;
    const ms_pss_result *r;
} ng_member;

static int cmp_member_name(const void *a, const void *b)
{
    const ng_member *x = a, *y = b;
    int c = strcmp(x->p->name, y->p->name);
    return c ? c : (x->p->pid > y->p->pid) - (x->p->pid < y->p->pid);
}

/* The groups of l, sorted by name, into *out (the caller frees it; names point into l). */
static ms_err group_by_name(const ms_proclist *l, const ms_pss_result *pss, name_group **out, size_t *nout)
{
    ms_err rc = MS_OK;
    ng_member *mem = malloc((l->n ? l->n : 1) * sizeof *mem);
    name_group *g = calloc(l->n ? l->n : 1, sizeof *g);
    size_t n = 0, m = 0;
    if (!mem || !g) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < l->n; i++)
        if (!l->p[i].kernel_thread)
            mem[m++] = (ng_member){&l->p[i], &pss[i]};
    qsort(mem, m, sizeof *mem, cmp_member_name);
    for (size_t k = 0; k < m; k++) {
        const ms_procinfo *p = mem[k].p;
        const ms_pss_result *r = mem[k].r;
        if (n == 0 || strcmp(g[n - 1].name, p->name) != 0)
            g[n++] = (name_group){.name = p->name, .pss_complete = true};
        name_group *q = &g[n - 1];
        q->n++;
        q->rss += p->vm_rss;
        q->swap += p->vm_swap;
        if (r->state == MS_PSS_FRESH || r->state == MS_PSS_CACHED) {
            q->pss += r->pss;
            q->uss += r->uss;
        } else if (r->state != MS_PSS_NONE) {
            q->pss_complete = false;
        }
    }
    *out = g;
    *nout = n;
    g = NULL;
out:
    free(mem);
    free(g);
    return rc;
}

static void write_group_family(mw *w, const name_group *g, size_t n, int k)
{
    static const struct {
        const char *name, *help;
    } f[] = {
        {"memscope_namegroup_processes", "Processes (kernel threads aside) whose comm is name."},
        {"memscope_namegroup_rss_bytes", "Sum of VmRSS over the processes whose comm is name."},
        {"memscope_namegroup_swap_bytes", "Sum of VmSwap over the processes whose comm is name."},
        {"memscope_namegroup_pss_bytes",
         "Sum of smaps_rollup Pss over the processes whose comm is name; absent for a scrape that lacks one member's."},
        {"memscope_namegroup_uss_bytes",
         "Sum of USS (smaps_rollup Private_*) over the processes whose comm is name; absent like pss."},
    };
    family(w, f[k].name, "gauge", f[k].help);
    for (size_t i = 0; i < n; i++) {
        const uint64_t v[] = {g[i].n, g[i].rss, g[i].swap, g[i].pss, g[i].uss};
        if (k >= 3 && !g[i].pss_complete)
            continue;
        put(w, f[k].name);
        put(w, "{name=\"");
        put_label_value(w, g[i].name, strlen(g[i].name));
        put(w, "\"} ");
        put_u64(w, v[k]);
        put(w, "\n");
    }
}

static void write_namegroups(mw *w, const ms_proclist *l)
{
    ms_pss_result *pss = NULL;
    ms_pss_stats st = {0};
    name_group *g = NULL;
    size_t n = 0;
    ms_err rc = routes_pss_compute(l->p, l->n, METRICS_PSS_BUDGET_NS, &pss, &st);
    if (rc == MS_OK)
        rc = group_by_name(l, pss, &g, &n);
    if (rc != MS_OK) {
        w->rc = rc;
        goto out;
    }
    for (int k = 0; k < 5; k++)
        write_group_family(w, g, n, k);
    size_t incomplete = 0;
    for (size_t i = 0; i < n; i++)
        incomplete += !g[i].pss_complete;
    family(w, "memscope_namegroup_pss_incomplete", "gauge",
           "Name groups exported without pss/uss this scrape because a member's PSS was skipped or unreadable.");
    sample_u64(w, "memscope_namegroup_pss_incomplete", incomplete);
    family(w, "memscope_metrics_pss_processes", "gauge",
           "Processes of this scrape by where their PSS came from: read now (fresh), reused unchanged (cached), "
           "skipped (CPU budget spent), none (no user memory), failed (unreadable or gone).");
    const struct {
        const char *s;
        size_t v;
    } states[] = {{"fresh", st.fresh}, {"cached", st.cached}, {"skipped", st.skipped},
                  {"none", st.none}, {"failed", st.failed}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        put(w, "memscope_metrics_pss_processes{state=\"");
        put(w, states[i].s);
        put(w, "\"} ");
        put_u64(w, states[i].v);
        put(w, "\n");
    }
out:
    free(pss);
    free(g);
}

/* ---- cgroups ---- */

typedef struct {
    const char *path;
    ms_cg_mem m;
    uint64_t usage;
    ms_cg_split split;
    bool has_split;
} top_cg;

static int cmp_usage_desc(const void *a, const void *b)
{
    const top_cg *x = a, *y = b;
    return x->usage < y->usage ? 1 : x->usage > y->usage ? -1 : strcmp(x->path, y->path);
}

static void cg_labels(mw *w, const char *name, const top_cg *c, const char *extra_k, const char *extra_v)
{
    ms_container ctr;
    ms_container_from_path(c->path, &ctr);
    put(w, name);
    put(w, "{cgroup=\"");
    put_label_value(w, c->path, strlen(c->path));
    put(w, "\",container=\"");
    put_label_value(w, ctr.id, strlen(ctr.id));
    put(w, "\",pod_uid=\"");
    put(w, ctr.pod_uid);
    if (extra_k) {
        put(w, "\",");
        put(w, extra_k);
        put(w, "=\"");
        put(w, extra_v);
    }
    put(w, "\"} ");
}

/* The families of the top cgroups by usage (--metrics-cgroups), read whole for each scrape. */
static void write_cg_families(mw *w, const top_cg *t, size_t n)
{
    static const char *const parts[] = {"anon", "file", "shmem", "kernel", "sock"};
    family(w, "memscope_cgroup_usage_bytes", "gauge",
           "Memory charged to a cgroup and its descendants (v1 memory.usage_in_bytes, v2 memory.current).");
    for (size_t i = 0; i < n; i++) {
        cg_labels(w, "memscope_cgroup_usage_bytes", &t[i], NULL, NULL);
        put_u64(w, t[i].usage);
        put(w, "\n");
    }
    family(w, "memscope_cgroup_limit_bytes", "gauge",
           "A cgroup's memory limit (v1 memory.limit_in_bytes, v2 memory.max); absent when unlimited.");
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (!ms_cg_limit(&t[i].m, &v))
            continue;
        cg_labels(w, "memscope_cgroup_limit_bytes", &t[i], NULL, NULL);
        put_u64(w, v);
        put(w, "\n");
    }
    family(w, "memscope_cgroup_memory_bytes", "gauge",
           "A cgroup's usage by kind, from memory.stat: anon, file (page cache less shmem), shmem, kernel, sock.");
    for (size_t i = 0; i < n; i++) {
        const ms_cg_split *s = &t[i].split;
        const uint64_t v[] = {s->anon, s->file, s->shmem, s->kernel, s->sock};
        for (size_t k = 0; t[i].has_split && k < 5; k++) {
            if ((k == 3 && !s->has_kernel) || (k == 4 && !s->has_sock))
                continue;
            cg_labels(w, "memscope_cgroup_memory_bytes", &t[i], "kind", parts[k]);
            put_u64(w, v[k]);
            put(w, "\n");
        }
    }
    family(w, "memscope_cgroup_oom_kills_total", "counter",
           "OOM kills the kernel counted in a cgroup (v1 memory.oom_control, v2 memory.events oom_kill).");
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (!ms_cg_oom_kills(&t[i].m, &v))
            continue;
        cg_labels(w, "memscope_cgroup_oom_kills_total", &t[i], NULL, NULL);
        put_u64(w, v);
        put(w, "\n");
    }
    family(w, "memscope_cgroup_pressure_seconds_total", "counter",
           "Time some or all tasks of a cgroup were stalled on memory (v2 memory.pressure total).");
    for (size_t i = 0; i < n; i++) {
        const ms_cg_psi *p[2] = {&t[i].m.psi_some, &t[i].m.psi_full};
        for (int k = 0; k < 2; k++) {
            if (!p[k]->present)
                continue;
            cg_labels(w, "memscope_cgroup_pressure_seconds_total", &t[i], "kind", k ? "full" : "some");
            put_dbl(w, (double)p[k]->total_us / 1e6);
            put(w, "\n");
        }
    }
}

static void write_cgroups(mw *w, server_ctx *srv)
{
    if (srv->oom) {
        family(w, "memscope_oom_kills_seen_total", "counter", "OOM kills memscoped has seen since it started.");
        sample_u64(w, "memscope_oom_kills_seen_total", oomwatch_total(srv->oom));
    }
    if (!srv->cg_ok || srv->metrics_cgroups == 0)
        return;
    ms_cg_tree tree;
    if (ms_cg_tree_read(srv->cg_root_fd, 10000, &tree) != MS_OK)
        return;
    top_cg *t = calloc(tree.count ? tree.count : 1, sizeof *t);
    size_t n = 0;
    for (size_t i = 0; t && i < tree.count; i++) {
        int fd;
        if (ms_cg_open(srv->cg_root_fd, tree.n[i].path, &fd) != MS_OK)
            continue;
        top_cg *c = &t[n];
        ms_cg_mem_init(&c->m);
        if (ms_cg_mem_read(fd, srv->cg.version, &c->m) == MS_OK) {
            c->path = tree.n[i].path;
            c->has_split = ms_cg_split_of(&c->m, &c->split) == MS_OK;
            c->usage = c->has_split ? c->split.usage : c->m.v[MS_CGV_USAGE].value;
            n++;
        } else {
            ms_cg_mem_free(&c->m);
        }
        close(fd);
    }
    if (t) {
        qsort(t, n, sizeof *t, cmp_usage_desc);
        write_cg_families(w, t, n < srv->metrics_cgroups ? n : srv->metrics_cgroups);
    }
    for (size_t i = 0; t && i < n; i++)
        ms_cg_mem_free(&t[i].m);
    free(t);
    ms_cg_tree_free(&tree);
}

enum MHD_Result h_metrics(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    uint64_t t0 = now_ns();
    ms_buf b;
    ms_buf_init(&b, 0);
    mw w = {&b, MS_OK};
    top_proc *top = NULL;
    size_t ntop = 0;
    ms_proclist l = {0};

    write_http(&w);
    write_counters(&w, r->srv);
    write_self(&w, r->srv);
    ms_err rc = ms_proclist_read(NULL, NULL, &l);
    if (rc == MS_OK) {
        family(&w, "memscope_processes", "gauge", "Processes visible to memscoped (kernel threads included).");
        sample_u64(&w, "memscope_processes", l.n);
        write_namegroups(&w, &l);
        rc = collect_top(&l, r->srv->metrics_top, &top, &ntop);
    }
    if (rc == MS_OK)
        write_top(&w, top, ntop);
    free(top);
    ms_proclist_free(&l);
    if (rc == MS_OK)
        write_cgroups(&w, r->srv);
    family(&w, "memscope_metrics_scrape_duration_seconds", "gauge", "Time this scrape took to collect.");
    put(&w, "memscope_metrics_scrape_duration_seconds ");
    put_dbl(&w, (double)(now_ns() - t0) / 1e9);
    put(&w, "\n");

    if (rc == MS_OK)
        rc = w.rc;
    if (rc != MS_OK) {
        ms_buf_free(&b);
        return http_reply_ms(r, rc, "collecting metrics");
    }
    return http_reply_text(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
}
