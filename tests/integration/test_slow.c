/* test_slow.c - clients that hold connections: slowloris (a header byte now and then, forever) and a
 * burst of connections past the descriptor limit.
 *
 * memscoped must close a connection whose request has not arrived whole within --request-timeout
 * however steadily it trickles, keep room for clients that send their requests at once, lower
 * --max-connections to what RLIMIT_NOFILE holds (so accept() never fails in a loop), and never log
 * the same line thousands of times.  Bounded: at most 8 slow connections and 200 idle ones, on
 * loopback, for a few seconds each. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* One byte more of a header that never ends; false once the server has closed the connection. */
static bool trickle(int fd)
{
    char c;
    if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
        return false;
    return send(fd, "a", 1, MSG_NOSIGNAL) == 1;
}

#define NSLOW 8
#define REQUEST_TIMEOUT_S 10   /* the default of --request-timeout */

static void test_slowloris(void)
{
    ms_server s;
    const char *args[] = {"--max-connections", "8", "--idle-timeout", "30", NULL};
    CHECK(server_start(&s, args));
    if (!s.port)
        return;
    int fds[NSLOW];
    long closed_at[NSLOW];
    long t0 = now_ms();
    for (int i = 0; i < NSLOW; i++) {
        fds[i] = connect_lo(s.port);
        closed_at[i] = 0;
        static const char start[] = "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        CHECK(fds[i] >= 0 && send(fds[i], start, sizeof start - 1, MSG_NOSIGNAL) == (ssize_t)sizeof start - 1);
    }
    /* every slot is taken by a slow client; a byte each every 200 ms keeps the idle timeout away */
    bool asked = false, answered = false;
    long deadline = t0 + (REQUEST_TIMEOUT_S + 3) * 1000;
    while (now_ms() < deadline) {
        int open = 0;
        for (int i = 0; i < NSLOW; i++) {
            if (fds[i] >= 0 && !closed_at[i] && !trickle(fds[i]))
                closed_at[i] = now_ms() - t0;
            open += !closed_at[i];
        }
        if (!asked && now_ms() - t0 >= 1500) {
            /* a well-behaved client still gets an answer, within a few seconds */
            asked = true;
            http_resp r;
            long t = now_ms();
            answered = http_get(&s, "/api/v1/health", &r) && r.status == 200 && now_ms() - t < 5000;
            http_resp_free(&r);
        }
        if (!open && asked)
            break;
        usleep(200 * 1000);
    }
    CHECK(answered);
    int late = 0, at_deadline = 0;
    for (int i = 0; i < NSLOW; i++) {
        if (!closed_at[i] || closed_at[i] > (REQUEST_TIMEOUT_S + 2) * 1000)
            late++;
        /* half the slots are left to slow clients until their deadline */
        at_deadline += closed_at[i] >= (REQUEST_TIMEOUT_S - 1) * 1000;
        if (fds[i] >= 0)
            close(fds[i]);
    }
    CHECK(late == 0);
    CHECK(at_deadline >= 1);
    if (late)
        fprintf(stderr, "%d of %d slow connections were still open %d s after their start\n", late, NSLOW,
                REQUEST_TIMEOUT_S + 2);
    char *log = server_log(&s);
    CHECK(log && strstr(log, "had not arrived whole"));
    free(log);
    CHECK_EQ_U64(server_stop(&s), 0);
}

/* utime + stime of pid, in clock ticks */
static long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long ut = 0, st = 0;
    /* fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

#define NBURST 200

static void test_out_of_descriptors(void)
{
    ms_server s;
    const char *wrap[] = {"prlimit", "--nofile=128:128", NULL};
    if (access("/usr/bin/prlimit", X_OK) != 0 && access("/bin/prlimit", X_OK) != 0) {
        CHECK_SKIP("prlimit (util-linux) is not installed, so the descriptor limit cannot be lowered");
        return;
    }
    /* one client address: the per-client cap must not be what stops the burst */
    const char *args[] = {"--max-per-ip", "1000", NULL};
    CHECK(server_start_cmd(&s, wrap, args));
    if (!s.port)
        return;
    int fds[NBURST];
    int opened = 0;
    for (int i = 0; i < NBURST; i++)
        if ((fds[i] = connect_lo(s.port)) >= 0)
            opened++;
    CHECK(opened > 100);
    long hz = sysconf(_SC_CLK_TCK);
    long c0 = cpu_ticks(s.pid);
    sleep(2);
    long c1 = cpu_ticks(s.pid);
    /* held connections cost nothing: far from a spinning core (2 s would be 2 * hz ticks) */
    CHECK(c0 >= 0 && c1 >= 0 && c1 - c0 < hz / 2);
    if (c1 - c0 >= hz / 2)
        fprintf(stderr, "memscoped used %ld ticks of CPU in 2 s with connections held\n", c1 - c0);
    for (int i = 0; i < NBURST; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* it answers once they are gone */
    bool ok = false;
    for (int i = 0; i < 30 && !ok; i++) {
        http_resp r;
        ok = http_get(&s, "/api/v1/health", &r) && r.status == 200;
        http_resp_free(&r);
        if (!ok)
            usleep(100 * 1000);
    }
    CHECK(ok);
    char *log = server_log(&s);
    int lines = 0;
    for (const char *p = log; p && *p; p++)
        lines += *p == '\n';
    CHECK(lines < 100);
    if (lines >= 100)
        fprintf(stderr, "%d log lines after a burst of %d connections; the first: %.600s\n", lines, NBURST,
                log ? log : "");
    free(log);
    CHECK_EQ_U64(server_stop(&s), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_slowloris();
    test_out_of_descriptors();
    return check_done();
}
