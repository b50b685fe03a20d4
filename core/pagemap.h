/* pagemap.h - the page-level truth for a range of a process's address space.
 *
 * Two ways to read it that must agree: the PAGEMAP_SCAN ioctl (Linux 6.7+), which hands back ranges
 * of pages in the same state, and large batched pread()s of 8-byte pagemap entries where the ioctl
 * is missing.  Results are counts plus runs: consecutive pages in one state, so a 64 GiB range with
 * few runs answers small. */
#ifndef MEMSCOPE_PAGEMAP_H
#define MEMSCOPE_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst, as tools/mm/page-types.c names them) */
#define MS_PM_PFN_MASK       ((1ULL << 55) - 1)
#define MS_PM_SOFT_DIRTY     (1ULL << 55)
#define MS_PM_MMAP_EXCLUSIVE (1ULL << 56)
#define MS_PM_UFFD_WP        (1ULL << 57)
#define MS_PM_GUARD          (1ULL << 58)
#define MS_PM_FILE           (1ULL << 61)
#define MS_PM_SWAP           (1ULL << 62)
#define MS_PM_PRESENT        (1ULL << 63)

typedef enum { MS_PM_AUTO, MS_PM_SCAN, MS_PM_PREAD } ms_pm_method;

/* The state of one page, for runs.  A page has exactly one; the order of tests is: swapped, not
 * present (absent), zero page, huge (THP), file or shared, else anon (present, private anon). */
typedef enum {
    MS_PM_STATE_ABSENT, MS_PM_STATE_ANON, MS_PM_STATE_FILE_OR_SHARED, MS_PM_STATE_ZERO,
    MS_PM_STATE_HUGE, MS_PM_STATE_SWAPPED,
    MS_PM_STATE__COUNT
} ms_pm_state;
const char *ms_pm_state_name(ms_pm_state s);

typedef struct {
    uint64_t start, end;      /* [start, end), page aligned */
    uint8_t state;            /* ms_pm_state */
} ms_pm_run;

typedef struct {
    ms_pm_method used;        /* which path answered: MS_PM_SCAN or MS_PM_PREAD */
    uint64_t pages, present, swapped, zero_page, file_or_shared, exclusive, huge, soft_dirty;
    bool has_zero_page;       /* false: could not be told (pread without PFNs) */
    bool has_exclusive;       /* only the pread path sees PM_MMAP_EXCLUSIVE */
    bool has_huge;            /* scan: PAGE_IS_HUGE; pread: needs /proc/kpageflags */
    bool has_soft_dirty;      /* only where the kernel tracks soft-dirty */
    ms_pm_run *runs;          /* owned */
    size_t nruns;
    bool runs_truncated;      /* more than max_runs runs: counts are still complete */
    uint64_t top;             /* min(end, the end of the process's address space, TASK_SIZE):
                               * the pages from top to end are counted absent (see below) */
} ms_pm_summary;

typedef struct {
    ms_pm_method method;
    size_t max_runs;          /* 0: no runs at all, counts only */
    bool soft_dirty_tracked;  /* ms_features.soft_dirty: lets has_soft_dirty be true even when no
                               * page in the range is soft-dirty (the kernel cannot say so itself) */
} ms_pm_opts;

/* start/end must be page aligned and start < end (MS_ERR_INVAL otherwise).  The process's
 * address space ends at its TASK_SIZE, which may be a little below the power of two that bounds
 * the user address space (on x86-64, 2^47 - 4096: the kernel never maps the last page); the pages
 * between are counted absent.  end past that power of two is MS_ERR_RANGE.  MS_ERR_PERM when
 * pagemap cannot be opened, MS_ERR_UNSUPPORTED when MS_PM_SCAN is asked for and the kernel lacks
 * it, MS_ERR_NOMM for a kernel thread or a zombie.  On error *out holds nothing to free. */
ms_err ms_pm_summarize(int dirfd, uint64_t start, uint64_t end, const ms_pm_opts *o,
                       ms_pm_summary *out);
void ms_pm_summary_free(ms_pm_summary *s);

/* One page's entry decoded, with its frame when the kernel lets us see it. */
typedef struct {
    uint64_t vaddr;
    uint64_t entry;           /* raw pagemap entry */
    bool present, swapped, file_or_shared, exclusive, soft_dirty;
    bool pfn_known;           /* false: PFN hidden (no CAP_SYS_ADMIN) or page not present */
    const char *pfn_hidden_reason;   /* static text when !pfn_known and present, else NULL */
    uint64_t pfn;
    uint64_t swap_type, swap_offset;
    bool kflags_known;        /* /proc/kpageflags readable for this PFN */
    uint64_t kflags;
    bool mapcount_known;      /* /proc/kpagecount readable */
    uint64_t mapcount;
    bool beyond_top;          /* at or past the process's TASK_SIZE: the kernel never maps it */
} ms_pm_frame;

/* Decodes npages entries from start (page aligned) into out[0..npages).  Pages past the process's
 * TASK_SIZE but below the user address space's bound come back not present, beyond_top set (see
 * ms_pm_summarize); past that bound is MS_ERR_RANGE, a kernel thread or zombie MS_ERR_NOMM. */
ms_err ms_pm_frames(int dirfd, uint64_t start, size_t npages, ms_pm_frame *out);


#endif
