/* system.h - machine-wide facts: /proc/meminfo, THP settings, overcommit, the address-space top. */
#ifndef MEMSCOPE_SYSTEM_H
#define MEMSCOPE_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct {
    ms_buf buf;
    ms_kv *kv;                /* every meminfo line in order; kB values in bytes, counts as is */
    size_t nkv, kv_cap;
} ms_meminfo;

void ms_meminfo_init(ms_meminfo *m);
void ms_meminfo_free(ms_meminfo *m);
ms_err ms_meminfo_parse(ms_meminfo *m);                       /* text already in m->buf */
ms_err ms_meminfo_read(const char *path, ms_meminfo *m);      /* NULL: /proc/meminfo */
/* Value of a key (bytes for kB lines), or false if absent. */
bool ms_meminfo_get(const ms_meminfo *m, const char *key, uint64_t *out);

/* A sysfs "always [madvise] never" setting: the bracketed word, e.g. "madvise". */
ms_err ms_sysfs_choice(const char *path, char *out, size_t cap);

typedef struct {
    char kernel_release[65];
    char machine[65];
    long page_size;
    char thp_enabled[32];     /* "always", "madvise", "never", or "" if the kernel has no THP */
    char thp_defrag[32];
    char thp_shmem_enabled[32];
    uint64_t hpage_pmd_size;  /* bytes, 0 if unknown */
    int overcommit_memory;    /* -1 if unreadable */
    int overcommit_ratio;     /* -1 if unreadable */
    uint64_t overcommit_kbytes; /* in kB as the sysctl is; 0 if unreadable */
    uint64_t user_space_top;  /* first address past user space: 2^47 on x86-64 (2^56 with 5-level
                               * paging); the rule is in system.c (user_space_top) */
} ms_sysinfo;

ms_err ms_sysinfo_read(ms_sysinfo *out);

#endif
