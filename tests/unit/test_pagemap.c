/* test_pagemap.c - page counts and runs from PAGEMAP_SCAN and from batched pread, against live
 * processes whose memory is known exactly, and the two methods against each other everywhere. */
#include "check.h"
#include "core/features.h"
#include "core/kpage.h"
#include "core/pagemap.h"
#include "core/proc.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

static uint64_t ps;
static ms_features ft;        /* what this kernel does and lets us see, probed once in main */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static ms_err summ(int dirfd, uint64_t start, uint64_t end, ms_pm_method m, size_t max_runs, ms_pm_summary *s)
{
    ms_pm_opts o = {m, max_runs, false};
    return ms_pm_summarize(dirfd, start, end, &o, s);
}

/* The state pread gives a page whose state the scan gave as st: where pread cannot tell the zero
 * page or a huge page (no frame numbers), it sees a present private page as plain anon. */
static uint8_t as_pread_sees(uint8_t st, const ms_pm_summary *b)
{
    if ((st == MS_PM_STATE_ZERO && !b->has_zero_page) || (st == MS_PM_STATE_HUGE && !b->has_huge))
        return MS_PM_STATE_ANON;
    return st;
}

/* Both methods over one range: every count both can see and every run must be identical (the
 * scan's runs seen as pread can see them: neighbours that pread cannot tell apart merge). */
static void check_same(int dirfd, uint64_t start, uint64_t end, const char *what)
{
    ms_pm_summary a, b;
    ms_err ra = summ(dirfd, start, end, MS_PM_SCAN, 100000, &a);
    ms_err rb = summ(dirfd, start, end, MS_PM_PREAD, 100000, &b);
    CHECK(ra == MS_OK && rb == MS_OK);
    if (ra != MS_OK || rb != MS_OK) {
        fprintf(stderr, "  %s [%" PRIx64 ", %" PRIx64 "): %s / %s\n", what, start, end, ms_strerror(ra), ms_strerror(rb));
        return;
    }
    int fails = check_fail_;
    CHECK(a.used == MS_PM_SCAN && b.used == MS_PM_PREAD);
    CHECK(a.has_zero_page && a.has_huge);
    CHECK_EQ_U64(a.pages, b.pages);
    CHECK_EQ_U64(a.present, b.present);
    CHECK_EQ_U64(a.swapped, b.swapped);
    CHECK_EQ_U64(b.zero_page, b.has_zero_page ? a.zero_page : 0);
    CHECK_EQ_U64(a.file_or_shared, b.file_or_shared);
    CHECK_EQ_U64(b.huge, b.has_huge ? a.huge : 0);
    CHECK_EQ_U64(a.soft_dirty, b.soft_dirty);
    CHECK(!a.runs_truncated && !b.runs_truncated);
    size_t j = 0;
    for (size_t i = 0; i < a.nruns; j++) {
        uint64_t s0 = a.runs[i].start, e0 = a.runs[i].end;
        uint8_t st = as_pread_sees(a.runs[i].state, &b);
        for (i++; i < a.nruns && a.runs[i].start == e0 && as_pread_sees(a.runs[i].state, &b) == st; i++)
            e0 = a.runs[i].end;
        if (j >= b.nruns || b.runs[j].start != s0 || b.runs[j].end != e0 || b.runs[j].state != st) {
            CHECK(!"runs differ");
            fprintf(stderr, "  run %zu: scan [%" PRIx64 ",%" PRIx64 ") %s, pread ", j, s0, e0, ms_pm_state_name(st));
            if (j < b.nruns)
                fprintf(stderr, "[%" PRIx64 ",%" PRIx64 ") %s\n", b.runs[j].start, b.runs[j].end,
                        ms_pm_state_name(b.runs[j].state));
            else
                fprintf(stderr, "none\n");
            break;
        }
    }
    CHECK_EQ_U64(j, b.nruns);
    if (check_fail_ != fails)
        fprintf(stderr, "  ... in %s [%" PRIx64 ", %" PRIx64 ")\n", what, start, end);
    ms_pm_summary_free(&a);
    ms_pm_summary_free(&b);
}

