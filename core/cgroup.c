/* cgroup.c - memory cgroups: membership (/proc/<pid>/cgroup), the hierarchy's mount point, a
 * cgroup's memory files for v1 and v2, how its usage splits, container ids in cgroup paths, and
 * the tree of cgroups.
 *
 * Reading and parsing are apart: each parser takes text and is tested on recorded files; each
 * reader opens files relative to the cgroup's directory descriptor.  Paths from the user are
 * checked here and opened one component at a time without following links, so a request can name
 * only a directory below the hierarchy's root. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "num.h"

/* Every cgroup memory file is a few KiB (memory.stat ~1.5 KiB); cgroup.procs of a big cgroup is
 * the largest, 8 bytes a pid. */
#define CG_FILE_MAX ((size_t)4 << 20)
/* v1 prints PAGE_COUNTER_MAX pages (LONG_MAX rounded down to a page) for "no limit"; anything
 * from 2^62 bytes up is that figure or a limit no machine can reach. */
#define CG_V1_NO_LIMIT ((uint64_t)1 << 62)

/* ---- /proc/<pid>/cgroup ---- */

static bool list_has(const char *s, const char *end, const char *word)
{
    size_t wl = strlen(word);
    while (s < end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        const char *e = c ? c : end;
        if ((size_t)(e - s) == wl && memcmp(s, word, wl) == 0)
            return true;
        s = e + 1;
    }
    return false;
}

static ms_err copy_path(const char *s, size_t n, char *out)
{
    if (n >= MS_CG_PATH_MAX)
        return MS_ERR_TOOBIG;
    memcpy(out, s, n);
    out[n] = '\0';
    return MS_OK;
}

