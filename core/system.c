/* system.c - machine-wide facts: /proc/meminfo, the transparent huge page settings, overcommit
 * policy and the top of the user address space.
 *
 * meminfo has the same "Key: value kB" shape as status, so it reuses ms_kv_parse; the rest are
 * one-line files under /sys and /proc/sys read with a small bounded reader. */
#include "system.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "buf.h"
#include "num.h"

/* meminfo is ~1.5 KiB today. */
#define MS_MEMINFO_MAX ((size_t)1 << 20)

void ms_meminfo_init(ms_meminfo *m)
{
    memset(m, 0, sizeof *m);
    ms_buf_init(&m->buf, MS_MEMINFO_MAX);
}

void ms_meminfo_free(ms_meminfo *m)
{
    ms_buf_free(&m->buf);
    free(m->kv);
    m->kv = NULL;
    m->nkv = m->kv_cap = 0;
}

ms_err ms_meminfo_parse(ms_meminfo *m)
{
    return ms_kv_parse(m->buf.data ? m->buf.data : "", m->buf.len, &m->kv, &m->nkv, &m->kv_cap);
}

ms_err ms_meminfo_read(const char *path, ms_meminfo *m)
{
    ms_err rc = ms_read_file_at(AT_FDCWD, path ? path : "/proc/meminfo", &m->buf);
    if (rc != MS_OK)
        return rc;
    return ms_meminfo_parse(m);
}

bool ms_meminfo_get(const ms_meminfo *m, const char *key, uint64_t *out)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < m->nkv; i++) {
        const ms_kv *e = &m->kv[i];
        if (e->name_len == n && memcmp(e->name, key, n) == 0) {
            if (!e->is_number)
                return false;
            *out = e->value;
            return true;
        }
    }
    return false;
}

/* Reads a small sysfs/procfs file whole into buf (NUL-terminated). */
static ms_err read_small(const char *path, char *buf, size_t cap, size_t *len)
{
    ms_err rc = MS_OK;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return ms_err_from_errno(errno);
    if ((rc = ms_read_full(fd, buf, cap - 1, &n)) != MS_OK)
        goto out;
    if (n == cap - 1) {
        rc = MS_ERR_TOOBIG;
        goto out;
    }
    buf[n] = '\0';
    *len = n;
out:
    close(fd);
    return rc;
}

ms_err ms_sysfs_choice(const char *path, char *out, size_t cap)
{
    char text[512];
    size_t len = 0;   /* set by read_small on success; gcc -O3 cannot see that through its error path */
    if (cap == 0)
        return MS_ERR_INVAL;
    out[0] = '\0';
    ms_err rc = read_small(path, text, sizeof text, &len);
    if (rc != MS_OK)
        return rc;
    const char *open = memchr(text, '[', len);
    const char *close = open ? memchr(open, ']', len - (size_t)(open - text)) : NULL;
    if (!close || close == open + 1)
        return MS_ERR_PARSE;
    size_t n = (size_t)(close - open - 1);
    if (n >= cap)
        return MS_ERR_TOOBIG;
    memcpy(out, open + 1, n);
    out[n] = '\0';
    return MS_OK;
}

/* One decimal number in a file such as /proc/sys/vm/overcommit_ratio. */
static ms_err read_u64_file(const char *path, uint64_t *out)
{
    char text[64];
    size_t len = 0;   /* set by read_small on success; gcc -O3 cannot see that through its error path */
    ms_err rc = read_small(path, text, sizeof text, &len);
    if (rc != MS_OK)
        return rc;
    const char *p = text, *end = text + len;
    if (!ms_num_dec(&p, end, out))
        return MS_ERR_PARSE;
    return MS_OK;
}

