/* rssmap.h - resident bytes per region without smaps: one PAGEMAP_SCAN of the whole address space,
 * clipped to maps' regions.
 *
 * The scan asks only for pages that are present and not the zero page (category_mask =
 * PRESENT|PFNZERO, category_inverted = PFNZERO): exactly the pages smaps counts in Rss, which
 * skips the zero pages that pagemap calls present.  The kernel merges adjacent pages of one
 * category across VMAs, so each returned range is clipped to every region it spans.
 *
 * The regions come from maps' text (streamed by the server, whole in ms_rssmap_read), not from
 * PROCMAP_QUERY: that ioctl answers one VMA per call, and on this project's machines a system call
 * costs more than the kernel's printing and our parsing of a maps line (10,000 regions: 20 ms of
 * ioctls against 3 ms for maps).  PROCMAP_QUERY is asked only about regions where the scan found
 * huge pages, for their page size: a hugetlb region's pages are not in smaps' Rss.
 *
 * What this can tell: rss (= smaps' Rss), the part of it mapped by PMD-sized pages (huge = smaps'
 * AnonHugePages + ShmemPmdMapped + FilePmdMapped) and, for hugetlb regions, their resident huge
 * pages (hugetlb = Shared_Hugetlb + Private_Hugetlb; smaps' Rss is 0 there).  What it cannot: PSS,
 * anonymous vs file (PAGE_IS_FILE makes the kernel look up every page), dirty, Referenced, swap
 * PSS, locked.  For those, smaps; ms_region_rss_from_smaps gives the same three figures from it.
 *
 * The scan and the regions are two reads of a process that may be changing: clipping keeps every
 * region within its own range whatever happened in between, and what the scan found in no region
 * is counted apart (ms_rss_scan_outside). */
#ifndef MEMSCOPE_RSSMAP_H
#define MEMSCOPE_RSSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "maps.h"
#include "rstream.h"
#include "smaps.h"

typedef struct {
    uint64_t rss;             /* bytes, as smaps' Rss */
    uint64_t huge;            /* bytes of rss mapped by PMD-sized (transparent huge) pages */
    uint64_t hugetlb;         /* bytes of hugetlb pages resident in a hugetlb region */
} ms_region_rss;

/* [start, end) of resident pages (not the zero page); huge: mapped by PMD-sized pages. */
typedef struct {
    uint64_t start, end;
    bool huge;
} ms_rss_range;

typedef struct {
    ms_rss_range *r;          /* owned; ascending, disjoint */
    size_t n, cap;
    uint64_t bytes;           /* sum of the ranges */
    uint64_t attributed;      /* of which handed to regions so far (hugetlb included) */
    size_t cursor;            /* first range a later region can overlap */
    size_t calls;             /* PAGEMAP_SCAN ioctls made */
    uint64_t next, end;       /* [start, next) is scanned so far, of [start, end) */
    int pagemap_fd;           /* owned; -1 when not open */
    void *vec;                /* owned: the kernel's answer buffer (struct page_region[]) */
    int dirfd;                /* borrowed from ms_rss_scan_open's caller */
    int maps_fd;              /* owned, opened for the first page-size question; -1 until then */
    uint64_t base_page;
    struct rss_ahead *ahead;  /* owned: what a stream's reader thread scans (ms_rss_scan_next) */
    size_t ahead_calls;       /* of calls, those made on the stream's reader thread */
} ms_rss_scan;

void ms_rss_scan_init(ms_rss_scan *s);
void ms_rss_scan_free(ms_rss_scan *s);
/* Prepares a PAGEMAP_SCAN walk over [start, end) of the process behind dirfd (which must stay
 * open until ms_rss_scan_free), scanning nothing yet: one empty call tells now whether the kernel
 * has the ioctl.  base_page: the system page size.  MS_ERR_UNSUPPORTED when the kernel lacks
 * PAGEMAP_SCAN, MS_ERR_NOENT when the process is gone, MS_ERR_PERM when refused. */
ms_err ms_rss_scan_open(int dirfd, uint64_t start, uint64_t end, uint64_t base_page, ms_rss_scan *s);
/* Scans on from where the scan stopped up to upto (at most end): the walk in slices, so that it can
 * follow a region list being read meanwhile. */
ms_err ms_rss_scan_to(ms_rss_scan *s, uint64_t upto);
/* ms_rss_scan_open and the whole walk at once. */
ms_err ms_rss_scan_read(int dirfd, uint64_t start, uint64_t end, uint64_t base_page, ms_rss_scan *s);
/* The figures of region g, scanning up to its end first where the scan has not got there;
 * regions must come in ascending order (as maps lists them).  A region with huge pages costs one
 * PROCMAP_QUERY for its page size: MS_ERR_UNSUPPORTED without it. */
ms_err ms_rss_scan_region(ms_rss_scan *s, const ms_region *g, ms_region_rss *out);
/* The next region of a maps stream (*g == NULL at the end) and its figures: the scan follows the
 * stream a block of lines at a time (up to ms_rstream_horizon).  Once the stream reads ahead on its
 * thread, that thread scans each block's regions right after reading them (ms_rstream_hook), where
 * the kernel's structures the printing just walked are still in its core's cache (a scan on
 * another core took twice the time), and this thread only clips and writes.  At the end the scan
 * goes on to its own end, so that ms_rss_scan_outside sees everything.  The first call ties the
 * scan to rs, which must be the only stream used with it (one that reads ahead already is simply
 * followed from this thread), and rs must be closed before the scan is freed: its thread uses the
 * scan's descriptor and buffers. */
ms_err ms_rss_scan_next(ms_rss_scan *s, ms_rstream *rs, const ms_region **g, ms_region_rss *out);
/* Resident bytes the scan found in no region handed to ms_rss_scan_region: the process mapped
 * something between the two reads.  Meaningful once every region was handed over and the scan
 * went to its end. */
uint64_t ms_rss_scan_outside(const ms_rss_scan *s);

/* Adds to *out the bytes of ranges r[*cursor..n) that lie in [start, end), huge ones also to
 * out->huge; *cursor moves past ranges wholly before start (0 at first; regions ascending).  Pure;
 * exposed for tests. */
void ms_rss_ranges_clip(const ms_rss_range *r, size_t n, size_t *cursor, uint64_t start, uint64_t end,
                        ms_region_rss *out);

/* The whole answer at once, for tests and callers that want every region in memory: maps read
 * whole, the scan over [first region, last region below the gate area), and every region's
 * figures. */
typedef struct {
    ms_maps maps;
    ms_region_rss *rss;       /* owned; one per region */
    uint64_t outside;         /* as ms_rss_scan_outside */
    size_t scan_calls;
} ms_rssmap;

void ms_rssmap_init(ms_rssmap *m);
void ms_rssmap_free(ms_rssmap *m);
ms_err ms_rssmap_read(int dirfd, uint64_t base_page, ms_rssmap *m);

/* The same figures from one smaps region's fields. */
void ms_region_rss_from_smaps(const ms_smaps_field *f, size_t nf, ms_region_rss *out);

#endif
