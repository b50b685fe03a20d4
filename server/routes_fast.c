/* routes_fast.c - answers that skip smaps where the question lets them: resident bytes per region
 * (/maps?rss=1), PSS and USS for every process on a CPU budget (/processes?fields=pss,uss), and the
 * working set (/wss), by clear_refs or by the kernel's idle-page bitmap.
 *
 * /maps?rss=1 is answered from maps + PAGEMAP_SCAN (core/rssmap.c; PROCMAP_QUERY for the page size of
 * regions with huge pages) and falls back to smaps, region by region the same figures, where this
 * kernel lacks the ioctls or method=smaps asks for it; the answer's "source" says which.  Like /maps
 * it is streamed: the scan is opened and maps' first block read before anything is sent (a failure
 * there is an ordinary error answer); then the regions read so far are scanned a block at a time
 * and written clipped to the scan's ranges, while (past maps' first MiB) a thread of the stream
 * reads the next lines. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/num.h"
#include "core/pageidle.h"
#include "core/proc.h"
#include "core/pssmap.h"
#include "core/rssmap.h"
#include "core/rstream.h"
#include "core/wss.h"
#include "encode.h"
#include "http.h"
#include "jw.h"
#include "routes.h"
#include "routes_fast.h"
#include "routes_rows.h"

#define RSS_SOURCE_SCAN "pagemap_scan"
#define RSS_SOURCE_SMAPS "smaps"

/* ---- /maps?rss=1 ---- */

typedef struct {
    int pid;
    int dirfd;                /* kept for the smaps stream, which reads as it goes */
    bool use_smaps;
    const char *fallback;     /* why smaps answers when it was not asked for, or NULL */
    ms_rss_scan scan;         /* scan source: the resident ranges, scanned as maps is read */
    ms_rstream *rs;           /* maps (scan source) or smaps */
    uint64_t base_page;
    bool started;
    bool rows;                /* layout=rows: routes_rows.c writes the regions */
    uint64_t lo, hi;          /* the regions written overlap [lo, hi) */
    bool pss;                 /* pss=1: each region's PSS too (scan source: pssmap.h) */
    ms_pss_pages pp;          /* the scan source's PSS reader, over pm_fd and kpc_fd (owned) */
    int pm_fd, kpc_fd;
    uint64_t pss_total;
    bool cut;                 /* the read stopped at a region past hi */
    size_t count;
    ms_region_rss total;
    jw w;
} rss_stream;

static void rss_stream_free(void *ctx)
{
    rss_stream *x = ctx;
    ms_rstream_close(x->rs);          /* first: its reader thread scans with x->scan */
    ms_rss_scan_free(&x->scan);
    ms_pss_pages_free(&x->pp);
    if (x->pm_fd >= 0)
        close(x->pm_fd);
    if (x->kpc_fd >= 0)
        close(x->kpc_fd);
    if (x->dirfd >= 0)
        close(x->dirfd);
    free(x);
}

static void write_region_rss(jw *w, const ms_region *g, const ms_region_rss *v, const uint64_t *pss)
{
    char b[128];
    size_t n = 0;
#define PUT(lit, val) (memcpy(b + n, lit, sizeof lit - 1), n += sizeof lit - 1, n += jw_fmt_u64(b + n, (val)))
    jw_obj(w);
    enc_region_head(w, g);
    PUT("\"rss\":", v->rss);
    PUT(",\"huge\":", v->huge);
    PUT(",\"hugetlb\":", v->hugetlb);
    if (pss)
        PUT(",\"pss\":", *pss);
#undef PUT
    jw_members_raw(w, b, n);
    jw_obj_end(w);
}

static void rss_add(ms_region_rss *t, const ms_region_rss *v)
{
    t->rss += v->rss;
    t->huge += v->huge;
    t->hugetlb += v->hugetlb;
}

