/* test_maps.c - the maps parser and the kind rules, on recorded fixtures and a live subject.
 *
 * Expected values come from what the subject was asked to build (tests/fixtures/README.md) and from
 * the recorded files read by eye; the live test checks the parser against the kernel's own line
 * count of the same process. */
#include "check.h"
#include "core/maps.h"
#include "core/num.h"
#include "core/proc.h"
#include "unit/spawn.h"

#include <fcntl.h>
#include <stdlib.h>

static const char *fixtures;

static int open_case(const char *name)
{
    char path[4096];
    int fd = -1;
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    if (ms_dir_open(path, &fd) != MS_OK)
        fprintf(stderr, "cannot open fixture %s\n", path);
    return fd;
}

static bool path_eq(const ms_region *r, const char *s)
{
    return r->path_len == strlen(s) && memcmp(r->path, s, r->path_len) == 0;
}

static const ms_region *at(const ms_maps *m, uint64_t addr)
{
    long i = ms_maps_find(m->regions, m->nregions, addr);
    return i < 0 ? NULL : &m->regions[i];
}

/* The kind of the region at addr, or -1 when none covers it (so a missing region fails the check
 * instead of crashing the test). */
static int kind_at(const ms_maps *m, uint64_t addr)
{
    const ms_region *r = at(m, addr);
    return r ? (int)r->kind : -1;
}

/* Parses text (copied into an exactly-sized allocation with no NUL, so ASan sees any read past
 * the end) and returns the result; m keeps the regions (pointing into *keep, freed by caller). */
static ms_err parse_exact(ms_maps *m, const char *text, size_t len, char **keep)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    ms_buf_free(&m->buf);
    m->buf.data = copy;
    m->buf.len = len;
    m->buf.cap = len;
    ms_err rc = ms_maps_parse(m);
    m->buf.data = NULL;
    m->buf.len = m->buf.cap = 0;
    *keep = copy;
    return rc;
}

