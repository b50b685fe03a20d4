/* routes_fast.c - answers that skip smaps where the question lets them: resident bytes per region
 * (/maps?rss=1), PSS and USS for every process on a CPU budget (/processes?fields=pss,uss), and the
 * working set (/wss).
 *
 * /maps?rss=1 is answered from PROCMAP_QUERY + PAGEMAP_SCAN (core/rssmap.c) and falls back to
 * smaps, region by region the same figures, where this kernel lacks either ioctl or method=smaps
 * asks for it; the answer's "source" says which.  Like /maps it is streamed: the two walks are made
 * before anything is sent (they are the cost, and a failure there is an ordinary error answer),
 * then the regions are written out as the client takes them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rssmap.h"
#include "core/rstream.h"
#include "http.h"
#include "jw.h"
#include "routes.h"

#define RSS_SOURCE_SCAN "procmap_query+pagemap_scan"
#define RSS_SOURCE_SMAPS "smaps"

/* ---- /maps?rss=1 ---- */

typedef struct {
    int pid;
    int dirfd;                /* kept for the smaps stream, which reads as it goes */
    bool use_smaps;
    const char *fallback;     /* why smaps answers when it was not asked for, or NULL */
    ms_rssmap m;              /* scan source: every region and its figures, read up front */
    size_t next;
    ms_rstream *rs;           /* smaps source */
    uint64_t base_page;
    bool started;
    size_t count;
    ms_region_rss total;
    jw w;
} rss_stream;

static void rss_stream_free(void *ctx)
{
    rss_stream *x = ctx;
    ms_rssmap_free(&x->m);
    ms_rstream_close(x->rs);
    if (x->dirfd >= 0)
        close(x->dirfd);
    free(x);
}

static void write_region_rss(jw *w, const ms_region *g, const ms_region_rss *v)
{
    char b[128];
    size_t n = 0;
#define PUT(lit, val) (memcpy(b + n, lit, sizeof lit - 1), n += sizeof lit - 1, n += jw_fmt_u64(b + n, (val)))
    jw_obj(w);
    routes_write_region_head(w, g);
    PUT("\"rss\":", v->rss);
    PUT(",\"huge\":", v->huge);
    PUT(",\"hugetlb\":", v->hugetlb);
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
    jw_key(w, "totals");
    jw_obj(w);
    jw_ku64(w, "rss", x->total.rss);
    jw_ku64(w, "huge", x->total.huge);
    jw_ku64(w, "hugetlb", x->total.hugetlb);
    jw_obj_end(w);
    if (!x->use_smaps) {
        /* The region list and the page scan are two reads a moment apart: what the second saw
         * outside the first's regions is counted here, never added to a region. */
        jw_key(w, "changed_while_read");
        jw_obj(w);
        jw_ku64(w, "resident_outside_regions", x->m.outside);
        jw_ku64(w, "regions_dropped", x->m.dropped);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* The next region of either source, or *g == NULL at the end. */
static ms_err rss_next(rss_stream *x, const ms_region **g, ms_region_rss *v)
{
    if (!x->use_smaps) {
        *g = x->next < x->m.maps.nregions ? &x->m.maps.regions[x->next] : NULL;
        if (*g)
            *v = x->m.rss[x->next++];
        return MS_OK;
    }
    const ms_smaps_field *f;
    size_t nf;
    ms_err rc = ms_rstream_next(x->rs, g, &f, &nf);
    if (rc == MS_OK && *g)
        ms_region_rss_from_smaps(f, nf, v);
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
        jw_key(w, "regions");
        jw_arr(w);
    }
    while (b->len < want && w->err == MS_OK) {
        const ms_region *g;
        ms_region_rss v;
        ms_err rc = rss_next(x, &g, &v);
        if (rc != MS_OK)
            return rc;
        if (!g) {
            write_rss_tail(x);
            *done = true;
            break;
        }
        x->count++;
        rss_add(&x->total, &v);
        write_region_rss(w, g, &v);
    }
    return w->err;
}

enum MHD_Result h_maps_rss(http_req *r)
{
    bool rss;
    if (!routes_arg_bool(r, "rss", &rss))
        return MHD_YES;
    const char *method = http_arg_get(r, "method");
    if (!rss)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method", "method applies to rss=1 only");
    bool want_scan = method && strcmp(method, "scan") == 0, want_smaps = method && strcmp(method, "smaps") == 0;
    if (method && !want_scan && !want_smaps && strcmp(method, "auto") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method",
                                "method must be auto, scan or smaps, got '%.16s'", method);
    int pid, dirfd;
    if (!routes_open_pid(r, &pid, &dirfd))
        return MHD_YES;
    rss_stream *x = calloc(1, sizeof *x);
    if (!x) {
        close(dirfd);
        return http_reply_ms(r, MS_ERR_NOMEM, "reading the regions of %d", pid);
    }
    x->pid = pid;
    x->dirfd = dirfd;
    x->base_page = (uint64_t)r->srv->sys.page_size;
    ms_rssmap_init(&x->m);
    const ms_features *f = &r->srv->features;
    ms_err rc = MS_OK;
    if (want_smaps) {
        x->use_smaps = true;
    } else if (!f->procmap_query || !f->pagemap_scan) {
        rc = MS_ERR_UNSUPPORTED;
    } else {
        rc = ms_rssmap_read(dirfd, &f->gate, x->base_page, &x->m);
    }
    if (rc == MS_ERR_UNSUPPORTED && !want_scan) {
        x->use_smaps = true;
        x->fallback = "this kernel lacks PROCMAP_QUERY (Linux 6.11) or PAGEMAP_SCAN (Linux 6.7)";
        rc = MS_OK;
    }
    if (rc == MS_OK && x->use_smaps)
        rc = ms_rstream_open(dirfd, "smaps", x->base_page, 0, &x->rs);
    if (rc != MS_OK) {
        rss_stream_free(x);
        return http_reply_ms(r, rc, "reading the regions and resident pages of %d", pid);
    }
    jw_init(&x->w, NULL);
    return http_reply_stream(r, "application/json", x, rss_stream_fill, rss_stream_free,
                             "reading the regions and resident pages");
}
