/* test_fast.c - the routes that skip smaps, against a real memscoped and live subjects.
 *
 * /maps?rss=1: from maps + PAGEMAP_SCAN, every region of a subject holding still equals
 * /maps region for region and smaps' Rss (read by /smaps, the other reader) figure for figure; the
 * smaps source gives the same answer and says so; a churning subject never gets an impossible
 * answer; bad input is refused with the right status.  With pss=1, each region's PSS from pagemap's
 * frames and /proc/kpagecount equals smaps' Pss.
 *
 * /processes?fields=pss,uss: a subject's USS equals smaps_rollup's, its figures are reused (with an
 * age) while it holds still, and the summary accounts for every process.
 *
 * /wss: 403 without --allow-clear-refs; with it, a subject reading exactly 64 MiB of a 512 MiB
 * region over and over has a working set of 64 MiB (+-5%) there and none in a region it never
 * touches again.  method=page_idle: where the kernel has no idle-page bitmap, 501 with the reason
 * (and the real measurement is reported skipped); where it has one, the same subject measured that
 * way, without --allow-clear-refs.  An unknown method is 400. */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kthread.h"
#include "harness.h"

static ms_server srv;

static unsigned long long addr_of(const json_t *g, const char *k)
{
    const char *s = json_string_value(json_object_get(g, k));
    return s ? strtoull(s, NULL, 16) : 0;
}

static long long num(const json_t *g, const char *k)
{
    return json_integer_value(json_object_get(g, k));
}

/* The answers of one still subject with `regions` regions agree region by region: /maps?rss=1, the
 * same from smaps (method=smaps), /maps and, when `with_smaps`, /smaps (whose answer for tens of
 * thousands of regions is too large to parse here).  Past maps' first MiB (some 20,000 regions) the
 * stream reads ahead on a thread of its own, which then scans too. */
