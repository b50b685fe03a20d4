/* status.h - /proc/<pid>/status: the Vm* and Rss* figures (in kB; stored here in bytes) and identity.
 * Cheap to read, so the process list uses only it and stat.h's files, never smaps. */
#ifndef MEMSCOPE_STATUS_H
#define MEMSCOPE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* One "Key: value" line of status kept as printed (key and raw value point into the buffer). */

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

/* The memory figures of status, one table for every reader of them: the kernel's key, the API's
 * name, and where ms_status keeps the value.  In the order status prints them: the Vm and Rss lines
 * first (MS_STATUS_NVMRSS of them), HugetlbPages, which is neither, last. */
typedef struct {
    const char *key;          /* "VmRSS" */
    const char *name;         /* "vm_rss" */
    size_t off;               /* offsetof(ms_status, vm_rss) */
} ms_status_mem_field;
#define MS_STATUS_NMEM 16
#define MS_STATUS_NVMRSS 15
#define MS_STATUS_MEM_VM_SIZE 1   /* indexes of the two figures the lab's budget watches */
#define MS_STATUS_MEM_VM_RSS 5
extern const ms_status_mem_field ms_status_mem_fields[MS_STATUS_NMEM];
/* The value of ms_status_mem_fields[i] in s. */
uint64_t ms_status_mem(const ms_status *s, size_t i);
/* The API's name of a status key: the table's name for a memory figure, else keyname.h's
 * snake_case ("FDSize" -> "fdsize", "voluntary_ctxt_switches" as it is).  Writes at most cap-1
 * bytes + NUL to out and returns out. */
const char *ms_status_json_name(const char *key, size_t len, char *out, size_t cap);

void ms_status_init(ms_status *s);
void ms_status_free(ms_status *s);
ms_err ms_status_parse(ms_status *s);               /* text already in s->buf */
ms_err ms_status_read(int dirfd, ms_status *s);

#endif
