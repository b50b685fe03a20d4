/* metrics.c - GET /metrics: memscoped's own figures and the memory of the biggest processes, in the
 * Prometheus text exposition format (0.0.4), for a Prometheus that scrapes every node.
 *
 * What a scrape costs, and so what is exported:
 *   - the process list is status + stat + cmdline per process (what GET /processes reads), never
 *     smaps: a few hundred microseconds per thousand processes;
 *   - per-process gauges only for the top N by RSS (--metrics-top, 0..200, default 20) and the
 *     processes a --metrics-match pins, which keeps both the work and the label cardinality bounded
 *     whatever the machine runs; past --metrics-max-series, the rest are summed into name="other";
 *   - PSS and USS need smaps_rollup, whose cost grows with the process's number of mappings (the
 *     kernel walks every VMA under the mmap lock).  So they are read for those top N only, and only
 *     until the scrape has spent METRICS_ROLLUP_BUDGET on them: past that, the remaining processes
 *     get rss/swap/virtual but no pss/uss series, and memscope_metrics_rollups_skipped_total says
 *     so.  An unreadable rollup (no ptrace access, process gone) likewise drops only pss/uss for that
 *     process and is counted in memscope_process_read_errors_total{reason}.
 *
 * Every family is written whole (HELP, TYPE, its samples) before the next, as the format requires. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/num.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/smaps.h"
#include "core/status.h"
#include "experiments.h"
#include "http.h"
#include "jw.h"
#include "metrics.h"
#include "metrics_select.h"
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
        experiments_counts(srv->exp, &running, &refused);
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
    char name[METRICS_NAME_MAX + 1];   /* the group name (--metrics-group; the comm by default) */
    uint64_t rss, swap, vsz, pss, uss;
    bool has_rollup;
    bool rollup_skipped;          /* !has_rollup because the time budget was spent */
    ms_err rollup_err;            /* !has_rollup otherwise: why */
    uint64_t start_ticks;         /* stat's starttime */
    char exe[METRICS_EXE_MAX];    /* "" when unreadable */
    char cgroup[MS_CG_PATH_MAX];  /* "" when unknown */
    char container[65];
} top_proc;

/* PSS and USS from smaps_rollup; false (and counted) when it cannot be read. */
static bool read_rollup(int pid, uint64_t *pss, uint64_t *uss, bool *gone, ms_err *err)
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
    *err = rc;
    if (dirfd >= 0)
        close(dirfd);
    ms_smaps_free(&s);
    return rc == MS_OK;
}

/* How many more of the biggest are kept in reserve, to stand in for one that exits between the list
 * and its rollup: --metrics-top N exports N processes that were alive when read. */
#define METRICS_TOP_SPARE 8

/* The processes exported one by one: those a --metrics-match pins, then the biggest `top` others
 * by RSS (l is sorted by RSS, biggest first), as indices into l; then up to METRICS_TOP_SPARE more,
 * the next biggest, as spares (*nspare of them, after the *nout). */
static ms_err pick_processes(const ms_proclist *l, const bool *pinned, unsigned top, size_t **out, size_t *nout,
                             size_t *nspare)
{
    size_t *c = malloc((l->n ? l->n : 1) * sizeof *c);
    size_t n = 0, ntop = 0;
    if (!c)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < l->n; i++)
        if (pinned[i] && !l->p[i].kernel_thread)
            c[n++] = i;
    for (size_t i = 0; i < l->n && ntop < (size_t)top + METRICS_TOP_SPARE; i++) {
        const ms_procinfo *p = &l->p[i];
        if (pinned[i] || p->kernel_thread || p->vm_rss == 0)
            continue;
        c[n++] = i;
        ntop++;
    }
    *nspare = ntop > top ? ntop - top : 0;
    *out = c;
    *nout = n - *nspare;
    return MS_OK;
}

/* The processes l->p[pick[0..npick)] with their rollups, read within METRICS_ROLLUP_BUDGET_NS.  One
 * of the biggest that has exited is replaced by the next of the nspare after them (none for a
 * pinned one: what pins it is not what ranks the spares). */
