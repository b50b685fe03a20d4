/* procmap.c - regions by PROCMAP_QUERY, one ioctl per VMA, names written straight into the buffer.
 *
 * The walk asks for "the VMA covering or after addr" and moves addr to that VMA's end, so each
 * answer is strictly after the previous one even while the process maps and unmaps: the list can
 * be out of date by the time it ends (as a read of maps can), never out of order or overlapping.
 * A VMA that starts before the end of the previous answer (it changed in between) is left out.
 * Names are d_path()s, which maps prints through seq_file_path() escaping '\n' as "\012": the same
 * escape is applied here so a region's path is byte for byte what maps shows. */
#include "procmap.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kabi.h"
#include "proc.h"

/* Room asked for each name: the kernel cuts a longer one (ENAMETOOLONG), PATH_MAX covers d_path. */
#define PROCMAP_NAME_MAX PATH_MAX

void ms_procmap_gate_probe(ms_procmap_gate *g)
{
    memset(g, 0, sizeof *g);
    ms_maps m;
    ms_maps_init(&m);
    if (ms_read_file_at(AT_FDCWD, "/proc/self/maps", &m.buf) == MS_OK && ms_maps_parse(&m) == MS_OK) {
        for (size_t i = 0; i < m.nregions; i++) {
            const ms_region *r = &m.regions[i];
            if (r->kind == MS_KIND_VSYSCALL) {
                g->present = true;
                g->start = r->start;
                g->end = r->end;
                memcpy(g->perms, r->perms, sizeof g->perms);
            }
        }
    }
    ms_maps_free(&m);
}

/* The gate VMA exists for 64-bit tasks only; the executable's ELF class says which this is.  An
 * unreadable executable (gone, or refused) falls back to the address space: a 32-bit one ends
 * below 4 GiB. */
static bool is_64bit(int dirfd, const ms_maps *m)
{
    unsigned char ident[EI_NIDENT];
    int fd = openat(dirfd, "exe", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = pread(fd, ident, sizeof ident, 0);
        close(fd);
        if (n == (ssize_t)sizeof ident && memcmp(ident, ELFMAG, SELFMAG) == 0)
            return ident[EI_CLASS] == ELFCLASS64;
    }
    return m->nregions && m->regions[m->nregions - 1].end > ((uint64_t)1 << 32);
}

/* maps escapes '\n' in a path as "\012": the name [at, at + len) is rewritten so, in place (the
 * caller reserved 4 bytes per byte).  Returns the new length. */
static size_t escape_newlines(char *at, size_t len)
{
    size_t nl = 0;
    for (size_t i = 0; i < len; i++)
        nl += at[i] == '\n';
    if (!nl)
        return len;
    size_t out = len + 3 * nl;
    for (size_t i = len, o = out; i-- > 0;) {
        if (at[i] == '\n') {
            o -= 4;
            memcpy(at + o, "\\012", 4);
        } else {
            at[--o] = at[i];
        }
    }
    return out;
}

static void fill_region(ms_region *r, const struct procmap_query *q)
{
    memset(r, 0, sizeof *r);
    r->start = q->vma_start;
    r->end = q->vma_end;
    r->offset = q->vma_offset;
    r->inode = q->inode;
    r->dev_major = q->dev_major;
    r->dev_minor = q->dev_minor;
    r->perms[0] = (q->vma_flags & PROCMAP_QUERY_VMA_READABLE) ? 'r' : '-';
    r->perms[1] = (q->vma_flags & PROCMAP_QUERY_VMA_WRITABLE) ? 'w' : '-';
    r->perms[2] = (q->vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE) ? 'x' : '-';
    r->perms[3] = (q->vma_flags & PROCMAP_QUERY_VMA_SHARED) ? 's' : 'p';
    r->kernel_page_size = q->vma_page_size;
    r->kind = MS_KIND_OTHER;
}

/* Names live in m->buf, which moves as it grows: regions keep offsets (in path) until the walk
 * is over, then get their pointers. */
static void fix_paths(ms_maps *m)
{
    for (size_t i = 0; i < m->nregions; i++) {
        ms_region *r = &m->regions[i];
        r->path = m->buf.data + (uintptr_t)r->path;
        static const char del[] = " (deleted)";
        r->deleted = r->path_len >= sizeof del - 1 &&
                     memcmp(r->path + r->path_len - (sizeof del - 1), del, sizeof del - 1) == 0;
    }
}