ms_err ms_cg_membership_parse(const char *text, size_t len, ms_cg_membership *out)
{
    ms_err rc = MS_OK;
    const char *p = text, *end = text + len;
    memset(out, 0, sizeof *out);
    while (p < end && rc == MS_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *c1 = memchr(p, ':', (size_t)(le - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(le - c1 - 1)) : NULL;
        if (le == p) {
            p = le + 1;
            continue;
        }
        if (!c2)
            return MS_ERR_PARSE;
        const char *path = c2 + 1;
        if (c1 - p == 1 && *p == '0' && c2 == c1 + 1) {
            rc = copy_path(path, (size_t)(le - path), out->v2);
            out->has_v2 = rc == MS_OK;
        } else if (list_has(c1 + 1, c2, "memory")) {
            rc = copy_path(path, (size_t)(le - path), out->v1_memory);
            out->has_v1_memory = rc == MS_OK;
        }
        p = le + 1;
    }
    return rc;
}

ms_err ms_cg_membership_read(int pid_dirfd, ms_cg_membership *out)
{
    ms_buf b;
    ms_buf_init(&b, 1 << 16);
    ms_err rc = ms_read_file_at(pid_dirfd, "cgroup", &b);
    if (rc == MS_OK)
        rc = ms_cg_membership_parse(b.data ? b.data : "", b.len, out);
    ms_buf_free(&b);
    return rc;
}

/* ---- the hierarchy ---- */

static bool file_at(int dirfd, const char *name)
{
    return faccessat(dirfd, name, R_OK, 0) == 0;
}

/* cgroup.controllers of a v2 root lists "memory" when the controller is on this hierarchy. */
static bool v2_has_memory(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ms_buf b;
    ms_buf_init(&b, 1 << 12);
    bool yes = false;
    if (ms_read_file_at(fd, "cgroup.controllers", &b) == MS_OK && b.data) {
        const char *p = b.data, *end = b.data + b.len;
        while (p < end && !yes) {
            while (p < end && (*p == ' ' || *p == '\n'))
                p++;
            const char *w = p;
            while (p < end && *p != ' ' && *p != '\n')
                p++;
            yes = p - w == 6 && memcmp(w, "memory", 6) == 0;
        }
    }
    ms_buf_free(&b);
    close(fd);
    return yes;
}

static ms_err set_root(ms_cg_hier *out, int version, const char *dir, size_t n)
{
    if (n >= sizeof out->root)
        return MS_ERR_TOOBIG;
    memcpy(out->root, dir, n);
    out->root[n] = '\0';
    out->version = version;
    return MS_OK;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static size_t unescape_octal(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (s[i] == '\\' && i + 3 < n &&
            s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
            s[i + 3] >= '0' && s[i + 3] <= '7') {
            out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return o;
}

/* The n-th space-separated field of [p, end), 0-based. */
static bool field_of(const char *p, const char *end, int n, const char **f, size_t *fl)
{
    for (int i = 0; p < end; i++) {
        const char *s = memchr(p, ' ', (size_t)(end - p));
        const char *e = s ? s : end;
        if (i == n) {
            *f = p;
            *fl = (size_t)(e - p);
            return true;
        }
        p = e + 1;
    }
    return false;
}

ms_err ms_cg_hier_from_mountinfo(const char *text, size_t len, ms_cg_hier *out)
{
    const char *p = text, *end = text + len;
    char v2dir[MS_CG_PATH_MAX] = "";
    bool v2_seen = false;
    memset(out, 0, sizeof *out);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *dash = NULL;
        for (const char *q = p; q + 2 < le; q++)
            if (q[0] == ' ' && q[1] == '-' && q[2] == ' ') {
                dash = q;
                break;
            }
        const char *mp, *fs, *opts;
        size_t mpl, fsl, optsl;
        if (dash && field_of(p, dash, 4, &mp, &mpl) && field_of(dash + 3, le, 0, &fs, &fsl) &&
            field_of(dash + 3, le, 2, &opts, &optsl)) {
            char dir[MS_CG_PATH_MAX];
            size_t dl = unescape_octal(mp, mpl, dir, sizeof dir);
            if (fsl == 6 && memcmp(fs, "cgroup", 6) == 0 && list_has(opts, opts + optsl, "memory")) {
                ms_err rc = set_root(out, 1, dir, dl);
                out->hybrid = v2_seen;
                return rc;
            }
            if (fsl == 7 && memcmp(fs, "cgroup2", 7) == 0 && !v2_seen) {
                v2_seen = true;
                memcpy(v2dir, dir, dl + 1);
            }
        }
        p = le + 1;
    }
    if (v2_seen && v2_has_memory(v2dir))
        return set_root(out, 2, v2dir, strlen(v2dir));
    return MS_ERR_UNSUPPORTED;
}

/* Is dir itself the root of a memory hierarchy?  Sets out and returns true if so. */
static bool probe_dir(const char *dir, ms_cg_hier *out)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool v1 = file_at(fd, "memory.usage_in_bytes");
    close(fd);
    if (v1)
        return set_root(out, 1, dir, strlen(dir)) == MS_OK;
    if (v2_has_memory(dir))
        return set_root(out, 2, dir, strlen(dir)) == MS_OK;
    return false;
}

ms_err ms_cg_hier_find(const char *root_dir, ms_cg_hier *out)
{
    memset(out, 0, sizeof *out);
    if (!root_dir) {
        ms_buf b;
        ms_buf_init(&b, 4 << 20);
        ms_err rc = ms_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &b);
        if (rc == MS_OK)
            rc = ms_cg_hier_from_mountinfo(b.data ? b.data : "", b.len, out);
        ms_buf_free(&b);
        return rc;
    }
    if (strlen(root_dir) + 10 >= sizeof out->root)
        return MS_ERR_TOOBIG;
    if (probe_dir(root_dir, out))
        return MS_OK;
    char sub[MS_CG_PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/unified", root_dir);
    bool unified_is_v2 = access(sub, F_OK) == 0;
    snprintf(sub, sizeof sub, "%s/memory", root_dir);
    if (probe_dir(sub, out)) {
        out->hybrid = unified_is_v2;
        return MS_OK;
    }
    snprintf(sub, sizeof sub, "%s/unified", root_dir);
    if (probe_dir(sub, out))
        return MS_OK;
    return MS_ERR_UNSUPPORTED;
}

ms_err ms_cg_path_normalize(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = in;
    if (cap < 2)
        return MS_ERR_TOOBIG;
    while (*p == '/')
        p++;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0) {
            /* "a//b" is not a path the kernel prints; a trailing '/' is harmless */
            if (p[1] == '\0' || (e && e[1] == '\0'))
                break;
            return MS_ERR_INVAL;
        }
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return MS_ERR_INVAL;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return MS_ERR_INVAL;
        if (o + 1 + n + 1 > cap || o + 1 + n + 1 > MS_CG_PATH_MAX)
            return MS_ERR_INVAL;
        out[o++] = '/';
        memcpy(out + o, p, n);
        o += n;
        p += n;
        if (*p == '/')
            p++;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return MS_OK;
}

