/* test_cgroup_v2.c - the cgroup v2 reader on a tree recorded from a real kernel
 * (tests/fixtures/cgroup-v2-recorded, made by cgroup-v2-record.sh in a qemu guest).
 *
 * Every figure the reader returns is compared with the recorded file, parsed here independently
 * with stdio, for every cgroup of the tree; then the facts the recording made true are asserted:
 * the limits it set, memory the subjects touched being charged, reclaim into swap under
 * memory.high, the OOM kills it caused (one in a limited container, one machine-wide, each counted
 * in the victim's cgroup and its ancestors), and the container
 * and pod named by each path the recorded processes were in.  Nothing here depends on the numbers
 * of one recording, so a new recording needs no change to this file. */
#include "check.h"
#include "core/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1ULL << 20)

/* The names cgroup-v2-record.sh gave the cgroups (ids: sha256 of "memscope-<role>"). */
#define DOCKER_ID "6b0b425ee3d7bbda57c03ac7d3ce1840a42b40b9c73bd0c43b147a65d942cc75"
#define PODMAN_ID "9be51614bb1e026b372a839271aa71755766b3579403c323ed26a49908205c72"
#define APP_ID "e90c93f89b3cce2c6c3bb80ce3c9579c49f0ad253f4769cbcd0845e6312b969e"
#define PAUSE_ID "8d84ee701633a60ec99fcb9ac32d25981f1dcc12052c9ec4a5bf5e6ab93ea987"
#define CFS_ID "658cdc5bc9f9a3027c23a37400d3601da55b4580031c038bf884c29618f653e6"
#define POD_UID "5f0c7a2e-91d3-4b8e-a6f1-3c2d9e8b7a40"
#define POD2_UID "0b6e4d21-7c3a-4f58-9e12-a4b5c6d7e8f9"
#define DOCKER "/system.slice/docker-" DOCKER_ID ".scope"
#define PODMAN "/machine.slice/libpod-" PODMAN_ID ".scope"
#define POD "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5f0c7a2e_91d3_4b8e_a6f1_3c2d9e8b7a40.slice"
#define APP POD "/cri-containerd-" APP_ID ".scope"
#define PAUSE POD "/cri-containerd-" PAUSE_ID ".scope"
#define CFS_POD "/kubepods/burstable/pod" POD2_UID
#define CFS CFS_POD "/" CFS_ID
#define SESSION "/user.slice/user-1000.slice/session-1.scope"

static char rec[1024], tree[1100];

/* ---- independent readers (stdio, strtoull), so the reader is checked against the file ---- */

