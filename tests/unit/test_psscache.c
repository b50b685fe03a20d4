/* test_psscache.c - PSS/USS on a budget: figures equal smaps_rollup's, reused only while a process
 * has not moved, re-read when it has, skipped (and said so) when the budget is spent, never given
 * to another process under a reused pid (a real one, made with ns_last_pid); progress under a
 * spent budget (every process read within the bound, movers first, the starved queue); and one
 * cache hammered by several threads at once. */
#include "check.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/psscache.h"
#include "spawn.h"

#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

/* "Key:   123 kB" of /proc/<pid>/smaps_rollup in bytes, read without core's parser (and without
 * starting a process: one that maps libc would change the subject's PSS). */
static unsigned long long rollup_kb(int pid, const char *key)
{
    char path[64], line[256];
    unsigned long long v = ~0ULL;
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    FILE *f = fopen(path, "r");
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = strtoull(line + kl + 1, NULL, 10) * 1024;
    if (f)
        fclose(f);
    return v;
}

static ms_procinfo info_of(int pid)
{
    ms_procinfo p;
    int dirfd;
    memset(&p, 0, sizeof p);
    if (ms_pid_open(pid, &dirfd) == MS_OK) {
        CHECK(ms_procinfo_read(dirfd, pid, &p) == MS_OK);
        close(dirfd);
    }
    return p;
}

static void test_rule(void)
{
    subject a;
    const char *args[] = {"--pages", "512", "--write", "300", "--shared", "64", NULL};
    if (spawn_subject(&a, args) != 0) {
        CHECK(!"subject did not start");
        return;
    }
    ms_psscache *c = NULL;
    CHECK(ms_psscache_new(&c) == MS_OK);
    ms_procinfo p[2] = {info_of(a.pid), info_of(getpid())};
    ms_pss_result r[2];
    ms_pss_stats st;

    /* a budget of nothing: nothing read, both said to be skipped */
    CHECK(ms_psscache_update(c, p, 2, 0, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_SKIPPED && r[1].state == MS_PSS_SKIPPED);
    CHECK_EQ_U64(st.skipped, 2);
    CHECK_EQ_U64(st.fresh, 0);

    CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_FRESH && r[1].state == MS_PSS_FRESH);
    CHECK_EQ_U64(st.fresh, 2);
    /* PSS moves whenever any process on the machine starts or stops sharing a library with the
     * subject: the figure must equal a read made just after it, on one of a few tries. */
    bool same = false;
    for (int k = 0; k < 10 && !same; k++) {
        p[0].starttime++;                    /* a "new" process: read afresh */
        CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
        same = r[0].state == MS_PSS_FRESH && r[0].pss == rollup_kb(a.pid, "Pss");
    }
    CHECK(same);
    p[0].starttime -= 10;
    CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_FRESH && r[1].state == MS_PSS_CACHED);
    CHECK_EQ_U64(r[0].uss, rollup_kb(a.pid, "Private_Clean") + rollup_kb(a.pid, "Private_Dirty") +
                               rollup_kb(a.pid, "Private_Hugetlb"));
    CHECK(r[0].uss <= r[0].pss && r[0].uss >= 300 * (uint64_t)sysconf(_SC_PAGESIZE));
    uint64_t pss0 = r[0].pss;

    /* nothing moved: reused, with an age */
    usleep(20000);
    CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_CACHED && r[1].state == MS_PSS_CACHED);
    CHECK_EQ_U64(r[0].pss, pss0);
    CHECK(r[0].age_ms >= 20);
    CHECK_EQ_U64(st.cached, 2);

    /* we move (fault in 1 MiB): our figures are read again, the subject's still reused */
    size_t len = 1 << 20;
    volatile unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    for (size_t i = 0; i < len; i += 4096)
        m[i] = 1;
    ms_procinfo_free(&p[1]);
    p[1] = info_of(getpid());
    CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_CACHED);
    CHECK(r[1].state == MS_PSS_FRESH);
    munmap((void *)m, len);

    /* a call about one process does not make the cache forget the other */
    CHECK(ms_psscache_update(c, p + 1, 1, 1000000000, r, &st) == MS_OK);
    CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_CACHED);

    /* the same pid, another start time: another process, never the cached figures */
    p[0].starttime++;
    CHECK(ms_psscache_update(c, p, 2, 1000000000, r, &st) == MS_OK);
    CHECK(r[0].state == MS_PSS_FRESH);

    /* a kernel thread has no user memory: no figure, nothing read */
    ms_procinfo k = info_of(2);
    if (k.kernel_thread) {
        CHECK(ms_psscache_update(c, &k, 1, 1000000000, r, &st) == MS_OK);
        CHECK(r[0].state == MS_PSS_NONE);
        CHECK_EQ_U64(st.none, 1);
    } else {
        CHECK_SKIP("pid 2 is not kthreadd here (a pid namespace)");
    }
    ms_procinfo_free(&k);
    ms_procinfo_free(&p[0]);
    ms_procinfo_free(&p[1]);
    ms_psscache_free(&c);
    CHECK(c == NULL);
    stop_subject(&a);
}


