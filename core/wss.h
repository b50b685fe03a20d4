/* wss.h - the working set: how much of a process's resident memory it touched in an interval.
 *
 * The clear_refs method (as Brendan Gregg's wss): writing "1" to /proc/<pid>/clear_refs clears the
 * accessed bit of every page table entry of the process and the referenced flag of its pages; after
 * the interval, smaps' Referenced says, per region, how much was touched since.  It changes the
 * target's state: the kernel's reclaim reads the same bits to choose what to evict first, so a
 * process measured this way looks idle to reclaim for a moment.  It needs write access to
 * clear_refs (ptrace access to the target) and nothing from the kernel's build.
 *
 * The page_idle method (pageidle.h) marks the process's frames in /sys/kernel/mm/page_idle/bitmap
 * instead: the kernel keeps the accessed state it clears there for reclaim, so the target's
 * reclaim is unchanged.  It needs CONFIG_IDLE_PAGE_TRACKING, root to open the bitmap, and the
 * PFNs from pagemap (CAP_SYS_ADMIN). */
#ifndef MEMSCOPE_WSS_H
#define MEMSCOPE_WSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "smaps.h"

/* Writes "1" to <dirfd>/clear_refs.  MS_ERR_PERM when refused, MS_ERR_NOENT when gone.
 *
 * The kernel clears those accessed bits without flushing the TLB, and a CPU sets the bit only when
 * it walks the page table: a page whose translation stays cached is read again and again with its
 * bit left clear.  A process looping over a set that fits the TLB then reads as idle (0 of 64 MiB
 * referenced, measured on an AMD EPYC guest with PTE coalescing).  With flush_tlb, "4" is written
 * next: that path ends in a flush of the process's TLB entries, and on a kernel without soft-dirty
 * tracking does nothing else to its page tables (it does tell secondary MMUs, a KVM guest's or a
 * device's, to drop their copies of the address space, which they rebuild on their next access).  Where the kernel tracks soft-dirty bits "4" would reset them and
 * write-protect every page, breaking whoever tracks them (CRIU), so the caller passes false there.
 * *flushed says whether the flush was done. */
ms_err ms_wss_clear_refs(int dirfd, bool flush_tlb, bool *flushed);

/* One smaps region's Referenced bytes (0 when the field is missing). */
uint64_t ms_wss_referenced(const ms_smaps_field *f, size_t nf);

#endif
