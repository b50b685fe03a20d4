/* test_range.c - start= and end= on the region lists: /maps, /maps?rss=1 (either source) and /smaps,
 * in both layouts.
 *
 * Against a real memscoped and a live subject holding still (2,000 regions): a ranged answer holds
 * exactly the regions of the whole answer that overlap [start, end), figure for figure, its count
 * is theirs, and its totals are their sums.  The ranges: one region, a range that starts and ends
 * inside regions, start alone, end alone (a region starting at end is left out), and a gap between
 * regions (no regions, count 0).  The page scan's figure for resident bytes outside the regions is
 * there only when the read went to the end.  Bad addresses, empty ranges and a range with
 * group=path are 400 with their codes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static ms_server srv;

static const json_t *reg_at(const json_t *g, size_t i)
{
    return json_is_array(g) ? json_array_get(g, i) : json_object_get(g, i ? "end" : "start");
}

static uint64_t addr_of(const json_t *region, size_t i)
{
    const char *s = json_string_value(reg_at(region, i));
    return s ? strtoull(s, NULL, 16) : 0;
}

/* The regions of whole that overlap [lo, hi). */
static json_t *overlapping(const json_t *whole, uint64_t lo, uint64_t hi)
{
    json_t *out = json_array();
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(whole, "regions"), i, g) {
        if (addr_of(g, 1) > lo && addr_of(g, 0) < hi)
            json_array_append(out, (json_t *)g);
    }
    return out;
}

/* The sum of a figure over regions (objects: in fields for smaps, a member for rss=1). */
static long long sum_of(const json_t *regions, const char *key)
{
    long long t = 0;
    size_t i;
    const json_t *g;
    json_array_foreach(regions, i, g) {
        const json_t *f = json_object_get(g, "fields");
        t += json_integer_value(json_object_get(f ? f : g, key));
    }
    return t;
}

/* A ranged answer of base (a path with its query, "" or "?...") against the whole answer read just
 * before and just after; compared only when those two agree (the subject holds still, but a shared
 * library's page may come or go in between).  lo/hi: the range; 0 and UINT64_MAX where the query
 * leaves a side out. */
static void ranged_equals_whole(int pid, const char *base, const char *range, uint64_t lo, uint64_t hi)
{
    const char *sep = strchr(base, '?') ? "&" : "?";
    for (int attempt = 0; attempt < 20; attempt++) {
        json_t *a = http_get_json(&srv, "/api/v1/processes/%d/%s", pid, base);
        json_t *r = http_get_json(&srv, "/api/v1/processes/%d/%s%s%s", pid, base, sep, range);
        json_t *b = http_get_json(&srv, "/api/v1/processes/%d/%s", pid, base);
        CHECK(a && r && b);
        bool quiet = a && b && r && json_equal(a, b);
        if (quiet) {
            json_t *want = overlapping(a, lo, hi);
            const json_t *got = json_object_get(r, "regions");
            bool same = json_equal(got, want);
            if (!same)
                fprintf(stderr, "%s%s%s of %d: %zu regions, want %zu\n", base, sep, range, pid,
                        json_array_size(got), json_array_size(want));
            CHECK(same);
            CHECK_EQ_U64(jint(r, "count"), json_array_size(want));
            bool smaps = strncmp(base, "smaps", 5) == 0;
            if (smaps && !json_array_size(want)) {
                /* no region: no smaps field was seen, as for a kernel thread */
                CHECK_EQ_U64(json_object_size(json_object_get(r, "totals")), 0);
            } else if (!strstr(base, "rows") && json_object_get(r, "totals")) {
                for (const char *k = "rss"; k; k = strcmp(k, "rss") == 0 && smaps ? "pss" : NULL) {
                    char p[32];
                    snprintf(p, sizeof p, "totals.%s", k);
                    CHECK_EQ_U64(jint(r, p), sum_of(want, k));
                }
            }
            const json_t *cw = json_object_get(r, "changed_while_read");
            if (cw && strstr(base, "method=smaps") == NULL) {
                /* the scan's figure outside the regions is whole only when the read went to the end */
                bool cut = hi != UINT64_MAX && json_array_size(json_object_get(a, "regions")) &&
                           addr_of(json_array_get(json_object_get(a, "regions"),
                                                  json_array_size(json_object_get(a, "regions")) - 1), 0) >= hi;
                CHECK(!cut == (json_object_get(cw, "resident_outside_regions") != NULL));
                CHECK(json_object_get(cw, "regions_dropped") != NULL);
            }
            json_decref(want);
        }
        json_decref(a);
        json_decref(r);
        json_decref(b);
        if (quiet)
            return;
    }
    CHECK_SKIP("%s of %d kept changing between reads (20 tries): its ranges not compared", base, pid);
}