ms_err ms_cg_open(int root_fd, const char *path, int *out_fd)
{
    ms_err rc = MS_OK;
    int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char comp[256];
        if (n >= sizeof comp || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            rc = n >= sizeof comp ? MS_ERR_NOENT : MS_ERR_INVAL;
            goto out;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            /* a file, or a link, where a cgroup was asked for is not a cgroup */
            rc = errno == ENOTDIR || errno == ELOOP ? MS_ERR_NOENT : ms_err_from_errno(errno);
            goto out;
        }
        close(fd);
        fd = next;
        p += n;
    }
out:
    if (rc != MS_OK) {
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return MS_OK;
}

/* ---- a cgroup's memory files ---- */

static const struct {
    const char *api, *v1, *v2;
} cgv_names[MS_CGV__COUNT] = {
    [MS_CGV_USAGE] = {"usage", "memory.usage_in_bytes", "memory.current"},
    [MS_CGV_PEAK] = {"peak", "memory.max_usage_in_bytes", "memory.peak"},
    [MS_CGV_LIMIT] = {"limit", "memory.limit_in_bytes", "memory.max"},
    [MS_CGV_HIGH] = {"high", NULL, "memory.high"},
    [MS_CGV_LOW] = {"low", NULL, "memory.low"},
    [MS_CGV_MIN] = {"min", NULL, "memory.min"},
    [MS_CGV_SOFT_LIMIT] = {"soft_limit", "memory.soft_limit_in_bytes", NULL},
    [MS_CGV_SWAP_USAGE] = {"swap_usage", NULL, "memory.swap.current"},
    [MS_CGV_SWAP_PEAK] = {"swap_peak", NULL, "memory.swap.peak"},
    [MS_CGV_SWAP_LIMIT] = {"swap_limit", NULL, "memory.swap.max"},
    [MS_CGV_MEMSW_USAGE] = {"memsw_usage", "memory.memsw.usage_in_bytes", NULL},
    [MS_CGV_MEMSW_PEAK] = {"memsw_peak", "memory.memsw.max_usage_in_bytes", NULL},
    [MS_CGV_MEMSW_LIMIT] = {"memsw_limit", "memory.memsw.limit_in_bytes", NULL},
    [MS_CGV_MEMSW_FAILCNT] = {"memsw_failcnt", "memory.memsw.failcnt", NULL},
    [MS_CGV_FAILCNT] = {"failcnt", "memory.failcnt", NULL},
    [MS_CGV_KMEM_USAGE] = {"kmem_usage", "memory.kmem.usage_in_bytes", NULL},
    [MS_CGV_KMEM_TCP_USAGE] = {"kmem_tcp_usage", "memory.kmem.tcp.usage_in_bytes", NULL},
};

const char *ms_cgv_file(ms_cgv_id id, int version)
{
    return version == 1 ? cgv_names[id].v1 : cgv_names[id].v2;
}

const char *ms_cgv_name(ms_cgv_id id)
{
    return cgv_names[id].api;
}

void ms_cg_mem_init(ms_cg_mem *m)
{
    memset(m, 0, sizeof *m);
}

static void fields_free(ms_cg_fields *fs)
{
    free(fs->f);
    fs->f = NULL;
    fs->n = fs->cap = fs->skipped = 0;
}

void ms_cg_mem_free(ms_cg_mem *m)
{
    fields_free(&m->stat);
    fields_free(&m->events);
}