static void write_rss_tail(rss_stream *x)
{
    jw *w = &x->w;
    jw_arr_end(w);
    jw_ku64(w, "count", x->count);
    enc_mm_flags(w, x->count ? MS_MM_PRESENT : ms_pid_mm_state(x->dirfd));
    jw_key(w, "totals");
    jw_obj(w);
    jw_ku64(w, "rss", x->total.rss);
    jw_ku64(w, "huge", x->total.huge);
    jw_ku64(w, "hugetlb", x->total.hugetlb);
    if (x->pss)
        jw_ku64(w, "pss", x->pss_total);
    jw_obj_end(w);
    if (!x->use_smaps) {
        /* The region list and the page scan are two reads a moment apart: what the second saw
         * outside the first's regions is counted here, never added to a region. */
        jw_key(w, "changed_while_read");
        jw_obj(w);
        /* known only once the scan went to its end: not where the range stopped the read */
        if (!x->cut)
            jw_ku64(w, "resident_outside_regions", ms_rss_scan_outside(&x->scan));
        jw_ku64(w, "regions_dropped", ms_rstream_dropped(x->rs));
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* The next region of either source, or *g == NULL at the end; *pss its PSS when asked for. */
static ms_err rss_next(rss_stream *x, const ms_region **g, ms_region_rss *v, uint64_t *pss)
{
    const ms_smaps_field *f;
    size_t nf;
    *pss = 0;
    if (!x->use_smaps) {
        ms_err rc = ms_rss_scan_next(&x->scan, x->rs, g, v);
        if (rc != MS_OK || !*g || !x->pss || !v->rss)
            return rc;
        /* the scan's ranges from the first that reaches into this region (its cursor) */
        uint64_t fp;
        const ms_rss_scan *s = &x->scan;
        rc = ms_pss_pages_of(&x->pp, s->r + s->cursor, s->n - s->cursor, (*g)->start, (*g)->end, &fp);
        *pss = ms_pss_bytes(fp);
        return rc;
    }
    ms_err rc = ms_rstream_next(x->rs, g, &f, &nf);
    if (rc == MS_OK && *g) {
        ms_region_rss_from_smaps(f, nf, v);
        for (size_t k = 0; k < nf; k++)
            if (f[k].id == MS_SF_PSS)
                *pss = f[k].value;
    }
    return rc;
}

static ms_err rss_stream_fill(void *ctx, ms_buf *b, size_t want, bool *done)
{
    rss_stream *x = ctx;
    jw *w = &x->w;
    w->b = b;
    if (!x->started) {
        x->started = true;
        jw_obj(w);
        jw_ki64(w, "pid", x->pid);
        jw_kstr(w, "source", x->use_smaps ? RSS_SOURCE_SMAPS : RSS_SOURCE_SCAN);
        if (x->fallback)
            jw_kstr(w, "fallback_reason", x->fallback);
        if (x->rows)
            rows_rss_open(w, x->pss);
        jw_key(w, "regions");
        jw_arr(w);
    }
    while (b->len < want && w->err == MS_OK) {
        const ms_region *g;
        ms_region_rss v;
        uint64_t pss;
        ms_err rc = rss_next(x, &g, &v, &pss);
        if (rc != MS_OK)
            return rc;
        /* the regions come in address order: past the range, nothing more is read or scanned */
        if (g && g->start >= x->hi) {
            g = NULL;
            x->cut = true;
        }
        if (!g) {
            write_rss_tail(x);
            *done = true;
            break;
        }
        if (g->end <= x->lo)
            continue;
        x->count++;
        rss_add(&x->total, &v);
        x->pss_total += pss;
        if (x->rows)
            rows_rss_region(w, g, &v, x->pss ? &pss : NULL);
        else
            write_region_rss(w, g, &v, x->pss ? &pss : NULL);
    }
    return w->err;
}

enum MHD_Result h_maps_rss(http_req *r, uint64_t lo, uint64_t hi)
{
    bool rss, rows, pss;
    if (!http_arg_bool(r, "rss", &rss) || !routes_layout_arg(r, &rows) || !http_arg_bool(r, "pss", &pss))
        return MHD_YES;
    const char *method = http_arg_get(r, "method");
    if (!rss && !method)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_flag", "pss applies to rss=1 only");
    if (!rss)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method", "method applies to rss=1 only");
    bool want_scan = method && strcmp(method, "scan") == 0, want_smaps = method && strcmp(method, "smaps") == 0;
    if (method && !want_scan && !want_smaps && strcmp(method, "auto") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method",
                                "method must be auto, scan or smaps, got '%.16s'", method);
    const ms_features *f = &r->srv->features;
    bool frames = f->pfn_readable && f->kpagecount_readable;
    if (pss && want_scan && !frames)
        return http_reply_error(r, MHD_HTTP_FORBIDDEN, "frames_hidden",
                                "method=scan with pss=1 reads frame numbers from pagemap and map counts from "
                                "/proc/kpagecount, which only CAP_SYS_ADMIN may; method=smaps gives PSS without them");
    int pid, dirfd;
    if (!routes_open_pid(r, &pid, &dirfd))
        return MHD_YES;
    rss_stream *x = calloc(1, sizeof *x);
    if (!x) {
        close(dirfd);
        return http_reply_ms(r, MS_ERR_NOMEM, "reading the regions of %d", pid);
    }
    x->pid = pid;
    x->rows = rows;
    x->pss = pss;
    x->pm_fd = x->kpc_fd = -1;
    ms_pss_pages_init(&x->pp, -1, -1, 0);
    x->lo = lo;
    x->hi = hi;
    x->dirfd = dirfd;
    x->base_page = (uint64_t)r->srv->sys.page_size;
    ms_rss_scan_init(&x->scan);
    ms_err rc = MS_OK;
    if (want_smaps) {
        x->use_smaps = true;
    } else if (pss && !frames) {
        x->use_smaps = true;
        x->fallback = "PSS without smaps needs the frame numbers in pagemap and /proc/kpagecount, "
                      "which only CAP_SYS_ADMIN reads";
    } else if (!f->pagemap_scan || !f->procmap_query) {
        /* Without PROCMAP_QUERY a region with huge pages could not be told hugetlb or not, and
         * that is found only once the answer is on its way: decide now. */
        rc = MS_ERR_UNSUPPORTED;
    } else {
        /* The whole user address space, but its last page: the kernel checks the range against
         * its own limit for a user pointer, which stops one page short of the top. */
        rc = ms_rss_scan_open(dirfd, 0, r->srv->sys.user_space_top - x->base_page, x->base_page, &x->scan);
        if (rc == MS_ERR_NOENT && ms_pid_mm_state(dirfd) != MS_MM_GONE)
            rc = MS_OK;               /* a kernel thread or a zombie: no pages, and maps says so */
    }
    if (rc == MS_ERR_UNSUPPORTED && !want_scan) {
        x->use_smaps = true;
        x->fallback = f->pagemap_scan ? "this kernel lacks PROCMAP_QUERY (Linux 6.11), which tells hugetlb regions"
                                      : "this kernel lacks PAGEMAP_SCAN (Linux 6.7)";
        rc = MS_OK;
    }
    if (rc == MS_OK && pss && !x->use_smaps && x->scan.pagemap_fd >= 0) {   /* no scan: no pages */
        x->pm_fd = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
        x->kpc_fd = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
        if (x->pm_fd < 0 || x->kpc_fd < 0)
            rc = ms_err_from_errno(errno);
        ms_pss_pages_init(&x->pp, x->pm_fd, x->kpc_fd, x->base_page);
    }
    if (rc == MS_OK)
        rc = ms_rstream_open(dirfd, x->use_smaps ? "smaps" : "maps", x->base_page, 0, &x->rs);
    if (rc != MS_OK) {
        rss_stream_free(x);
        return http_reply_ms(r, rc, "reading the regions and resident pages of %d", pid);
    }
    jw_init(&x->w, NULL);
    return http_reply_stream(r, "application/json", x, rss_stream_fill, rss_stream_free,
                             "reading the regions and resident pages");
}

/* ---- /processes?fields=pss,uss ---- */

#define PSS_BUDGET_DEFAULT_MS 100
#define PSS_BUDGET_MAX_MS 10000

/* The one cache of every request: created on first use, its own lock makes concurrent requests
 * take turns (see ms_psscache_update); freed only at shutdown, when no request runs. */
static ms_psscache *pss_cache;
static pthread_once_t pss_cache_once = PTHREAD_ONCE_INIT;
static ms_err pss_cache_rc = MS_OK;

static void pss_cache_make(void)
{
    pss_cache_rc = ms_psscache_new(&pss_cache);
}

void routes_fast_clear(void)
{
    ms_psscache_free(&pss_cache);
}

bool routes_pss_args(http_req *r, bool *want, uint64_t *budget_ns)
{
    const char *fields = http_arg_get(r, "fields"), *budget = http_arg_get(r, "pss_budget_ms");
    *want = false;
    *budget_ns = (uint64_t)PSS_BUDGET_DEFAULT_MS * 1000000;
    if (fields) {
        /* a comma list of pss and uss: both come from the same read */
        const char *p = fields;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (!((len == 3 && memcmp(p, "pss", 3) == 0) || (len == 3 && memcmp(p, "uss", 3) == 0))) {
                http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_fields",
                                 "fields takes pss and uss (comma-separated), got '%.32s'", fields);
                return false;
            }
            p += len + (e != NULL);
        }
        *want = *fields != '\0';
    }
    uint64_t ms;
    if (budget && (!ms_parse_u64(budget, PSS_BUDGET_MAX_MS, &ms))) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_budget",
                         "pss_budget_ms must be an integer from 0 to %d, got '%.32s'", PSS_BUDGET_MAX_MS, budget);
        return false;
    }
    if (budget)
        *budget_ns = ms * 1000000;
    if (budget && !*want) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_budget", "pss_budget_ms applies to fields=pss,uss only");
        return false;
    }
    return true;
}

