/* test_cgroup.c - the cgroup reader on recorded and written trees (tests/fixtures/cgroup-*), the
 * container table over cgroup paths from each runtime, path checks, and the live v1 controller
 * (a cgroup made and removed here). */
#include "check.h"
#include "core/buf.h"
#include "core/cgroup.h"
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *fixtures;

#define DOCKER_ID "3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
#define CRI_ID "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define POD_UID "8d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d"
#define MiB (1ULL << 20)

static int open_fixture(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixtures, rel);
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_membership(void)
{
    /* this machine: v1 controllers plus the v2 line (hybrid) */
    static const char hybrid[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/e9d6\n3:cpuset:/\n0::/\n";
    static const char v2[] = "0::/system.slice/docker-" DOCKER_ID ".scope\n";
    static const char joined[] = "5:cpu,memory,cpuacct:/a:b/c\n";
    ms_cg_membership m;
    CHECK(ms_cg_membership_parse(hybrid, sizeof hybrid - 1, &m) == MS_OK);
    CHECK(m.has_v1_memory && m.has_v2);
    CHECK_STR(m.v1_memory, "/process_api/e9d6");
    CHECK_STR(m.v2, "/");
    CHECK(ms_cg_membership_parse(v2, sizeof v2 - 1, &m) == MS_OK);
    CHECK(!m.has_v1_memory && m.has_v2);
    CHECK_STR(m.v2, "/system.slice/docker-" DOCKER_ID ".scope");
    CHECK(ms_cg_membership_parse(joined, sizeof joined - 1, &m) == MS_OK);
    CHECK_STR(m.v1_memory, "/a:b/c");                  /* a ':' in the path is the path's */
    CHECK(ms_cg_membership_parse("garbage\n", 8, &m) == MS_ERR_PARSE);
    /* live: the kernel's own file of this process */
    int fd;
    CHECK(ms_pid_open(getpid(), &fd) == MS_OK);
    CHECK(ms_cg_membership_read(fd, &m) == MS_OK);
    CHECK(m.has_v1_memory || m.has_v2);
    close(fd);
}

/* Whether /proc/self/mountinfo lists a cgroup2 mount, read with stdio here rather than by the
 * parser under test. */
static bool cgroup2_mounted(void)
{
    char line[4096];
    bool found = false;
    FILE *f = fopen("/proc/self/mountinfo", "r");
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, " - cgroup2 ") != NULL;
    if (f)
        fclose(f);
    return found;
}

static void test_hierarchy(void)
{
    static const char hybrid[] =
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    ms_cg_hier h;
    CHECK(ms_cg_hier_from_mountinfo(hybrid, sizeof hybrid - 1, &h) == MS_OK);
    CHECK(h.version == 1);
    CHECK_STR(h.root, "/sys/fs/cgroup/memory");
    /* a pure v2 host: the cgroup2 mount's cgroup.controllers names memory (the written tree) */
    char mi[2048];
    int n = snprintf(mi, sizeof mi, "25 1 0:22 / %s rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
                     "26 1 0:23 / /proc rw - proc proc rw\n", fixtures);
    char want[1024];
    snprintf(want, sizeof want, "%s", fixtures);
    /* the fixtures dir itself has no cgroup.controllers: not a memory hierarchy */
    CHECK(ms_cg_hier_from_mountinfo(mi, (size_t)n, &h) == MS_ERR_UNSUPPORTED);
    n = snprintf(mi, sizeof mi, "25 1 0:22 / %s/cgroup-v2-docker rw shared:4 - cgroup2 cgroup2 rw\n", fixtures);
    snprintf(want, sizeof want, "%s/cgroup-v2-docker", fixtures);
    CHECK(ms_cg_hier_from_mountinfo(mi, (size_t)n, &h) == MS_OK);
    CHECK(h.version == 2 && !h.hybrid);
    CHECK_STR(h.root, want);
    /* --cgroup-root pointing at a written v2 tree */
    CHECK(ms_cg_hier_find(want, &h) == MS_OK);
    CHECK(h.version == 2);
    CHECK_STR(h.root, want);
    CHECK(ms_cg_hier_find("/nonexistent-memscope", &h) == MS_ERR_UNSUPPORTED);
    /* this machine: v1 memory, beside a v2 hierarchy without it where one is mounted (a host's
     * hybrid layout; a container may mount v1 alone), found both ways */
    if (access("/sys/fs/cgroup/memory/memory.usage_in_bytes", R_OK) == 0) {
        CHECK(ms_cg_hier_find("/sys/fs/cgroup", &h) == MS_OK);
        CHECK(h.version == 1 && h.hybrid == cgroup2_mounted());
        CHECK_STR(h.root, "/sys/fs/cgroup/memory");
        CHECK(ms_cg_hier_find(NULL, &h) == MS_OK);
        CHECK(h.version == 1);
        CHECK_STR(h.root, "/sys/fs/cgroup/memory");
    } else {
        CHECK_SKIP("no cgroup v1 memory controller at /sys/fs/cgroup/memory");
    }
}