static void test_files(void)
{
    ms_maps m;
    ms_maps_init(&m);
    int fd = open_case("files");
    CHECK(ms_maps_read(fd, &m) == MS_OK);
    close(fd);
    CHECK_EQ_U64(m.nregions, 31);

    const ms_region *r = at(&m, 0x7f5ab27d3000);      /* the file whose name has spaces */
    CHECK(r && path_eq(r, "/tmp/memscope-fixture.QDo5DP/a file with spaces.bin"));
    CHECK(r && !r->deleted && r->kind == MS_KIND_FILE && r->end - r->start == 8192);
    CHECK(r && r->inode == 10952913 && r->dev_major == 0xfe && r->dev_minor == 0);
    r = at(&m, 0x7f5ab27d1000);
    CHECK(r && path_eq(r, "/tmp/memscope-fixture.QDo5DP/deleted-later.bin (deleted)"));
    CHECK(r && r->deleted && r->kind == MS_KIND_FILE);
    r = at(&m, 0x7f5ab24c8000 + 100);
    CHECK(r && path_eq(r, "/memfd:memscope shm (deleted)") && r->deleted && r->kind == MS_KIND_SHM);
    CHECK(r && r->dev_major == 0 && r->dev_minor == 1 && r->inode == 4 && strcmp(r->perms, "rw-s") == 0);
    r = at(&m, 0x7f5ab27d5000);
    CHECK(r && path_eq(r, "/dev/zero (deleted)") && r->kind == MS_KIND_SHM);

    /* libc: rodata, text, rodata, rodata (relro), data, then its bss */
    r = at(&m, 0x7f5ab2612000);
    CHECK(r && r->kind == MS_KIND_TEXT && r->offset == 0x26000 && r->inode == 332835);
    CHECK(r && path_eq(r, "/usr/lib/x86_64-linux-gnu/libc.so.6") && strcmp(r->perms, "r-xp") == 0);
    CHECK(kind_at(&m, 0x7f5ab25ec000) == MS_KIND_RODATA);
    CHECK(kind_at(&m, 0x7f5ab2768000) == MS_KIND_RODATA);
    CHECK(kind_at(&m, 0x7f5ab27bb000) == MS_KIND_RODATA);
    CHECK(kind_at(&m, 0x7f5ab27bf000) == MS_KIND_DATA);
    r = at(&m, 0x7f5ab27c1000);
    CHECK(r && r->kind == MS_KIND_BSS && r->path_len == 0 && r->path != NULL);
    CHECK(kind_at(&m, 0x7f5ab2816000) == MS_KIND_DATA);           /* ld.so's data */
    CHECK(kind_at(&m, 0x5653108f9000) == MS_KIND_TEXT);           /* the subject's own code */
    CHECK(kind_at(&m, 0x5653108f8000) == MS_KIND_RODATA);
    CHECK(kind_at(&m, 0x5653108fc000) == MS_KIND_DATA);

    r = at(&m, 0x7f5ab25d9000);                                    /* the 16-page area */
    CHECK(r && r->kind == MS_KIND_ANON && r->end - r->start == 16 * 4096);
    CHECK(kind_at(&m, 0x7f5ab24d8000) == MS_KIND_ANON);           /* the 1 MiB malloc */
    CHECK(kind_at(&m, 0x5653322df000) == MS_KIND_HEAP);
    CHECK(kind_at(&m, 0x7fffcc9b4000) == MS_KIND_STACK);
    CHECK(kind_at(&m, 0x7f5ab27db000) == MS_KIND_VVAR);
    CHECK(kind_at(&m, 0x7f5ab27df000) == MS_KIND_VVAR);           /* [vvar_vclock] */
    CHECK(kind_at(&m, 0x7f5ab27e1000) == MS_KIND_VDSO);
    r = &m.regions[m.nregions - 1];
    CHECK(r->start == 0xffffffffff600000ULL && r->end == 0xffffffffff601000ULL);
    CHECK(r->kind == MS_KIND_VSYSCALL && strcmp(r->perms, "--xp") == 0 && path_eq(r, "[vsyscall]"));

    /* binary search edges */
    CHECK(ms_maps_find(m.regions, m.nregions, 0) == -1);
    CHECK(ms_maps_find(m.regions, m.nregions, 0x5653108f8000) == 0);
    CHECK(ms_maps_find(m.regions, m.nregions, 0x5653108f8fff) == 0);
    CHECK(ms_maps_find(m.regions, m.nregions, 0x5653108f9000) == 1);
    CHECK(ms_maps_find(m.regions, m.nregions, 0x7f5ab27ce000) == -1);   /* a gap */
    CHECK(ms_maps_find(m.regions, m.nregions, 0xffffffffff600fffULL) == (long)m.nregions - 1);
    CHECK(ms_maps_find(m.regions, m.nregions, UINT64_MAX) == -1);
    CHECK(ms_maps_find(m.regions, 0, 0x5653108f8000) == -1);
    for (size_t i = 0; i < m.nregions; i++)
        CHECK(ms_maps_find(m.regions, m.nregions, m.regions[i].end - 1) == (long)i);
    CHECK_STR(ms_region_kind_name(MS_KIND_BSS), "bss");
    CHECK_STR(ms_region_kind_name(MS_KIND__COUNT), "other");
    ms_maps_free(&m);
}

static void test_anon_name(void)
{
    ms_maps m;
    ms_maps_init(&m);
    int fd = open_case("anon_name");
    CHECK(ms_read_file_at(fd, "maps", &m.buf) == MS_OK);
    close(fd);
    CHECK(ms_maps_parse(&m) == MS_OK);
    CHECK_EQ_U64(m.nregions, 31);
    const ms_region *r = at(&m, 0x7f5ab25d8000);
    CHECK(r && path_eq(r, "[anon:memscope arena]") && r->kind == MS_KIND_ANON);
    r = at(&m, 0x7f5ab27c1000);
    CHECK(r && path_eq(r, "[anon:libc bss]") && r->kind == MS_KIND_BSS);
    r = at(&m, 0x7f5ab27d5000);
    CHECK(r && path_eq(r, "[anon_shmem:shared buf]") && r->kind == MS_KIND_SHM);
    ms_maps_free(&m);
}

