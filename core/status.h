/* status.h and stat - /proc/<pid>/status, /proc/<pid>/stat and /proc/<pid>/cmdline.
 *
 * status gives the Vm* and Rss* figures (in kB; stored here in bytes) and identity; stat gives the
 * layout pointers (start_code .. env_end), fault counts and flags.  Cheap to read, so the process
 * list uses only these, never smaps. */
#ifndef MEMSCOPE_STATUS_H
#define MEMSCOPE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* One "Key: value" line of status kept as printed (key and raw value point into the buffer). */
/* From include/linux/sched.h: PF_KTHREAD is set for every kernel thread, never for a user process;
 * PF_EXITING from the first step of exit on. */
#define MS_PF_EXITING 0x00000004ULL
#define MS_PF_KTHREAD 0x00200000ULL

typedef struct {
    const char *name;
    uint32_t name_len;
    bool is_bytes;            /* printed with "kB"; value in bytes */
    bool is_number;
    uint64_t value;
    const char *raw;
    uint32_t raw_len;
} ms_kv;

typedef struct {
    ms_buf buf;
    ms_kv *kv;                /* every line, in order */
    size_t nkv, kv_cap;
    /* Decoded for convenience; a field the kernel did not print stays 0 with has_mem false. */
    char name[64];            /* Name: as the kernel escaped it, NUL-terminated, truncated to 63 */
    char state;               /* 'R', 'S', ... */
    int pid, ppid, tgid;
    uint32_t uid_real, uid_effective;
    uint32_t threads;
    bool has_mem;             /* VmSize present: false for kernel threads and zombies */
    uint64_t vm_peak, vm_size, vm_lck, vm_pin, vm_hwm, vm_rss, rss_anon, rss_file, rss_shmem,
             vm_data, vm_stk, vm_exe, vm_lib, vm_pte, vm_swap, hugetlb_pages;
} ms_status;

/* Splits "Key:<blanks>value" lines (status, meminfo) into *kv, growing it geometrically (no
 * allocation per line; *kv and *cap persist across calls so a reused array costs nothing).  Values
 * ending in " kB" are stored in bytes; hex masks (Sig*, Cap*, *_allowed) are never is_number.
 * MS_ERR_PARSE for a line without ':'. */
ms_err ms_kv_parse(const char *text, size_t len, ms_kv **kv, size_t *nkv, size_t *cap);

void ms_status_init(ms_status *s);
void ms_status_free(ms_status *s);
ms_err ms_status_parse(ms_status *s);               /* text already in s->buf */
ms_err ms_status_read(int dirfd, ms_status *s);

typedef struct {
    int pid;
    char comm[64];            /* between the first '(' and the last ')' */
    char state;
    int ppid, pgrp, session;
    uint64_t flags;           /* PF_* ; PF_KTHREAD = 0x00200000 marks kernel threads */
    uint64_t minflt, majflt, utime, stime;
    int64_t num_threads;
    uint64_t starttime, vsize, rss_pages;
    /* layout pointers: 0 when the kernel hides them (no ptrace read access) */
    uint64_t start_code, end_code, start_stack, start_data, end_data, start_brk,
             arg_start, arg_end, env_start, env_end;
    bool has_layout;          /* the kernel printed fields 45..51 (Linux 3.5+) */
    bool layout_hidden;       /* no ptrace read access: the kernel printed 1/1 for start/end_code
                               * (stored as 0) and 0 for the other layout pointers */
} ms_stat;

ms_err ms_stat_parse(const char *text, size_t len, ms_stat *out);
ms_err ms_stat_read(int dirfd, ms_stat *out);
bool ms_stat_is_kthread(const ms_stat *st);

/* cmdline with its NUL separators turned into spaces (trailing NULs dropped), at most cap-1 bytes
 * plus NUL; *truncated tells if it was cut.  An empty cmdline (kernel thread) gives "". */
ms_err ms_cmdline_read(int dirfd, char *out, size_t cap, bool *truncated);

#endif
