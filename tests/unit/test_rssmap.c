/* test_rssmap.c - regions from PROCMAP_QUERY (against maps) and resident bytes per region from
 * PAGEMAP_SCAN (against smaps) of live processes: one holding still (every figure must equal smaps',
 * scanned whole or in slices behind a maps stream, or by the stream's reader thread), our own address space with more ranges than one
 * scan call returns (the resume rule) and a range cut by a slice, and a process remapping itself as
 * fast as it can (never an impossible answer, either way). */
#include "check.h"
#include "core/features.h"
#include "core/proc.h"
#include "core/procmap.h"
#include "core/rssmap.h"
#include "core/rstream.h"
#include "core/smaps.h"
#include "core/system.h"
#include "spawn.h"

#include <sys/mman.h>
#include <time.h>

static uint64_t ps, top;
static ms_procmap_gate gate;

static bool same_region(const ms_region *a, const ms_region *b)
{
    return a->start == b->start && a->end == b->end && memcmp(a->perms, b->perms, 4) == 0 &&
           a->offset == b->offset && a->inode == b->inode && a->dev_major == b->dev_major &&
           a->dev_minor == b->dev_minor && a->path_len == b->path_len &&
           memcmp(a->path, b->path, a->path_len) == 0 && a->deleted == b->deleted && a->kind == b->kind;
}

/* PROCMAP_QUERY's list is maps', region for region, [vsyscall] included. */
static void check_regions_equal_maps(int dirfd)
{
    ms_maps a, b;
    ms_maps_init(&a);
    ms_maps_init(&b);
    CHECK(ms_procmap_read(dirfd, &gate, &a, NULL) == MS_OK);
    CHECK(ms_maps_read(dirfd, &b) == MS_OK);
    CHECK_EQ_U64(a.nregions, b.nregions);
    for (size_t i = 0; i < a.nregions && i < b.nregions; i++)
        if (!same_region(&a.regions[i], &b.regions[i])) {
            CHECK(!"region differs from maps");
            fprintf(stderr, "  region %zu: %" PRIx64 "-%" PRIx64 " %.4s '%.*s' vs maps %" PRIx64 "-%" PRIx64 " %.4s '%.*s'\n",
                    i, a.regions[i].start, a.regions[i].end, a.regions[i].perms, (int)a.regions[i].path_len,
                    a.regions[i].path, b.regions[i].start, b.regions[i].end, b.regions[i].perms,
                    (int)b.regions[i].path_len, b.regions[i].path);
            break;
        }
    bool vsys = false;
    for (size_t i = 0; i < a.nregions; i++)
        vsys |= a.regions[i].kind == MS_KIND_VSYSCALL;
    if (gate.present)
        CHECK(vsys);
    ms_maps_free(&a);
    ms_maps_free(&b);
}

/* Every region's rss, huge and hugetlb equal smaps' figures for it; returns the THP bytes seen. */
static uint64_t check_rss_equals_smaps(int dirfd)
{
    ms_rssmap m;
    ms_smaps s;
    ms_rssmap_init(&m);
    ms_smaps_init(&s);
    uint64_t huge = 0;
    CHECK(ms_rssmap_read(dirfd, ps, &m) == MS_OK);
    CHECK(ms_smaps_read(dirfd, &s) == MS_OK);
    CHECK_EQ_U64(m.maps.nregions, s.maps.nregions);
    CHECK_EQ_U64(m.outside, 0);
    size_t bad = 0;
    for (size_t i = 0; i < m.maps.nregions && i < s.maps.nregions; i++) {
        const ms_region *g = &s.maps.regions[i];
        ms_region_rss want;
        size_t nf;
        const ms_smaps_field *f = ms_smaps_fields_of(&s, g, &nf);
        ms_region_rss_from_smaps(f, nf, &want);
        const ms_region_rss *got = &m.rss[i];
        huge += got->huge;
        if (got->rss != want.rss || got->huge != want.huge || got->hugetlb != want.hugetlb ||
            m.maps.regions[i].start != g->start) {
            if (bad++ < 5)
                fprintf(stderr, "  %" PRIx64 "-%" PRIx64 " '%.*s': rss %" PRIu64 "/%" PRIu64 " huge %" PRIu64 "/%" PRIu64
                        " hugetlb %" PRIu64 "/%" PRIu64 " (scan/smaps)\n", g->start, g->end, (int)g->path_len, g->path,
                        got->rss, want.rss, got->huge, want.huge, got->hugetlb, want.hugetlb);
        }
    }
    CHECK_EQ_U64(bad, 0);
    ms_rssmap_free(&m);
    ms_smaps_free(&s);
    return huge;
}

