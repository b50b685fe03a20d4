/* test_cgroup.c - the cgroup and OOM routes against a real memscoped, on this machine's live v1
 * memory controller, on the written v2 trees and on one recorded from a real v2 kernel
 * (--cgroup-root).
 *
 * Live: the test makes its own cgroups, memscope-test-<pid>-*, under the v1 memory hierarchy
 * (removed at exit, and stale ones of dead test runs removed at start), runs a subject inside one
 * and checks every figure against the cgroup's files and the subject's /proc files read here.  A
 * child that allocates 256 MiB in a cgroup limited to 64 MiB is OOM-killed for real: the event
 * must name its pid within 2 s, once read from the kernel log and once, with --oom-source
 * counters, from the cgroup's counter with the victim unknown.  With a store on disk and a short
 * sample interval, a victim sampled (and snapshotted) before its kill is reported with that last
 * sample and snapshot, and the event outlives restarts of memscoped, listed once; a kill while
 * memscoped is down is read back from the kernel log at the next start.  Without a writable v1
 * memory controller those parts are skipped, saying so. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define MEMCG "/sys/fs/cgroup/memory"
#define MiB (1LL << 20)

static ms_server srv;
static char made[8][256];     /* cgroups this test made, removed at exit */
static int nmade;

static void remove_made(void)
{
    for (int i = nmade; i-- > 0;)
        for (int k = 0; k < 50 && rmdir(made[i]) != 0 && errno == EBUSY; k++)
            usleep(100 * 1000);    /* a killed task leaves its cgroup a moment after it is reaped */
}

static void on_signal(int sig)
{
    remove_made();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* memscope-test-<pid>-... left by a run that was killed: its pid is gone. */
static void remove_stale(void)
{
    DIR *d = opendir(MEMCG);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        int pid;
        char path[512];
        if (sscanf(de->d_name, "memscope-test-%d-", &pid) != 1 || kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof path, MEMCG "/%s", de->d_name);
        rmdir(path);
    }
    if (d)
        closedir(d);
}

static bool write_file(const char *dir, const char *name, const char *v)
{
    char path[512];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return false;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
    close(fd);
    return ok;
}

static long long read_num(const char *dir, const char *name)
{
    char path[512], buf[64];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -1;
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (f && fgets(buf, sizeof buf, f))
        v = atoll(buf);
    if (f)
        fclose(f);
    return v;
}

/* A v1 field ("oom_kill") of a "name value" file. */
static long long read_field(const char *dir, const char *file, const char *key)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
            v = atoll(line + kl + 1);
    if (f)
        fclose(f);
    return v;
}

/* Makes MEMCG/memscope-test-<pid>-<tag> with a 64 MiB limit (and memory+swap, where accounted). */
static bool make_cgroup(const char *tag, char *out, size_t cap, char *rel, size_t relcap)
{
    snprintf(rel, relcap, "/memscope-test-%d-%s", (int)getpid(), tag);
    snprintf(out, cap, MEMCG "%s", rel);
    if (mkdir(out, 0755) != 0)
        return false;
    snprintf(made[nmade++], sizeof made[0], "%s", out);
    if (!write_file(out, "memory.limit_in_bytes", "67108864"))
        return false;
    char p[512];
    snprintf(p, sizeof p, "%s/memory.memsw.limit_in_bytes", out);
    return access(p, F_OK) != 0 || write_file(out, "memory.memsw.limit_in_bytes", "67108864");
}

static bool memcg_writable(void)
{
    return access(MEMCG "/memory.usage_in_bytes", R_OK) == 0 && access(MEMCG, W_OK) == 0;
}

/* A subject started inside cgroup dir: the child moves itself in before exec, so everything it
 * allocates is charged there.  Returns its pid once it has printed its line; *in_fd ends it. */
static pid_t spawn_in(const char *dir, const char *const *args, int *in_fd)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (!write_file(dir, "cgroup.procs", "0"))
            _exit(3);
        const char *bin = getenv("MEMSCOPE_SUBJECT");
        const char *argv[16] = {bin ? bin : "./memscope-subject"};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(4);
    }
    close(in[0]);
    close(out[1]);
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n')
        ;   /* the subject's JSON line: its memory is in place */
    close(out[0]);
    *in_fd = in[1];
    return pid;
}

static json_t *find_cgroup(json_t *list, const char *path)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(list, "cgroups"), i, e)
        if (jstr(e, "path") && strcmp(jstr(e, "path"), path) == 0)
            return e;
    return NULL;
}