ms_err routes_pss_compute(const ms_procinfo *p, size_t n, uint64_t budget_ns, ms_pss_result **res,
                          ms_pss_stats *st)
{
    *res = NULL;
    pthread_once(&pss_cache_once, pss_cache_make);
    if (pss_cache_rc != MS_OK)
        return pss_cache_rc;
    ms_pss_result *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return MS_ERR_NOMEM;
    ms_err rc = ms_psscache_update(pss_cache, p, n, budget_ns, r, st);
    if (rc != MS_OK) {
        free(r);
        return rc;
    }
    *res = r;
    return MS_OK;
}

/* ---- /wss ---- */

#define WSS_MIN_MS 100
#define WSS_MAX_MS 60000
#define WSS_DEFAULT_MS 1000
#define WSS_PAGE_IDLE_BITMAP "/sys/kernel/mm/page_idle/bitmap"

/* One measurement at a time, server-wide: each holds a worker thread for its whole interval, and
 * two would disturb each other (on one process clear_refs clears the other's bits; the idle-page
 * bitmap is one for the machine, and a frame shared by two processes is marked by both).  Guarded
 * by wss_lock; 0 when none runs. */
static pthread_mutex_t wss_lock = PTHREAD_MUTEX_INITIALIZER;
static int wss_running;