static ms_procinfo cheap_of(int pid)
{
    ms_procinfo p;
    int dirfd;
    memset(&p, 0, sizeof p);
    if (ms_pid_open(pid, &dirfd) == MS_OK) {
        CHECK(ms_procinfo_read_cheap(dirfd, pid, &p) == MS_OK);
        close(dirfd);
    }
    return p;
}

/* A budget of nothing and min_reads = K: K reads per call, no more.  Four "movers" (their RSS jumps
 * by 1 GiB before every call: the cache compares with what it was given at the read) are due with
 * the largest change every call, so they go first; the others are read only through the starved
 * queue, and each must have a figure within MS_PSS_STARVED_CALLS + ceil(N / K) calls. */
#define PROG_N 20
#define PROG_K 4
#define PROG_MOVERS 4
static void test_progress(void)
{
    subject sub[PROG_N];
    int started = 0;
    for (int i = 0; i < PROG_N; i++) {
        const char *args[] = {"--pages", i < PROG_MOVERS ? "64" : "16", "--write", "8", NULL};
        if (spawn_subject(&sub[i], args) != 0)
            break;
        started++;
    }
    CHECK(started == PROG_N);
    if (started != PROG_N) {
        for (int i = 0; i < started; i++)
            stop_subject(&sub[i]);
        return;
    }
    ms_psscache *c = NULL;
    CHECK(ms_psscache_new(&c) == MS_OK);
    ms_psscache_set_min_reads(c, PROG_K);
    ms_procinfo p[PROG_N];
    ms_pss_result r[PROG_N];
    int first_fresh[PROG_N];
    for (int i = 0; i < PROG_N; i++) {
        p[i] = cheap_of(sub[i].pid);
        first_fresh[i] = -1;
    }
    const int bound = MS_PSS_STARVED_CALLS + (PROG_N + PROG_K - 1) / PROG_K;
    bool counted = true, movers_first = true;
    for (int call = 0; call < bound; call++) {
        for (int i = 0; i < PROG_MOVERS; i++)
            p[i].vm_rss += (uint64_t)1 << 30;
        ms_pss_stats st;
        CHECK(ms_psscache_update(c, p, PROG_N, 0, r, &st) == MS_OK);
        /* exactly K reads per call, the rest due counted as skipped, none guessed */
        counted = counted && st.fresh + st.failed == PROG_K && st.none == 0 &&
                  st.fresh + st.cached + st.skipped + st.failed == PROG_N;
        for (int i = 0; i < PROG_N; i++) {
            if (r[i].state == MS_PSS_FRESH && first_fresh[i] < 0)
                first_fresh[i] = call;
            if (r[i].state == MS_PSS_SKIPPED && (r[i].pss || r[i].uss))
                counted = false;
        }
        /* before anyone starves, the movers (largest change) are the ones read */
        if (call < MS_PSS_STARVED_CALLS)
            for (int i = 0; i < PROG_MOVERS; i++)
                movers_first = movers_first && r[i].state == MS_PSS_FRESH;
        if (call == 0)
            CHECK_EQ_U64(st.max_waited, 1);
    }
    CHECK(counted);
    CHECK(movers_first);
    int late = 0;
    for (int i = 0; i < PROG_N; i++)
        if (first_fresh[i] < 0 || first_fresh[i] >= bound) {
            fprintf(stderr, "subject %d (pid %d): first read at call %d, bound %d\n", i, (int)sub[i].pid,
                    first_fresh[i], bound);
            late++;
        }
    CHECK_EQ_U64(late, 0);
    /* the still ones, read once, are reused from then on */
    ms_pss_stats st;
    CHECK(ms_psscache_update(c, p + PROG_MOVERS, PROG_N - PROG_MOVERS, 0, r, &st) == MS_OK);
    CHECK_EQ_U64(st.cached, PROG_N - PROG_MOVERS);
    ms_psscache_free(&c);
    for (int i = 0; i < PROG_N; i++) {
        ms_procinfo_free(&p[i]);
        stop_subject(&sub[i]);
    }
}

/* A child that sleeps on its stdin (a pipe; closing it ends the child), with pid `want` if > 0:
 * ns_last_pid makes the kernel hand out want next, unless another fork on the machine takes it
 * first.  Returns its pid, or -1. */
