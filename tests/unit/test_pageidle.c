/* test_pageidle.c - the idle-page reader/writer against a regular file standing in for
 * /sys/kernel/mm/page_idle/bitmap (which this kernel may lack): marking sets exactly the pages'
 * bits, each word read-modify-written, a page that does not take the mark (/dev/zero reads every
 * bit back as 0) counts neither way, a cleared bit counts as referenced in its region, a page whose
 * frame changed or vanished during the interval is dropped, and the bounds (a PFN past the file's
 * end, an empty process, the page cap).  PFNs of our own pages come from the real pagemap. */
#include "check.h"
#include "core/features.h"
#include "core/pageidle.h"
#include "core/pagemap.h"
#include "core/proc.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t ps;

static int temp_bitmap(size_t words, const uint64_t *init)
{
    char path[] = "/tmp/ms_pageidle_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    if (ftruncate(fd, (off_t)(words * 8)) != 0 ||
        (init && pwrite(fd, init, words * 8, 0) != (ssize_t)(words * 8))) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint64_t word_at(int fd, uint64_t w)
{
    uint64_t v = 0xdeadbeefULL;
    if (pread(fd, &v, 8, (off_t)(w * 8)) != 8)
        return 0xdeadbeefULL;
    return v;
}

static void set_word(int fd, uint64_t w, uint64_t v)
{
    CHECK(pwrite(fd, &v, 8, (off_t)(w * 8)) == 8);
}

static off_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* Exactly our bits are or-ed in, others' bits survive, a page past the end is neither marked nor
 * written; then bits cleared "by an access" count as referenced in the page's region. */
static void test_mark_and_count(void)
{
    uint64_t init[4] = {0, 1ull << 5, 0, 0x8000000000000000ull};
    int fd = temp_bitmap(4, init);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    ms_pi_set s;
    ms_pi_set_init(&s);
    /* region 0: pfns 3, 64, 65; region 1: 130, 200 and 300 (word 4: past the 4-word file) */
    const uint64_t pfn[] = {130, 3, 300, 65, 200, 64};
    const uint32_t reg[] = {1, 0, 1, 0, 1, 0};
    for (size_t k = 0; k < 6; k++)
        CHECK(ms_pi_add(&s, 1000 + k, pfn[k], reg[k]) == MS_OK);
    size_t nm = 99;
    CHECK(ms_pi_mark(fd, &s, &nm) == MS_OK);
    CHECK_EQ_U64(nm, 5);
    CHECK_EQ_U64(word_at(fd, 0), 1ull << 3);
    CHECK_EQ_U64(word_at(fd, 1), (1ull << 0) | (1ull << 1) | (1ull << 5));
    CHECK_EQ_U64(word_at(fd, 2), 1ull << 2);
    CHECK_EQ_U64(word_at(fd, 3), 0x8000000000000000ull | (1ull << 8));
    CHECK_EQ_U64(file_size(fd), 32);
    for (size_t k = 0; k < s.n; k++)
        CHECK_EQ_U64(s.p[k].marked, s.p[k].pfn != 300);

    uint64_t m[2], r[2];
    CHECK(ms_pi_count(fd, &s, 2, m, r) == MS_OK);
    CHECK_EQ_U64(m[0], 3);
    CHECK_EQ_U64(m[1], 2);
    CHECK_EQ_U64(r[0], 0);
    CHECK_EQ_U64(r[1], 0);
    /* pfn 65 and 200 were accessed: the kernel cleared their bits */
    set_word(fd, 1, (1ull << 0) | (1ull << 5));
    set_word(fd, 3, 0x8000000000000000ull);
    CHECK(ms_pi_count(fd, &s, 2, m, r) == MS_OK);
    CHECK_EQ_U64(m[0], 3);
    CHECK_EQ_U64(r[0], 1);
    CHECK_EQ_U64(m[1], 2);
    CHECK_EQ_U64(r[1], 1);
    /* a region index the caller does not count is skipped, not written past */
    CHECK(ms_pi_count(fd, &s, 1, m, r) == MS_OK);
    CHECK_EQ_U64(m[0], 3);
    ms_pi_set_free(&s);
    CHECK(s.p == NULL && s.n == 0);
    close(fd);
}