static void test_hugetlb_thp(void)
{
    ms_maps m;
    ms_maps_init(&m);
    int fd = open_case("hugetlb");
    CHECK(ms_maps_read(fd, &m) == MS_OK);
    close(fd);
    const ms_region *r = at(&m, 0x7fbe8fe00000);
    /* maps alone: recognised by the path MAP_HUGETLB memory gets */
    CHECK(r && path_eq(r, "/anon_hugepage (deleted)") && r->kind == MS_KIND_HUGETLB && r->deleted);
    ms_maps_free(&m);

    ms_maps_init(&m);
    fd = open_case("thp");
    CHECK(ms_maps_read(fd, &m) == MS_OK);
    close(fd);
    r = at(&m, 0x7f80d2a00000);          /* THP is still anonymous memory, not hugetlb */
    CHECK(r && r->kind == MS_KIND_ANON && r->end - r->start == 4 << 20);
    ms_maps_free(&m);
}

static void test_empty_and_gone(void)
{
    ms_maps m;
    ms_maps_init(&m);
    int fd = open_case("kthread");
    CHECK(ms_maps_read(fd, &m) == MS_OK);        /* alive, no memory of its own */
    CHECK_EQ_U64(m.nregions, 0);
    close(fd);
    fd = open_case("exited");
    CHECK(ms_maps_read(fd, &m) == MS_ERR_NOENT);
    close(fd);
    fd = open_case("truncated");
    CHECK(ms_maps_read(fd, &m) == MS_ERR_PARSE);
    CHECK_EQ_U64(m.nregions, 0);
    close(fd);
    ms_maps_free(&m);
}

/* Every prefix of a real maps file: never a read past the end; a cut at a line boundary or just
 * before a '\n' parses to exactly the lines it holds; a cut inside the fixed fields is refused. */