/* The value of the /metrics sample whose name and labels start with `series`, or -1. */
static double metric(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while (p && *p) {
        if (strncmp(p, series, n) == 0) {
            const char *sp = strstr(p, "} ");
            return sp ? strtod(sp + 2, NULL) : -1;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

static void test_live(void)
{
    char dir[512], rel[256], enc[512], buf[600];
    if (!make_cgroup("api", dir, sizeof dir, rel, sizeof rel)) {
        CHECK_SKIP("cannot make a cgroup with a limit under " MEMCG ": %s", strerror(errno));
        return;
    }
    const char *args[] = {"--pages", "2048", "--write", "2048", NULL};   /* 8 MiB anonymous, written */
    int in_fd = -1;
    pid_t pid = spawn_in(dir, args, &in_fd);
    CHECK(pid > 0);
    if (pid <= 0)
        return;

    long long before = read_num(dir, "memory.usage_in_bytes");
    json_t *list = http_get_json(&srv, "/api/v1/cgroups");
    long long after = read_num(dir, "memory.usage_in_bytes");
    json_t *e = list ? find_cgroup(list, rel) : NULL;
    CHECK(list && jint(list, "version") == 1);
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ_U64(jint(e, "limit"), 64 * MiB);
        CHECK_EQ_U64(jint(e, "nprocs"), 1);
        CHECK_STR(jstr(e, "parent"), "/");
        if (before == after)
            CHECK_EQ_U64(jint(e, "usage"), before);
        else
            CHECK(jint(e, "usage") >= before - MiB && jint(e, "usage") <= after + MiB);
        CHECK(jint(e, "parts.anon") >= 8 * MiB);
        CHECK_EQ_U64(jint(e, "oom_kills"), 0);
    }
    json_decref(list);

    /* ?processes=1: the subject's rss, as its status says */
    list = http_get_json(&srv, "/api/v1/cgroups?processes=1");
    e = list ? find_cgroup(list, rel) : NULL;
    CHECK(e && jint(e, "processes.count") == 1);
    CHECK(e && jint(e, "processes.rss") == proc_kb(pid, "status", "VmRSS"));
    json_decref(list);

    /* the cgroup on its own, path URL-encoded */
    snprintf(enc, sizeof enc, "/api/v1/cgroups/%%2Fmemscope-test-%d-api", (int)getpid());
    json_t *one = http_get_json(&srv, "%s", enc);
    CHECK(one != NULL);
    if (one) {
        CHECK_STR(jstr(one, "path"), rel);
        json_t *files = json_object_get(one, "files");
        CHECK(json_integer_value(json_object_get(files, "memory.limit_in_bytes")) == 64 * MiB);
        CHECK(json_integer_value(json_object_get(files, "memory.failcnt")) == read_num(dir, "memory.failcnt"));
        json_t *st = json_object_get(files, "memory.stat");
        CHECK(json_integer_value(json_object_get(st, "total_rss")) == read_field(dir, "memory.stat", "total_rss"));
        CHECK(json_integer_value(json_object_get(json_object_get(files, "memory.oom_control"), "oom_kill")) == 0);
        json_t *procs = json_object_get(one, "processes");
        CHECK(json_array_size(procs) == 1);
        json_t *p0 = json_array_get(procs, 0);
        CHECK(jint(p0, "pid") == pid);
        CHECK(jint(p0, "rss") == proc_kb(pid, "status", "VmRSS"));
        CHECK(jint(p0, "pss_anon") == proc_kb(pid, "smaps_rollup", "Pss_Anon"));
        /* the subject's 8 MiB are nearly all of the cgroup's anon, and the parts add up */
        json_t *a = json_object_get(one, "attribution");
        CHECK(json_is_true(json_object_get(a, "adds_up")));
        double expl = json_number_value(json_object_get(json_object_get(a, "anon"), "explained_by_pss"));
        fprintf(stderr, "anon %lld, processes' pss_anon %lld: explained %.3f\n", jint(a, "anon.bytes"),
                jint(a, "anon.processes_pss_anon"), expl);
        CHECK(expl > 0.9 && expl <= 1.05);
        long long parts = jint(a, "anon.bytes") + jint(a, "file.bytes") + jint(a, "shmem") + jint(a, "kernel.bytes");
        CHECK(parts + jint(a, "rest") == jint(a, "usage"));
    }
    json_decref(one);

    /* the process's own page and the list filter */
    json_t *pj = http_get_json(&srv, "/api/v1/processes/%d", (int)pid);
    CHECK(pj && jstr(pj, "cgroup") && strcmp(jstr(pj, "cgroup"), rel) == 0);
    CHECK(pj && json_is_null(json_object_get(pj, "container")));
    json_decref(pj);
    json_t *fl = http_get_json(&srv, "/api/v1/processes?cgroup=%s", rel);
    CHECK(fl && jint(fl, "total") == 1);
    CHECK(fl && json_array_size(json_object_get(fl, "processes")) == 1 &&
          json_integer_value(json_object_get(json_array_get(json_object_get(fl, "processes"), 0), "pid")) == pid);
    json_decref(fl);

    /* /metrics: the subject's series carry its cgroup (memscoped runs with --metrics-top 200) */
    http_resp r;
    char series[512];
    CHECK(http_get(&srv, "/metrics", &r) && r.status == 200);
    snprintf(series, sizeof series, "memscope_process_rss_bytes{pid=\"%d\",name=\"memscope-subjec\",cgroup=\"%s\","
             "container=\"\"}", (int)pid, rel);
    CHECK(r.body && metric(r.body, series) == (double)proc_kb(pid, "status", "VmRSS"));
    snprintf(series, sizeof series, "memscope_cgroup_limit_bytes{cgroup=\"%s\",", rel);
    CHECK(r.body && metric(r.body, series) == 64.0 * MiB);
    http_resp_free(&r);

    /* errors */
    CHECK(http_get(&srv, "/api/v1/cgroups/%2Fno-such-memscope-cgroup", &r) && r.status == 404 &&
          strcmp(jstr(r.json, "error.code"), "no_such_cgroup") == 0);
    http_resp_free(&r);
    CHECK(http_get(&srv, "/api/v1/cgroups/%2E%2E%2F%2E%2E%2Fetc", &r) && r.status == 400);
    http_resp_free(&r);
    snprintf(buf, sizeof buf, "/api/v1/cgroups%s/..%%2F..", rel);
    CHECK(http_get(&srv, buf, &r) && r.status == 400);
    http_resp_free(&r);
    CHECK(http_get(&srv, "/api/v1/processes?cgroup=/a/../b", &r) && r.status == 400);
    http_resp_free(&r);
    CHECK(http_get(&srv, "/api/v1/events?type=nope", &r) && r.status == 400);
    http_resp_free(&r);

    close(in_fd);
    waitpid(pid, NULL, 0);
}

/* A podman container (runc, the local debian image the container test builds from) is recognised
 * with its full id on its process and in the cgroup list. */
static char podman_name[64];
static void podman_cleanup(void)
{
    char cmd[160];
    if (!podman_name[0])
        return;
    snprintf(cmd, sizeof cmd, "timeout 30 podman rm -f -t 0 %s >/dev/null 2>&1", podman_name);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove container %s\n", podman_name);
    podman_name[0] = '\0';
}

static void test_podman(void)
{
    const char *image = "docker.io/library/debian:bookworm-slim";
    char cmd[768];
    snprintf(podman_name, sizeof podman_name, "memscope-test-%d-podman", (int)getpid());
    atexit(podman_cleanup);
    /* runc, and ulimits within the host's hard limits, as docker/ci-container-test.sh runs it */
    snprintf(cmd, sizeof cmd, "command -v podman >/dev/null && podman image exists %s && "
             "exec bash -c 'NF=$(ulimit -Hn); NP=$(ulimit -Hu); [ \"$NP\" = unlimited ] && NP=32768; "
             "[ \"$NP\" -gt 32768 ] && NP=32768; timeout 120 podman run -d --rm --runtime runc "
             "--ulimit nofile=$NF:$NF --ulimit nproc=$NP:$NP --network none --name %s %s sleep 120 2>/dev/null'",
             image, podman_name, image);
    char *id = run_capture(cmd);
    size_t idl = id ? strcspn(id, "\n") : 0;
    if (!id || idl != 64) {
        CHECK_SKIP("no podman container could be started here (podman, runc and the local image %s are needed)", image);
        free(id);
        podman_name[0] = '\0';
        return;
    }
    id[idl] = '\0';
    snprintf(cmd, sizeof cmd, "timeout 30 podman inspect --format '{{.State.Pid}}' %s", podman_name);
    char *pids = run_capture(cmd);
    int pid = pids ? atoi(pids) : 0;
    free(pids);
    CHECK(pid > 0);
    json_t *p = pid > 0 ? http_get_json(&srv, "/api/v1/processes/%d", pid) : NULL;
    CHECK(p && jstr(p, "container.runtime") && strcmp(jstr(p, "container.runtime"), "podman") == 0);
    CHECK(p && jstr(p, "container.id") && strcmp(jstr(p, "container.id"), id) == 0);
    const char *cg = p ? jstr(p, "cgroup") : NULL;
    CHECK(cg && strstr(cg, id) != NULL);
    /* the list filtered by the short id has exactly the container's processes */
    char shortid[13];
    snprintf(shortid, sizeof shortid, "%.12s", id);
    json_t *l = http_get_json(&srv, "/api/v1/processes?container=%s&fresh=1", shortid);
    size_t i;
    json_t *e;
    bool found = false, only = true;
    json_array_foreach(json_object_get(l, "processes"), i, e) {
        found |= jint(e, "pid") == pid;
        only &= jstr(e, "container.id") && strcmp(jstr(e, "container.id"), id) == 0;
    }
    CHECK(l && found && only);
    json_t *list = cg ? http_get_json(&srv, "/api/v1/cgroups") : NULL;
    json_t *c = list ? find_cgroup(list, cg) : NULL;
    CHECK(c && jstr(c, "container.id") && strcmp(jstr(c, "container.id"), id) == 0);
    json_decref(list);
    json_decref(l);
    json_decref(p);
    free(id);
    podman_cleanup();
}

/* A child that moves itself into dir and writes 256 MiB: the kernel kills it at 64 MiB. */
static pid_t oom_child(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (!write_file(dir, "cgroup.procs", "0"))
            _exit(3);
        size_t n = (size_t)256 << 20;
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            _exit(4);
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 1;
        _exit(0);             /* not killed: the limit did not hold */
    }
    return pid;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The OOM event naming pid (or, with by_counter, the first one for cgroup rel), polled until
 * `limit` seconds after death; returns it (a new reference) and how long it took. */
static json_t *wait_event(const char *rel, pid_t pid, bool by_counter, double dead, double limit, double *took)
{
    while (now_s() - dead < limit) {
        json_t *j = http_get_json(&srv, "/api/v1/events?type=oom&since=0");
        if (!j)
            return NULL;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "events"), i, e) {
            bool match = by_counter ? jstr(e, "cgroup") && strcmp(jstr(e, "cgroup"), rel) == 0
                                    : jint(e, "victim.pid") == pid;
            if (match) {
                *took = now_s() - dead;
                json_incref(e);
                json_decref(j);
                return e;
            }
        }
        json_decref(j);
        usleep(50 * 1000);
    }
    return NULL;
}