/* Rss (bytes) of the smaps entry starting at `start`: an independent reader's view. */
static uint64_t smaps_field(int pid, uint64_t start, const char *field)
{
    char path[64], line[1024], key[64];
    snprintf(path, sizeof path, "/proc/%d/smaps", pid);
    snprintf(key, sizeof key, "%s:", field);
    FILE *f = fopen(path, "r");
    uint64_t v = UINT64_MAX;
    bool in = false;
    if (!f)
        return v;
    while (fgets(line, sizeof line, f)) {
        unsigned long long s, e;
        if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = s == start;
            continue;
        }
        unsigned long long kb;
        if (in && strncmp(line, key, strlen(key)) == 0 && sscanf(line + strlen(key), " %llu", &kb) == 1) {
            v = kb * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

static void test_subject_counts(void)
{
    char dir[] = "/tmp/ms-pagemap-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *args[] = {"--pages", "64", "--write", "10", "--read", "7", "--shared", "5", "--file-dir", dir, NULL};
    subject s;
    if (spawn_subject(&s, args) != 0) {
        CHECK(!"subject started");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);
    uint64_t area = subject_addr(&s, "area"), shared = subject_addr(&s, "shared");

    /* 10 pages written, the next 7 only read.  Where a read fault maps the shared zero page (see
     * ms_features.read_fault_zero_page) those 7 are the zero page: present, not exclusive, in no
     * Rss.  Where the kernel allocates a real page instead, all 17 are private anon pages. */
    bool z = ft.read_fault_zero_page;
    uint64_t zeros = z ? 7 : 0;
    if (!z)
        CHECK_SKIP("this kernel maps a fresh page on a read fault, not the zero page: the zero-page "
                   "counts and runs are checked as 0 and as anon pages instead");
    for (int m = MS_PM_SCAN; m <= MS_PM_PREAD; m++) {
        ms_pm_summary r;
        CHECK(summ(dirfd, area, area + 64 * ps, (ms_pm_method)m, 16, &r) == MS_OK);
        CHECK(r.used == (ms_pm_method)m);
        CHECK_EQ_U64(r.pages, 64);
        CHECK_EQ_U64(r.present, 17);
        /* pread tells the zero page by its PFN, learnt from a read fault of its own: both needed */
        CHECK(r.has_zero_page == (m == MS_PM_SCAN || (z && ft.pfn_readable)));
        CHECK(r.has_huge == (m == MS_PM_SCAN || (ft.pfn_readable && ft.kpageflags_readable)));
        CHECK_EQ_U64(r.zero_page, r.has_zero_page ? zeros : 0);
        CHECK_EQ_U64(r.swapped, 0);
        CHECK_EQ_U64(r.file_or_shared, 0);
        CHECK_EQ_U64(r.huge, 0);
        if (m == MS_PM_PREAD) {
            CHECK(r.has_exclusive);
            CHECK_EQ_U64(r.exclusive, 17 - zeros);
        } else {
            CHECK(!r.has_exclusive);
        }
        /* written, zero page (where it is one and can be told), untouched */
        bool zrun = z && r.has_zero_page;
        CHECK_EQ_U64(r.nruns, zrun ? 3 : 2);
        if (r.nruns == 3 && zrun) {
            CHECK(r.runs[0].start == area && r.runs[0].end == area + 10 * ps && r.runs[0].state == MS_PM_STATE_ANON);
            CHECK(r.runs[1].start == area + 10 * ps && r.runs[1].end == area + 17 * ps && r.runs[1].state == MS_PM_STATE_ZERO);
            CHECK(r.runs[2].start == area + 17 * ps && r.runs[2].end == area + 64 * ps && r.runs[2].state == MS_PM_STATE_ABSENT);
        } else if (r.nruns == 2 && !zrun) {
            CHECK(r.runs[0].start == area && r.runs[0].end == area + 17 * ps && r.runs[0].state == MS_PM_STATE_ANON);
            CHECK(r.runs[1].start == area + 17 * ps && r.runs[1].end == area + 64 * ps && r.runs[1].state == MS_PM_STATE_ABSENT);
        }
        CHECK(!r.runs_truncated);
        /* smaps counts the zero page in no Rss (it is not a "normal" page): present - zero. */
        if (r.has_zero_page || !z)
            CHECK_EQ_U64((r.present - zeros) * ps, smaps_field(s.pid, area, "Rss"));
        ms_pm_summary_free(&r);

        /* truncated runs keep complete counts */
        CHECK(summ(dirfd, area, area + 64 * ps, (ms_pm_method)m, 2, &r) == MS_OK);
        CHECK(r.nruns == 2 && r.runs_truncated == zrun && r.present == 17);
        CHECK_EQ_U64(r.zero_page, r.has_zero_page ? zeros : 0);
        CHECK(r.nruns == 2 && r.runs[zrun ? 1 : 0].end == area + 17 * ps);
        ms_pm_summary_free(&r);
        CHECK(summ(dirfd, area, area + 64 * ps, (ms_pm_method)m, 0, &r) == MS_OK);
        CHECK(r.nruns == 0 && r.runs == NULL && !r.runs_truncated && r.present == 17);
        ms_pm_summary_free(&r);

        /* a sub-range that starts and ends mid-run: 5 written pages, 2 read */
        CHECK(summ(dirfd, area + 5 * ps, area + 12 * ps, (ms_pm_method)m, 16, &r) == MS_OK);
        CHECK(r.pages == 7 && r.present == 7 && r.zero_page == (zrun ? 2 : 0) && r.nruns == (zrun ? 2u : 1u));
        CHECK(r.nruns >= 1 && r.runs[0].start == area + 5 * ps && r.runs[r.nruns - 1].end == area + 12 * ps);
        ms_pm_summary_free(&r);

        /* MAP_SHARED anonymous memory is shmem: not anon, so "file or shared" */
        CHECK(summ(dirfd, shared, shared + 5 * ps, (ms_pm_method)m, 16, &r) == MS_OK);
        CHECK(r.present == 5 && r.file_or_shared == 5 && r.zero_page == 0);
        CHECK(r.nruns == 1 && r.runs[0].state == MS_PM_STATE_FILE_OR_SHARED);
        CHECK_EQ_U64(r.present * ps, smaps_field(s.pid, shared, "Rss"));
        ms_pm_summary_free(&r);
    }

    /* Every region of the subject (text, data, heap, stack, libc, vdso, the files, ...): both
     * methods must agree.  Regions above the user address space (vsyscall) are refused by both. */
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/maps", s.pid);
    FILE *f = fopen(path, "r");
    int nreg = 0, nfile_present = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx", &a, &b) != 2)
            continue;
        ms_pm_summary t;
        ms_err rc = summ(dirfd, a, b, MS_PM_SCAN, 100000, &t);
        if (strstr(line, "[vsyscall]")) {
            CHECK(rc == MS_ERR_RANGE);
            continue;
        }
        CHECK(rc == MS_OK);
        if (rc == MS_OK && strchr(line, '/') && t.present > 0 && t.file_or_shared == t.present)
            nfile_present++;
        ms_pm_summary_free(&t);
        /* An ASan build's subject reserves terabytes of shadow: pread would read gigabytes of
         * entries for nothing but holes there, so the comparison stops at 64 GiB regions. */
        if (b - a <= (64ULL << 30)) {
            check_same(dirfd, a, b, line);
            nreg++;
        }
    }
    if (f)
        fclose(f);
    CHECK(nreg > 10);
    CHECK(nfile_present > 0);     /* the subject's own text and libc's are present file pages */

    close(dirfd);
    stop_subject(&s);
    char p[512];
    snprintf(p, sizeof p, "%s/a file with spaces.bin", dir);
    unlink(p);
    rmdir(dir);
}

/* A child with a memory layout of our choosing; it waits for the pipe to close. */
typedef struct {
    pid_t pid;
    int wfd;
    uint64_t base;
    int status;
} child;

static int child_start(child *c, void (*build)(uint64_t *base, int *status))
{
    int up[2], down[2];
    if (pipe(up) || pipe(down))
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        close(up[0]);
        close(down[1]);
        uint64_t msg[2] = {0, 0};
        int st = 0;
        build(&msg[0], &st);
        msg[1] = (uint64_t)st;
        if (write(up[1], msg, sizeof msg) != sizeof msg)
            _exit(1);
        char ch;
        while (read(down[0], &ch, 1) > 0) {}
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    uint64_t msg[2];
    if (read(up[0], msg, sizeof msg) != sizeof msg)
        return -1;
    close(up[0]);
    c->wfd = down[1];
    c->base = msg[0];
    c->status = (int)msg[1];
    return 0;
}

static void child_stop(child *c)
{
    close(c->wfd);
    waitpid(c->pid, NULL, 0);
}

#define BIG (64ULL << 30)
static void build_big(uint64_t *base, int *st)
{
    unsigned char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { *st = errno; return; }
    madvise(p, BIG, MADV_NOHUGEPAGE);
    p[0] = 1;
    p[1ULL << 30] = 1;
    p[BIG - 4096] = 1;
    *base = (uint64_t)(uintptr_t)p;
}

static void test_big_range(void)
{
    child c;
    if (child_start(&c, build_big) != 0 || c.status) {
        CHECK(!"64 GiB child");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(c.pid, &dirfd) == MS_OK);
    for (int m = MS_PM_SCAN; m <= MS_PM_PREAD; m++) {
        ms_pm_summary r;
        double t0 = now_ms();
        ms_err rc = summ(dirfd, c.base, c.base + BIG, (ms_pm_method)m, 1000, &r);
        double t1 = now_ms();
        CHECK(rc == MS_OK);
        CHECK_EQ_U64(r.pages, BIG / ps);
        CHECK_EQ_U64(r.present, 3);
        CHECK_EQ_U64(r.nruns, 5);
        if (r.nruns == 5) {
            CHECK(r.runs[0].state == MS_PM_STATE_ANON && r.runs[0].end == c.base + ps);
            CHECK(r.runs[2].start == c.base + (1ULL << 30) && r.runs[2].state == MS_PM_STATE_ANON);
            CHECK(r.runs[4].start == c.base + BIG - ps && r.runs[4].end == c.base + BIG);
            CHECK(r.runs[3].state == MS_PM_STATE_ABSENT && r.runs[3].start == c.base + (1ULL << 30) + ps);
        }
        printf("64 GiB range, 3 pages present: %s %.2f ms\n", m == MS_PM_SCAN ? "PAGEMAP_SCAN" : "pread", t1 - t0);
        ms_pm_summary_free(&r);
    }
    close(dirfd);
    child_stop(&c);
}

/* Two 2 MiB-aligned blocks with MADV_HUGEPAGE: the first written (one THP), the second only read
 * (the huge zero page where use_zero_page allows). */
static void build_thp(uint64_t *base, int *st)
{
    size_t len = 8ULL << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { *st = errno; return; }
    unsigned char *a = (unsigned char *)(((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
    /* Only the 4 MiB we look at: the rest stays a different VMA so nothing else is touched. */
    if (madvise(a, 4u << 20, MADV_HUGEPAGE) != 0) { *st = errno; return; }
    a[0] = 1;
    volatile unsigned char sink = a[2u << 20];
    (void)sink;
    *base = (uint64_t)(uintptr_t)a;
}

static void test_thp(void)
{
    child c;
    if (child_start(&c, build_thp) != 0 || c.status) {
        CHECK(!"THP child");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(c.pid, &dirfd) == MS_OK);
    uint64_t ahp = smaps_field(c.pid, c.base, "AnonHugePages");
    if (ahp < (2u << 20)) {
        CHECK_SKIP("the kernel gave no huge page (AnonHugePages %" PRIu64 "; THP off or memory fragmented)", ahp);
    } else {
        uint64_t hp = (2u << 20) / ps;
        for (int m = MS_PM_SCAN; m <= MS_PM_PREAD; m++) {
            ms_pm_summary r;
            CHECK(summ(dirfd, c.base, c.base + (2u << 20), (ms_pm_method)m, 16, &r) == MS_OK);
            CHECK_EQ_U64(r.present, hp);
            if (r.has_huge) {
                CHECK_EQ_U64(r.huge, hp);
                CHECK(r.nruns == 1 && r.runs[0].state == MS_PM_STATE_HUGE);
            } else {
                /* pread without frame numbers cannot see a THP: says so, counts it anon */
                CHECK(m == MS_PM_PREAD && !ft.pfn_readable);
                CHECK_SKIP("frame numbers hidden (no CAP_SYS_ADMIN): pread cannot tell a THP, it says "
                           "has_huge false and counts the pages as anon");
                CHECK(r.huge == 0 && r.nruns == 1 && r.runs[0].state == MS_PM_STATE_ANON);
            }
            CHECK_EQ_U64(r.zero_page, 0);
            if (m == MS_PM_PREAD)
                CHECK_EQ_U64(r.exclusive, hp);
            ms_pm_summary_free(&r);
        }
        check_same(dirfd, c.base, c.base + (4u << 20), "THP + huge zero page");
        ms_pm_summary r;
        CHECK(summ(dirfd, c.base + (2u << 20), c.base + (4u << 20), MS_PM_SCAN, 16, &r) == MS_OK);
        printf("read-only MADV_HUGEPAGE block: present %" PRIu64 " huge %" PRIu64 " zero %" PRIu64
               " file_or_shared %" PRIu64 " (the huge zero page where reads map it)\n", r.present, r.huge,
               r.zero_page, r.file_or_shared);
        ms_pm_summary_free(&r);
    }
    close(dirfd);
    child_stop(&c);
}

static void test_swap(void)
{
    FILE *f = fopen("/proc/swaps", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n++;
    if (f)
        fclose(f);
    if (n <= 1) {
        CHECK_SKIP("no swap device (/proc/swaps is empty): MADV_PAGEOUT cannot swap anon pages out");
        return;
    }
    /* With swap: page a written area out and both methods must see swapped pages alike. */
    unsigned char *p = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 1, 16 * ps);
    madvise(p, 16 * ps, MADV_PAGEOUT);
    int dirfd;
    CHECK(ms_pid_open(getpid(), &dirfd) == MS_OK);
    check_same(dirfd, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + 16 * ps, "paged out");
    close(dirfd);
    munmap(p, 16 * ps);
}

static void test_invalid(void)
{
    int dirfd;
    CHECK(ms_pid_open(getpid(), &dirfd) == MS_OK);
    ms_pm_summary r;
    CHECK(summ(dirfd, 1, 2 * ps, MS_PM_AUTO, 0, &r) == MS_ERR_INVAL);
    CHECK(summ(dirfd, 0, ps + 1, MS_PM_AUTO, 0, &r) == MS_ERR_INVAL);
    CHECK(summ(dirfd, ps, ps, MS_PM_AUTO, 0, &r) == MS_ERR_INVAL);
    CHECK(summ(dirfd, 2 * ps, ps, MS_PM_AUTO, 0, &r) == MS_ERR_INVAL);
    for (int m = MS_PM_AUTO; m <= MS_PM_PREAD; m++) {
        CHECK(summ(dirfd, 0, 1ULL << 60, (ms_pm_method)m, 0, &r) == MS_ERR_RANGE);
        CHECK(summ(dirfd, 0, ~(ps - 1), (ms_pm_method)m, 0, &r) == MS_ERR_RANGE);
        /* The user address space ends at 2^47 (4-level paging here); the kernel's TASK_SIZE, where
         * pagemap ends, one page below: that last page reads as absent, past 2^47 is refused. */
        CHECK(summ(dirfd, 0x7fffff000000ULL, 0x7ffffffff000ULL, (ms_pm_method)m, 0, &r) == MS_OK);
        CHECK_EQ_U64(r.top, 0x7ffffffff000ULL);
        ms_pm_summary_free(&r);
        CHECK(summ(dirfd, 0x7fffff000000ULL, 0x800000000000ULL, (ms_pm_method)m, 10, &r) == MS_OK);
        CHECK_EQ_U64(r.top, 0x7ffffffff000ULL);
        CHECK_EQ_U64(r.pages, 4096);
        CHECK_EQ_U64(r.present, 0);
        CHECK(r.nruns == 1 && r.runs[0].start == 0x7fffff000000ULL && r.runs[0].end == 0x800000000000ULL &&
              r.runs[0].state == MS_PM_STATE_ABSENT);
        ms_pm_summary_free(&r);
        CHECK(summ(dirfd, 0x7ffffffff000ULL, 0x800000000000ULL, (ms_pm_method)m, 10, &r) == MS_OK);
        CHECK(r.pages == 1 && r.present == 0 && r.nruns == 1 && r.runs[0].state == MS_PM_STATE_ABSENT);
        ms_pm_summary_free(&r);
        CHECK(summ(dirfd, 0x7fffff000000ULL, 0x800000001000ULL, (ms_pm_method)m, 0, &r) == MS_ERR_RANGE);
    }
    ms_pm_frame fr;
    CHECK(ms_pm_frames(dirfd, 1, 1, &fr) == MS_ERR_INVAL);
    CHECK(ms_pm_frames(dirfd, 0, 0, &fr) == MS_ERR_INVAL);
    CHECK(ms_pm_frames(dirfd, 0x7ffffffff000ULL, 1, &fr) == MS_OK);
    CHECK(fr.beyond_top && !fr.present && fr.vaddr == 0x7ffffffff000ULL);
    CHECK(ms_pm_frames(dirfd, 0x7fffffffe000ULL, 1, &fr) == MS_OK);
    CHECK(!fr.beyond_top);
    CHECK(ms_pm_frames(dirfd, 0x800000000000ULL, 1, &fr) == MS_ERR_RANGE);
    close(dirfd);
    /* no such file: a directory without pagemap */
    CHECK(ms_dir_open("/tmp", &dirfd) == MS_OK);
    CHECK(summ(dirfd, 0, ps, MS_PM_AUTO, 0, &r) == MS_ERR_NOENT);
    close(dirfd);
}

static bool has_flag(const ms_pm_frame *f, const char *name)
{
    for (unsigned b = 0; b < 64; b++)
        if ((f->kflags >> b) & 1 && ms_kpageflag_name(b) && strcmp(ms_kpageflag_name(b), name) == 0)
            return true;
    return false;
}

static void test_frames(void)
{
    const char *args[] = {"--pages", "8", "--write", "3", "--read", "2", "--shared", "1", NULL};
    subject s;
    if (spawn_subject(&s, args) != 0) {
        CHECK(!"subject started");
        return;
    }
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);
    uint64_t area = subject_addr(&s, "area");
    ms_pm_frame fr[8];
    CHECK(ms_pm_frames(dirfd, area, 8, fr) == MS_OK);

    /* independent reader: the raw entries */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", s.pid);
    int fd = open(path, O_RDONLY);
    uint64_t raw[8];
    CHECK(fd >= 0 && pread(fd, raw, sizeof raw, (off_t)(area / ps * 8)) == sizeof raw);
    close(fd);

    for (int i = 0; i < 8; i++) {
        CHECK_EQ_U64(fr[i].vaddr, area + (uint64_t)i * ps);
        CHECK_EQ_U64(fr[i].entry, raw[i]);
        CHECK(fr[i].present == (i < 5));
        CHECK(!fr[i].swapped && !fr[i].file_or_shared);
    }
    /* written pages exclusive; read pages too unless they are the shared zero page */
    for (int i = 0; i < 5; i++)
        CHECK(fr[i].exclusive == (i < 3 || !ft.read_fault_zero_page));
    if (!ft.pfn_readable) {
        /* the kernel writes 0 for hidden PFNs: unknown, with the reason, never frame 0 */
        CHECK_SKIP("frame numbers hidden (no CAP_SYS_ADMIN): frames, their flags and map counts are "
                   "checked to be unknown, with the reason");
        for (int i = 0; i < 5; i++) {
            CHECK(!fr[i].pfn_known && fr[i].pfn == 0 && !fr[i].kflags_known && !fr[i].mapcount_known);
            CHECK(fr[i].pfn_hidden_reason &&
                  strncmp(fr[i].pfn_hidden_reason, "pfn hidden: needs CAP_SYS_ADMIN", 31) == 0);
        }
    } else {
        for (int i = 0; i < 3; i++) {
            CHECK(fr[i].pfn_known && fr[i].pfn != 0 && fr[i].pfn == (raw[i] & MS_PM_PFN_MASK));
            CHECK(fr[i].pfn_hidden_reason == NULL);
            CHECK(fr[i].exclusive);
            CHECK(fr[i].kflags_known && has_flag(&fr[i], "anon") && !has_flag(&fr[i], "zero_page"));
            CHECK(fr[i].mapcount_known && fr[i].mapcount == 1);
        }
        CHECK(fr[0].pfn != fr[1].pfn);
        if (ft.read_fault_zero_page) {
            for (int i = 3; i < 5; i++) {
                CHECK(fr[i].pfn_known && fr[i].pfn == fr[3].pfn);      /* one zero page for all */
                CHECK(fr[i].kflags_known && has_flag(&fr[i], "zero_page") && !has_flag(&fr[i], "anon"));
                CHECK(!fr[i].exclusive);
            }
        } else {
            CHECK_SKIP("this kernel maps a fresh page on a read fault, not the zero page: the read pages "
                       "are checked as private anon frames of their own instead");
            for (int i = 3; i < 5; i++) {
                CHECK(fr[i].pfn_known && fr[i].pfn != 0 && fr[i].pfn == (raw[i] & MS_PM_PFN_MASK));
                CHECK(fr[i].exclusive);
                CHECK(fr[i].kflags_known && has_flag(&fr[i], "anon") && !has_flag(&fr[i], "zero_page"));
                CHECK(fr[i].mapcount_known && fr[i].mapcount == 1);
            }
            CHECK(fr[3].pfn != fr[4].pfn && fr[3].pfn != fr[0].pfn);
        }
    }
    for (int i = 5; i < 8; i++)
        CHECK(!fr[i].pfn_known && fr[i].pfn_hidden_reason == NULL && !fr[i].kflags_known && fr[i].pfn == 0);

    uint64_t sh = subject_addr(&s, "shared");
    CHECK(ms_pm_frames(dirfd, sh, 1, fr) == MS_OK);
    CHECK(fr[0].present && fr[0].file_or_shared);
    if (ft.pfn_readable)
        CHECK(fr[0].pfn_known && has_flag(&fr[0], "swapbacked") && !has_flag(&fr[0], "anon"));
    else
        CHECK(!fr[0].pfn_known && fr[0].pfn_hidden_reason != NULL);
    close(dirfd);
    stop_subject(&s);

    CHECK_STR(ms_kpageflag_name(0), "locked");
    CHECK_STR(ms_kpageflag_name(12), "anon");
    CHECK_STR(ms_kpageflag_name(22), "thp");
    CHECK_STR(ms_kpageflag_name(24), "zero_page");
    CHECK_STR(ms_kpageflag_name(26), "pgtable");
    CHECK(ms_kpageflag_name(27) == NULL && ms_kpageflag_name(64) == NULL && ms_kpageflag_name(100000) == NULL);
}

/* Without CAP_SYS_ADMIN the kernel writes 0 for PFNs: they must come back unknown, with the reason,
 * never as frame 0; zero page and THP become undecidable in pread mode and say so. */
static void test_pfn_hidden(void)
{
    if (geteuid() != 0) {
        CHECK_SKIP("not root: cannot drop to uid 65534 (the main run is already unprivileged)");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        check_pass_ = check_fail_ = 0;     /* the child reports only its own checks */
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
            _exit(100);
        /* A uid change makes us non-dumpable, which hands the files under /proc/self to root (0400 pagemap). */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        unsigned char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        volatile unsigned char sink = p[ps];
        (void)sink;
        int dirfd;
        CHECK(ms_dir_open("/proc/self", &dirfd) == MS_OK);
        ms_pm_frame fr[2];
        CHECK(ms_pm_frames(dirfd, (uint64_t)(uintptr_t)p, 2, fr) == MS_OK);
        for (int i = 0; i < 2; i++) {
            CHECK(fr[i].present && !fr[i].pfn_known && fr[i].pfn == 0 && !fr[i].kflags_known);
            CHECK_STR(fr[i].pfn_hidden_reason, "pfn hidden: needs CAP_SYS_ADMIN");
        }
        ms_pm_summary r;
        CHECK(summ(dirfd, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + 2 * ps, MS_PM_PREAD, 8, &r) == MS_OK);
        CHECK(r.present == 2 && !r.has_zero_page && !r.has_huge && r.zero_page == 0);
        ms_pm_summary_free(&r);
        CHECK(summ(dirfd, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + 2 * ps, MS_PM_SCAN, 8, &r) == MS_OK);
        /* the scan needs no PFN */
        CHECK(r.present == 2 && r.has_zero_page && r.zero_page == (ft.read_fault_zero_page ? 1u : 0u));
        ms_pm_summary_free(&r);
        ms_features u;
        ms_features_probe(&u);
        CHECK(!u.pfn_readable && !u.kpageflags_readable && !u.kpagecount_readable && u.pagemap_scan);
        CHECK(u.read_fault_zero_page == ft.read_fault_zero_page);   /* the kernel's, not a privilege */
        close(dirfd);
        _exit(check_fail_ ? 1 : check_pass_ > 0 ? 0 : 2);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ_U64(WEXITSTATUS(st), 0);
}

int main(void)
{
    ps = (uint64_t)sysconf(_SC_PAGESIZE);
    ms_features_probe(&ft);
    test_invalid();
    test_subject_counts();
    test_frames();
    test_big_range();
    test_thp();
    test_swap();
    test_pfn_hidden();
    return check_done();
}
