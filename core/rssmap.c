/* rssmap.c - per-region resident bytes from one page-table scan, clipped to the regions.
 *
 * The scan is made in slices in address order, each up to where the region list has been read, so
 * that streaming the list and scanning its regions go on side by side; the ranges of one slice that
 * run into the next are joined again, so the result does not depend on where the slices fell.
 *
 * The ranges a PAGEMAP_SCAN call returns are the only trustworthy progress: when a walk ends after
 * more than one internal flush of its 512-entry buffer, walk_end can point back at the last restart
 * instead of the end, and resuming from it would count the tail twice.  So the loop goes on only
 * when the vector came back full, from the end of its last range; a vector not full means the walk
 * reached the end. */
#include "rssmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kabi.h"
#include "procmap.h"

/* page_regions per call: 96 KiB.  A 10,000-region subject fits in a few calls. */
#define RSS_SCAN_VEC 4096

/* What the stream's reader thread scanned for one read-ahead slot: the kernel's ranges over
 * [from, to) as they came (to == 0: nothing scanned), and the calls it took.  Owned as the slot is
 * (see ms_rstream_hook). */
typedef struct {
    struct page_region *v;
    size_t n, cap;
    uint64_t from, to;
    size_t calls;
} rss_batch;

/* The reader thread's side.  horizon: where its last slot's scan ended (0 before the first);
 * touched by that thread only. */
struct rss_ahead {
    rss_batch batch[MS_RSTREAM_SLOTS];
    uint64_t horizon;
};

void ms_rss_scan_init(ms_rss_scan *s)
{
    memset(s, 0, sizeof *s);
    s->dirfd = -1;
    s->maps_fd = -1;
    s->pagemap_fd = -1;
}

static void ahead_free(struct rss_ahead *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < MS_RSTREAM_SLOTS; i++)
        free(a->batch[i].v);
    free(a);
}

void ms_rss_scan_free(ms_rss_scan *s)
{
    ahead_free(s->ahead);
    free(s->r);
    free(s->vec);
    if (s->maps_fd >= 0)
        close(s->maps_fd);
    if (s->pagemap_fd >= 0)
        close(s->pagemap_fd);
    ms_rss_scan_init(s);
}

static ms_err ranges_add(ms_rss_scan *s, const struct page_region *p)
{
    bool huge = (p->categories & PAGE_IS_HUGE) != 0;
    s->bytes += p->end - p->start;
    if (s->n && s->r[s->n - 1].end == p->start && s->r[s->n - 1].huge == huge) {
        s->r[s->n - 1].end = p->end;      /* one range cut by a full vector or a slice's end */
        return MS_OK;
    }
    if (s->n == s->cap) {
        ms_err rc = ms_grow((void **)&s->r, &s->cap, s->n + 1, sizeof *s->r, 256, 0);
        if (rc != MS_OK)
            return rc;
    }
    s->r[s->n++] = (ms_rss_range){p->start, p->end, huge};
    return MS_OK;
}

/* One PAGEMAP_SCAN call over [start, end) into vec (room for RSS_SCAN_VEC): the number of ranges,
 * or -1 with errno. */
static int scan_call(int fd, struct page_region *vec, uint64_t start, uint64_t end)
{
    struct pm_scan_arg a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.start = start;
    a.end = end;
    a.vec = (uint64_t)(uintptr_t)vec;
    a.vec_len = RSS_SCAN_VEC;
    a.category_mask = PAGE_IS_PRESENT | PAGE_IS_PFNZERO;
    a.category_inverted = PAGE_IS_PFNZERO;
    /* HUGE is told by the page-table level the walk is at anyway: it costs no page lookups. */
    a.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE;
    int n;
    while ((n = ioctl(fd, PAGEMAP_SCAN, &a)) < 0 && errno == EINTR)
        ;
    return n;
}

/* The next call of a walk over [*next, upto): its ranges in vec, checked, *n of them, and *next
 * moved on to where the walk got (see the top of this file for why from the ranges). */
static ms_err scan_step(int fd, struct page_region *vec, uint64_t *next, uint64_t upto, size_t *n)
{
    int got = scan_call(fd, vec, *next, upto);
    *n = 0;
    if (got < 0)
        return ms_err_from_errno(errno);
    for (int i = 0; i < got; i++) {
        if (vec[i].start < *next || vec[i].end > upto || vec[i].start >= vec[i].end)
            return MS_ERR_PARSE;         /* the kernel broke its own contract */
        *next = vec[i].end;
    }
    if (got < RSS_SCAN_VEC)
        *next = upto;                    /* a vector not full: the walk got to upto */
    *n = (size_t)got;
    return MS_OK;
}