static ms_err collect_top(const ms_proclist *l, const char (*names)[METRICS_NAME_MAX + 1], const bool *pinned,
                          const size_t *pick, size_t npick, size_t nspare, top_proc **out, size_t *nout)
{
    ms_err rc = MS_OK;
    top_proc *t = NULL;
    size_t n = 0, next_spare = npick;
    t = calloc(npick ? npick : 1, sizeof *t);
    if (!t) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    uint64_t t0 = now_ns();
    for (size_t k = 0; k < npick; k++) {
        size_t at = pick[k];
        for (;;) {
            const ms_procinfo *p = &l->p[at];
            top_proc *q = &t[n];
            memset(q, 0, sizeof *q);
            q->pid = p->pid;
            memcpy(q->name, names[at], sizeof q->name);
            q->rss = p->vm_rss;
            q->swap = p->vm_swap;
            q->vsz = p->vm_size;
            q->start_ticks = p->starttime;
            metrics_exe_read(p->pid, q->exe, sizeof q->exe);
            snprintf(q->cgroup, sizeof q->cgroup, "%s", p->cgroup ? p->cgroup : "");
            memcpy(q->container, p->container.id, sizeof q->container);
            if (now_ns() - t0 >= METRICS_ROLLUP_BUDGET_NS) {
                q->rollup_skipped = true;
                atomic_fetch_add_explicit(&rollups_skipped, 1, memory_order_relaxed);
                n++;
                break;
            }
            bool gone;
            q->has_rollup = read_rollup(p->pid, &q->pss, &q->uss, &gone, &q->rollup_err);
            if (!gone) {
                n++;
                break;
            }
            /* exited since the list was read: leave it out, and let the next biggest stand in */
            if (pinned[pick[k]] || next_spare >= npick + nspare)
                break;
            at = pick[next_spare++];
        }
    }
    *out = t;
    *nout = n;
    t = NULL;
out:
    free(t);
    return rc;
}

enum { G_RSS, G_PSS, G_USS, G_SWAP, G_VIRTUAL, G__COUNT };

/* other: the sums of the processes folded by --metrics-max-series (NULL: none), which get rss, swap
 * and virtual series named "other" and no pid. */
static void write_top(mw *w, const top_proc *t, size_t n, const top_proc *other)
{
    static const struct {
        const char *name, *help;
    } g[G__COUNT] = {
        [G_RSS] = {"memscope_process_rss_bytes", "Resident set size (VmRSS) of an exported process (top by RSS, or pinned), or summed over those the series cap folded (name=\"other\")."},
        [G_PSS] = {"memscope_process_pss_bytes", "Proportional set size (smaps_rollup Pss) of an exported process (top by RSS, or pinned)."},
        [G_USS] = {"memscope_process_uss_bytes",
                   "Unique set size (smaps_rollup Private_Clean + Private_Dirty + Private_Hugetlb) of an exported process (top by RSS, or pinned)."},
        [G_SWAP] = {"memscope_process_swap_bytes", "Swapped-out memory (VmSwap) of an exported process (top by RSS, or pinned), or summed over those the series cap folded (name=\"other\")."},
        [G_VIRTUAL] = {"memscope_process_virtual_bytes", "Virtual memory size (VmSize) of an exported process (top by RSS, or pinned), or summed over those the series cap folded (name=\"other\")."},
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
        if (other && (k == G_RSS || k == G_SWAP || k == G_VIRTUAL)) {
            put(w, g[k].name);
            put(w, "{name=\"other\"} ");
            put_u64(w, k == G_RSS ? other->rss : k == G_SWAP ? other->swap : other->vsz);
            put(w, "\n");
        }
    }
}