static double tv_ms(const struct timeval *a, const struct timeval *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_usec - a->tv_usec) / 1e3;
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

/* What the measurement cost this thread: kernel and user time of the clear (or the marking) and of
 * the read (or the check). */
typedef struct {
    struct rusage clear0, clear1, read0, read1;
    double t_clear_end, t_read_start;
} wss_cost;

/* Ends the first step's accounting and, when it went well, waits the interval and starts the
 * second's: the interval is what lies between the two. */
static bool wss_wait(wss_cost *c, bool ok, uint64_t interval_ms)
{
    getrusage(RUSAGE_THREAD, &c->clear1);
    c->t_clear_end = mono_ms();
    if (!ok)
        return false;
    sleep_ms(interval_ms);
    c->t_read_start = mono_ms();
    getrusage(RUSAGE_THREAD, &c->read0);
    return true;
}

/* One answer of either method: bytes per region (tracked only for page_idle), the cost of its two
 * steps under their names, what it did to the target and what it may miss. */
typedef struct {
    const char *method;
    const ms_region *regions;
    size_t n;
    const uint64_t *rss, *tracked, *referenced;   /* bytes per region; tracked NULL for clear_refs */
    const char *step1_ms, *step2_ms;              /* cost keys of the clear/mark and the read/check */
    int tlb_flushed;                              /* -1: no such question (page_idle) */
    const char *effect, *caveat;                  /* caveat NULL when there is none */
} wss_answer;

