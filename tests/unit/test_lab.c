/* test_lab.c - runs each preset against the real kernel and checks that the lesson holds, in numbers.
 *
 * Built twice: as unit.lab it runs memscope-lab stand-alone; with MEMSCOPE_LAB_VIA_API (as
 * integration.presets) it starts each preset through a real memscoped's API and checks the very
 * same lessons on the lines the API hands back.
 *
 * Each figure is cross-checked against a second source the lab reports independently: status
 * deltas (the kernel's mm counters) against the block's smaps region and its pagemap summary.
 * The lab binary comes from $MEMSCOPE_LAB. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#ifndef MEMSCOPE_LAB_VIA_API
#include "core/features.h"
#endif

#define MiB (1ULL << 20)

/* Whether a read fault on private anonymous memory maps the shared zero page on this kernel (as
 * upstream does) or allocates a real page: the read lessons' figures follow from it. */
static bool zero_on_read;

typedef struct {
    json_t *lines;    /* every line, parsed */
    int status;       /* waitpid status */
} run;

#ifdef MEMSCOPE_LAB_VIA_API
#include "harness.h"

static ms_server srv;

/* A waitpid-style status from the experiment's record, so the checks below read alike. */
static int status_of(const json_t *x)
{
    static const struct { const char *name; int sig; } sigs[] = {
        {"SIGSEGV", SIGSEGV}, {"SIGBUS", SIGBUS}, {"SIGKILL", SIGKILL}, {"SIGTERM", SIGTERM}, {"SIGABRT", SIGABRT},
    };
    const char *sig = json_string_value(json_object_get(x, "signal"));
    for (size_t i = 0; sig && i < sizeof sigs / sizeof sigs[0]; i++)
        if (strcmp(sig, sigs[i].name) == 0)
            return sigs[i].sig;                                  /* WIFSIGNALED, WTERMSIG == sig */
    return (int)(json_integer_value(json_object_get(x, "exit_code")) & 0xff) << 8;   /* WIFEXITED */
}

static run run_lab(const char *preset)
{
    run r = { json_array(), -1 };
    char body[128], path[96];
    snprintf(body, sizeof body, "{\"preset\":\"%s\"}", preset);
    http_resp h;
    if (!http_do(&srv, "POST", "/api/v1/experiments", body, NULL, &h) || h.status != 201) {
        fprintf(stderr, "POST %s -> %ld %.300s\n", body, h.status, h.body ? h.body : "");
        check_fail_++;
        http_resp_free(&h);
        return r;
    }
    snprintf(path, sizeof path, "/api/v1/experiments/%lld", jint(h.json, "id"));
    http_resp_free(&h);
    for (int i = 0; i < 1200; i++) {
        if (!http_get(&srv, path, &h) || h.status != 200)
            break;
        const char *st = jstr(h.json, "state");
        if (st && (strcmp(st, "done") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "killed") == 0)) {
            json_array_extend(r.lines, json_object_get(h.json, "lines"));
            r.status = status_of(h.json);
            http_resp_free(&h);
            return r;
        }
        http_resp_free(&h);
        usleep(100 * 1000);
    }
    fprintf(stderr, "%s: the experiment did not finish\n", preset);
    check_fail_++;
    return r;
}
#else
static run run_lab(const char *preset)
{
    run r = { json_array(), 0 };
    int p[2];
    if (pipe(p) != 0)
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        const char *lab = getenv("MEMSCOPE_LAB");
        execl(lab, lab, "--preset", preset, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        CHECK(o != NULL);       /* every line is one JSON document */
        if (o)
            json_array_append_new(r.lines, o);
    }
    free(line);
    fclose(f);
    waitpid(pid, &r.status, 0);
    return r;
}
#endif

/* The line of type `type` for step i (i < 0: the first of that type). */
static json_t *line_of(const run *r, const char *type, long i)
{
    size_t k;
    json_t *o;
    json_array_foreach(r->lines, k, o) {
        const char *t = json_string_value(json_object_get(o, "type"));
        if (t && strcmp(t, type) == 0 && (i < 0 || json_integer_value(json_object_get(o, "step")) == i))
            return o;
    }
    return NULL;
}

