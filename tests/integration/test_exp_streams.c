/* test_exp_streams.c - /events streams of clients that went away, and what a stream costs.
 *
 * A client that resets its connection (SO_LINGER 0, then close: an RST) while the lab is silent
 * must be noticed within a few seconds: memscoped's open descriptors (/proc/PID/fd) fall back to
 * what they were and all 64 stream slots are free again for new clients.  And a stream must not
 * cost memory in proportion to the experiment's lines: 48 streams that do not read, on an
 * experiment with megabytes of lines, may not grow memscoped's VmRSS by anything like 48 copies; nor
 * may a GET of that experiment cost more than a copy of its lines. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define MAX_STREAMS 64          /* memscoped's limit of live streams */
#define NOTICE_S 8              /* heartbeat every 2 s, plus slack for a loaded machine */

static ms_server srv;

static bool asan_build(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, "libasan") != NULL;
    if (f)
        fclose(f);
    return found;
}

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Opens a stream on a raw socket; rcvbuf > 0 shrinks the receive buffer (a client that does not
 * read).  Returns the socket, or -1. */
static int open_stream(long long id, long long from, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256];
    int n = snprintf(req, sizeof req, "GET /api/v1/experiments/%lld/events?from=%lld HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                     id, from, srv.port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The status code of the answer on fd (reads its header block), or -1 after 10 s. */
static int read_status(int fd)
{
    char buf[4096];
    size_t len = 0;
    long deadline = harness_now_ms() + 10000;
    while (len + 1 < sizeof buf && harness_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = 0;
        if (strstr(buf, "\r\n\r\n"))
            return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : -1;
    }
    return -1;
}

static void reset_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* Waits until memscoped holds at most `want` descriptors; returns the ms it took, or -1. */
static long wait_fds(int want)
{
    long t0 = harness_now_ms();
    while (harness_now_ms() - t0 < NOTICE_S * 1000) {
        if (count_fds(srv.pid) <= want)
            return harness_now_ms() - t0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "memscoped still holds %d descriptors (%d before the streams)\n", count_fds(srv.pid), want);
    return -1;
}

static json_t *wait_holding(long long id)
{
    for (int i = 0; i < 600; i++) {
        json_t *x = http_get_json(&srv, "/api/v1/experiments/%lld", id);
        if (x && jstr(x, "state") && strcmp(jstr(x, "state"), "holding") == 0)
            return x;
        json_decref(x);
        usleep(100 * 1000);
    }
    return NULL;
}

/* A 4096-step experiment (sleep 0: cheap, but each step prints a full line), held 60 s. */
static long long start_long(void)
{
    size_t cap = 4096 * 32 + 64, n = 0;
    char *body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"hold_s\":60,\"steps\":[");
    for (int i = 0; i < 4096; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"op\":\"sleep\",\"ms\":0}", i ? "," : "");
    snprintf(body + n, cap - n, "]}");
    http_resp r;
    CHECK(http_do(&srv, "POST", "/api/v1/experiments", body, NULL, &r) && r.status == 201);
    long long id = r.json ? jint(r.json, "id") : -1;
    if (r.status != 201)
        fprintf(stderr, "POST: %ld %.300s\n", r.status, r.body ? r.body : "");
    http_resp_free(&r);
    free(body);
    return id;
}

int main(void)
{
    const char *args[] = {"--experiment-steps", "4096", "--max-body", "256KiB", "--max-per-ip", "200", NULL};
    if (!server_start(&srv, args)) {
        fprintf(stderr, "could not start memscoped\n");
        return 1;
    }
    long long hwm0 = proc_kb(srv.pid, "status", "VmHWM");
    long long id = start_long();
    json_t *x = id > 0 ? wait_holding(id) : NULL;   /* GETs it over and over meanwhile */
    CHECK(x != NULL);
    long long lines = x ? jint(x, "lines_total") : 0;
    char *dump = x ? json_dumps(json_object_get(x, "lines"), JSON_COMPACT) : NULL;
    size_t log_bytes = dump ? strlen(dump) : 0;
    free(dump);
    json_decref(x);
    printf("experiment %lld: %lld lines, %zu bytes\n", id, lines, log_bytes);
    CHECK(log_bytes > (2u << 20));
    /* a GET answer costs one copy of the lines, not a parsed tree of them (six times their size) */
    long long hwm1 = proc_kb(srv.pid, "status", "VmHWM");
    printf("VmHWM %lld -> %lld bytes: the log itself and one GET answer at a time\n", hwm0, hwm1);
    if (asan_build(srv.pid))
        CHECK_SKIP("memscoped is an AddressSanitizer build: its allocator keeps freed memory in quarantine, "
                   "so its peak says nothing of what one answer costs");
    else
        CHECK(hwm0 > 0 && hwm1 - hwm0 < 4 * (long long)log_bytes);

    int fds0 = count_fds(srv.pid);
    long long rss0 = proc_kb(srv.pid, "status", "VmRSS");
    CHECK(fds0 > 0 && rss0 > 0);

    /* 48 streams from the first line that do not read: what does each cost memscoped? */
    enum { NSLOW = 48 };
    int slow[NSLOW];
    for (int i = 0; i < NSLOW; i++)
        CHECK((slow[i] = open_stream(id, 0, 4096)) >= 0);
    sleep(2);
    long long rss1 = proc_kb(srv.pid, "status", "VmRSS");
    long long per_stream = (rss1 - rss0) / NSLOW;
    printf("VmRSS %lld -> %lld bytes with %d streams that do not read: %lld bytes per stream (the log is %zu)\n",
           rss0, rss1, NSLOW, per_stream, log_bytes);
    CHECK(per_stream < (long long)log_bytes / 8);
    for (int i = 0; i < NSLOW; i++)
        if (slow[i] >= 0)
            reset_close(slow[i]);
    long took = wait_fds(fds0);
    CHECK(took >= 0);

    /* 64 silent streams (from the end: the lab holds and prints nothing), all slots taken */
    int fds[MAX_STREAMS];
    int ok = 0;
    for (int i = 0; i < MAX_STREAMS; i++) {
        fds[i] = open_stream(id, lines, 0);
        ok += fds[i] >= 0 && read_status(fds[i]) == 200;
    }
    CHECK_EQ_U64(ok, MAX_STREAMS);
    int extra = open_stream(id, lines, 0);
    CHECK(extra >= 0 && read_status(extra) == 429);
    if (extra >= 0)
        close(extra);
    for (int i = 0; i < MAX_STREAMS; i++)
        if (fds[i] >= 0)
            reset_close(fds[i]);
    took = wait_fds(fds0);
    printf("reset streams noticed after %ld ms\n", took);
    CHECK(took >= 0);

    /* every slot is free again */
    ok = 0;
    for (int i = 0; i < MAX_STREAMS; i++) {
        fds[i] = open_stream(id, lines, 0);
        ok += fds[i] >= 0 && read_status(fds[i]) == 200;
    }
    CHECK_EQ_U64(ok, MAX_STREAMS);
    for (int i = 0; i < MAX_STREAMS; i++)   /* an orderly close is noticed the same way */
        if (fds[i] >= 0)
            close(fds[i]);
    CHECK(wait_fds(fds0) >= 0);

    char path[64];
    snprintf(path, sizeof path, "/api/v1/experiments/%lld", id);
    http_resp r;
    CHECK(http_do(&srv, "DELETE", path, NULL, NULL, &r) && r.status == 200);
    http_resp_free(&r);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