/* Boot time (/proc/stat btime) in seconds since the epoch; 0 if unreadable. */
static uint64_t boot_time(void)
{
    ms_buf b;
    ms_buf_init(&b, 1 << 20);
    uint64_t v = 0;
    if (ms_read_file_at(AT_FDCWD, "/proc/stat", &b) == MS_OK && b.data) {
        const char *p = strstr(b.data, "\nbtime ");
        if (p) {
            p += 7;
            if (!ms_num_dec(&p, b.data + b.len, &v))
                v = 0;
        }
    }
    ms_buf_free(&b);
    return v;
}

static void put_pid_name(mw *w, const char *family_name, const top_proc *q)
{
    put(w, family_name);
    put(w, "{pid=\"");
    put_u64(w, (uint64_t)q->pid);
    put(w, "\",name=\"");
    put_label_value(w, q->name, strlen(q->name));
}

/* Each exported process's start time, its info series to join on, and why its PSS is missing. */
static void write_top_more(mw *w, const top_proc *t, size_t n)
{
    uint64_t btime = boot_time();
    long hz = sysconf(_SC_CLK_TCK);
    family(w, "memscope_process_start_time_seconds", "gauge",
           "Start time of an exported process since the Unix epoch (boot time + stat starttime): a new value "
           "for the same pid is a new process.");
    for (size_t i = 0; btime && hz > 0 && i < n; i++) {
        uint64_t ms = t[i].start_ticks % (uint64_t)hz * 1000 / (uint64_t)hz;
        char frac[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 0};
        put_pid_name(w, "memscope_process_start_time_seconds", &t[i]);
        put(w, "\"} ");
        put_u64(w, btime + t[i].start_ticks / (uint64_t)hz);
        put(w, frac);
        put(w, "\n");
    }
    family(w, "memscope_process_info", "gauge",
           "1 for each exported process, labelled with its executable, memory cgroup and container, to join on pid.");
    for (size_t i = 0; i < n; i++) {
        put_pid_name(w, "memscope_process_info", &t[i]);
        put(w, "\",exe=\"");
        put_label_value(w, t[i].exe, strlen(t[i].exe));
        put(w, "\",cgroup=\"");
        put_label_value(w, t[i].cgroup, strlen(t[i].cgroup));
        put(w, "\",container=\"");
        put_label_value(w, t[i].container, strlen(t[i].container));
        put(w, "\"} 1\n");
    }
    family(w, "memscope_process_pss_unreadable", "gauge",
           "1 for each exported process whose smaps_rollup (pss, uss) could not be read this scrape, by reason "
           "(permission_denied, ..., or budget: the scrape's time for rollups was spent).");
    for (size_t i = 0; i < n; i++) {
        if (t[i].has_rollup)
            continue;
        put_pid_name(w, "memscope_process_pss_unreadable", &t[i]);
        put(w, "\",reason=\"");
        put(w, t[i].rollup_skipped ? "budget" : ms_errcode(t[i].rollup_err));
        put(w, "\"} 1\n");
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
    uint64_t unreadable;      /* members whose rollup could not be read (not: skipped, gone) */
    bool pss_complete;
} name_group;

typedef struct {
    const ms_procinfo *p;
    const ms_pss_result *r;
    const char *name;
} ng_member;

static int cmp_member_name(const void *a, const void *b)
{
    const ng_member *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->p->pid > y->p->pid) - (x->p->pid < y->p->pid);
}

/* The groups of l (names[i]: l->p[i]'s group), sorted by name, into *out, which has room for one
 * more (the caller frees it; names point into names). */
