/* test_pssmap.c - a region's PSS from pagemap entries and kpagecount, on files written here in
 * their formats (8-byte entries at page number * 8, at frame number * 8): pages marked exclusive
 * count whole without a lookup, shared ones by their map count (0 and 1 count whole, as in smaps),
 * pages gone since the scan count nothing, ranges are clipped to the region, frames far apart,
 * close together and repeated all read right, runs longer than one read are split, and hidden
 * frames (0) are MS_ERR_PERM.  The live comparison with smaps is integration.fast's. */
#include "check.h"
#include "core/pagemap.h"
#include "core/pssmap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define PS 4096ULL
#define WHOLE (PS << 12)

static char dir[] = "/tmp/ms-pssmap-XXXXXX";

static int file_of(const char *name)
{
    char p[96];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    return fd;
}

static void put(int fd, uint64_t index, uint64_t v)
{
    CHECK(pwrite(fd, &v, 8, (off_t)(index * 8)) == 8);
}

/* The page at address page * PS: present, frame f, exclusive or not. */
static void page_at(int pm, uint64_t page, uint64_t f, bool excl)
{
    put(pm, page, MS_PM_PRESENT | f | (excl ? MS_PM_MMAP_EXCLUSIVE : 0));
}

static void test_counts(void)
{
    int pm = file_of("pagemap"), kc = file_of("kpagecount");
    /* region [0x100, 0x110) pages: 4 exclusive, 3 shared by 2, 2 by 3, one count 1, one count 0,
     * one gone (not present), one frame repeated (mapped twice here, count 4), the rest absent */
    for (uint64_t p = 0x100; p < 0x104; p++)
        page_at(pm, p, 0x9000 + p, true);
    const uint64_t shared2[] = {0x5000, 0x5001, 0x7fff0}, shared3[] = {0x5003, 0x20};
    for (int i = 0; i < 3; i++) {
        page_at(pm, 0x104 + (uint64_t)i, shared2[i], false);
        put(kc, shared2[i], 2);
    }
    for (int i = 0; i < 2; i++) {
        page_at(pm, 0x107 + (uint64_t)i, shared3[i], false);
        put(kc, shared3[i], 3);
    }
    page_at(pm, 0x109, 0x6000, false);
    put(kc, 0x6000, 1);
    page_at(pm, 0x10a, 0x6001, false);             /* count 0: unmapped between the two reads */
    put(pm, 0x10b, 0);                              /* gone since the scan */
    page_at(pm, 0x10c, 0x8000, false);
    page_at(pm, 0x10d, 0x8000, false);
    put(kc, 0x8000, 4);
    ms_pss_pages p;
    ms_pss_pages_init(&p, pm, kc, PS);
    /* the scan's ranges: one across the region's start, one inside, one past its end */
    ms_rss_range r[] = {{0xf0 * PS, 0x10c * PS, false}, {0x10c * PS, 0x10e * PS, false}, {0x10e * PS, 0x200 * PS, false}};
    uint64_t fp;
    CHECK(ms_pss_pages_of(&p, r, 3, 0x100 * PS, 0x10e * PS, &fp) == MS_OK);
    uint64_t want = 4 * WHOLE + 3 * (WHOLE / 2) + 2 * (WHOLE / 3) + WHOLE + WHOLE + 2 * (WHOLE / 4);
    CHECK_EQ_U64(fp, want);
    /* whole kB, rounded down as smaps prints them */
    CHECK_EQ_U64(ms_pss_bytes(fp), ((want >> 12) >> 10) << 10);
    CHECK_EQ_U64(ms_pss_bytes(WHOLE / 3), 1024);
    /* one read for the neighbouring frames 0x5000..0x5003, one each for the others: 0x20, 0x6000
     * with 0x6001, 0x8000 (twice, one read), 0x7fff0 */
    CHECK_EQ_U64(p.count_reads, 5);
    /* a region past every range, and an empty part: nothing, no reads */
    size_t before = p.pm_reads;
    CHECK(ms_pss_pages_of(&p, r, 3, 0x300 * PS, 0x310 * PS, &fp) == MS_OK);
    CHECK_EQ_U64(fp, 0);
    CHECK_EQ_U64(p.pm_reads, before);
    ms_pss_pages_free(&p);
    close(pm);
    close(kc);
}

static void test_long_runs(void)
{
    /* 3,000 shared pages on neighbouring frames with every other count 2 and 3: more pagemap entries
     * than one read holds would need 8,192; more frames than one kpagecount read covers (512) */
    int pm = file_of("pagemap2"), kc = file_of("kpagecount2");
    const uint64_t n = 3000, base = 0x40000;
    uint64_t want = 0;
    for (uint64_t i = 0; i < n; i++) {
        page_at(pm, 0x1000 + i, base + i, false);
        put(kc, base + i, 2 + i % 2);
        want += WHOLE / (2 + i % 2);
    }
    /* and 10,000 exclusive pages after them, over two pagemap reads */
    for (uint64_t i = 0; i < 10000; i++)
        page_at(pm, 0x1000 + n + i, 0x100000 + i, true);
    want += 10000 * WHOLE;
    ms_pss_pages p;
    ms_pss_pages_init(&p, pm, kc, PS);
    ms_rss_range r[] = {{0x1000 * PS, (0x1000 + n + 10000) * PS, false}};
    uint64_t fp;
    CHECK(ms_pss_pages_of(&p, r, 1, 0, UINT64_MAX, &fp) == MS_OK);
    CHECK_EQ_U64(fp, want);
    CHECK_EQ_U64(p.pm_reads, 2);
    CHECK_EQ_U64(p.count_reads, (n + 511) / 512);
    ms_pss_pages_free(&p);
    close(pm);
    close(kc);
}

static void test_hidden_frames(void)
{
    int pm = file_of("pagemap3"), kc = file_of("kpagecount3");
    put(pm, 0x10, MS_PM_PRESENT | MS_PM_MMAP_EXCLUSIVE);   /* present, frame 0: hidden */
    ms_pss_pages p;
    ms_pss_pages_init(&p, pm, kc, PS);
    ms_rss_range r[] = {{0x10 * PS, 0x11 * PS, false}};
    uint64_t fp;
    CHECK(ms_pss_pages_of(&p, r, 1, 0, UINT64_MAX, &fp) == MS_ERR_PERM);
    ms_pss_pages_free(&p);
    close(pm);
    close(kc);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    test_counts();
    test_long_runs();
    test_hidden_frames();
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
