/* test_rstream.c - the streaming region reader gives what the whole-file readers give.
 *
 * Every fixture with a maps or smaps is read both ways and compared region by region, field by
 * field, with block sizes from 256 bytes (nearly every line crosses a refill, and every region
 * grows the buffer) to the default; the 10,000-region ones (7 MB of smaps) are read ahead on the
 * stream's own thread past their first MiB, and every fixture once more with the reader thread
 * started right after open; maps' horizon must bound every region handed out.
 * Then a live subject with
 * 10,000 regions, whose regions and page counts must agree too (those of its own anonymous regions:
 * a shared file's move with the rest of the machine); and the errors: a refused or missing file
 * fails at open, a process gone by the end of the read is "no such process". */
#include "check.h"
#include "core/proc.h"
#include "core/rstream.h"
#include "core/smaps.h"
#include "unit/rstream_agree.h"
#include "unit/spawn.h"

#include <stdlib.h>

/* Reads dir/name both ways and compares; returns the number of regions (or -1 on a mismatch). */
static long compare_as(int dirfd, const char *label, const char *name, size_t block, bool live, bool ahead_now)
{
    rs_agreement a = rs_agree(dirfd, name, block,
                              (rs_agree_opts){.kinds = true, .file_fields = !live, .label = label, .ahead_now = ahead_now});
    bool same = rs_agreed(&a);
    if (same)
        check_pass_++;
    else {
        check_fail_++;
        fprintf(stderr, "FAILED: %s/%s, block %zu: %s vs %s, %zu vs %zu regions, %zu differ\n", label, name,
                block, ms_strerror(a.got), ms_strerror(a.want), a.regions, a.whole_regions, a.differ);
    }
    if (a.got == MS_OK)
        CHECK_EQ_U64(a.count, a.regions);
    /* past 1 MiB the file is read on a thread of the stream's own: the 7 MB ones take that path */
    if (a.got == MS_OK && strcmp(name, "smaps") == 0 && a.regions >= 10000)
        CHECK(a.ahead);
    /* asked to, the stream reads ahead from its first block, however small the file */
    if (a.got == MS_OK && ahead_now)
        CHECK(a.ahead);
    /* maps' horizon bounds every region handed out (a torn file's need not); smaps has none */
    if (strcmp(label, "torn") != 0 && a.past_horizon != 0) {
        CHECK_EQ_U64(a.past_horizon, 0);
        fprintf(stderr, "  %s/%s, block %zu: %zu regions handed out past the horizon\n", label, name, block,
                a.past_horizon);
    }
    return same ? (long)(a.want == MS_OK ? a.regions : 0) : -1;
}

static long compare(int dirfd, const char *label, const char *name, size_t block, bool live)
{
    return compare_as(dirfd, label, name, block, live, false);
}


static void fixtures(const char *base, const char *build)
{
    static const char *const cases[] = {"files", "thp", "hugetlb", "kthread", "exited",
                                        "unknown_field", "anon_name", "truncated", "torn"};
    static const size_t blocks[] = {256, 1000, 4096, 0};
    for (size_t c = 0; c < sizeof cases / sizeof *cases + 1; c++) {
        bool big = c == sizeof cases / sizeof *cases;
        if (big && !build) {
            CHECK(!"MEMSCOPE_BUILD_FIXTURES set (tests/CMakeLists.txt unpacks regions10k there)");
            continue;
        }
        const char *label = big ? "regions10k" : cases[c];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", big ? build : base, label);
        int fd = -1;
        if (ms_dir_open(path, &fd) != MS_OK) {
            CHECK(!"fixture opens");
            continue;
        }
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++)
            for (int sm = 0; sm < 2; sm++) {
                if (faccessat(fd, sm ? "smaps" : "maps", R_OK, 0) != 0)
                    continue;
                long n = compare(fd, label, sm ? "smaps" : "maps", blocks[b], false);
                if (big && b == 0)
                    CHECK(n == 10024 || n == 10022 || n >= 10000);
                CHECK(compare_as(fd, label, sm ? "smaps" : "maps", blocks[b], false, true) == n);
            }
        close(fd);
    }
}

