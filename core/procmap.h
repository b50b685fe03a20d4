/* procmap.h - a process's regions from the PROCMAP_QUERY ioctl on /proc/<pid>/maps (Linux 6.11).
 *
 * The same regions maps prints (range, permissions, offset, device, inode, name), asked of the
 * kernel one VMA per ioctl instead of printed and parsed: about the cost of reading maps, but with
 * each region's page size (hugetlb) given outright.  The kernel's gate area ([vsyscall] on x86-64)
 * is not a VMA and PROCMAP_QUERY never returns it; maps shows it, so the reader adds it where maps
 * would (see ms_procmap_gate). */
#ifndef MEMSCOPE_PROCMAP_H
#define MEMSCOPE_PROCMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "maps.h"

/* The gate area as this machine's maps shows it for a 64-bit process, learnt once from our own
 * maps (we are 64-bit): present == false where the kernel has none (vsyscall=none, other arches). */
typedef struct {
    bool present;
    uint64_t start, end;
    char perms[5];
} ms_procmap_gate;

/* Reads our own maps and fills *g; never fails (no gate area found reads present == false). */
void ms_procmap_gate_probe(ms_procmap_gate *g);

/* Every region of the process behind dirfd into m (whose buf holds the names), sorted and
 * classified as ms_maps_read leaves them, plus the gate area when gate says there is one and the
 * process is a 64-bit one (its executable's ELF class; compat tasks have no gate VMA).  gate may
 * be NULL.  *dropped (may be NULL) counts VMAs left out because they overlapped the one before
 * (the process changed during the walk).  MS_ERR_UNSUPPORTED when the kernel lacks the ioctl (nothing is read then), MS_ERR_NOENT
 * when the process is gone, MS_ERR_PERM when maps is refused.  m is reset first; free it with
 * ms_maps_free in every case. */
ms_err ms_procmap_read(int dirfd, const ms_procmap_gate *gate, ms_maps *m, size_t *dropped);

/* The page size of the VMA covering addr, asked of an open /proc/<pid>/maps (one ioctl): how a
 * hugetlb region is told apart where only maps' text was read.  MS_ERR_UNSUPPORTED without the
 * ioctl, MS_ERR_NOENT when no VMA covers addr any more. */
ms_err ms_procmap_page_size(int maps_fd, uint64_t addr, uint64_t *page_size);

#endif