ms_err ms_rss_scan_open(int dirfd, uint64_t start, uint64_t end, uint64_t base_page, ms_rss_scan *s)
{
    ms_err rc = MS_OK;
    ms_rss_scan_free(s);
    s->dirfd = dirfd;
    s->base_page = base_page;
    s->next = start;
    s->end = end;
    s->vec = malloc(RSS_SCAN_VEC * sizeof(struct page_region));
    s->pagemap_fd = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
    if (!s->vec || s->pagemap_fd < 0) {
        rc = !s->vec ? MS_ERR_NOMEM : ms_err_from_errno(errno);
        goto out;
    }
    /* An empty range: a kernel without the ioctl refuses it as it would any other. */
    if (scan_call(s->pagemap_fd, s->vec, start, start) < 0)
        rc = (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) ? MS_ERR_UNSUPPORTED
                                                                         : ms_err_from_errno(errno);
    else
        s->calls++;
out:
    if (rc != MS_OK)
        ms_rss_scan_free(s);
    return rc;
}

ms_err ms_rss_scan_to(ms_rss_scan *s, uint64_t upto)
{
    ms_err rc = MS_OK;
    const struct page_region *vec = s->vec;
    if (upto > s->end)
        upto = s->end;
    while (rc == MS_OK && s->next < upto) {
        size_t n;
        rc = scan_step(s->pagemap_fd, s->vec, &s->next, upto, &n);
        s->calls++;
        for (size_t i = 0; rc == MS_OK && i < n; i++)
            rc = ranges_add(s, &vec[i]);
    }
    return rc;
}

/* The reader thread's scan (ms_rstream_hook.on_read) of the regions whose lines end in text: from
 * where its last slot's scan ended, or for the first slot from the first line that starts in it,
 * up to the end of the last complete line.  A failure leaves the batch empty: the caller's thread
 * scans that part itself, and meets the error there. */
static void ahead_on_read(void *ctx, size_t slot, const char *text, size_t len)
{
    ms_rss_scan *s = ctx;        /* of s, only what stays as it was before the thread started */
    struct rss_ahead *a = s->ahead;
    rss_batch *b = &a->batch[slot];
    b->n = b->calls = 0;
    b->from = b->to = 0;
    const char *end = text + len, *last = memrchr(text, '\n', len), *first = memchr(text, '\n', len);
    const char *before = last ? memrchr(text, '\n', (size_t)(last - text)) : NULL;
    uint64_t start, stop, from = a->horizon;
    if (!before || (!from && !ms_maps_line_range(first + 1, end, &from, &stop)))
        return;                  /* no complete line after the first '\n': a slot of a few huge lines */
    if (!ms_maps_line_range(before + 1, end, &start, &stop))
        return;
    if (stop > s->end)
        stop = s->end;
    uint64_t next = from;
    while (next < stop) {
        size_t n;
        if (b->cap - b->n < RSS_SCAN_VEC &&
            ms_grow((void **)&b->v, &b->cap, b->n + RSS_SCAN_VEC, sizeof *b->v, RSS_SCAN_VEC, 0) != MS_OK)
            break;
        ms_err rc = scan_step(s->pagemap_fd, b->v + b->n, &next, stop, &n);
        b->calls++;
        if (rc != MS_OK)
            break;
        b->n += n;
    }
    if (next < stop || from >= stop) {
        b->n = 0;
        return;
    }
    b->from = from;
    b->to = a->horizon = stop;
}

/* The caller's side (ms_rstream_hook.on_take): the batch's ranges join the scan's.  Whatever lies
 * between where this thread's scan got and where the batch starts is scanned here first; what the
 * batch holds before that point was scanned already. */
static ms_err ahead_on_take(void *ctx, size_t slot)
{
    ms_rss_scan *s = ctx;
    const rss_batch *b = &s->ahead->batch[slot];
    ms_err rc = MS_OK;
    s->calls += b->calls;
    s->ahead_calls += b->calls;
    if (b->to <= s->next)
        return MS_OK;
    if (b->from > s->next && (rc = ms_rss_scan_to(s, b->from)) != MS_OK)
        return rc;
    for (size_t i = 0; rc == MS_OK && i < b->n; i++) {
        struct page_region p = b->v[i];
        if (p.end <= s->next)
            continue;
        if (p.start < s->next)
            p.start = s->next;
        rc = ranges_add(s, &p);
    }
    if (rc == MS_OK)
        s->next = b->to;
    return rc;
}

/* Ties the scan to the stream's reader thread, if the stream has not started reading ahead. */
static ms_err ahead_follow(ms_rss_scan *s, ms_rstream *rs)
{
    if (s->ahead)
        return MS_OK;
    if (!(s->ahead = calloc(1, sizeof *s->ahead)))
        return MS_ERR_NOMEM;
    ms_rstream_hook h = {ahead_on_read, ahead_on_take, s};
    ms_rstream_set_hook(rs, &h);      /* too late for a stream reading ahead: this thread scans */
    return MS_OK;
}

ms_err ms_rss_scan_read(int dirfd, uint64_t start, uint64_t end, uint64_t base_page, ms_rss_scan *s)
{
    ms_err rc = ms_rss_scan_open(dirfd, start, end, base_page, s);
    return rc == MS_OK ? ms_rss_scan_to(s, end) : rc;
}

