/* test_faults.c - faults around memscoped: a lab killed mid-experiment, clients that hang
 * up mid-answer (a big /smaps, live event streams), and SIGTERM while experiments run.  The server
 * must keep serving or stop cleanly and quickly, and leave no memscope-lab behind.  Each server
 * ends with exit status 0 on SIGTERM (in a sanitizer build: no leak either). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool pid_gone(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d", (int)pid);
    struct stat st;
    return kill(pid, 0) != 0 && errno == ESRCH && stat(p, &st) != 0;
}

static void health_ok(const ms_server *s)
{
    http_resp r;
    CHECK(http_get(s, "/api/v1/health", &r) && r.status == 200 && r.json);
    http_resp_free(&r);
}

/* POSTs a spec; returns the experiment id (0 on failure) and the lab's pid. */
static long long start_exp(const ms_server *s, const char *spec, pid_t *pid)
{
    http_resp r;
    long long id = 0;
    if (http_do(s, "POST", "/api/v1/experiments", spec, NULL, &r) && r.status == 201) {
        id = jint(r.json, "id");
        *pid = (pid_t)jint(r.json, "pid");
    } else {
        fprintf(stderr, "POST %s -> %ld %.300s\n", spec, r.status, r.body ? r.body : "");
    }
    http_resp_free(&r);
    return id;
}

/* GETs the experiment until pred holds or timeout_ms passes; returns it (caller decrefs) or NULL. */
static json_t *wait_exp(const ms_server *s, long long id, bool (*pred)(const json_t *), long timeout_ms)
{
    char p[64];
    snprintf(p, sizeof p, "/api/v1/experiments/%lld", id);
    long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        http_resp r;
        if (http_get(s, p, &r) && r.status == 200 && r.json && pred(r.json)) {
            json_t *j = json_incref(r.json);
            http_resp_free(&r);
            return j;
        }
        http_resp_free(&r);
        usleep(50000);
    }
    return NULL;
}

static bool sleeping(const json_t *j) { return jint(j, "steps_done") >= 2; }
static bool ended(const json_t *j) { return json_is_false(json_object_get(j, "alive")); }

/* The lab SIGKILLed by someone else in the middle of a step: reported, and the server carries on. */
static void test_lab_killed(const ms_server *s)
{
    pid_t pid = 0;
    long long id = start_exp(s, "{\"steps\":[{\"op\":\"malloc\",\"size\":\"8MiB\",\"as\":\"a\"},"
                                "{\"op\":\"touch\",\"ptr\":\"a\",\"fraction\":1},{\"op\":\"sleep\",\"ms\":30000}]}", &pid);
    CHECK(id > 0 && pid > 0);
    if (id <= 0)
        return;
    json_t *j = wait_exp(s, id, sleeping, 20000);
    CHECK(j != NULL);
    json_decref(j);
    CHECK(kill(pid, SIGKILL) == 0);
    j = wait_exp(s, id, ended, 10000);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(jstr(j, "state"), "killed");
        CHECK_STR(jstr(j, "signal"), "SIGKILL");
        CHECK(jstr(j, "reason") && strstr(jstr(j, "reason"), "SIGKILL"));
        CHECK(jint(j, "after_step") >= 1);
    }
    json_decref(j);
    CHECK(pid_gone(pid));   /* reaped by the server, not left a zombie */
    health_ok(s);
    /* and the next experiment runs normally */
    pid_t pid2 = 0;
    long long id2 = start_exp(s, "{\"steps\":[{\"op\":\"malloc\",\"size\":\"1MiB\",\"as\":\"a\"}]}", &pid2);
    CHECK(id2 > 0);
    j = id2 > 0 ? wait_exp(s, id2, ended, 20000) : NULL;
    CHECK(j && strcmp(jstr(j, "state"), "done") == 0);
    json_decref(j);
}

typedef struct {
    size_t got;
    size_t stop_after;
    bool saw_data;
} cut;

static size_t cut_write(char *p, size_t sz, size_t n, void *ud)
{
    cut *c = ud;
    c->got += sz * n;
    if (memmem(p, sz * n, "data:", 5))
        c->saw_data = true;
    return c->got >= c->stop_after ? 0 : sz * n;   /* 0: curl aborts and closes the connection */
}

/* GETs path and hangs up after about stop_after bytes, or after timeout_ms; returns what it saw. */
static cut get_and_hang_up_t(const ms_server *s, const char *path, size_t stop_after, long timeout_ms)
{
    cut c = {.stop_after = stop_after};
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cut_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    CURLcode rc = curl_easy_perform(h);
    CHECK(rc == (timeout_ms < 30000 ? CURLE_OPERATION_TIMEDOUT : CURLE_WRITE_ERROR));
    curl_easy_cleanup(h);
    return c;
}

static cut get_and_hang_up(const ms_server *s, const char *path, size_t stop_after)
{
    return get_and_hang_up_t(s, path, stop_after, 30000);
}

/* Sends a request on a raw socket and closes it after reading at most `keep` bytes. */
static void raw_hang_up(const ms_server *s, const char *path, size_t keep)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    CHECK(write(fd, req, (size_t)n) == n);
    char buf[256];
    size_t got = 0;
    while (got < keep) {
        ssize_t k = read(fd, buf, sizeof buf < keep - got ? sizeof buf : keep - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);   /* unread data pending: the kernel answers with a reset */
}

