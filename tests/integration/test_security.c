/* test_security.c - who may talk to memscoped and what it hands out.
 *
 * A bind beyond loopback without a token must refuse to start.  With a token, every API request
 * but /api/v1/health, and /metrics, needs "Authorization: Bearer <token>" (the dashboard's files
 * are public: they hold no data); a missing or wrong one is a 401 JSON error
 * and the log never shows a token's value; experiments are off beyond loopback unless asked for;
 * answers carry CSP and nosniff and no CORS headers unless --cors-origin names an origin; the
 * dashboard's files never lead out of the web root (no "..", no symlink out, no FIFO or directory).
 * The wildcard-bound servers are only ever reached through 127.0.0.1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define TOKEN "s3cret-Token-0123456789-abcdef"
#define WRONG "wrong-Token-9876543210-zyxwvu"

static char tmp[64];

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void expect(const ms_server *s, const char *method, const char *path, const char *const *hdr,
                   long status, const char *code)
{
    CHECK(http_expect(s, method, path, NULL, hdr, status, code));
}

/* Beyond loopback without a token: exit non-zero, saying why and what to do. */
static void test_refuse_without_token(void)
{
    unsetenv("MEMSCOPE_TOKEN");
    const char *v4[] = {"--listen", "0.0.0.0:0", NULL};
    const char *v6[] = {"--listen", "[::]:0", NULL};
    const char *const *cases[] = {v4, v6};
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        int st = server_run_once(cases[i], 5000, &err);
        CHECK(st != 0 && st != -1);
        CHECK(err && strstr(err, "refusing to listen") && strstr(err, "--token-file") &&
              strstr(err, "--insecure-no-auth"));
        if (st == 0 || !err || !strstr(err, "refusing"))
            fprintf(stderr, "case %d: status %d, stderr: %s\n", i, st, err ? err : "");
        free(err);
    }
    /* a token too short to be one is refused too, loopback or not */
    char path[128];
    snprintf(path, sizeof path, "%s/short-token", tmp);
    write_file(path, "abc\n");
    const char *shortt[] = {"--listen", "0.0.0.0:0", "--token-file", path, NULL};
    char *err = NULL;
    int st = server_run_once(shortt, 5000, &err);
    CHECK(st != 0 && st != -1 && err && strstr(err, "at least 16"));
    free(err);
    const char *missing[] = {"--listen", "0.0.0.0:0", "--token-file", "/nonexistent/token", NULL};
    st = server_run_once(missing, 5000, &err);
    CHECK(st != 0 && st != -1 && err && strstr(err, "cannot read token file"));
    free(err);
}

