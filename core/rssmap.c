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

void ms_rss_scan_init(ms_rss_scan *s)
{
    memset(s, 0, sizeof *s);
    s->dirfd = -1;
    s->maps_fd = -1;
    s->pagemap_fd = -1;
}

void ms_rss_scan_free(ms_rss_scan *s)
{
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

/* One PAGEMAP_SCAN call over [start, end) into s->vec: the number of ranges, or -1 with errno. */
static int scan_call(ms_rss_scan *s, uint64_t start, uint64_t end)
{
    struct pm_scan_arg a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.start = start;
    a.end = end;
    a.vec = (uint64_t)(uintptr_t)s->vec;
    a.vec_len = RSS_SCAN_VEC;
    a.category_mask = PAGE_IS_PRESENT | PAGE_IS_PFNZERO;
    a.category_inverted = PAGE_IS_PFNZERO;
    /* HUGE is told by the page-table level the walk is at anyway: it costs no page lookups. */
    a.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE;
    int n;
    while ((n = ioctl(s->pagemap_fd, PAGEMAP_SCAN, &a)) < 0 && errno == EINTR)
        ;
    if (n >= 0)
        s->calls++;
    return n;
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
    if (scan_call(s, start, start) < 0)
        rc = (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) ? MS_ERR_UNSUPPORTED
                                                                         : ms_err_from_errno(errno);
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
        int n = scan_call(s, s->next, upto);
        if (n < 0) {
            rc = ms_err_from_errno(errno);
            break;
        }
        for (int i = 0; rc == MS_OK && i < n; i++) {
            if (vec[i].start < s->next || vec[i].end > upto || vec[i].start >= vec[i].end)
                rc = MS_ERR_PARSE;       /* the kernel broke its own contract */
            else if ((rc = ranges_add(s, &vec[i])) == MS_OK)
                s->next = vec[i].end;
        }
        if (rc == MS_OK && (size_t)n < RSS_SCAN_VEC)
            s->next = upto;              /* a vector not full: the walk got to upto */
    }
    return rc;
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
    ms_err rc = ms_rstream_next(rs, g, NULL, NULL);
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
