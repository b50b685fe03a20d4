/* routes_cgroup.c - the cgroup and OOM routes, and the cgroup/container of a process.
 *
 *   GET /api/v1/cgroups             every memory cgroup, flat, with path and parent
 *   GET /api/v1/cgroups/{path}      one cgroup: every memory file, its processes, where usage goes
 *   GET /api/v1/events?type=oom     OOM kills, kept in the history store (so across restarts), each
 *                                   joined to its victim's last sample and snapshot
 *
 * The path of one cgroup is the rest of the URL (libmicrohttpd has already decoded %2F), checked
 * by core (no "." or "..") and opened below the hierarchy's root without following links. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/num.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/smaps.h"
#include "core/status.h"
#include "encode.h"
#include "http.h"
#include "jw.h"
#include "oomhist.h"
#include "oomwatch.h"
#include "routes_cgroup.h"

/* Caps that keep one answer bounded. */
#define CGROUPS_MAX 10000
#define CGROUP_PROCS_MAX 10000
#define CGROUP_PREFIX "/api/v1/cgroups/"
#define EVENTS_MAX 1000

static bool need_hierarchy(http_req *r)
{
    if (r->srv->cg_ok)
        return true;
    http_reply_error(r, MHD_HTTP_NOT_IMPLEMENTED, "no_memory_cgroups", "%s",
                     r->srv->cg_why ? r->srv->cg_why : "no memory cgroup hierarchy found");
    return false;
}

/* ---- a process's cgroup ---- */

void routes_cgroup_write_proc(jw *w, int pid_dirfd)
{
    ms_cg_membership *m = malloc(sizeof *m);
    const char *path = NULL;
    ms_container c;
    if (m && ms_cg_membership_read(pid_dirfd, m) == MS_OK && ms_cg_membership_memory(m, &path, &c))
        enc_cgroup(w, path, &c);
    else
        enc_cgroup(w, NULL, NULL);
    free(m);
}

/* "/a" holds "/a" and "/a/b", not "/ab". */
static bool path_within(const char *path, const char *top)
{
    size_t n = strlen(top);
    if (strcmp(top, "/") == 0)
        return true;
    return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool routes_cgroup_filter(http_req *r, ms_proclist *l, bool owned)
{
    const char *cg = http_arg_get(r, "cgroup"), *id = http_arg_get(r, "container");
    char top[MS_CG_PATH_MAX];
    if (!cg && !id)
        return true;
    if (cg && ms_cg_path_normalize(cg, top, sizeof top) != MS_OK) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_cgroup_path",
                         "cgroup must be a cgroup path such as /system.slice (no '.', '..' or empty parts)");
        return false;
    }
    size_t idl = id ? strlen(id) : 0;
    if (id && (idl == 0 || idl > 64)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_container", "container must be an id (or a prefix of one), 1..64 characters");
        return false;
    }
    size_t keep = 0;
    for (size_t i = 0; i < l->n; i++) {
        const ms_container *c = &l->p[i].container;
        bool in = l->p[i].cgroup != NULL;
        if (in && cg)
            in = path_within(l->p[i].cgroup, top);
        if (in && id)
            in = (c->id[0] && strncmp(c->id, id, idl) == 0) || strcmp(c->pod_uid, id) == 0;
        if (in)
            l->p[keep++] = l->p[i];
        else if (owned)
            ms_procinfo_free(&l->p[i]);
    }
    l->n = keep;
    return true;
}

/* ---- figures of a process ---- */

typedef struct {
    bool ok;
    ms_err err;
    char name[64];
    uint64_t rss, rss_anon, pss, pss_anon, uss;
} proc_figs;