static ms_err group_by_name(const ms_proclist *l, const char (*names)[METRICS_NAME_MAX + 1], const ms_pss_result *pss,
                            name_group **out, size_t *nout)
{
    ms_err rc = MS_OK;
    ng_member *mem = malloc((l->n ? l->n : 1) * sizeof *mem);
    name_group *g = calloc(l->n + 1, sizeof *g);
    size_t n = 0, m = 0;
    if (!mem || !g) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < l->n; i++)
        if (!l->p[i].kernel_thread)
            mem[m++] = (ng_member){&l->p[i], &pss[i], names[i]};
    qsort(mem, m, sizeof *mem, cmp_member_name);
    for (size_t k = 0; k < m; k++) {
        const ms_procinfo *p = mem[k].p;
        const ms_pss_result *r = mem[k].r;
        if (n == 0 || strcmp(g[n - 1].name, mem[k].name) != 0)
            g[n++] = (name_group){.name = mem[k].name, .pss_complete = true};
        name_group *q = &g[n - 1];
        q->n++;
        q->rss += p->vm_rss;
        q->swap += p->vm_swap;
        if (r->state == MS_PSS_FRESH || r->state == MS_PSS_CACHED) {
            q->pss += r->pss;
            q->uss += r->uss;
        } else if (r->state != MS_PSS_NONE) {
            q->pss_complete = false;
            q->unreadable += r->state == MS_PSS_FAILED && r->err != MS_ERR_NOENT;
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
        {"memscope_namegroup_processes", "Processes (kernel threads aside) in group name: their comm, or their --metrics-group name; "
         "\"other\" holds the groups --metrics-max-series folded."},
        {"memscope_namegroup_rss_bytes", "Sum of VmRSS over the processes of group name."},
        {"memscope_namegroup_swap_bytes", "Sum of VmSwap over the processes of group name."},
        {"memscope_namegroup_pss_bytes",
         "Sum of smaps_rollup Pss over the processes of group name; absent for a scrape that lacks one member's."},
        {"memscope_namegroup_uss_bytes",
         "Sum of USS (smaps_rollup Private_*) over the processes of group name; absent like pss."},
        {"memscope_namegroup_pss_unreadable_processes",
         "Processes of the group whose smaps_rollup could not be read (refused, unparsable) this scrape."},
    };
    family(w, f[k].name, "gauge", f[k].help);
    for (size_t i = 0; i < n; i++) {
        const uint64_t v[] = {g[i].n, g[i].rss, g[i].swap, g[i].pss, g[i].uss, g[i].unreadable};
        if ((k == 3 || k == 4) && !g[i].pss_complete)
            continue;
        put(w, f[k].name);
        put(w, "{name=\"");
        put_label_value(w, g[i].name, strlen(g[i].name));
        put(w, "\"} ");
        put_u64(w, v[k]);
        put(w, "\n");
    }
}

/* Sums over every group, folded or not: what the exported groups and "other" add up to. */
static void write_group_totals(mw *w, const name_group *g, size_t n)
{
    uint64_t procs = 0, rss = 0, swap = 0;
    for (size_t i = 0; i < n; i++) {
        procs += g[i].n;
        rss += g[i].rss;
        swap += g[i].swap;
    }
    family(w, "memscope_namegroups", "gauge", "Name groups this scrape, before --metrics-max-series folded any.");
    sample_u64(w, "memscope_namegroups", n);
    family(w, "memscope_namegroup_all_processes", "gauge", "Processes (kernel threads aside) over every name group.");
    sample_u64(w, "memscope_namegroup_all_processes", procs);
    family(w, "memscope_namegroup_all_rss_bytes", "gauge", "Sum of VmRSS over every name group (shared pages counted in each).");
    sample_u64(w, "memscope_namegroup_all_rss_bytes", rss);
    family(w, "memscope_namegroup_all_swap_bytes", "gauge", "Sum of VmSwap over every name group.");
    sample_u64(w, "memscope_namegroup_all_swap_bytes", swap);
}

static void write_namegroups(mw *w, const name_group *g, size_t n, const ms_pss_stats *st)
{
    for (int k = 0; k < 6; k++)
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
    } states[] = {{"fresh", st->fresh}, {"cached", st->cached}, {"skipped", st->skipped},
                  {"none", st->none}, {"failed", st->failed}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        put(w, "memscope_metrics_pss_processes{state=\"");
        put(w, states[i].s);
        put(w, "\"} ");
        put_u64(w, states[i].v);
        put(w, "\n");
    }
}

/* ---- the cardinality cap ---- */

/* What one exported process or group costs at most, in series: a process's rss, swap, virtual,
 * start_time, info, and pss + uss (or pss_unreadable); a group's processes, rss, swap, pss, uss and
 * pss_unreadable_processes.  The "other" buckets: rss, swap and virtual of the folded processes, and
 * a group. */