static void test_oom(bool by_counter)
{
    char dir[512], rel[256];
    if (!make_cgroup(by_counter ? "oomc" : "oom", dir, sizeof dir, rel, sizeof rel)) {
        CHECK_SKIP("cannot make a cgroup with a limit under " MEMCG ": %s", strerror(errno));
        return;
    }
    pid_t pid = oom_child(dir);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    double dead = now_s();
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_EQ_U64(read_field(dir, "memory.oom_control", "oom_kill"), 1);
    double took = -1;
    /* wait up to 10 s to tell "late" from "never"; the bound checked is 2 s */
    json_t *e = wait_event(rel, pid, by_counter, dead, 10, &took);
    CHECK(e != NULL);
    fprintf(stderr, "OOM kill of %d (%s) reported %.3f s after the victim died\n", (int)pid,
            by_counter ? "counter" : "kmsg", took);
    CHECK(e && took <= 2.0);
    if (e && !by_counter) {
        CHECK_STR(jstr(e, "cgroup"), rel);
        CHECK_STR(jstr(e, "source"), "kmsg");
        CHECK_STR(jstr(e, "constraint"), "CONSTRAINT_MEMCG");
        CHECK_STR(jstr(e, "victim.name"), "itest_cgroup");
        /* the kernel killed it at the 64 MiB limit: most of that was its anonymous memory, and
         * the figure is the one dmesg prints */
        CHECK(jint(e, "victim.anon_rss") > 32 * MiB);
        char key[64];
        snprintf(key, sizeof key, "Killed process %d (", (int)pid);
        char *log = run_capture("dmesg");
        const char *k = log ? strstr(log, key) : NULL;
        const char *ar = k ? strstr(k, "anon-rss:") : NULL;
        CHECK(ar != NULL);
        if (ar)
            CHECK_EQ_U64(jint(e, "victim.anon_rss"), atoll(ar + 9) * 1024);
        free(log);
        CHECK(jint(e, "victim.total_vm") >= 256 * MiB);
        CHECK(jint(e, "victim.oom_score_adj") == 0);
    }
    if (e && by_counter) {
        CHECK_STR(jstr(e, "source"), "counter");
        CHECK(json_is_null(json_object_get(e, "victim")));
        CHECK(jstr(e, "victim_unknown_reason") && strstr(jstr(e, "victim_unknown_reason"), "--oom-source counters"));
    }
    json_decref(e);
    /* the harness's store is in memory (--data-dir none): the answer says the events are not kept */
    json_t *all = http_get_json(&srv, "/api/v1/events?type=oom");
    CHECK_STR(jstr(all, "kept_in"), "memory");
    CHECK(json_is_false(json_object_get(all, "persistent")) && strstr(jstr(all, "kept_note"), "--data-dir none"));
    json_decref(all);
    /* the cgroup's counter says so too */
    json_t *one = http_get_json(&srv, "/api/v1/cgroups/%s", rel + 1);
    CHECK(one && jint(one, "oom_kills") == 1);
    json_decref(one);
}

