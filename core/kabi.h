/* kabi.h - kernel ioctl ABIs newer than the installed headers (private to core/).
 *
 * Debian 12's linux/fs.h predates PAGEMAP_SCAN (Linux 6.7) and PROCMAP_QUERY (Linux 6.11), so their
 * structures are written out here from include/uapi/linux/fs.h and
 * Documentation/admin-guide/mm/pagemap.rst.  Each block is guarded so that newer headers win; the
 * running kernel may still lack them, which the callers find out at run time (ENOTTY/EINVAL). */
#ifndef MEMSCOPE_KABI_H
#define MEMSCOPE_KABI_H

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <stdint.h>

#ifndef PAGEMAP_SCAN
struct page_region {
    uint64_t start;           /* [start, end) */
    uint64_t end;
    uint64_t categories;      /* PAGE_IS_* of every page in the range, masked by return_mask */
};

struct pm_scan_arg {
    uint64_t size;            /* sizeof(struct pm_scan_arg) */
    uint64_t flags;
    uint64_t start, end;
    uint64_t walk_end;        /* out: where the walk stopped (== end when complete) */
    uint64_t vec;             /* struct page_region * */
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED  (1 << 0)
#endif
#ifndef PAGE_IS_WRITTEN
#define PAGE_IS_WRITTEN    (1 << 1)
#endif
#ifndef PAGE_IS_FILE
#define PAGE_IS_FILE       (1 << 2)
#endif
#ifndef PAGE_IS_PRESENT
#define PAGE_IS_PRESENT    (1 << 3)
#endif
#ifndef PAGE_IS_SWAPPED
#define PAGE_IS_SWAPPED    (1 << 4)
#endif
#ifndef PAGE_IS_PFNZERO
#define PAGE_IS_PFNZERO    (1 << 5)
#endif
#ifndef PAGE_IS_HUGE
#define PAGE_IS_HUGE       (1 << 6)
#endif
#ifndef PAGE_IS_SOFT_DIRTY
#define PAGE_IS_SOFT_DIRTY (1 << 7)
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD      (1 << 8)
#endif

#ifndef PROCMAP_QUERY
struct procmap_query {
    uint64_t size;            /* sizeof(struct procmap_query) */
    uint64_t query_flags;     /* in: PROCMAP_QUERY_* */
    uint64_t query_addr;      /* in */
    uint64_t vma_start, vma_end;   /* out */
    uint64_t vma_flags;       /* out: PROCMAP_QUERY_VMA_* */
    uint64_t vma_page_size;   /* out */
    uint64_t vma_offset;      /* out: file offset in bytes */
    uint64_t inode;           /* out */
    uint32_t dev_major, dev_minor;  /* out */
    uint32_t vma_name_size;   /* in: buffer size; out: name length + 1, or 0 for no name */
    uint32_t build_id_size;   /* in/out */
    uint64_t vma_name_addr;   /* in: char * */
    uint64_t build_id_addr;   /* in */
};

#define PROCMAP_QUERY_VMA_READABLE         0x01
#define PROCMAP_QUERY_VMA_WRITABLE         0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE       0x04
#define PROCMAP_QUERY_VMA_SHARED           0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define PROCMAP_QUERY_FILE_BACKED_VMA      0x20

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

/* /proc/kpageflags bits used by core (the full list is in kpage.c). */
#define MS_KPF_HUGE      17
#define MS_KPF_THP       22
#define MS_KPF_ZERO_PAGE 24

#endif
