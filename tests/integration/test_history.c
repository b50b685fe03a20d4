/* test_history.c - the history API against a real memscoped whose sampler runs every 200 ms on a
 * temporary data directory: figures equal to the kernel's own (read here without memscope's code),
 * snapshots and their diff placing a known growth in the right region with the exact size, a
 * process that exited still readable by start_time, the errors, and readers racing the sampler. */
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"
#include "hsubject.h"

static ms_server srv;

/* The last point of pid's history (caller decrefs root). */
static json_t *last_point(const char *extra, int pid, json_t **root)
{
    *root = http_get_json(&srv, "/api/v1/processes/%d/history?since=1m%s", pid, extra);
    json_t *pts = *root ? json_object_get(*root, "points") : NULL;
    size_t n = json_array_size(pts);
    return n ? json_array_get(pts, n - 1) : NULL;
}

/* The subject's memory is still after "ready": the sampler's figures must be the kernel's. */
static void figures_exact(void)
{
    hsubject h;
    const char *args[] = {"flat", NULL};
    CHECK(hs_start(&h, args));
    CHECK(hs_wait_rounds(&srv, 3, 60000));
    /* A small process may wait a few rounds for its rollup (largest first within the budget); once
     * read it is kept, its RSS not moving. */
    json_t *root = NULL, *p = NULL;
    for (long end = hs_now_ms() + 60000; hs_now_ms() < end; usleep(200000)) {
        json_decref(root);
        p = last_point("", h.pid, &root);
        if (p && json_is_integer(json_object_get(p, "pss")))
            break;
    }
    CHECK(p != NULL);
    if (p) {
        CHECK_EQ_U64(jint(p, "rss"), proc_kb(h.pid, "status", "VmRSS"));
        CHECK_EQ_U64(jint(p, "vm_size"), proc_kb(h.pid, "status", "VmSize"));
        CHECK_EQ_U64(jint(p, "rss_anon"), proc_kb(h.pid, "status", "RssAnon"));
        CHECK_EQ_U64(jint(p, "rss_file"), proc_kb(h.pid, "status", "RssFile"));
        CHECK_EQ_U64(jint(p, "swap"), proc_kb(h.pid, "status", "VmSwap"));
        /* PSS and USS of shared library pages move whenever another process maps the same file,
         * so they are not compared with a later read; what must hold whatever the others do: */
        long long rss = jint(p, "rss"), pss = jint(p, "pss"), uss = jint(p, "uss");
        if (json_is_null(json_object_get(p, "pss"))) {
            /* Not a guess but a skip the sampler must own up to. */
            json_t *hh, *hj = hs_health(&srv, &hh);
            CHECK(jint(hh, "sampler.rollups_skipped") > 0);
            json_decref(hj);
            CHECK_SKIP("the sampler's CPU budget never reached this small process's rollup in 60 s "
                       "(a slow build on a busy machine): pss and uss were reported unknown, as they must");
        } else {
            CHECK(pss > 0 && uss > 0);
            CHECK(jint(p, "rss_anon") <= uss && uss <= pss && pss <= rss);
        }
        CHECK(jint(root, "start_time") > 0);
        CHECK_STR(jstr(root, "tier"), "raw");
    }
    json_decref(root);
    hs_stop(&h);
}

