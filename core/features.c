/* features.c - what this kernel offers and what this process may see, asked of the kernel itself.
 *
 * Each probe tries the real interface on our own process (a page we touch, our own pagemap and
 * maps) rather than guessing from the kernel version or our uid: distributions backport, containers
 * drop capabilities, and the answer the server reports must be the one its requests will meet. */
#include "features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "kabi.h"
#include "kpage.h"
#include "pageidle.h"
#include "pagemap.h"

bool ms_features_probe_own_pages(long ps, uint64_t e[2])
{
    bool ok = false;
    unsigned char *p = mmap(NULL, 2 * (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    *(volatile unsigned char *)p = 1;
    (void)*(volatile const unsigned char *)(p + ps);
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ok = pread(fd, e, 2 * sizeof *e, (off_t)((uintptr_t)p / (uintptr_t)ps * 8)) == (ssize_t)(2 * sizeof *e);
        close(fd);
    }
    munmap(p, 2 * (size_t)ps);
    return ok;
}

/* The written page's PFN is there only for a CAP_SYS_ADMIN opener (*pfn: 0 when hidden or on
 * failure).  The read page tells whether this kernel maps the shared zero page on a read fault
 * (upstream does; some builds allocate a real page, as for a write): the zero page has no struct
 * page behind its entry, so pagemap shows it present but never exclusive, which a fresh page mapped
 * once always is.  That bit needs no privilege. */
static void probe_own_pages(long ps, uint64_t *pfn, bool *read_zero_page)
{
    uint64_t e[2];
    *pfn = 0;
    *read_zero_page = false;
    if (!ms_features_probe_own_pages(ps, e))
        return;
    if (e[0] & MS_PM_PRESENT)
        *pfn = e[0] & MS_PM_PFN_MASK;
    *read_zero_page = (e[1] & MS_PM_PRESENT) && !(e[1] & (MS_PM_MMAP_EXCLUSIVE | MS_PM_FILE));
}

static bool probe_kpage(const char *path, uint64_t pfn)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint64_t v;
    /* With no PFN of our own to ask about, frame 0's entry still proves the file reads. */
    bool ok = ms_kpage_read(fd, pfn, &v);
    close(fd);
    return ok;
}

static bool probe_pagemap_scan(long ps)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct page_region vec[4];
    struct pm_scan_arg a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    /* The page holding this local variable: certainly mapped and present. */
    uint64_t here = (uint64_t)(uintptr_t)&a & ~((uint64_t)ps - 1);
    a.start = here;
    a.end = here + (uint64_t)ps;
    a.vec = (uint64_t)(uintptr_t)vec;
    a.vec_len = 4;
    a.category_anyof_mask = PAGE_IS_PRESENT;
    a.return_mask = PAGE_IS_PRESENT;
    int n = ioctl(fd, PAGEMAP_SCAN, &a);
    close(fd);
    return n == 1 && vec[0].start == here && (vec[0].categories & PAGE_IS_PRESENT);
}

static bool probe_procmap_query(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct procmap_query q;
    memset(&q, 0, sizeof q);
    q.size = sizeof q;
    q.query_addr = (uint64_t)(uintptr_t)&probe_procmap_query;
    int r = ioctl(fd, PROCMAP_QUERY, &q);
    close(fd);
    return r == 0 && q.vma_start <= q.query_addr && q.query_addr < q.vma_end &&
           (q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE);
}

/* With CONFIG_MEM_SOFT_DIRTY every new VMA starts with VM_SOFTDIRTY, printed as "sd" in VmFlags. */
static bool probe_soft_dirty(void)
{
    ms_buf b;
    bool found = false;
    ms_buf_init(&b, 0);
    if (ms_read_file_at(AT_FDCWD, "/proc/self/smaps", &b) == MS_OK) {
        const char *p = b.data, *end = b.data + b.len;
        while (p < end && !found) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            if ((size_t)(le - p) > 8 && memcmp(p, "VmFlags:", 8) == 0) {
                for (const char *q = p + 8; q + 3 <= le; q++)
                    if (q[0] == ' ' && q[1] == 's' && q[2] == 'd' && (q + 3 == le || q[3] == ' ')) {
                        found = true;
                        break;
                    }
            }
            p = le + 1;
        }
    }
    ms_buf_free(&b);
    return found;
}

/* Opened and closed at once: the probe marks nothing. */
static bool probe_page_idle(void)
{
    int fd;
    if (ms_pi_open(AT_FDCWD, "/sys/kernel/mm/page_idle/bitmap", &fd) != MS_OK)
        return false;
    close(fd);
    return true;
}

void ms_features_probe(ms_features *out)
{
    memset(out, 0, sizeof *out);
    /* the page size itself is a machine fact: ms_sysinfo.page_size */
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0)
        ps = 4096;
    uint64_t pfn;
    probe_own_pages(ps, &pfn, &out->read_fault_zero_page);
    out->pfn_readable = pfn != 0;
    out->kpageflags_readable = probe_kpage("/proc/kpageflags", pfn);
    out->kpagecount_readable = probe_kpage("/proc/kpagecount", pfn);
    out->pagemap_scan = probe_pagemap_scan(ps);
    out->procmap_query = probe_procmap_query();
    out->smaps_rollup = faccessat(AT_FDCWD, "/proc/self/smaps_rollup", R_OK, 0) == 0;
    out->soft_dirty = probe_soft_dirty();
    out->page_idle = probe_page_idle();
}