/* More consecutive words than one batch, and a gap: every word gets its bit, nothing between. */
static void test_runs(void)
{
    const size_t words = 1300;
    int fd = temp_bitmap(words, NULL);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    ms_pi_set s;
    ms_pi_set_init(&s);
    for (uint64_t w = 0; w < 1100; w++)
        CHECK(ms_pi_add(&s, w, w * 64 + (w % 64), 0) == MS_OK);
    CHECK(ms_pi_add(&s, 5000, 1250 * 64 + 63, 0) == MS_OK);
    size_t nm = 0;
    CHECK(ms_pi_mark(fd, &s, &nm) == MS_OK);
    CHECK_EQ_U64(nm, 1101);
    size_t bad = 0;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t want = w < 1100 ? 1ull << (w % 64) : w == 1250 ? 1ull << 63 : 0;
        bad += word_at(fd, w) != want;
    }
    CHECK_EQ_U64(bad, 0);
    ms_pi_set_free(&s);
    close(fd);
}

/* /dev/zero takes every write and reads back 0: like frames that are not LRU user pages, nothing
 * takes the mark, and nothing is counted either way. */
static void test_not_taken(void)
{
    int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    ms_pi_set s;
    ms_pi_set_init(&s);
    CHECK(ms_pi_add(&s, 1, 7, 0) == MS_OK);
    CHECK(ms_pi_add(&s, 2, 640, 0) == MS_OK);
    size_t nm = 99;
    CHECK(ms_pi_mark(fd, &s, &nm) == MS_OK);
    CHECK_EQ_U64(nm, 0);
    uint64_t m = 9, r = 9;
    CHECK(ms_pi_count(fd, &s, 1, &m, &r) == MS_OK);
    CHECK_EQ_U64(m, 0);
    CHECK_EQ_U64(r, 0);
    ms_pi_set_free(&s);
    close(fd);
}

static void test_bounds(void)
{
    ms_pi_set s;
    ms_pi_set_init(&s);
    s.max_pages = 2;
    CHECK(ms_pi_add(&s, 1, 1, 0) == MS_OK);
    CHECK(ms_pi_add(&s, 2, 2, 0) == MS_OK);
    CHECK(ms_pi_add(&s, 3, 3, 0) == MS_ERR_TOOBIG);
    CHECK_EQ_U64(s.n, 2);
    ms_pi_set_free(&s);

    /* an empty process: nothing collected, marked or counted */
    int dirfd = -1, fd = temp_bitmap(1, NULL);
    CHECK(ms_pid_open(getpid(), &dirfd) == MS_OK);
    ms_pi_set_init(&s);
    CHECK(ms_pi_collect(dirfd, NULL, 0, &s) == MS_OK);
    CHECK_EQ_U64(s.n, 0);
    size_t nm = 9;
    CHECK(ms_pi_mark(fd, &s, &nm) == MS_OK);
    CHECK_EQ_U64(nm, 0);
    CHECK(ms_pi_recheck(dirfd, &s) == MS_OK);
    ms_pi_set_free(&s);
    CHECK_EQ_U64(word_at(fd, 0), 0);

    int nfd = -1;
    CHECK(ms_pi_open(AT_FDCWD, "/nonexistent/page_idle/bitmap", &nfd) == MS_ERR_UNSUPPORTED);
    CHECK(nfd < 0);
    if (dirfd >= 0)
        close(dirfd);
    if (fd >= 0)
        close(fd);
}

/* Our own pages, with their real frames: collection finds each present page once with the PFN
 * pagemap gives for it (read independently with ms_pm_frames), and a page whose frame changed or
 * that was unmapped during the interval is dropped by the recheck. */