/* The entries of diff d from snapshot from_id, as the answer promises them. */
static void check_entries(json_t *d, long long from_id)
{
    /* An entry whose figures did not change gives them once (figures); every other one gives
     * before, after and delta, and they differ somewhere.  Between two snapshots of a process
     * that only waits, most of its regions are such entries, and its grown mapping is not. */
    /* The figures come as an array in the order of the answer's fields (the size among them, so
     * such an entry has no size_before and size_after): summed with the full entries' after, they
     * give the totals' after. */
    size_t once = 0, full = 0, odd = 0, k;
    json_t *en, *fields = d ? json_object_get(d, "fields") : NULL;
    size_t nf = json_array_size(fields), rss_at = nf;
    for (size_t i = 0; i < nf; i++) {
        const char *name = json_string_value(json_array_get(fields, i));
        if (name && !strcmp(name, "rss"))
            rss_at = i;
    }
    CHECK(nf >= 10 && rss_at < nf && nf <= 64);
    long long rss_after = 0, sum[64] = {0};
    json_array_foreach(d ? json_object_get(d, "regions") : NULL, k, en) {
        json_t *f = json_object_get(en, "figures"), *b = json_object_get(en, "before"),
               *a = json_object_get(en, "after"), *dl = json_object_get(en, "delta");
        if (f && !b && !a && !dl) {
            once++;
            odd += strcmp(jstr(en, "change") ? jstr(en, "change") : "", "same") != 0;
            odd += json_array_size(f) != nf || json_object_get(en, "size_before") || json_object_get(en, "size_after");
            rss_after += json_integer_value(json_array_get(f, rss_at));
            for (size_t i = 0; i < nf && i < 64; i++)
                sum[i] += json_integer_value(json_array_get(f, i));      /* null: 0 */
        } else if (!f && b && a && dl) {
            full++;
            odd += json_equal(b, a) || jint(en, "size_before") < 0 || jint(en, "size_after") < 0;
            rss_after += jint(a, "rss");
            for (size_t i = 0; i < nf && i < 64; i++)
                sum[i] += json_integer_value(json_object_get(a, json_string_value(json_array_get(fields, i))));
        } else {
            odd++;
        }
    }
    CHECK_EQ_U64(odd, 0);
    CHECK(once > full && once + full == (size_t)jint(d, "count"));
    CHECK_EQ_U64(rss_after, jint(d, "totals.after.rss"));
    /* And so does every other field the totals give (the page sizes they leave out). */
    json_t *tafter = json_object_get(json_object_get(d, "totals"), "after");
    size_t compared = 0;
    for (size_t i = 0; i < nf && i < 64; i++) {
        json_t *t = json_object_get(tafter, json_string_value(json_array_get(fields, i)));
        if (t) {
            CHECK_EQ_U64(sum[i], json_integer_value(t));
            compared++;
        }
    }
    CHECK(compared >= 10);
    /* An entry given once is one region on each side at the same place: the from snapshot has a
     * region with its start, end, path and kind. */
    json_t *s = http_get_json(&srv, "/api/v1/snapshots/%lld", from_id);
    size_t placed = 0, j;
    json_t *sr, *sregs = s ? json_object_get(s, "regions") : NULL;
    json_array_foreach(d ? json_object_get(d, "regions") : NULL, k, en) {
        if (!json_object_get(en, "figures"))
            continue;
        bool found = false;
        json_array_foreach(sregs, j, sr) {
            if (json_equal(json_object_get(sr, "start"), json_object_get(en, "start"))) {
                found = json_equal(json_object_get(sr, "end"), json_object_get(en, "end")) &&
                        json_equal(json_object_get(sr, "path"), json_object_get(en, "path")) &&
                        json_equal(json_object_get(sr, "kind"), json_object_get(en, "kind"));
                break;
            }
        }
        placed += found;
    }
    CHECK_EQ_U64(placed, once);
    json_decref(s);
}