static pid_t fork_sleeper(pid_t want, int *in_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC))
        return -1;
    if (want > 0) {
        FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
        if (!f || fprintf(f, "%d", (int)want - 1) < 0) {
            if (f)
                fclose(f);
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
        fclose(f);
    }
    pid_t pid = fork();
    if (pid == 0) {
        char b;
        close(fds[1]);        /* else the child holds its own stdin open */
        while (read(fds[0], &b, 1) > 0)
            ;
        _exit(0);
    }
    close(fds[0]);
    *in_fd = fds[1];
    return pid;
}

static void reap(pid_t pid, int in_fd)
{
    int st;
    close(in_fd);
    waitpid(pid, &st, 0);
}

/* A pid the kernel gave to a second process: the cheap list shows another start time, and the
 * cache reads the newcomer afresh instead of lending it the first one's figures. */
static void test_pid_reuse(void)
{
    int in_a, in_b = -1;
    pid_t a = fork_sleeper(0, &in_a), b = -1;
    CHECK(a > 0);
    if (a <= 0)
        return;
    ms_psscache *c = NULL;
    CHECK(ms_psscache_new(&c) == MS_OK);
    ms_procinfo pa = cheap_of(a);
    ms_pss_result r;
    ms_pss_stats st;
    CHECK(ms_psscache_update(c, &pa, 1, 1000000000, &r, &st) == MS_OK && r.state == MS_PSS_FRESH);
    CHECK(ms_psscache_update(c, &pa, 1, 1000000000, &r, &st) == MS_OK && r.state == MS_PSS_CACHED);
    reap(a, in_a);
    /* start times are in clock ticks: let one pass, or the two would share pid and start time */
    struct timespec tick = {0, 50 * 1000000};
    nanosleep(&tick, NULL);
    for (int tries = 0; tries < 50 && b != a; tries++) {
        if (b > 0)
            reap(b, in_b);
        b = fork_sleeper(a, &in_b);
        if (b < 0)
            break;
    }
    if (b != a) {
        if (b > 0)
            reap(b, in_b);
        ms_psscache_free(&c);
        CHECK_SKIP(b < 0 ? "cannot write /proc/sys/kernel/ns_last_pid (needs CAP_SYS_ADMIN): no pid reuse made"
                         : "other forks on the machine took the pid in 50 tries: no pid reuse made");
        return;
    }
    ms_proclist l;
    CHECK(ms_proclist_read_cheap(NULL, &l) == MS_OK);
    const ms_procinfo *pb = NULL;
    for (size_t i = 0; i < l.n; i++)
        if (l.p[i].pid == b)
            pb = &l.p[i];
    CHECK(pb && pb->starttime != pa.starttime);
    if (pb) {
        CHECK(ms_psscache_update(c, pb, 1, 1000000000, &r, &st) == MS_OK);
        CHECK(r.state == MS_PSS_FRESH);
    }
    ms_proclist_free(&l);
    reap(b, in_b);
    ms_psscache_free(&c);
}

/* Several threads on one cache at once, with different lists so its content keeps changing. */
typedef struct {
    ms_psscache *c;
    const ms_proclist *l;
    int id;
    int bad;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    size_t n = x->id & 1 ? x->l->n / 2 : x->l->n;      /* odd threads: the second half only */
    ms_pss_result *r = calloc(n ? n : 1, sizeof *r);
    for (int it = 0; it < 30 && r; it++) {
        ms_pss_stats st;
        if (ms_psscache_update(x->c, x->l->p + (x->l->n - n), n, 2000000, r, &st) != MS_OK)
            x->bad++;
        if (st.fresh + st.cached + st.skipped + st.none + st.failed != n)
            x->bad++;
        for (size_t i = 0; i < n; i++)
            if ((r[i].state == MS_PSS_FRESH || r[i].state == MS_PSS_CACHED) && r[i].uss > r[i].pss)
                x->bad++;
    }
    free(r);
    return NULL;
}

static void test_race(void)
{
    ms_proclist l;
    CHECK(ms_proclist_read(NULL, NULL, &l) == MS_OK);
    ms_psscache *c = NULL;
    CHECK(ms_psscache_new(&c) == MS_OK);
    pthread_t t[4];
    racer x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = (racer){c, &l, i, 0};
        CHECK(pthread_create(&t[i], NULL, race, &x[i]) == 0);
    }
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        bad += x[i].bad;
    }
    CHECK_EQ_U64(bad, 0);
    ms_psscache_free(&c);
    ms_proclist_free(&l);
}

int main(void)
{
    test_rule();
    test_progress();
    test_pid_reuse();
    test_race();
    return check_done();
}
