/* pagemap.c - counts and runs of page states over a range, and single pages decoded to frames.
 *
 * Two readers that must agree.  PAGEMAP_SCAN (Linux 6.7+) walks the page tables in the kernel and
 * hands back only ranges of pages that are present or swapped, already merged by category, so a
 * 64 GiB range that is mostly holes costs a few page-table walks.  Where it is missing, the 8-byte
 * pagemap entries are read in large batches (64 Ki entries, 512 KiB per pread into one reusable
 * buffer) and decoded with the MS_PM_* masks; what the entries do not say directly is recovered:
 * the zero page by comparing PFNs with the zero page's PFN (learnt from a page of our own), THP by
 * a page-table-sized block of contiguous, aligned PFNs whose head frame /proc/kpageflags calls THP
 * or HUGE (the layout PAGEMAP_SCAN reports as PAGE_IS_HUGE: a PMD mapping). */
#include "kpage.h"
#include "pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "features.h"
#include "kabi.h"
#include "proc.h"

/* Above every 64-bit Linux user address space (56-bit with 5-level paging); the exact top is asked
 * of the kernel per process, this only keeps offset arithmetic far from overflow. */
#define MS_PM_ADDR_MAX (1ULL << 57)
/* Entries per pread: 512 KiB, where the syscall overhead stops mattering. */
#define MS_PM_BATCH ((uint64_t)64 * 1024)
/* page_regions per PAGEMAP_SCAN call: 96 KiB; a range needing more just loops on walk_end. */
#define MS_PM_SCAN_VEC 4096

#define MS_PM_HIDDEN_NOCAP "pfn hidden: needs CAP_SYS_ADMIN"
#define MS_PM_HIDDEN_NS    "pfn hidden: needs CAP_SYS_ADMIN in the initial user namespace"

const char *ms_pm_state_name(ms_pm_state s)
{
    switch (s) {
    case MS_PM_STATE_ABSENT: return "absent";
    case MS_PM_STATE_ANON: return "anon";
    case MS_PM_STATE_FILE_OR_SHARED: return "file_or_shared";
    case MS_PM_STATE_ZERO: return "zero";
    case MS_PM_STATE_HUGE: return "huge";
    case MS_PM_STATE_SWAPPED: return "swapped";
    case MS_PM_STATE__COUNT: break;
    }
    return "unknown";
}

static uint64_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (uint64_t)ps : 4096;
}

/* ---- runs ---------------------------------------------------------------------------------- */

typedef struct {
    ms_pm_run *runs;
    size_t n, cap, max;
    bool truncated;
} run_builder;

static ms_err runs_add(run_builder *b, uint64_t start, uint64_t end, uint8_t state)
{
    if (b->max == 0 || b->truncated || start >= end)
        return MS_OK;
    if (b->n && b->runs[b->n - 1].state == state && b->runs[b->n - 1].end == start) {
        b->runs[b->n - 1].end = end;
        return MS_OK;
    }
    if (b->n == b->max) {
        /* Once a run is dropped nothing after it may be added, or a later run would look adjacent
         * to an earlier one. */
        b->truncated = true;
        return MS_OK;
    }
    if (b->n == b->cap) {
        ms_err rc = ms_grow((void **)&b->runs, &b->cap, b->n + 1, sizeof *b->runs, 64, b->max);
        if (rc != MS_OK)
            return rc;
    }
    b->runs[b->n++] = (ms_pm_run){start, end, state};
    return MS_OK;
}

static void summary_reset(ms_pm_summary *s, run_builder *b)
{
    memset(s, 0, sizeof *s);
    b->n = 0;
    b->truncated = false;
}

/* ---- shared helpers -------------------------------------------------------------------------- */

static ms_err open_pagemap(int dirfd, int *fd)
{
    int f = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
    if (f < 0)   /* ESRCH: no mm to open (a kernel thread, a zombie) */
        return errno == ESRCH ? ms_pid_no_mm_err(dirfd) : ms_err_from_errno(errno);
    *fd = f;
    return MS_OK;
}