static void test_token(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/token", tmp);
    write_file(path, TOKEN "\n");
    chmod(path, 0600);
    ms_server s;
    const char *args[] = {"--listen", "0.0.0.0:0", "--token-file", path, "--log-level", "debug", NULL};
    CHECK(server_start(&s, args));
    if (!s.port)
        return;
    const char *good[] = {"Authorization: Bearer " TOKEN, NULL};
    const char *wrong[] = {"Authorization: Bearer " WRONG, NULL};
    const char *prefix[] = {"Authorization: Bearer s3cret-Token", NULL};
    const char *longer[] = {"Authorization: Bearer " TOKEN "x", NULL};
    const char *basic[] = {"Authorization: Basic " TOKEN, NULL};
    const char *bare[] = {"Authorization: " TOKEN, NULL};
    const char *empty[] = {"Authorization: Bearer ", NULL};

    /* health answers anyone: load balancers and the dashboard's "is it up" */
    http_resp r;
    CHECK(http_get(&s, "/api/v1/health", &r) && r.status == 200);
    CHECK(r.json && json_is_true(json_object_get(r.json, "auth")));
    CHECK(r.json && json_is_false(json_object_get(r.json, "experiments")));
    http_resp_free(&r);

    static const char *const paths[] = {"/api/v1/processes", "/api/v1/system", "/api/v1/processes/2/maps",
                                        "/api/v1/experiments", "/api/v1/nope", "/metrics",
                                        "/api/v1/health/", "/api/v1/health/../processes", NULL};
    for (int i = 0; paths[i]; i++) {
        expect(&s, "GET", paths[i], NULL, 401, "unauthorized");
        expect(&s, "GET", paths[i], wrong, 401, "unauthorized");
        expect(&s, "GET", paths[i], prefix, 401, "unauthorized");
        expect(&s, "GET", paths[i], longer, 401, "unauthorized");
        expect(&s, "GET", paths[i], basic, 401, "unauthorized");
        expect(&s, "GET", paths[i], bare, 401, "unauthorized");
        expect(&s, "GET", paths[i], empty, 401, "unauthorized");
    }
    /* the dashboard's files are public (the page that asks for the token must load without it);
     * no spelling of an API path reaches data that way */
    static const char *const sneaky[] = {"//api/v1/processes", "/./api/v1/processes", "/API/v1/processes",
                                         "/x/../api/v1/processes", "/%2fapi/v1/processes", "/api%2fv1/processes",
                                         "//metrics", "/metrics/", "/api", NULL};
    for (int i = 0; sneaky[i]; i++) {
        CHECK(http_get(&s, sneaky[i], &r));
        if (r.status == 200 || (r.body && strstr(r.body, "\"processes\""))) {
            fprintf(stderr, "GET %s without a token: %ld %.200s\n", sneaky[i], r.status, r.body ? r.body : "");
            check_fail_++;
        } else {
            check_pass_++;
        }
        http_resp_free(&r);
    }
    expect(&s, "POST", "/api/v1/experiments", wrong, 401, "unauthorized");
    expect(&s, "DELETE", "/api/v1/experiments/1", NULL, 401, "unauthorized");
    CHECK(http_do(&s, "GET", "/api/v1/processes", NULL, NULL, &r) && r.status == 401);
    char buf[64];
    CHECK(http_header(&r, "WWW-Authenticate", buf, sizeof buf) && strcmp(buf, "Bearer") == 0);
    http_resp_free(&r);

    CHECK(http_do(&s, "GET", "/api/v1/processes?limit=3", NULL, good, &r) && r.status == 200 &&
          jint(r.json, "count") == 3);
    http_resp_free(&r);

    /* beyond loopback, experiments are off unless --experiments on: 403 saying how to enable them */
    CHECK(http_do(&s, "POST", "/api/v1/experiments", "{\"preset\":\"seed-1gib\"}", good, &r) && r.status == 403);
    CHECK(r.json && jstr(r.json, "error.code") && strcmp(jstr(r.json, "error.code"), "experiments_disabled") == 0);
    CHECK(r.json && jstr(r.json, "error.message") && strstr(jstr(r.json, "error.message"), "--experiments on"));
    http_resp_free(&r);
    expect(&s, "GET", "/api/v1/experiments", good, 403, "experiments_disabled");

    /* the log names the refusals but never a token's value, right or wrong */
    char *log = server_log(&s);
    CHECK(log && strstr(log, "unauthorized GET /api/v1/processes from 127.0.0.1"));
    CHECK(log && !strstr(log, TOKEN) && !strstr(log, WRONG) && !strstr(log, "s3cret"));
    if (log && strstr(log, "s3cret"))
        fprintf(stderr, "the log shows the token:\n%s\n", log);
    free(log);
    CHECK_EQ_U64(server_stop(&s), 0);

    /* MEMSCOPE_TOKEN works as well, and --experiments on enables experiments beyond loopback */
    setenv("MEMSCOPE_TOKEN", TOKEN, 1);
    const char *args2[] = {"--listen", "0.0.0.0:0", "--experiments", "on", NULL};
    CHECK(server_start(&s, args2));
    unsetenv("MEMSCOPE_TOKEN");
    if (!s.port)
        return;
    expect(&s, "GET", "/api/v1/experiments", NULL, 401, "unauthorized");
    CHECK(http_do(&s, "GET", "/api/v1/experiments", NULL, good, &r) && r.status == 200);
    http_resp_free(&r);
    /* a bad spec reaches the experiment parser: 400, not 403 (and no lab is started) */
    CHECK(http_do(&s, "POST", "/api/v1/experiments", "{\"steps\":[{\"op\":\"nope\"}]}", good, &r) &&
          r.status == 400 && jstr(r.json, "error.field") && strcmp(jstr(r.json, "error.field"), "op") == 0);
    http_resp_free(&r);
    CHECK_EQ_U64(server_stop(&s), 0);

    /* --insecure-no-auth is the explicit way to go without: it starts, and nothing asks for a token */
    const char *args3[] = {"--listen", "0.0.0.0:0", "--insecure-no-auth", NULL};
    CHECK(server_start(&s, args3));
    if (!s.port)
        return;
    CHECK(http_get(&s, "/api/v1/processes?limit=1", &r) && r.status == 200);
    http_resp_free(&r);
    expect(&s, "GET", "/api/v1/experiments", NULL, 403, "experiments_disabled");
    CHECK_EQ_U64(server_stop(&s), 0);
}

