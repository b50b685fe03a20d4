/* rssmap.c - per-region resident bytes from a region walk and one page-table scan.
 *
 * Two kernel quirks shape the scan loop.  The ranges a call returns are the only trustworthy
 * progress: when a walk ends after more than one internal flush of its 512-entry buffer, walk_end
 * can point back at the last restart instead of the end, and resuming from it would count the tail
 * twice.  So the loop goes on only when the vector came back full, from the end of its last range;
 * a vector not full means the walk reached the end.  And the two walks are separate reads of a
 * process that may be changing: clipping every range to the listed regions keeps each region's
 * figure within its size whatever happened in between. */
#include "rssmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kabi.h"

/* page_regions per call: 96 KiB.  A 10,000-region subject fits in a few calls. */
#define RSSMAP_VEC 4096

void ms_rssmap_init(ms_rssmap *m)
{
    memset(m, 0, sizeof *m);
    ms_maps_init(&m->maps);
}

void ms_rssmap_free(ms_rssmap *m)
{
    ms_maps_free(&m->maps);
    free(m->rss);
    m->rss = NULL;
    m->outside = 0;
    m->dropped = 0;
    m->scan_calls = 0;
}

static bool is_hugetlb(const ms_region *r, uint64_t base_page)
{
    return base_page && r->kernel_page_size > base_page;
}

void ms_rssmap_clip(const ms_region *r, size_t n, ms_region_rss *rss, size_t *cursor, uint64_t start,
                    uint64_t end, bool huge, uint64_t base_page, uint64_t *outside)
{
    size_t i = *cursor;
    uint64_t at = start;
    while (i < n && r[i].end <= at)
        i++;
    while (at < end) {
        if (i == n || r[i].start >= end) {
            *outside += end - at;
            break;
        }
        if (r[i].start > at) {
            *outside += r[i].start - at;        /* a gap between regions */
            at = r[i].start;
        }
        uint64_t hi = r[i].end < end ? r[i].end : end;
        uint64_t bytes = hi - at;
        if (is_hugetlb(&r[i], base_page))
            rss[i].hugetlb += bytes;
        else {
            rss[i].rss += bytes;
            if (huge)
                rss[i].huge += bytes;
        }
        at = hi;
        if (at == r[i].end)
            i++;
    }
    /* i is the first region not wholly before end: the next range starts there or later. */
    *cursor = i;
}

/* The scan over [lo, hi), joined into m->rss as it goes. */
static ms_err scan(int fd, uint64_t lo, uint64_t hi, uint64_t base_page, ms_rssmap *m)
{
    ms_err rc = MS_OK;
    struct page_region *vec = malloc(RSSMAP_VEC * sizeof *vec);
    if (!vec)
        return MS_ERR_NOMEM;
    struct pm_scan_arg a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.end = hi;
    a.vec = (uint64_t)(uintptr_t)vec;
    a.vec_len = RSSMAP_VEC;
    a.category_mask = PAGE_IS_PRESENT | PAGE_IS_PFNZERO;
    a.category_inverted = PAGE_IS_PFNZERO;
    /* HUGE is told by the page-table level the walk is at anyway: it costs no page lookups. */
    a.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE;
    size_t cursor = 0;
    uint64_t cur = lo;
    while (cur < hi) {
        a.start = cur;
        int n = ioctl(fd, PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = (errno == ENOTTY || errno == EOPNOTSUPP || (errno == EINVAL && m->scan_calls == 0))
                     ? MS_ERR_UNSUPPORTED : ms_err_from_errno(errno);
            goto out;
        }
        m->scan_calls++;
        for (int i = 0; i < n; i++) {
            const struct page_region *p = &vec[i];
            if (p->start < cur || p->end > hi || p->start >= p->end) {
                rc = MS_ERR_PARSE;       /* the kernel broke its own contract */
                goto out;
            }
            ms_rssmap_clip(m->maps.regions, m->maps.nregions, m->rss, &cursor, p->start, p->end,
                           (p->categories & PAGE_IS_HUGE) != 0, base_page, &m->outside);
            cur = p->end;
        }
        if ((size_t)n < RSSMAP_VEC)
            break;
    }
out:
    free(vec);
    return rc;
}

ms_err ms_rssmap_read(int dirfd, const ms_procmap_gate *gate, uint64_t base_page, ms_rssmap *m)
{
    ms_err rc;
    int fd = -1;
    ms_rssmap_free(m);
    ms_rssmap_init(m);
    if ((rc = ms_procmap_read(dirfd, gate, &m->maps, &m->dropped)) != MS_OK)
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
    fd = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = ms_err_from_errno(errno);
        goto out;
    }
    rc = scan(fd, m->maps.regions[0].start, m->maps.regions[last - 1].end, base_page, m);
out:
    if (fd >= 0)
        close(fd);
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