static ms_err walk(int fd, ms_maps *m, size_t *dropped)
{
    ms_err rc = MS_OK;
    uint64_t addr = 0;
    for (;;) {
        /* 4 bytes per name byte: room for escape_newlines, plus the kernel's NUL */
        if ((rc = ms_buf_reserve(&m->buf, 4 * PROCMAP_NAME_MAX)) != MS_OK ||
            (rc = ms_maps_reserve(m, m->nregions + 1)) != MS_OK)
            return rc;
        struct procmap_query q;
        memset(&q, 0, sizeof q);
        q.size = sizeof q;
        q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
        q.query_addr = addr;
        q.vma_name_addr = (uint64_t)(uintptr_t)(m->buf.data + m->buf.len);
        q.vma_name_size = PROCMAP_NAME_MAX;
        if (ioctl(fd, PROCMAP_QUERY, &q) != 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            if (e == ENOENT)
                return MS_OK;            /* no VMA at or after addr: the walk is complete */
            if (e == ENOTTY || e == EINVAL || e == EOPNOTSUPP)
                return m->nregions ? MS_ERR_IO : MS_ERR_UNSUPPORTED;
            return ms_err_from_errno(e);
        }
        if (q.vma_end <= addr)
            return MS_ERR_PARSE;         /* the kernel broke its own contract */
        if (q.vma_start < addr) {
            /* A VMA that grew or was remapped over the end of the last one since it was asked
             * for: listing it would overlap.  Left out, as torn maps reads are. */
            (*dropped)++;
            addr = q.vma_end;
            continue;
        }
        ms_region *r = &m->regions[m->nregions++];
        fill_region(r, &q);
        size_t len = q.vma_name_size ? q.vma_name_size - 1 : 0;
        len = escape_newlines(m->buf.data + m->buf.len, len);
        r->path = (const char *)(uintptr_t)m->buf.len;
        r->path_len = len;
        m->buf.len += len;
        m->buf.data[m->buf.len] = '\0';
        addr = q.vma_end;
    }
    return rc;
}

ms_err ms_procmap_read(int dirfd, const ms_procmap_gate *gate, ms_maps *m, size_t *dropped)
{
    ms_err rc;
    size_t lost = 0;
    ms_maps_free(m);
    ms_maps_init(m);
    int fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    rc = walk(fd, m, &lost);
    close(fd);
    if (dropped)
        *dropped = lost;
    if (rc != MS_OK)
        goto out;
    if ((rc = ms_buf_reserve(&m->buf, 1)) != MS_OK)
        goto out;
    fix_paths(m);
    if (gate && gate->present && m->nregions && is_64bit(dirfd, m) &&
        m->regions[m->nregions - 1].end <= gate->start) {
        if ((rc = ms_maps_reserve(m, m->nregions + 1)) != MS_OK)
            goto out;
        ms_region *g = &m->regions[m->nregions++];
        memset(g, 0, sizeof *g);
        g->start = gate->start;
        g->end = gate->end;
        memcpy(g->perms, gate->perms, sizeof g->perms);
        g->path = "[vsyscall]";
        g->path_len = sizeof "[vsyscall]" - 1;
        g->kind = MS_KIND_OTHER;
    }
    ms_maps_classify(m->regions, m->nregions);
    /* An empty list is a kernel thread's, or a process that exited between the opening and the
     * first ioctl: tell them apart as ms_maps_read does. */
    if (m->nregions == 0 && !ms_pid_alive(dirfd))
        rc = MS_ERR_NOENT;
out:
    return rc;
}

ms_err ms_procmap_page_size(int maps_fd, uint64_t addr, uint64_t *page_size)
{
    struct procmap_query q;
    memset(&q, 0, sizeof q);
    q.size = sizeof q;
    q.query_addr = addr;
    while (ioctl(maps_fd, PROCMAP_QUERY, &q) != 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        return e == ENOTTY || e == EINVAL || e == EOPNOTSUPP ? MS_ERR_UNSUPPORTED : ms_err_from_errno(e);
    }
    *page_size = q.vma_page_size;
    return MS_OK;
}