static int64_t num(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (!json_is_integer(v)) {
        fprintf(stderr, "  no integer %s.%s\n", a, b ? b : "");
        return INT64_MIN;
    }
    return json_integer_value(v);
}

static const char *str(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : "(none)";
}

static void ok_exit(const run *r)
{
    CHECK(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0);
    CHECK(line_of(r, "start", -1) != NULL);
    CHECK(line_of(r, "end", -1) != NULL);
}

static void test_seed_1gib(void)
{
    run r = run_lab("seed-1gib");
    ok_exit(&r);
    json_t *s = line_of(&r, "step", 0);
    CHECK(s && json_is_true(json_object_get(s, "ok")));
    CHECK(num(s, "delta", "vm_size") >= (int64_t)(1ULL << 30));
    CHECK(num(s, "delta", "vm_rss") < 256 * 1024);          /* "well under 1 MiB": a page or two */
    CHECK_STR(str(s, "placement", NULL), "mapping");       /* 1 GiB is far over the mmap threshold */
    CHECK_EQ_U64(num(s, "brk_delta", NULL), 0);
    CHECK(num(s, "pages", "pages") >= 262144);
    CHECK(num(s, "pages", "present") <= 1);                 /* at most malloc's header page */
    CHECK(num(s, "region", "rss") < 64 * 1024);
    printf("seed-1gib: VmSize +%lld, VmRSS +%lld, present pages %lld of %lld\n",
           (long long)num(s, "delta", "vm_size"), (long long)num(s, "delta", "vm_rss"),
           (long long)num(s, "pages", "present"), (long long)num(s, "pages", "pages"));
    json_decref(r.lines);
}

static void test_touch_quarter(void)
{
    run r = run_lab("touch-quarter");
    ok_exit(&r);
    json_t *t = line_of(&r, "step", 2);
    CHECK(t && json_is_true(json_object_get(t, "ok")));
    CHECK_EQ_U64(num(t, "touched_pages", NULL), 65536);
    CHECK_EQ_U64(num(t, "pages", "present"), 65536);          /* pagemap: exactly the touched pages */
    CHECK_EQ_U64(num(t, "region", "rss"), 256 * MiB);           /* smaps agrees */
    /* the status counter moves by the same, less malloc's header page that was resident already */
    CHECK(num(t, "delta", "rss_anon") >= (int64_t)(256 * MiB - 4096) && num(t, "delta", "rss_anon") <= (int64_t)(256 * MiB));
    CHECK(num(t, "faults", "minor") >= 65535);
    CHECK_EQ_U64(num(t, "delta", "vm_size"), 0);
    json_decref(r.lines);
}

static void test_read_vs_write(void)
{
    run r = run_lab("read-vs-write");
    ok_exit(&r);
    json_t *rd = line_of(&r, "step", 1), *wr = line_of(&r, "step", 2), *ow = line_of(&r, "step", 3);
    CHECK(rd && wr && ow);
    if (!rd || !wr || !ow)
        return;
    /* reads: 4096 pages now present, every one of them the zero page, RSS unchanged; where a read
     * fault allocates a real page instead, 4096 private frames and RSS up by 16 MiB */
    int64_t read_rss = zero_on_read ? 0 : (int64_t)(16 * MiB), zeros = zero_on_read ? 4096 : 0;
    if (!zero_on_read)
        CHECK_SKIP("this kernel maps a fresh page on a read fault, not the zero page: read-vs-write's "
                   "reads are checked as private frames instead");
    CHECK_EQ_U64(num(rd, "pages", "present"), 4096);
    CHECK_EQ_U64(num(rd, "pages", "zero_page"), zeros);
    CHECK_EQ_U64(num(rd, "delta", "rss_anon"), read_rss);
    CHECK_EQ_U64(num(rd, "region", "rss"), read_rss);
    CHECK_EQ_U64(num(rd, "faults", "minor"), 4096);
    /* writes elsewhere: 4096 private frames, RSS up by exactly 16 MiB */
    CHECK_EQ_U64(num(wr, "delta", "rss_anon"), 16 * MiB);
    CHECK_EQ_U64(num(wr, "region", "rss"), read_rss + 16 * MiB);
    CHECK_EQ_U64(num(wr, "pages", "present"), 8192);
    CHECK_EQ_U64(num(wr, "pages", "zero_page"), zeros);
    /* writing over the read pages replaces each zero page with a private frame (and changes
     * nothing resident where they were private frames already) */
    CHECK_EQ_U64(num(ow, "delta", "rss_anon"), 16 * MiB - read_rss);
    CHECK_EQ_U64(num(ow, "pages", "zero_page"), 0);
    CHECK_EQ_U64(num(ow, "region", "rss"), 32 * MiB);
    json_decref(r.lines);
}