/* The whole of the file at path, NUL-terminated, or NULL when absent. */
static char *slurp_at(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *s = calloc(1, 1 << 16);
    if (s && fread(s, 1, (1 << 16) - 1, f) == 0 && ferror(f)) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

/* A file of the recording: rel below cgroup-v2-recorded/. */
static char *slurp_rec(const char *rel)
{
    char path[2300];
    snprintf(path, sizeof path, "%s/%s", rec, rel);
    return slurp_at(path);
}

/* The file name of the cgroup cg in the recorded tree. */
static char *slurp(const char *cg, const char *name)
{
    char path[2300];
    snprintf(path, sizeof path, "%s%s/%s", tree, strcmp(cg, "/") == 0 ? "" : cg, name);
    return slurp_at(path);
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* "name value" line i of s: checks the reader's field i holds the same. */
static void check_fields(const char *text, const ms_cg_fields *fs, const char *what, const char *cg)
{
    size_t i = 0;
    char name[128];
    unsigned long long v;
    int used;
    for (const char *p = text; p && *p; i++) {
        CHECK(sscanf(p, "%127s %llu%n", name, &v, &used) == 2);
        if (i >= fs->n || strcmp(fs->f[i].name, name) != 0 || fs->f[i].value != v) {
            fprintf(stderr, "%s%s line %zu: file says %s %llu, reader %s %llu\n", cg, what, i, name, v,
                    i < fs->n ? fs->f[i].name : "-", i < fs->n ? (unsigned long long)fs->f[i].value : 0ULL);
            CHECK(false);
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    CHECK_EQ_U64(fs->n, i);
    CHECK_EQ_U64(fs->skipped, 0);
}

static void check_psi(const char *text, const ms_cg_psi *some, const ms_cg_psi *full)
{
    const ms_cg_psi *dst[2] = {some, full};
    const char *key[2] = {"some", "full"};
    for (int k = 0; k < 2; k++) {
        const char *l = strstr(text, key[k]);
        unsigned a10, b10, a60, b60, a300, b300;
        unsigned long long total;
        CHECK(l && sscanf(l + 4, " avg10=%u.%u avg60=%u.%u avg300=%u.%u total=%llu", &a10, &b10, &a60, &b60,
                          &a300, &b300, &total) == 7);
        if (!l)
            continue;
        CHECK(dst[k]->present);
        CHECK_EQ_U64(dst[k]->avg10, a10 * 100 + b10);
        CHECK_EQ_U64(dst[k]->avg60, a60 * 100 + b60);
        CHECK_EQ_U64(dst[k]->avg300, a300 * 100 + b300);
        CHECK_EQ_U64(dst[k]->total_us, total);
    }
}

/* The value of the line "name value" in stat, UINT64_MAX when there is none. */
static uint64_t stat_field(const char *stat, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = stat; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && p[nl] == ' ')
            return strtoull(p + nl + 1, NULL, 10);
    return UINT64_MAX;
}

/* ---- every cgroup: the reader says what the files say ---- */

static int count_dirs(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 1;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char sub[2300];
        struct stat st;
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_dirs(sub);
    }
    if (d)
        closedir(d);
    return n;
}

/* memory.events.local, which the OOM watcher counts kills by when it cannot read the kernel log:
 * parsed as the reader parses memory.events, and each kill in it once, in the victim's cgroup.
 * Returns that cgroup's oom_kill. */
static uint64_t check_local_events(const char *cg)
{
    char *local = slurp(cg, "memory.events.local");
    ms_cg_fields fs = {0};
    uint64_t kills = 0;
    CHECK(local || strcmp(cg, "/") == 0);     /* every cgroup but the root, since Linux 5.9 */
    if (local) {
        CHECK(ms_cg_fields_parse(local, strlen(local), &fs) == MS_OK);
        check_fields(local, &fs, "/memory.events.local", cg);
        kills = stat_field(local, "oom_kill");
        CHECK(kills != UINT64_MAX);
    }
    free(fs.f);
    free(local);
    return kills == UINT64_MAX ? 0 : kills;
}

static void check_cgroup(int root, const char *cg)
{
    int fd = -1;
    ms_cg_mem m;
    ms_cg_mem_init(&m);
    CHECK(ms_cg_open(root, cg, &fd) == MS_OK);
    CHECK(ms_cg_mem_read(fd, 2, &m) == MS_OK);
    for (int i = 0; i < MS_CGV__COUNT; i++) {
        const char *f = ms_cgv_file((ms_cgv_id)i, 2);
        char *text = f ? slurp(cg, f) : NULL;
        CHECK(m.v[i].present == (text != NULL));
        if (text && strcmp(text, "max\n") == 0)
            CHECK(m.v[i].is_max);
        else if (text)
            CHECK(!m.v[i].is_max && m.v[i].value == strtoull(text, NULL, 10));
        free(text);
    }
    char *procs = slurp(cg, "cgroup.procs"), *stat = slurp(cg, "memory.stat");
    char *events = slurp(cg, "memory.events"), *psi = slurp(cg, "memory.pressure");
    CHECK(procs && stat && psi);
    CHECK_EQ_U64(m.nprocs, lines(procs));
    check_fields(stat, &m.stat, "/memory.stat", cg);
    if (events)
        check_fields(events, &m.events, "/memory.events", cg);
    else
        CHECK(strcmp(cg, "/") == 0 && m.events.n == 0);   /* the root has no memory.events */
    if (psi)
        check_psi(psi, &m.psi_some, &m.psi_full);
    CHECK(m.root == (strcmp(cg, "/") == 0));
    /* the split: what the stat lines give, the rest being usage less them */
    ms_cg_split s;
    CHECK(ms_cg_split_of(&m, &s) == MS_OK);
    if (stat) {
        uint64_t file = stat_field(stat, "file"), shmem = stat_field(stat, "shmem");
        uint64_t kernel = stat_field(stat, "kernel"), sock = stat_field(stat, "sock");
        CHECK_EQ_U64(s.anon, stat_field(stat, "anon"));
        CHECK_EQ_U64(s.shmem, shmem);
        CHECK_EQ_U64(s.file, file - shmem);
        CHECK_EQ_U64(s.kernel, kernel);
        uint64_t parts = s.anon + file + kernel + sock;
        CHECK(m.root ? s.usage == parts : s.usage == m.v[MS_CGV_USAGE].value);
        CHECK(s.rest == (int64_t)s.usage - (int64_t)parts);
    }
    int *pids = NULL;
    size_t n = 0;
    CHECK(ms_cg_procs_read(fd, &pids, &n, 100000) == MS_OK);
    CHECK_EQ_U64(n, lines(procs));
    free(pids);
    free(procs);
    free(stat);
    free(events);
    free(psi);
    ms_cg_mem_free(&m);
    if (fd >= 0)
        close(fd);
}

static void test_every_cgroup(void)
{
    int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_cg_tree t;
    CHECK(root >= 0);
    CHECK(ms_cg_tree_read(root, 1000, &t) == MS_OK);
    CHECK_EQ_U64(t.count, count_dirs(tree));
    CHECK(!t.truncated);
    static const char *const made[] = {DOCKER, PODMAN, APP, PAUSE, CFS, SESSION, "/system.slice/containerd.service",
                                       "/kubepods.slice/kubepods-besteffort.slice"};
    for (size_t k = 0; k < sizeof made / sizeof made[0]; k++) {
        bool found = false;
        for (size_t i = 0; i < t.count; i++)
            found = found || strcmp(t.n[i].path, made[k]) == 0;
        if (!found)
            fprintf(stderr, "%s: not in the recorded tree\n", made[k]);
        CHECK(found);
    }
    uint64_t local_kills = 0;
    for (size_t i = 0; i < t.count; i++) {
        CHECK(t.n[i].parent < (int)i);
        check_cgroup(root, t.n[i].path);
        uint64_t k = check_local_events(t.n[i].path);
        if (k)
            CHECK(k == 1 && (strcmp(t.n[i].path, APP) == 0 || strcmp(t.n[i].path, SESSION) == 0));
        local_kills += k;
    }
    CHECK_EQ_U64(local_kills, 2);     /* the two kills of the recording, each counted once */
    ms_cg_tree_free(&t);
    ms_cg_hier h;
    CHECK(ms_cg_hier_find(tree, &h) == MS_OK);
    CHECK(h.version == 2 && !h.hybrid);
    CHECK_STR(h.root, tree);
    close(root);
}

/* The walk's visits: each cgroup once, in the tree's order, with its own directory; what a visit
 * reads with only the summary's values matches a full read of the cgroup opened by its path. */
typedef struct {
    size_t next, stop_at;
    int root;
} visits;

static ms_err visit_check(void *ctx, int dirfd, const ms_cg_tree *t, size_t i)
{
    visits *v = ctx;
    CHECK_EQ_U64(i, v->next);
    CHECK_EQ_U64(t->count, i + 1);
    v->next++;
    if (i == v->stop_at)
        return MS_ERR_NOMEM;
    ms_cg_mem some, all;
    int fd = -1;
    ms_cg_mem_init(&some);
    ms_cg_mem_init(&all);
    CHECK(ms_cg_mem_read_some(dirfd, 2, MS_CGV_SUMMARY, &some) == MS_OK);
    CHECK(ms_cg_open(v->root, t->n[i].path, &fd) == MS_OK && ms_cg_mem_read(fd, 2, &all) == MS_OK);
    for (int k = 0; k < MS_CGV__COUNT; k++) {
        bool wanted = MS_CGV_SUMMARY & MS_CGV_BIT(k);
        CHECK(some.v[k].present == (wanted && all.v[k].present));
        if (some.v[k].present)
            CHECK(some.v[k].value == all.v[k].value && some.v[k].is_max == all.v[k].is_max);
    }
    CHECK(some.root == all.root && some.nprocs == all.nprocs);
    CHECK(some.stat.n == all.stat.n && some.events.n == all.events.n);
    CHECK(some.psi_some.present == all.psi_some.present && some.psi_some.avg10 == all.psi_some.avg10);
    ms_cg_split a, b;
    CHECK(ms_cg_split_of(&some, &a) == MS_OK && ms_cg_split_of(&all, &b) == MS_OK);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    ms_cg_mem_free(&some);
    ms_cg_mem_free(&all);
    if (fd >= 0)
        close(fd);
    return MS_OK;
}

static void test_walk(void)
{
    int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_cg_tree t, plain;
    visits v = {.stop_at = SIZE_MAX, .root = root};
    CHECK(root >= 0);
    CHECK(ms_cg_tree_walk(root, 1000, &t, visit_check, &v) == MS_OK);
    CHECK(ms_cg_tree_read(root, 1000, &plain) == MS_OK);
    CHECK_EQ_U64(v.next, t.count);
    CHECK_EQ_U64(t.count, plain.count);
    for (size_t i = 0; i < t.count && i < plain.count; i++)
        CHECK(strcmp(t.n[i].path, plain.n[i].path) == 0 && t.n[i].parent == plain.n[i].parent);
    ms_cg_tree_free(&t);
    ms_cg_tree_free(&plain);
    /* a visit's error ends the walk there and frees the tree */
    v = (visits){.stop_at = 3, .root = root};
    CHECK(ms_cg_tree_walk(root, 1000, &t, visit_check, &v) == MS_ERR_NOMEM);
    CHECK_EQ_U64(v.next, 4);
    CHECK(t.n == NULL && t.count == 0);
    close(root);
}

/* ---- what the recording did ---- */

typedef struct {
    int pid;
    uint64_t anon, file;
    bool ready;
} subject;

static subject subject_of(const char *role)
{
    char rel[64];
    subject s = {0};
    snprintf(rel, sizeof rel, "subjects/%s", role);
    char *t = slurp_rec(rel);
    const char *p;
    CHECK(t && (p = strstr(t, "pid ")) && (s.pid = atoi(p + 4)) > 1);
    if (t && (p = strstr(t, "anon_touched ")))
        s.anon = strtoull(p + 13, NULL, 10);
    if (t && (p = strstr(t, "file_written ")))
        s.file = strtoull(p + 13, NULL, 10);
    s.ready = t && strstr(t, "\nready\n");
    free(t);
    return s;
}

/* Reads one cgroup of the recorded tree (caller frees with ms_cg_mem_free). */
static void read_cg(const char *cg, ms_cg_mem *m)
{
    int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
    ms_cg_mem_init(m);
    CHECK(root >= 0 && ms_cg_open(root, cg, &fd) == MS_OK && ms_cg_mem_read(fd, 2, m) == MS_OK);
    if (fd >= 0)
        close(fd);
    if (root >= 0)
        close(root);
}

static uint64_t event(const ms_cg_mem *m, const char *name)
{
    uint64_t v = UINT64_MAX;
    CHECK(ms_cg_field_get(&m->events, name, &v));
    return v;
}

static bool within_5pct(int64_t rest, uint64_t usage)
{
    return (uint64_t)(rest < 0 ? -rest : rest) * 20 <= usage;
}

/* A subject that lived through the recording and the cgroup it was in, read and split; the
 * split's rest is within 5% of usage (the parts memory.stat names explain what it is charged). */
typedef struct {
    subject sj;
    ms_cg_mem m;
    ms_cg_split s;
} subject_cg;

static void subject_cg_read(const char *role, const char *cg, subject_cg *x)
{
    x->sj = subject_of(role);
    read_cg(cg, &x->m);
    CHECK(x->sj.ready);
    CHECK(ms_cg_split_of(&x->m, &x->s) == MS_OK);
    CHECK(within_5pct(x->s.rest, x->s.usage));
}

static void test_docker(void)
{
    subject_cg d;
    uint64_t v;
    subject_cg_read("docker", DOCKER, &d);
    CHECK(d.sj.anon == 40 * MiB && d.sj.file == 24 * MiB);
    CHECK(ms_cg_limit(&d.m, &v) && v == 256 * MiB);
    CHECK_EQ_U64(d.m.v[MS_CGV_HIGH].value, 192 * MiB);
    CHECK_EQ_U64(d.m.v[MS_CGV_LOW].value, 16 * MiB);
    CHECK_EQ_U64(d.m.v[MS_CGV_MIN].value, 8 * MiB);
    CHECK(d.m.v[MS_CGV_SWAP_LIMIT].present && !d.m.v[MS_CGV_SWAP_LIMIT].is_max);
    CHECK_EQ_U64(d.m.v[MS_CGV_SWAP_LIMIT].value, 64 * MiB);
    /* everything the subject touched and wrote is charged here, nothing swapped (no pressure) */
    CHECK(d.m.v[MS_CGV_USAGE].value >= d.sj.anon + d.sj.file);
    CHECK(d.m.v[MS_CGV_PEAK].value >= d.m.v[MS_CGV_USAGE].value);
    CHECK_EQ_U64(d.m.v[MS_CGV_SWAP_USAGE].value, 0);
    CHECK(d.s.anon >= d.sj.anon && d.s.anon < d.sj.anon + 8 * MiB);
    CHECK(d.s.file >= d.sj.file && d.s.file < d.sj.file + 4 * MiB);    /* ext4 page cache, not shmem */
    CHECK(ms_cg_oom_kills(&d.m, &v) && v == 0);
    CHECK_EQ_U64(d.m.nprocs, 1);
    ms_cg_mem_free(&d.m);
}

static void test_podman(void)
{
    subject_cg p;
    uint64_t v;
    subject_cg_read("podman", PODMAN, &p);
    CHECK(p.sj.anon == 48 * MiB);
    CHECK(!ms_cg_limit(&p.m, &v) && p.m.v[MS_CGV_LIMIT].is_max);
    CHECK_EQ_U64(p.m.v[MS_CGV_HIGH].value, 24 * MiB);
    CHECK(p.m.v[MS_CGV_SWAP_LIMIT].is_max);
    /* over memory.high: the kernel counted it, reclaimed the excess into swap, and the subject
     * stalled on it (PSI) */
    CHECK(event(&p.m, "high") > 0);
    CHECK(p.m.v[MS_CGV_SWAP_USAGE].value > 0);
    CHECK(p.s.anon + p.m.v[MS_CGV_SWAP_USAGE].value >= p.sj.anon);
    CHECK(p.s.anon < p.sj.anon);
    CHECK(p.m.psi_some.present && p.m.psi_some.total_us > 0);
    CHECK(p.m.psi_full.present && p.m.psi_full.total_us > 0);
    CHECK(ms_cg_oom_kills(&p.m, &v) && v == 0);
    ms_cg_mem_free(&p.m);
}

static bool kmsg_names(const char *needle)
{
    char *k = slurp_rec("kmsg-oom.txt");
    bool yes = k && strstr(k, needle);
    free(k);
    return yes;
}

static void test_oom(void)
{
    subject victim = subject_of("oom");
    ms_cg_mem m;
    uint64_t v;
    read_cg(APP, &m);
    CHECK(!victim.ready);                         /* killed before it had touched 64 MiB */
    CHECK(ms_cg_limit(&m, &v) && v == 32 * MiB);
    CHECK(m.v[MS_CGV_SWAP_LIMIT].present && !m.v[MS_CGV_SWAP_LIMIT].is_max);
    CHECK_EQ_U64(m.v[MS_CGV_SWAP_LIMIT].value, 0);
    CHECK(ms_cg_oom_kills(&m, &v) && v == 1);
    CHECK(event(&m, "oom") >= 1 && event(&m, "max") >= 1);
    CHECK_EQ_U64(event(&m, "oom_group_kill"), 0);
    /* the peak reached the limit (charges fail past it), and the victim's memory is gone */
    CHECK(m.v[MS_CGV_PEAK].value <= 32 * MiB && m.v[MS_CGV_PEAK].value > 31 * MiB);
    CHECK(m.v[MS_CGV_USAGE].value < 4 * MiB);
    /* the sleeper stays, the victim is not listed */
    int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1, *pids = NULL;
    size_t n = 0;
    CHECK(ms_cg_open(root, APP, &fd) == MS_OK && ms_cg_procs_read(fd, &pids, &n, 100) == MS_OK);
    CHECK(n == 1 && pids && pids[0] != victim.pid);
    free(pids);
    close(fd);
    close(root);
    ms_cg_mem_free(&m);
    /* the kernel log names the victim and this cgroup */
    char want[64];
    snprintf(want, sizeof want, "task=hog,pid=%d,", victim.pid);
    CHECK(kmsg_names(want) && kmsg_names("task_memcg=" APP ","));
    /* memory.events is hierarchical: the pod and every slice above count the kill; the pause
     * container beside it does not */
    static const char *const up[] = {POD, "/kubepods.slice/kubepods-burstable.slice", "/kubepods.slice"};
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
        read_cg(up[i], &m);
        CHECK(ms_cg_oom_kills(&m, &v) && v == 1);
        CHECK(m.v[MS_CGV_PEAK].value > 31 * MiB);
        if (i == 0)
            CHECK(ms_cg_limit(&m, &v) && v == 128 * MiB);
        ms_cg_mem_free(&m);
    }
    read_cg(PAUSE, &m);
    CHECK(ms_cg_oom_kills(&m, &v) && v == 0);
    CHECK(!ms_cg_limit(&m, &v) && m.nprocs == 1);
    ms_cg_mem_free(&m);
}

/* The machine-wide OOM the recording caused last: no limit was hit (oom 0), yet the kernel counts
 * the kill in the victim's cgroup and every ancestor, which is how a counter-watching reader sees
 * global kills too. */
static void test_global_oom(void)
{
    subject victim = subject_of("global");
    ms_cg_mem m;
    uint64_t v;
    CHECK(!victim.ready);
    static const char *const up[] = {SESSION, "/user.slice/user-1000.slice", "/user.slice"};
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
        read_cg(up[i], &m);
        CHECK(ms_cg_oom_kills(&m, &v) && v == 1);
        CHECK_EQ_U64(event(&m, "oom"), 0);
        CHECK_EQ_U64(event(&m, "max"), 0);
        CHECK(!ms_cg_limit(&m, &v));
        CHECK(m.v[MS_CGV_PEAK].value > 256 * MiB);      /* it had most of the machine's 512 MiB */
        CHECK(m.v[MS_CGV_USAGE].value < MiB);           /* and its memory is gone */
        CHECK_EQ_U64(m.nprocs, 0);
        ms_cg_mem_free(&m);
    }
    char want[64];
    snprintf(want, sizeof want, "Killed process %d (big (x))", victim.pid);
    char *k = slurp_rec("kmsg-oom-global.txt");
    CHECK(k && strstr(k, want) && strstr(k, "global_oom,task_memcg=" SESSION ","));
    free(k);
}