/* POST a snapshot, grow by a known mapping, diff against now and against a second snapshot. */
static void snapshots_and_diff(void)
{
    const long long grow = 24LL << 20;
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%lld", grow);
    hsubject h;
    const char *args[] = {"grow", "3000", bytes, NULL};
    CHECK(hs_start(&h, args));
    char path[128];
    snprintf(path, sizeof path, "/api/v1/processes/%d/snapshots", h.pid);
    http_resp r;
    CHECK(http_do(&srv, "POST", path, NULL, json_ct, &r) && r.status == 201);
    long long id1 = jint(r.json, "id");
    CHECK(id1 > 0);
    CHECK_STR(jstr(r.json, "reason"), "manual");
    http_resp_free(&r);
    char line[32];
    CHECK(fgets(line, sizeof line, h.out) != NULL);       /* "grown" */

    json_t *d = http_get_json(&srv, "/api/v1/processes/%d/diff?from=%lld", h.pid, id1);
    CHECK(d != NULL);
    json_t *regs = d ? json_object_get(d, "regions") : NULL;
    json_t *top = json_array_get(regs, 0);                /* sorted by |rss change| */
    /* A new mapping, or one the kernel merged into its anonymous neighbour: */
    CHECK(jstr(top, "change") && (!strcmp(jstr(top, "change"), "added") || !strcmp(jstr(top, "change"), "grown")));
    CHECK_EQ_U64(jint(top, "delta.rss"), grow);
    CHECK_EQ_U64(jint(top, "size_after") - jint(top, "size_before"), grow);
    CHECK_STR(jstr(top, "kind"), "anon");
    CHECK(jint(d, "totals.delta.rss") >= grow);
    check_entries(d, id1);
    json_decref(d);

    CHECK(http_do(&srv, "POST", path, NULL, json_ct, &r) && r.status == 201);
    long long id2 = jint(r.json, "id");
    http_resp_free(&r);
    d = http_get_json(&srv, "/api/v1/processes/%d/diff?from=%lld&to=%lld&group=kind", h.pid, id1, id2);
    CHECK(d && jint(d, "to") == id2);
    json_t *g0 = json_array_get(d ? json_object_get(d, "groups") : NULL, 0);
    CHECK_STR(jstr(g0, "kind"), "anon");
    CHECK(jint(g0, "delta.rss") >= grow);
    check_entries(d, id1);
    json_decref(d);

    /* The snapshot keeps every region and field: as many regions as the kernel's smaps had. */
    json_t *s = http_get_json(&srv, "/api/v1/snapshots/%lld", id2);
    CHECK(s && json_array_size(json_object_get(s, "regions")) == (size_t)jint(s, "region_count"));
    json_t *r0 = json_array_get(s ? json_object_get(s, "regions") : NULL, 0);
    CHECK(jint(r0, "fields.rss") >= 0 && jint(r0, "fields.size") > 0);
    json_decref(s);
    /* Both listed (an automatic one may have joined them: the process grew by more than 20%). */
    json_t *l = http_get_json(&srv, "/api/v1/snapshots?pid=%d", h.pid);
    int listed = 0;
    json_t *e;
    size_t i;
    json_array_foreach(l ? json_object_get(l, "snapshots") : NULL, i, e) {
        listed += jint(e, "id") == id1 || jint(e, "id") == id2;
        CHECK(jint(e, "pid") == h.pid);
    }
    CHECK(listed == 2);
    json_decref(l);

    snprintf(path, sizeof path, "/api/v1/snapshots/%lld", id1);
    CHECK(http_do(&srv, "DELETE", path, NULL, NULL, &r) && r.status == 200);
    http_resp_free(&r);
    CHECK(http_get(&srv, path, &r) && r.status == 404);
    CHECK_STR(jstr(r.json, "error.code"), "no_such_snapshot");
    http_resp_free(&r);
    CHECK(http_do(&srv, "DELETE", path, NULL, NULL, &r) && r.status == 404);
    http_resp_free(&r);

    /* After it exits, its history stays readable by start_time. */
    json_t *root, *p = last_point("", h.pid, &root);
    long long st = jint(root, "start_time");
    CHECK(p != NULL);
    json_decref(root);
    int pid = h.pid;
    hs_stop(&h);
    CHECK(hs_wait_rounds(&srv, 2, 60000));
    char q[64];
    snprintf(q, sizeof q, "&start_time=%lld", st);
    p = last_point(q, pid, &root);
    CHECK(p && jint(root, "start_time") == st);
    json_decref(root);
    json_t *seen = http_get_json(&srv, "/api/v1/history/processes?since=1m");
    bool found = false;
    json_array_foreach(seen ? json_object_get(seen, "processes") : NULL, i, e)
        found = found || (jint(e, "pid") == pid && jint(e, "start_time") == st);
    CHECK(found);
    json_decref(seen);
}

static void expect_status(const char *path, long status, const char *code)
{
    http_resp r;
    CHECK(http_get(&srv, path, &r) && r.status == status);
    if (code)
        CHECK_STR(jstr(r.json, "error.code"), code);
    if (r.status != status)
        fprintf(stderr, "GET %s -> %ld %.200s\n", path, r.status, r.body ? r.body : "");
    http_resp_free(&r);
}