static void test_ranges(void)
{
    ms_subject s;
    const char *args[] = {"--pages", "200", "--write", "60", "--regions", "2000", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    CHECK(subject_wait_blocked(&s));
    int pid = (int)s.pid;
    json_t *m = http_get_json(&srv, "/api/v1/processes/%d/maps", pid);
    const json_t *regs = json_object_get(m, "regions");
    size_t n = json_array_size(regs);
    CHECK(n > 2000);
    if (n <= 2000) {
        json_decref(m);
        subject_stop(&s);
        return;
    }
    /* a gap: the first place where a region does not end where the next starts */
    size_t gap = 0;
    for (size_t i = 0; i + 1 < n && !gap; i++)
        if (addr_of(json_array_get(regs, i), 1) < addr_of(json_array_get(regs, i + 1), 0))
            gap = i + 1;
    CHECK(gap > 0);
    const json_t *mid = json_array_get(regs, n / 2), *mid5 = json_array_get(regs, n / 2 + 5);
    const json_t *first3 = json_array_get(regs, 3), *last3 = json_array_get(regs, n - 3);
    struct {
        char q[96];
        uint64_t lo, hi;
    } ranges[5];
    size_t nr = 0;
#define RANGE(lo_, hi_, ...) (snprintf(ranges[nr].q, sizeof ranges[nr].q, __VA_ARGS__), ranges[nr].lo = (lo_), ranges[nr].hi = (hi_), nr++)
    uint64_t ms = addr_of(mid, 0), me = addr_of(mid, 1);
    RANGE(ms, me, "start=0x%" PRIx64 "&end=0x%" PRIx64, ms, me);
    uint64_t a = ms + 4096 + 5, b = addr_of(mid5, 0) + 1;      /* inside regions, unaligned */
    RANGE(a, b, "start=0x%" PRIx64 "&end=0x%" PRIx64, a, b);
    RANGE(addr_of(last3, 0), UINT64_MAX, "start=0x%" PRIx64, addr_of(last3, 0));
    RANGE(0, addr_of(first3, 0), "end=0x%" PRIx64, addr_of(first3, 0));
    uint64_t g0 = addr_of(json_array_get(regs, gap - 1), 1), g1 = addr_of(json_array_get(regs, gap), 0);
    RANGE(g0, g1, "start=0x%" PRIx64 "&end=0x%" PRIx64, g0, g1);
#undef RANGE
    json_decref(m);
    static const char *const bases[] = {
        "maps", "maps?layout=rows", "maps?rss=1", "maps?rss=1&layout=rows", "maps?rss=1&method=smaps",
        "smaps", "smaps?layout=rows",
    };
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
        for (size_t k = 0; k < nr; k++)
            ranged_equals_whole(pid, bases[i], ranges[k].q, ranges[k].lo, ranges[k].hi);
    /* the one-region range, by the numbers: the answer is that region alone */
    json_t *one = http_get_json(&srv, "/api/v1/processes/%d/smaps?%s", pid, ranges[0].q);
    CHECK_EQ_U64(jint(one, "count"), 1);
    json_decref(one);
    subject_stop(&s);
}

static void test_bad_ranges(void)
{
    static const struct {
        const char *query;
        const char *code;
    } cases[] = {
        {"maps?start=0x2000&end=0x1000", "bad_range"},
        {"maps?start=0x1000&end=0x1000", "bad_range"},
        {"maps?start=xyz", "bad_address"},
        {"maps?end=", "bad_address"},
        {"maps?rss=1&start=0x10&end=0x8", "bad_range"},
        {"maps?rss=1&layout=rows&end=0x1g", "bad_address"},
        {"smaps?start=0x7000&end=0x10", "bad_range"},
        {"smaps?group=path&end=0x1000", "bad_range"},
        {"smaps?group=path&start=0x1000", "bad_range"},
        {"smaps?layout=rows&start=-1", "bad_address"},
    };
    char p[160];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(p, sizeof p, "/api/v1/processes/%d/%s", (int)getpid(), cases[i].query);
        CHECK(http_expect(&srv, "GET", p, NULL, NULL, 400, cases[i].code));
    }
}

int main(void)
{
    if (!server_start(&srv, NULL)) {
        fprintf(stderr, "server did not start\n");
        return 1;
    }
    test_ranges();
    test_bad_ranges();
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