static void test_cgroupfs(void)
{
    subject_cg c;
    uint64_t v;
    subject_cg_read("cgroupfs", CFS, &c);
    CHECK(c.sj.anon == 16 * MiB);
    CHECK(ms_cg_limit(&c.m, &v) && v == 64 * MiB);
    CHECK(c.s.anon >= c.sj.anon);
    ms_cg_mem_free(&c.m);
    read_cg(CFS_POD, &c.m);
    CHECK(ms_cg_limit(&c.m, &v) && v == 96 * MiB);
    CHECK(c.m.v[MS_CGV_USAGE].value >= c.sj.anon);      /* a parent's usage counts its children's */
    CHECK_EQ_U64(c.m.nprocs, 0);
    ms_cg_mem_free(&c.m);
}

/* ---- containers: each recorded process's cgroup, and each recorded path ---- */

static const struct {
    const char *path, *runtime, *id, *pod;   /* runtime NULL: neither container nor pod */
} paths[] = {
    {DOCKER, "docker", DOCKER_ID, ""},
    {PODMAN, "podman", PODMAN_ID, ""},
    {APP, "containerd", APP_ID, POD_UID},
    {PAUSE, "containerd", PAUSE_ID, POD_UID},
    {POD, "", "", POD_UID},
    {CFS, "cri", CFS_ID, POD2_UID},
    {CFS_POD, "", "", POD2_UID},
    {"/kubepods.slice/kubepods-burstable.slice", NULL, NULL, NULL},
    {"/kubepods.slice/kubepods-besteffort.slice", NULL, NULL, NULL},
    {"/kubepods/burstable", NULL, NULL, NULL},
    {"/system.slice/containerd.service", NULL, NULL, NULL},
    {"/machine.slice", NULL, NULL, NULL},
    {SESSION, NULL, NULL, NULL},
    {"/", NULL, NULL, NULL},
};