#define METRICS_PROC_SERIES 7
#define METRICS_GROUP_SERIES 6
#define METRICS_OTHER_SERIES (3 + METRICS_GROUP_SERIES)

/* How many of np processes and ng groups fit in max series.  When all do not, the buckets' series
 * are set aside and the rest shared: each side may have half, and one side's unused half goes to
 * the other. */
static void series_split(size_t max, size_t np, size_t ng, size_t *keep_p, size_t *keep_g)
{
    *keep_p = np;
    *keep_g = ng;
    if (np * METRICS_PROC_SERIES + ng * METRICS_GROUP_SERIES <= max)
        return;
    size_t b = max - METRICS_OTHER_SERIES, pb = b / 2;
    if (ng * METRICS_GROUP_SERIES < b - pb)
        pb = b - ng * METRICS_GROUP_SERIES;
    if (pb > np * METRICS_PROC_SERIES)
        pb = np * METRICS_PROC_SERIES;
    *keep_p = pb / METRICS_PROC_SERIES;
    size_t gk = (b - *keep_p * METRICS_PROC_SERIES) / METRICS_GROUP_SERIES;
    *keep_g = gk < ng ? gk : ng;
}

static int cmp_group_rss_desc(const void *a, const void *b)
{
    const name_group *const *x = a, *const *y = b;
    return (*x)->rss < (*y)->rss ? 1 : (*x)->rss > (*y)->rss ? -1 : strcmp((*x)->name, (*y)->name);
}

/* Keeps the `keep` biggest groups of g[0..*n) by RSS, in name order, and sums the others into one
 * named "other" after them (g has room for it); a group that really is named "other" joins it, so
 * the name stays unique.  *folded: how many groups went into it. */
static ms_err fold_groups(name_group *g, size_t *n, size_t keep, size_t *folded)
{
    ms_err rc = MS_OK;
    const name_group **by = malloc((*n ? *n : 1) * sizeof *by);
    bool *kept = calloc(*n ? *n : 1, sizeof *kept);
    *folded = 0;
    if (!by || !kept) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    if (keep >= *n)
        goto out;
    for (size_t i = 0; i < *n; i++)
        by[i] = &g[i];
    qsort(by, *n, sizeof *by, cmp_group_rss_desc);
    for (size_t i = 0, k = 0; i < *n && k < keep; i++)
        if (strcmp(by[i]->name, "other") != 0) {
            kept[by[i] - g] = true;
            k++;
        }
    name_group other = {.name = "other", .pss_complete = true};
    size_t o = 0;
    for (size_t i = 0; i < *n; i++) {
        if (kept[i]) {
            g[o++] = g[i];
            continue;
        }
        (*folded)++;
        other.n += g[i].n;
        other.rss += g[i].rss;
        other.swap += g[i].swap;
        other.pss += g[i].pss;
        other.uss += g[i].uss;
        other.unreadable += g[i].unreadable;
        other.pss_complete = other.pss_complete && g[i].pss_complete;
    }
    g[o++] = other;
    *n = o;
out:
    free(by);
    free(kept);
    return rc;
}

static void write_folded(mw *w, unsigned max, size_t procs, size_t groups)
{
    family(w, "memscope_metrics_max_series", "gauge",
           "The cap on per-process and name group series per scrape (--metrics-max-series).");
    sample_u64(w, "memscope_metrics_max_series", max);
    family(w, "memscope_metrics_folded", "gauge",
           "Processes and name groups summed into name=\"other\" this scrape because --metrics-max-series was reached.");
    put(w, "memscope_metrics_folded{kind=\"process\"} ");
    put_u64(w, procs);
    put(w, "\nmemscope_metrics_folded{kind=\"namegroup\"} ");
    put_u64(w, groups);
    put(w, "\n");
}

/* ---- every process: its group name, pinned or not ---- */