static void test_brk_vs_mmap(void)
{
    run r = run_lab("brk-vs-mmap");
    ok_exit(&r);
    json_t *small = line_of(&r, "step", 0), *big = line_of(&r, "step", 1), *heap = line_of(&r, "step", 3);
    CHECK(small && big && heap);
    if (!small || !big || !heap)
        return;
    CHECK_STR(str(small, "placement", NULL), "heap");
    CHECK_STR(str(small, "region", "path"), "[heap]");
    CHECK_STR(str(big, "placement", NULL), "mapping");
    CHECK_EQ_U64(num(big, "brk_delta", NULL), 0);
    CHECK(num(big, "delta", "vm_size") >= (int64_t)MiB);
    CHECK_STR(str(heap, "placement", NULL), "heap");
    CHECK(num(heap, "brk_delta", NULL) > 0);                  /* the threshold raised: brk moves */
    CHECK(num(heap, "brk_delta", NULL) + 256 * 1024 >= (int64_t)MiB);
    CHECK_EQ_U64(num(heap, "delta", "vm_size"), num(heap, "brk_delta", NULL));
    json_decref(r.lines);
}

static void test_free_returns(void)
{
    run r = run_lab("free-returns");
    ok_exit(&r);
    json_t *touch = line_of(&r, "step", 2), *fr = line_of(&r, "step", 3), *hf = line_of(&r, "step", 10),
           *trim = line_of(&r, "step", 11);
    CHECK(touch && fr && hf && trim);
    if (!touch || !fr || !hf || !trim)
        return;
    /* the large block: unmapped at once, its RSS gone with it */
    CHECK(num(fr, "delta", "vm_size") <= -(int64_t)(64 * MiB));
    CHECK(num(fr, "delta", "rss_anon") <= -(int64_t)(64 * MiB - 4096));
    CHECK_STR(str(fr, "placement", NULL), "unmapped");
    /* the heap block: free changes nothing resident; malloc_trim gives it back */
    CHECK_STR(str(hf, "placement", NULL), "heap");
    CHECK_EQ_U64(num(hf, "delta", "rss_anon"), 0);
    CHECK_EQ_U64(num(hf, "delta", "vm_size"), 0);
    CHECK(num(hf, "pages", "present") >= 4096);
    CHECK(json_is_true(json_object_get(trim, "released")));
    CHECK(num(trim, "delta", "rss_anon") <= -(int64_t)(16 * MiB - 64 * 1024));
    json_decref(r.lines);
}

static void test_dontneed(void)
{
    run r = run_lab("dontneed");
    ok_exit(&r);
    json_t *dn = line_of(&r, "step", 2), *rd = line_of(&r, "step", 3);
    CHECK(dn && rd);
    if (!dn || !rd)
        return;
    CHECK_EQ_U64(num(dn, "delta", "rss_anon"), -(int64_t)(64 * MiB));
    CHECK_EQ_U64(num(dn, "delta", "vm_size"), 0);
    CHECK_EQ_U64(num(dn, "pages", "present"), 0);
    /* the data is gone: reads see zeros (the zero page, or fresh zeroed frames where a read fault
     * allocates one) */
    CHECK_EQ_U64(num(rd, "pages", "present"), 16384);
    CHECK_EQ_U64(num(rd, "pages", "zero_page"), zero_on_read ? 16384 : 0);
    CHECK_EQ_U64(num(rd, "delta", "rss_anon"), zero_on_read ? 0 : 64 * MiB);
    json_decref(r.lines);
}

