/* translate.c - one virtual address followed down to its physical frame, as the seed draws it.
 *
 * The address splits into page number and offset; the region around it comes from PROCMAP_QUERY
 * (Linux 6.11: one ioctl on maps, no need to read and parse every line) or, on older kernels, from
 * maps itself; the page's pagemap entry then gives the frame, and frame * page size + offset the
 * physical address when the kernel lets us see PFNs. */
#include "translate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kabi.h"
#include "proc.h"

#define MS_DELETED_SUFFIX " (deleted)"

static void set_deleted(ms_region *r)
{
    size_t n = sizeof MS_DELETED_SUFFIX - 1;
    r->deleted = r->path_len >= n && memcmp(r->path + r->path_len - n, MS_DELETED_SUFFIX, n) == 0;
}

/* One PROCMAP_QUERY for the VMA covering addr (not the next one: an address in a gap has no
 * region).  The name lands in name[cap]. */
static ms_err query_vma(int fd, uint64_t addr, ms_region *r, char *name, size_t cap)
{
    struct procmap_query q;
    memset(&q, 0, sizeof q);
    q.size = sizeof q;
    q.query_addr = addr;
    q.vma_name_addr = (uint64_t)(uintptr_t)name;
    q.vma_name_size = (uint32_t)cap;
    if (ioctl(fd, PROCMAP_QUERY, &q) != 0) {
        switch (errno) {
        case ENOENT: return MS_ERR_NOENT;          /* no VMA covers addr (not: no process) */
        case ENOTTY: case EINVAL: case EOPNOTSUPP: return MS_ERR_UNSUPPORTED;
        case ENAMETOOLONG: return MS_ERR_TOOBIG;
        case ESRCH: return MS_ERR_NOMM;            /* no mm: the caller tells which case */
        default: return ms_err_from_errno(errno);
        }
    }
    memset(r, 0, sizeof *r);
    r->start = q.vma_start;
    r->end = q.vma_end;
    r->offset = q.vma_offset;
    r->inode = q.inode;
    r->dev_major = q.dev_major;
    r->dev_minor = q.dev_minor;
    r->perms[0] = (q.vma_flags & PROCMAP_QUERY_VMA_READABLE) ? 'r' : '-';
    r->perms[1] = (q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE) ? 'w' : '-';
    r->perms[2] = (q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE) ? 'x' : '-';
    r->perms[3] = (q.vma_flags & PROCMAP_QUERY_VMA_SHARED) ? 's' : 'p';
    r->perms[4] = '\0';
    /* vma_name_size comes back as length + 1, or 0 for a VMA with no name */
    size_t len = q.vma_name_size ? q.vma_name_size - 1 : 0;
    if (len >= cap)
        len = cap - 1;
    name[len] = '\0';
    r->path = name;
    r->path_len = len;
    set_deleted(r);
    return MS_OK;
}

static ms_err region_by_query(int dirfd, uint64_t addr, ms_translation *out)
{
    ms_err rc;
    char prev_name[4096];
    ms_region pair[2];
    int fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    rc = query_vma(fd, addr, &pair[1], out->path_buf, sizeof out->path_buf);
    if (rc == MS_ERR_NOENT) {
        /* Tell "no VMA there" from "the process is gone". */
        rc = ms_pid_alive(dirfd) ? MS_OK : MS_ERR_NOENT;
        out->in_region = false;
        goto out;
    }
    if (rc == MS_ERR_NOMM)
        rc = ms_pid_no_mm_err(dirfd);
    if (rc != MS_OK)
        goto out;
    /* The kind of an anonymous region can depend on the one before it (bss follows a file's
     * data), so classify with its neighbour when they touch, as the maps parser does. */
    size_t first = 1;
    if (pair[1].start > 0 && query_vma(fd, pair[1].start - 1, &pair[0], prev_name, sizeof prev_name) == MS_OK &&
        pair[0].end == pair[1].start)
        first = 0;
    ms_maps_classify(pair + first, 2 - first);
    ms_region_check_deleted(dirfd, &pair[1]);
    out->region = pair[1];
    out->in_region = true;
out:
    close(fd);
    return rc;
}

static ms_err region_by_maps(int dirfd, uint64_t addr, ms_translation *out)
{
    ms_maps m;
    ms_maps_init(&m);
    ms_err rc = ms_maps_read(dirfd, &m);
    if (rc != MS_OK)
        goto out;
    long i = ms_maps_find(m.regions, m.nregions, addr);
    if (i < 0) {
        out->in_region = false;
        goto out;
    }
    out->region = m.regions[i];
    size_t len = out->region.path_len;
    if (len >= sizeof out->path_buf)
        len = sizeof out->path_buf - 1;   /* PATH_MAX plus " (deleted)" can just exceed it */
    memcpy(out->path_buf, out->region.path, len);
    out->path_buf[len] = '\0';
    out->region.path = out->path_buf;
    out->region.path_len = len;
    out->in_region = true;
out:
    ms_maps_free(&m);
    return rc;
}

ms_err ms_translate_with(int dirfd, uint64_t addr, ms_tr_method how, ms_translation *out)
{
    ms_err rc = MS_OK;
    memset(out, 0, sizeof *out);
    long ps = sysconf(_SC_PAGESIZE);
    out->addr = addr;
    out->page_size = ps > 0 ? (uint64_t)ps : 4096;
    out->page_number = addr / out->page_size;
    out->page_offset = addr % out->page_size;

    rc = MS_ERR_UNSUPPORTED;
    if (how != MS_TR_MAPS) {
        rc = region_by_query(dirfd, addr, out);
        if (rc == MS_OK)
            out->region_by_query = true;
        /* Whether a read-only file mapping is an ELF's rodata depends on an executable mapping of
         * the same file that may come after it, which one query cannot see: read maps for those. */
        if (rc == MS_OK && how == MS_TR_AUTO && out->in_region && out->region.kind == MS_KIND_FILE &&
            out->region.inode != 0 && out->region.perms[2] != 'x') {
            out->region_by_query = false;
            rc = MS_ERR_UNSUPPORTED;
        }
        if (rc != MS_ERR_UNSUPPORTED && rc != MS_ERR_TOOBIG)
            goto frame;
        if (how == MS_TR_QUERY && rc == MS_ERR_UNSUPPORTED)
            goto out;
    }
    rc = region_by_maps(dirfd, addr, out);
frame:
    if (rc != MS_OK)
        goto out;
    rc = ms_pm_frames(dirfd, out->page_number * out->page_size, 1, &out->frame);
    if (rc != MS_OK)
        goto out;
    if (out->frame.pfn_known) {
        out->phys_known = true;
        out->phys_addr = out->frame.pfn * out->page_size + out->page_offset;
    }
out:
    return rc;
}

ms_err ms_translate(int dirfd, uint64_t addr, ms_translation *out)
{
    return ms_translate_with(dirfd, addr, MS_TR_AUTO, out);
}
