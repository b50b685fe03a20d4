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
} ms_translation;

/* Uses PROCMAP_QUERY to find the region where the kernel has it, else reads maps. */
ms_err ms_translate(int dirfd, uint64_t addr, ms_translation *out);

#endif