static void test_thp(void)
{
    char mode[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(mode, sizeof mode, f))
            mode[0] = 0;
        fclose(f);
    }
    if (!strstr(mode, "[always]") && !strstr(mode, "[madvise]")) {
        printf("thp: SKIPPED: transparent huge pages are \"%s\" on this kernel\n", mode[0] ? "never" : "absent");
        return;
    }
    run r = run_lab("thp");
    ok_exit(&r);
    json_t *t = line_of(&r, "step", 1);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_EQ_U64(num(t, "touched_pages", NULL), 1);
    CHECK_EQ_U64(num(t, "faults", "minor"), 1);               /* one fault ... */
    CHECK_EQ_U64(num(t, "delta", "rss_anon"), 2 * MiB);       /* ... 2 MiB resident */
    CHECK_EQ_U64(num(t, "region", "anon_huge_pages"), 2 * MiB);
    CHECK_EQ_U64(num(t, "pages", "present"), 512);
    CHECK_EQ_U64(num(t, "pages", "huge"), 512);
    json_decref(r.lines);
}

static void test_fork_cow(void)
{
    run r = run_lab("fork-cow");
    ok_exit(&r);
    json_t *c = line_of(&r, "child", 2), *p = line_of(&r, "step", 2);
    CHECK(c && p);
    if (!c || !p)
        return;
    CHECK(num(c, "pid", NULL) != num(line_of(&r, "start", -1), "pid", NULL));
    CHECK_EQ_U64(num(c, "wrote_pages", NULL), 4096);
    CHECK(num(c, "faults", "minor") >= 4096);                 /* one copy-on-write fault per page */
    /* in the child: the written quarter is private, the rest still shared with the parent */
    CHECK_EQ_U64(num(c, "region", "private_dirty"), 16 * MiB);
    CHECK_EQ_U64(num(c, "region", "shared_dirty"), 48 * MiB);
    CHECK_EQ_U64(num(c, "region", "pss"), 16 * MiB + 24 * MiB);
    CHECK_EQ_U64(num(c, "delta", "rss_anon"), 0);             /* a copy replaces a shared page in RSS */
    /* in the parent, measured while the child lives: the same split seen from the other side */
    CHECK_EQ_U64(num(p, "region", "private_dirty"), 16 * MiB);
    CHECK_EQ_U64(num(p, "region", "shared_dirty"), 48 * MiB);
    CHECK_EQ_U64(num(p, "region", "rss"), 64 * MiB);
    CHECK_EQ_U64(num(p, "child_exit", "code"), 0);
    json_decref(r.lines);
}

static void test_segfault(void)
{
    run r = run_lab("segfault");
    CHECK(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV);
    json_t *a = line_of(&r, "access", 2), *s = line_of(&r, "signal", 2);
    CHECK(a && s);
    if (!a || !s)
        return;
    CHECK_STR(str(s, "signal", NULL), "SIGSEGV");
    CHECK_STR(str(s, "code", NULL), "SEGV_MAPERR");           /* no region there at all */
    CHECK_STR(str(s, "addr", NULL), str(a, "addr", NULL));     /* the kernel names the address we chose */
    CHECK(line_of(&r, "end", -1) == NULL);
    json_decref(r.lines);
}

int main(void)
{
#ifdef MEMSCOPE_LAB_VIA_API
    if (!server_start(&srv, NULL)) {
        fprintf(stderr, "could not start memscoped\n");
        return 1;
    }
    json_t *h = http_get_json(&srv, "/api/v1/health");
    const json_t *z = json_object_get(json_object_get(h, "can_see"), "read_fault_zero_page");
    CHECK(json_is_boolean(z));
    zero_on_read = json_is_true(z);
    json_decref(h);
#else
    if (!getenv("MEMSCOPE_LAB")) {
        fprintf(stderr, "MEMSCOPE_LAB is not set\n");
        return 1;
    }
    ms_features ft;
    ms_features_probe(&ft);
    zero_on_read = ft.read_fault_zero_page;
#endif
    test_seed_1gib();
    test_touch_quarter();
    test_read_vs_write();
    test_brk_vs_mmap();
    test_free_returns();
    test_dontneed();
    test_thp();
    test_fork_cow();
    test_segfault();
#ifdef MEMSCOPE_LAB_VIA_API
    CHECK_EQ_U64(server_stop(&srv), 0);
#endif
    return check_done();
}
