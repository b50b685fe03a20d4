/* test_datastates.c - what the process routes say about processes and addresses at the edges.
 *
 * Against a real memscoped and the real kernel: a kernel thread (pid 2, kthreadd) and a zombie this
 * test makes get one consistent answer on every route (no address space: 200 with no regions where
 * regions are listed, 409 no_address_space where pages are read); the last page of the user address
 * space reads with both pagemap methods; frames=1 works on a range with more runs than a whole
 * answer may hold; smaps?group=path stays small on a many-region process and equals the ungrouped
 * sums; mapped files with awkward names (a real "x (deleted)", a newline, trailing spaces,
 * bytes that are not UTF-8) are reported exactly; and smaps?layout=rows says, region by region,
 * exactly what the object layout says (of those names too, and of a kernel thread). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static ms_server srv;

/* A missing member is a failed check, not a crash. */
static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool jbool(const json_t *j, const char *k)
{
    return json_is_true(json_object_get(j, k));
}

/* One region of smaps?layout=rows turned back into the object layout: its head columns, "fields"
 * from the field columns (a null is a field the region does not have) and the row's trailing
 * object, vm_flags split on spaces, path_hex from the object. */
static json_t *row_as_object(const json_t *cols, const json_t *fields, const json_t *row)
{
    json_t *o = json_object();
    size_t nh = json_array_size(cols), nf = json_array_size(fields);
    for (size_t i = 0; i < nh; i++)
        json_object_set(o, json_string_value(json_array_get(cols, i)), json_array_get(row, i));
    json_t *f = json_object();
    for (size_t i = 0; i < nf; i++) {
        const json_t *v = json_array_get(row, nh + i);
        if (v && !json_is_null(v))
            json_object_set(f, json_string_value(json_array_get(fields, i)), (json_t *)v);
    }
    const json_t *more = json_array_get(row, nh + nf + 1);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)more, k, v) {
        if (strcmp(k, "path_hex") == 0)
            json_object_set(o, k, v);
        else
            json_object_set(f, k, v);
    }
    json_object_set_new(o, "fields", f);
    json_t *flags = json_array();
    const char *vf = json_string_value(json_array_get(row, nh + nf));
    for (const char *c = vf ? vf : ""; *c;) {
        size_t n = strcspn(c, " ");
        if (n)
            json_array_append_new(flags, json_stringn(c, n));
        c += n + (c[n] == ' ');
    }
    json_object_set_new(o, "vm_flags", flags);
    CHECK(json_array_size(row) == nh + nf + 1 + (more != NULL));
    return o;
}

/* Whether rows (smaps?layout=rows) says what objs (the object layout) says: every region, every
 * field, and every other member (count, totals, uss, kernel_thread, zombie). */
static bool rows_match(const json_t *rows, const json_t *objs)
{
    if (!streq(jstr(rows, "layout"), "rows"))
        return false;
    const json_t *cols = json_object_get(rows, "columns"), *fields = json_object_get(rows, "fields");
    json_t *conv = json_array();
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(rows, "regions"), i, row)
        json_array_append_new(conv, row_as_object(cols, fields, row));
    bool same = json_equal(conv, json_object_get(objs, "regions"));
    json_decref(conv);
    /* + layout, columns, fields, regions */
    return same && json_members_match(rows, objs, "regions", 4);
}

/* smaps?layout=rows of pid against its object layout read just before and just after.  When those
 * two agree the rows must say exactly the same.  Agreeing reads can still straddle a change and
 * its undoing (a library's Pss moves while a short-lived process maps it too), so a mismatch
 * fails only when it repeats at three quiet moments; one match settles it. */
