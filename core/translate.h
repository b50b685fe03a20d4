/* translate.h - the seed's picture for one address: page number + offset -> frame -> physical. */
#ifndef MEMSCOPE_TRANSLATE_H
#define MEMSCOPE_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "maps.h"
#include "pagemap.h"

typedef struct {
    uint64_t addr;
    uint64_t page_size;
    uint64_t page_number;     /* addr / page_size */
    uint64_t page_offset;     /* addr % page_size */
    bool in_region;           /* false: no mapping covers addr (a touch would SIGSEGV) */
    ms_region region;         /* valid if in_region; path points into path_buf */
    char path_buf[4096];
    ms_pm_frame frame;        /* the page's entry; frame.vaddr is the page's start */
    bool phys_known;
    uint64_t phys_addr;       /* pfn * page_size + offset */
    bool region_by_query;     /* the region came from PROCMAP_QUERY, not from reading maps */
} ms_translation;

/* Uses PROCMAP_QUERY to find the region where the kernel has it, else reads maps.  Note that
 * out->region.path points into out->path_buf: copy the struct and the copy's path still points at
 * the original.  MS_ERR_RANGE for an address above the process's user address space. */
ms_err ms_translate(int dirfd, uint64_t addr, ms_translation *out);

/* The same with the way to find the region chosen (tests prove the two agree).  MS_TR_QUERY on a
 * kernel without PROCMAP_QUERY is MS_ERR_UNSUPPORTED. */
typedef enum { MS_TR_AUTO, MS_TR_QUERY, MS_TR_MAPS } ms_tr_method;
ms_err ms_translate_with(int dirfd, uint64_t addr, ms_tr_method how, ms_translation *out);

#endif
