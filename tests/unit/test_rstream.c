/* test_rstream.c - the streaming region reader gives what the whole-file readers give.
 *
 * Every fixture with a maps or smaps is read both ways and compared region by region, field by
 * field, with block sizes from 256 bytes (nearly every line crosses a refill, and every region
 * grows the buffer) to the default; the 10,000-region ones (7 MB of smaps) are read ahead on the
 * stream's own thread past their first MiB.  Then a live subject with 10,000 regions, whose regions and
 * page counts must agree too (those of its own anonymous regions: a shared file's move with the
 * rest of the machine); and the errors: a refused or missing file fails at open, a
 * process gone by the end of the read is "no such process". */
#include "check.h"
#include "core/proc.h"
#include "core/rstream.h"
#include "core/smaps.h"
#include "unit/spawn.h"

#include <stdlib.h>

static bool span_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool same_region(const ms_region *a, const ms_region *b)
{
    return a->start == b->start && a->end == b->end && a->offset == b->offset &&
           a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
           strcmp(a->perms, b->perms) == 0 && a->deleted == b->deleted && a->kind == b->kind &&
           span_eq(a->path, a->path_len, b->path, b->path_len) &&
           (a->vmflags == NULL) == (b->vmflags == NULL) &&
           (!a->vmflags || span_eq(a->vmflags, a->vmflags_len, b->vmflags, b->vmflags_len)) &&
           a->kernel_page_size == b->kernel_page_size;
}

static bool same_field(const ms_smaps_field *a, const ms_smaps_field *b)
{
    return a->id == b->id && a->is_bytes == b->is_bytes && a->is_number == b->is_number &&
           a->value == b->value && span_eq(a->name, a->name_len, b->name, b->name_len) &&
           span_eq(a->raw, a->raw_len, b->raw, b->raw_len);
}

/* Reads dir/name both ways and compares; returns the number of regions (or -1 on a mismatch). */
static long compare(int dirfd, const char *label, const char *name, size_t block, bool live)
{
    bool smaps = strcmp(name, "smaps") == 0;
    ms_smaps whole;
    ms_smaps_init(&whole);
    ms_err want = smaps ? ms_smaps_read(dirfd, &whole) : ms_maps_read(dirfd, &whole.maps);
    ms_rstream *s = NULL;
    ms_err got = ms_rstream_open(dirfd, name, 4096, block, &s);
    size_t i = 0, bad = 0;
    while (got == MS_OK) {
        const ms_region *r;
        const ms_smaps_field *f;
        size_t nf;
        got = ms_rstream_next(s, &r, &f, &nf);
        if (got != MS_OK || !r)
            break;
        if (want != MS_OK)     /* the stream fails too, but only when it gets there */
            continue;
        if (i >= whole.maps.nregions) {
            bad++;
            break;
        }
        const ms_region *w = &whole.maps.regions[i];
        bool ok = same_region(r, w) && (smaps ? nf == w->field_count : nf == 0 && f == NULL);
        size_t k = 0;
        /* Live, a file mapping's page counts move whenever another process maps the same file
         * (Pss, Shared_Clean vs Private_Clean): compare the fields of the subject's own, anonymous
         * regions only. */
        while (ok && !(live && w->inode) && k < nf && (ok = same_field(&f[k], &whole.fields[w->field_first + k])))
            k++;
        if (!ok && bad++ < 3)
            fprintf(stderr, "  %s/%s block %zu: region %zu (%#llx %.*s, kinds %s %s) differs at field %zu\n",
                    label, name, block, i, (unsigned long long)w->start, (int)w->path_len, w->path,
                    ms_region_kind_name(r->kind), ms_region_kind_name(w->kind), k);
        i++;
    }
    char what[160];
    snprintf(what, sizeof what, "%s/%s, block %zu: same result (%s vs %s), %zu vs %zu regions, %zu differ",
             label, name, block, ms_strerror(got), ms_strerror(want), i, whole.maps.nregions, bad);
    bool same = got == want && bad == 0 && (got != MS_OK || i == whole.maps.nregions);

    if (same)
        check_pass_++;
    else {
        check_fail_++;
        fprintf(stderr, "FAILED: %s\n", what);
    }
    if (s && got == MS_OK)
        CHECK_EQ_U64(ms_rstream_count(s), i);
    /* past 1 MiB the file is read on a thread of the stream's own: the 7 MB ones take that path */
    if (s && got == MS_OK && smaps && i >= 10000)
        CHECK(ms_rstream_reading_ahead(s));
    if (want != MS_OK)
        i = 0;
    ms_rstream_close(s);
    ms_smaps_free(&whole);
    return same ? (long)i : -1;
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

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "tests/fixtures";
    fixtures(base, getenv("MEMSCOPE_BUILD_FIXTURES"));
    torn(base);
    errors(base);
    live();
    return check_done();
}