ms_err ms_cg_value_parse(const char *text, size_t len, ms_cg_value *out)
{
    const char *p = text, *end = text + len;
    while (end > p && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    memset(out, 0, sizeof *out);
    if (end - p == 3 && memcmp(p, "max", 3) == 0) {
        out->present = out->is_max = true;
        return MS_OK;
    }
    if (!ms_num_dec(&p, end, &out->value) || p != end)
        return MS_ERR_PARSE;
    out->present = true;
    return MS_OK;
}

ms_err ms_cg_fields_parse(const char *text, size_t len, ms_cg_fields *out)
{
    const char *p = text, *end = text + len;
    out->n = out->skipped = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *sp = memchr(p, ' ', (size_t)(le - p));
        const char *v = sp ? sp + 1 : le;
        uint64_t val;
        if (le == p) {
            p = le + 1;
            continue;
        }
        if (!sp || sp == p || (size_t)(sp - p) >= sizeof out->f[0].name || !ms_num_dec(&v, le, &val) ||
            v != le) {
            out->skipped++;
            p = le + 1;
            continue;
        }
        ms_err rc = ms_grow((void **)&out->f, &out->cap, out->n + 1, sizeof *out->f, 16, 0);
        if (rc != MS_OK)
            return rc;
        ms_cg_field *f = &out->f[out->n++];
        memcpy(f->name, p, (size_t)(sp - p));
        f->name[sp - p] = '\0';
        f->value = val;
        p = le + 1;
    }
    return MS_OK;
}

/* "avg10=1.25" -> 125 */
static bool psi_avg(const char **p, const char *end, const char *key, uint32_t *out)
{
    size_t kl = strlen(key);
    uint64_t whole, frac;
    ms_skip_blank(p, end);
    if ((size_t)(end - *p) < kl || memcmp(*p, key, kl) != 0)
        return false;
    *p += kl;
    const char *f0;
    if (!ms_num_dec(p, end, &whole) || *p >= end || **p != '.')
        return false;
    (*p)++;
    f0 = *p;
    if (!ms_num_dec(p, end, &frac) || *p - f0 != 2 || whole > 100)
        return false;
    *out = (uint32_t)(whole * 100 + frac);
    return true;
}

ms_err ms_cg_psi_parse(const char *text, size_t len, ms_cg_psi *some, ms_cg_psi *full)
{
    const char *p = text, *end = text + len;
    memset(some, 0, sizeof *some);
    memset(full, 0, sizeof *full);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        ms_cg_psi *dst = NULL;
        if (le - p > 5 && memcmp(p, "some ", 5) == 0)
            dst = some;
        else if (le - p > 5 && memcmp(p, "full ", 5) == 0)
            dst = full;
        if (dst) {
            const char *q = p + 5;
            if (!psi_avg(&q, le, "avg10=", &dst->avg10) || !psi_avg(&q, le, "avg60=", &dst->avg60) ||
                !psi_avg(&q, le, "avg300=", &dst->avg300))
                return MS_ERR_PARSE;
            ms_skip_blank(&q, le);
            if (le - q < 7 || memcmp(q, "total=", 6) != 0)
                return MS_ERR_PARSE;
            q += 6;
            if (!ms_num_dec(&q, le, &dst->total_us) || q != le)
                return MS_ERR_PARSE;
            dst->present = true;
        }
        p = le + 1;
    }
    return MS_OK;
}

/* Reads an optional memory file: a missing one (the kernel or this cgroup does not offer it) leaves
 * *present false and is no error.  Each is one record, printed whole by every read. */
static ms_err read_opt(int dirfd, const char *name, ms_buf *b, bool *present)
{
    ms_err rc = ms_read_record_at(dirfd, name, b);
    *present = rc == MS_OK;
    return rc == MS_ERR_NOENT || rc == MS_ERR_UNSUPPORTED ? MS_OK : rc;
}

static uint32_t count_lines(const char *s, size_t n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    if (n && s[n - 1] != '\n')
        k++;
    return k;
}

ms_err ms_cg_mem_read(int dirfd, int version, ms_cg_mem *m)
{
    return ms_cg_mem_read_some(dirfd, version, MS_CGV_ALL, m);
}