static void rows_equal_objects(int pid)
{
    int quiet_mismatches = 0;
    for (int attempt = 0; attempt < 20; attempt++) {
        json_t *a = http_get_json(&srv, "/api/v1/processes/%d/smaps", pid);
        json_t *r = http_get_json(&srv, "/api/v1/processes/%d/smaps?layout=rows", pid);
        json_t *b = http_get_json(&srv, "/api/v1/processes/%d/smaps", pid);
        CHECK(a && r && b);
        bool quiet = a && b && r && json_equal(a, b);
        bool same = quiet && rows_match(r, a);
        json_decref(a);
        json_decref(r);
        json_decref(b);
        if (same || (quiet && ++quiet_mismatches == 3)) {
            if (!same)
                fprintf(stderr, "smaps of %d: the rows differ from the objects at 3 quiet moments\n", pid);
            CHECK(same);
            return;
        }
    }
    CHECK_SKIP("smaps of %d kept changing between reads (20 tries): its rows not compared", pid);
}

static void expect_no_mm(int pid, const char *what)
{
    bool kthread = strcmp(what, "kernel thread") == 0;
    json_t *p = http_get_json(&srv, "/api/v1/processes/%d", pid);
    CHECK(p != NULL);
    if (p) {
        CHECK(jbool(p, "kernel_thread") == kthread);
        CHECK(jbool(p, "zombie") == !kthread);
        CHECK(json_is_false(json_object_get(p, "address_space")));
        CHECK(json_is_null(json_object_get(p, "rollup")));
        const char *why = jstr(p, "rollup_error");
        CHECK(why && strstr(why, what) && !strstr(why, "not supported"));
        json_decref(p);
    }
    const char *lists[] = {"maps", "smaps", "smaps?group=path"};
    for (size_t i = 0; i < 3; i++) {
        json_t *m = http_get_json(&srv, "/api/v1/processes/%d/%s", pid, lists[i]);
        CHECK(m != NULL);
        if (!m)
            continue;
        CHECK(jint(m, "count") == 0);
        CHECK(jbool(m, "kernel_thread") == kthread);
        CHECK(jbool(m, "zombie") == !kthread);
        json_decref(m);
    }
    const char *pages[] = {"pagemap?start=0x0&end=0x1000", "pagemap?start=0x0&end=0x1000&method=pread",
                           "pagemap?start=0x1000&end=0x3000&frames=1", "translate?addr=0x1000"};
    for (size_t i = 0; i < 4; i++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/processes/%d/%s", pid, pages[i]);
        http_resp r;
        CHECK(http_get(&srv, path, &r));
        CHECK(r.status == 409);
        const char *code = jstr(r.json, "error.code"), *msg = jstr(r.json, "error.message");
        CHECK(streq(code, "no_address_space"));
        CHECK(msg && strstr(msg, what));
        if (r.status != 409)
            fprintf(stderr, "  %s: %ld %s\n", path, r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
    /* the list says the same */
    json_t *l = http_get_json(&srv, "/api/v1/processes?fresh=1");
    bool seen = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(l, "processes"), i, e) {
        if (jint(e, "pid") != pid)
            continue;
        seen = true;
        CHECK(jbool(e, "kernel_thread") == kthread);
        CHECK(kthread || streq(jstr(e, "state"), "Z"));
    }
    CHECK(seen);
    json_decref(l);
}

static void kthread_and_zombie(void)
{
    /* pid 2 is kthreadd on a host; in a container or a pid namespace it is something else */
    char buf[256] = "";
    FILE *f = fopen("/proc/2/stat", "r");
    bool have_kthreadd = f && fgets(buf, sizeof buf, f) && strstr(buf, "(kthreadd)");
    if (f)
        fclose(f);
    if (have_kthreadd) {
        expect_no_mm(2, "kernel thread");
        rows_equal_objects(2);
    } else
        CHECK_SKIP("pid 2 is not kthreadd here (a pid namespace): no kernel thread to look at");

    pid_t z = fork();
    if (z == 0)
        _exit(0);
    CHECK(z > 0);
    if (z <= 0)
        return;
    /* Wait until it is a zombie without reaping it. */
    siginfo_t si;
    CHECK(waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT) == 0);
    expect_no_mm(z, "zombie");
    waitpid(z, NULL, 0);
}