static void test_rss_still(const char *regions, bool with_smaps)
{
    char dir[] = "/tmp/ms-fast-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ms_subject s;
    const char *args[] = {"--pages", "200", "--write", "60", "--regions", regions, "--thp", "4M",
                          "--shared", "8", "--file-dir", dir, NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    CHECK(subject_wait_blocked(&s));
    json_t *fast = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1", (int)s.pid);
    json_t *slow = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1&method=smaps", (int)s.pid);
    json_t *maps = http_get_json(&srv, "/api/v1/processes/%d/maps", (int)s.pid);
    json_t *smaps = with_smaps ? http_get_json(&srv, "/api/v1/processes/%d/smaps", (int)s.pid) : NULL;
    CHECK(fast && slow && maps && (smaps || !with_smaps));
    if (fast && slow && maps && (smaps || !with_smaps)) {
        CHECK_STR(jstr(fast, "source"), "pagemap_scan");
        CHECK_STR(jstr(slow, "source"), "smaps");
        CHECK(json_object_get(fast, "fallback_reason") == NULL);
        CHECK_EQ_U64(jint(fast, "changed_while_read.resident_outside_regions"), 0);
        const json_t *fr = json_object_get(fast, "regions"), *sr = json_object_get(slow, "regions");
        const json_t *mr = json_object_get(maps, "regions"), *pr = with_smaps ? json_object_get(smaps, "regions") : sr;
        CHECK(json_array_size(fr) > strtoul(regions, NULL, 10));
        CHECK_EQ_U64(json_array_size(fr), json_array_size(mr));
        CHECK_EQ_U64(json_array_size(fr), json_array_size(sr));
        CHECK_EQ_U64(json_array_size(fr), json_array_size(pr));
        CHECK_EQ_U64(jint(fast, "count"), json_array_size(fr));
        size_t bad = 0, n = json_array_size(fr);
        long long huge = 0;
        for (size_t i = 0; i < n && i < json_array_size(mr) && i < json_array_size(sr) && i < json_array_size(pr); i++) {
            const json_t *f = json_array_get(fr, i), *m = json_array_get(mr, i), *o = json_array_get(sr, i);
            const json_t *p = with_smaps ? json_object_get(json_array_get(pr, i), "fields") : NULL;
            huge += num(f, "huge");
            bool ok = addr_of(f, "start") == addr_of(m, "start") && addr_of(f, "end") == addr_of(m, "end") &&
                      json_equal(json_object_get(f, "path"), json_object_get(m, "path")) &&
                      json_equal(json_object_get(f, "perms"), json_object_get(m, "perms")) &&
                      json_equal(json_object_get(f, "kind"), json_object_get(m, "kind")) &&
                      num(f, "rss") == num(o, "rss") && num(f, "huge") == num(o, "huge") &&
                      num(f, "hugetlb") == num(o, "hugetlb") &&
                      (!p || (num(f, "rss") == num(p, "rss") &&
                              num(f, "huge") == num(p, "anon_huge_pages") + num(p, "shmem_pmd_mapped") +
                                                    num(p, "file_pmd_mapped")));
            if (!ok && bad++ < 5)
                fprintf(stderr, "  region %zu %s: rss %lld / smaps %lld / smaps source %lld\n", i,
                        json_string_value(json_object_get(f, "start")), num(f, "rss"), p ? num(p, "rss") : -1,
                        num(o, "rss"));
        }
        CHECK_EQ_U64(bad, 0);
        CHECK_EQ_U64(jint(fast, "totals.rss"), jint(with_smaps ? smaps : slow, "totals.rss"));
        CHECK_EQ_U64(jint(slow, "totals.rss"), jint(with_smaps ? smaps : slow, "totals.rss"));
        if (huge == 0)
            CHECK_SKIP("the kernel gave the MADV_HUGEPAGE region no huge page");
        else
            CHECK(huge >= 2 << 20);
    }
    json_decref(fast);
    json_decref(slow);
    json_decref(maps);
    json_decref(smaps);
    subject_stop(&s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static void expect_status(const char *path, long status, const char *code);

/* /maps?rss=1&pss=1 of a subject holding still (shared library pages among them, mapped by other
 * processes too, a MAP_SHARED area and a THP region): each region's pss equals smaps' Pss, compared at
 * moments when two smaps reads around it agree (other processes map and unmap the libraries), as do
 * the totals, the same from method=smaps, and the rows layout's pss column.  Where frame numbers
 * are hidden the answer comes from smaps and says why, and method=scan is refused. */
static void test_pss_regions(void)
{
    ms_subject s;
    const char *args[] = {"--pages", "400", "--write", "200", "--regions", "300", "--thp", "4M", "--shared", "8", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    CHECK(subject_wait_blocked(&s));
    int pid = (int)s.pid;
    json_t *h = http_get_json(&srv, "/api/v1/health");
    bool frames = json_is_true(json_object_get(json_object_get(h, "can_see"), "pfn")) &&
                  json_is_true(json_object_get(json_object_get(h, "can_see"), "kpagecount"));
    json_decref(h);
    const char *want_source = frames ? "pagemap_scan" : "smaps";
    bool compared = false;
    for (int attempt = 0; attempt < 20 && !compared; attempt++) {
        json_t *a = http_get_json(&srv, "/api/v1/processes/%d/smaps", pid);
        json_t *m = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1&pss=1", pid);
        json_t *slow = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1&pss=1&method=smaps", pid);
        json_t *rows = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1&pss=1&layout=rows", pid);
        json_t *b = http_get_json(&srv, "/api/v1/processes/%d/smaps", pid);
        CHECK(a && m && slow && rows && b);
        if (a && b && m && slow && rows && json_equal(a, b)) {
            compared = true;
            CHECK_STR(jstr(m, "source"), want_source);
            if (!frames)
                CHECK(strstr(jstr(m, "fallback_reason") ? jstr(m, "fallback_reason") : "", "CAP_SYS_ADMIN") != NULL);
            const json_t *sr = json_object_get(a, "regions"), *mr = json_object_get(m, "regions");
            const json_t *lr = json_object_get(slow, "regions"), *rr = json_object_get(rows, "regions");
            CHECK_EQ_U64(json_array_size(mr), json_array_size(sr));
            CHECK_EQ_U64(json_array_size(lr), json_array_size(sr));
            CHECK_EQ_U64(json_array_size(rr), json_array_size(sr));
            /* pss is the fourth field column of the rows, after rss, huge and hugetlb */
            CHECK_EQ_U64(json_array_size(json_object_get(rows, "fields")), 4);
            CHECK_STR(json_string_value(json_array_get(json_object_get(rows, "fields"), 3)), "pss");
            size_t bad = 0, shared = 0;
            for (size_t i = 0; i < json_array_size(mr) && i < json_array_size(sr); i++) {
                const json_t *g = json_array_get(mr, i), *f = json_object_get(json_array_get(sr, i), "fields");
                long long pss = num(f, "pss");
                bool ok = num(g, "pss") == pss && num(json_array_get(lr, i), "pss") == pss &&
                          json_integer_value(json_array_get(json_array_get(rr, i), 13)) == pss;
                if (pss < num(f, "rss"))
                    shared++;
                if (!ok && bad++ < 5)
                    fprintf(stderr, "  region %s (%s): pss %lld, smaps' Pss %lld\n", jstr(g, "start"), jstr(g, "path"),
                            num(g, "pss"), pss);
            }
            CHECK_EQ_U64(bad, 0);
            CHECK(shared > 0);      /* libc's pages are mapped by every process here */
            CHECK_EQ_U64(jint(m, "totals.pss"), jint(a, "totals.pss"));
        }
        json_decref(a);
        json_decref(m);
        json_decref(slow);
        json_decref(rows);
        json_decref(b);
    }
    if (!compared)
        CHECK_SKIP("smaps of %d kept changing between reads (20 tries): pss not compared", pid);
    char p[128];
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?rss=1&pss=1&method=scan", pid);
    expect_status(p, frames ? 200 : 403, frames ? NULL : "frames_hidden");
    subject_stop(&s);
}

/* A subject remapping itself all the time: every answer parses, regions in order, rss within size. */
static void test_rss_churn(void)
{
    ms_subject s;
    const char *args[] = {"--churn", "4096", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    int answers = 0, bad = 0;
    for (int k = 0; k < 40; k++) {
        json_t *j = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1", (int)s.pid);
        if (!j) {
            bad++;
            continue;
        }
        answers++;
        const json_t *g;
        size_t i;
        unsigned long long last = 0;
        json_array_foreach(json_object_get(j, "regions"), i, g) {
            unsigned long long a = addr_of(g, "start"), e = addr_of(g, "end");
            if (a < last || e <= a || num(g, "rss") + num(g, "hugetlb") > (long long)(e - a) || num(g, "rss") < 0)
                bad++;
            last = e;
        }
        json_decref(j);
    }
    CHECK_EQ_U64(answers, 40);
    CHECK_EQ_U64(bad, 0);
    subject_stop(&s);
}

static void expect_status(const char *path, long status, const char *code)
{
    http_resp r;
    CHECK(http_get(&srv, path, &r));
    CHECK_EQ_U64(r.status, status);
    if (code)
        CHECK_STR(jstr(r.json, "error.code"), code);
    http_resp_free(&r);
}

static void test_rss_bad_input(void)
{
    char p[128];
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?rss=2", (int)getpid());
    expect_status(p, 400, "bad_flag");
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?method=scan", (int)getpid());
    expect_status(p, 400, "bad_method");
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?rss=1&method=fast", (int)getpid());
    expect_status(p, 400, "bad_method");
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?pss=1", (int)getpid());
    expect_status(p, 400, "bad_flag");
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?rss=1&pss=yes", (int)getpid());
    expect_status(p, 400, "bad_flag");
    expect_status("/api/v1/processes/999999999/maps?rss=1", 404, NULL);
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?rss=1&method=scan", (int)getpid());
    expect_status(p, 200, NULL);
    /* no address space: what /maps says, with no pages */
    if (!pid2_is_kthread()) {
        CHECK_SKIP("pid 2 is not a kernel thread here (a pid namespace of its own): no kernel thread to ask");
        return;
    }
    json_t *m = http_get_json(&srv, "/api/v1/processes/2/maps");
    json_t *q = http_get_json(&srv, "/api/v1/processes/2/maps?rss=1&pss=1");
    CHECK(m && q);
    if (m && q) {
        CHECK_EQ_U64(jint(q, "count"), 0);
        CHECK_EQ_U64(jint(q, "totals.rss"), 0);
        CHECK_EQ_U64(jint(q, "totals.pss"), 0);
        CHECK(json_equal(json_object_get(q, "kernel_thread"), json_object_get(m, "kernel_thread")));
        CHECK(json_equal(json_object_get(q, "zombie"), json_object_get(m, "zombie")));
    }
    json_decref(m);
    json_decref(q);
}

/* The subject's process in the list, or NULL. */
static const json_t *find_proc(const json_t *list, int pid)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(list, "processes"), i, p)
        if (num(p, "pid") == pid)
            return p;
    return NULL;
}

static void test_pss(void)
{
    ms_subject s;
    const char *args[] = {"--pages", "512", "--write", "300", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    /* USS moves by a page whenever another process starts or stops sharing one of the subject's
     * file pages (other tests run subjects of the same binary): its exact value is checked in
     * unit.psscache; here it must lie between what no other process can change. */
    long long dirty = proc_kb(s.pid, "smaps_rollup", "Private_Dirty"), rss = proc_kb(s.pid, "smaps_rollup", "Rss");
    long long pss_age = -1, pss = -1;
    for (int round = 0; round < 2; round++) {
        /* the most budget there is: under a sanitizer the default 100 ms may not reach the subject */
        json_t *j = http_get_json(&srv, "/api/v1/processes?fields=pss,uss&fresh=1&pss_budget_ms=10000");
        CHECK(j != NULL);
        if (!j)
            break;
        const json_t *p = find_proc(j, (int)s.pid);
        CHECK(p != NULL);
        long long sum = jint(j, "pss.fresh") + jint(j, "pss.cached") + jint(j, "pss.skipped") + jint(j, "pss.none") +
                        jint(j, "pss.failed");
        CHECK_EQ_U64(sum, jint(j, "count"));
        CHECK_EQ_U64(jint(j, "pss.budget_ms"), 10000);
        if (p) {
            const char *state = json_string_value(json_object_get(p, "pss_state"));
            CHECK_STR(state, round == 0 ? "fresh" : "cached");
            CHECK(num(p, "uss") >= dirty && num(p, "uss") <= rss && dirty >= 300 * 4096);
            CHECK(num(p, "pss") >= num(p, "uss"));
            if (round == 1)
                CHECK_EQ_U64(num(p, "pss"), pss);
            pss = num(p, "pss");
            pss_age = num(p, "pss_age_ms");
        }
        json_decref(j);
        usleep(30000);
    }
    CHECK(pss_age >= 30);
    json_t *d = http_get_json(&srv, "/api/v1/processes?fields=uss&limit=1");
    CHECK(d && jint(d, "pss.budget_ms") == 100);      /* the default */
    json_decref(d);
    /* no budget: nothing is read, and what moved says so with no figure */
    json_t *j = http_get_json(&srv, "/api/v1/processes?fields=pss&pss_budget_ms=0&fresh=1");
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_U64(jint(j, "pss.fresh"), 0);
        size_t i, skipped = 0;
        const json_t *p;
        json_array_foreach(json_object_get(j, "processes"), i, p)
            if (strcmp(json_string_value(json_object_get(p, "pss_state")), "skipped") == 0) {
                skipped++;
                CHECK(json_is_null(json_object_get(p, "pss")));
            }
        CHECK_EQ_U64(skipped, jint(j, "pss.skipped"));
        const json_t *me = find_proc(j, (int)s.pid);
        CHECK(me && strcmp(json_string_value(json_object_get(me, "pss_state")), "cached") == 0);
        json_decref(j);
    }
    expect_status("/api/v1/processes?fields=pss,rss", 400, "bad_fields");
    expect_status("/api/v1/processes?fields=pss&pss_budget_ms=10001", 400, "bad_budget");
    expect_status("/api/v1/processes?pss_budget_ms=10", 400, "bad_budget");
    subject_stop(&s);
}

/* The subject's log of its touch passes, read from its memory. */
struct pass_log {
    unsigned long long count;
    unsigned long long at[256][2];
};

static bool read_passes(int pid, unsigned long long addr, struct pass_log *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && pread(fd, out, sizeof *out, (off_t)addr) == (ssize_t)sizeof *out;
    if (fd >= 0)
        close(fd);
    return ok;
}

static unsigned long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static const json_t *region_at(const json_t *j, unsigned long long addr)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j, "regions"), i, g)
        if (addr_of(g, "start") <= addr && addr < addr_of(g, "end"))
            return g;
    return NULL;
}