static void test_every_cut(void)
{
    ms_buf b;
    ms_buf_init(&b, 0);
    int fd = open_case("files");
    CHECK(ms_read_file_at(fd, "maps", &b) == MS_OK);
    close(fd);
    ms_maps m;
    ms_maps_init(&m);
    int bad = 0, ok_expected_fail = 0, parse_refused = 0;
    size_t lines = 0;
    for (size_t cut = 0; cut <= b.len; cut++) {
        char *keep;
        ms_err rc = parse_exact(&m, b.data, cut, &keep);
        bool boundary = cut == 0 || b.data[cut - 1] == '\n';
        bool before_nl = cut < b.len && b.data[cut] == '\n';
        if (rc != MS_OK && rc != MS_ERR_PARSE)
            bad++;
        if ((boundary || before_nl) && (rc != MS_OK || m.nregions != lines + (before_nl ? 1 : 0)))
            ok_expected_fail++;
        if (rc == MS_ERR_PARSE)
            parse_refused++;
        if (cut < b.len && b.data[cut] == '\n')
            lines++;
        free(keep);
    }
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(ok_expected_fail, 0);
    CHECK(parse_refused > 31 * 30);         /* each line has ~40 bytes of fixed fields to cut in */
    ms_maps_free(&m);
    ms_buf_free(&b);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "xyz\n",
        "\n",
        "1000-2000 rwqp 00000000 00:00 0\n",
        "2000-1000 rw-p 00000000 00:00 0\n",
        "1000-2000 r-xp 00000000 fe:00 12x /a\n",
        "1000-2000 r-xp 00000000 fe00 12 /a\n",
        "1000-2000 r-xp 00000000 fe:00\n",
        "1000 r-xp 00000000 fe:00 12 /a\n",
        "10000000000000000-10000000000000001 r-xp 00000000 fe:00 12 /a\n",
        "1000-2000 r-xp 00000000 fe:00 99999999999999999999 /a\n",
        "1000-2000 r-xp\t00000000 fe:00 12 /a\n",
        "1000-2000 r-xp 00000000 fe:00 12 /a\nboom\n",
    };
    ms_maps m;
    ms_maps_init(&m);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *keep;
        ms_err rc = parse_exact(&m, bad[i], strlen(bad[i]), &keep);
        if (rc != MS_ERR_PARSE)
            fprintf(stderr, "accepted: %s", bad[i]);
        CHECK(rc == MS_ERR_PARSE);
        free(keep);
    }
    /* accepted shapes: no path (with and without the kernel's trailing space), last line without
     * '\n', a path made only of what follows the padding, tabs inside a path kept */
    const char *good = "1000-2000 ---p 00000000 00:00 0\n"
                       "2000-3000 rw-p 00000000 00:00 0 \n"
                       "3000-4000 r--s 00000000 00:05 7                          /SYSV00000000 (deleted)\n"
                       "4000-5000 r--p 00000000 00:1b 9   /dev/shm/x\ty \n"
                       "5000-6000 r-xp 00000000 08:01 3 /dev/hugepages/big\n"
                       "6000-7000 r-xp 00000000 00:00 0   [uprobes]\n"
                       "7000-8000 rw-p 00000000 00:00 0   [stack:1234]\n"
                       "8000-9000 r--p 00000000 08:01 44 /data.bin\n"
                       "9000-a000 rw-p 00002000 08:01 44 /data.bin\n"
                       "a000-b000 rw-p 00000000 00:00 0";
    char *keep;
    CHECK(parse_exact(&m, good, strlen(good), &keep) == MS_OK);
    CHECK_EQ_U64(m.nregions, 10);
    if (m.nregions == 10) {
        ms_region *r = m.regions;
        CHECK(r[0].kind == MS_KIND_GUARD && r[0].path_len == 0);
        CHECK(r[1].kind == MS_KIND_ANON && r[1].path_len == 0);
        CHECK(r[2].kind == MS_KIND_SHM && r[2].deleted);
        CHECK(r[3].kind == MS_KIND_SHM && path_eq(&r[3], "/dev/shm/x\ty "));
        CHECK(r[4].kind == MS_KIND_HUGETLB);
        CHECK(r[5].kind == MS_KIND_OTHER);
        CHECK(r[6].kind == MS_KIND_STACK);
        CHECK(r[7].kind == MS_KIND_FILE);       /* read-only and the file has no code: not rodata */
        CHECK(r[8].kind == MS_KIND_DATA && r[8].offset == 0x2000);
        CHECK(r[9].kind == MS_KIND_BSS && r[9].start == 0xa000);
    }
    free(keep);
    ms_maps_free(&m);
}

/* The parser against a live process: one region per line of the kernel's own file, and the
 * subject's mappings where it says they are. */
static void test_live(void)
{
    subject s;
    const char *opts[] = {"--pages", "32", "--write", "4", "--regions", "100", "--shared", "2", NULL};
    if (spawn_subject(&s, opts) != 0) {
        CHECK(!"subject started");
        return;
    }
    int fd;
    ms_maps m;
    ms_maps_init(&m);
    CHECK(ms_pid_open(s.pid, &fd) == MS_OK);
    CHECK(ms_maps_read(fd, &m) == MS_OK);
    size_t lines = 0;
    for (size_t i = 0; i < m.buf.len; i++)
        lines += m.buf.data[i] == '\n';
    CHECK_EQ_U64(m.nregions, lines);
    CHECK(m.nregions >= 100);
    const ms_region *r = at(&m, subject_addr(&s, "area"));
    CHECK(r && r->start == subject_addr(&s, "area") && r->end - r->start == 32 * 4096 && r->kind == MS_KIND_ANON);
    r = at(&m, subject_addr(&s, "shared"));
    CHECK(r && r->kind == MS_KIND_SHM && r->end - r->start == 2 * 4096);
    for (size_t i = 1; i < m.nregions; i++)
        CHECK(m.regions[i - 1].end <= m.regions[i].start);
    stop_subject(&s);
    /* reaped: the directory now belongs to no process */
    CHECK(ms_maps_read(fd, &m) == MS_ERR_NOENT);
    close(fd);
    ms_maps_free(&m);
}