/* Each listed process's group name and whether a --metrics-match pins it, index-aligned with l. */
static ms_err name_processes(const ms_proclist *l, const metrics_select *sel, char (**names)[METRICS_NAME_MAX + 1],
                             bool **pinned)
{
    *names = calloc(l->n ? l->n : 1, sizeof **names);
    *pinned = calloc(l->n ? l->n : 1, sizeof **pinned);
    if (!*names || !*pinned)
        return MS_ERR_NOMEM;
    bool templ = sel && sel->tpl.n > 0, pins = sel && sel->match_process;
    bool need_exe = (templ && sel->tpl.uses_exe) || (pins && sel->match_exe);
    char exe[METRICS_EXE_MAX];
    for (size_t i = 0; i < l->n; i++) {
        const ms_procinfo *p = &l->p[i];
        exe[0] = '\0';
        if (need_exe && !p->kernel_thread)
            metrics_exe_read(p->pid, exe, sizeof exe);
        if (templ && !p->kernel_thread) {
            metrics_tpl_render(&sel->tpl, p, exe, (*names)[i], sizeof (*names)[i]);
        } else {
            size_t n = strnlen(p->name, METRICS_NAME_MAX);
            memcpy((*names)[i], p->name, n);
            (*names)[i][n] = '\0';
        }
        (*pinned)[i] = pins && !p->kernel_thread && metrics_select_process(sel, p, exe);
    }
    return MS_OK;
}

/* Every process into its name group, the pinned and the biggest also one by one, within
 * --metrics-max-series: past it, the smallest groups and the last processes picked are summed into
 * "other" (processes: pinned ones first, then by RSS).  Sorts l by RSS. */
static ms_err write_processes(mw *w, const server_ctx *srv, ms_proclist *l)
{
    char (*names)[METRICS_NAME_MAX + 1] = NULL;
    bool *pinned = NULL;
    ms_pss_result *pss = NULL;
    ms_pss_stats st = {0};
    name_group *g = NULL;
    size_t ng = 0, *pick = NULL, npick = 0, nspare = 0, ntop = 0, keep_p, keep_g, folded_g;
    top_proc *top = NULL, *other = NULL;

    ms_proclist_sort(l, MS_PSORT_VM_RSS, true);
    ms_err rc = name_processes(l, srv->metrics_sel, &names, &pinned);
    if (rc == MS_OK)
        rc = routes_pss_compute(l->p, l->n, METRICS_PSS_BUDGET_NS, &pss, &st);
    if (rc == MS_OK)
        rc = group_by_name(l, (const char (*)[METRICS_NAME_MAX + 1])names, pss, &g, &ng);
    if (rc == MS_OK)
        rc = pick_processes(l, pinned, srv->metrics_top, &pick, &npick, &nspare);
    if (rc != MS_OK)
        goto out;
    series_split(srv->metrics_max_series, npick, ng, &keep_p, &keep_g);
    write_group_totals(w, g, ng);
    if ((rc = fold_groups(g, &ng, keep_g, &folded_g)) != MS_OK)
        goto out;
    write_namegroups(w, g, ng, &st);
    /* spares stand in only where nothing is folded: past the cap, the folded are the next biggest */
    rc = collect_top(l, (const char (*)[METRICS_NAME_MAX + 1])names, pinned, pick, keep_p,
                     keep_p == npick ? nspare : 0, &top, &ntop);
    if (rc == MS_OK && keep_p < npick && !(other = calloc(1, sizeof *other)))
        rc = MS_ERR_NOMEM;
    if (rc != MS_OK)
        goto out;
    for (size_t k = keep_p; other && k < npick; k++) {
        other->rss += l->p[pick[k]].vm_rss;
        other->swap += l->p[pick[k]].vm_swap;
        other->vsz += l->p[pick[k]].vm_size;
    }
    write_top(w, top, ntop, other);
    write_top_more(w, top, ntop);
    write_folded(w, srv->metrics_max_series, npick - keep_p, folded_g);
out:
    free(names);
    free(pinned);
    free(pss);
    free(g);
    free(pick);
    free(top);
    free(other);
    return rc;
}