/* A child that moves itself into dir, writes 32 MiB and says so on *ready, then waits for a byte on
 * *go before writing 256 MiB more: the kernel kills it at the 64 MiB limit. */
static pid_t oom_child_paused(const char *dir, int *go, int *ready)
{
    int g[2], r[2];
    if (pipe2(g, O_CLOEXEC) || pipe2(r, O_CLOEXEC))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c = 'r';
        if (!write_file(dir, "cgroup.procs", "0"))
            _exit(3);
        size_t first = (size_t)32 << 20, n = (size_t)256 << 20;
        char *a = mmap(NULL, first, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED || p == MAP_FAILED)
            _exit(4);
        for (size_t i = 0; i < first; i += 4096)
            a[i] = 1;
        if (write(r[1], &c, 1) != 1 || read(g[0], &c, 1) != 1)
            _exit(5);
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 1;
        _exit(0);
    }
    close(g[0]);
    close(r[1]);
    *go = g[1];
    *ready = r[0];
    return pid;
}

static long long wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The rss of pid's newest history point taken after after_ms, polled up to 10 s; -1 if none. */
static long long sampled_rss(int pid, long long after_ms)
{
    for (int i = 0; i < 200; i++) {
        json_t *h = http_get_json(&srv, "/api/v1/processes/%d/history?since=%lld", pid, after_ms);
        json_t *pts = h ? json_object_get(h, "points") : NULL;
        size_t n = json_array_size(pts);
        long long rss = n ? jint(json_array_get(pts, n - 1), "rss") : -1;
        json_decref(h);
        if (rss > 0)
            return rss;
        usleep(50 * 1000);
    }
    return -1;
}