/* The streaming path the server takes: maps read as a stream (in blocks of `block`) and scanned a
 * block of regions at a time behind it; with `ahead`, the stream reads ahead on its thread from its
 * second block on, and that thread scans each block's regions (the server's path past maps' first
 * MiB).  Every region's figures equal smaps', whatever the slices; returns the scan calls made, and
 * in *on_thread (when not NULL) those made on the stream's thread. */
static size_t check_stream_equals_smaps(int dirfd, size_t block, bool ahead, size_t *on_thread)
{
    ms_smaps s;
    ms_rss_scan sc;
    ms_rstream *rs = NULL;
    ms_smaps_init(&s);
    ms_rss_scan_init(&sc);
    CHECK(ms_smaps_read(dirfd, &s) == MS_OK);
    CHECK(ms_rss_scan_open(dirfd, 0, top - ps, ps, &sc) == MS_OK);
    CHECK(ms_rstream_open(dirfd, "maps", ps, block, &rs) == MS_OK);
    size_t i = 0, bad = 0;
    while (rs) {
        const ms_region *g;
        ms_region_rss got, want;
        ms_err rc = ms_rss_scan_next(&sc, rs, &g, &got);
        CHECK(rc == MS_OK);
        if (rc != MS_OK || !g)
            break;
        if (ahead && i == 0)
            ms_rstream_read_ahead(rs);      /* after the first call, which ties the scan to the stream */
        if (i >= s.maps.nregions) {
            bad++;
            break;
        }
        size_t nf;
        const ms_region *w = &s.maps.regions[i++];
        const ms_smaps_field *f = ms_smaps_fields_of(&s, w, &nf);
        ms_region_rss_from_smaps(f, nf, &want);
        if ((got.rss != want.rss || got.huge != want.huge || got.hugetlb != want.hugetlb || g->start != w->start) &&
            bad++ < 5)
            fprintf(stderr, "  stream, block %zu: %" PRIx64 "-%" PRIx64 ": rss %" PRIu64 "/%" PRIu64 " huge %" PRIu64
                    "/%" PRIu64 " hugetlb %" PRIu64 "/%" PRIu64 " (scan/smaps)\n", block, w->start, w->end, got.rss,
                    want.rss, got.huge, want.huge, got.hugetlb, want.hugetlb);
    }
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(i, s.maps.nregions);
    CHECK_EQ_U64(ms_rss_scan_outside(&sc), 0);
    size_t calls = sc.calls;
    if (on_thread)
        *on_thread = sc.ahead_calls;
    ms_rstream_close(rs);
    ms_rss_scan_free(&sc);
    ms_smaps_free(&s);
    return calls;
}

