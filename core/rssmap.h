/* rssmap.h - resident bytes per region without smaps: PROCMAP_QUERY's regions joined with one
 * PAGEMAP_SCAN of the whole address space.
 *
 * The scan asks only for pages that are present and not the zero page (category_mask =
 * PRESENT|PFNZERO, category_inverted = PFNZERO): exactly the pages smaps counts in Rss, which
 * skips the zero pages that pagemap calls present.  The kernel merges adjacent pages of one
 * category across VMAs, so each returned range is clipped to every region it spans.
 *
 * What this can tell: rss (= smaps' Rss), the part of it mapped by PMD-sized pages (huge = smaps'
 * AnonHugePages + ShmemPmdMapped + FilePmdMapped) and, for hugetlb regions, their resident huge
 * pages (hugetlb = Shared_Hugetlb + Private_Hugetlb; smaps' Rss is 0 there).  What it cannot: PSS,
 * anonymous vs file (PAGE_IS_FILE makes the kernel look up every page), dirty, Referenced, swap
 * PSS, locked.  For those, smaps; ms_region_rss_from_smaps gives the same three figures from it. */
#ifndef MEMSCOPE_RSSMAP_H
#define MEMSCOPE_RSSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "maps.h"
#include "procmap.h"
#include "smaps.h"

typedef struct {
    uint64_t rss;             /* bytes, as smaps' Rss */
    uint64_t huge;            /* bytes of rss mapped by PMD-sized (transparent huge) pages */
    uint64_t hugetlb;         /* bytes of hugetlb pages resident in a hugetlb region */
} ms_region_rss;

typedef struct {
    ms_maps maps;             /* the regions, from PROCMAP_QUERY */
    ms_region_rss *rss;       /* owned; one per region */
    /* Resident bytes the scan found in no listed region: the process mapped something between
     * the region walk and the scan.  Left out of every region (a region never gains pages beyond
     * its own range), counted here so the answer can say the two reads saw different moments. */
    uint64_t outside;
    size_t dropped;           /* regions left out of the walk: they overlapped the one before */
    size_t scan_calls;        /* PAGEMAP_SCAN ioctls made */
} ms_rssmap;

void ms_rssmap_init(ms_rssmap *m);
void ms_rssmap_free(ms_rssmap *m);

/* Both walks on the process behind dirfd.  base_page: the system page size (a region with a
 * larger page size is hugetlb).  MS_ERR_UNSUPPORTED when either ioctl is missing (the caller falls
 * back to smaps), MS_ERR_NOENT when the process is gone, MS_ERR_PERM when refused. */
ms_err ms_rssmap_read(int dirfd, const ms_procmap_gate *gate, uint64_t base_page, ms_rssmap *m);

/* The same figures from one smaps region's fields. */
void ms_region_rss_from_smaps(const ms_smaps_field *f, size_t nf, ms_region_rss *out);

/* Clips ranges [start, end) of resident pages, sorted and disjoint, onto sorted, disjoint regions:
 * adds each range's bytes to the regions it overlaps (huge: the range was PMD-mapped) and what
 * lies in no region to *outside.  *cursor is the region index to start from (0 at first, kept
 * between calls for ranges that keep ascending).  Pure; exposed for tests. */
void ms_rssmap_clip(const ms_region *r, size_t n, ms_region_rss *rss, size_t *cursor, uint64_t start,
                    uint64_t end, bool huge, uint64_t base_page, uint64_t *outside);

#endif