/* Reads entries [vpn, vpn + n) fully.  The kernel ends pagemap at the process's TASK_SIZE (a read
 * there returns 0 bytes), and also returns 0 bytes once the process has exited or for one that has
 * no address space (kernel thread, zombie): tell them apart. */
static ms_err read_entries(int fd, int dirfd, uint64_t vpn, uint64_t n, uint64_t *dst, uint64_t *got)
{
    size_t want = (size_t)n * 8, have = 0;
    *got = 0;
    ms_err rc = ms_pread_full(fd, dst, want, (off_t)(vpn * 8), &have);
    if (rc != MS_OK)
        return errno == ESRCH ? ms_pid_no_mm_err(dirfd) : rc;
    *got = have / 8;
    /* Short: the end of its address space, or no address space any more.  An exiting process
     * loses its mm before it becomes a zombie whose stat still reads, so being alive is not
     * enough; the entry for address 0 exists in every address space, so its read tells. */
    uint64_t probe;
    if (have < want && (!ms_pid_alive(dirfd) || pread(fd, &probe, 8, 0) != 8))
        return ms_pid_no_mm_err(dirfd);
    return MS_OK;
}

/* The smallest power of two at or above x (x > 0). */
static uint64_t pow2_ceil(uint64_t x)
{
    uint64_t p = 1;
    while (p < x && p < (1ULL << 63))
        p <<= 1;
    return p;
}

/* Where this process's address space ends, for a range ending at end.  The kernel's pagemap stops
 * at the process's TASK_SIZE, which is not the boundary of the user address space everywhere: on
 * x86-64 it is one page below 2^47 (the last page is a guard the kernel never maps, against the
 * SYSRET erratum), while 2^47 is what the address layout and /system call the top.  So the pages
 * from TASK_SIZE up to the next power of two are part of the range a caller may ask for, and are
 * simply never there; past that power of two the range is out of the address space (MS_ERR_RANGE).
 * One pread of the last MS_PM_TOP_PROBE entries below end tells: *top = end when all are there. */
#define MS_PM_TOP_PROBE 512
static ms_err find_top(int fd, int dirfd, uint64_t end, uint64_t ps, uint64_t *top)
{
    uint64_t e[MS_PM_TOP_PROBE], got;
    uint64_t vend = end / ps, n = vend < MS_PM_TOP_PROBE ? vend : MS_PM_TOP_PROBE;
    ms_err rc = read_entries(fd, dirfd, vend - n, n, e, &got);
    if (rc != MS_OK)
        return rc;
    if (got == n) {
        *top = end;
        return MS_OK;
    }
    if (got == 0)
        return MS_ERR_RANGE;    /* ends further below than any guard: end is outside */
    *top = (vend - n + got) * ps;
    return end <= pow2_ceil(*top) ? MS_OK : MS_ERR_RANGE;
}