static void test_still_subject(void)
{
    char dir[] = "/tmp/ms-rssmap-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    subject s;
    const char *args[] = {"--pages", "300", "--write", "100", "--read", "50", "--regions", "200",
                          "--thp", "8M", "--shared", "16", "--memfd", "1M", "--file-dir", dir,
                          "--heap", "4M", "--heap-write", "1M", NULL};
    if (spawn_subject(&s, args) != 0) {
        CHECK(!"subject did not start");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);
    check_regions_equal_maps(dirfd);
    uint64_t huge = check_rss_equals_smaps(dirfd);
    /* 256-byte blocks: a slice every region the classifier looks ahead (16), across the subject's
     * resident ranges */
    size_t calls = check_stream_equals_smaps(dirfd, 256, false, NULL);
    fprintf(stderr, "stream in 256-byte blocks: %zu scan calls\n", calls);
    CHECK(calls > 5);
    /* in the default 32 KiB blocks the subject's maps (~25 KB) is read whole before the first
     * slice, though the kernel gives a page per read(): one slice, the empty probe of the open
     * and the tail past the last region */
    calls = check_stream_equals_smaps(dirfd, 0, false, NULL);
    fprintf(stderr, "stream in default blocks: %zu scan calls\n", calls);
    CHECK(calls <= 3);
    if (huge == 0)
        CHECK_SKIP("the kernel gave the subject's MADV_HUGEPAGE region no huge page (THP %s)",
                   "disabled or fragmented memory");
    else
        CHECK(huge >= (2u << 20));
    close(dirfd);
    stop_subject(&s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* A subject whose maps (~250 KB) is read ahead on the stream's thread, which scans each block it
 * reads: the figures are smaps' still, region for region, and that thread made scan calls. */
static void test_ahead_subject(void)
{
    subject s;
    const char *args[] = {"--pages", "300", "--write", "100", "--read", "50", "--regions", "3000",
                          "--heap", "16M", "--heap-write", "4M", "--thp", "4M", NULL};
    if (spawn_subject(&s, args) != 0) {
        CHECK(!"subject did not start");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);
    for (size_t block = 256; block <= 32768; block *= 128) {
        size_t on_thread = 0, calls = check_stream_equals_smaps(dirfd, block, true, &on_thread);
        fprintf(stderr, "stream read ahead after a %zu-byte block: %zu scan calls, %zu on its thread\n", block,
                calls, on_thread);
        CHECK(on_thread > 0);
    }
    close(dirfd);
    stop_subject(&s);
}

/* Our own memory: 6,000 separate resident pages in one region are more ranges than one scan call
 * returns, so the resume rule is exercised and the count must be exact. */
static void test_many_ranges(void)
{
    const uint64_t pages = 12000;
    unsigned char *raw = mmap(NULL, (pages + 2) * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(raw != MAP_FAILED);
    if (raw == MAP_FAILED)
        return;
    /* guard pages on both sides: the region cannot merge with a neighbour */
    mprotect(raw, ps, PROT_NONE);
    mprotect(raw + (pages + 1) * ps, ps, PROT_NONE);
    unsigned char *a = raw + ps;
    madvise(a, pages * ps, MADV_NOHUGEPAGE);
    for (uint64_t i = 0; i < pages; i += 2)
        a[i * ps] = 1;
    int dirfd;
    CHECK(ms_pid_open(getpid(), &dirfd) == MS_OK);
    ms_rssmap m;
    ms_rssmap_init(&m);
    CHECK(ms_rssmap_read(dirfd, ps, &m) == MS_OK);
    long i = ms_maps_find(m.maps.regions, m.maps.nregions, (uint64_t)(uintptr_t)a);
    CHECK(i >= 0);
    if (i >= 0) {
        CHECK_EQ_U64(m.maps.regions[i].start, (uint64_t)(uintptr_t)a);
        CHECK_EQ_U64(m.rss[i].rss, pages / 2 * ps);
    }
    CHECK(m.scan_calls >= 2);
    ms_rssmap_free(&m);
    /* The count from two slices, the first ending inside a three-page range (pages 6000-6002 once
     * 6001 is written too): the two halves of the range cut there are one range again. */
    a[(pages / 2 + 1) * ps] = 1;
    ms_rss_scan sc;
    ms_rss_scan_init(&sc);
    uint64_t at = (uint64_t)(uintptr_t)a, cut = at + (pages / 2 + 1) * ps;
    CHECK(ms_rss_scan_open(dirfd, at, at + pages * ps, ps, &sc) == MS_OK);
    CHECK(ms_rss_scan_to(&sc, cut) == MS_OK);
    CHECK_EQ_U64(sc.next, cut);
    CHECK(ms_rss_scan_to(&sc, UINT64_MAX) == MS_OK);
    CHECK_EQ_U64(sc.next, at + pages * ps);
    ms_region g = {.start = at, .end = at + pages * ps};
    ms_region_rss v;
    CHECK(ms_rss_scan_region(&sc, &g, &v) == MS_OK);
    CHECK_EQ_U64(v.rss, (pages / 2 + 1) * ps);
    CHECK_EQ_U64(sc.n, pages / 2 - 1);
    CHECK_EQ_U64(ms_rss_scan_outside(&sc), 0);
    ms_rss_scan_free(&sc);
    close(dirfd);
    munmap(raw, (pages + 2) * ps);
}

/* Ranges spanning regions and gaps are split exactly; what lies in no region is left over. */
static void test_clip(void)
{
    const ms_rss_range r[3] = {{0x0, 0x2000, false}, {0x2000, 0x4000, true}, {0x4800, 0x9800, false}};
    const uint64_t g[3][2] = {{0x1000, 0x3000}, {0x3000, 0x5000}, {0x8000, 0x9000}};
    ms_region_rss v[3];
    memset(v, 0, sizeof v);
    size_t cur = 0;
    uint64_t given = 0;
    for (int i = 0; i < 3; i++) {
        ms_rss_ranges_clip(r, 3, &cur, g[i][0], g[i][1], &v[i]);
        given += v[i].rss;
    }
    CHECK_EQ_U64(v[0].rss, 0x2000);
    CHECK_EQ_U64(v[0].huge, 0x1000);
    CHECK_EQ_U64(v[1].rss, 0x1800);
    CHECK_EQ_U64(v[1].huge, 0x1000);
    CHECK_EQ_U64(v[2].rss, 0x1000);
    CHECK_EQ_U64(v[2].huge, 0);
    CHECK_EQ_U64(0x9000 - given, 0x1000 + 0x3000 + 0x800);   /* before, gap, after */
    CHECK_EQ_U64(cur, 2);
}

/* The streaming path over a changing process, in small blocks (many slices, each a moment after
 * the lines it covers were read): the impossible answers it gave, 0 or 1. */
static unsigned stream_impossible(int dirfd, bool ahead)
{
    ms_rss_scan sc;
    ms_rstream *rs = NULL;
    ms_rss_scan_init(&sc);
    ms_err rc = ms_rss_scan_open(dirfd, 0, top - ps, ps, &sc);
    if (rc == MS_OK)
        rc = ms_rstream_open(dirfd, "maps", ps, 1024, &rs);
    uint64_t last = 0;
    bool ok = rc == MS_OK;
    while (ok) {
        const ms_region *g;
        ms_region_rss v;
        if ((rc = ms_rss_scan_next(&sc, rs, &g, &v)) != MS_OK || !g)
            break;
        ok = g->start < g->end && g->start >= last && v.rss + v.hugetlb <= g->end - g->start && v.huge <= v.rss;
        last = g->end;
        if (ahead && last && !ms_rstream_reading_ahead(rs))
            ms_rstream_read_ahead(rs);
    }
    if (!ok || rc != MS_OK)
        fprintf(stderr, "  stream: %s\n", rc != MS_OK ? ms_strerror(rc) : "an impossible region");
    ms_rstream_close(rs);
    ms_rss_scan_free(&sc);
    return ok && rc == MS_OK ? 0 : 1;
}

/* A process remapping pieces of itself in a tight loop: whatever moment each walk saw, every region
 * is in order, and holds no more resident bytes than its size. */
static void test_churn(void)
{
    subject s;
    const char *args[] = {"--churn", "4096", NULL};
    if (spawn_subject_opt(&s, args, 0) != 0) {
        CHECK(!"subject did not start");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned reads = 0, bad = 0, changed = 0;
    uint64_t churn_rss = 0;
    do {
        ms_rssmap m;
        ms_rssmap_init(&m);
        ms_err rc = ms_rssmap_read(dirfd, ps, &m);
        if (rc != MS_OK) {
            bad++;
            fprintf(stderr, "  read %u: %s\n", reads, ms_strerror(rc));
        }
        for (size_t i = 0; rc == MS_OK && i < m.maps.nregions; i++) {
            const ms_region *g = &m.maps.regions[i];
            bool ok = g->start < g->end && (i == 0 || m.maps.regions[i - 1].end <= g->start) &&
                      m.rss[i].rss + m.rss[i].hugetlb <= g->end - g->start && m.rss[i].huge <= m.rss[i].rss;
            if (!ok && bad++ < 5)
                fprintf(stderr, "  impossible: %" PRIx64 "-%" PRIx64 " rss %" PRIu64 "\n", g->start, g->end, m.rss[i].rss);
            churn_rss += m.rss[i].rss;
        }
        changed += m.outside > 0;
        reads++;
        ms_rssmap_free(&m);
        bad += stream_impossible(dirfd, false);
        bad += stream_impossible(dirfd, true);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
    fprintf(stderr, "churn: %u reads, %u saw the process change between the walks\n", reads, changed);
    CHECK(reads >= 10);
    CHECK_EQ_U64(bad, 0);
    CHECK(churn_rss > 0);
    close(dirfd);
    stop_subject(&s);
}

int main(void)
{
    ps = (uint64_t)sysconf(_SC_PAGESIZE);
    ms_sysinfo si;
    CHECK(ms_sysinfo_read(&si) == MS_OK);
    top = si.user_space_top;
    ms_features f;
    ms_features_probe(&f);
    if (!f.procmap_query || !f.pagemap_scan) {
        CHECK_SKIP("this kernel lacks %s", !f.procmap_query ? "PROCMAP_QUERY" : "PAGEMAP_SCAN");
        return check_done();
    }
    ms_procmap_gate_probe(&gate);
    test_clip();
    test_still_subject();
    test_ahead_subject();
    test_many_ranges();
    test_churn();
    return check_done();
}