static void test_own_pages(const ms_features *ft)
{
    if (!ft->pfn_readable) {
        CHECK_SKIP("pagemap hides PFNs from this process (no CAP_SYS_ADMIN): own pages not collected");
        return;
    }
    int dirfd = -1;
    CHECK(ms_pid_open(getpid(), &dirfd) == MS_OK);
    unsigned char *a = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    if (a == MAP_FAILED || dirfd < 0)
        return;
    for (int k = 0; k < 4; k++)
        a[k * ps] = (unsigned char)(k + 1);    /* pages 4 and 5 stay absent */
    ms_region reg = {.start = (uint64_t)(uintptr_t)a, .end = (uint64_t)(uintptr_t)a + 6 * ps};
    ms_pi_set s;
    ms_pi_set_init(&s);
    CHECK(ms_pi_collect(dirfd, &reg, 1, &s) == MS_OK);
    CHECK_EQ_U64(s.n, 4);
    ms_pm_frame fr[4];
    CHECK(ms_pm_frames(dirfd, reg.start, 4, fr) == MS_OK);
    uint64_t maxpfn = 0;
    for (size_t k = 0; k < s.n && k < 4; k++) {
        CHECK_EQ_U64(s.p[k].vpn, reg.start / ps + k);
        CHECK(fr[k].pfn_known);
        CHECK_EQ_U64(s.p[k].pfn, fr[k].pfn);
        CHECK_EQ_U64(s.p[k].reg, 0);
        if (s.p[k].pfn > maxpfn)
            maxpfn = s.p[k].pfn;
    }
    int fd = temp_bitmap((size_t)(maxpfn / 64 + 1), NULL);
    CHECK(fd >= 0);
    size_t nm = 0;
    CHECK(ms_pi_mark(fd, &s, &nm) == MS_OK);
    CHECK_EQ_U64(nm, 4);
    uint64_t old2 = fr[2].pfn;
    /* page 2 gets another frame: a page of another mapping, alive (so on another frame) while page
     * 2 still is, is moved over it */
    unsigned char *b = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(b != MAP_FAILED);
    if (b != MAP_FAILED) {
        b[0] = 9;
        CHECK(mremap(b, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED, a + 2 * ps) == a + 2 * ps);
    }
    /* page 3 goes away */
    CHECK(munmap(a + 3 * ps, ps) == 0);
    CHECK(ms_pm_frames(dirfd, reg.start + 2 * ps, 1, fr) == MS_OK);
    CHECK(fr[0].pfn != old2);
    CHECK(ms_pi_recheck(dirfd, &s) == MS_OK);
    for (size_t k = 0; k < s.n; k++)
        CHECK_EQ_U64(s.p[k].marked, s.p[k].vpn - reg.start / ps < 2);
    uint64_t m, r;
    CHECK(ms_pi_count(fd, &s, 1, &m, &r) == MS_OK);
    CHECK_EQ_U64(m, 2);
    CHECK_EQ_U64(r, 0);
    /* page 0 accessed: its bit cleared */
    uint64_t p0 = 0;
    for (size_t k = 0; k < s.n; k++)
        if (s.p[k].vpn == reg.start / ps)
            p0 = s.p[k].pfn;
    uint64_t w = word_at(fd, p0 / 64) & ~(1ull << (p0 % 64));
    set_word(fd, p0 / 64, w);
    CHECK(ms_pi_count(fd, &s, 1, &m, &r) == MS_OK);
    CHECK_EQ_U64(m, 2);
    CHECK_EQ_U64(r, 1);
    ms_pi_set_free(&s);
    munmap(a, 3 * ps);
    munmap(a + 4 * ps, 2 * ps);
    if (fd >= 0)
        close(fd);
    close(dirfd);
}

int main(void)
{
    ps = (uint64_t)sysconf(_SC_PAGESIZE);
    ms_features ft;
    ms_features_probe(&ft);
    test_mark_and_count();
    test_runs();
    test_not_taken();
    test_bounds();
    test_own_pages(&ft);
    return check_done();
}