/* How many events name pid, and the (new reference to the) last one. */
static int events_of(int pid, json_t **last)
{
    json_t *j = http_get_json(&srv, "/api/v1/events?type=oom&since=0");
    size_t i;
    json_t *e;
    int n = 0;
    *last = NULL;
    json_array_foreach(json_object_get(j, "events"), i, e) {
        if (jint(e, "victim.pid") != pid)
            continue;
        n++;
        json_decref(*last);
        *last = json_incref(e);
    }
    if (j) {
        CHECK_STR(jstr(j, "kept_in"), "store");
        CHECK(json_is_true(json_object_get(j, "persistent")));
    }
    json_decref(j);
    return n;
}

/* The victim's last sample and snapshot, as the event carries them: the sample is the last point of
 * the victim's own history (asked for by the start time the event names), and between what the
 * victim held when idle (rss, read here) and what the kernel says it held when it was killed. */
static void check_joined(json_t *e, long long rss, long long snap_id, long long t0)
{
    CHECK(e && json_is_object(json_object_get(e, "history")));
    if (!e || !json_is_object(json_object_get(e, "history")))
        return;
    CHECK_STR(jstr(e, "history.name"), "itest_cgroup");
    const char *m = jstr(e, "history.match");
    CHECK(m && (!strcmp(m, "pid_start_time") || !strcmp(m, "pid_time")));
    long long got = jint(e, "history.last_sample.rss");
    long long at_kill = jint(e, "victim.anon_rss") + jint(e, "victim.file_rss") + jint(e, "victim.shmem_rss");
    fprintf(stderr, "victim's last sample: rss %lld (idle, read here: %lld; the kernel's at the kill: %lld), "
            "%lld ms before the kill, matched by %s\n", got, rss, at_kill,
            jint(e, "history.last_sample.before_kill_ms"), m ? m : "?");
    CHECK(got >= rss - 256 * 1024 && got <= at_kill + MiB);
    CHECK(jint(e, "history.last_sample.before_kill_ms") >= 0);
    CHECK_STR(jstr(e, "history.last_sample.tier"), "raw");
    json_t *h = http_get_json(&srv, "/api/v1/processes/%lld/history?start_time=%lld&since=%lld",
                              jint(e, "victim.pid"), jint(e, "history.start_time"), t0);
    /* the series' points start their step's bucket; at this span a bucket holds one sample.  A
     * sample may follow it: the kernel logs the kill before the victim has finished dying */
    long long ts = jint(e, "history.last_sample.t"), step = h ? jint(h, "step_ms") : -1;
    json_t *pt = NULL, *p;
    size_t i;
    json_array_foreach(h ? json_object_get(h, "points") : NULL, i, p)
        if (step > 0 && jint(p, "t") == ts / step * step)
            pt = p;
    CHECK(step > 0 && step < 200 && pt && jint(pt, "rss") == got && jint(pt, "uss") == jint(e, "history.last_sample.uss"));
    json_decref(h);
    CHECK(jint(e, "snapshot.id") == snap_id);
    CHECK(jint(e, "snapshot.rss") >= 32 * MiB);
    CHECK(json_is_null(json_object_get(e, "history_unknown_reason")));
    CHECK(json_is_null(json_object_get(e, "snapshot_unknown_reason")));
}

static void start_on(const char *data)
{
    const char *a[] = {"--data-dir", data, "--sample-interval", "200ms", "--auto-snapshot-growth", "0", NULL};
    CHECK(server_start(&srv, a));
}