static int path_case(const char *path)
{
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (strcmp(paths[i].path, path) == 0)
            return (int)i;
    return -1;
}

static void check_container(int i, const ms_container *c, bool found)
{
    if (!paths[i].runtime) {
        CHECK(!found);
        return;
    }
    CHECK(found);
    CHECK_STR(c->runtime, paths[i].runtime);
    CHECK_STR(c->id, paths[i].id);
    CHECK_STR(c->pod_uid, paths[i].pod);
}

static void test_containers(void)
{
    int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int fd = -1;
        ms_container c;
        CHECK(ms_cg_open(root, paths[i].path, &fd) == MS_OK);  /* a cgroup the kernel made */
        if (fd >= 0)
            close(fd);
        check_container((int)i, &c, ms_container_from_path(paths[i].path, &c));
    }
    close(root);
    /* the recorded /proc/<pid>/cgroup of every subject that lived: a pure v2 host's one line */
    char pdir[1100];
    snprintf(pdir, sizeof pdir, "%s/proc", rec);
    DIR *d = opendir(pdir);
    struct dirent *de;
    int seen = 0;
    CHECK(d != NULL);
    while (d && (de = readdir(d))) {
        char sub[1400];
        ms_cg_membership mb;
        const char *path;
        ms_container c;
        if (de->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", pdir, de->d_name);
        int fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0 && ms_cg_membership_read(fd, &mb) == MS_OK);
        CHECK(mb.has_v2 && !mb.has_v1_memory);
        CHECK(ms_cg_membership_memory(&mb, &path, &c));
        int k = path_case(path);
        if (k < 0)
            fprintf(stderr, "pid %s: recorded in %s, not a path the recording made\n", de->d_name, path);
        CHECK(k >= 0);
        if (k >= 0)
            check_container(k, &c, c.id[0] || c.pod_uid[0]);
        seen++;
        if (fd >= 0)
            close(fd);
    }
    if (d)
        closedir(d);
    CHECK(seen >= 5);    /* the docker, podman and cgroupfs subjects, the app and pause sleepers */
    static const char *const roles[] = {"docker", "podman", "cgroupfs"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "proc/%d/cgroup", subject_of(roles[i]).pid);
        char *t = slurp_rec(rel);
        CHECK(t != NULL);
        free(t);
    }
}

int main(int argc, char **argv)
{
    snprintf(rec, sizeof rec, "%s/cgroup-v2-recorded", argc > 1 ? argv[1] : "tests/fixtures");
    snprintf(tree, sizeof tree, "%s/cgroup", rec);
    test_every_cgroup();
    test_walk();
    test_docker();
    test_podman();
    test_oom();
    test_global_oom();
    test_cgroupfs();
    test_containers();
    return check_done();
}