static void test_wss(void)
{
    char p[128];
    snprintf(p, sizeof p, "/api/v1/processes/%d/wss?interval_ms=100&method=clear_refs", (int)getpid());
    expect_status(p, 403, "clear_refs_not_allowed");

    ms_server ws;
    const char *extra[] = {"--allow-clear-refs", NULL};
    if (!server_start(&ws, extra)) {
        CHECK(!"server with --allow-clear-refs did not start");
        return;
    }
    json_t *h0 = http_get_json(&ws, "/api/v1/health");
    CHECK(h0 != NULL);
    bool soft_dirty = h0 && json_is_true(json_object_get(json_object_get(h0, "can_see"), "soft_dirty"));
    json_decref(h0);
    /* The subject reads its 64 MiB with no pause between passes, so its translations stay in the
     * TLB: without a flush after the clear its accessed bits stay clear and it reads as idle. */
    ms_subject s;
    const char *args[] = {"--wss", "512M", "--wss-touch", "64M", "--wss-idle", "64M", "--wss-spin", "1", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        server_stop(&ws);
        return;
    }
    unsigned long long hot = subject_addr(&s, "wss"), idle = subject_addr(&s, "wss_idle");
    unsigned long long log_at = subject_addr(&s, "passes");
    const long long mib64 = 64ll << 20;
    bool measured = false;
    /* The answer is exact only if the subject made a whole pass between the clear and the read:
     * on a busy machine a pass can take seconds, so the interval grows until one fits.  Proven from
     * the subject's own timestamps: the clear ended before t_after - interval and the read began
     * after t_before + interval, where interval is what the server measured between them. */
    const int intervals[] = {1000, 3000, 8000, 20000};
    for (size_t k = 0; k < sizeof intervals / sizeof *intervals && !measured; k++) {
        unsigned long long t0 = mono_ns();
        json_t *j = http_get_json(&ws, "/api/v1/processes/%d/wss?interval_ms=%d&method=clear_refs", (int)s.pid,
                                  intervals[k]);
        unsigned long long t1 = mono_ns();
        struct pass_log lg;
        CHECK(j != NULL);
        CHECK(read_passes(s.pid, log_at, &lg));
        if (!j)
            break;
        unsigned long long m = (unsigned long long)(json_real_value(json_object_get(j, "measured_interval_ms")) * 1e6);
        bool whole = false;
        for (unsigned long long i = lg.count > 256 ? lg.count - 256 : 0; i < lg.count; i++)
            whole |= lg.at[i % 256][0] >= t1 - m && lg.at[i % 256][1] <= t0 + m;
        if (whole) {
            measured = true;
            CHECK(json_is_boolean(json_object_get(j, "tlb_flushed")));
            bool flushed = json_is_true(json_object_get(j, "tlb_flushed"));
            CHECK(flushed == !soft_dirty);
            CHECK(flushed == !json_object_get(j, "caveat"));
            const json_t *h = region_at(j, hot), *z = region_at(j, idle);
            CHECK(h && z);
            if (h && z) {
                long long ref = num(h, "referenced");
                fprintf(stderr, "wss: %d ms, hot region %lld of %lld bytes referenced, idle %lld\n", intervals[k],
                        ref, num(h, "size"), num(z, "referenced"));
                if (flushed)
                    CHECK(ref >= mib64 * 95 / 100 && ref <= mib64 * 105 / 100);
                else
                    CHECK_SKIP("this kernel tracks soft-dirty bits, so the TLB is not flushed after the "
                               "clear and a spinning reader's pages may not count: only ref <= 64 MiB "
                               "is checked");
                CHECK(ref <= mib64 * 105 / 100);
                CHECK_EQ_U64(num(z, "referenced"), 0);
                CHECK_EQ_U64(num(z, "rss"), mib64);
                CHECK_EQ_U64(num(h, "size"), 512ll << 20);
            }
            CHECK_STR(jstr(j, "method"), "clear_refs");
            CHECK(json_real_value(json_object_get(json_object_get(j, "cost"), "kernel_ms")) >= 0);
            if (flushed)
                CHECK(jint(j, "totals.referenced") >= mib64 * 95 / 100);
        }
        json_decref(j);
    }
    if (!measured)
        CHECK_SKIP("the subject never made a whole pass over its 64 MiB within 20 s: the machine is too busy");
    snprintf(p, sizeof p, "/api/v1/processes/%d/wss?interval_ms=99", (int)s.pid);
    http_resp r;
    CHECK(http_get(&ws, p, &r) && r.status == 400);
    http_resp_free(&r);
    subject_stop(&s);
    CHECK_EQ_U64(server_stop(&ws), 0);
}

