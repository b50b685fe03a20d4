/* pssmap.c - a region's PSS from pagemap's frames and /proc/kpagecount (see pssmap.h). */
#include "pssmap.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pagemap.h"

/* Pagemap entries per read: 64 KiB of them, 256 MiB of address space. */
#define PSS_PM_CHUNK 8192
/* Frames read from kpagecount at once; frames at most this far apart share a read. */
#define PSS_COUNT_RUN 512
#define PSS_COUNT_GAP 8

void ms_pss_pages_init(ms_pss_pages *p, int pagemap_fd, int kpagecount_fd, uint64_t page)
{
    memset(p, 0, sizeof *p);
    p->pagemap_fd = pagemap_fd;
    p->kpagecount_fd = kpagecount_fd;
    p->page = page;
}

void ms_pss_pages_free(ms_pss_pages *p)
{
    free(p->pm);
    free(p->pfn);
    free(p->count);
    ms_pss_pages_init(p, -1, -1, 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The entries of pages [lo, hi) (addresses): whole pages counted into *pss, the others' frames
 * kept for the count lookup. */
static ms_err read_entries(ms_pss_pages *p, uint64_t lo, uint64_t hi, uint64_t *pss)
{
    const uint64_t whole = p->page << 12;
    for (uint64_t a = lo; a < hi;) {
        size_t want = (size_t)((hi - a) / p->page);
        if (want > PSS_PM_CHUNK)
            want = PSS_PM_CHUNK;
        size_t got;
        ms_err rc = ms_pread_full(p->pagemap_fd, p->pm, want * 8, (off_t)(a / p->page * 8), &got);
        p->pm_reads++;
        if (rc != MS_OK)
            return rc;
        got /= 8;
        if (!got)
            return MS_ERR_IO;
        for (size_t i = 0; i < got; i++) {
            uint64_t e = p->pm[i];
            if (!(e & MS_PM_PRESENT))
                continue;                    /* gone since the scan: nothing resident to share */
            uint64_t f = e & MS_PM_PFN_MASK;
            if (!f)
                return MS_ERR_PERM;          /* frames hidden: pagemap needs CAP_SYS_ADMIN for them */
            if (e & MS_PM_MMAP_EXCLUSIVE) {
                *pss += whole;
                continue;
            }
            if (p->npfn == p->pfn_cap) {
                ms_err g = ms_grow((void **)&p->pfn, &p->pfn_cap, p->npfn + 1, sizeof *p->pfn, 1024, 0);
                if (g != MS_OK)
                    return g;
            }
            p->pfn[p->npfn++] = f;
        }
        a += got * p->page;
    }
    return MS_OK;
}

/* The kept frames' share: each counted as smaps counts it, by its map count now. */
static ms_err count_shared(ms_pss_pages *p, uint64_t *pss)
{
    const uint64_t whole = p->page << 12;
    if (!p->npfn)
        return MS_OK;            /* and no array yet, which qsort must not be given */
    qsort(p->pfn, p->npfn, sizeof *p->pfn, cmp_u64);
    for (size_t i = 0; i < p->npfn;) {
        /* a run: frames from pfn[i] on, none more than PSS_COUNT_GAP past the one before */
        uint64_t first = p->pfn[i];
        size_t j = i + 1;
        while (j < p->npfn && p->pfn[j] - p->pfn[j - 1] <= PSS_COUNT_GAP && p->pfn[j] - first < PSS_COUNT_RUN)
            j++;
        size_t n = (size_t)(p->pfn[j - 1] - first + 1), got;
        ms_err rc = ms_pread_full(p->kpagecount_fd, p->count, n * 8, (off_t)(first * 8), &got);
        p->count_reads++;
        if (rc != MS_OK)
            return rc;
        for (; i < j; i++) {
            size_t k = (size_t)(p->pfn[i] - first);
            uint64_t mc = k < got / 8 ? p->count[k] : 0;
            *pss += mc >= 2 ? whole / mc : whole;
        }
    }
    return MS_OK;
}

ms_err ms_pss_pages_of(ms_pss_pages *p, const ms_rss_range *r, size_t n, uint64_t start, uint64_t end,
                       uint64_t *pss)
{
    *pss = 0;
    p->npfn = 0;
    if (!p->pm && !(p->pm = malloc(PSS_PM_CHUNK * 8)))
        return MS_ERR_NOMEM;
    if (!p->count && !(p->count = malloc(PSS_COUNT_RUN * 8)))
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < n && r[i].start < end; i++) {
        uint64_t lo = r[i].start > start ? r[i].start : start, hi = r[i].end < end ? r[i].end : end;
        if (lo >= hi)
            continue;
        ms_err rc = read_entries(p, lo, hi, pss);
        if (rc != MS_OK)
            return rc;
    }
    return count_shared(p, pss);
}