static void test_paths(void)
{
    static const struct {
        const char *in, *out;     /* out NULL: refused */
    } cases[] = {
        {"/", "/"}, {"", "/"}, {"system.slice", "/system.slice"}, {"/a/b/", "/a/b"},
        {"//a/b", "/a/b"}, {"/a/../b", NULL}, {"..", NULL}, {"/a/./b", NULL}, {"/a//b", NULL},
        {"/a/\nb", NULL}, {"/a/..b", "/a/..b"}, {"/a b/c", "/a b/c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[MS_CG_PATH_MAX];
        ms_err rc = ms_cg_path_normalize(cases[i].in, out, sizeof out);
        if (cases[i].out) {
            CHECK(rc == MS_OK);
            CHECK_STR(out, cases[i].out);
        } else {
            CHECK(rc == MS_ERR_INVAL);
        }
    }
    char longp[MS_CG_PATH_MAX + 8];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    char out[MS_CG_PATH_MAX];
    CHECK(ms_cg_path_normalize(longp, out, sizeof out) == MS_ERR_INVAL);

    int root = open_fixture("cgroup-v2-docker"), fd = -1;
    CHECK(root >= 0);
    CHECK(ms_cg_open(root, "/system.slice/ssh.service", &fd) == MS_OK);
    CHECK(fd >= 0 && faccessat(fd, "memory.current", R_OK, 0) == 0);
    close(fd);
    CHECK(ms_cg_open(root, "/system.slice/nope", &fd) == MS_ERR_NOENT);
    CHECK(ms_cg_open(root, "/system.slice/ssh.service/memory.current", &fd) == MS_ERR_NOENT);
    CHECK(ms_cg_open(root, "/system.slice/../..", &fd) == MS_ERR_INVAL);
    CHECK(ms_cg_open(root, "/", &fd) == MS_OK);
    close(fd);
    close(root);
}

static void test_v2_container(void)
{
    int fd = open_fixture("cgroup-v2-docker/system.slice/docker-" DOCKER_ID ".scope");
    ms_cg_mem m;
    uint64_t v;
    ms_cg_mem_init(&m);
    CHECK(fd >= 0 && ms_cg_mem_read(fd, 2, &m) == MS_OK);
    CHECK(m.version == 2);
    CHECK_EQ_U64(m.nprocs, 3);
    CHECK(m.v[MS_CGV_USAGE].present);
    CHECK_EQ_U64(m.v[MS_CGV_USAGE].value, 269881344);
    CHECK_EQ_U64(m.v[MS_CGV_PEAK].value, 269881344 + MiB);
    CHECK(ms_cg_limit(&m, &v) && v == 512 * MiB);
    CHECK(m.v[MS_CGV_HIGH].present && m.v[MS_CGV_HIGH].is_max);
    CHECK(m.v[MS_CGV_SWAP_LIMIT].is_max && m.v[MS_CGV_SWAP_USAGE].present);
    CHECK(!m.v[MS_CGV_FAILCNT].present && !m.v[MS_CGV_MEMSW_USAGE].present);
    CHECK_EQ_U64(m.stat.n, 60);                      /* 59 fields of 6.x plus one unknown */
    CHECK_EQ_U64(m.stat.skipped, 0);
    CHECK(ms_cg_field_get(&m.stat, "pgpromote_future", &v) && v == 7);
    CHECK_STR(m.stat.f[0].name, "anon");
    CHECK(ms_cg_oom_kills(&m, &v) && v == 1);
    CHECK(ms_cg_field_get(&m.events, "max", &v) && v == 17);
    CHECK(m.psi_some.present && m.psi_some.avg10 == 152 && m.psi_some.avg300 == 17);
    CHECK(m.psi_full.present && m.psi_full.total_us == 2210733);
    ms_cg_split s;
    CHECK(ms_cg_split_of(&m, &s) == MS_OK);
    CHECK_EQ_U64(s.anon, 180 * MiB);
    CHECK_EQ_U64(s.shmem, 16 * MiB);
    CHECK_EQ_U64(s.file, 48 * MiB);
    CHECK_EQ_U64(s.file_active + s.file_inactive, 48 * MiB);
    CHECK_EQ_U64(s.slab, 12 * MiB);
    CHECK_EQ_U64(s.kernel, 12 * MiB + 196608 + 1179648 + 16384);
    CHECK_EQ_U64(s.percpu_vmalloc_other, 16384);
    CHECK_EQ_U64(s.sock, 32768);
    CHECK(s.rest == 20480);                            /* the lag written into the tree */
    ms_cg_mem_free(&m);
    close(fd);

    /* the v2 root: no memory.current; usage is what memory.stat lists */
    fd = open_fixture("cgroup-v2-docker");
    ms_cg_mem_init(&m);
    CHECK(ms_cg_mem_read(fd, 2, &m) == MS_OK);
    CHECK(!m.v[MS_CGV_USAGE].present && !ms_cg_limit(&m, &v));
    CHECK(ms_cg_split_of(&m, &s) == MS_OK && s.rest == 0 && s.usage > 0);
    ms_cg_mem_free(&m);
    close(fd);
}

static void test_v1_recorded(void)
{
    int fd = open_fixture("cgroup-v1/memscope-rec/app");
    ms_cg_mem m;
    uint64_t v;
    ms_cg_mem_init(&m);
    CHECK(fd >= 0 && ms_cg_mem_read(fd, 1, &m) == MS_OK);
    CHECK_EQ_U64(m.nprocs, 1);
    CHECK_EQ_U64(m.v[MS_CGV_USAGE].value, 8646656);
    CHECK(ms_cg_limit(&m, &v) && v == 64 * MiB);
    CHECK(m.v[MS_CGV_MEMSW_LIMIT].present && !m.v[MS_CGV_HIGH].present);
    CHECK(m.v[MS_CGV_FAILCNT].present && m.v[MS_CGV_FAILCNT].value == 0);
    CHECK(ms_cg_oom_kills(&m, &v) && v == 0);
    CHECK(ms_cg_field_get(&m.events, "oom_kill_disable", &v) && v == 0);
    CHECK(ms_cg_field_get(&m.stat, "hierarchical_memory_limit", &v) && v == 64 * MiB);
    CHECK(!m.psi_some.present);
    ms_cg_split s;
    CHECK(ms_cg_split_of(&m, &s) == MS_OK);
    CHECK_EQ_U64(s.anon, 8499200);
    CHECK_EQ_U64(s.file, 4096);
    CHECK_EQ_U64(s.kernel, 81920);
    CHECK(!s.has_sock && s.rest == 61440);
    ms_cg_mem_free(&m);
    close(fd);
    int *pids;
    size_t n;
    fd = open_fixture("cgroup-v1/memscope-rec/app");
    CHECK(ms_cg_procs_read(fd, &pids, &n, 100) == MS_OK && n == 1 && pids[0] == 7748);
    free(pids);
    close(fd);
}

static void test_tree(void)
{
    int root = open_fixture("cgroup-v2-docker");
    ms_cg_tree t;
    CHECK(ms_cg_tree_read(root, 1000, &t) == MS_OK);
    CHECK_EQ_U64(t.count, 9);
    CHECK(!t.truncated);
    CHECK_STR(t.n[0].path, "/");
    CHECK(t.n[0].parent == -1);
    CHECK_STR(t.n[1].path, "/init.scope");
    CHECK_STR(t.n[2].path, "/system.slice");
    CHECK_STR(t.n[3].path, "/system.slice/docker-" DOCKER_ID ".scope");
    CHECK(t.n[3].parent == 2 && t.n[3].depth == 2);
    CHECK_STR(t.n[8].path, "/user.slice/user-1000.slice/session-3.scope");
    ms_cg_tree_free(&t);
    CHECK(ms_cg_tree_read(root, 4, &t) == MS_OK);
    CHECK(t.count == 4 && t.truncated);
    ms_cg_tree_free(&t);
    close(root);
}

static void test_containers(void)
{
    static const struct {
        const char *path, *runtime, *id, *pod;   /* runtime NULL: nothing recognised */
    } cases[] = {
        {"/system.slice/docker-" DOCKER_ID ".scope", "docker", DOCKER_ID, ""},
        {"/docker/" DOCKER_ID, "docker", DOCKER_ID, ""},
        {"/machine.slice/libpod-" DOCKER_ID ".scope", "podman", DOCKER_ID, ""},
        {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" DOCKER_ID ".scope/container",
         "podman", DOCKER_ID, ""},
        {"/libpod_parent/libpod-" DOCKER_ID, "podman", DOCKER_ID, ""},
        {"/machine.slice/libpod-conmon-" DOCKER_ID ".scope", NULL, NULL, NULL},
        {"/system.slice/crio-" CRI_ID ".scope", "crio", CRI_ID, ""},
        {"/system.slice/crio-conmon-" CRI_ID ".scope", NULL, NULL, NULL},
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8d1c2b3a_4e5f_4a6b_9c7d_0e1f2a3b4c5d.slice/"
         "cri-containerd-" CRI_ID ".scope", "containerd", CRI_ID, POD_UID},
        {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8d1c2b3a_4e5f_4a6b_9c7d_0e1f2a3b4c5d.slice/"
         "crio-" CRI_ID ".scope", "crio", CRI_ID, POD_UID},
        {"/kubepods.slice/kubepods-pod8d1c2b3a_4e5f_4a6b_9c7d_0e1f2a3b4c5d.slice", "", "", POD_UID},
        {"/kubepods/burstable/pod" POD_UID "/" CRI_ID, "cri", CRI_ID, POD_UID},
        {"/kubepods/pod" POD_UID "/" CRI_ID, "cri", CRI_ID, POD_UID},
        {"/kubepods/burstable/pod" POD_UID, "", "", POD_UID},
        {"/system.slice/ssh.service", NULL, NULL, NULL},
        {"/", NULL, NULL, NULL},
        {"/docker/not-an-id", NULL, NULL, NULL},
        {"/system.slice/docker-XYZ.scope", NULL, NULL, NULL},
        {"/pod" POD_UID "/" CRI_ID, NULL, NULL, NULL},       /* a pod only under kubepods */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_container c;
        bool found = ms_container_from_path(cases[i].path, &c);
        if (!cases[i].runtime) {
            if (found)
                fprintf(stderr, "case %zu: %s recognised as %s/%s\n", i, cases[i].path, c.runtime, c.id);
            CHECK(!found);
            continue;
        }
        CHECK(found);
        CHECK_STR(c.runtime, cases[i].runtime);
        CHECK_STR(c.id, cases[i].id);
        CHECK_STR(c.pod_uid, cases[i].pod);
    }
}