ms_err ms_cg_mem_read_some(int dirfd, int version, unsigned want, ms_cg_mem *m)
{
    ms_err rc;
    bool present;
    ms_buf b;
    ms_buf_init(&b, CG_FILE_MAX);
    m->version = version;
    /* cgroup.procs is in every cgroup, the root included: its absence means the cgroup is gone. */
    rc = ms_read_file_at(dirfd, "cgroup.procs", &b);
    if (rc != MS_OK)
        goto out;
    m->nprocs = count_lines(b.data ? b.data : "", b.len);
    for (int i = 0; i < MS_CGV__COUNT; i++) {
        const char *f = ms_cgv_file((ms_cgv_id)i, version);
        m->v[i].present = false;
        if (!f || !(want & MS_CGV_BIT(i)))
            continue;
        rc = read_opt(dirfd, f, &b, &present);
        if (rc == MS_OK && present)
            rc = ms_cg_value_parse(b.data, b.len, &m->v[i]);
        if (rc != MS_OK)
            goto out;
    }
    /* The usage file tells the v2 root when it was read anyway: one system call fewer per cgroup. */
    if (version == 1)
        m->root = file_at(dirfd, "cgroup.sane_behavior");
    else
        m->root = want & MS_CGV_BIT(MS_CGV_USAGE) ? !m->v[MS_CGV_USAGE].present : !file_at(dirfd, "memory.current");
    rc = read_opt(dirfd, "memory.stat", &b, &present);
    if (rc == MS_OK && present)
        rc = ms_cg_fields_parse(b.data, b.len, &m->stat);
    if (rc != MS_OK)
        goto out;
    rc = read_opt(dirfd, version == 1 ? "memory.oom_control" : "memory.events", &b, &present);
    if (rc == MS_OK && present)
        rc = ms_cg_fields_parse(b.data, b.len, &m->events);
    if (rc != MS_OK || version == 1)
        goto out;
    rc = read_opt(dirfd, "memory.pressure", &b, &present);
    if (rc == MS_OK && present)
        rc = ms_cg_psi_parse(b.data, b.len, &m->psi_some, &m->psi_full);
out:
    ms_buf_free(&b);
    return rc;
}

bool ms_cg_field_get(const ms_cg_fields *fs, const char *name, uint64_t *out)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].name, name) == 0) {
            *out = fs->f[i].value;
            return true;
        }
    return false;
}

bool ms_cg_oom_kills(const ms_cg_mem *m, uint64_t *out)
{
    return ms_cg_field_get(&m->events, "oom_kill", out);
}

bool ms_cg_limit(const ms_cg_mem *m, uint64_t *out)
{
    const ms_cg_value *v = &m->v[MS_CGV_LIMIT];
    if (!v->present || v->is_max || v->value >= CG_V1_NO_LIMIT)
        return false;
    *out = v->value;
    return true;
}

ms_err ms_cg_procs_read(int dirfd, int **pids, size_t *n, size_t max)
{
    ms_buf b;
    ms_buf_init(&b, CG_FILE_MAX);
    *pids = NULL;
    *n = 0;
    ms_err rc = ms_read_file_at(dirfd, "cgroup.procs", &b);
    if (rc != MS_OK)
        goto out;
    size_t lines = count_lines(b.data ? b.data : "", b.len);
    if (lines > max)
        lines = max;
    *pids = malloc((lines ? lines : 1) * sizeof **pids);
    if (!*pids) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    const char *p = b.data, *end = b.data + b.len;
    while (p && p < end && *n < lines) {
        uint64_t v;
        if (!ms_num_dec(&p, end, &v) || v == 0 || v > INT32_MAX || (p < end && *p != '\n')) {
            rc = MS_ERR_PARSE;
            goto out;
        }
        (*pids)[(*n)++] = (int)v;
        p++;
    }
out:
    if (rc != MS_OK) {
        free(*pids);
        *pids = NULL;
        *n = 0;
    }
    ms_buf_free(&b);
    return rc;
}

/* ---- where usage goes ---- */

