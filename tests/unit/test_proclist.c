/* test_proclist.c - the process list over a recorded /proc-like tree (kthreadd, a subject, the
 * ") (" process and its zombie child, non-pid names, a process that vanished, one with a cut stat),
 * sorting and the q filter, then live: the list holds a subject with the right ppid, name and
 * cmdline, marks kernel threads, leaves out a reaped process.  The cheap mode: on the same tree and
 * on live processes that hold still, every figure equal to the full list's, nothing else read. */
#include "check.h"
#include "kthread.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/status.h"
#include "spawn.h"

#include <fcntl.h>

static const char *fixtures;

static const ms_procinfo *by_pid(const ms_proclist *l, int pid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i].pid == pid)
            return &l->p[i];
    return NULL;
}

static void pids_are(const ms_proclist *l, const int *want, size_t n, int line)
{
    bool ok = l->n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = l->p[i].pid == want[i];
    if (!ok) {
        fprintf(stderr, "line %d: order:", line);
        for (size_t i = 0; i < l->n; i++)
            fprintf(stderr, " %d", l->p[i].pid);
        fprintf(stderr, "\n");
    }
    CHECK(ok);
}
#define PIDS_ARE(l, ...) do { const int w_[] = {__VA_ARGS__}; \
    pids_are(l, w_, sizeof w_ / sizeof w_[0], __LINE__); } while (0)

static void test_fixture_walk(void)
{
    char root[512];
    ms_proclist l;
    snprintf(root, sizeof root, "%s/procroot", fixtures);
    CHECK(ms_proclist_read(root, NULL, &l) == MS_OK);
    /* "self" and "0123" are not pids; 70000 has no stat (it "exited" mid-walk); 70001's stat is cut. */
    CHECK_EQ_U64(l.n, 4);
    CHECK_EQ_U64(l.vanished, 1);
    CHECK_EQ_U64(l.skipped, 1);
    CHECK(l.last_skip_err == MS_ERR_PARSE);
    ms_proclist_sort(&l, MS_PSORT_PID, false);
    PIDS_ARE(&l, 2, 6827, 6839, 6841);

    const ms_procinfo *p = by_pid(&l, 2);
    CHECK(p && p->kernel_thread && p->ppid == 0 && p->state == 'S' && p->threads == 1);
    CHECK(p && strcmp(p->name, "kthreadd") == 0 && strcmp(p->cmdline, "") == 0);
    CHECK(p && p->vm_size == 0 && p->vm_rss == 0);

    p = by_pid(&l, 6827);
    CHECK(p && !p->kernel_thread && p->ppid == 6822 && p->uid == 0 && p->state == 'S');
    CHECK(p && strcmp(p->name, "memscope-subjec") == 0);
    CHECK(p && strcmp(p->cmdline, "build/tests/memscope-subject --pages 64 --write 16 --read 8") == 0);
    CHECK(p && !p->cmdline_truncated);
    if (p) {
        CHECK_EQ_U64(p->vm_size, 2732 * 1024ULL);
        CHECK_EQ_U64(p->vm_rss, 1700 * 1024ULL);
        CHECK_EQ_U64(p->rss_anon, 172 * 1024ULL);
        CHECK_EQ_U64(p->rss_file, 1528 * 1024ULL);
        CHECK_EQ_U64(p->rss_shmem, 0);
        CHECK_EQ_U64(p->vm_swap, 0);
        CHECK_EQ_U64(p->minflt, 143);
        CHECK_EQ_U64(p->majflt, 0);
    }

    p = by_pid(&l, 6839);
    CHECK(p && strcmp(p->name, "ms) (x \\y\nz)") == 0);   /* stat's raw comm */
    CHECK(p && strcmp(p->cmdline, "/usr/bin/python3 -") == 0);
    CHECK(p && p->minflt == 1240 && p->majflt == 6 && p->vm_rss == 9544 * 1024ULL);

    p = by_pid(&l, 6841);
    CHECK(p && p->state == 'Z' && p->ppid == 6839 && !p->kernel_thread);
    CHECK(p && strcmp(p->cmdline, "") == 0 && p->vm_size == 0);

    ms_proclist_sort(&l, MS_PSORT_PID, true);
    PIDS_ARE(&l, 6841, 6839, 6827, 2);
    ms_proclist_sort(&l, MS_PSORT_VM_RSS, true);   /* 2 and 6841 tie at 0: by pid */
    PIDS_ARE(&l, 6839, 6827, 2, 6841);
    ms_proclist_sort(&l, MS_PSORT_VM_RSS, false);
    PIDS_ARE(&l, 2, 6841, 6827, 6839);
    ms_proclist_sort(&l, MS_PSORT_NAME, false);
    PIDS_ARE(&l, 2, 6827, 6839, 6841);
    ms_proclist_sort(&l, MS_PSORT_STATE, true);    /* Z > S; the three S by pid */
    PIDS_ARE(&l, 6841, 2, 6827, 6839);
    ms_proclist_sort(&l, MS_PSORT_MAJFLT, true);
    PIDS_ARE(&l, 6839, 2, 6827, 6841);
    ms_proclist_sort(&l, MS_PSORT_PPID, false);
    PIDS_ARE(&l, 2, 6827, 6839, 6841);
    ms_proclist_sort(&l, MS_PSORT_MINFLT, false);
    PIDS_ARE(&l, 2, 6841, 6827, 6839);
    ms_proclist_free(&l);
    CHECK(l.p == NULL && l.n == 0);

    CHECK(ms_proclist_read(root, "python", &l) == MS_OK);   /* cmdline only */
    PIDS_ARE(&l, 6839);
    ms_proclist_free(&l);
    CHECK(ms_proclist_read(root, "x \\y", &l) == MS_OK);    /* name: the process and its zombie */
    ms_proclist_sort(&l, MS_PSORT_PID, false);
    PIDS_ARE(&l, 6839, 6841);
    ms_proclist_free(&l);
    CHECK(ms_proclist_read(root, "no such text", &l) == MS_OK);
    CHECK_EQ_U64(l.n, 0);
    ms_proclist_free(&l);

    snprintf(root, sizeof root, "%s/no-such-dir", fixtures);
    CHECK(ms_proclist_read(root, NULL, &l) == MS_ERR_NOENT);
}

