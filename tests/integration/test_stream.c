/* test_stream.c - /maps and /smaps are streamed: what a client gets is whole and exact, or visibly cut.
 *
 * A 20,000-region subject's /smaps (about 11 MB) and /maps must come chunked, parse, list every
 * region the kernel's own maps lists (counted here without memscope's code), in order, with totals
 * equal to the kernel's smaps_rollup.  A small answer still comes whole, with a Content-Length.  And
 * when the process exits while its answer is on the way, the client must not get a well-formed
 * ending: the connection is closed without the last chunk, the server says so in its log and keeps
 * serving. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static ms_server srv;

static long count_lines(int pid, const char *file)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static bool chunked(const http_resp *r)
{
    char v[64];
    return http_header(r, "Transfer-Encoding", v, sizeof v) && strcmp(v, "chunked") == 0;
}

/* Regions in order, none overlapping; returns the sum of fields.<field> (or -1 if unsorted). */
static long long check_regions(const json_t *regions, const char *field)
{
    long long sum = 0;
    unsigned long long last_end = 0;
    size_t i;
    const json_t *g;
    json_array_foreach(regions, i, g) {
        unsigned long long start = strtoull(json_string_value(json_object_get(g, "start")), NULL, 16);
        unsigned long long end = strtoull(json_string_value(json_object_get(g, "end")), NULL, 16);
        if (start < last_end || end <= start)
            return -1;
        last_end = end;
        if (field)
            sum += json_integer_value(json_object_get(json_object_get(g, "fields"), field));
    }
    return sum;
}

static void big_answers(void)
{
    ms_subject big;
    const char *args[] = {"--regions", "20000", NULL};
    if (!subject_start(&big, args)) {
        CHECK(!"subject started");
        return;
    }
    char p[128];
    http_resp r = {0};
    snprintf(p, sizeof p, "/api/v1/processes/%d/smaps", big.pid);
    /* The kernel's rollup read just before and just after the answer: equal, the process held still
     * while memscope read it (the subject may still be settling right after its first line, e.g.
     * stdio's first read of stdin dirties a page), and then the answer must equal it exactly. */
    static const char *const keys[][2] = {{"Rss", "totals.rss"}, {"Private_Dirty", "totals.private_dirty"},
                                          {"Anonymous", "totals.anonymous"}};
    long long before[3], after[3];
    bool still = false, ok = false;
    for (int attempt = 0; attempt < 10 && !still; attempt++) {
        http_resp_free(&r);
        for (int k = 0; k < 3; k++)
            before[k] = proc_kb(big.pid, "smaps_rollup", keys[k][0]);
        ok = http_get(&srv, p, &r) && r.status == 200 && r.json;
        still = true;
        for (int k = 0; k < 3; k++) {
            after[k] = proc_kb(big.pid, "smaps_rollup", keys[k][0]);
            still &= before[k] == after[k];
        }
        if (!still)
            usleep(100000);
    }
    CHECK(ok);
    if (!still)
        CHECK_SKIP("the subject's smaps_rollup kept moving around the request (10 tries): its totals "
                   "are not compared with the kernel's");
    if (!ok) {
        http_resp_free(&r);
        subject_stop(&big);
        return;
    }
    CHECK(chunked(&r));
    long lines = count_lines(big.pid, "maps");
    CHECK(lines > 20000);
    CHECK_EQ_U64(jint(r.json, "count"), lines);
    const json_t *regions = json_object_get(r.json, "regions");
    CHECK_EQ_U64(json_array_size(regions), lines);
    long long rss = check_regions(regions, "rss");
    CHECK(rss > 0);
    CHECK_EQ_U64(jint(r.json, "totals.rss"), rss);
    for (int k = 0; k < 3 && still; k++)
        CHECK_EQ_U64(jint(r.json, keys[k][1]), after[k]);
    /* Not uss against the rollup: a text page of the subject's turns from private to shared clean
     * whenever another subject starts (tests run side by side); the answer's own figures agree. */
    CHECK_EQ_U64(jint(r.json, "uss"), jint(r.json, "totals.private_clean") +
                                          jint(r.json, "totals.private_dirty") +
                                          jint(r.json, "totals.private_hugetlb"));
    http_resp_free(&r);

    snprintf(p, sizeof p, "/api/v1/processes/%d/maps", big.pid);
    CHECK(http_get(&srv, p, &r) && r.status == 200 && r.json);
    CHECK(chunked(&r));
    CHECK_EQ_U64(jint(r.json, "count"), lines);
    CHECK_EQ_U64(json_array_size(json_object_get(r.json, "regions")), lines);
    CHECK(check_regions(json_object_get(r.json, "regions"), NULL) == 0);
    http_resp_free(&r);
    subject_stop(&big);
}