/* ---- the last page of the user address space ---- */

static void last_page(void)
{
    json_t *sys = http_get_json(&srv, "/api/v1/system");
    const char *top = sys ? jstr(sys, "user_space_top") : NULL;
    bool x86_47 = top && strcmp(top, "0x800000000000") == 0;
    json_decref(sys);
    if (!x86_47) {
        CHECK_SKIP("the user address space does not end at 2^47 here (not x86-64 with 4-level paging)");
        return;
    }
    int pid = (int)getpid();
    const char *methods[] = {"scan", "pread"};
    for (int m = 0; m < 2; m++) {
        json_t *j = http_get_json(&srv, "/api/v1/processes/%d/pagemap?start=0x7ffffffff000&end=0x800000000000&method=%s",
                                  pid, methods[m]);
        CHECK(j != NULL);
        if (j) {
            CHECK(streq(jstr(j, "method"), methods[m]));
            CHECK(jint(j, "counts.pages") == 1 && jint(j, "counts.present") == 0);
            CHECK(streq(jstr(j, "address_space_end"), "0x7ffffffff000"));
            json_t *run = json_array_get(json_object_get(j, "runs"), 0);
            CHECK(json_array_size(json_object_get(j, "runs")) == 1);
            CHECK(streq(json_string_value(json_array_get(run, 0)), "0x7ffffffff000"));
            CHECK(streq(json_string_value(json_array_get(run, 1)), "0x800000000000"));
            CHECK(streq(json_string_value(json_array_get(run, 2)), "absent"));
            json_decref(j);
        }
        /* a range that ends there, with the stack page below it in it */
        j = http_get_json(&srv, "/api/v1/processes/%d/pagemap?start=0x7ff000000000&end=0x800000000000&method=%s",
                          pid, methods[m]);
        CHECK(j != NULL);
        if (j) {
            CHECK(jint(j, "counts.pages") == 0x1000000);
            size_t n = json_array_size(json_object_get(j, "runs"));
            json_t *last = json_array_get(json_object_get(j, "runs"), n - 1);
            CHECK(n >= 1 && streq(json_string_value(json_array_get(last, 1)), "0x800000000000"));
            json_decref(j);
        }
        j = http_get_json(&srv, "/api/v1/processes/%d/pagemap?start=0x7fffffffe000&end=0x800000000000&frames=1&method=%s",
                          pid, methods[m]);
        CHECK(j != NULL);
        if (j) {
            json_t *fr = json_object_get(j, "frames");
            CHECK(json_array_size(fr) == 2);
            CHECK(streq(jstr(json_array_get(fr, 1), "addr"), "0x7ffffffff000"));
            CHECK(json_is_false(json_object_get(json_array_get(fr, 1), "present")));
            json_decref(j);
        }
    }
    json_t *t = http_get_json(&srv, "/api/v1/processes/%d/translate?addr=0x7ffffffff123", pid);
    CHECK(t != NULL);
    if (t) {
        CHECK(json_is_null(json_object_get(t, "region")));
        CHECK(json_is_false(json_object_get(json_object_get(t, "page"), "present")));
        CHECK(jint(t, "page_offset") == 0x123);
        CHECK(jstr(t, "explain") && strstr(jstr(t, "explain"), "never maps"));
        json_decref(t);
    }
}

/* ---- frames=1 on a range with more runs than one answer may hold ---- */