static void test_sort_names(void)
{
    static const char *names[] = {"pid", "ppid", "name", "uid", "state", "threads", "vm_size",
                                  "vm_rss", "rss_anon", "rss_file", "rss_shmem", "vm_swap",
                                  "minflt", "majflt"};
    ms_psort k;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(ms_psort_from_name(names[i], &k) && k == (ms_psort)i);
    CHECK(!ms_psort_from_name("VmRSS", &k));
    CHECK(!ms_psort_from_name("", &k));
    CHECK(!ms_psort_from_name("cmdline", &k));
    CHECK(!ms_psort_from_name(NULL, &k));
}

/* 3000 entries, three key values, pids shuffled: each key group ends up in ascending pid order. */
static void test_sort_ties(void)
{
    ms_proclist l = {0};
    l.n = l.cap = 3000;
    l.p = calloc(l.n, sizeof *l.p);
    CHECK(l.p != NULL);
    if (!l.p)
        return;
    for (size_t i = 0; i < l.n; i++) {
        int pid = (int)((i * 7919) % 3000) + 1;   /* a permutation of 1..3000 */
        l.p[i].pid = pid;
        l.p[i].vm_rss = (uint64_t)(pid % 3) * 4096;
    }
    ms_proclist_sort(&l, MS_PSORT_VM_RSS, true);
    bool ok = true;
    for (size_t i = 1; i < l.n; i++) {
        const ms_procinfo *a = &l.p[i - 1], *b = &l.p[i];
        if (a->vm_rss < b->vm_rss || (a->vm_rss == b->vm_rss && a->pid >= b->pid))
            ok = false;
    }
    CHECK(ok);
    CHECK(l.p[0].vm_rss == 2 * 4096 && l.p[0].pid == 2);
    ms_proclist_free(&l);
}