/* The torn fixture has regions overlapping the one before: they are dropped as they come. */
static void torn(const char *base)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/torn", base);
    int fd = -1;
    if (ms_dir_open(path, &fd) != MS_OK) {
        CHECK(!"torn fixture opens");
        return;
    }
    ms_rstream *s = NULL;
    CHECK(ms_rstream_open(fd, "maps", 4096, 0, &s) == MS_OK);
    const ms_region *r;
    uint64_t last = 0;
    bool sorted = true;
    while (s && ms_rstream_next(s, &r, NULL, NULL) == MS_OK && r) {
        sorted &= r->start >= last && r->end > r->start;
        last = r->end;
    }
    CHECK(sorted);
    CHECK(s && ms_rstream_dropped(s) > 0);
    ms_rstream_close(s);
    close(fd);
}

static void errors(const char *base)
{
    char path[4096];
    int fd = -1;
    ms_rstream *s = NULL;
    snprintf(path, sizeof path, "%s/normal", base);      /* no maps file at all */
    CHECK(ms_dir_open(path, &fd) == MS_OK);
    CHECK(ms_rstream_open(fd, "smaps", 4096, 0, &s) == MS_ERR_NOENT && s == NULL);
    close(fd);
    /* exited: an empty maps and no stat, so the end of the read finds no process */
    snprintf(path, sizeof path, "%s/exited", base);
    CHECK(ms_dir_open(path, &fd) == MS_OK);
    CHECK(ms_rstream_open(fd, "maps", 4096, 0, &s) == MS_ERR_NOENT && s == NULL);
    close(fd);
    ms_rstream_close(NULL);
}

/* A live 10,000-region subject: the same regions both ways, and each region's Size and Rss. */
static void live(void)
{
    subject sub;
    if (spawn_subject(&sub, (const char *const[]){"--regions", "10000", NULL}) != 0) {
        CHECK(!"subject started");
        return;
    }
    int fd = -1;
    CHECK(ms_pid_open(sub.pid, &fd) == MS_OK);
    long n = compare(fd, "live", "smaps", 0, true);
    CHECK(n > 10000);
    CHECK(compare(fd, "live", "maps", 0, true) == n);
    close(fd);
    stop_subject(&sub);
}

/* Grouping by path as the stream hands regions out (copying paths, since a region's text does not
 * outlive the next call) gives what grouping the whole file does. */
static void grouped(const char *base)
{
    static const char *const cases[] = {"files", "thp", "hugetlb", "regions10k"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", base, cases[c]);
        int dirfd;
        if (ms_dir_open(dir, &dirfd) != MS_OK)
            continue;                       /* regions10k exists only once unpacked in the build */
        ms_smaps s;
        ms_smaps_init(&s);
        ms_smaps_group *want = NULL;
        size_t nwant = 0;
        CHECK(ms_smaps_read(dirfd, &s) == MS_OK);
        CHECK(ms_smaps_group_by_path(&s, &want, &nwant) == MS_OK);
        ms_smaps_grouper *g = NULL;
        ms_rstream *rs = NULL;
        CHECK(ms_smaps_grouper_new(true, &g) == MS_OK);
        CHECK(ms_rstream_open(dirfd, "smaps", 4096, 256, &rs) == MS_OK);
        for (;;) {
            const ms_region *r;
            const ms_smaps_field *f;
            size_t nf;
            ms_err rc = ms_rstream_next(rs, &r, &f, &nf);
            CHECK(rc == MS_OK);
            if (rc != MS_OK || !r)
                break;
            CHECK(ms_smaps_grouper_add(g, r, f, nf) == MS_OK);
        }
        size_t n;
        const ms_smaps_group *got = ms_smaps_grouper_groups(g, &n);
        CHECK(n == nwant && n > 0);
        for (size_t i = 0; i < n && i < nwant; i++) {
            CHECK(rs_span_eq(got[i].path, got[i].path_len, want[i].path, want[i].path_len));
            CHECK(got[i].nregions == want[i].nregions && got[i].size == want[i].size);
            CHECK(memcmp(&got[i].totals, &want[i].totals, sizeof got[i].totals) == 0);
        }
        ms_rstream_close(rs);
        ms_smaps_grouper_free(&g);
        CHECK(g == NULL);
        free(want);
        ms_smaps_free(&s);
        close(dirfd);
    }
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "tests/fixtures";
    fixtures(base, getenv("MEMSCOPE_BUILD_FIXTURES"));
    torn(base);
    errors(base);
    live();
    grouped(base);
    grouped(getenv("MEMSCOPE_BUILD_FIXTURES") ? getenv("MEMSCOPE_BUILD_FIXTURES") : base);
    return check_done();
}
