/* pssmap.h - a region's PSS without smaps: the frame of each resident page from pagemap, and the map
 * count of the frames pagemap does not mark as mapped by this process alone, from /proc/kpagecount.
 *
 * smaps sums, for each resident page, its size << 12 divided by its map count when that is 2 or
 * more (its size << 12 otherwise), and prints the sum >> 12 in whole kB.  Here the same sum is made
 * page by page: pages marked exclusive (pagemap bit 56) are counted whole without a lookup, and the
 * others' counts are read from /proc/kpagecount in frame order, a run of neighbouring frames per
 * read, since reading them in address order costs a seek and a read per page.  Both files need
 * CAP_SYS_ADMIN to show frame numbers: without, pagemap's frames read 0 and this says MS_ERR_PERM.
 *
 * The pages come from a PAGEMAP_SCAN's resident ranges (rssmap.h), read a moment earlier: a page
 * gone since counts nothing, and a page counts with the map count it has when read. */
#ifndef MEMSCOPE_PSSMAP_H
#define MEMSCOPE_PSSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "rssmap.h"

typedef struct {
    int pagemap_fd;           /* borrowed */
    int kpagecount_fd;        /* borrowed */
    uint64_t page;            /* the base page size */
    uint64_t *pm;             /* owned: a chunk of pagemap entries */
    uint64_t *pfn;            /* owned: the shared frames of the region asked about */
    size_t npfn, pfn_cap;
    uint64_t *count;          /* owned: a run of kpagecount entries */
    size_t pm_reads, count_reads;
} ms_pss_pages;

void ms_pss_pages_init(ms_pss_pages *p, int pagemap_fd, int kpagecount_fd, uint64_t page);
void ms_pss_pages_free(ms_pss_pages *p);
/* *pss: the PSS of the pages of ranges r[0..n) (ascending) that lie in [start, end), in smaps'
 * fixed point (bytes << 12).  Ranges past end are left alone. */
ms_err ms_pss_pages_of(ms_pss_pages *p, const ms_rss_range *r, size_t n, uint64_t start, uint64_t end,
                       uint64_t *pss);
/* smaps' printed figure, in bytes: the fixed point's whole kB. */
static inline uint64_t ms_pss_bytes(uint64_t pss_fp)
{
    return ((pss_fp >> 12) >> 10) << 10;
}

#endif