static void proc_figs_read(int pid, proc_figs *f)
{
    int fd;
    ms_status st;
    ms_smaps roll;
    memset(f, 0, sizeof *f);
    f->err = ms_pid_open(pid, &fd);
    if (f->err != MS_OK)
        return;
    ms_status_init(&st);
    ms_smaps_init(&roll);
    f->err = ms_status_read(fd, &st);
    if (f->err == MS_OK) {
        snprintf(f->name, sizeof f->name, "%s", st.name);
        f->rss = st.vm_rss;
        f->rss_anon = st.rss_anon;
        ms_err rc = ms_smaps_rollup_read(fd, &roll);
        if (rc == MS_OK && roll.maps.nregions == 1) {
            ms_smaps_totals t;
            ms_smaps_totals_of(&roll, 0, 1, &t);
            f->pss = t.v[MS_SF_PSS];
            f->pss_anon = t.v[MS_SF_PSS_ANON];
            f->uss = ms_smaps_uss(&t);
        }
        f->ok = true;         /* a kernel thread or zombie has status and no rollup: zeros */
    }
    ms_smaps_free(&roll);
    ms_status_free(&st);
    close(fd);
}

/* ---- one cgroup's figures ---- */

static void write_value(jw *w, const char *k, const ms_cg_value *v)
{
    if (!v->present)
        jw_knull(w, k);
    else if (v->is_max)
        jw_kstr(w, k, "max");
    else
        jw_ku64(w, k, v->value);
}

static void write_fields(jw *w, const ms_cg_fields *fs)
{
    jw_obj(w);
    for (size_t i = 0; i < fs->n; i++)
        jw_ku64(w, fs->f[i].name, fs->f[i].value);
    jw_obj_end(w);
}

static void write_psi(jw *w, const char *k, const ms_cg_psi *p)
{
    if (!p->present) {
        jw_knull(w, k);
        return;
    }
    jw_key(w, k);
    jw_obj(w);
    jw_key(w, "avg10");
    jw_double(w, p->avg10 / 100.0);
    jw_key(w, "avg60");
    jw_double(w, p->avg60 / 100.0);
    jw_key(w, "avg300");
    jw_double(w, p->avg300 / 100.0);
    jw_ku64(w, "total_us", p->total_us);
    jw_obj_end(w);
}

/* What both routes write of a cgroup beside its path, taken from its memory files: the list keeps
 * one per cgroup, without the files' figures it does not show. */
typedef struct {
    bool ok;                  /* read; false when the cgroup went away during the walk */
    int version;
    ms_cg_value usage, peak;
    bool has_limit, has_oom, has_split, has_psi;
    uint64_t limit, oom_kills;
    uint32_t nprocs, psi_some_avg10;
    ms_cg_split split;
} cg_summary;

static void summary_of(const ms_cg_mem *m, cg_summary *s)
{
    memset(s, 0, sizeof *s);
    s->ok = true;
    s->version = m->version;
    s->usage = m->v[MS_CGV_USAGE];
    s->peak = m->v[MS_CGV_PEAK];
    s->has_limit = ms_cg_limit(m, &s->limit);
    s->nprocs = m->nprocs;
    s->has_oom = ms_cg_oom_kills(m, &s->oom_kills);
    s->has_split = ms_cg_split_of(m, &s->split) == MS_OK;
    s->has_psi = m->psi_some.present;
    s->psi_some_avg10 = m->psi_some.avg10;
}

