/* test_growth.c - leak detection on real processes: with a 1 s sampler, a process leaking 4 MiB/s
 * into its heap for about 50 s is reported by /growth with the slope within 10% and [heap] as the
 * region that grew; a sawtooth, a process that grew once and then stayed flat, and a flat one are
 * not reported.  About 60 s. */
#include "check.h"
#include "hsubject.h"

#define RATE (4.0 * 1024 * 1024)

static json_t *find_pid(json_t *list, int pid)
{
    json_t *e;
    size_t i;
    json_array_foreach(list, i, e)
        if (jint(e, "pid") == pid)
            return e;
    return NULL;
}

int main(void)
{
    char dir[256];
    CHECK(hs_tmpdir(dir, sizeof dir));
    ms_server srv;
    const char *extra[] = {"--data-dir", dir, "--sample-interval", "1s", "--sample-budget", "50%", NULL};
    if (!server_start(&srv, extra)) {
        fprintf(stderr, "memscoped did not start\n");
        return 1;
    }
    char rate[32];
    snprintf(rate, sizeof rate, "%.0f", RATE);
    hsubject leak, saw, once, flat;
    const char *a_leak[] = {"leak", rate, NULL};
    const char *a_saw[] = {"sawtooth", "50331648", "4", NULL};      /* 48 MiB up in 4 s, then down */
    const char *a_once[] = {"grow", "8000", "67108864", NULL};      /* 64 MiB at 8 s, then flat */
    const char *a_flat[] = {"flat", NULL};
    CHECK(hs_start(&leak, a_leak));
    CHECK(hs_start(&saw, a_saw));
    CHECK(hs_start(&once, a_once));
    CHECK(hs_start(&flat, a_flat));
    /* A snapshot of the leaker near its start, so the growth can be placed in a region. */
    usleep(1500000);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/processes/%d/snapshots", leak.pid);
    http_resp r;
    CHECK(http_do(&srv, "POST", path, NULL, json_ct, &r) && r.status == 201);
    http_resp_free(&r);
    sleep(48);
    json_t *g = http_get_json(&srv, "/api/v1/growth?window=45s");
    json_t *list = g ? json_object_get(g, "processes") : NULL;
    json_t *e = find_pid(list, leak.pid);
    CHECK(e != NULL);
    if (e) {
        double slope = json_real_value(json_object_get(e, "slope"));
        fprintf(stderr, "leaker: slope %.0f B/s (rate %.0f), r2 %.4f, points %lld\n", slope, RATE,
                json_real_value(json_object_get(e, "r2")), jint(e, "points"));
        CHECK(slope > RATE * 0.9 && slope < RATE * 1.1);
        CHECK(jint(e, "last") > jint(e, "first"));
        json_t *top = json_array_get(json_object_get(e, "regions"), 0);
        CHECK_STR(jstr(top, "path"), "[heap]");
        CHECK_STR(jstr(top, "kind"), "heap");
        CHECK(jint(top, "rss_delta") > (long long)(RATE * 30));
        CHECK(jint(e, "kinds.heap") > (long long)(RATE * 30));
    }
    CHECK(find_pid(list, saw.pid) == NULL);
    CHECK(find_pid(list, once.pid) == NULL);
    CHECK(find_pid(list, flat.pid) == NULL);
    /* The sawtooth and grow-once subjects did move: the store saw them (not a vacuous pass). */
    json_t *h = http_get_json(&srv, "/api/v1/processes/%d/history?since=2m", once.pid);   /* its whole life */
    size_t n = json_array_size(json_object_get(h, "points"));
    CHECK(n > 10);
    if (n > 10)
        CHECK(jint(json_array_get(json_object_get(h, "points"), n - 1), "rss") -
              jint(json_array_get(json_object_get(h, "points"), 0), "rss") > (60LL << 20));
    json_decref(h);
    if (!e || find_pid(list, saw.pid) || find_pid(list, once.pid)) {
        char *dump = g ? json_dumps(g, JSON_COMPACT) : NULL;
        fprintf(stderr, "growth: %.2000s\n", dump ? dump : "(none)");
        free(dump);
    }
    json_decref(g);
    hs_stop(&leak);
    hs_stop(&saw);
    hs_stop(&once);
    hs_stop(&flat);
    CHECK(server_stop(&srv) == 0);
    hs_rmdir(dir);
    return check_done();
}