/* A cgroup made on the live v1 controller: its limit and figures read back as the kernel wrote. */
static char live_cg[256];
static void live_cleanup(void)
{
    if (live_cg[0])
        rmdir(live_cg);
}

static void test_live_v1(void)
{
    const char *mem = "/sys/fs/cgroup/memory";
    if (access("/sys/fs/cgroup/memory/memory.usage_in_bytes", W_OK) != 0 && errno != EACCES) {
        CHECK_SKIP("no cgroup v1 memory controller at %s", mem);
        return;
    }
    snprintf(live_cg, sizeof live_cg, "%s/memscope-test-%d-unit", mem, (int)getpid());
    atexit(live_cleanup);
    if (mkdir(live_cg, 0755) != 0) {
        CHECK_SKIP("cannot make a cgroup under %s: %s", mem, strerror(errno));
        live_cg[0] = '\0';
        return;
    }
    char f[512];
    snprintf(f, sizeof f, "%s/memory.limit_in_bytes", live_cg);
    FILE *w = fopen(f, "w");
    CHECK(w && fputs("67108864\n", w) >= 0 && fclose(w) == 0);
    int fd = open(live_cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_cg_mem m;
    uint64_t v;
    ms_cg_mem_init(&m);
    CHECK(fd >= 0 && ms_cg_mem_read(fd, 1, &m) == MS_OK);
    CHECK(ms_cg_limit(&m, &v) && v == 64 * MiB);
    CHECK_EQ_U64(m.nprocs, 0);
    CHECK(m.stat.n > 10 && m.stat.skipped == 0);
    CHECK(ms_cg_oom_kills(&m, &v) && v == 0);
    ms_cg_mem_free(&m);
    /* the kernel's files of an empty cgroup, which nothing changes: one read gives what reading to
     * the end does */
    static const char *const files[] = {"memory.stat", "memory.oom_control", "memory.limit_in_bytes"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ms_buf one, all;
        ms_buf_init(&one, 1 << 16);
        ms_buf_init(&all, 1 << 16);
        CHECK(ms_read_record_at(fd, files[i], &one) == MS_OK && ms_read_file_at(fd, files[i], &all) == MS_OK);
        CHECK(one.len > 0 && one.len == all.len && memcmp(one.data, all.data, one.len) == 0);
        ms_buf_free(&one);
        ms_buf_free(&all);
    }
    close(fd);
    CHECK(rmdir(live_cg) == 0);
    live_cg[0] = '\0';
}

/* A directory listed in many getdents64 calls (1,500 long names are ~3 of its buffers): every
 * subdirectory once, sorted; files and links to directories left out.  And a record read of a
 * regular file longer than one read: whole. */
static void test_wide_dir(void)
{
    char top[] = "/tmp/memscope-test-wide-XXXXXX", p[512];
    enum { N = 1500 };
    CHECK(mkdtemp(top) != NULL);
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "%s/cgroup-with-a-long-name-to-fill-the-buffer-%05d", top, i);
        CHECK(mkdir(p, 0755) == 0);
    }
    snprintf(p, sizeof p, "%s/memory.stat", top);
    FILE *f = fopen(p, "w");
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    CHECK(f && fwrite(big, 1, sizeof big, f) == sizeof big && fclose(f) == 0);
    snprintf(p, sizeof p, "%s/link-to-a-dir", top);
    CHECK(symlink("cgroup-with-a-long-name-to-fill-the-buffer-00000", p) == 0);
    int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_cg_tree t;
    CHECK(fd >= 0 && ms_cg_tree_read(fd, 10000, &t) == MS_OK);
    CHECK_EQ_U64(t.count, N + 1);
    for (size_t i = 1; i < t.count && i <= N; i++) {
        char want[128];
        snprintf(want, sizeof want, "/cgroup-with-a-long-name-to-fill-the-buffer-%05zu", i - 1);
        CHECK_STR(t.n[i].path, want);
        CHECK(t.n[i].parent == 0 && t.n[i].depth == 1);
    }
    ms_cg_tree_free(&t);
    ms_buf b;
    ms_buf_init(&b, 1 << 20);
    CHECK(ms_read_record_at(fd, "memory.stat", &b) == MS_OK);
    CHECK(b.len == sizeof big && memcmp(b.data, big, sizeof big) == 0);
    ms_buf_free(&b);
    close(fd);
    CHECK(unlink(p) == 0);
    snprintf(p, sizeof p, "%s/memory.stat", top);
    CHECK(unlink(p) == 0);
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "%s/cgroup-with-a-long-name-to-fill-the-buffer-%05d", top, i);
        CHECK(rmdir(p) == 0);
    }
    CHECK(rmdir(top) == 0);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : "tests/fixtures";
    test_membership();
    test_hierarchy();
    test_paths();
    test_v2_container();
    test_v1_recorded();
    test_tree();
    test_wide_dir();
    test_containers();
    test_live_v1();
    return check_done();
}