/* The idle-page method: refused with the reason where the kernel lacks the bitmap (as on the
 * machines this was written on); where it has it, a subject reading 64 MiB of 512 MiB again and
 * again, measured without --allow-clear-refs. */
static void test_wss_page_idle(void)
{
    char p[160];
    snprintf(p, sizeof p, "/api/v1/processes/%d/wss?interval_ms=100&method=referenced", (int)getpid());
    expect_status(p, 400, "bad_method");
    json_t *h0 = http_get_json(&srv, "/api/v1/health");
    CHECK(h0 != NULL);
    const json_t *cs = json_object_get(h0, "can_see");
    CHECK(json_is_boolean(json_object_get(cs, "page_idle")));
    bool page_idle = json_is_true(json_object_get(cs, "page_idle")), pfn = json_is_true(json_object_get(cs, "pfn"));
    json_decref(h0);
    /* the probe against the file system: no bitmap, no page_idle (as root, one that exists opens) */
    bool exists = access("/sys/kernel/mm/page_idle/bitmap", F_OK) == 0;
    if (!exists)
        CHECK(!page_idle);
    if (exists && geteuid() == 0)
        CHECK(page_idle);
    snprintf(p, sizeof p, "/api/v1/processes/%d/wss?interval_ms=100&method=page_idle", (int)getpid());
    if (!page_idle) {
        http_resp r;
        CHECK(http_get(&srv, p, &r));
        CHECK_EQ_U64(r.status, 501);
        CHECK_STR(jstr(r.json, "error.code"), "page_idle_unavailable");
        const char *msg = jstr(r.json, "error.message");
        CHECK(msg && strstr(msg, "/sys/kernel/mm/page_idle/bitmap"));
        http_resp_free(&r);
        CHECK_SKIP("/sys/kernel/mm/page_idle is absent: this kernel is built without "
                   "CONFIG_IDLE_PAGE_TRACKING, so /wss?method=page_idle was not measured on a process");
        return;
    }
    if (!pfn) {
        expect_status(p, 403, "pfn_hidden");
        CHECK_SKIP("memscoped cannot read PFNs (no CAP_SYS_ADMIN): page_idle not measured");
        return;
    }
    ms_subject s;
    const char *args[] = {"--wss", "512M", "--wss-touch", "64M", "--wss-idle", "64M", "--wss-spin", "1", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    unsigned long long hot = subject_addr(&s, "wss"), idle = subject_addr(&s, "wss_idle");
    const long long mib64 = 64ll << 20;
    json_t *j = http_get_json(&srv, "/api/v1/processes/%d/wss?interval_ms=3000&method=page_idle", (int)s.pid);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(jstr(j, "method"), "page_idle");
        CHECK(json_object_get(j, "tlb_flushed") == NULL);
        const json_t *h = region_at(j, hot), *z = region_at(j, idle);
        CHECK(h && z);
        if (h && z) {
            fprintf(stderr, "wss page_idle: hot %lld of %lld tracked referenced, idle %lld of %lld\n",
                    num(h, "referenced"), num(h, "tracked"), num(z, "referenced"), num(z, "tracked"));
            /* the untouched 64 MiB took the mark (anonymous LRU pages) and was not read again */
            CHECK_EQ_U64(num(z, "rss"), mib64);
            CHECK_EQ_U64(num(z, "tracked"), mib64);
            CHECK_EQ_U64(num(z, "referenced"), 0);
            CHECK(num(h, "referenced") <= num(h, "tracked") && num(h, "tracked") <= num(h, "rss"));
            CHECK(num(h, "referenced") <= mib64 * 105 / 100);
        }
        CHECK(jint(j, "totals.referenced") <= jint(j, "totals.tracked"));
        CHECK(jint(j, "totals.tracked") <= jint(j, "totals.rss"));
        json_decref(j);
    }
    subject_stop(&s);
}

int main(void)
{
    if (!server_start(&srv, NULL)) {
        fprintf(stderr, "server did not start\n");
        return 1;
    }
    test_rss_bad_input();
    test_rss_still("2000", true);
    test_rss_still("30000", false);
    test_rss_churn();
    test_pss_regions();
    test_pss();
    test_wss();
    test_wss_page_idle();
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
