/* test_badinput.c - bad input of every kind, beyond what test_api.c's test_bad_input covers.
 *
 * Each row: a request, the status it must get, and the error code its JSON body must carry (and,
 * for experiment specs, the field it must name).  The few answers libmicrohttpd gives by itself,
 * before memscoped sees the request (414 or 431 for a URL or headers past the connection's memory),
 * are HTML, not JSON: those rows check the status and that the server keeps serving.  At the end the
 * server must stop cleanly on SIGTERM (exit 0: in a sanitizer build LeakSanitizer runs then). */
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static ms_server srv;
static ms_subject subj;

/* r is memscoped's JSON error: this status, a message, and the code and field given (NULL: any). */
static bool error_is(const http_resp *r, long status, const char *code, const char *field)
{
    const char *msg = r->json ? jstr(r->json, "error.message") : NULL;
    const char *got_code = r->json ? jstr(r->json, "error.code") : NULL;
    const char *got_field = r->json ? jstr(r->json, "error.field") : NULL;
    return r->status == status && msg && *msg && (!code || (got_code && strcmp(got_code, code) == 0)) &&
           (!field || (got_field && strcmp(got_field, field) == 0));
}

static void expect_body(const ms_server *s, const char *method, const char *path, const char *body,
                        long status, const char *code, const char *field)
{
    http_resp r;
    bool ok = http_do(s, method, path, body, NULL, &r);
    if (!ok || !error_is(&r, status, code, field)) {
        fprintf(stderr, "%s %.80s [%.60s]: want %ld %s %s, got %ld %.300s\n", method, path, body ? body : "",
                status, code ? code : "", field ? field : "", r.status, r.body ? r.body : "");
        check_fail_++;
    } else {
        check_pass_++;
    }
    http_resp_free(&r);
}

static void expect(const char *method, const char *path, long status, const char *code)
{
    expect_body(&srv, method, path, NULL, status, code, NULL);
}