static void small_answer(void)
{
    ms_subject s;
    if (!subject_start(&s, NULL)) {
        CHECK(!"subject started");
        return;
    }
    char p[128], v[64];
    http_resp r;
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps", s.pid);
    CHECK(http_get(&srv, p, &r) && r.status == 200 && r.json);
    CHECK(!chunked(&r));
    CHECK(http_header(&r, "Content-Length", v, sizeof v) && strtoul(v, NULL, 10) == r.len);
    CHECK_EQ_U64(jint(r.json, "count"), count_lines(s.pid, "maps"));
    http_resp_free(&r);
    subject_stop(&s);
}

static int connect_small(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 8192;
    /* a small receive window, so the server cannot run far ahead of what is read */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#define TAIL 16

/* The last TAIL bytes seen, for telling how the answer ended. */
typedef struct {
    char b[TAIL];
    size_t n;
} tail_t;

static void tail_add(tail_t *t, const char *p, size_t k)
{
    if (k >= TAIL) {
        memcpy(t->b, p + k - TAIL, TAIL);
        t->n = TAIL;
        return;
    }
    size_t drop = t->n + k > TAIL ? t->n + k - TAIL : 0;
    memmove(t->b, t->b + drop, t->n - drop);
    memcpy(t->b + t->n - drop, p, k);
    t->n = t->n - drop + k;
}

/* Reads up to n bytes, or to EOF (*eof), or until nothing came for timeout_ms. */
static size_t read_some(int fd, size_t n, int timeout_ms, tail_t *t, bool *eof)
{
    char buf[65536];
    size_t got = 0;
    *eof = false;
    while (got < n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, timeout_ms) <= 0)
            break;
        ssize_t k = read(fd, buf, sizeof buf < n - got ? sizeof buf : n - got);
        if (k <= 0) {
            *eof = true;
            break;
        }
        got += (size_t)k;
        tail_add(t, buf, (size_t)k);
    }
    return got;
}

static void exit_mid_answer(void)
{
    ms_subject big;
    const char *args[] = {"--regions", "40000", NULL};
    if (!subject_start(&big, args)) {
        CHECK(!"subject started");
        return;
    }
    free(server_log(&srv));
    int fd = connect_small(srv.port);
    CHECK(fd >= 0);
    char req[160];
    int n = snprintf(req, sizeof req, "GET /api/v1/processes/%d/smaps HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                     big.pid);
    CHECK(write(fd, req, (size_t)n) == n);
    tail_t t = {.n = 0};
    bool eof;
    /* the headers and the first part of the body */
    size_t got = read_some(fd, 65536, 5000, &t, &eof);
    CHECK(got > 1000 && !eof);
    subject_stop(&big);             /* exits and is reaped: its smaps now ends early */
    got = read_some(fd, (size_t)1 << 40, 20000, &t, &eof);
    CHECK(eof);                     /* the server closed the connection ... */
    CHECK(t.n < 5 || memcmp(t.b + t.n - 5, "0\r\n\r\n", 5) != 0);   /* ... without the last chunk */
    close(fd);
    char *log = server_log(&srv);
    CHECK(log && strstr(log, "cut short"));
    free(log);
    json_t *h = http_get_json(&srv, "/api/v1/health");
    CHECK(h != NULL);
    json_decref(h);
}

int main(void)
{
    if (!server_start(&srv, NULL)) {
        CHECK(!"memscoped started");
        return check_done();
    }
    big_answers();
    small_answer();
    exit_mid_answer();
    CHECK(server_stop(&srv) == 0);
    return check_done();
}