/* The members both routes write for a cgroup. */
static void write_summary(jw *w, const cg_summary *m, const char *path)
{
    ms_container c;
    const ms_cg_split *s = &m->split;
    jw_kstr(w, "path", path);
    jw_ki64(w, "version", m->version);
    ms_container_from_path(path, &c);
    enc_container(w, &c);
    write_value(w, "usage", &m->usage);
    write_value(w, "peak", &m->peak);
    if (m->has_limit) jw_ku64(w, "limit", m->limit); else jw_knull(w, "limit");
    jw_ku64(w, "nprocs", m->nprocs);
    if (m->has_oom) jw_ku64(w, "oom_kills", m->oom_kills); else jw_knull(w, "oom_kills");
    if (m->has_split) {
        jw_key(w, "parts");
        jw_obj(w);
        jw_ku64(w, "anon", s->anon);
        jw_ku64(w, "file", s->file);
        jw_ku64(w, "shmem", s->shmem);
        if (s->has_kernel) jw_ku64(w, "kernel", s->kernel); else jw_knull(w, "kernel");
        if (s->has_sock) jw_ku64(w, "sock", s->sock); else jw_knull(w, "sock");
        jw_ki64(w, "rest", s->rest);
        jw_obj_end(w);
    } else {
        jw_knull(w, "parts");
    }
    if (m->has_psi) {
        jw_key(w, "pressure_some_avg10");
        jw_double(w, m->psi_some_avg10 / 100.0);
    } else {
        jw_knull(w, "pressure_some_avg10");
    }
}

/* ---- GET /api/v1/cgroups ---- */

typedef struct {
    uint64_t rss, pss, uss, nprocs;
} sums;

static void sum_procs(int fd, sums *s)
{
    int *pids;
    size_t n;
    if (ms_cg_procs_read(fd, &pids, &n, CGROUP_PROCS_MAX) != MS_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        proc_figs f;
        proc_figs_read(pids[i], &f);
        if (!f.ok)
            continue;         /* exited since cgroup.procs was read */
        s->rss += f.rss;
        s->pss += f.pss;
        s->uss += f.uss;
        s->nprocs++;
    }
    free(pids);
}

/* One cgroup of the list: read while the walk has its directory open, so that no cgroup is
 * opened twice. */
typedef struct {
    cg_summary s;
    sums p;                   /* its processes', and (once carried up) its descendants' */
} list_node;

typedef struct {
    int version;
    bool with_procs;
    list_node *n;             /* owned by h_cgroups; index = the tree's */
    size_t cap;
} list_ctx;

static ms_err list_visit(void *ctx, int dirfd, const ms_cg_tree *t, size_t i)
{
    (void)t;
    list_ctx *c = ctx;
    ms_err rc = ms_grow((void **)&c->n, &c->cap, i + 1, sizeof *c->n, 64, 0);
    if (rc != MS_OK)
        return rc;
    list_node *n = &c->n[i];
    memset(n, 0, sizeof *n);
    ms_cg_mem m;
    ms_cg_mem_init(&m);
    rc = ms_cg_mem_read_some(dirfd, c->version, MS_CGV_SUMMARY, &m);
    if (rc == MS_OK)
        summary_of(&m, &n->s);
    ms_cg_mem_free(&m);
    if (rc == MS_ERR_NOMEM)
        return rc;
    if (rc == MS_OK && c->with_procs)
        sum_procs(dirfd, &n->p);
    return MS_OK;             /* another error: removed since it was listed, left out */
}