static void frames_many_runs(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    size_t npages = 2 * 50100;      /* every other page touched: over 100,000 runs */
    unsigned char *a = mmap(NULL, npages * (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    if (a == MAP_FAILED)
        return;
    madvise(a, npages * (size_t)ps, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < npages; i += 2)
        a[i * (size_t)ps] = 1;
    unsigned long long s = (unsigned long long)(uintptr_t)a, e = s + npages * (unsigned long long)ps;
    int pid = (int)getpid();
    char path[200];
    snprintf(path, sizeof path, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx", pid, s, e);
    http_resp r;
    CHECK(http_get(&srv, path, &r));
    CHECK(r.status == 413);           /* the whole range's runs at once are still capped */
    http_resp_free(&r);

    json_t *j = http_get_json(&srv, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx&frames=1", pid, s, e);
    CHECK(j != NULL);
    if (j) {
        CHECK(jint(j, "counts.pages") == (long long)npages);
        CHECK(jint(j, "counts.present") == (long long)npages / 2);
        size_t nfr = json_array_size(json_object_get(j, "frames"));
        CHECK(nfr == (size_t)jint(j, "frames_cap"));
        json_t *runs = json_object_get(j, "runs");
        CHECK(json_array_size(runs) == nfr);           /* one page per run: touched, untouched, ... */
        char want[32];
        snprintf(want, sizeof want, "0x%llx", s + nfr * (unsigned long long)ps);
        CHECK(streq(jstr(j, "runs_cover.end"), want));
        CHECK(streq(jstr(j, "next_cursor"), want));
        json_t *r0 = json_array_get(runs, 0), *r1 = json_array_get(runs, 1);
        CHECK(streq(json_string_value(json_array_get(r0, 2)), "anon"));
        CHECK(streq(json_string_value(json_array_get(r1, 2)), "absent"));
        /* the next page of frames carries the next runs */
        json_t *k = http_get_json(&srv, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx&frames=1&cursor=%s",
                                  pid, s, e, want);
        CHECK(k && streq(jstr(k, "runs_cover.start"), want));
        CHECK(k && streq(json_string_value(json_array_get(json_array_get(json_object_get(k, "runs"), 0), 0)), want));
        json_decref(k);
        json_decref(j);
    }
    munmap(a, npages * (size_t)ps);
}

/* ---- smaps?group=path ---- */

static long long vm_hwm(pid_t pid)
{
    return proc_kb((int)pid, "status", "VmHWM");
}

static void *get_grouped(void *arg)
{
    const char *path = arg;
    http_resp r;
    if (http_get(&srv, path, &r)) {
        if (r.status != 200)
            fprintf(stderr, "  grouped answer: %ld\n", r.status);
        http_resp_free(&r);
    }
    return NULL;
}

static void grouped_memory(void)
{
    ms_subject s;
    const char *args[] = {"--regions", "60000", NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject with 60,000 regions started");
        return;
    }
    char path[96];
    snprintf(path, sizeof path, "/api/v1/processes/%d/smaps?group=path", s.pid);
    json_t *j = http_get_json(&srv, "%s", path);
    CHECK(j && jint(j, "count") > 60000);
    json_decref(j);
    long long before = vm_hwm(srv.pid);
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, get_grouped, path);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    long long after = vm_hwm(srv.pid);
    fprintf(stderr, "  memscoped VmHWM %lld -> %lld KiB over 7 grouped answers on 60,000 regions\n",
            before / 1024, after / 1024);
    /* Holding every region took some 35 MB an answer; streaming takes a block and the groups. */
    CHECK(before > 0 && after - before < 24LL << 20);
    subject_stop(&s);
}

static json_t *group_of(json_t *groups, const char *path)
{
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
        if (streq(jstr(g, "path"), path))
            return g;
    return NULL;
}

static void grouped_equals_sums(void)
{
    char dir[] = "/tmp/memscope-groupXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ms_subject s;
    const char *args[] = {"--pages", "64", "--write", "20", "--regions", "300", "--file-dir", dir, NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject started");
        return;
    }
    /* The subject settles after its line (its first calls fault in more of libc): take the grouped
     * answer between two ungrouped ones that agree, so the process held still across it. */
    json_t *all = NULL, *grp = NULL;
    bool still = false;
    for (int attempt = 0; attempt < 20 && !still; attempt++) {
        json_decref(all);
        json_decref(grp);
        all = http_get_json(&srv, "/api/v1/processes/%d/smaps", s.pid);
        grp = http_get_json(&srv, "/api/v1/processes/%d/smaps?group=path", s.pid);
        json_t *again = http_get_json(&srv, "/api/v1/processes/%d/smaps", s.pid);
        json_t *t1 = json_deep_copy(json_object_get(all, "totals")), *t2 = json_deep_copy(json_object_get(again, "totals"));
        const char *moving[] = {"pss", "pss_anon", "pss_file", "pss_shmem", "pss_dirty", "swap_pss"};
        for (size_t i = 0; i < sizeof moving / sizeof moving[0]; i++) {
            json_object_del(t1, moving[i]);
            json_object_del(t2, moving[i]);
        }
        still = t1 && t2 && json_equal(t1, t2);
        json_decref(t1);
        json_decref(t2);
        json_decref(again);
        if (!still)
            usleep(100 * 1000);
    }
    CHECK(still);
    CHECK(all && grp);
    if (all && grp) {
        CHECK(jint(all, "count") == jint(grp, "count"));
        json_t *sums = json_object(), *nreg = json_object(), *shared = json_object();
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(all, "regions"), i, r) {
            const char *p = jstr(r, "path");
            json_t *acc = json_object_get(sums, p);
            if (!acc) {
                acc = json_object();
                json_object_set_new(sums, p, acc);
            }
            json_object_set_new(nreg, p, json_integer(json_integer_value(json_object_get(nreg, p)) + 1));
            const char *k;
            json_t *v;
            json_t *fields = json_object_get(r, "fields");
            json_object_foreach(fields, k, v) {
                if (!json_is_integer(v) || !strcmp(k, "kernel_page_size") || !strcmp(k, "mmu_page_size") ||
                    !strcmp(k, "protection_key") || !strcmp(k, "thp_eligible"))
                    continue;
                json_object_set_new(acc, k, json_integer(json_integer_value(json_object_get(acc, k)) + json_integer_value(v)));
            }
            if (jint(fields, "shared_clean") > 0 || jint(fields, "shared_dirty") > 0)
                json_object_set_new(shared, p, json_true());
        }
        CHECK(json_array_size(json_object_get(grp, "groups")) == json_object_size(sums));
        const char *p;
        json_t *acc;
        int compared = 0;
        json_object_foreach(sums, p, acc) {
            json_t *g = group_of(json_object_get(grp, "groups"), p);
            CHECK(g != NULL);
            if (!g)
                continue;
            CHECK(jint(g, "regions") == json_integer_value(json_object_get(nreg, p)));
            const char *k;
            json_t *v;
            json_object_foreach(acc, k, v) {
                /* Pss of a page shared with other processes moves as they come and go: only
                 * groups with no shared pages have a Pss that holds still. */
                bool moving = strncmp(k, "pss", 3) == 0 || !strcmp(k, "swap_pss");
                if (moving && json_object_get(shared, p))
                    continue;
                long long gv = jint(json_object_get(g, "fields"), k);
                if (gv != json_integer_value(v))
                    fprintf(stderr, "  group '%s' %s: %lld vs sum %lld\n", p, k, gv, (long long)json_integer_value(v));
                CHECK(gv == json_integer_value(v));
                compared++;
            }
        }
        CHECK(compared > 50);
        json_decref(sums);
        json_decref(nreg);
        json_decref(shared);
    }
    json_decref(all);
    json_decref(grp);
    subject_stop(&s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    free(run_capture(cmd));
}

/* ---- file names ---- */

static json_t *region_at(json_t *maps, unsigned long long addr)
{
    char want[32];
    snprintf(want, sizeof want, "0x%llx", addr);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(maps, "regions"), i, r)
        if (streq(jstr(r, "start"), want))
            return r;
    return NULL;
}

static void make_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    if (fd >= 0)
        close(fd);
}

static void file_names(void)
{
    char dir[] = "/tmp/memscope-namesXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    enum { REAL, GONE_SUFFIXED, GONE, NEWLINE, TRAILING, NOT_UTF8, CONTROL, BACKSLASH, N };
    const char *names[N] = {"x (deleted)", "y (deleted)", "plain", "new\nline", "trailing  ", "bad\xff\xfe name",
                            "tab\tesc\x1b\"quote\"", "back\\slash \xc3\xa9"};
    char paths[N][256];
    const char *args[2 * N + 1];
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
        make_file(paths[i]);
        args[2 * i] = "--map-file";
        args[2 * i + 1] = paths[i];
    }
    args[2 * N] = NULL;
    ms_subject s;
    if (!subject_start(&s, args)) {
        CHECK(!"subject started");
        return;
    }
    unlink(paths[GONE_SUFFIXED]);
    unlink(paths[GONE]);
    json_t *maps = http_get_json(&srv, "/api/v1/processes/%d/maps", s.pid);
    CHECK(maps != NULL);
    json_t *at = json_object_get(s.info, "mapped_files");
    char want[4096];
    for (int i = 0; maps && i < N; i++) {
        unsigned long long a = strtoull(json_string_value(json_array_get(at, (size_t)i)), NULL, 16);
        json_t *r = region_at(maps, a);
        CHECK(r != NULL);
        if (!r)
            continue;
        const char *p = jstr(r, "path");
        bool deleted = json_is_true(json_object_get(r, "deleted"));
        switch (i) {
        case REAL:
        case TRAILING:
        case CONTROL:       /* JSON escapes, decoded back by the client to the same bytes */
        case BACKSLASH:
            CHECK(streq(p, paths[i]) && !deleted);
            break;
        case GONE_SUFFIXED:
        case GONE:
            snprintf(want, sizeof want, "%s (deleted)", paths[i]);
            CHECK(streq(p, want) && deleted);
            break;
        case NEWLINE:
            /* the kernel prints a newline in a name as \012; memscope passes that on as it is */
            snprintf(want, sizeof want, "%s/new\\012line", dir);
            CHECK(streq(p, want) && !deleted);
            break;
        case NOT_UTF8: {
            const char *hex = jstr(r, "path_hex");
            char h[600];
            size_t k = 0;
            for (const unsigned char *c = (const unsigned char *)paths[i]; *c; c++)
                k += (size_t)snprintf(h + k, sizeof h - k, "%02x", *c);
            CHECK(streq(hex, h));
            CHECK(p && strstr(p, "bad\xef\xbf\xbd\xef\xbf\xbd name") != NULL && !deleted);
            break;
        }
        }
        if (i != NOT_UTF8)
            CHECK(json_object_get(r, "path_hex") == NULL);
    }
    /* the compact layout of smaps carries the same names, path_hex included */
    rows_equal_objects(s.pid);
    /* translate says the same of the real "x (deleted)" */
    unsigned long long a = strtoull(json_string_value(json_array_get(at, REAL)), NULL, 16);
    json_t *t = http_get_json(&srv, "/api/v1/processes/%d/translate?addr=0x%llx", s.pid, a);
    CHECK(t && json_is_false(json_object_get(json_object_get(t, "region"), "deleted")));
    CHECK(t && streq(jstr(t, "region.path"), paths[REAL]));
    json_decref(t);
    json_decref(maps);
    subject_stop(&s);
    for (int i = 0; i < N; i++)
        unlink(paths[i]);
    rmdir(dir);
}

int main(void)
{
    if (!server_start(&srv, NULL)) {
        CHECK(!"memscoped started");
        return check_done();
    }
    kthread_and_zombie();
    last_page();
    frames_many_runs();
    grouped_equals_sums();
    file_names();
    grouped_memory();
    CHECK(server_stop(&srv) == 0);
    return check_done();
}
