/* test_protocol.c - what memscoped does with requests a browser page, a proxy or a careless client
 * can send: a port someone else holds, Host and Origin of other sites, the bearer scheme in any
 * case, Expect: 100-continue on a request that will be refused, conflicting framing, bodies too
 * large for routes that do not exist, HTTP/1.0 clients of streamed answers, control bytes in the
 * log, and the dashboard's files (encoded NUL, conditional GET).
 *
 * Raw requests go through raw_exchange() so that the exact bytes on the wire are seen; everything
 * is on loopback. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define TOKEN "s3cret-Token-0123456789-abcdef"

static ms_server srv;

/* Sends a raw request; the answer's status (0 if none) and, in *body, the text after the headers. */
static int raw_status(unsigned port, const char *req, char **all)
{
    bool closed;
    char *out = raw_exchange(port, req, strlen(req), 3000, &closed);
    int st = 0;
    if (out && strncmp(out, "HTTP/1.", 7) == 0)
        st = atoi(out + 9);
    if (all)
        *all = out;
    else
        free(out);
    return st;
}

/* The answer holds the JSON error shape with this code and the usual security headers. */
static bool json_error(const char *answer, const char *code)
{
    char want[96];
    snprintf(want, sizeof want, "{\"error\":{\"code\":\"%s\"", code);
    return answer && strstr(answer, want) && strstr(answer, "X-Content-Type-Options: nosniff") &&
           strstr(answer, "Content-Type: application/json");
}

/* CHECKs one answer (see http_expect). */
#define expect_do(...) CHECK(http_expect(__VA_ARGS__))

/* A port that another process listens on, even with SO_REUSEPORT, cannot be shared: memscoped
 * refuses to start and says so; and once memscoped listens, no one else can join its port. */
static void test_port_in_use(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    char listen_arg[32];
    snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%u", ntohs(a.sin_port));
    const char *args[] = {"--listen", listen_arg, NULL};
    char *err = NULL;
    int st = server_run_once(args, 5000, &err);
    CHECK(st != 0 && st != -1);
    CHECK(err && strstr(err, "address in use"));
    if (st == 0 || st == -1 || !err || !strstr(err, "address in use"))
        fprintf(stderr, "memscoped on a port in use: status %d, stderr: %s\n", st, err ? err : "");
    free(err);
    close(fd);

    /* the other way round: memscoped holds the port, a second listener with SO_REUSEPORT is refused */
    int fd2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = bind(fd2, (struct sockaddr *)&b, sizeof b);
    CHECK(rc != 0 && errno == EADDRINUSE);
    close(fd2);
}