static void test_oom_history(void)
{
    char dir[512], rel[256], dir2[512], rel2[256], data[] = "/tmp/memscope-oomhist-XXXXXX";
    if (!make_cgroup("oomh", dir, sizeof dir, rel, sizeof rel) || !make_cgroup("oomd", dir2, sizeof dir2, rel2, sizeof rel2)) {
        CHECK_SKIP("cannot make a cgroup with a limit under " MEMCG ": %s", strerror(errno));
        return;
    }
    if (access("/dev/kmsg", R_OK) != 0) {
        CHECK_SKIP("the kernel log (/dev/kmsg) is not readable here: the victim is unknown without it");
        return;
    }
    CHECK(mkdtemp(data) != NULL);
    start_on(data);
    int go = -1, ready = -1;
    char c;
    pid_t pid = oom_child_paused(dir, &go, &ready);
    CHECK(pid > 0 && read(ready, &c, 1) == 1);
    long long t0 = wall_ms();
    long long sampled = sampled_rss(pid, t0);
    long long rss = proc_kb(pid, "status", "VmRSS");
    CHECK(sampled > 0);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/processes/%d/snapshots", (int)pid);
    http_resp r;
    CHECK(http_do(&srv, "POST", path, "{}", NULL, &r) && r.status == 201);
    json_t *snap = r.body ? json_loads(r.body, 0, NULL) : NULL;
    long long snap_id = jint(snap, "id");
    json_decref(snap);
    http_resp_free(&r);
    /* a sample after the snapshot, so the last sample is not older than it */
    sampled_rss(pid, wall_ms());
    CHECK(write(go, "g", 1) == 1);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    double dead = now_s();
    close(go);
    close(ready);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    double took = -1;
    json_t *e = wait_event(rel, pid, false, dead, 10, &took);
    fprintf(stderr, "OOM kill of %d (sampled) reported %.3f s after the victim died\n", (int)pid, took);
    CHECK(e && took <= 2.0);
    check_joined(e, rss, snap_id, t0);
    long long seq = jint(e, "kmsg_seq");
    CHECK(seq > 0 && jstr(e, "boot_id") && strlen(jstr(e, "boot_id")) == 36);
    json_decref(e);

    /* stopped: a kill now is seen by no memscoped; the next one reads it back from the log */
    CHECK(server_stop(&srv) == 0);
    pid_t pid2 = oom_child(dir2);
    CHECK(waitpid(pid2, &status, 0) == pid2 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    for (int round = 0; round < 2; round++) {
        start_on(data);
        CHECK(events_of(pid, &e) == 1);
        CHECK(jint(e, "kmsg_seq") == seq);
        check_joined(e, rss, snap_id, t0);
        json_decref(e);
        CHECK(events_of(pid2, &e) == 1);
        CHECK_STR(jstr(e, "cgroup"), rel2);
        CHECK(jint(e, "kmsg_seq") > seq);
        /* never sampled: the event says so instead of guessing */
        CHECK(json_is_null(json_object_get(e, "history")) && jstr(e, "history_unknown_reason"));
        json_decref(e);
        /* round 0 ends cleanly; round 1 with SIGKILL: the log position saved with each event and
         * at start is then all there is, and the next start must still list each kill once */
        if (round == 0)
            CHECK(server_stop(&srv) == 0);
    }
    kill(srv.pid, SIGKILL);
    server_stop(&srv);
    start_on(data);
    CHECK(events_of(pid, &e) == 1);
    json_decref(e);
    CHECK(events_of(pid2, &e) == 1);
    json_decref(e);
    CHECK(server_stop(&srv) == 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
    CHECK(system(cmd) == 0);
}

static void test_v2_metrics(ms_server *s, const char *ctr)
{
    http_resp r;
    char series[512];
    CHECK(http_get(s, "/metrics", &r) && r.status == 200);
    const char *t = r.body ? r.body : "";
    snprintf(series, sizeof series, "memscope_cgroup_usage_bytes{cgroup=\"%s\",container=\"%.64s\","
             "pod_uid=\"8d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d\"}", ctr, strrchr(ctr, '-') + 1);
    CHECK(metric(t, series) == 533360640.0);     /* the container's memory.current */
    snprintf(series, sizeof series, "memscope_cgroup_limit_bytes{cgroup=\"%s\",", ctr);
    CHECK(metric(t, series) == 768.0 * MiB);
    snprintf(series, sizeof series, "memscope_cgroup_oom_kills_total{cgroup=\"%s\",", ctr);
    CHECK(metric(t, series) == 1.0);
    snprintf(series, sizeof series, "memscope_cgroup_memory_bytes{cgroup=\"%s\",container=\"%.64s\","
             "pod_uid=\"8d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d\",kind=\"anon\"}", ctr, strrchr(ctr, '-') + 1);
    CHECK(metric(t, series) == 296.0 * MiB);
    snprintf(series, sizeof series, "memscope_cgroup_pressure_seconds_total{cgroup=\"%s\",", ctr);
    CHECK(metric(t, series) == 9.120444);
    /* the root cgroup has the most; the container is sixth, and --metrics-cgroups 6 keeps six */
    CHECK(metric(t, "memscope_cgroup_usage_bytes{cgroup=\"/\",") > 0);
    size_t k = 0;
    for (const char *p = strstr(t, "\nmemscope_cgroup_usage_bytes{"); p; p = strstr(p + 1, "\nmemscope_cgroup_usage_bytes{"))
        k++;
    CHECK_EQ_U64(k, 6);
    http_resp_free(&r);
}

/* memscoped with --cgroup-root at the fixture tree rel (root: its path), OOM watching off. */
static bool start_on_tree(ms_server *s, const char *rel, const char *metrics_cgroups, char *root, size_t cap)
{
    snprintf(root, cap, "%s/%s", MS_FIXTURES_DIR, rel);
    const char *extra[] = {"--cgroup-root", root, "--oom-source", "off", "--metrics-cgroups", metrics_cgroups, NULL};
    return server_start(s, extra);
}

static void test_v2_tree(void)
{
    char root[1024];
    ms_server s2;
    CHECK(start_on_tree(&s2, "cgroup-v2-k8s", "6", root, sizeof root));
    json_t *l = http_get_json(&s2, "/api/v1/cgroups");
    CHECK(l && jint(l, "version") == 2 && jint(l, "count") == 10);
    const char *ctr = "/kubepods.slice/kubepods-burstable.slice/"
                      "kubepods-burstable-pod8d1c2b3a_4e5f_4a6b_9c7d_0e1f2a3b4c5d.slice/"
                      "cri-containerd-a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90.scope";
    json_t *e = l ? find_cgroup(l, ctr) : NULL;
    CHECK(e && strcmp(jstr(e, "container.runtime"), "containerd") == 0);
    CHECK(e && strcmp(jstr(e, "container.pod_uid"), "8d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d") == 0);
    CHECK(e && jint(e, "limit") == 768 * MiB && jint(e, "oom_kills") == 1 && jint(e, "nprocs") == 2);
    json_t *root_e = l ? find_cgroup(l, "/") : NULL;
    CHECK(root_e && json_is_null(json_object_get(root_e, "usage")) && json_is_null(json_object_get(root_e, "limit")));
    json_decref(l);
    json_t *one = http_get_json(&s2, "/api/v1/cgroups/%s", ctr + 1);   /* unencoded works too */
    CHECK(one != NULL);
    if (one) {
        json_t *files = json_object_get(one, "files");
        CHECK(json_is_string(json_object_get(files, "memory.swap.max")));
        CHECK(json_integer_value(json_object_get(files, "memory.high")) == 700 * MiB);
        CHECK(json_integer_value(json_object_get(json_object_get(files, "memory.events"), "high")) == 42);
        json_t *psi = json_object_get(json_object_get(files, "memory.pressure"), "some");
        CHECK(json_number_value(json_object_get(psi, "avg10")) == 4.2);
        json_t *a = json_object_get(one, "attribution");
        CHECK(json_is_true(json_object_get(a, "adds_up")) && jint(a, "rest") == 24576);
        CHECK(jint(a, "sock") == MiB && jint(a, "shmem") == 8 * MiB);
    }
    json_decref(one);
    test_v2_metrics(&s2, ctr);
    CHECK(server_stop(&s2) == 0);   /* a clean exit: nothing leaked or crashed under the sanitizers */
}

/* A "max"-or-number file of the recorded tree as the API gives it: -1 for "max" (null). */
static long long rec_limit(const char *dir, const char *name)
{
    char path[1600], buf[32] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f && !fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    if (f)
        fclose(f);
    return strncmp(buf, "max", 3) == 0 ? -1 : atoll(buf);
}

/* The tree recorded from a real kernel (fixtures/cgroup-v2-recorded): each container's figures as
 * its recorded files hold them, the OOM kill the recording caused, and the container each path
 * names. */
static void test_v2_recorded(void)
{
    static const struct {
        const char *path, *runtime, *id, *pod;
    } ctrs[] = {
        {"/system.slice/docker-6b0b425ee3d7bbda57c03ac7d3ce1840a42b40b9c73bd0c43b147a65d942cc75.scope", "docker",
         "6b0b425ee3d7bbda57c03ac7d3ce1840a42b40b9c73bd0c43b147a65d942cc75", NULL},
        {"/machine.slice/libpod-9be51614bb1e026b372a839271aa71755766b3579403c323ed26a49908205c72.scope", "podman",
         "9be51614bb1e026b372a839271aa71755766b3579403c323ed26a49908205c72", NULL},
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5f0c7a2e_91d3_4b8e_a6f1_3c2d9e8b7a40.slice/"
         "cri-containerd-e90c93f89b3cce2c6c3bb80ce3c9579c49f0ad253f4769cbcd0845e6312b969e.scope", "containerd",
         "e90c93f89b3cce2c6c3bb80ce3c9579c49f0ad253f4769cbcd0845e6312b969e", "5f0c7a2e-91d3-4b8e-a6f1-3c2d9e8b7a40"},
        {"/kubepods/burstable/pod0b6e4d21-7c3a-4f58-9e12-a4b5c6d7e8f9/"
         "658cdc5bc9f9a3027c23a37400d3601da55b4580031c038bf884c29618f653e6", "cri",
         "658cdc5bc9f9a3027c23a37400d3601da55b4580031c038bf884c29618f653e6", "0b6e4d21-7c3a-4f58-9e12-a4b5c6d7e8f9"},
    };
    char root[1024];
    ms_server s2;
    CHECK(start_on_tree(&s2, "cgroup-v2-recorded/cgroup", "500", root, sizeof root));
    json_t *l = http_get_json(&s2, "/api/v1/cgroups");
    CHECK(l && jint(l, "version") == 2 && jstr(l, "root") && strcmp(jstr(l, "root"), root) == 0);
    CHECK(l && jint(l, "count") == 19);          /* the root and the 18 cgroups the recording made */
    http_resp r;
    CHECK(http_get(&s2, "/metrics", &r) && r.status == 200);
    for (size_t i = 0; i < sizeof ctrs / sizeof ctrs[0]; i++) {
        char dir[1400], series[512];
        snprintf(dir, sizeof dir, "%s%s", root, ctrs[i].path);
        json_t *e = l ? find_cgroup(l, ctrs[i].path) : NULL;
        CHECK(e != NULL);
        if (!e)
            continue;
        CHECK_STR(jstr(e, "container.runtime"), ctrs[i].runtime);
        CHECK_STR(jstr(e, "container.id"), ctrs[i].id);
        if (ctrs[i].pod)
            CHECK_STR(jstr(e, "container.pod_uid"), ctrs[i].pod);
        else
            CHECK(json_is_null(json_object_get(json_object_get(e, "container"), "pod_uid")));
        CHECK(jint(e, "usage") == read_num(dir, "memory.current") && jint(e, "usage") > 0);
        CHECK(jint(e, "peak") == read_num(dir, "memory.peak"));
        CHECK(jint(e, "limit") == rec_limit(dir, "memory.max"));
        CHECK(jint(e, "oom_kills") == read_field(dir, "memory.events", "oom_kill"));
        CHECK(jint(e, "parts.anon") == read_field(dir, "memory.stat", "anon"));
        snprintf(series, sizeof series, "memscope_cgroup_usage_bytes{cgroup=\"%s\",container=\"%s\",", ctrs[i].path,
                 ctrs[i].id);
        CHECK(metric(r.body ? r.body : "", series) == (double)read_num(dir, "memory.current"));
    }
    /* the OOM kill of the recording, in the list and as a counter */
    json_t *app = l ? find_cgroup(l, ctrs[2].path) : NULL;
    CHECK(app && jint(app, "oom_kills") == 1 && jint(app, "limit") == 32 * MiB && jint(app, "nprocs") == 1);
    char series[512];
    snprintf(series, sizeof series, "memscope_cgroup_oom_kills_total{cgroup=\"%s\",", ctrs[2].path);
    CHECK(metric(r.body ? r.body : "", series) == 1.0);
    http_resp_free(&r);
    json_decref(l);
    /* one cgroup: its files under the kernel's names, and usage split without a rest */
    char dir[1400];
    snprintf(dir, sizeof dir, "%s%s", root, ctrs[0].path);
    json_t *one = http_get_json(&s2, "/api/v1/cgroups/%s", ctrs[0].path + 1);
    CHECK(one != NULL);
    if (one) {
        json_t *files = json_object_get(one, "files");
        CHECK(json_integer_value(json_object_get(files, "memory.max")) == 256 * MiB);
        CHECK(json_integer_value(json_object_get(files, "memory.swap.max")) == 64 * MiB);
        CHECK(json_integer_value(json_object_get(files, "memory.min")) == read_num(dir, "memory.min"));
        json_t *st = json_object_get(files, "memory.stat");
        CHECK(json_integer_value(json_object_get(st, "file")) == read_field(dir, "memory.stat", "file"));
        CHECK(json_integer_value(json_object_get(st, "pgfault")) == read_field(dir, "memory.stat", "pgfault"));
        json_t *a = json_object_get(one, "attribution");
        CHECK(json_is_true(json_object_get(a, "adds_up")));
        CHECK(jint(a, "usage") == read_num(dir, "memory.current"));
    }
    json_decref(one);
    /* podman: over memory.high, reclaimed into swap */
    snprintf(dir, sizeof dir, "%s%s", root, ctrs[1].path);
    one = http_get_json(&s2, "/api/v1/cgroups/%s", ctrs[1].path + 1);
    CHECK(one != NULL);
    if (one) {
        json_t *files = json_object_get(one, "files");
        CHECK(json_is_string(json_object_get(files, "memory.max")));
        CHECK(json_integer_value(json_object_get(files, "memory.high")) == 24 * MiB);
        CHECK(json_integer_value(json_object_get(files, "memory.swap.current")) == read_num(dir, "memory.swap.current"));
        long long high = json_integer_value(json_object_get(json_object_get(files, "memory.events"), "high"));
        CHECK(high > 0 && high == read_field(dir, "memory.events", "high"));
    }
    json_decref(one);
    CHECK(server_stop(&s2) == 0);
}

int main(void)
{
    atexit(remove_made);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    test_v2_tree();
    test_v2_recorded();
    if (!memcg_writable()) {
        CHECK_SKIP("no writable cgroup v1 memory controller at " MEMCG " (needs root)");
        return check_done();
    }
    remove_stale();
    const char *extra[] = {"--metrics-top", "200", "--metrics-cgroups", "500", NULL};
    CHECK(server_start(&srv, extra));
    test_live();
    test_podman();
    test_oom(false);
    CHECK(server_stop(&srv) == 0);
    const char *counters[] = {"--oom-source", "counters", NULL};
    CHECK(server_start(&srv, counters));
    test_oom(true);
    CHECK(server_stop(&srv) == 0);
    test_oom_history();
    remove_made();
    nmade = 0;
    return check_done();
}
