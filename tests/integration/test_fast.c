/* test_fast.c - the routes that skip smaps, against a real memscoped and live subjects.
 *
 * /maps?rss=1: from PROCMAP_QUERY + PAGEMAP_SCAN, every region of a subject holding still equals
 * /maps region for region and smaps' Rss (read by /smaps, the other reader) figure for figure; the
 * smaps source gives the same answer and says so; a churning subject never gets an impossible
 * answer; bad input is refused with the right status. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
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

/* The three answers of one still subject agree region by region. */
static void test_rss_still(void)
{
    char dir[] = "/tmp/ms-fast-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ms_subject s;
    const char *args[] = {"--pages", "200", "--write", "60", "--regions", "2000", "--thp", "4M",
                          "--shared", "8", "--file-dir", dir, NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    json_t *fast = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1", (int)s.pid);
    json_t *slow = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1&method=smaps", (int)s.pid);
    json_t *maps = http_get_json(&srv, "/api/v1/processes/%d/maps", (int)s.pid);
    json_t *smaps = http_get_json(&srv, "/api/v1/processes/%d/smaps", (int)s.pid);
    CHECK(fast && slow && maps && smaps);
    if (fast && slow && maps && smaps) {
        CHECK_STR(jstr(fast, "source"), "procmap_query+pagemap_scan");
        CHECK_STR(jstr(slow, "source"), "smaps");
        CHECK(json_object_get(fast, "fallback_reason") == NULL);
        CHECK_EQ_U64(jint(fast, "changed_while_read.resident_outside_regions"), 0);
        const json_t *fr = json_object_get(fast, "regions"), *sr = json_object_get(slow, "regions");
        const json_t *mr = json_object_get(maps, "regions"), *pr = json_object_get(smaps, "regions");
        CHECK(json_array_size(fr) > 2000);
        CHECK_EQ_U64(json_array_size(fr), json_array_size(mr));
        CHECK_EQ_U64(json_array_size(fr), json_array_size(sr));
        CHECK_EQ_U64(json_array_size(fr), json_array_size(pr));
        CHECK_EQ_U64(jint(fast, "count"), json_array_size(fr));
        size_t bad = 0, n = json_array_size(fr);
        long long huge = 0;
        for (size_t i = 0; i < n && i < json_array_size(mr) && i < json_array_size(sr) && i < json_array_size(pr); i++) {
            const json_t *f = json_array_get(fr, i), *m = json_array_get(mr, i), *o = json_array_get(sr, i);
            const json_t *p = json_object_get(json_array_get(pr, i), "fields");
            huge += num(f, "huge");
            bool ok = addr_of(f, "start") == addr_of(m, "start") && addr_of(f, "end") == addr_of(m, "end") &&
                      json_equal(json_object_get(f, "path"), json_object_get(m, "path")) &&
                      json_equal(json_object_get(f, "perms"), json_object_get(m, "perms")) &&
                      json_equal(json_object_get(f, "kind"), json_object_get(m, "kind")) &&
                      num(f, "rss") == num(p, "rss") && num(f, "rss") == num(o, "rss") &&
                      num(f, "huge") == num(o, "huge") && num(f, "hugetlb") == num(o, "hugetlb") &&
                      num(f, "huge") == num(p, "anon_huge_pages") + num(p, "shmem_pmd_mapped") + num(p, "file_pmd_mapped");
            if (!ok && bad++ < 5)
                fprintf(stderr, "  region %zu %s: rss %lld / smaps %lld / smaps source %lld\n", i,
                        json_string_value(json_object_get(f, "start")), num(f, "rss"), num(p, "rss"), num(o, "rss"));
        }
        CHECK_EQ_U64(bad, 0);
        CHECK_EQ_U64(jint(fast, "totals.rss"), jint(smaps, "totals.rss"));
        CHECK_EQ_U64(jint(slow, "totals.rss"), jint(smaps, "totals.rss"));
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
    expect_status("/api/v1/processes/999999999/maps?rss=1", 404, NULL);
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps?rss=1&method=scan", (int)getpid());
    expect_status(p, 200, NULL);
}

int main(void)
{
    if (!server_start(&srv, NULL)) {
        fprintf(stderr, "server did not start\n");
        return 1;
    }
    test_rss_bad_input();
    test_rss_still();
    test_rss_churn();
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