enum MHD_Result h_cgroups(http_req *r)
{
    static const char *const allowed[] = {"processes", NULL};
    if (!http_args_check(r, allowed) || !need_hierarchy(r))
        return MHD_YES;
    const char *pa = http_arg_get(r, "processes");
    if (pa && strcmp(pa, "0") && strcmp(pa, "1"))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_flag", "processes must be 0 or 1");
    list_ctx c = {.version = r->srv->cg.version, .with_procs = pa && strcmp(pa, "1") == 0};
    ms_cg_tree t;
    ms_err rc = ms_cg_tree_walk(r->srv->cg_root_fd, CGROUPS_MAX, &t, list_visit, &c);
    if (rc != MS_OK) {
        free(c.n);
        return http_reply_ms(r, rc, "listing cgroups under %s", r->srv->cg.root);
    }
    /* Processes sit in one cgroup each; a cgroup's usage counts its descendants' too, so the sums
     * are carried up to every ancestor (parents come before children in t). */
    for (size_t i = t.count; c.with_procs && i-- > 1;) {
        sums *p = &c.n[t.n[i].parent].p;
        p->rss += c.n[i].p.rss;
        p->pss += c.n[i].p.pss;
        p->uss += c.n[i].p.uss;
        p->nprocs += c.n[i].p.nprocs;
    }
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ki64(&w, "version", r->srv->cg.version);
    jw_kstr(&w, "root", r->srv->cg.root);
    jw_kbool(&w, "hybrid", r->srv->cg.hybrid);
    jw_kbool(&w, "truncated", t.truncated);
    jw_key(&w, "cgroups");
    jw_arr(&w);
    size_t written = 0;
    for (size_t i = 0; i < t.count; i++) {
        const list_node *n = &c.n[i];
        if (!n->s.ok)
            continue;
        jw_obj(&w);
        write_summary(&w, &n->s, t.n[i].path);
        if (t.n[i].parent >= 0) jw_kstr(&w, "parent", t.n[(size_t)t.n[i].parent].path); else jw_knull(&w, "parent");
        jw_ki64(&w, "depth", t.n[i].depth);
        if (c.with_procs) {
            jw_key(&w, "processes");
            jw_obj(&w);
            jw_ku64(&w, "count", n->p.nprocs);
            jw_ku64(&w, "rss", n->p.rss);
            jw_ku64(&w, "pss", n->p.pss);
            jw_ku64(&w, "uss", n->p.uss);
            jw_obj_end(&w);
        }
        jw_obj_end(&w);
        written++;
    }
    jw_arr_end(&w);
    jw_ku64(&w, "count", written);
    jw_obj_end(&w);
    free(c.n);
    ms_cg_tree_free(&t);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* ---- GET /api/v1/cgroups/{path} ---- */

static void write_files(jw *w, const ms_cg_mem *m)
{
    jw_key(w, "files");
    jw_obj(w);
    for (int i = 0; i < MS_CGV__COUNT; i++) {
        const char *f = ms_cgv_file((ms_cgv_id)i, m->version);
        if (f && m->v[i].present)
            write_value(w, f, &m->v[i]);
    }
    jw_key(w, "memory.stat");
    write_fields(w, &m->stat);
    jw_key(w, m->version == 1 ? "memory.oom_control" : "memory.events");
    write_fields(w, &m->events);
    if (m->version == 2) {
        jw_key(w, "memory.pressure");
        jw_obj(w);
        write_psi(w, "some", &m->psi_some);
        write_psi(w, "full", &m->psi_full);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

static void write_limits(jw *w, const ms_cg_mem *m)
{
    jw_key(w, "figures");
    jw_obj(w);
    for (int i = 0; i < MS_CGV__COUNT; i++)
        if (ms_cgv_file((ms_cgv_id)i, m->version))
            write_value(w, ms_cgv_name((ms_cgv_id)i), &m->v[i]);
    jw_obj_end(w);
}

typedef struct {
    uint64_t rss_anon, pss_anon, uss, pss;
    size_t n;
} anon_sums;

/* Every process in the cgroup and below it, with its figures. */
/* write_processes' walk: each cgroup's processes written while its directory is open. */
typedef struct {
    jw *w;
    anon_sums *as;
} procs_walk;

static ms_err procs_visit(void *ctx, int dirfd, const ms_cg_tree *t, size_t i)
{
    procs_walk *c = ctx;
    jw *w = c->w;
    anon_sums *as = c->as;
    int *pids;
    size_t n;
    if (as->n >= CGROUP_PROCS_MAX || ms_cg_procs_read(dirfd, &pids, &n, CGROUP_PROCS_MAX - as->n) != MS_OK)
        return MS_OK;
    for (size_t k = 0; k < n; k++) {
        proc_figs f;
        proc_figs_read(pids[k], &f);
        if (!f.ok && f.err == MS_ERR_NOENT)
            continue;     /* exited since cgroup.procs was read */
        jw_obj(w);
        jw_ki64(w, "pid", pids[k]);
        jw_kstr(w, "in", t->n[i].path);      /* relative to this cgroup */
        if (!f.ok) {
            jw_kstr(w, "error", ms_strerror(f.err));
            jw_obj_end(w);
            continue;
        }
        jw_kstr(w, "name", f.name);
        jw_ku64(w, "rss", f.rss);
        jw_ku64(w, "rss_anon", f.rss_anon);
        jw_ku64(w, "pss", f.pss);
        jw_ku64(w, "pss_anon", f.pss_anon);
        jw_ku64(w, "uss", f.uss);
        jw_obj_end(w);
        as->rss_anon += f.rss_anon;
        as->pss_anon += f.pss_anon;
        as->pss += f.pss;
        as->uss += f.uss;
        as->n++;
    }
    free(pids);
    return MS_OK;
}

static void write_processes(jw *w, int fd, anon_sums *as)
{
    ms_cg_tree t;
    procs_walk c = {w, as};
    memset(as, 0, sizeof *as);
    jw_key(w, "processes");
    jw_arr(w);
    if (ms_cg_tree_walk(fd, CGROUPS_MAX, &t, procs_visit, &c) == MS_OK)
        ms_cg_tree_free(&t);
    jw_arr_end(w);
}

static void write_attribution(jw *w, const ms_cg_mem *m, const anon_sums *as)
{
    ms_cg_split s;
    jw_key(w, "attribution");
    if (ms_cg_split_of(m, &s) != MS_OK) {
        jw_null(w);
        return;
    }
    jw_obj(w);
    jw_ku64(w, "usage", s.usage);
    jw_key(w, "anon");
    jw_obj(w);
    jw_ku64(w, "bytes", s.anon);
    jw_ku64(w, "processes_pss_anon", as->pss_anon);
    jw_ku64(w, "processes_rss_anon", as->rss_anon);
    jw_ku64(w, "processes_uss", as->uss);
    if (s.anon) {
        jw_key(w, "explained_by_pss");
        jw_double(w, (double)as->pss_anon / (double)s.anon);
    } else {
        jw_knull(w, "explained_by_pss");
    }
    jw_kstr(w, "note", "PSS of anonymous memory of the processes now in the cgroup; the rest is anon "
                       "memory still charged to the cgroup by processes that left it or exited, or "
                       "shared with processes outside it");
    jw_obj_end(w);
    jw_key(w, "file");
    jw_obj(w);
    jw_ku64(w, "bytes", s.file);
    jw_ku64(w, "active", s.file_active);
    jw_ku64(w, "inactive", s.file_inactive);
    jw_obj_end(w);
    jw_ku64(w, "shmem", s.shmem);
    jw_key(w, "kernel");
    if (s.has_kernel) {
        jw_obj(w);
        jw_ku64(w, "bytes", s.kernel);
        jw_ku64(w, "slab", s.slab);
        jw_ku64(w, "stacks", s.kernel_stack);
        jw_ku64(w, "pagetables", s.pagetables);
        jw_ku64(w, "other", s.percpu_vmalloc_other);
        jw_obj_end(w);
    } else {
        jw_null(w);
    }
    if (s.has_sock) jw_ku64(w, "sock", s.sock); else jw_knull(w, "sock");
    jw_ki64(w, "rest", s.rest);
    double frac = s.usage ? (double)(s.rest < 0 ? -s.rest : s.rest) / (double)s.usage : 0;
    jw_key(w, "rest_fraction");
    jw_double(w, frac);
    jw_kbool(w, "adds_up", frac <= 0.05);
    if (frac <= 0.05)
        jw_knull(w, "unplaced");
    else if (s.rest > 0)
        jw_kstr(w, "unplaced", !s.has_kernel ? "kernel memory: this cgroup has no kernel memory figure, and the rest is "
                                               "likely kernel memory (slab, stacks, page tables)"
                                             : "memory the stat file does not break down (per-cpu, vmalloc or "
                                               "charges not yet flushed to the statistics)");
    else
        jw_kstr(w, "unplaced", "the parts exceed usage: the statistics lag the usage counter (they are flushed "
                               "every few seconds)");
    if (m->version == 1)
        jw_kstr(w, "note", s.has_kernel ? "v1: usage = total_rss + total_cache + memory.kmem.usage_in_bytes; sockets are "
                                          "counted apart (memory.kmem.tcp.usage_in_bytes)"
                                        : "v1 root: usage is total_rss + total_cache alone");
    jw_obj_end(w);
}

enum MHD_Result h_cgroup(http_req *r)
{
    static const char *const allowed[] = {NULL};
    char path[MS_CG_PATH_MAX];
    int fd;
    if (!http_args_check(r, allowed) || !need_hierarchy(r))
        return MHD_YES;
    const char *tail = r->url + strlen(CGROUP_PREFIX);
    if (ms_cg_path_normalize(tail, path, sizeof path) != MS_OK)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_cgroup_path",
                                "a cgroup path may not hold '.', '..', empty parts or control characters, "
                                "and is at most %d bytes", MS_CG_PATH_MAX - 1);
    ms_err rc = ms_cg_open(r->srv->cg_root_fd, path, &fd);
    if (rc == MS_ERR_NOENT)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_cgroup", "no cgroup %.200s under %s", path,
                                r->srv->cg.root);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "opening cgroup %.200s", path);
    ms_cg_mem m;
    ms_cg_mem_init(&m);
    rc = ms_cg_mem_read(fd, r->srv->cg.version, &m);
    if (rc != MS_OK) {
        close(fd);
        ms_cg_mem_free(&m);
        if (rc == MS_ERR_NOENT)
            return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_cgroup", "cgroup %.200s went away", path);
        return http_reply_ms(r, rc, "reading cgroup %.200s", path);
    }
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    cg_summary sum;
    summary_of(&m, &sum);
    write_summary(&w, &sum, path);
    if (strcmp(path, "/") == 0) {
        jw_knull(&w, "parent");
    } else {
        char parent[MS_CG_PATH_MAX];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        if (slash == parent) slash[1] = '\0'; else *slash = '\0';
        jw_kstr(&w, "parent", parent);
    }
    write_limits(&w, &m);
    write_files(&w, &m);
    anon_sums as;
    write_processes(&w, fd, &as);
    write_attribution(&w, &m, &as);
    jw_obj_end(&w);
    close(fd);
    ms_cg_mem_free(&m);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* ---- GET /api/v1/events?type=oom ---- */

static void write_victim(jw *w, const oom_event *e)
{
    jw_obj(w);
    jw_ki64(w, "pid", e->pid);
    jw_kstr(w, "name", e->name);
    jw_ku64(w, "uid", e->uid);
    if (e->start_time) jw_ku64(w, "start_time", e->start_time); else jw_knull(w, "start_time");
    if (e->figures) {
        jw_ku64(w, "total_vm", e->total_vm);
        jw_ku64(w, "anon_rss", e->anon_rss);
        jw_ku64(w, "file_rss", e->file_rss);
        jw_ku64(w, "shmem_rss", e->shmem_rss);
        jw_ku64(w, "pgtables", e->pgtables);
        jw_ki64(w, "oom_score_adj", e->oom_score_adj);
    }
    jw_obj_end(w);
}

static void write_last_sample(jw *w, const oom_event *e, const ms_oom_victim *v)
{
    jw_key(w, "last_sample");
    jw_obj(w);
    jw_ki64(w, "t", v->last.t_ms);
    jw_ki64(w, "before_kill_ms", e->time_ms - v->last.t_ms);
    jw_kstr(w, "tier", v->tier);
    for (int f = 0; f < MS_HF__COUNT; f++) {
        if (!v->last.has_rollup && (f == MS_HF_PSS || f == MS_HF_USS))
            jw_knull(w, ms_hist_field_name(f));
        else
            jw_ku64(w, ms_hist_field_name(f), v->last.v[f]);
    }
    jw_obj_end(w);
}

/* "history" and "snapshot", each null with a reason where the store has none for the victim. */
static void write_victim_history(jw *w, const oom_event *e, ms_store *st, const char *no_store)
{
    ms_oom_victim v;
    char why[800], path[128];
    ms_err rc = MS_ERR_UNAVAILABLE;
    if (st)
        rc = ms_store_oom_victim(st, e, &v, why, sizeof why);
    if (rc == MS_OK && !v.sampled)
        snprintf(why, sizeof why, "pid %d (start time %" PRIu64 ") has no sample before the kill", e->pid,
                 v.id.start_time);
    else if (rc != MS_OK && rc != MS_ERR_NOENT)
        snprintf(why, sizeof why, "%s", st ? ms_strerror(rc) : no_store);
    jw_key(w, "history");
    if (rc == MS_OK && v.sampled) {
        jw_obj(w);
        jw_kstr(w, "match", v.match);
        jw_ku64(w, "start_time", v.id.start_time);
        jw_kstr(w, "name", v.id.name);
        jw_ki64(w, "first_seen", v.id.first_ms);
        jw_ki64(w, "last_seen", v.id.last_ms);
        write_last_sample(w, e, &v);
        snprintf(path, sizeof path, "/api/v1/processes/%d/history?start_time=%" PRIu64, e->pid, v.id.start_time);
        jw_kstr(w, "href", path);
        jw_obj_end(w);
        jw_knull(w, "history_unknown_reason");
    } else {
        jw_null(w);
        jw_kstr(w, "history_unknown_reason", why);
    }
    jw_key(w, "snapshot");
    if (rc == MS_OK && v.has_snapshot) {
        jw_obj(w);
        jw_ki64(w, "id", v.snap.id);
        jw_ki64(w, "t", v.snap.t_ms);
        jw_ki64(w, "before_kill_ms", e->time_ms - v.snap.t_ms);
        jw_kstr(w, "reason", v.snap.reason);
        jw_ku64(w, "rss", v.snap.rss);
        snprintf(path, sizeof path, "/api/v1/snapshots/%" PRId64, v.snap.id);
        jw_kstr(w, "href", path);
        jw_obj_end(w);
        jw_knull(w, "snapshot_unknown_reason");
    } else {
        jw_null(w);
        if (rc == MS_OK)
            snprintf(why, sizeof why, "no snapshot of pid %d (start time %" PRIu64 ") was taken before the kill",
                     e->pid, v.id.start_time);
        jw_kstr(w, "snapshot_unknown_reason", why);
    }
}

static void write_event(jw *w, const oom_event *e, ms_store *st, const char *no_store)
{
    jw_obj(w);
    jw_ku64(w, "seq", e->seq);
    jw_kstr(w, "type", "oom_kill");
    jw_ki64(w, "time_ms", e->time_ms);
    jw_kstr(w, "cgroup", e->global ? "global" : e->cgroup);
    if (e->task_cgroup[0]) jw_kstr(w, "task_cgroup", e->task_cgroup); else jw_knull(w, "task_cgroup");
    if (e->constraint[0]) jw_kstr(w, "constraint", e->constraint); else jw_knull(w, "constraint");
    jw_kstr(w, "source", e->source);
    if (e->boot_id[0]) jw_kstr(w, "boot_id", e->boot_id); else jw_knull(w, "boot_id");
    if (e->kmsg_seq) jw_ku64(w, "kmsg_seq", e->kmsg_seq); else jw_knull(w, "kmsg_seq");
    jw_key(w, "victim");
    if (e->pid) {
        write_victim(w, e);
        jw_knull(w, "victim_unknown_reason");
    } else {
        jw_null(w);
        jw_kstr(w, "victim_unknown_reason", e->note);
    }
    write_victim_history(w, e, st, no_store);
    jw_obj_end(w);
}

/* Where the events come from: the store (on disk or in memory), else the watcher's ring. */
typedef struct {
    const char *kept_in;         /* "store", "memory", "ring" */
    char note[700];              /* "" when nothing to say */
    oom_event *ev;               /* owned: free() */
    size_t n;
    bool more;
    uint64_t lost;
} event_list;

static ms_err list_events(http_req *r, int64_t since, event_list *l)
{
    ms_store *st = oomhist_store();
    ms_err rc = MS_ERR_UNAVAILABLE;
    memset(l, 0, sizeof *l);
    if (st) {
        rc = ms_store_oom_list(st, since, EVENTS_MAX, &l->ev, &l->n, &l->more);
        l->kept_in = ms_store_path(st)[0] ? "store" : "memory";
        if (rc == MS_OK && !ms_store_path(st)[0])
            snprintf(l->note, sizeof l->note, "kept in memory (--data-dir none): lost when memscoped stops");
    }
    if (rc == MS_OK || rc == MS_ERR_NOMEM)
        return rc;
    char reason[512];
    if (st)
        ms_store_status(st, reason, sizeof reason);
    else
        snprintf(reason, sizeof reason, "%s", oomhist_why());
    if (!reason[0])
        snprintf(reason, sizeof reason, "%s", ms_strerror(rc));
    snprintf(l->note, sizeof l->note, "not kept across restarts (%s): only kills since memscoped started, the last %d",
             reason, OOM_RING_CAP);
    l->kept_in = "ring";
    l->ev = malloc(OOM_RING_CAP * sizeof *l->ev);
    if (!l->ev)
        return MS_ERR_NOMEM;
    l->n = r->srv->oom ? oomwatch_copy(r->srv->oom, since, l->ev, OOM_RING_CAP, &l->lost) : 0;
    return MS_OK;
}

enum MHD_Result h_events(http_req *r)
{
    static const char *const allowed[] = {"type", "since", NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    const char *type = http_arg_get(r, "type"), *since_s = http_arg_get(r, "since");
    uint64_t since = 0;
    if (!type || strcmp(type, "oom") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_type", "type is required and must be 'oom'");
    if (since_s && !ms_parse_u64(since_s, (uint64_t)INT64_MAX, &since))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_since",
                                "since must be a time in Unix milliseconds, got '%.32s'", since_s);
    event_list l;
    ms_err rc = list_events(r, (int64_t)since, &l);
    if (rc != MS_OK) {
        free(l.ev);
        return http_reply_ms(r, rc, "listing events");
    }
    const char *why = NULL;
    const char *src = r->srv->oom ? oomwatch_source(r->srv->oom, &why) : "off";
    bool ring = !strcmp(l.kept_in, "ring");
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "type", "oom");
    jw_kstr(&w, "source", src);
    if (why) jw_kstr(&w, "source_note", why); else jw_knull(&w, "source_note");
    jw_kstr(&w, "kept_in", l.kept_in);
    jw_kbool(&w, "persistent", !strcmp(l.kept_in, "store"));
    if (l.note[0]) jw_kstr(&w, "kept_note", l.note); else jw_knull(&w, "kept_note");
    jw_ki64(&w, "since_ms", (int64_t)since);
    jw_ki64(&w, "watching_since_ms", (int64_t)r->srv->started * 1000);
    jw_ku64(&w, "lost", l.lost);
    jw_kbool(&w, "truncated", l.more);
    jw_ku64(&w, "count", l.n);
    jw_key(&w, "events");
    jw_arr(&w);
    for (size_t i = 0; i < l.n; i++)
        write_event(&w, &l.ev[i], ring ? NULL : oomhist_store(), l.note);
    jw_arr_end(&w);
    jw_obj_end(&w);
    free(l.ev);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}