/* Security headers on every answer, CORS only when asked for. */
static void test_headers(const char *web)
{
    ms_server s;
    const char *args[] = {"--web-dir", web, NULL};
    CHECK(server_start(&s, args));
    if (!s.port)
        return;
    const char *origin[] = {"Origin: https://evil.example", NULL};
    char buf[512];
    http_resp r;
    CHECK(http_do(&s, "GET", "/", NULL, origin, &r) && r.status == 200);
    const char *csp = http_header(&r, "Content-Security-Policy", buf, sizeof buf);
    CHECK(csp && strstr(csp, "default-src 'self'") && strstr(csp, "frame-ancestors 'none'") &&
          !strstr(csp, "unsafe-inline") && !strstr(csp, "*"));
    CHECK(http_header(&r, "X-Content-Type-Options", buf, sizeof buf) && strcmp(buf, "nosniff") == 0);
    CHECK(strstr(r.content_type, "text/html") != NULL);
    CHECK(!http_header(&r, "Access-Control-Allow-Origin", buf, sizeof buf));
    http_resp_free(&r);
    static const char *const api[] = {"/api/v1/health", "/api/v1/processes?limit=1", "/api/v1/nope", NULL};
    for (int i = 0; api[i]; i++) {
        CHECK(http_do(&s, "GET", api[i], NULL, origin, &r));
        CHECK(http_header(&r, "X-Content-Type-Options", buf, sizeof buf) && strcmp(buf, "nosniff") == 0);
        CHECK(strcmp(r.content_type, "application/json") == 0);
        CHECK(!http_header(&r, "Access-Control-Allow-Origin", buf, sizeof buf));
        CHECK(!http_header(&r, "Access-Control-Allow-Credentials", buf, sizeof buf));
        http_resp_free(&r);
    }
    /* no pre-flight answer either: OPTIONS is just a method this route does not take */
    CHECK(http_do(&s, "OPTIONS", "/api/v1/processes", NULL, origin, &r) && r.status == 405);
    CHECK(!http_header(&r, "Access-Control-Allow-Methods", buf, sizeof buf));
    http_resp_free(&r);
    CHECK_EQ_U64(server_stop(&s), 0);

    const char *args2[] = {"--web-dir", web, "--cors-origin", "https://dash.example", NULL};
    CHECK(server_start(&s, args2));
    if (!s.port)
        return;
    CHECK(http_do(&s, "GET", "/api/v1/health", NULL, origin, &r) && r.status == 200);
    CHECK(http_header(&r, "Access-Control-Allow-Origin", buf, sizeof buf) &&
          strcmp(buf, "https://dash.example") == 0);
    http_resp_free(&r);
    CHECK(http_do(&s, "OPTIONS", "/api/v1/processes", NULL, origin, &r) && r.status == 204);
    CHECK(http_header(&r, "Access-Control-Allow-Methods", buf, sizeof buf) != NULL);
    CHECK(http_header(&r, "Access-Control-Allow-Origin", buf, sizeof buf) &&
          strcmp(buf, "https://dash.example") == 0);
    http_resp_free(&r);
    CHECK_EQ_U64(server_stop(&s), 0);
}

