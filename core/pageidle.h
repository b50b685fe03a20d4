/* pageidle.h - the working set by idle-page tracking (/sys/kernel/mm/page_idle/bitmap).
 *
 * The bitmap is an array of u64 indexed by PFN (bit pfn % 64 of word pfn / 64): writing a 1 bit
 * marks that frame idle (the kernel takes the mark only for user pages on an LRU list and ignores
 * zeros); reading gives 1 while the frame stays idle, 0 once it was accessed.  Unlike clear_refs it
 * leaves the referenced state reclaim reads alone, so measuring does not change what the kernel
 * evicts from the target; it needs PFNs from pagemap (CAP_SYS_ADMIN) and a kernel built with
 * CONFIG_IDLE_PAGE_TRACKING.  A transparent huge page is one folio: the kernel marks and reports it
 * as a whole, so every base page of it reads the same.
 *
 * The steps, each its own call so the caller owns the interval: collect the present pages and
 * their PFNs, mark them idle (reading back which took the mark), wait, drop the pages whose PFN
 * changed meanwhile, count per region what is no longer idle.  The bitmap is reached through a
 * descriptor the caller opens (ms_pi_open, relative to a directory descriptor), so a test can hand
 * a regular file in its place. */
#ifndef MEMSCOPE_PAGEIDLE_H
#define MEMSCOPE_PAGEIDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "maps.h"

/* At most this many present pages are followed (32 GiB of 4 KiB pages, 24 bytes each: 192 MiB of
 * memory for the set); a bigger process is MS_ERR_TOOBIG. */
#define MS_PI_MAX_PAGES (1u << 23)

typedef struct {
    uint64_t vpn;             /* virtual page number (address / page size) */
    uint64_t pfn : 63;        /* the frame at collection time */
    uint64_t marked : 1;      /* took the idle mark (and, after ms_pi_recheck, still maps pfn) */
    uint32_t reg;             /* index into the caller's regions */
} ms_pi_page;

typedef struct {
    ms_pi_page *p;            /* owned */
    size_t n, cap;
    uint64_t page_size;
    size_t max_pages;         /* MS_PI_MAX_PAGES unless a test lowers it */
} ms_pi_set;

void ms_pi_set_init(ms_pi_set *s);
void ms_pi_set_free(ms_pi_set *s);
/* Adds one page (for callers that know their PFNs, and tests).  MS_ERR_TOOBIG past max_pages. */
ms_err ms_pi_add(ms_pi_set *s, uint64_t vpn, uint64_t pfn, uint32_t reg);

/* Opens <dirfd>/<name> read-write (name: "page_idle/bitmap" relative to /sys/kernel/mm).
 * MS_ERR_UNSUPPORTED when it does not exist, MS_ERR_PERM when refused. */
ms_err ms_pi_open(int dirfd, const char *name, int *fd);

/* Every present page of regs[0..nregs) (ascending, as maps gives them) with its PFN, from
 * <dirfd>/pagemap.  The zero page is left out where PAGEMAP_SCAN can tell it (it never takes the
 * mark anyway).  MS_ERR_PERM when pagemap hides PFNs (no CAP_SYS_ADMIN). */
ms_err ms_pi_collect(int dirfd, const ms_region *regs, size_t nregs, ms_pi_set *s);

/* Marks every page of s idle: each bitmap word is read, the pages' bits or-ed in, written once and
 * read back; a page whose bit then reads 0 (not an LRU user page) or lies past the bitmap's end is
 * left unmarked and counted neither way.  *nmarked: how many took the mark.  Reorders s. */
ms_err ms_pi_mark(int bitmap_fd, ms_pi_set *s, size_t *nmarked);

/* Re-reads <dirfd>/pagemap and unmarks every page that no longer maps the frame it had (freed,
 * migrated, swapped, unmapped): its bit says nothing about the process any more.  Reorders s. */
ms_err ms_pi_recheck(int dirfd, ms_pi_set *s);

/* For each region r < nregs: marked[r] pages that took the mark, referenced[r] of those whose bit
 * now reads 0 (accessed since).  Both arrays are the caller's, zeroed here.  Reorders s. */
ms_err ms_pi_count(int bitmap_fd, ms_pi_set *s, size_t nregs, uint64_t *marked, uint64_t *referenced);

#endif