/* Host must name this server; with --allow-host, that name too. */
static void test_host(void)
{
    char req[512];
    /* port: append ":<our port>" */
    static const struct { const char *host; bool port; int status; } rows[] = {
        {"attacker.example", false, 421}, {"attacker.example", true, 421}, {"localhost.attacker.example", true, 421},
        {"127.0.0.1.nip.io", true, 421}, {"[::2]", true, 421}, {"10.0.0.1", true, 421}, {"localhost:1:1", false, 421},
        {"localhost:x", false, 421}, {"", false, 421},
        {"localhost", true, 200}, {"LocalHost", true, 200}, {"127.0.0.1", true, 200}, {"127.1.2.3", true, 200},
        {"[::1]", true, 200}, {"localhost", false, 200}, {"127.0.0.1:9000", false, 200},   /* an ssh -L tunnel */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char host[128];
        if (rows[i].port)
            snprintf(host, sizeof host, "%s:%u", rows[i].host, srv.port);
        else
            snprintf(host, sizeof host, "%s", rows[i].host);
        snprintf(req, sizeof req, "GET /api/v1/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
        char *ans = NULL;
        int st = raw_status(srv.port, req, &ans);
        CHECK(st == rows[i].status);
        if (st != rows[i].status)
            fprintf(stderr, "Host: %s -> %d, want %d\n", host, st, rows[i].status);
        if (rows[i].status == 421)
            CHECK(json_error(ans, "misdirected_request"));
        free(ans);
    }
    /* the dashboard's files and /metrics too: a rebinding page must read nothing */
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: attacker.example:%u\r\nConnection: close\r\n\r\n", srv.port);
    CHECK(raw_status(srv.port, req, NULL) == 421);
    snprintf(req, sizeof req, "GET /metrics HTTP/1.1\r\nHost: attacker.example:%u\r\nConnection: close\r\n\r\n", srv.port);
    CHECK(raw_status(srv.port, req, NULL) == 421);
    /* HTTP/1.1 without Host is malformed; HTTP/1.0 without it is allowed (no browser sends that) */
    CHECK(raw_status(srv.port, "GET /api/v1/health HTTP/1.1\r\nConnection: close\r\n\r\n", NULL) == 400);
    CHECK(raw_status(srv.port, "GET /api/v1/health HTTP/1.0\r\n\r\n", NULL) == 200);

    ms_server s;
    const char *args[] = {"--allow-host", "memscope.test", "--allow-host", "box.internal", NULL};
    CHECK(server_start(&s, args));
    static const struct { const char *host; int status; } allowed[] = {
        {"memscope.test", 200}, {"memscope.test:443", 200}, {"MEMSCOPE.test:8080", 200}, {"box.internal", 200},
        {"other.test", 421}, {"memscope.test.evil", 421},
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        snprintf(req, sizeof req, "GET /api/v1/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                 allowed[i].host);
        int st = raw_status(s.port, req, NULL);
        CHECK(st == allowed[i].status);
        if (st != allowed[i].status)
            fprintf(stderr, "--allow-host: Host: %s -> %d, want %d\n", allowed[i].host, st, allowed[i].status);
    }
    CHECK_EQ_U64(server_stop(&s), 0);
    /* a bad --allow-host is refused at start */
    const char *bad[] = {"--listen", "127.0.0.1:0", "--allow-host", "x.test:80", NULL};
    char *err = NULL;
    CHECK(server_run_once(bad, 5000, &err) == 2);
    free(err);
}

/* State changes need JSON and no foreign Origin; what a cross-site page can send is refused. */
static void test_origin_and_type(void)
{
    char self[64], req[1024];
    snprintf(self, sizeof self, "Origin: http://127.0.0.1:%u", srv.port);
    const char *foreign[] = {"Origin: http://attacker.example", NULL};
    const char *null_origin[] = {"Origin: null", NULL};
    const char *own[] = {self, NULL};
    const char *spec = "{\"steps\":[]}";
    /* http_do sends Content-Type: application/json with a body */
    expect_do(&srv, "POST", "/api/v1/experiments", spec, foreign, 403, "forbidden_origin");
    expect_do(&srv, "POST", "/api/v1/experiments", spec, null_origin, 403, "forbidden_origin");
    expect_do(&srv, "DELETE", "/api/v1/experiments/999999", NULL, foreign, 403, "forbidden_origin");
    /* our own origin gets through to the handler (which finds no such experiment / an empty spec) */
    expect_do(&srv, "DELETE", "/api/v1/experiments/999999", NULL, own, 404, NULL);
    http_resp r;
    CHECK(http_do(&srv, "POST", "/api/v1/experiments", spec, own, &r) && r.status != 403 && r.status != 415);
    http_resp_free(&r);

    /* the simple requests a page may send cross-site without a preflight: text/plain, a form */
    static const char *const types[] = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                        "application/jsonx", NULL};
    for (int i = 0; types[i]; i++) {
        snprintf(req, sizeof req,
                 "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: %s\r\n"
                 "Content-Length: 12\r\nConnection: close\r\n\r\n{\"steps\":[]}", srv.port, types[i]);
        char *ans = NULL;
        CHECK(raw_status(srv.port, req, &ans) == 415);
        CHECK(json_error(ans, "unsupported_media_type"));
        free(ans);
    }
    snprintf(req, sizeof req,
             "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
             "{\"steps\":[]}", srv.port);
    CHECK(raw_status(srv.port, req, NULL) == 415);
    /* JSON with parameters, any case, is JSON */
    snprintf(req, sizeof req,
             "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: Application/JSON; charset=utf-8\r\n"
             "Content-Length: 12\r\nConnection: close\r\n\r\n{\"steps\":[]}", srv.port);
    int st = raw_status(srv.port, req, NULL);
    CHECK(st != 415 && st != 0);
    /* DELETE with a body needs the type too; without one it does not */
    snprintf(req, sizeof req,
             "DELETE /api/v1/experiments/999999 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: text/plain\r\n"
             "Content-Length: 2\r\nConnection: close\r\n\r\nhi", srv.port);
    CHECK(raw_status(srv.port, req, NULL) == 415);
    /* no experiment was started by any of these */
    json_t *list = http_get_json(&srv, "/api/v1/experiments");
    json_t *items = list ? json_object_get(list, "experiments") : NULL;
    CHECK(items && json_array_size(items) == 0);
    json_decref(list);

    /* --cors-origin names an origin that may */
    ms_server s;
    const char *args[] = {"--cors-origin", "http://dash.example", NULL};
    CHECK(server_start(&s, args));
    const char *cors[] = {"Origin: http://dash.example", NULL};
    expect_do(&s, "DELETE", "/api/v1/experiments/999999", NULL, cors, 404, NULL);
    expect_do(&s, "DELETE", "/api/v1/experiments/999999", NULL, foreign, 403, "forbidden_origin");
    CHECK_EQ_U64(server_stop(&s), 0);
}

/* The bearer scheme in any case; refusals go out before 100 Continue. */
static void test_auth_and_expect(void)
{
    char tokfile[] = "/tmp/memscope-proto-token-XXXXXX";
    int tf = mkstemp(tokfile);
    CHECK(tf >= 0 && write(tf, TOKEN "\n", sizeof TOKEN) == (ssize_t)sizeof TOKEN);
    close(tf);
    ms_server s;
    const char *args[] = {"--token-file", tokfile, "--max-body", "1KiB", NULL};
    CHECK(server_start(&s, args));
    static const char *const good[] = {"Authorization: Bearer " TOKEN, "Authorization: bearer " TOKEN,
                                       "Authorization: BEARER " TOKEN, "Authorization: bEaReR  " TOKEN, NULL};
    for (int i = 0; good[i]; i++) {
        const char *h[] = {good[i], NULL};
        expect_do(&s, "GET", "/api/v1/system", NULL, h, 200, NULL);
    }
    static const char *const bad[] = {"Authorization: Bearer" TOKEN, "Authorization: Basic " TOKEN,
                                      "Authorization: bearer wrong-" TOKEN, "Authorization: Bearerx " TOKEN, NULL};
    for (int i = 0; bad[i]; i++) {
        const char *h[] = {bad[i], NULL};
        expect_do(&s, "GET", "/api/v1/system", NULL, h, 401, "unauthorized");
    }

    /* Expect: 100-continue: a request that will be refused gets the refusal at once */
    char req[1024];
    struct { const char *what, *line, *auth; const char *len; int status; } rows[] = {
        {"no token", "POST /api/v1/experiments", "", "100", 401},
        {"body over --max-body", "POST /api/v1/experiments", "Authorization: Bearer " TOKEN "\r\n", "100000", 413},
        {"unknown route", "POST /api/v1/nope", "Authorization: Bearer " TOKEN "\r\n", "100000", 404},
        {"wrong method", "POST /api/v1/health", "", "100000", 405},
        {"allowed", "POST /api/v1/experiments", "Authorization: Bearer " TOKEN "\r\n", "100", 100},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(req, sizeof req,
                 "%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Type: application/json\r\nContent-Length: %s\r\n"
                 "Expect: 100-continue\r\n\r\n", rows[i].line, s.port, rows[i].auth, rows[i].len);
        char *ans = NULL;
        int st = raw_status(s.port, req, &ans);
        CHECK(st == rows[i].status);
        if (st != rows[i].status)
            fprintf(stderr, "Expect, %s: got %d, want %d: %.200s\n", rows[i].what, st, rows[i].status, ans ? ans : "");
        if (rows[i].status != 100)
            CHECK(ans && !strstr(ans, "100 Continue"));
        free(ans);
    }
    CHECK_EQ_U64(server_stop(&s), 0);

    /* a token line too long to read whole is refused, not cut to what fitted */
    FILE *f = fopen(tokfile, "w");
    for (int i = 0; f && i < 600; i++)
        fputc('a' + i % 26, f);
    if (f)
        fclose(f);
    const char *longtok[] = {"--listen", "127.0.0.1:0", "--token-file", tokfile, NULL};
    char *err = NULL;
    CHECK(server_run_once(longtok, 5000, &err) == 2);
    CHECK(err && strstr(err, "longer than"));
    free(err);
    unlink(tokfile);
}

/* One way to read where a body ends, and an answer to every framing. */
static void test_framing(void)
{
    char req[1024];
    /* two Content-Lengths: a 400, and the bytes after the headers never run as a second request */
    snprintf(req, sizeof req,
             "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
             "Content-Length: 0\r\nContent-Length: 44\r\n\r\n"
             "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", srv.port);
    char *ans = NULL;
    CHECK(raw_status(srv.port, req, &ans) == 400);
    CHECK(json_error(ans, "bad_request"));
    CHECK(ans && !strstr(ans + 8, "HTTP/1.1 "));   /* one answer only */
    free(ans);
    /* Content-Length beside Transfer-Encoding */
    snprintf(req, sizeof req,
             "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
             "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", srv.port);
    CHECK(raw_status(srv.port, req, NULL) == 400);
    /* a transfer coding memscoped cannot read: an answer at once, not a wait for the idle timeout */
    static const char *const codings[] = {"gzip", "gzip, chunked", "identity", NULL};
    for (int i = 0; codings[i]; i++) {
        snprintf(req, sizeof req,
                 "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: %s\r\n\r\nabc", srv.port, codings[i]);
        ans = NULL;
        CHECK(raw_status(srv.port, req, &ans) == 501);
        CHECK(json_error(ans, "not_implemented"));
        free(ans);
    }
    /* chunked still works */
    snprintf(req, sizeof req,
             "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n", srv.port);
    int st = raw_status(srv.port, req, NULL);
    CHECK(st == 400);   /* the handler read the body: {} is not a valid spec */
}

/* How many times the status line of an answer appears in the bytes received. */
static int status_lines(const char *ans)
{
    int n = 0;
    for (const char *p = ans; p && (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        n++;
    return n;
}

/* A Content-Length libmicrohttpd cannot read is refused by the library itself, before memscoped
 * sees the request; the refusal must come with one header block, not the same one twice (0.9.75
 * needs scripts/mhd-patches/ for that, which the system's library lacks). */
static void test_bad_length(void)
{
    const char *linked = getenv("MEMSCOPE_MHD_LINKED");
    if (linked && strcmp(linked, "system") == 0) {
        CHECK_SKIP("memscoped links the system's libmicrohttpd, which lacks scripts/mhd-patches/ "
                   "(it sends the header block of its 400 twice)");
        return;
    }
    static const struct {
        const char *len;
        int status;
    } cases[] = {{"-1", 400}, {"+5", 400}, {"5 5", 400}, {"0x10", 400},
                 {"99999999999999999999999", 413}};
    char req[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req, sizeof req,
                 "POST /api/v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
                 "Content-Length: %s\r\n\r\n{}", srv.port, cases[i].len);
        char *ans = NULL;
        int st = raw_status(srv.port, req, &ans);
        const char *end = ans ? strstr(ans, "\r\n\r\n") : NULL;
        if (st != cases[i].status || status_lines(ans) != 1 || !end || strstr(end + 4, "\r\n\r\n"))
            fprintf(stderr, "Content-Length: %s got:\n%s\n", cases[i].len, ans ? ans : "(nothing)");
        CHECK(st == cases[i].status);
        CHECK(status_lines(ans) == 1);
        CHECK(end && !strstr(end + 4, "\r\n\r\n"));   /* one header block, then the body */
        free(ans);
    }
}

/* Route and method are judged before the body's size. */
static void test_body_order(void)
{
    size_t n = 100 * 1024;   /* over the default --max-body of 64 KiB */
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    expect_do(&srv, "POST", "/api/v1/health", big, NULL, 405, "method_not_allowed");
    expect_do(&srv, "POST", "/nope", big, NULL, 405, "method_not_allowed");   /* the dashboard's files are GET only */
    expect_do(&srv, "POST", "/api/v1/nope", big, NULL, 404, "not_found");
    expect_do(&srv, "POST", "/api/v1/experiments", big, NULL, 413, "body_too_large");
    free(big);
}

/* Length of the body of a raw answer with a Content-Length, checked against it; -1 if not framed. */
static long framed_body(const char *ans)
{
    const char *cl = ans ? strcasestr(ans, "\r\nContent-Length: ") : NULL;
    const char *end = ans ? strstr(ans, "\r\n\r\n") : NULL;
    if (!cl || !end || cl > end || strcasestr(ans, "Transfer-Encoding"))
        return -1;
    long want = atol(cl + 18);
    return (long)strlen(end + 4) == want ? want : -1;
}

/* An HTTP/1.0 client gets streamed answers whole with a Content-Length, or a clear refusal. */
static void test_http10(void)
{
    ms_subject mid, big;
    const char *margs[] = {"--regions", "2000", NULL};
    const char *bargs[] = {"--regions", "30000", NULL};
    if (!subject_start(&mid, margs)) {
        CHECK(!"subject started");
        return;
    }
    char req[256];
    static const char *const tails[] = {"smaps", "maps", NULL};
    for (int i = 0; tails[i]; i++) {
        snprintf(req, sizeof req, "GET /api/v1/processes/%d/%s HTTP/1.0\r\n\r\n", mid.pid, tails[i]);
        char *ans = NULL;
        CHECK(raw_status(srv.port, req, &ans) == 200);
        long len = framed_body(ans);
        CHECK(len > 64 * 1024);   /* longer than the first part, so it would have been streamed */
        if (len <= 64 * 1024)
            fprintf(stderr, "HTTP/1.0 %s: not framed by Content-Length: %.300s\n", tails[i], ans ? ans : "");
        free(ans);
    }
    subject_stop(&mid);
    if (!subject_start(&big, bargs)) {
        CHECK(!"subject started");
        return;
    }
    snprintf(req, sizeof req, "GET /api/v1/processes/%d/smaps HTTP/1.0\r\n\r\n", big.pid);
    char *ans = NULL;
    CHECK(raw_status(srv.port, req, &ans) == 505);
    CHECK(json_error(ans, "http_version_not_supported") && strstr(ans, "HTTP/1.1"));
    free(ans);
    /* HTTP/1.1 still streams it */
    snprintf(req, sizeof req, "GET /api/v1/processes/%d/smaps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", big.pid);
    ans = NULL;
    CHECK(raw_status(srv.port, req, &ans) == 200);
    CHECK(ans && strcasestr(ans, "Transfer-Encoding: chunked") && strstr(ans, "\r\n0\r\n\r\n"));
    free(ans);
    subject_stop(&big);
}

/* Control bytes, C1 controls, bytes that are not UTF-8 and backslashes are escaped in the log; a line
 * repeated word for word is written a few times, not each time. */
static void test_log(void)
{
    free(server_log(&srv));
    http_resp r;
    CHECK(http_get(&srv, "/api/v1/nope/%C2%85x%FFy%5Cx0az%E2%82%AC", &r) && r.status == 404);
    http_resp_free(&r);
    char *log = server_log(&srv);
    CHECK(log && strstr(log, "/api/v1/nope/\\xc2\\x85x\\xffy\\x5cx0az\xe2\x82\xac"));
    if (!log || !strstr(log, "\\xc2\\x85"))
        fprintf(stderr, "log: %s\n", log ? log : "");
    free(log);
    for (int i = 0; i < 30; i++) {
        CHECK(http_get(&srv, "/api/v1/same-every-time", &r) && r.status == 404);
        http_resp_free(&r);
    }
    log = server_log(&srv);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, "-> 404 not_found: no such route: GET /api/v1/same-every-time")); p++)
        n++;
    CHECK(n >= 1 && n <= 10);   /* 5 per 10 s window; the 30 requests take far less than 20 s */
    if (n > 5)
        fprintf(stderr, "an identical line was written %d times\n", n);
    free(log);
}