static uint64_t stat_of(const ms_cg_mem *m, const char *name)
{
    uint64_t v = 0;
    ms_cg_field_get(&m->stat, name, &v);
    return v;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void split_v2(const ms_cg_mem *m, ms_cg_split *s)
{
    uint64_t file = stat_of(m, "file");
    s->anon = stat_of(m, "anon");
    s->shmem = stat_of(m, "shmem");
    s->file = sub0(file, s->shmem);            /* v2 "file" includes tmpfs and shared memory */
    s->file_active = stat_of(m, "active_file");
    s->file_inactive = stat_of(m, "inactive_file");
    s->slab = stat_of(m, "slab");
    s->kernel_stack = stat_of(m, "kernel_stack");
    s->pagetables = stat_of(m, "pagetables") + stat_of(m, "sec_pagetables");
    uint64_t parts = s->slab + s->kernel_stack + s->pagetables;
    uint64_t k;
    /* "kernel" (Linux 6.0+) is every kernel charge; older kernels list the parts alone. */
    if (ms_cg_field_get(&m->stat, "kernel", &k)) {
        s->kernel = k;
    } else {
        k = parts + stat_of(m, "percpu") + stat_of(m, "vmalloc");
        s->kernel = k;
    }
    s->percpu_vmalloc_other = sub0(s->kernel, parts);
    s->has_kernel = true;
    s->sock = stat_of(m, "sock");
    s->has_sock = true;
    s->zswap = stat_of(m, "zswap");
}

static void split_v1(const ms_cg_mem *m, bool is_root, ms_cg_split *s)
{
    /* total_* are this cgroup and its descendants, as usage_in_bytes is. */
    uint64_t cache = stat_of(m, "total_cache");
    s->anon = stat_of(m, "total_rss");
    s->shmem = stat_of(m, "total_shmem");
    s->file = sub0(cache, s->shmem);
    s->file_active = stat_of(m, "total_active_file");
    s->file_inactive = stat_of(m, "total_inactive_file");
    /* v1 charges kernel memory to usage too, except at the root, whose usage is rss + cache. */
    s->has_kernel = !is_root && m->v[MS_CGV_KMEM_USAGE].present;
    s->kernel = s->has_kernel ? m->v[MS_CGV_KMEM_USAGE].value : 0;
    s->percpu_vmalloc_other = s->kernel;       /* v1 memory.stat has no slab or stack figures */
    s->has_sock = false;                       /* v1 counts sockets apart (memory.kmem.tcp.*) */
}

ms_err ms_cg_split_of(const ms_cg_mem *m, ms_cg_split *out)
{
    memset(out, 0, sizeof *out);
    const ms_cg_value *u = &m->v[MS_CGV_USAGE];
    if (m->stat.n == 0)
        return MS_ERR_UNSUPPORTED;
    if (m->version == 2)
        split_v2(m, out);
    else
        split_v1(m, m->root, out);
    /* The v2 root has no memory.current: its usage is the sum of what its stat lists. */
    out->usage = u->present ? u->value : out->anon + out->file + out->shmem + out->kernel + out->sock;
    out->rest = (int64_t)out->usage -
                (int64_t)(out->anon + out->file + out->shmem + out->kernel + out->sock);
    return MS_OK;
}

/* ---- containers ---- */

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool is_id(const char *s, size_t n)
{
    return n >= 12 && n <= 64 && all_hex(s, n);
}

/* A pod uid as Kubernetes writes it in a cgroup name: 36 characters, with '_' (systemd) or '-'. */
static bool take_uid(const char *s, size_t n, char out[37])
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == '_' ? '-' : s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !all_hex(&c, 1))
            return false;
        out[i] = c;
    }
    out[36] = '\0';
    return true;
}

static bool starts(const char *s, size_t n, const char *pre)
{
    size_t pl = strlen(pre);
    return n >= pl && memcmp(s, pre, pl) == 0;
}