static void write_wss(jw *w, int pid, uint64_t interval_ms, const wss_answer *a, const wss_cost *c)
{
    uint64_t rss = 0, ref = 0, tr = 0;
    jw_obj(w);
    jw_ki64(w, "pid", pid);
    jw_kstr(w, "method", a->method);
    if (a->tlb_flushed >= 0)
        jw_kbool(w, "tlb_flushed", a->tlb_flushed);
    jw_ku64(w, "interval_ms", interval_ms);
    jw_key(w, "measured_interval_ms");
    jw_double(w, c->t_read_start - c->t_clear_end);
    jw_key(w, "regions");
    jw_arr(w);
    for (size_t i = 0; i < a->n; i++) {
        rss += a->rss[i];
        ref += a->referenced[i];
        jw_obj(w);
        enc_region_head(w, &a->regions[i]);
        jw_ku64(w, "rss", a->rss[i]);
        if (a->tracked) {
            tr += a->tracked[i];
            jw_ku64(w, "tracked", a->tracked[i]);
        }
        jw_ku64(w, "referenced", a->referenced[i]);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_ku64(w, "count", a->n);
    jw_key(w, "totals");
    jw_obj(w);
    jw_ku64(w, "rss", rss);
    if (a->tracked)
        jw_ku64(w, "tracked", tr);
    jw_ku64(w, "referenced", ref);
    jw_obj_end(w);
    jw_key(w, "cost");
    jw_obj(w);
    double ck = tv_ms(&c->clear0.ru_stime, &c->clear1.ru_stime), rk = tv_ms(&c->read0.ru_stime, &c->read1.ru_stime);
    double cu = tv_ms(&c->clear0.ru_utime, &c->clear1.ru_utime), ru = tv_ms(&c->read0.ru_utime, &c->read1.ru_utime);
    jw_key(w, "kernel_ms");
    jw_double(w, ck + rk);
    jw_key(w, "user_ms");
    jw_double(w, cu + ru);
    jw_key(w, a->step1_ms);
    jw_double(w, ck);
    jw_key(w, a->step2_ms);
    jw_double(w, rk);
    jw_obj_end(w);
    jw_kstr(w, "effect", a->effect);
    if (a->caveat)
        jw_kstr(w, "caveat", a->caveat);
    jw_obj_end(w);
}

static enum MHD_Result wss_reply(http_req *r, int pid, uint64_t interval_ms, const wss_answer *a, const wss_cost *c)
{
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    write_wss(&w, pid, interval_ms, a, c);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

static enum MHD_Result wss_measure(http_req *r, int pid, int dirfd, uint64_t interval_ms)
{
    wss_cost c;
    ms_smaps s;
    uint64_t *v = NULL;       /* 2 x nregions: rss, referenced */
    bool flushed = false;
    ms_smaps_init(&s);
    getrusage(RUSAGE_THREAD, &c.clear0);
    /* the flush is safe only where the kernel keeps no soft-dirty bits to lose: see ms_wss_clear_refs */
    ms_err rc = ms_wss_clear_refs(dirfd, !r->srv->features.soft_dirty, &flushed);
    if (wss_wait(&c, rc == MS_OK, interval_ms)) {
        rc = ms_smaps_read(dirfd, &s);
        getrusage(RUSAGE_THREAD, &c.read1);
    }
    size_t n = s.maps.nregions;
    if (rc == MS_OK && !(v = calloc(2 * (n ? n : 1), sizeof *v)))
        rc = MS_ERR_NOMEM;
    enum MHD_Result ret;
    if (rc != MS_OK) {
        ret = http_reply_ms(r, rc, "measuring the working set of %d", pid);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ms_region_rss rr;
        size_t nf;
        const ms_smaps_field *f = ms_smaps_fields_of(&s, &s.maps.regions[i], &nf);
        ms_region_rss_from_smaps(f, nf, &rr);
        v[i] = rr.rss;
        v[n + i] = ms_wss_referenced(f, nf);
    }
    {
        wss_answer a = {
            "clear_refs", s.maps.regions, n, v, NULL, v + n, "clear_refs_kernel_ms", "smaps_kernel_ms", flushed,
            "the process's accessed bits were cleared: for a moment its pages look idle to the kernel's reclaim",
            flushed ? NULL
                    : "this kernel tracks soft-dirty bits, so the TLB was not flushed after the clear (that would "
                      "reset them): pages the process kept reading through cached translations may be missing "
                      "from referenced"};
        ret = wss_reply(r, pid, interval_ms, &a, &c);
    }
out:
    free(v);
    ms_smaps_free(&s);
    return ret;
}

/* rss: what pagemap showed present at the start (the zero page left out); tracked: what took the
 * idle mark and still had its frame at the end; referenced: what of that was accessed meanwhile. */
static enum MHD_Result wss_measure_idle(http_req *r, int pid, int dirfd, uint64_t interval_ms)
{
    wss_cost c;
    ms_maps m;
    ms_pi_set s;
    uint64_t *v = NULL;       /* 3 x nregions: present, tracked, referenced (pages, then bytes) */
    int bfd = -1;
    size_t nmarked, n = 0;
    ms_maps_init(&m);
    ms_pi_set_init(&s);
    getrusage(RUSAGE_THREAD, &c.clear0);
    ms_err rc = ms_pi_open(AT_FDCWD, WSS_PAGE_IDLE_BITMAP, &bfd);
    if (rc == MS_OK)
        rc = ms_maps_read(dirfd, &m);
    n = m.nregions;
    if (rc == MS_OK)
        rc = ms_pi_collect(dirfd, m.regions, n, &s);
    if (rc == MS_OK && !(v = calloc(3 * (n ? n : 1), sizeof *v)))
        rc = MS_ERR_NOMEM;
    if (rc == MS_OK) {
        for (size_t k = 0; k < s.n; k++)
            v[s.p[k].reg]++;
        rc = ms_pi_mark(bfd, &s, &nmarked);
    }
    if (wss_wait(&c, rc == MS_OK, interval_ms)) {
        rc = ms_pi_recheck(dirfd, &s);
        if (rc == MS_OK)
            rc = ms_pi_count(bfd, &s, n, v + n, v + 2 * n);
        getrusage(RUSAGE_THREAD, &c.read1);
    }
    enum MHD_Result ret;
    if (rc != MS_OK) {
        ret = http_reply_ms(r, rc, "measuring the working set of %d by " WSS_PAGE_IDLE_BITMAP, pid);
        goto out;
    }
    for (size_t i = 0; i < 3 * n; i++)
        v[i] *= s.page_size;
    {
        wss_answer a = {
            "page_idle", m.regions, n, v, v + n, v + 2 * n, "mark_kernel_ms", "check_kernel_ms", -1,
            "the process's pages were marked idle in " WSS_PAGE_IDLE_BITMAP "; the kernel keeps their accessed "
            "state for reclaim, so what it reclaims is unchanged",
            "the kernel clears the accessed bits it marks without flushing the TLB: pages the process kept "
            "reading through cached translations may be missing from referenced; pages that could not be marked "
            "(on no LRU list) or changed frame in the interval are in rss but not in tracked, and counted neither way"};
        ret = wss_reply(r, pid, interval_ms, &a, &c);
    }
out:
    if (bfd >= 0)
        close(bfd);
    free(v);
    ms_pi_set_free(&s);
    ms_maps_free(&m);
    return ret;
}

enum MHD_Result h_wss(http_req *r)
{
    static const char *const allowed[] = {"interval_ms", "method", NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    /* Without a choice, the method that leaves the target's reclaim alone wherever the kernel has it. */
    const char *method = http_arg_get(r, "method");
    bool idle = r->srv->features.page_idle;
    if (method && strcmp(method, "page_idle") == 0)
        idle = true;
    else if (method && strcmp(method, "clear_refs") == 0)
        idle = false;
    else if (method)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method",
                                "method must be clear_refs or page_idle, got '%.32s'", method);
    if (idle && !r->srv->features.page_idle)
        return http_reply_error(r, MHD_HTTP_NOT_IMPLEMENTED, "page_idle_unavailable",
                                WSS_PAGE_IDLE_BITMAP " cannot be opened read-write: this kernel is built "
                                "without CONFIG_IDLE_PAGE_TRACKING, or memscoped is not root; "
                                "method=clear_refs measures by clearing the process's referenced bits instead");
    if (idle && !r->srv->features.pfn_readable)
        return http_reply_error(r, MHD_HTTP_FORBIDDEN, "pfn_hidden",
                                "the page_idle method needs the physical frame of each page from "
                                "/proc/PID/pagemap, which the kernel shows only to CAP_SYS_ADMIN");
    if (!idle && !r->srv->allow_clear_refs)
        return http_reply_error(r, MHD_HTTP_FORBIDDEN, "clear_refs_not_allowed",
                                "measuring the working set clears the process's page-referenced bits, which "
                                "changes what the kernel reclaims from it first; start memscoped with "
                                "--allow-clear-refs to allow it");
    const char *iv = http_arg_get(r, "interval_ms");
    uint64_t interval = WSS_DEFAULT_MS;
    if (iv && (!ms_parse_u64(iv, WSS_MAX_MS, &interval) || interval < WSS_MIN_MS))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_interval",
                                "interval_ms must be an integer from %d to %d, got '%.32s'", WSS_MIN_MS, WSS_MAX_MS, iv);
    int pid, dirfd;
    if (!routes_open_pid(r, &pid, &dirfd))
        return MHD_YES;
    pthread_mutex_lock(&wss_lock);
    int busy = wss_running;
    if (!busy)
        wss_running = pid;
    pthread_mutex_unlock(&wss_lock);
    enum MHD_Result ret;
    if (busy) {
        ret = http_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "wss_busy",
                               "a working-set measurement (of process %d) is running; one runs at a time", busy);
    } else {
        ret = idle ? wss_measure_idle(r, pid, dirfd, interval) : wss_measure(r, pid, dirfd, interval);
        pthread_mutex_lock(&wss_lock);
        wss_running = 0;
        pthread_mutex_unlock(&wss_lock);
    }
    close(dirfd);
    return ret;
}