/* The first address past user space (TASK_SIZE's boundary), without asking the kernel, which has
 * no interface for it.  The rule:
 *  - take the highest end of this process's own mappings below the kernel half (so x86's
 *    [vsyscall] page at 0xffffffffff600000 is ignored) and round it up to a power of two: the
 *    kernel puts the stack just under the top, so this gives 2^47 on x86-64 4-level paging, 2^48 or
 *    2^39 or 2^52 on arm64 depending on VA_BITS, 2^32 on 32-bit processes;
 *  - on x86-64 the answer is 2^47 unless a mapping lies above it: with 5-level paging (LA57) the
 *    kernel still keeps the stack and mmap below 2^47 by default and only hands out higher
 *    addresses on request, so one mapping above 2^47 proves the 2^56 space.
 * 2^47 is the boundary; the kernel's TASK_SIZE_MAX is one page less (the last page below it is a
 * guard the kernel never maps, against the SYSRET erratum). */
static ms_err user_space_top(uint64_t *out)
{
    ms_buf b;
    ms_err rc;
    uint64_t top = 0;
    ms_buf_init(&b, 0);
    rc = ms_read_file_at(AT_FDCWD, "/proc/self/maps", &b);
    if (rc != MS_OK)
        goto out;
    for (const char *p = b.data, *end = b.data + b.len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        uint64_t start, stop;
        const char *q = p;
        if (!ms_num_hex(&q, eol, &start) || q >= eol || *q++ != '-' || !ms_num_hex(&q, eol, &stop)) {
            rc = MS_ERR_PARSE;
            goto out;
        }
        if (start < (1ULL << 63) && stop > top)
            top = stop;
        p = eol + 1;
    }
    if (top == 0) {
        rc = MS_ERR_PARSE;
        goto out;
    }
    uint64_t pow = 1;
    while (pow < top && pow < (1ULL << 63))
        pow <<= 1;
#if defined(__x86_64__)
    pow = pow > (1ULL << 47) ? 1ULL << 56 : 1ULL << 47;
#endif
    *out = pow;
out:
    ms_buf_free(&b);
    return rc;
}

ms_err ms_sysinfo_read(ms_sysinfo *out)
{
    ms_err rc = MS_OK;
    struct utsname u;
    uint64_t v;

    memset(out, 0, sizeof *out);
    if (uname(&u) != 0) {
        rc = ms_err_from_errno(errno);
        goto out;
    }
    /* utsname fields are 65 bytes on Linux, like ours; bounded copy in case a libc differs. */
    memcpy(out->kernel_release, u.release, strnlen(u.release, sizeof out->kernel_release - 1));
    memcpy(out->machine, u.machine, strnlen(u.machine, sizeof out->machine - 1));
    out->page_size = sysconf(_SC_PAGESIZE);

    /* Absent on kernels built without THP: the settings stay "" rather than failing the call. */
    static const char thp[] = "/sys/kernel/mm/transparent_hugepage/";
    static const struct { const char *file; size_t off; } choices[] = {
        {"enabled", offsetof(ms_sysinfo, thp_enabled)},
        {"defrag", offsetof(ms_sysinfo, thp_defrag)},
        {"shmem_enabled", offsetof(ms_sysinfo, thp_shmem_enabled)},
    };
    char path[128];
    for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
        size_t a = sizeof thp - 1, f = strlen(choices[i].file);
        memcpy(path, thp, a);
        memcpy(path + a, choices[i].file, f + 1);
        char *dst = (char *)out + choices[i].off;
        if (ms_sysfs_choice(path, dst, sizeof out->thp_enabled) != MS_OK)
            dst[0] = '\0';
    }
    if (read_u64_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", &v) == MS_OK)
        out->hpage_pmd_size = v;

    out->overcommit_memory = out->overcommit_ratio = -1;
    if (read_u64_file("/proc/sys/vm/overcommit_memory", &v) == MS_OK && v <= 2)
        out->overcommit_memory = (int)v;
    if (read_u64_file("/proc/sys/vm/overcommit_ratio", &v) == MS_OK && v <= INT32_MAX)
        out->overcommit_ratio = (int)v;
    if (read_u64_file("/proc/sys/vm/overcommit_kbytes", &v) == MS_OK)
        out->overcommit_kbytes = v;

    rc = user_space_top(&out->user_space_top);
out:
    return rc;
}