/* "<prefix><id>.scope" (systemd) or "<prefix><id>" (cgroupfs). */
static bool prefixed_id(const char *c, size_t n, const char *pre, const char **id, size_t *idl)
{
    if (!starts(c, n, pre))
        return false;
    *id = c + strlen(pre);
    *idl = n - strlen(pre);
    if (*idl > 6 && memcmp(*id + *idl - 6, ".scope", 6) == 0)
        *idl -= 6;
    return is_id(*id, *idl);
}

static void set_ctr(ms_container *out, const char *runtime, const char *id, size_t idl)
{
    snprintf(out->runtime, sizeof out->runtime, "%s", runtime);
    memcpy(out->id, id, idl);
    out->id[idl] = '\0';
}

/* One path component; prev is the component before it ("" for the first). */
static void match_component(const char *c, size_t n, const char *prev, size_t pn, bool in_kubepods,
                            ms_container *out)
{
    static const struct {
        const char *prefix, *runtime;
    } scoped[] = {
        {"docker-", "docker"}, {"libpod-", "podman"}, {"cri-containerd-", "containerd"}, {"crio-", "crio"},
    };
    const char *id;
    size_t idl;
    for (size_t i = 0; i < sizeof scoped / sizeof scoped[0]; i++)
        if (prefixed_id(c, n, scoped[i].prefix, &id, &idl)) {
            set_ctr(out, scoped[i].runtime, id, idl);
            return;
        }
    if (pn == 6 && memcmp(prev, "docker", 6) == 0 && is_id(c, n)) {
        set_ctr(out, "docker", c, n);
        return;
    }
    /* systemd: kubepods-burstable-pod<uid>.slice */
    if (starts(c, n, "kubepods") && n > 6 + 36 && memcmp(c + n - 6, ".slice", 6) == 0) {
        const char *pod = c + n - 6 - 36;
        if (pod - c >= 4 && memcmp(pod - 4, "-pod", 4) == 0)
            take_uid(pod, 36, out->pod_uid);
        return;
    }
    /* cgroupfs: kubepods/<qos>/pod<uid>/<id> */
    if (in_kubepods && starts(c, n, "pod") && take_uid(c + 3, n - 3, out->pod_uid))
        return;
    if (in_kubepods && out->pod_uid[0] && pn > 3 && starts(prev, pn, "pod") && is_id(c, n))
        set_ctr(out, "cri", c, n);
}

bool ms_container_from_path(const char *path, ms_container *out)
{
    memset(out, 0, sizeof *out);
    const char *p = path, *prev = "";
    size_t pn = 0;
    bool in_kubepods = false;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0)
            break;
        if (starts(p, n, "kubepods"))
            in_kubepods = true;
        match_component(p, n, prev, pn, in_kubepods, out);
        prev = p;
        pn = n;
        p += n;
    }
    return out->id[0] || out->pod_uid[0];
}

bool ms_cg_membership_memory(const ms_cg_membership *m, const char **path, ms_container *c)
{
    *path = m->has_v1_memory ? m->v1_memory : m->has_v2 ? m->v2 : NULL;
    memset(c, 0, sizeof *c);
    if (!*path)
        return false;
    if (!ms_container_from_path(*path, c) && m->has_v2)
        ms_container_from_path(m->v2, c);
    return true;
}

/* ---- the tree ---- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ms_err tree_add(ms_cg_tree *t, const char *path, int parent, int depth)
{
    ms_err rc = ms_grow((void **)&t->n, &t->cap, t->count + 1, sizeof *t->n, 16, 0);
    if (rc != MS_OK)
        return rc;
    ms_cg_node *n = &t->n[t->count];
    if (!(n->path = strdup(path)))
        return MS_ERR_NOMEM;
    t->count++;
    n->parent = parent;
    n->depth = depth;
    return MS_OK;
}

typedef struct {
    ms_cg_tree *t;
    size_t max;
    ms_cg_visit visit;
    void *ctx;
    char *dents;              /* getdents64's buffer, one for the walk: a listing ends before the
                               * walk goes down into it */
} walk_ctx;

#define DENTS_BUF (32 * 1024)

/* The names of the subdirectories of the directory fd, sorted (malloc'ed array of malloc'ed names).
 * getdents64 rather than readdir, whose fdopendir costs an fstat and two fcntl per directory.
 * Every record is checked against what the call returned before its name is used. */
