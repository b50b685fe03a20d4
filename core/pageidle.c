/* pageidle.c - marking a process's pages idle in the kernel's idle-page bitmap and counting, per
 * region, which were accessed since.
 *
 * The bitmap's reads and writes must be whole, 8-byte aligned words, so pages are sorted by PFN
 * and handled a run of consecutive words at a time: one pread, the bits or-ed in, one pwrite, one
 * pread back.  Only words holding one of our pages are ever written, and each once per mark.  The
 * present pages are found with PAGEMAP_SCAN where the kernel has it (so a huge reservation costs
 * nothing) and their PFNs read from pagemap in batches. */
#include "pageidle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "pagemap.h"
#include "proc.h"
#include "rssmap.h"

#define PI_BATCH 512          /* pagemap entries, and bitmap words, per read */

void ms_pi_set_init(ms_pi_set *s)
{
    long ps = sysconf(_SC_PAGESIZE);
    s->p = NULL;
    s->n = s->cap = 0;
    s->page_size = ps > 0 ? (uint64_t)ps : 4096;
    s->max_pages = MS_PI_MAX_PAGES;
}

void ms_pi_set_free(ms_pi_set *s)
{
    free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
}

ms_err ms_pi_add(ms_pi_set *s, uint64_t vpn, uint64_t pfn, uint32_t reg)
{
    if (s->n >= s->max_pages)
        return MS_ERR_TOOBIG;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        if (nc > s->max_pages)
            nc = s->max_pages;
        ms_pi_page *np = realloc(s->p, nc * sizeof *np);
        if (!np)
            return MS_ERR_NOMEM;
        s->p = np;
        s->cap = nc;
    }
    s->p[s->n++] = (ms_pi_page){.vpn = vpn, .pfn = pfn & MS_PM_PFN_MASK, .marked = 0, .reg = reg};
    return MS_OK;
}

ms_err ms_pi_open(int dirfd, const char *name, int *fd)
{
    *fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
    if (*fd >= 0)
        return MS_OK;
    return errno == ENOENT ? MS_ERR_UNSUPPORTED : ms_err_from_errno(errno);
}

static int by_pfn(const void *a, const void *b)
{
    uint64_t x = ((const ms_pi_page *)a)->pfn, y = ((const ms_pi_page *)b)->pfn;
    return (x > y) - (x < y);
}

static int by_vpn(const void *a, const void *b)
{
    uint64_t x = ((const ms_pi_page *)a)->vpn, y = ((const ms_pi_page *)b)->vpn;
    return (x > y) - (x < y);
}

/* qsort's array must not be NULL, even when empty. */
static void sort_pages(ms_pi_set *s, int (*cmp)(const void *, const void *))
{
    if (s->n > 1)
        qsort(s->p, s->n, sizeof *s->p, cmp);
}

/* ---- pagemap ---------------------------------------------------------------------------------- */

/* <dirfd>/pagemap and a buffer of PI_BATCH entries for it, both the caller's to release. */
static ms_err pagemap_open(int dirfd, int *pmfd, uint64_t **e)
{
    *pmfd = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
    if (*pmfd < 0)
        return errno == ESRCH ? ms_pid_no_mm_err(dirfd) : ms_err_from_errno(errno);
    *e = malloc(PI_BATCH * sizeof **e);
    return *e ? MS_OK : MS_ERR_NOMEM;
}

static ms_err read_entries(int pmfd, int dirfd, uint64_t vpn, size_t n, uint64_t *e, size_t *got)
{
    size_t have = 0;
    ms_err rc = ms_pread_full(pmfd, e, n * 8, (off_t)(vpn * 8), &have);
    if (rc != MS_OK && errno == ESRCH)
        rc = ms_pid_no_mm_err(dirfd);
    *got = have / 8;
    return rc;
}

