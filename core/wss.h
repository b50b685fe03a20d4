/* wss.h - the working set: how much of a process's resident memory it touched in an interval.
 *
 * The clear_refs method (as Brendan Gregg's wss): writing "1" to /proc/<pid>/clear_refs clears the
 * accessed bit of every page table entry of the process and the referenced flag of its pages; after
 * the interval, smaps' Referenced says, per region, how much was touched since.  It changes the
 * target's state: the kernel's reclaim reads the same bits to choose what to evict first, so a
 * process measured this way looks idle to reclaim for a moment.  The page_idle method
 * (/sys/kernel/mm/page_idle/bitmap), which does not, is not implemented: no kernel this was built
 * on has it. */
#ifndef MEMSCOPE_WSS_H
#define MEMSCOPE_WSS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "smaps.h"

/* Writes "1" to <dirfd>/clear_refs.  MS_ERR_PERM when refused, MS_ERR_NOENT when gone. */
ms_err ms_wss_clear_refs(int dirfd);

/* One smaps region's Referenced bytes (0 when the field is missing). */
uint64_t ms_wss_referenced(const ms_smaps_field *f, size_t nf);

#endif
