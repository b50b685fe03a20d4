/* features.h - what this kernel offers and what this process may see, probed once at start-up. */
#ifndef MEMSCOPE_FEATURES_H
#define MEMSCOPE_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool pfn_readable;        /* pagemap shows PFNs (CAP_SYS_ADMIN) */
    bool kpageflags_readable;
    bool kpagecount_readable;
    bool pagemap_scan;        /* the PAGEMAP_SCAN ioctl works */
    bool procmap_query;       /* the PROCMAP_QUERY ioctl on maps works (Linux 6.11) */
    bool smaps_rollup;
    bool soft_dirty;          /* the kernel tracks soft-dirty bits (CONFIG_MEM_SOFT_DIRTY) */
    bool page_idle;           /* /sys/kernel/mm/page_idle/bitmap opens read-write
                               * (CONFIG_IDLE_PAGE_TRACKING, and root) */
    bool read_fault_zero_page;/* a read fault on private anonymous memory maps the shared zero page
                               * (upstream's behaviour); false where the kernel allocates a real,
                               * exclusive page as for a write, or where pagemap cannot be read */
} ms_features;

/* Probes on the calling process itself; never fails: what cannot be probed reads false. */
void ms_features_probe(ms_features *out);

/* The one "map a page and read its pagemap entry" self-probe (the features above, and pagemap's
 * search for the zero page's PFN): maps two fresh private anonymous pages of ours, faults in the
 * first by writing it and the second by only reading it, and reads both pagemap entries into e[0]
 * and e[1].  false when a step fails (e then holds nothing). */
bool ms_features_probe_own_pages(long page_size, uint64_t e[2]);

#endif