/* Adds the present pages of [start, end) that lie in regions, from *ri on (both ascending). */
static ms_err collect_range(int pmfd, int dirfd, uint64_t start, uint64_t end, const ms_region *regs,
                            size_t nregs, size_t *ri, uint64_t *e, ms_pi_set *s)
{
    uint64_t ps = s->page_size;
    for (uint64_t vpn = start / ps; vpn < end / ps;) {
        size_t want = end / ps - vpn > PI_BATCH ? PI_BATCH : (size_t)(end / ps - vpn), got;
        ms_err rc = read_entries(pmfd, dirfd, vpn, want, e, &got);
        if (rc != MS_OK)
            return rc;
        if (got == 0)   /* past the address space's end */
            return MS_OK;
        for (size_t k = 0; k < got; k++) {
            if (!(e[k] & MS_PM_PRESENT))
                continue;
            uint64_t addr = (vpn + k) * ps, pfn = e[k] & MS_PM_PFN_MASK;
            while (*ri < nregs && regs[*ri].end <= addr)
                (*ri)++;
            if (*ri == nregs)
                return MS_OK;
            if (addr < regs[*ri].start)
                continue;
            if (pfn == 0)   /* the kernel hides frames from a reader without CAP_SYS_ADMIN */
                return MS_ERR_PERM;
            rc = ms_pi_add(s, vpn + k, pfn, (uint32_t)*ri);
            if (rc != MS_OK)
                return rc;
        }
        vpn += got;
    }
    return MS_OK;
}

ms_err ms_pi_collect(int dirfd, const ms_region *regs, size_t nregs, ms_pi_set *s)
{
    ms_err rc = MS_OK;
    int pmfd = -1;
    uint64_t *e = NULL;
    ms_rss_scan scan;
    ms_rss_scan_init(&scan);
    if (nregs == 0)
        goto out;
    if (nregs > UINT32_MAX) {
        rc = MS_ERR_TOOBIG;
        goto out;
    }
    if ((rc = pagemap_open(dirfd, &pmfd, &e)) != MS_OK)
        goto out;
    /* The gate area ([vsyscall]) lies past the user address space, which pagemap covers. */
    size_t ri = 0, last = nregs;
    while (last > 0 && regs[last - 1].kind == MS_KIND_VSYSCALL)
        last--;
    if (last == 0)
        goto out;
    nregs = last;
    rc = ms_rss_scan_read(dirfd, regs[0].start, regs[nregs - 1].end, s->page_size, &scan);
    if (rc == MS_OK) {
        for (size_t k = 0; k < scan.n && rc == MS_OK; k++)
            rc = collect_range(pmfd, dirfd, scan.r[k].start, scan.r[k].end, regs, nregs, &ri, e, s);
    } else if (rc == MS_ERR_UNSUPPORTED) {
        /* No PAGEMAP_SCAN: every region's entries, read in batches. */
        rc = MS_OK;
        for (size_t g = 0; g < nregs && rc == MS_OK; g++)
            rc = collect_range(pmfd, dirfd, regs[g].start, regs[g].end, regs, nregs, &ri, e, s);
    }
out:
    ms_rss_scan_free(&scan);
    free(e);
    if (pmfd >= 0)
        close(pmfd);
    return rc;
}

ms_err ms_pi_recheck(int dirfd, ms_pi_set *s)
{
    ms_err rc = MS_OK;
    uint64_t *e = NULL;
    int pmfd = -1;
    if ((rc = pagemap_open(dirfd, &pmfd, &e)) != MS_OK)
        goto out;
    sort_pages(s, by_vpn);
    for (size_t i = 0; i < s->n;) {
        uint64_t base = s->p[i].vpn;
        size_t got;
        rc = read_entries(pmfd, dirfd, base, PI_BATCH, e, &got);
        if (rc != MS_OK)
            goto out;
        for (; i < s->n && s->p[i].vpn < base + PI_BATCH; i++) {
            uint64_t k = s->p[i].vpn - base;
            bool same = k < got && (e[k] & MS_PM_PRESENT) && (e[k] & MS_PM_PFN_MASK) == s->p[i].pfn;
            if (!same)
                s->p[i].marked = 0;
        }
    }
out:
    free(e);
    if (pmfd >= 0)
        close(pmfd);
    return rc;
}

/* ---- the bitmap ------------------------------------------------------------------------------- */

/* The pages p[i..*j) whose words form one run of consecutive words starting at p[i]'s, at most
 * PI_BATCH long; only pages with marked set when only_marked.  *nw: the run's length in words. */