/* The dashboard's files: an encoded NUL names no file; If-None-Match with * or a weak tag. */
static void test_static(void)
{
    http_resp r;
    CHECK(http_get(&srv, "/index.html%00.js", &r) && r.status == 404 && !strstr(r.body ? r.body : "", "<html"));
    http_resp_free(&r);
    CHECK(http_get(&srv, "/index.html", &r) && r.status == 200);
    char etag[128] = "";
    http_header(&r, "ETag", etag, sizeof etag);
    http_resp_free(&r);
    CHECK(etag[0] == '"');
    char weak[160], list[200];
    snprintf(weak, sizeof weak, "If-None-Match: W/%s", etag);
    snprintf(list, sizeof list, "If-None-Match: \"nope\", W/%s", etag);
    const char *const *cases[] = {(const char *[]){"If-None-Match: *", NULL}, (const char *[]){weak, NULL},
                                  (const char *[]){list, NULL}};
    for (size_t i = 0; i < 3; i++) {
        CHECK(http_do(&srv, "GET", "/index.html", NULL, cases[i], &r) && r.status == 304 && r.len == 0);
        http_resp_free(&r);
    }
    const char *other[] = {"If-None-Match: \"0-0\", W/\"1-1\"", NULL};
    CHECK(http_do(&srv, "GET", "/index.html", NULL, other, &r) && r.status == 200 && r.len > 0);
    size_t len200 = r.len;
    http_resp_free(&r);
    /* On the wire, a 304 has the 200's Content-Length or none (RFC 9110 8.6), never 0, is not
     * chunked and has no body; the same connection then serves the next request. */
    char req[512];
    snprintf(req, sizeof req,
             "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nIf-None-Match: %s\r\n\r\n"
             "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nIf-None-Match: %s\r\nConnection: close\r\n\r\n",
             srv.port, etag, srv.port, etag);
    char *ans = NULL;
    CHECK(raw_status(srv.port, req, &ans) == 304);
    const char *end = ans ? strstr(ans, "\r\n\r\n") : NULL;
    CHECK(end != NULL);
    if (end) {
        const char *cl = strcasestr(ans, "\r\nContent-Length:");
        if (cl && cl < end) {
            CHECK_EQ_U64(strtoull(cl + 17, NULL, 10), len200);
            const char *again = strcasestr(cl + 2, "\r\nContent-Length:");
            CHECK(!again || again > end);   /* one Content-Length */
        }
        const char *te = strcasestr(ans, "\r\nTransfer-Encoding:");
        CHECK(!te || te > end);
        CHECK(strncmp(end + 4, "HTTP/1.1 304 ", 13) == 0);   /* no body: the next answer follows at once */
        const char *end2 = strstr(end + 4, "\r\n\r\n");
        CHECK(end2 && end2[4] == '\0');
    }
    if (ans && (!end || !strstr(end, "HTTP/1.1 304 ")))
        fprintf(stderr, "two conditional GETs got:\n%s\n", ans);
    free(ans);
}

int main(void)
{
    const char *args[] = {"--log-level", "debug", NULL};
    if (!server_start(&srv, args)) {
        fprintf(stderr, "could not start memscoped\n");
        return 1;
    }
    test_port_in_use();
    test_host();
    test_origin_and_type();
    test_auth_and_expect();
    test_framing();
    test_bad_length();
    test_body_order();
    test_http10();
    test_log();
    test_static();
    json_t *h = http_get_json(&srv, "/api/v1/health");
    CHECK(h != NULL);
    json_decref(h);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