/* A pid no process has: above every live one, below pid_max. */
static int unused_pid(void)
{
    char *s = run_capture("cat /proc/sys/kernel/pid_max");
    int max = s ? atoi(s) : 32768;
    free(s);
    for (int pid = max - 1; pid > 1; pid--) {
        char p[32];
        snprintf(p, sizeof p, "/proc/%d", pid);
        if (access(p, F_OK) != 0)
            return pid;
    }
    return 0;
}

static void errors(void)
{
    char p[128];
    snprintf(p, sizeof p, "/api/v1/processes/%d/history", unused_pid());
    expect_status(p, 404, "no_such_process");
    snprintf(p, sizeof p, "/api/v1/processes/%d/history?since=yesterday", getpid());
    expect_status(p, 400, "bad_time");
    snprintf(p, sizeof p, "/api/v1/processes/%d/history?since=10&until=5", getpid());
    expect_status(p, 400, "bad_range");
    snprintf(p, sizeof p, "/api/v1/processes/%d/history?step=-1", getpid());
    expect_status(p, 400, "bad_duration");
    expect_status("/api/v1/growth?window=banana", 400, "bad_duration");
    expect_status("/api/v1/growth?window=1s", 400, "bad_duration");
    expect_status("/api/v1/snapshots/0", 400, "bad_id");
    expect_status("/api/v1/snapshots/123456789", 404, "no_such_snapshot");
    snprintf(p, sizeof p, "/api/v1/processes/%d/diff", getpid());
    expect_status(p, 400, "missing_field");
    snprintf(p, sizeof p, "/api/v1/processes/%d/diff?from=123456789", getpid());
    expect_status(p, 404, "no_such_snapshot");
    /* from and to are snapshot ids in the query: the same refusal as a bad id in the path */
    static const char *const bad_ids[] = {"0", "-1", "abc", "1x", "18446744073709551616", NULL};
    for (int i = 0; bad_ids[i]; i++) {
        snprintf(p, sizeof p, "/api/v1/processes/%d/diff?from=%s", getpid(), bad_ids[i]);
        expect_status(p, 400, "bad_id");
        snprintf(p, sizeof p, "/api/v1/processes/%d/diff?from=1&to=%s", getpid(), bad_ids[i]);
        expect_status(p, 400, "bad_id");
    }
    json_t *h, *j = hs_health(&srv, &h);
    CHECK_STR(jstr(h, "status"), "ok");
    CHECK(jint(h, "sampler.write_errors") == 0);
    json_decref(j);
}

/* Readers hammer the history while the sampler writes every 200 ms: every answer whole and 200. */
static atomic_int race_bad, race_done;

static void *reader(void *arg)
{
    int pid = *(int *)arg;
    for (long end = hs_now_ms() + 3000; hs_now_ms() < end;) {
        char p[128];
        snprintf(p, sizeof p, "/api/v1/processes/%d/history?since=1m", pid);
        const char *paths[] = {p, "/api/v1/system/history?since=1m", "/api/v1/growth?window=10s",
                               "/api/v1/history/processes?since=10s"};
        for (int k = 0; k < 4; k++) {
            http_resp r;
            if (!http_get(&srv, paths[k], &r) || r.status != 200 || !r.json)
                atomic_fetch_add(&race_bad, 1);
            else
                atomic_fetch_add(&race_done, 1);
            http_resp_free(&r);
        }
    }
    return NULL;
}

/* ---- diffs sharing their workspaces ---- */

typedef struct {
    const char *path;         /* a diff of two stored snapshots: the same answer every time */
    const char *want;
    size_t want_len;
    const char *now_path;     /* a diff against now: a whole answer every time */
    long long count;
    atomic_int bad, done;
} diff_racer;

static void *diff_race(void *arg)
{
    diff_racer *d = arg;
    for (int i = 0; i < 6; i++) {
        http_resp r;
        bool now = i % 3 == 2;
        if (!http_get(&srv, now ? d->now_path : d->path, &r) || r.status != 200 || !r.json ||
            (!now && (r.len != d->want_len || memcmp(r.body, d->want, r.len) != 0)) ||
            (now && jint(r.json, "count") != (long long)json_array_size(json_object_get(r.json, "regions"))))
            atomic_fetch_add(&d->bad, 1);
        else
            atomic_fetch_add(&d->done, 1);
        http_resp_free(&r);
    }
    return NULL;
}

