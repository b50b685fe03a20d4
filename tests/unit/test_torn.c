/* test_torn.c - maps and smaps read while the process remaps: torn files are detected, re-read and,
 * as a last resort, cut back to their consistent part (core/maps.h, ms_maps_torn).
 *
 * The fixtures (tests/fixtures/torn/README.md) are real torn reads of a churning subject; the live
 * part reads a churning subject a few hundred times and never sees an overlap. */
#include "check.h"
#include "core/maps.h"
#include "core/proc.h"
#include "core/smaps.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static bool disjoint(const ms_region *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].start >= r[i].end || (i && r[i].start < r[i - 1].end))
            return false;
    return true;
}

static void test_fixture(const char *fixtures)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/torn", fixtures);
    int dirfd = -1;
    CHECK(ms_dir_open(path, &dirfd) == MS_OK);

    /* the parser itself keeps what the kernel printed; the torn region is there */
    ms_maps m;
    ms_maps_init(&m);
    CHECK(ms_read_file_at(dirfd, "maps", &m.buf) == MS_OK && ms_maps_parse(&m) == MS_OK);
    CHECK_EQ_U64(m.nregions, 197);
    CHECK(ms_maps_torn(m.regions, m.nregions));
    CHECK_EQ_U64(m.regions[13].start, 0x7fdc2c415000ULL);
    CHECK_EQ_U64(m.regions[12].end, 0x7fdc2c419000ULL);
    ms_maps_free(&m);

    /* the reader: a file that stays torn through every re-read is cut to its consistent part */
    ms_maps_init(&m);
    CHECK(ms_maps_read(dirfd, &m) == MS_OK);
    CHECK_EQ_U64(m.nregions, 196);
    CHECK(!ms_maps_torn(m.regions, m.nregions) && disjoint(m.regions, m.nregions));
    CHECK_EQ_U64(m.regions[12].end, 0x7fdc2c419000ULL);
    CHECK(m.regions[13].start >= 0x7fdc2c419000ULL);
    ms_maps_free(&m);

    ms_smaps s;
    ms_smaps_init(&s);
    CHECK(ms_smaps_read(dirfd, &s) == MS_OK);
    CHECK_EQ_U64(s.maps.nregions, 201);
    CHECK(disjoint(s.maps.regions, s.maps.nregions));
    /* totals over what is kept add up region by region */
    ms_smaps_totals t;
    ms_smaps_totals_of(&s, 0, s.maps.nregions, &t);
    uint64_t size = 0;
    for (size_t i = 0; i < s.maps.nregions; i++)
        size += s.maps.regions[i].end - s.maps.regions[i].start;
    CHECK_EQ_U64(t.v[MS_SF_SIZE], size);
    ms_smaps_free(&s);
    close(dirfd);

    /* drop_torn on small hand-made cases: empty, equal, nested, and a run of overlaps */
    ms_region r[6];
    memset(r, 0, sizeof r);
    uint64_t se[6][2] = {{0x1000, 0x3000}, {0x2000, 0x4000}, {0x3000, 0x3000}, {0x3000, 0x5000},
                         {0x1000, 0x2000}, {0x6000, 0x7000}};
    for (int i = 0; i < 6; i++)
        r[i].start = se[i][0], r[i].end = se[i][1];
    CHECK(ms_maps_torn(r, 6));
    ms_region r2[6];
    memcpy(r2, r, sizeof r);
    size_t k = ms_maps_drop_torn(r, 6, NULL, 0);
    CHECK_EQ_U64(k, 3);
    CHECK(r[0].start == 0x1000 && r[1].start == 0x3000 && r[1].end == 0x5000 && r[2].start == 0x6000);
    /* an array beside the regions (smaps' extras) loses the same elements */
    ms_smaps_extra x[6];
    for (uint32_t i = 0; i < 6; i++)
        x[i] = (ms_smaps_extra){.field_first = i};
    CHECK_EQ_U64(ms_maps_drop_torn(r2, 6, x, sizeof x[0]), 3);
    CHECK(x[0].field_first == 0 && x[1].field_first == 3 && x[2].field_first == 5);
    CHECK(!ms_maps_torn(r, k));
    CHECK(!ms_maps_torn(r, 0));
}

/* A live churning subject: a few hundred reads, each one sorted and disjoint. */
static void test_live(void)
{
    const char *bin = getenv("MEMSCOPE_SUBJECT");
    if (!bin) {
        fprintf(stderr, "MEMSCOPE_SUBJECT not set\n");
        check_fail_++;
        return;
    }
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(bin, bin, "--churn", "1024", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    char line[2048];
    ssize_t n = read(out[0], line, sizeof line - 1);   /* its JSON line: the churn has started */
    CHECK(n > 0);
    int dirfd = -1;
    CHECK(ms_pid_open(pid, &dirfd) == MS_OK);
    int bad = 0;
    for (int i = 0; i < 300 && dirfd >= 0; i++) {
        ms_maps m;
        ms_maps_init(&m);
        if (ms_maps_read(dirfd, &m) != MS_OK || !disjoint(m.regions, m.nregions))
            bad++;
        ms_maps_free(&m);
        if (i % 3 == 0) {
            ms_smaps s;
            ms_smaps_init(&s);
            if (ms_smaps_read(dirfd, &s) != MS_OK || !disjoint(s.maps.regions, s.maps.nregions))
                bad++;
            ms_smaps_free(&s);
        }
    }
    CHECK_EQ_U64(bad, 0);
    if (dirfd >= 0)
        close(dirfd);
    close(in[1]);
    close(out[0]);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_torn FIXTURES_DIR\n");
        return 2;
    }
    test_fixture(argv[1]);
    test_live();
    return check_done();
}