static void test_live(void)
{
    subject s = {0};
    const char *opts[] = {"--pages", "37", "--write", "5", NULL};
    char want[512];
    CHECK(spawn_subject(&s, opts) == 0);
    snprintf(want, sizeof want, "%s --pages 37 --write 5", getenv("MEMSCOPE_SUBJECT"));

    /* A child that has exited and been reaped must not be listed. */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    int st;
    CHECK(gone > 0 && waitpid(gone, &st, 0) == gone);

    ms_proclist l;
    CHECK(ms_proclist_read(NULL, NULL, &l) == MS_OK);
    CHECK(l.n >= 2);                           /* this test and its subject, at least */
    const ms_procinfo *p = by_pid(&l, s.pid);
    CHECK(p != NULL);
    if (p) {
        CHECK(p->ppid == getpid());
        CHECK_STR(p->name, "memscope-subjec");
        CHECK_STR(p->cmdline, want);
        CHECK(!p->kernel_thread && p->uid == getuid() && p->threads == 1);
        /* The list's figures are status's: compare with a fresh independent read of statm. */
        char cmd[256];
        snprintf(cmd, sizeof cmd, "awk '{print $1}' /proc/%d/statm", (int)s.pid);
        CHECK_EQ_U64(run_number(cmd) * 4096ULL, p->vm_size);
        snprintf(cmd, sizeof cmd, "awk '{print $2}' /proc/%d/statm", (int)s.pid);
        CHECK_EQ_U64(run_number(cmd) * 4096ULL, p->vm_rss);
        CHECK(p->rss_anon >= 5 * 4096ULL);
    }
    CHECK(by_pid(&l, gone) == NULL);
    p = by_pid(&l, 2);
    if (pid2_is_kthread())
        CHECK(p && p->kernel_thread && strcmp(p->cmdline, "") == 0);
    else
        CHECK_SKIP("no kernel thread visible (a pid namespace of its own: container, CI runner): "
                   "kernel_thread not checked on a live one");
    p = by_pid(&l, getpid());
    CHECK(p && p->state == 'R');
    /* No entry twice, no thread ids (only /proc's tgid entries). */
    ms_proclist_sort(&l, MS_PSORT_PID, false);
    bool uniq = true;
    for (size_t i = 1; i < l.n; i++)
        uniq = uniq && l.p[i - 1].pid < l.p[i].pid;
    CHECK(uniq);
    ms_proclist_free(&l);

    /* The same process read alone agrees with the list; q finds it by its unique cmdline. */
    char q[64];
    snprintf(q, sizeof q, "--pages 37 --write 5");
    CHECK(ms_proclist_read(NULL, q, &l) == MS_OK);
    CHECK(l.n == 1 && l.p[0].pid == s.pid);
    int fd;
    ms_procinfo one;
    CHECK(ms_pid_open(s.pid, &fd) == MS_OK);
    CHECK(ms_procinfo_read(fd, s.pid, &one) == MS_OK);
    CHECK(l.n == 1 && one.pid == s.pid && one.ppid == getpid() && strcmp(one.cmdline, want) == 0);
    CHECK(l.n == 1 && one.vm_size == l.p[0].vm_size && one.minflt >= l.p[0].minflt);
    ms_procinfo_free(&one);
    CHECK(one.cmdline == NULL);
    ms_proclist_free(&l);

    /* Reaped while its directory is open: the one-process read says "no such process". */
    stop_subject(&s);
    CHECK(ms_procinfo_read(fd, s.pid, &one) == MS_ERR_NOENT);
    CHECK(one.cmdline == NULL);
    close(fd);
}


/* The cheap entry c carries every figure of the full entry f, and no names beyond comm. */
static bool same_figures(const ms_procinfo *f, const ms_procinfo *c)
{
    return f && c && f->pid == c->pid && f->ppid == c->ppid && f->uid == c->uid &&
           strcmp(f->name, c->name) == 0 && f->state == c->state && f->kernel_thread == c->kernel_thread &&
           f->threads == c->threads && f->vm_size == c->vm_size && f->vm_rss == c->vm_rss &&
           f->rss_anon == c->rss_anon && f->rss_file == c->rss_file && f->rss_shmem == c->rss_shmem &&
           f->vm_swap == c->vm_swap && f->minflt == c->minflt && f->majflt == c->majflt &&
           f->starttime == c->starttime && c->cmdline == NULL && c->cgroup == NULL && !c->cmdline_truncated &&
           c->container.runtime[0] == '\0';
}