/* A kernel thread and a zombie have no address space, and say which they are. */
static void test_mm_state(void)
{
    static const struct { const char *dir; ms_mm_state want; } cases[] = {
        {"kthread", MS_MM_KTHREAD}, {"zombie", MS_MM_ZOMBIE}, {"normal", MS_MM_PRESENT}, {"mm_gone", MS_MM_PRESENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", fixtures, cases[i].dir);
        int dirfd;
        CHECK(ms_dir_open(path, &dirfd) == MS_OK);
        CHECK(ms_pid_mm_state(dirfd) == cases[i].want);
        CHECK(ms_pid_no_mm_err(dirfd) == (cases[i].want == MS_MM_PRESENT ? MS_ERR_NOENT : MS_ERR_NOMM));
        close(dirfd);
    }
    int dirfd;
    CHECK(ms_dir_open("/tmp", &dirfd) == MS_OK);     /* no stat: gone */
    CHECK(ms_pid_mm_state(dirfd) == MS_MM_GONE && ms_pid_no_mm_err(dirfd) == MS_ERR_NOENT);
    close(dirfd);
}

/* One hex field written as text: v in `width` digits at least (zero-padded, as the kernel's %08lx,
 * up to 20: leading zeros past 16 digits are no overflow), upper or lower case. */
static int put_hex(char *b, size_t cap, uint64_t v, int width, bool upper)
{
    return snprintf(b, cap, upper ? "%0*" PRIX64 : "%0*" PRIx64, width, v);
}

/* The address, offset and device fields, parsed 8 digits at a time where they can be, give what a
 * digit at a time gives (ms_num_hex) for every width from 1 to 20 digits, both cases and values
 * past 64 bits (too many significant digits: a parse error), one line at a time. */
static void test_hex_fields(void)
{
    uint64_t x = 0x2545f4914f6cdd1dULL;
    unsigned bad = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t a = x >> (x & 63), len = (x >> 8) & 0xffff;
        int wa = (int)((x >> 24) % 21), wo = (int)((x >> 32) % 21);
        bool upper = (x >> 40) & 1, over = (x >> 41) % 16 == 0;
        char line[256];
        int n = put_hex(line, sizeof line, a, wa, upper);
        line[n++] = '-';
        uint64_t b = a + len;
        if (over) {
            /* 17 significant digits: past 64 bits */
            n += snprintf(line + n, sizeof line - (size_t)n, "1%016" PRIx64, b);
        } else {
            n += put_hex(line + n, sizeof line - (size_t)n, b < a ? UINT64_MAX : b, wo, upper);
        }
        n += snprintf(line + n, sizeof line - (size_t)n, " r-xp ");
        n += put_hex(line + n, sizeof line - (size_t)n, x & 0xffffffff, wo, !upper);
        n += snprintf(line + n, sizeof line - (size_t)n, " %02x:%02x 42 /x\n", (unsigned)(x & 0xff), (unsigned)((x >> 8) & 0xff));
        /* what a digit at a time makes of the same fields */
        const char *q = line, *e = line + n;
        uint64_t ws, we, wof;
        bool ok = ms_num_hex(&q, e, &ws) && *q++ == '-' && ms_num_hex(&q, e, &we) && we >= ws;
        q += ok ? 6 : 0;
        ok = ok && ms_num_hex(&q, e, &wof);
        ms_region r;
        const char *p = line;
        ms_err rc = ms_maps_parse_line(&p, e, &r);
        if ((rc == MS_OK) != ok || (ok && (r.start != ws || r.end != we || r.offset != wof ||
                                           r.dev_major != (x & 0xff) || r.dev_minor != ((x >> 8) & 0xff) ||
                                           r.inode != 42 || p != e))) {
            if (bad++ < 5)
                fprintf(stderr, "  '%.*s': %s\n", n - 1, line, rc == MS_OK ? "other figures" : ms_strerror(rc));
        }
    }
    CHECK_EQ_U64(bad, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    test_files();
    test_anon_name();
    test_hugetlb_thp();
    test_empty_and_gone();
    test_every_cut();
    test_malformed();
    test_hex_fields();
    test_mm_state();
    test_live();
    return check_done();
}