/* ---- cgroups ---- */

typedef struct {
    const char *path;
    size_t node;              /* its index in the tree */
    ms_cg_mem m;
    uint64_t usage;
    ms_cg_split split;
    bool has_split;
} top_cg;

/* The cgroups read during the walk, each while its directory is open (so never opened twice). */
typedef struct {
    int version;
    top_cg *t;                /* owned here: free_read */
    size_t n, cap;
} cg_read;

static ms_err cg_visit(void *ctx, int dirfd, const ms_cg_tree *tree, size_t i)
{
    (void)tree;
    cg_read *c = ctx;
    ms_err rc = ms_grow((void **)&c->t, &c->cap, c->n + 1, sizeof *c->t, 64, 0);
    if (rc != MS_OK)
        return rc;
    top_cg *g = &c->t[c->n];
    memset(g, 0, sizeof *g);
    ms_cg_mem_init(&g->m);
    rc = ms_cg_mem_read(dirfd, c->version, &g->m);
    if (rc != MS_OK) {
        ms_cg_mem_free(&g->m);
        return rc == MS_ERR_NOMEM ? rc : MS_OK;     /* gone since it was listed: left out */
    }
    g->node = i;
    g->has_split = ms_cg_split_of(&g->m, &g->split) == MS_OK;
    g->usage = g->has_split ? g->split.usage : g->m.v[MS_CGV_USAGE].value;
    c->n++;
    return MS_OK;
}

static void free_read(cg_read *c)
{
    for (size_t i = 0; i < c->n; i++)
        ms_cg_mem_free(&c->t[i].m);
    free(c->t);
}

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

/* Moves the cgroups a --metrics-match cgroup= pins (at most METRICS_CG_PINS, biggest first) to
 * just after the `top` biggest of t[0..n) (sorted by usage); returns how many are exported. */
#define METRICS_CG_PINS 500
static size_t pin_cgroups(top_cg *t, size_t n, size_t top, const metrics_select *sel)
{
    size_t k = n < top ? n : top, end = k + METRICS_CG_PINS;
    for (size_t i = k; sel && sel->match_cgroup && i < n && k < end; i++)
        if (metrics_select_cgroup(sel, t[i].path)) {
            top_cg c = t[k];
            t[k++] = t[i];
            t[i] = c;
        }
    return k;
}

static void write_cgroups(mw *w, server_ctx *srv)
{
    if (srv->oom) {
        family(w, "memscope_oom_kills_seen_total", "counter", "OOM kills memscoped has seen since it started.");
        sample_u64(w, "memscope_oom_kills_seen_total", oomwatch_total(srv->oom));
    }
    bool pins = srv->metrics_sel && srv->metrics_sel->match_cgroup;
    if (!srv->cg_ok || (srv->metrics_cgroups == 0 && !pins))
        return;
    cg_read c = {.version = srv->cg.version};
    ms_cg_tree tree;
    if (ms_cg_tree_walk(srv->cg_root_fd, 10000, &tree, cg_visit, &c) != MS_OK) {
        free_read(&c);
        return;
    }
    top_cg *t = c.t;
    size_t n = c.n;
    for (size_t i = 0; i < n; i++)
        t[i].path = tree.n[t[i].node].path;    /* the tree's array no longer moves */
    if (t) {
        qsort(t, n, sizeof *t, cmp_usage_desc);
        write_cg_families(w, t, pin_cgroups(t, n, srv->metrics_cgroups, srv->metrics_sel));
    }
    free_read(&c);
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
    ms_proclist l = {0};

    write_http(&w);
    write_counters(&w, r->srv);
    write_self(&w, r->srv);
    ms_err rc = ms_proclist_read(NULL, NULL, &l);
    if (rc == MS_OK) {
        family(&w, "memscope_processes", "gauge", "Processes visible to memscoped (kernel threads included).");
        sample_u64(&w, "memscope_processes", l.n);
        rc = write_processes(&w, r->srv, &l);
    }
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