static void test_cheap_fixture(void)
{
    char root[512];
    ms_proclist full, cheap;
    snprintf(root, sizeof root, "%s/procroot", fixtures);
    CHECK(ms_proclist_read(root, NULL, &full) == MS_OK);
    CHECK(ms_proclist_read_cheap(root, &cheap) == MS_OK);
    /* the same walk: the vanished one and the cut stat are counted the same way */
    CHECK_EQ_U64(cheap.n, 4);
    CHECK_EQ_U64(cheap.vanished, 1);
    CHECK_EQ_U64(cheap.skipped, 1);
    CHECK(cheap.last_skip_err == MS_ERR_PARSE);
    ms_proclist_sort(&full, MS_PSORT_PID, false);
    ms_proclist_sort(&cheap, MS_PSORT_PID, false);
    PIDS_ARE(&cheap, 2, 6827, 6839, 6841);
    for (size_t i = 0; i < cheap.n && i < full.n; i++)
        CHECK(same_figures(&full.p[i], &cheap.p[i]));
    const ms_procinfo *p = by_pid(&cheap, 6827);
    CHECK(p && p->vm_rss == 1700 * 1024ULL && p->rss_file == 1528 * 1024ULL && p->minflt == 143);
    const ms_procinfo *pf = by_pid(&full, 6827);
    CHECK(p && pf && p->starttime == pf->starttime && p->starttime != 0);
    ms_proclist_free(&full);
    ms_proclist_free(&cheap);

    /* one process alone, as the cheap list shows it */
    snprintf(root, sizeof root, "%s/procroot/6839", fixtures);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_procinfo a, b;
    CHECK(fd >= 0 && ms_procinfo_read(fd, 0, &a) == MS_OK);
    CHECK(fd >= 0 && ms_procinfo_read_cheap(fd, 0, &b) == MS_OK);
    CHECK(same_figures(&a, &b) && b.pid == 6839);
    ms_procinfo_free(&a);
    ms_procinfo_free(&b);
    if (fd >= 0)
        close(fd);
}

/* Live: subjects that hold still show in the cheap list exactly as in the full one, with the start
 * time stat gives (an independent read), and a reaped one is left out of both. */
static void test_cheap_live(void)
{
    subject s[3];
    const char *opts[3][7] = {{"--pages", "64", "--write", "16", NULL},
                              {"--pages", "300", "--write", "200", "--shared", "32", NULL},
                              {"--pages", "8", "--write", "8", "--read", "0", NULL}};
    for (int i = 0; i < 3; i++)
        CHECK(spawn_subject(&s[i], opts[i]) == 0);
    ms_proclist full, cheap;
    CHECK(ms_proclist_read(NULL, NULL, &full) == MS_OK);
    CHECK(ms_proclist_read_cheap(NULL, &cheap) == MS_OK);
    for (int i = 0; i < 3; i++) {
        const ms_procinfo *c = by_pid(&cheap, s[i].pid), *f = by_pid(&full, s[i].pid);
        CHECK(same_figures(f, c));
        char cmd[256];
        snprintf(cmd, sizeof cmd, "sed 's/.*) //' /proc/%d/stat | awk '{print $20}'", (int)s[i].pid);
        CHECK(c && c->starttime == (uint64_t)run_number(cmd));
    }
    const ms_procinfo *c2 = by_pid(&cheap, s[1].pid);
    CHECK(c2 && c2->rss_shmem == 32 * 4096ULL && c2->rss_anon >= 200 * 4096ULL);
    if (pid2_is_kthread())
        CHECK(same_figures(by_pid(&full, 2), by_pid(&cheap, 2)));
    ms_proclist_free(&full);
    ms_proclist_free(&cheap);
    int gone = s[2].pid;
    stop_subject(&s[2]);
    CHECK(ms_proclist_read_cheap(NULL, &cheap) == MS_OK);
    CHECK(by_pid(&cheap, gone) == NULL && by_pid(&cheap, s[0].pid) != NULL);
    ms_proclist_free(&cheap);
    stop_subject(&s[0]);
    stop_subject(&s[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURES\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    test_fixture_walk();
    test_sort_names();
    test_sort_ties();
    test_live();
    test_cheap_fixture();
    test_cheap_live();
    return check_done();
}