static ms_err subdirs(walk_ctx *w, int fd, char ***names, size_t *n)
{
    const size_t head = offsetof(struct dirent64, d_name);
    ms_err rc = MS_OK;
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    for (;;) {
        ssize_t got = getdents64(fd, w->dents, DENTS_BUF);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = ms_err_from_errno(errno);
            break;
        }
        if (got == 0)
            break;
        for (size_t off = 0; off < (size_t)got && rc == MS_OK;) {
            struct dirent64 de;
            size_t left = (size_t)got - off;
            if (left < head) {
                rc = MS_ERR_PARSE;
                break;
            }
            memcpy(&de, w->dents + off, head);          /* the buffer's records are not aligned for us */
            const char *name = w->dents + off + head;
            if (de.d_reclen <= head || de.d_reclen > left || !memchr(name, '\0', de.d_reclen - head)) {
                rc = MS_ERR_PARSE;
                break;
            }
            off += de.d_reclen;
            struct stat st;
            if (name[0] == '.')
                continue;
            if (de.d_type != DT_DIR &&
                (de.d_type != DT_UNKNOWN || fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)))
                continue;
            if ((rc = ms_grow((void **)names, &cap, *n + 1, sizeof **names, 16, 0)) != MS_OK)
                break;
            if (!((*names)[*n] = strdup(name))) {
                rc = MS_ERR_NOMEM;
                break;
            }
            (*n)++;
        }
        if (rc != MS_OK)
            break;
    }
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_name);
    return rc;
}

/* Visits node self, whose directory fd this takes over, then its subtree.  The one descriptor
 * serves the visit, the listing and the opening of the children, so a cgroup's directory is
 * opened once however deep it lies: at a thousand cgroups the system calls are the cost.  At most
 * MS_CG_DEPTH_MAX directories are open at once, one per level. */
static ms_err tree_walk(walk_ctx *w, int fd, int self, int depth)
{
    ms_cg_tree *t = w->t;
    ms_err rc = w->visit ? w->visit(w->ctx, fd, t, (size_t)self) : MS_OK;
    char **names = NULL;
    size_t n = 0;
    if (rc == MS_OK)
        rc = subdirs(w, fd, &names, &n);
    for (size_t i = 0; i < n && rc == MS_OK; i++) {
        char path[MS_CG_PATH_MAX];
        const char *base = t->n[self].path;
        int len = snprintf(path, sizeof path, "%s/%s", strcmp(base, "/") == 0 ? "" : base, names[i]);
        if (t->count >= w->max || depth >= MS_CG_DEPTH_MAX || len < 0 || (size_t)len >= sizeof path) {
            t->truncated = true;
            continue;
        }
        int child = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0)
            continue;              /* removed since the listing: not part of the tree any more */
        rc = tree_add(t, path, self, depth + 1);
        if (rc == MS_OK)
            rc = tree_walk(w, child, (int)t->count - 1, depth + 1);
        else
            close(child);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    close(fd);
    return rc;
}

ms_err ms_cg_tree_walk(int root_fd, size_t max, ms_cg_tree *out, ms_cg_visit visit, void *ctx)
{
    walk_ctx w = {out, max, visit, ctx, malloc(DENTS_BUF)};
    memset(out, 0, sizeof *out);
    ms_err rc = w.dents ? tree_add(out, "/", -1, 0) : MS_ERR_NOMEM;
    int fd = rc == MS_OK ? openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == MS_OK && fd < 0)
        rc = ms_err_from_errno(errno);
    if (rc == MS_OK)
        rc = tree_walk(&w, fd, 0, 0);
    free(w.dents);
    if (rc != MS_OK)
        ms_cg_tree_free(out);
    return rc;
}

ms_err ms_cg_tree_read(int root_fd, size_t max, ms_cg_tree *out)
{
    return ms_cg_tree_walk(root_fd, max, out, NULL, NULL);
}

void ms_cg_tree_free(ms_cg_tree *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->n[i].path);
    free(t->n);
    t->n = NULL;
    t->count = t->cap = 0;
}