static void test_disconnects(const ms_server *s)
{
    /* a process with 20,000 regions: its /smaps is some 15 MB */
    ms_subject big;
    const char *args[] = {"--regions", "20000", NULL};
    CHECK(subject_start(&big, args));
    char p[128];
    snprintf(p, sizeof p, "/api/v1/processes/%d/smaps", big.pid);
    for (int i = 0; i < 10; i++) {
        cut c = get_and_hang_up(s, p, 1 + (size_t)i * 50000);
        CHECK(c.got > 0);
        raw_hang_up(s, p, (size_t)i * 1000);
    }
    health_ok(s);
    /* the answer is still whole for a client that reads it all */
    http_resp r;
    CHECK(http_get(s, p, &r) && r.status == 200 && r.json && jint(r.json, "count") > 20000);
    http_resp_free(&r);
    subject_stop(&big);

    /* live event streams dropped: after the first event, and before any */
    pid_t pid = 0;
    long long id = start_exp(s, "{\"steps\":[{\"op\":\"malloc\",\"size\":\"1MiB\",\"as\":\"a\"},"
                                "{\"op\":\"sleep\",\"ms\":200},{\"op\":\"sleep\",\"ms\":200}],\"hold_s\":30}", &pid);
    CHECK(id > 0);
    snprintf(p, sizeof p, "/api/v1/experiments/%lld/events", id);
    for (int i = 0; i < 8; i++) {
        cut c = get_and_hang_up(s, p, 1);
        CHECK(c.saw_data);
        raw_hang_up(s, p, 0);
        raw_hang_up(s, p, 40);
    }
    /* a stream that waits for lines still to come, dropped while parked */
    pid_t pid2 = 0;
    long long id2 = start_exp(s, "{\"steps\":[{\"op\":\"sleep\",\"ms\":1500}]}", &pid2);
    snprintf(p, sizeof p, "/api/v1/experiments/%lld/events?from=1000", id2);
    raw_hang_up(s, p, 10);
    get_and_hang_up_t(s, p, 1, 300);
    health_ok(s);
    /* a full stream still runs to its end */
    json_t *j = wait_exp(s, id2, ended, 20000);
    CHECK(j && strcmp(jstr(j, "state"), "done") == 0);
    json_decref(j);
    snprintf(p, sizeof p, "/api/v1/experiments/%lld/events", id2);
    CHECK(http_get(s, p, &r) && r.status == 200 && r.body && strstr(r.body, "\"type\":\"exit\""));
    http_resp_free(&r);
    snprintf(p, sizeof p, "/api/v1/experiments/%lld", id);
    CHECK(http_do(s, "DELETE", p, NULL, NULL, &r) && r.status == 200);
    http_resp_free(&r);
    CHECK(pid_gone(pid));
    health_ok(s);
}

static void *follow(void *arg)
{
    const ms_server *s = ((void **)arg)[0];
    const char *path = ((void **)arg)[1];
    http_resp r;
    http_get(s, path, &r);   /* returns when the server ends the stream */
    http_resp_free(&r);
    return NULL;
}

/* SIGTERM with experiments running and holding and a stream parked: a prompt, clean stop, no lab left. */
static void test_sigterm(void)
{
    ms_server s;
    CHECK(server_start(&s, NULL));
    if (!s.port)
        return;
    pid_t labs[3] = {0, 0, 0};
    long long id1 = start_exp(&s, "{\"steps\":[{\"op\":\"malloc\",\"size\":\"4MiB\",\"as\":\"a\"},"
                                  "{\"op\":\"touch\",\"ptr\":\"a\"},{\"op\":\"sleep\",\"ms\":60000}]}", &labs[0]);
    long long id2 = start_exp(&s, "{\"steps\":[{\"op\":\"mmap\",\"size\":\"4MiB\",\"as\":\"m\"},"
                                  "{\"op\":\"fork\",\"ptr\":\"m\",\"fraction\":0.5}],\"hold_s\":300}", &labs[1]);
    CHECK(id1 > 0 && id2 > 0);
    json_t *j = wait_exp(&s, id1, sleeping, 20000);
    CHECK(j != NULL);
    json_decref(j);
    char p[96];
    snprintf(p, sizeof p, "/api/v1/experiments/%lld/events", id1);
    void *arg[2] = {&s, p};
    pthread_t t;
    pthread_create(&t, NULL, follow, arg);
    usleep(300000);
    long t0 = now_ms();
    CHECK(kill(s.pid, SIGTERM) == 0);
    int st = 0;
    pid_t w = 0;
    while ((w = waitpid(s.pid, &st, WNOHANG)) == 0 && now_ms() - t0 < 10000)
        usleep(10000);
    long took = now_ms() - t0;
    printf("SIGTERM to exit: %ld ms\n", took);
    CHECK(w == s.pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(took < 3000);
    if (w != s.pid) {
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
    }
    close(s.log_fd);
    pthread_join(t, NULL);
    for (int i = 0; i < 2; i++)
        CHECK(labs[i] > 0 && pid_gone(labs[i]));
    /* nor any lab of those process groups (the fork step's child): pgrep finds none */
    char cmd[128];
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "pgrep -g %d", (int)labs[i]);
        char *out = run_capture(cmd);   /* pgrep exits 1 when nothing matches: NULL */
        CHECK(out == NULL);
        if (out)
            fprintf(stderr, "left behind in group %d: %s\n", (int)labs[i], out);
        free(out);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    ms_server s;
    if (!server_start(&s, NULL)) {
        fprintf(stderr, "could not start memscoped\n");
        return 1;
    }
    test_lab_killed(&s);
    test_disconnects(&s);
    CHECK_EQ_U64(server_stop(&s), 0);
    test_sigterm();
    curl_global_cleanup();
    return check_done();
}