void ms_rss_ranges_clip(const ms_rss_range *r, size_t n, size_t *cursor, uint64_t start, uint64_t end,
                        ms_region_rss *out)
{
    size_t i = *cursor;
    while (i < n && r[i].end <= start)
        i++;
    *cursor = i;
    for (; i < n && r[i].start < end; i++) {
        uint64_t lo = r[i].start > start ? r[i].start : start, hi = r[i].end < end ? r[i].end : end;
        out->rss += hi - lo;
        if (r[i].huge)
            out->huge += hi - lo;
    }
}

ms_err ms_rss_scan_region(ms_rss_scan *s, const ms_region *g, ms_region_rss *out)
{
    memset(out, 0, sizeof *out);
    if (g->end > s->next) {
        ms_err rc = ms_rss_scan_to(s, g->end);
        if (rc != MS_OK)
            return rc;
    }
    ms_rss_ranges_clip(s->r, s->n, &s->cursor, g->start, g->end, out);
    s->attributed += out->rss;
    if (!out->huge)
        return MS_OK;
    /* Huge pages: a THP or a hugetlb region, which maps' text does not tell apart. */
    if (s->maps_fd < 0 && (s->maps_fd = openat(s->dirfd, "maps", O_RDONLY | O_CLOEXEC)) < 0)
        return ms_err_from_errno(errno);
    uint64_t ps;
    ms_err rc = ms_procmap_page_size(s->maps_fd, g->start, &ps);
    if (rc == MS_ERR_NOENT)
        return MS_OK;                    /* unmapped since: counted as it was when scanned */
    if (rc != MS_OK)
        return rc;
    if (s->base_page && ps > s->base_page) {
        out->hugetlb = out->rss;
        out->rss = out->huge = 0;
    }
    return MS_OK;
}

ms_err ms_rss_scan_next(ms_rss_scan *s, ms_rstream *rs, const ms_region **g, ms_region_rss *out)
{
    *g = NULL;
    ms_err rc = ahead_follow(s, rs);
    if (rc == MS_OK)
        rc = ms_rstream_next(rs, g, NULL, NULL);
    if (rc == MS_OK && !*g)
        rc = ms_rss_scan_to(s, s->end);
    else if (rc == MS_OK && (*g)->end > s->next) {
        /* every region the stream holds, in one slice: a call per region would cost more than
         * the walk */
        uint64_t h = ms_rstream_horizon(rs);
        rc = ms_rss_scan_to(s, h > (*g)->end ? h : (*g)->end);
    }
    if (rc == MS_OK && *g)
        rc = ms_rss_scan_region(s, *g, out);
    return rc;
}

uint64_t ms_rss_scan_outside(const ms_rss_scan *s)
{
    return s->bytes - s->attributed;
}

void ms_rssmap_init(ms_rssmap *m)
{
    memset(m, 0, sizeof *m);
    ms_maps_init(&m->maps);
}

void ms_rssmap_free(ms_rssmap *m)
{
    ms_maps_free(&m->maps);
    free(m->rss);
    ms_rssmap_init(m);
}

ms_err ms_rssmap_read(int dirfd, uint64_t base_page, ms_rssmap *m)
{
    ms_err rc;
    ms_rss_scan s;
    ms_rss_scan_init(&s);
    ms_rssmap_free(m);
    if ((rc = ms_maps_read(dirfd, &m->maps)) != MS_OK)
        goto out;
    m->rss = calloc(m->maps.nregions ? m->maps.nregions : 1, sizeof *m->rss);
    if (!m->rss) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    /* The user address space ends below the gate area, which pagemap does not cover. */
    size_t last = m->maps.nregions;
    while (last > 0 && m->maps.regions[last - 1].kind == MS_KIND_VSYSCALL)
        last--;
    if (last == 0)
        goto out;
    rc = ms_rss_scan_read(dirfd, m->maps.regions[0].start, m->maps.regions[last - 1].end, base_page, &s);
    for (size_t i = 0; rc == MS_OK && i < m->maps.nregions; i++)
        rc = ms_rss_scan_region(&s, &m->maps.regions[i], &m->rss[i]);
    m->outside = ms_rss_scan_outside(&s);
    m->scan_calls = s.calls;
out:
    ms_rss_scan_free(&s);
    return rc;
}

void ms_region_rss_from_smaps(const ms_smaps_field *f, size_t nf, ms_region_rss *out)
{
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < nf; k++) {
        switch ((ms_smaps_field_id)f[k].id) {
        case MS_SF_RSS: out->rss = f[k].value; break;
        case MS_SF_ANON_HUGE_PAGES:
        case MS_SF_SHMEM_PMD_MAPPED:
        case MS_SF_FILE_PMD_MAPPED: out->huge += f[k].value; break;
        case MS_SF_SHARED_HUGETLB:
        case MS_SF_PRIVATE_HUGETLB: out->hugetlb += f[k].value; break;
        default: break;
        }
    }
}