/* The web root: only regular files beneath it. */
static void test_static(const char *web)
{
    ms_server s;
    /* two workers: a request that blocked one (a FIFO's open waits for a writer) would show here */
    const char *args[] = {"--web-dir", web, NULL};
    CHECK(server_start(&s, args));
    if (!s.port)
        return;
    http_resp r;
    CHECK(http_get(&s, "/", &r) && r.status == 200 && r.body && strcmp(r.body, "<p>hello</p>\n") == 0);
    http_resp_free(&r);
    CHECK(http_get(&s, "/sub/page.html", &r) && r.status == 200 && r.body && strstr(r.body, "page"));
    http_resp_free(&r);
    /* a relative symlink that stays inside is an ordinary name for a file there */
    CHECK(http_get(&s, "/alias.html", &r) && r.status == 200 && r.body && strstr(r.body, "hello"));
    http_resp_free(&r);

    static const char *const refused[] = {
        "/passwd",                  /* symlink to /etc/passwd */
        "/escape.txt",              /* relative symlink to ../outside.txt */
        "/sub/up.txt",              /* relative symlink to ../../outside.txt */
        "/roundtrip.html",          /* leaves the root and comes back: still refused */
        "/fifo", "/fifo", "/fifo",  /* a FIFO: 404 at once, no worker left waiting for a writer */
        "/dir", "/sub", "/sub/",    /* directories */
        "/..%2foutside.txt", "/%2e%2e/outside.txt", "/sub/..%2f..%2foutside.txt",
        "/sub/%2e%2e/index.html", "/../outside.txt", "/./index.html", "//etc/passwd",
        "/%2fetc%2fpasswd", "/.hidden", "/sub/.hidden", "/sub//page.html",
        "/proc/self/environ", "/..%5coutside.txt", NULL};
    for (int i = 0; refused[i]; i++) {
        long t0 = now_ms();
        CHECK(http_get(&s, refused[i], &r));
        if (r.status != 404 || !r.json || (r.body && (strstr(r.body, "root:") || strstr(r.body, "OUTSIDE")))) {
            fprintf(stderr, "GET %s: want 404 JSON, got %ld %.200s\n", refused[i], r.status, r.body ? r.body : "");
            check_fail_++;
        } else {
            check_pass_++;
        }
        CHECK(now_ms() - t0 < 3000);
        http_resp_free(&r);
    }
    CHECK(http_get(&s, "/api/v1/health", &r) && r.status == 200);
    http_resp_free(&r);
    CHECK_EQ_U64(server_stop(&s), 0);   /* and no worker stuck in open(): a clean stop */
}

static void make_web(char *web, size_t cap)
{
    snprintf(web, cap, "%s/web", tmp);
    char p[256], q[256];
    mkdir(web, 0755);
    snprintf(p, sizeof p, "%s/index.html", web);
    write_file(p, "<p>hello</p>\n");
    snprintf(p, sizeof p, "%s/.hidden", web);
    write_file(p, "hidden\n");
    snprintf(p, sizeof p, "%s/outside.txt", tmp);
    write_file(p, "OUTSIDE the web root\n");
    snprintf(p, sizeof p, "%s/sub", web);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/page.html", web);
    write_file(p, "<p>page</p>\n");
    snprintf(p, sizeof p, "%s/sub/.hidden", web);
    write_file(p, "hidden\n");
    snprintf(p, sizeof p, "%s/dir", web);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/fifo", web);
    CHECK(mkfifo(p, 0644) == 0);
    struct { const char *target, *name; } links[] = {
        {"/etc/passwd", "passwd"}, {"index.html", "alias.html"}, {"../outside.txt", "escape.txt"},
        {"../../outside.txt", "sub/up.txt"}, {"../web/index.html", "roundtrip.html"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(q, sizeof q, "%s/%s", web, links[i].name);
        CHECK(symlink(links[i].target, q) == 0);
    }
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/memscope-sec-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char web[128];
    make_web(web, sizeof web);
    test_refuse_without_token();
    test_token();
    test_headers(web);
    test_static(web);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_done();
}