static void expectf(long status, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void expectf(long status, const char *code, const char *fmt, ...)
{
    char p[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    expect("GET", p, status, code);
}

static void alive(void)
{
    http_resp r;
    CHECK(http_get(&srv, "/api/v1/health", &r) && r.status == 200 && r.json);
    http_resp_free(&r);
}

static void test_pids(void)
{
    static const char *const bad[] = {
        "-1", "-0", "0", "00", "0005", "+5", "%205", "5%20", "5%09", "1e3", "5.0", "0x10", "0X10", "ff",
        "2147483648", "4294967297", "18446744073709551617", "99999999999999999999999999", "12a", "1_000",
        "self", "thread-self", "%2e%2e", "..", ".", "%c3%a9", NULL};
    static const char *const tails[] = {"", "/maps", "/smaps", "/pagemap?start=0x1000&end=0x2000",
                                        "/translate?addr=0x1000", NULL};
    for (int i = 0; bad[i]; i++)
        for (int t = 0; tails[t]; t++)
            expectf(400, "bad_pid", "/api/v1/processes/%s%s", bad[i], tails[t]);
    /* path tricks never reach /proc: decoded slashes no longer name a route */
    expect("GET", "/api/v1/processes/..%2f..%2fetc%2fpasswd", 404, "not_found");
    expect("GET", "/api/v1/processes/..%2fself/maps", 404, "not_found");
    expect("GET", "/api/v1/processes/%2e%2e/%2e%2e/maps", 404, "not_found");
    expect("GET", "/api/v1/processes//maps", 404, "not_found");
    /* the largest valid pid that names no process: 404, not 400 */
    expect("GET", "/api/v1/processes/2147483647", 404, "no_such_process");
    expect("GET", "/api/v1/processes/2147483647/pagemap?start=0x1000&end=0x2000", 404, "no_such_process");
}

static void test_addresses(void)
{
    int pid = subj.pid;
    const char *base = "/api/v1/processes";
    static const char *const bad_addr[] = {"0x", "0x1g", "x1000", "0x-1000", "-0x1000", "0x%201000",
                                           "0x10000000000000000", "0xffffffffffffffffff", "%00", "", "0x1000%00", NULL};
    for (int i = 0; bad_addr[i]; i++) {
        /* an encoded NUL is refused before any handler sees the value it would cut short */
        const char *code = strstr(bad_addr[i], "%00") ? "bad_request" : "bad_address";
        expectf(400, code, "%s/%d/pagemap?start=%s&end=0x2000", base, pid, bad_addr[i]);
        expectf(400, code, "%s/%d/pagemap?start=0x1000&end=%s", base, pid, bad_addr[i]);
        expectf(400, code, "%s/%d/translate?addr=%s", base, pid, bad_addr[i]);
    }
    /* out of the user address space (top 0x800000000000 on x86-64 with 4-level paging) */
    expectf(400, "out_of_range", "%s/%d/pagemap?start=0x7ffffffff000&end=0x800000001000", base, pid);
    expectf(400, "out_of_range", "%s/%d/pagemap?start=0xffff800000000000&end=0xffff800000001000", base, pid);
    expectf(400, "out_of_range", "%s/%d/translate?addr=0x800000000000", base, pid);
    expectf(400, "out_of_range", "%s/%d/translate?addr=0xffffffffffffffff", base, pid);
    /* unaligned ends, start >= end */
    expectf(400, "unaligned", "%s/%d/pagemap?start=0x1000&end=0x2001", base, pid);
    expectf(400, "unaligned", "%s/%d/pagemap?start=0x1&end=0x2000", base, pid);
    expectf(400, "bad_range", "%s/%d/pagemap?start=0x3000&end=0x2000", base, pid);
    expectf(400, "bad_range", "%s/%d/pagemap?start=0x0&end=0x0", base, pid);
    expectf(400, "bad_range", "%s/%d/pagemap?start=0xfffffffffffff000&end=0x1000", base, pid);
    /* frames paging */
    expectf(400, "bad_cursor", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=1&cursor=0x3000", base, pid);
    expectf(400, "bad_cursor", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=1&cursor=0x0", base, pid);
    expectf(400, "bad_cursor", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=1&cursor=0x1800", base, pid);
    expectf(400, "bad_limit", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=1&limit=0", base, pid);
    expectf(400, "bad_limit", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=1&limit=4097", base, pid);
    expectf(400, "bad_limit", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=1&limit=-1", base, pid);
    expectf(400, "bad_request", "%s/%d/pagemap?start=0x1000&end=0x3000&limit=5", base, pid);
    expectf(400, "bad_flag", "%s/%d/pagemap?start=0x1000&end=0x3000&frames=yes", base, pid);
    expectf(400, "bad_flag", "%s/%d/pagemap?start=0x1000&end=0x3000&runs=2", base, pid);
    expectf(400, "missing_field", "%s/%d/pagemap?start=0x1000", base, pid);
    expectf(400, "missing_field", "%s/%d/pagemap", base, pid);
}

static void test_query_fields(void)
{
    int pid = subj.pid;
    expect("GET", "/api/v1/health?verbose=1", 400, "unknown_query_field");
    expect("GET", "/api/v1/system?x", 400, "unknown_query_field");
    expect("GET", "/api/v1/experiments/presets?all=1", 400, "unknown_query_field");
    expect("GET", "/api/v1/experiments?x=1", 400, "unknown_query_field");
    expectf(400, "unknown_query_field", "/api/v1/processes/%d?fields=all", pid);
    expectf(400, "unknown_query_field", "/api/v1/processes/%d/smaps?group=path&Group=path", pid);
    expectf(400, "unknown_query_field", "/api/v1/processes/%d/pagemap?start=0x1000&end=0x2000&frame=1", pid);
    expectf(400, "unknown_query_field", "/api/v1/processes/%d/translate?addr=0x1000&address=0x1000", pid);
    /* more query fields than any route takes: refused as a whole */
    expect("GET", "/api/v1/processes?q=a&q=b&q=c&q=d&q=e&q=f&q=g&q=h&q=i&q=j&q=k&q=l&q=m&q=n&q=o&q=p&q=q",
           400, "bad_request");
    expect("GET", "/api/v1/processes?limit=100001", 400, "bad_limit");
    expect("GET", "/api/v1/processes?limit=1x", 400, "bad_limit");
    expect("GET", "/api/v1/processes?limit=", 400, "bad_limit");
    expect("GET", "/api/v1/processes?sort=", 400, "bad_sort");
    char q[400];
    memset(q, 'a', 300);
    q[300] = '\0';
    expectf(400, "bad_query", "/api/v1/processes?q=%s", q);
}

static void test_routes_methods(void)
{
    static const char *const nf[] = {"/api/v2/health", "/api/v1", "/api/v1/", "/api", "/api/v1/health/x",
                                     "/api/v1/processes/1/maps/extra", "/api/v1/processes/1/", "/api/v1/PROCESSES",
                                     "/api/v1/experiments/1/events/x", "/api/v1/%00", NULL};
    for (int i = 0; nf[i]; i++)
        expect("GET", nf[i], 404, "not_found");
    static const char *const methods[] = {"PUT", "PATCH", "FOO", "CONNECTX", "TRACE", NULL};
    for (int i = 0; methods[i]; i++) {
        expect(methods[i], "/api/v1/processes", 405, "method_not_allowed");
        expect(methods[i], "/api/v1/experiments", 405, "method_not_allowed");
    }
    expect("POST", "/api/v1/processes/1/maps", 405, "method_not_allowed");
    expect("DELETE", "/api/v1/health", 405, "method_not_allowed");
    expect("POST", "/api/v1/experiments/1", 405, "method_not_allowed");
    http_resp r;
    CHECK(http_do(&srv, "PUT", "/api/v1/experiments", NULL, NULL, &r) && r.status == 405);
    char allow[64];
    CHECK(http_header(&r, "Allow", allow, sizeof allow) && strstr(allow, "GET") && strstr(allow, "POST"));
    http_resp_free(&r);
    /* experiment ids */
    static const char *const ids[] = {"0", "-1", "abc", "1x", "18446744073709551616", "%20", NULL};
    for (int i = 0; ids[i]; i++) {
        char p[128];
        snprintf(p, sizeof p, "/api/v1/experiments/%s", ids[i]);
        expect("GET", p, 400, "bad_id");
        expect("DELETE", p, 400, "bad_id");
        snprintf(p, sizeof p, "/api/v1/experiments/%s/events", ids[i]);
        expect("GET", p, 400, "bad_id");
    }
    expect("GET", "/api/v1/experiments/987654321", 404, "no_such_experiment");
    expect("DELETE", "/api/v1/experiments/987654321", 404, "no_such_experiment");
    expect("GET", "/api/v1/experiments/987654321/events", 404, "no_such_experiment");
    expect("GET", "/api/v1/experiments/1/events?from=x", 400, NULL);
}

/* Experiment specs: refused before a lab starts, naming the field. */
static void test_specs(void)
{
    static const struct { const char *body; long status; const char *code, *field; } rows[] = {
        {"{\"steps\":[{\"op\":\"mall", 400, "bad_spec", "body"},           /* truncated */
        {"{\"steps\":[", 400, "bad_spec", "body"},
        {"{", 400, "bad_spec", "body"},
        {"nul", 400, "bad_spec", "body"},
        {"\xff\xfe{}", 400, "bad_spec", "body"},                             /* not UTF-8 */
        {"{\"steps\":[]}\x01", 400, "bad_spec", "body"},                    /* trailing junk */
        {"null", 400, "bad_spec", "body"},
        {"[]", 400, "bad_spec", "body"},
        {"42", 400, "bad_spec", "body"},
        {"\"steps\"", 400, "bad_spec", "body"},
        {"{}", 400, "bad_spec", "steps"},
        {"{\"steps\":{}}", 400, "bad_spec", "steps"},                       /* wrong types */
        {"{\"steps\":\"malloc\"}", 400, "bad_spec", "steps"},
        {"{\"steps\":[1]}", 400, "bad_spec", "op"},
        {"{\"steps\":[[]]}", 400, "bad_spec", "op"},
        {"{\"steps\":[{}]}", 400, "bad_spec", "op"},
        {"{\"steps\":[{\"op\":7}]}", 400, "bad_spec", "op"},
        {"{\"steps\":[{\"op\":\"rm -rf\"}]}", 400, "bad_spec", "op"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":true}]}", 400, "bad_spec", "size"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":-1}]}", 400, "bad_spec", "size"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":\"-1KiB\"}]}", 400, "bad_spec", "size"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":\"1XB\"}]}", 400, "bad_spec", "size"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":1.5}]}", 400, "bad_spec", "size"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":\"99999999999999999999\"}]}", 400, "bad_spec", "size"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"sise\":1}]}", 400, "bad_spec", "sise"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"\"}]}", 400, "bad_spec", "as"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
         400, "bad_spec", "as"},
        {"{\"steps\":[{\"op\":\"touch\",\"ptr\":\"nobody\"}]}", 400, "bad_spec", "ptr"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"a\",\"fraction\":\"half\"}]}",
         400, "bad_spec", "fraction"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"a\",\"fraction\":1.5}]}",
         400, "bad_spec", "fraction"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"a\",\"fraction\":-0.1}]}",
         400, "bad_spec", "fraction"},
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"a\",\"mode\":1}]}",
         400, "bad_spec", "mode"},
        {"{\"steps\":[{\"op\":\"sleep\"}]}", 400, "bad_spec", "ms"},
        {"{\"steps\":[{\"op\":\"sleep\",\"ms\":\"10\"}]}", 400, "bad_spec", "ms"},
        {"{\"steps\":[{\"op\":\"mmap\",\"size\":4096,\"shared\":\"yes\"}]}", 400, "bad_spec", "shared"},
        {"{\"steps\":[{\"op\":\"access_unmapped\",\"addr\":4096}]}", 400, "bad_spec", "addr"},
        {"{\"steps\":[],\"hold_s\":-1}", 400, "bad_spec", "hold_s"},
        {"{\"steps\":[],\"hold_s\":\"10\"}", 400, "bad_spec", "hold_s"},
        {"{\"steps\":[],\"bogus\":1}", 400, "bad_spec", "bogus"},
        {"{\"steps\":[],\"steps\":[]}", 400, "bad_spec", "body"},           /* duplicate key */
        {"{\"preset\":5}", 400, "bad_spec", "preset"},
        {"{\"preset\":\"no-such-preset\"}", 400, "bad_spec", "preset"},
        {"{\"preset\":\"seed-1gib\",\"steps\":[]}", 400, "bad_spec", "preset"},
        /* over the limits: refused before anything runs */
        {"{\"steps\":[{\"op\":\"malloc\",\"size\":\"1TiB\"}]}", 413, NULL, NULL},
        {"{\"steps\":[{\"op\":\"sleep\",\"ms\":1}],\"hold_s\":999999}", 413, NULL, "hold_s"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_body(&srv, "POST", "/api/v1/experiments", rows[i].body, rows[i].status, rows[i].code, rows[i].field);

    /* deeply nested: 10,000 '[' (jansson stops at depth 2048), and objects likewise */
    size_t n = 10000;
    char *deep = malloc(n * 6 + 64);
    memset(deep, '[', n);
    deep[n] = '\0';
    expect_body(&srv, "POST", "/api/v1/experiments", deep, 400, "bad_spec", "body");
    size_t k = 0;
    k += (size_t)sprintf(deep, "{\"steps\":");
    for (size_t i = 0; i < 3000; i++)
        k += (size_t)sprintf(deep + k, "{\"a\":");
    deep[k] = '\0';
    expect_body(&srv, "POST", "/api/v1/experiments", deep, 400, "bad_spec", "body");
    free(deep);

    /* huge: over the 64 KiB body cap, refused with 413 whatever it holds */
    size_t big = 200 * 1024;
    char *huge = malloc(big + 64);
    k = (size_t)sprintf(huge, "{\"steps\":[");
    while (k < big)
        k += (size_t)sprintf(huge + k, "{\"op\":\"sleep\",\"ms\":1},");
    sprintf(huge + k - 1, "]}");
    expect_body(&srv, "POST", "/api/v1/experiments", huge, 413, "body_too_large", NULL);
    /* just over the cap, of anything: the same */
    memset(huge, ' ', 65537);
    huge[65537] = '\0';
    expect_body(&srv, "POST", "/api/v1/experiments", huge, 413, "body_too_large", NULL);
    /* a body on a GET does not slip past the cap either */
    expect_body(&srv, "GET", "/api/v1/health", huge, 413, "body_too_large", NULL);
    free(huge);
    /* an empty body */
    expect_body(&srv, "POST", "/api/v1/experiments", "", 400, "bad_request", NULL);
    alive();
}

/* The request's bounds: a URL or a header block over 64 KiB gets memscoped's JSON 414 or 431; one
 * at the bound is served.  Past the connection's memory (256 KiB) libmicrohttpd refuses it itself,
 * with its own HTML answer. */
static void test_limits(void)
{
    size_t n = 70 * 1024;
    char *p = malloc(300 * 1024);
    int k = sprintf(p, "/api/v1/health?x=");
    memset(p + k, 'a', n);
    p[k + (int)n] = '\0';
    http_resp r;
    CHECK(http_get(&srv, p, &r) && error_is(&r, 414, "uri_too_long", NULL));
    http_resp_free(&r);
    /* exactly 64 KiB of URL: past the bound, to the route, which knows no field x */
    p[64 * 1024] = '\0';
    CHECK(http_get(&srv, p, &r) && error_is(&r, 400, "unknown_query_field", NULL));
    http_resp_free(&r);
    /* over the connection's memory: libmicrohttpd's own answer, and the server goes on */
    memset(p + k, 'a', 280 * 1024);
    p[k + 280 * 1024] = '\0';
    CHECK(http_get(&srv, p, &r) && r.status == 414);
    http_resp_free(&r);
    char *hdr = malloc(300 * 1024);
    k = sprintf(hdr, "X-Big: ");
    memset(hdr + k, 'b', n);
    hdr[k + (int)n] = '\0';
    const char *hl[] = {hdr, NULL};
    CHECK(http_do(&srv, "GET", "/api/v1/health", NULL, hl, &r) && error_is(&r, 431, "headers_too_large", NULL));
    http_resp_free(&r);
    /* one header of 60 KiB, with the client's few: under the bound, served */
    hdr[k + 60 * 1024] = '\0';
    CHECK(http_do(&srv, "GET", "/api/v1/health", NULL, hl, &r) && r.status == 200);
    http_resp_free(&r);
    memset(hdr + k, 'b', 280 * 1024);
    hdr[k + 280 * 1024] = '\0';
    CHECK(http_do(&srv, "GET", "/api/v1/health", NULL, hl, &r) && r.status == 431);
    http_resp_free(&r);
    /* many small headers add up the same way */
    const char *many[2000];
    char (*lines)[48] = malloc(sizeof *lines * 1999);
    for (int i = 0; i < 1999; i++) {
        snprintf(lines[i], sizeof lines[i], "X-H%04d: %032d", i, i);
        many[i] = lines[i];
    }
    many[1999] = NULL;
    CHECK(http_do(&srv, "GET", "/api/v1/health", NULL, many, &r) && r.status == 431);
    http_resp_free(&r);
    /* 1,700 of them (43 bytes each with ": " and the line end, 73 KiB): refused by memscoped */
    many[1700] = NULL;
    CHECK(http_do(&srv, "GET", "/api/v1/health", NULL, many, &r) && error_is(&r, 431, "headers_too_large", NULL));
    http_resp_free(&r);
    /* 1,400 (59 KiB): served */
    many[1400] = NULL;
    CHECK(http_do(&srv, "GET", "/api/v1/health", NULL, many, &r) && r.status == 200);
    http_resp_free(&r);
    free(lines);
    free(hdr);
    free(p);
    alive();
}

/* A control byte in a URL shows escaped in the log: a client cannot write log lines of its own. */
static void test_log_injection(void)
{
    free(server_log(&srv));
    expect("GET", "/api/v1/processes/1%0a2030-01-01T00:00:00.000Z%20ERROR%20forged", 400, "bad_pid");
    char *log = server_log(&srv);
    CHECK(log && strstr(log, "\\x0a2030-01-01T00:00:00.000Z ERROR forged"));
    CHECK(log && !strstr(log, "\n2030-01-01"));
    free(log);
}

/* true if the server closed fd within ms (read gives EOF or a reset) */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, ms) == 1 && read(fd, &c, 1) <= 0;
}

/* Connections: at most --max-per-ip from one client, idle ones closed after --idle-timeout. */
static void test_conn_limits(void)
{
    ms_server s;
    const char *args[] = {"--max-per-ip", "3", "--idle-timeout", "1", NULL};
    CHECK(server_start(&s, args));
    if (!s.port)
        return;
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = connect_lo(s.port);
    CHECK(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0);
    CHECK(!closed_within(fds[0], 200));     /* the first three are kept ... */
    CHECK(closed_within(fds[3], 2000));     /* ... the fourth is closed at once */
    /* idle connections go after about a second */
    CHECK(closed_within(fds[0], 4000) && closed_within(fds[1], 1000) && closed_within(fds[2], 1000));
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* room again, once the server's threads have finished closing them (give it two seconds) */
    bool room = false;
    for (int i = 0; i < 20 && !room; i++) {
        http_resp r;
        room = http_get(&s, "/api/v1/health", &r) && r.status == 200;
        http_resp_free(&r);
        if (!room)
            usleep(100 * 1000);
    }
    CHECK(room);
    CHECK_EQ_U64(server_stop(&s), 0);
}

int main(void)
{
    const char *args[] = {"--pages", "16", "--write", "4", NULL};
    const char *sargs[] = {"--log-level", "debug", NULL};
    if (!subject_start(&subj, args) || !server_start(&srv, sargs)) {
        fprintf(stderr, "could not start the subject or memscoped\n");
        return 1;
    }
    test_pids();
    test_addresses();
    test_query_fields();
    test_routes_methods();
    test_specs();
    test_limits();
    test_log_injection();
    alive();
    subject_stop(&subj);
    CHECK_EQ_U64(server_stop(&srv), 0);

    /* a smaller cap set with --max-body is kept too */
    const char *capped[] = {"--max-body", "1KiB", NULL};
    CHECK(server_start(&srv, capped));
    char body[2048];
    memset(body, ' ', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    expect_body(&srv, "POST", "/api/v1/experiments", body, 413, "body_too_large", NULL);
    CHECK_EQ_U64(server_stop(&srv), 0);
    test_conn_limits();
    return check_done();
}