static void word_run(const ms_pi_set *s, size_t i, bool only_marked, size_t *j, size_t *nw)
{
    uint64_t w0 = s->p[i].pfn / 64, last = w0;
    size_t k = i;
    for (; k < s->n; k++) {
        if (only_marked && !s->p[k].marked)
            continue;
        uint64_t w = s->p[k].pfn / 64;
        if (w > last + 1 || w - w0 >= PI_BATCH)
            break;
        last = w;
    }
    *j = k;
    *nw = (size_t)(last - w0 + 1);
}

static ms_err read_words(int fd, uint64_t w0, size_t nw, uint64_t *dst, size_t *got)
{
    size_t have = 0;
    ms_err rc = ms_pread_full(fd, dst, nw * 8, (off_t)(w0 * 8), &have);
    /* Past the last frame the kernel answers ENXIO: those words do not exist. */
    if (rc != MS_OK && errno == ENXIO)
        rc = MS_OK;
    *got = have / 8;
    return rc;
}

static ms_err write_words(int fd, uint64_t w0, size_t nw, const uint64_t *src)
{
    size_t done = 0, len = nw * 8;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)src + done, len - done, (off_t)(w0 * 8 + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? ms_err_from_errno(errno) : MS_ERR_IO;
        done += (size_t)n;
    }
    return MS_OK;
}

/* Reads the words of the run that starts at page i (see word_run) into w: *w0 the first word's
 * index, *got how many exist. */
static ms_err read_run(int fd, const ms_pi_set *s, size_t i, bool only_marked, uint64_t *w, size_t *j,
                       uint64_t *w0, size_t *got)
{
    size_t nw;
    *w0 = s->p[i].pfn / 64;
    word_run(s, i, only_marked, j, &nw);
    return read_words(fd, *w0, nw, w, got);
}

ms_err ms_pi_mark(int bitmap_fd, ms_pi_set *s, size_t *nmarked)
{
    ms_err rc = MS_OK;
    uint64_t *w = malloc(PI_BATCH * sizeof *w);
    *nmarked = 0;
    if (!w)
        return MS_ERR_NOMEM;
    sort_pages(s, by_pfn);
    for (size_t i = 0; i < s->n;) {
        size_t j, got;
        uint64_t w0;
        if ((rc = read_run(bitmap_fd, s, i, false, w, &j, &w0, &got)) != MS_OK)
            goto out;
        /* Words past the bitmap's end are neither written (that would grow a regular file) nor
         * marked. */
        for (size_t k = i; k < j; k++)
            if (s->p[k].pfn / 64 - w0 < got)
                w[s->p[k].pfn / 64 - w0] |= 1ull << (s->p[k].pfn % 64);
        if (got > 0) {
            rc = write_words(bitmap_fd, w0, got, w);
            if (rc == MS_OK)
                rc = read_words(bitmap_fd, w0, got, w, &got);
            if (rc != MS_OK)
                goto out;
        }
        for (size_t k = i; k < j; k++) {
            uint64_t off = s->p[k].pfn / 64 - w0;
            s->p[k].marked = off < got && (w[off] >> (s->p[k].pfn % 64)) & 1;
            *nmarked += s->p[k].marked;
        }
        i = j;
    }
out:
    free(w);
    return rc;
}

ms_err ms_pi_count(int bitmap_fd, ms_pi_set *s, size_t nregs, uint64_t *marked, uint64_t *referenced)
{
    ms_err rc = MS_OK;
    uint64_t *w = malloc(PI_BATCH * sizeof *w);
    for (size_t r = 0; r < nregs; r++)
        marked[r] = referenced[r] = 0;
    if (!w)
        return MS_ERR_NOMEM;
    sort_pages(s, by_pfn);
    for (size_t i = 0; i < s->n;) {
        if (!s->p[i].marked) {
            i++;
            continue;
        }
        size_t j, got;
        uint64_t w0;
        if ((rc = read_run(bitmap_fd, s, i, true, w, &j, &w0, &got)) != MS_OK)
            goto out;
        for (size_t k = i; k < j; k++) {
            const ms_pi_page *p = &s->p[k];
            uint64_t off = p->pfn / 64 - w0;
            if (!p->marked || off >= got || p->reg >= nregs)
                continue;
            marked[p->reg]++;
            referenced[p->reg] += !((w[off] >> (p->pfn % 64)) & 1);
        }
        i = j;
    }
out:
    free(w);
    return rc;
}