/* A diff's buffers are kept for the next one (/health counts the workspaces made and reused):
 * diffs one after the other make no new one, and diffs at once, each of a 3,000-region process
 * (answers of ~1.5 MB, so that their streams overlap), each get a workspace of their own: every
 * answer of the two stored snapshots is byte for byte the one given alone. */
static void diff_workspaces(void)
{
    ms_subject subj;
    const char *args[] = {"--regions", "3000", "--pages", "64", "--write", "16", NULL};
    CHECK(subject_start(&subj, args));
    int pid = subj.pid;
    char path[128], now_path[128];
    snprintf(path, sizeof path, "/api/v1/processes/%d/snapshots", pid);
    http_resp r;
    long long id[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        CHECK(http_do(&srv, "POST", path, NULL, json_ct, &r) && r.status == 201);
        id[i] = jint(r.json, "id");
        http_resp_free(&r);
    }
    snprintf(path, sizeof path, "/api/v1/processes/%d/diff?from=%lld&to=%lld", pid, id[0], id[1]);
    snprintf(now_path, sizeof now_path, "/api/v1/processes/%d/diff?from=%lld", pid, id[0]);
    http_resp want;
    CHECK(http_get(&srv, path, &want) && want.status == 200 && jint(want.json, "count") >= 3000);
    json_t *h, *j = hs_health(&srv, &h);
    long long made = jint(h, "diff_workspaces.made"), reused = jint(h, "diff_workspaces.reused");
    CHECK(made >= 1 && jint(h, "diff_workspaces.kept") >= 1 && jint(h, "diff_workspaces.kept_bytes") > 0);
    json_decref(j);
    for (int i = 0; i < 3; i++) {
        CHECK(http_get(&srv, i == 1 ? now_path : path, &r) && r.status == 200);
        CHECK(i == 1 || (r.len == want.len && memcmp(r.body, want.body, r.len) == 0));
        http_resp_free(&r);
    }
    j = hs_health(&srv, &h);
    CHECK_EQ_U64(jint(h, "diff_workspaces.made"), made);          /* one after the other: none new */
    CHECK_EQ_U64(jint(h, "diff_workspaces.reused"), reused + 3);
    json_decref(j);

    diff_racer d = {.path = path, .want = want.body, .want_len = want.len, .now_path = now_path};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, diff_race, &d);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_U64(atomic_load(&d.bad), 0);
    CHECK_EQ_U64(atomic_load(&d.done), 4 * 6);
    j = hs_health(&srv, &h);
    CHECK_EQ_U64(jint(h, "diff_workspaces.made") + jint(h, "diff_workspaces.reused"), made + reused + 3 + 4 * 6);
    CHECK(jint(h, "diff_workspaces.kept") <= 2);
    json_decref(j);
    http_resp_free(&want);
    subject_stop(&subj);
}

static void race_with_sampler(void)
{
    pthread_t t[4];
    int pid = srv.pid;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader, &pid);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(atomic_load(&race_bad) == 0);
    CHECK(atomic_load(&race_done) >= 4);
    json_t *h, *j = hs_health(&srv, &h);
    CHECK(jint(h, "sampler.write_errors") == 0);
    json_decref(j);
}

int main(void)
{
    char dir[256];
    CHECK(hs_tmpdir(dir, sizeof dir));
    const char *extra[] = {"--data-dir", dir, "--sample-interval", "200ms", "--sample-budget", "100%", NULL};
    if (!server_start(&srv, extra)) {
        fprintf(stderr, "memscoped did not start\n");
        return 1;
    }
    figures_exact();
    snapshots_and_diff();
    errors();
    diff_workspaces();
    race_with_sampler();
    CHECK(server_stop(&srv) == 0);      /* SIGTERM stops the sampler cleanly */
    hs_rmdir(dir);
    return check_done();
}