static bool have_cap_sys_admin(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return false;
    return (d[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1u;
}

/* The PFN of the shared zero page: the read-faulted page of the self-probe, looked up in our
 * pagemap.  Only possible when PFNs are visible; checked against KPF_ZERO_PAGE when kpageflags is
 * readable, so a kernel that maps something else there is not trusted. */
static bool learn_zero_pfn(uint64_t ps, int kpf_fd, uint64_t *zpfn, bool *pfns_visible)
{
    uint64_t e[2], f;
    *pfns_visible = false;
    if (!ms_features_probe_own_pages((long)ps, e))
        return false;
    uint64_t pfn = e[1] & MS_PM_PFN_MASK;
    if (!(e[1] & MS_PM_PRESENT) || pfn == 0)
        return false;
    *pfns_visible = true;
    if (kpf_fd >= 0 && ms_kpage_read(kpf_fd, pfn, &f) && !(f & (1ULL << MS_KPF_ZERO_PAGE)))
        return false;
    *zpfn = pfn;
    return true;
}

/* ---- PAGEMAP_SCAN ---------------------------------------------------------------------------- */

static uint8_t state_of_categories(uint64_t c)
{
    if (c & PAGE_IS_SWAPPED)
        return MS_PM_STATE_SWAPPED;
    if (!(c & PAGE_IS_PRESENT))
        return MS_PM_STATE_ABSENT;
    if (c & PAGE_IS_PFNZERO)
        return MS_PM_STATE_ZERO;
    if (c & PAGE_IS_HUGE)
        return MS_PM_STATE_HUGE;
    if (c & PAGE_IS_FILE)
        return MS_PM_STATE_FILE_OR_SHARED;
    return MS_PM_STATE_ANON;
}

static ms_err summarize_scan(int fd, uint64_t start, uint64_t end, uint64_t ps, ms_pm_summary *s,
                             run_builder *rb)
{
    ms_err rc = MS_OK;
    struct page_region *vec = malloc(MS_PM_SCAN_VEC * sizeof *vec);
    if (!vec)
        return MS_ERR_NOMEM;

    struct pm_scan_arg a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.end = end;
    a.vec = (uint64_t)(uintptr_t)vec;
    a.vec_len = MS_PM_SCAN_VEC;
    /* Only pages that are there (or swapped, or soft-dirty where tracked) come back: the holes,
     * which are most of a big range, cost nothing to return. */
    a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_SOFT_DIRTY;
    a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE | PAGE_IS_PFNZERO | PAGE_IS_HUGE |
                    PAGE_IS_SOFT_DIRTY;

    uint64_t cur = start;
    while (cur < end) {
        a.start = cur;
        a.walk_end = 0;
        int n = ioctl(fd, PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) ? MS_ERR_UNSUPPORTED
                 : errno == EFAULT ? MS_ERR_RANGE
                 : ms_err_from_errno(errno);
            goto out;
        }
        for (int i = 0; i < n; i++) {
            const struct page_region *r = &vec[i];
            if (r->start < cur || r->end > end || r->start >= r->end) {
                rc = MS_ERR_PARSE;     /* the kernel broke its own contract */
                goto out;
            }
            if ((rc = runs_add(rb, cur, r->start, MS_PM_STATE_ABSENT)) != MS_OK)
                goto out;
            uint64_t pages = (r->end - r->start) / ps, c = r->categories;
            if (c & PAGE_IS_PRESENT) s->present += pages;
            if (c & PAGE_IS_SWAPPED) s->swapped += pages;
            if (c & PAGE_IS_PFNZERO) s->zero_page += pages;
            if (c & PAGE_IS_FILE) s->file_or_shared += pages;
            if (c & PAGE_IS_HUGE) s->huge += pages;
            if (c & PAGE_IS_SOFT_DIRTY) s->soft_dirty += pages;
            if ((rc = runs_add(rb, r->start, r->end, state_of_categories(c))) != MS_OK)
                goto out;
            cur = r->end;
        }
        uint64_t we = a.walk_end;
        if (we <= a.start && n == 0) {
            rc = MS_ERR_IO;            /* no progress: never loop forever on a kernel surprise */
            goto out;
        }
        if (we > cur) {
            if (we > end)
                we = end;
            if ((rc = runs_add(rb, cur, we, MS_PM_STATE_ABSENT)) != MS_OK)
                goto out;
            cur = we;
        }
    }
    s->used = MS_PM_SCAN;
    s->has_zero_page = true;
    s->has_huge = true;
out:
    free(vec);
    return rc;
}

/* ---- batched pread --------------------------------------------------------------------------- */

typedef enum { BLOCK_SMALL, BLOCK_HUGE, BLOCK_HUGE_ZERO } block_kind;

/* A PMD mapping shows in pagemap as one page-table-sized block (ps/8 pages) of present pages
 * whose PFNs are contiguous from an aligned head; kpageflags then says whether that head is a THP
 * or hugetlb folio.  Contiguity is checked first, so kpageflags is read once per candidate block,
 * not once per page.  The huge zero page (a read fault in a MADV_HUGEPAGE region) is told apart:
 * PAGEMAP_SCAN calls it PFNZERO and, like the small zero page, not FILE, while its pagemap
 * entries carry PM_FILE only because that folio is not anonymous. */
static block_kind block_kind_of(const uint64_t *e, uint64_t ppb, int kpf_fd)
{
    uint64_t pfn0 = e[0] & MS_PM_PFN_MASK;
    if (!(e[0] & MS_PM_PRESENT) || (e[0] & MS_PM_SWAP) || pfn0 == 0 || pfn0 % ppb)
        return BLOCK_SMALL;
    for (uint64_t i = 1; i < ppb; i++)
        if ((e[i] & (MS_PM_PRESENT | MS_PM_SWAP)) != MS_PM_PRESENT || (e[i] & MS_PM_PFN_MASK) != pfn0 + i)
            return BLOCK_SMALL;
    uint64_t f;
    if (!ms_kpage_read(kpf_fd, pfn0, &f) || !(f & ((1ULL << MS_KPF_THP) | (1ULL << MS_KPF_HUGE))))
        return BLOCK_SMALL;
    return (f & (1ULL << MS_KPF_ZERO_PAGE)) ? BLOCK_HUGE_ZERO : BLOCK_HUGE;
}

static ms_err summarize_pread(int fd, int dirfd, uint64_t start, uint64_t end, uint64_t ps,
                              ms_pm_summary *s, run_builder *rb)
{
    ms_err rc = MS_OK;
    int kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
    uint64_t ppb = ps / 8;                       /* pages per page-table page (PMD span) */
    uint64_t batch = MS_PM_BATCH < ppb ? ppb : MS_PM_BATCH - MS_PM_BATCH % ppb;
    uint64_t *buf = malloc((size_t)batch * 8);
    if (!buf) {
        rc = MS_ERR_NOMEM;
        goto out;
    }

    uint64_t zpfn = 0;
    bool pfns_visible;
    bool zero_known = learn_zero_pfn(ps, kpf, &zpfn, &pfns_visible);
    bool huge_known = kpf >= 0 && pfns_visible;

    uint64_t vfirst = start / ps, vend = end / ps;
    uint64_t run_start = vfirst;
    uint8_t run_state = MS_PM_STATE__COUNT;           /* none yet */
    /* Batches start on block boundaries so every block is whole in the buffer; the entries read
     * outside [vfirst, vend) only serve the block test. */
    for (uint64_t b = vfirst - vfirst % ppb; b < vend; b += batch) {
        uint64_t want = vend - b;
        want = want + (ppb - want % ppb) % ppb;
        if (want > batch)
            want = batch;
        uint64_t got;
        if ((rc = read_entries(fd, dirfd, b, want, buf, &got)) != MS_OK)
            goto out;
        uint64_t lo = b < vfirst ? vfirst : b, hi = b + want < vend ? b + want : vend;
        if (got < hi - b) {
            rc = MS_ERR_RANGE;                   /* ended before the range did */
            goto out;
        }
        if (got < want)
            memset(buf + got, 0, (size_t)(want - got) * 8);

        for (uint64_t blk = b; blk < b + want; blk += ppb) {
            uint64_t bl = blk < lo ? lo : blk, bh = blk + ppb < hi ? blk + ppb : hi;
            if (bl >= bh)
                continue;
            block_kind bk = huge_known ? block_kind_of(buf + (blk - b), ppb, kpf) : BLOCK_SMALL;
            bool huge = bk != BLOCK_SMALL, huge_zero = bk == BLOCK_HUGE_ZERO;
            for (uint64_t v = bl; v < bh; v++) {
                uint64_t e = buf[v - b];
                uint8_t st;
                if (e & MS_PM_SOFT_DIRTY) s->soft_dirty++;
                if (e & MS_PM_MMAP_EXCLUSIVE) s->exclusive++;
                if ((e & MS_PM_FILE) && !huge_zero) s->file_or_shared++;
                if (e & MS_PM_SWAP) {
                    s->swapped++;
                    st = MS_PM_STATE_SWAPPED;
                } else if (!(e & MS_PM_PRESENT)) {
                    st = MS_PM_STATE_ABSENT;
                } else {
                    s->present++;
                    bool zero = huge_zero || (zero_known && (e & MS_PM_PFN_MASK) == zpfn);
                    if (zero) s->zero_page++;
                    if (huge) s->huge++;
                    st = zero ? MS_PM_STATE_ZERO : huge ? MS_PM_STATE_HUGE
                       : (e & MS_PM_FILE) ? MS_PM_STATE_FILE_OR_SHARED : MS_PM_STATE_ANON;
                }
                if (st != run_state) {
                    if (run_state != MS_PM_STATE__COUNT &&
                        (rc = runs_add(rb, run_start * ps, v * ps, run_state)) != MS_OK)
                        goto out;
                    run_state = st;
                    run_start = v;
                }
            }
        }
    }
    if ((rc = runs_add(rb, run_start * ps, vend * ps, run_state)) != MS_OK)
        goto out;
    s->used = MS_PM_PREAD;
    s->has_zero_page = zero_known;
    s->has_exclusive = true;
    s->has_huge = huge_known;
out:
    if (!s->has_huge)
        s->huge = 0;
    free(buf);
    if (kpf >= 0)
        close(kpf);
    return rc;
}

/* ---- public ---------------------------------------------------------------------------------- */

ms_err ms_pm_summarize(int dirfd, uint64_t start, uint64_t end, const ms_pm_opts *o,
                       ms_pm_summary *out)
{
    static const ms_pm_opts defaults = {MS_PM_AUTO, 0, false};
    ms_err rc = MS_OK;
    int fd = -1;
    run_builder rb = {NULL, 0, 0, 0, false};
    uint64_t ps = page_size();

    memset(out, 0, sizeof *out);
    if (!o)
        o = &defaults;
    if (start % ps || end % ps || start >= end || o->method > MS_PM_PREAD) {
        rc = MS_ERR_INVAL;
        goto out;
    }
    if (end > MS_PM_ADDR_MAX) {
        rc = MS_ERR_RANGE;
        goto out;
    }
    if ((rc = open_pagemap(dirfd, &fd)) != MS_OK)
        goto out;
    uint64_t top;
    if ((rc = find_top(fd, dirfd, end, ps, &top)) != MS_OK)
        goto out;
    rb.max = o->max_runs;

    if (start >= top) {
        /* Nothing here the kernel maps, and nothing for either reader to read (PAGEMAP_SCAN
         * refuses a range past TASK_SIZE): the probe's pread is what answered. */
        out->used = o->method == MS_PM_SCAN ? MS_PM_SCAN : MS_PM_PREAD;
        out->has_zero_page = out->has_exclusive = out->has_huge = true;
        rc = runs_add(&rb, start, end, MS_PM_STATE_ABSENT);
        goto done;
    }
    rc = MS_ERR_UNSUPPORTED;
    if (o->method != MS_PM_PREAD) {
        rc = summarize_scan(fd, start, top, ps, out, &rb);
        if (rc == MS_ERR_UNSUPPORTED && o->method == MS_PM_AUTO)
            summary_reset(out, &rb);             /* fall through to pread from a clean slate */
        else
            goto read;
    }
    rc = summarize_pread(fd, dirfd, start, top, ps, out, &rb);
read:
    if (rc == MS_OK)
        rc = runs_add(&rb, top, end, MS_PM_STATE_ABSENT);   /* no-op when top == end */
done:
    if (rc != MS_OK)
        goto out;
    out->top = top;
    out->pages = (end - start) / ps;
    out->has_soft_dirty = o->soft_dirty_tracked || out->soft_dirty > 0;
    out->runs = rb.runs;
    out->nruns = rb.n;
    out->runs_truncated = rb.truncated;
    rb.runs = NULL;
out:
    free(rb.runs);
    if (fd >= 0)
        close(fd);
    if (rc != MS_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

void ms_pm_summary_free(ms_pm_summary *s)
{
    if (!s)
        return;
    free(s->runs);
    s->runs = NULL;
    s->nruns = 0;
}

ms_err ms_pm_frames(int dirfd, uint64_t start, size_t npages, ms_pm_frame *out)
{
    ms_err rc = MS_OK;
    int fd = -1, kpf = -1, kpc = -1;
    bool tried_kpage = false;
    uint64_t ps = page_size();
    uint64_t chunk[512];

    if (start % ps || npages == 0) {
        rc = MS_ERR_INVAL;
        goto out;
    }
    if (start >= MS_PM_ADDR_MAX || npages > (MS_PM_ADDR_MAX - start) / ps) {
        rc = MS_ERR_RANGE;
        goto out;
    }
    if ((rc = open_pagemap(dirfd, &fd)) != MS_OK)
        goto out;
    uint64_t top;
    if ((rc = find_top(fd, dirfd, start + npages * ps, ps, &top)) != MS_OK)
        goto out;
    const char *hidden = have_cap_sys_admin() ? MS_PM_HIDDEN_NS : MS_PM_HIDDEN_NOCAP;

    uint64_t vpn = start / ps;
    for (size_t i = 0; i < npages;) {
        uint64_t n = npages - i < 512 ? npages - i : 512, got = 0;
        if ((vpn + i) * ps < top && (rc = read_entries(fd, dirfd, vpn + i, n, chunk, &got)) != MS_OK)
            goto out;
        if (got < n) {
            /* past the top (find_top): no entry, nothing can be mapped there */
            if ((vpn + i + got) * ps < top) {
                rc = MS_ERR_RANGE;
                goto out;
            }
            memset(chunk + got, 0, (size_t)(n - got) * 8);
        }
        for (uint64_t k = 0; k < n; k++, i++) {
            uint64_t e = chunk[k];
            ms_pm_frame *f = &out[i];
            memset(f, 0, sizeof *f);
            f->vaddr = (vpn + i) * ps;
            f->beyond_top = f->vaddr >= top;
            f->entry = e;
            f->present = (e & MS_PM_PRESENT) != 0;
            f->swapped = (e & MS_PM_SWAP) != 0;
            f->file_or_shared = (e & MS_PM_FILE) != 0;
            f->exclusive = (e & MS_PM_MMAP_EXCLUSIVE) != 0;
            f->soft_dirty = (e & MS_PM_SOFT_DIRTY) != 0;
            if (f->swapped) {
                /* bits 0-4 type, 5-54 offset; the offset too reads 0 without CAP_SYS_ADMIN */
                f->swap_type = e & 0x1f;
                f->swap_offset = (e & MS_PM_PFN_MASK) >> 5;
                continue;
            }
            if (!f->present)
                continue;
            f->pfn = e & MS_PM_PFN_MASK;
            if (f->pfn == 0) {
                /* The kernel writes 0 for a PFN it will not show; 0 is never a real user frame. */
                f->pfn_hidden_reason = hidden;
                continue;
            }
            f->pfn_known = true;
            if (!tried_kpage) {
                tried_kpage = true;
                kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
                kpc = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
            }
            f->kflags_known = ms_kpage_read(kpf, f->pfn, &f->kflags);
            f->mapcount_known = ms_kpage_read(kpc, f->pfn, &f->mapcount);
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (kpf >= 0)
        close(kpf);
    if (kpc >= 0)
        close(kpc);
    return rc;
}
