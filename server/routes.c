/* routes.c - the REST API v1's core routes (health, system, the process list, a process, its maps,
 * smaps, pagemap and address translation), one short handler each, and the table of every route.
 *
 * Each handler: check the query fields it takes, parse path and query, call core, write JSON with
 * the streaming writer, reply.  Errors from core go through http_reply_ms, which maps them to a
 * status in one place (http.c). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/maps.h"
#include "core/num.h"
#include "core/pagemap.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/rstream.h"
#include "core/smaps.h"
#include "core/stat.h"
#include "core/status.h"
#include "core/system.h"
#include "core/translate.h"
#include "http.h"
#include "encode.h"
#include "jw.h"
#include "listcache.h"
#include "metrics.h"
#include "routes.h"
#include "routes_cgroup.h"
#include "routes_exp.h"
#include "routes_fast.h"
#include "routes_history.h"
#include "routes_openapi.h"
#include "routes_rows.h"
#include "static.h"

/* Caps that keep one answer bounded; each is stated in the error that enforces it (the pagemap
 * ones are in encode.h, shared with the command line). */
#define PROCESSES_MAX_LIMIT 100000
#define QUERY_MAX_LEN 256

/* ---- health and system ---- */

static enum MHD_Result h_health(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    const ms_features *f = &r->srv->features;
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "status", "ok");
    jw_kstr(&w, "version", MEMSCOPE_VERSION);
    jw_kstr(&w, "kernel", r->srv->sys.kernel_release);
    jw_ki64(&w, "page_size", r->srv->sys.page_size);
    jw_ki64(&w, "uid", (int64_t)geteuid());
    jw_ki64(&w, "uptime_s", (int64_t)(time(NULL) - r->srv->started));
    jw_key(&w, "can_see");
    jw_obj(&w);
    jw_kbool(&w, "pfn", f->pfn_readable);
    jw_kbool(&w, "kpageflags", f->kpageflags_readable);
    jw_kbool(&w, "kpagecount", f->kpagecount_readable);
    jw_kbool(&w, "pagemap_scan", f->pagemap_scan);
    jw_kbool(&w, "procmap_query", f->procmap_query);
    jw_kbool(&w, "smaps_rollup", f->smaps_rollup);
    jw_kbool(&w, "soft_dirty", f->soft_dirty);
    jw_kbool(&w, "page_idle", f->page_idle);
    jw_kbool(&w, "read_fault_zero_page", f->read_fault_zero_page);
    jw_obj_end(&w);
    jw_kstr(&w, "thp", r->srv->sys.thp_enabled);
    jw_kbool(&w, "experiments", r->srv->experiments_enabled);
    jw_kbool(&w, "auth", r->srv->token != NULL);
    routes_history_health(&w);
    jw_obj_end(&w);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

static void write_kv_list(jw *w, const ms_kv *kv, size_t n, bool snake, bool (*keep)(const ms_kv *))
{
    char name[96];
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep(&kv[i]))
            continue;
        if (snake)
            jw_key(w, ms_status_json_name(kv[i].name, kv[i].name_len, name, sizeof name));
        else
            jw_keyn(w, kv[i].name, kv[i].name_len);
        if (kv[i].is_number)
            jw_u64(w, kv[i].value);
        else
            jw_strn(w, kv[i].raw, kv[i].raw_len);
    }
}

static enum MHD_Result h_system(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    ms_meminfo mi;
    ms_meminfo_init(&mi);
    ms_err rc = ms_meminfo_read(NULL, &mi);
    if (rc != MS_OK) {
        ms_meminfo_free(&mi);
        return http_reply_ms(r, rc, "reading /proc/meminfo");
    }
    /* THP and overcommit can be changed at run time: read them fresh, not from start-up. */
    ms_sysinfo si;
    rc = ms_sysinfo_read(&si);
    if (rc != MS_OK) {
        ms_meminfo_free(&mi);
        return http_reply_ms(r, rc, "reading system settings");
    }
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "kernel_release", si.kernel_release);
    jw_kstr(&w, "machine", si.machine);
    jw_ki64(&w, "page_size", si.page_size);
    jw_khex(&w, "user_space_top", si.user_space_top);
    jw_key(&w, "meminfo");
    jw_obj(&w);
    write_kv_list(&w, mi.kv, mi.nkv, false, NULL);
    jw_obj_end(&w);
    jw_key(&w, "thp");
    jw_obj(&w);
    jw_kstr(&w, "enabled", si.thp_enabled);
    jw_kstr(&w, "defrag", si.thp_defrag);
    jw_kstr(&w, "shmem_enabled", si.thp_shmem_enabled);
    jw_ku64(&w, "pmd_size", si.hpage_pmd_size);
    jw_obj_end(&w);
    jw_key(&w, "overcommit");
    jw_obj(&w);
    jw_ki64(&w, "memory", si.overcommit_memory);
    jw_ki64(&w, "ratio", si.overcommit_ratio);
    jw_ku64(&w, "kbytes", si.overcommit_kbytes);
    jw_obj_end(&w);
    jw_obj_end(&w);
    ms_meminfo_free(&mi);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* ---- processes ---- */

/* /processes' query: the order, how many, what to look for, and whether PSS/USS are wanted. */
typedef struct {
    ms_psort key;
    bool desc, fresh, want_pss;
    uint64_t limit, pss_budget_ns;
    const char *q;            /* a search, read afresh; NULL or empty: the shared list */
} processes_query;

/* Parses /processes' query; replies 400 and returns false on a bad field. */
static bool processes_parse(http_req *r, processes_query *pq)
{
    static const char *const allowed[] = {"sort", "order", "limit", "q", "fresh", "fields", "pss_budget_ms", "cgroup", "container", NULL};
    if (!http_args_check(r, allowed))
        return false;
    const char *sort = http_arg_get(r, "sort"), *order = http_arg_get(r, "order");
    const char *limit_s = http_arg_get(r, "limit");
    pq->q = http_arg_get(r, "q");
    pq->key = MS_PSORT_PID;
    pq->limit = PROCESSES_MAX_LIMIT;
    pq->fresh = false;
    if (sort && !ms_psort_from_name(sort, &pq->key))
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_sort",
                         "sort must be one of pid, ppid, name, uid, state, threads, vm_size, vm_rss, "
                         "rss_anon, rss_file, rss_shmem, vm_swap, minflt, majflt; got '%.32s'", sort);
    else if (!order)
        pq->desc = !(pq->key == MS_PSORT_PID || pq->key == MS_PSORT_PPID || pq->key == MS_PSORT_NAME ||
                     pq->key == MS_PSORT_UID || pq->key == MS_PSORT_STATE);   /* sizes: biggest first */
    else if (strcmp(order, "asc") == 0)
        pq->desc = false;
    else if (strcmp(order, "desc") == 0)
        pq->desc = true;
    else
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_order", "order must be asc or desc, got '%.16s'", order);
    if (r->replied)
        return false;
    if (limit_s && (!ms_parse_u64(limit_s, PROCESSES_MAX_LIMIT, &pq->limit) || pq->limit == 0))
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_limit",
                         "limit must be an integer from 1 to %d, got '%.32s'", PROCESSES_MAX_LIMIT, limit_s);
    else if (pq->q && strlen(pq->q) > QUERY_MAX_LEN)
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_query", "q is longer than %d bytes", QUERY_MAX_LEN);
    if (r->replied)
        return false;
    return http_arg_bool(r, "fresh", &pq->fresh) && routes_pss_args(r, &pq->want_pss, &pq->pss_budget_ns);
}

/* Writes the first n of l (sorted), with PSS and USS when asked for. */
static enum MHD_Result processes_reply(http_req *r, const processes_query *pq, ms_proclist *l, size_t n,
                                       uint64_t age_ms)
{
    ms_pss_result *pss = NULL;
    ms_pss_stats pss_st;
    ms_err rc = MS_OK;
    if (pq->want_pss)
        rc = routes_pss_compute(l->p, n, pq->pss_budget_ns, &pss, &pss_st);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    if (pq->want_pss) {
        enc_pss e = {pss, &pss_st, pq->pss_budget_ns, rc};
        enc_processes_pss(&w, l, n, age_ms, &e);
        free(pss);
    } else {
        enc_processes(&w, l, n, age_ms);
    }
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

static enum MHD_Result h_processes(http_req *r)
{
    processes_query pq;
    if (!processes_parse(r, &pq))
        return MHD_YES;
    bool search = pq.q && *pq.q;
    ms_proclist l;
    listcache_snap *snap = NULL;
    uint64_t age_ms = 0;
    ms_err rc;
    if (search) {
        rc = ms_proclist_read(NULL, pq.q, &l);   /* a search reads afresh: it is cheap, filtered as read */
    } else {
        rc = listcache_get(r->srv->list_cache_ms, pq.fresh, &snap, &age_ms);
        if (rc == MS_OK)
            rc = listcache_copy(snap, &l);  /* sorted per request; the snapshot stays as read */
    }
    if (rc != MS_OK) {
        listcache_put(snap);
        return http_reply_ms(r, rc, "listing /proc");
    }
    enum MHD_Result ret = MHD_YES;
    if (routes_cgroup_filter(r, &l, search)) {
        ms_proclist_sort(&l, pq.key, pq.desc);
        ret = processes_reply(r, &pq, &l, l.n < pq.limit ? l.n : (size_t)pq.limit, age_ms);
    }
    if (search) {
        ms_proclist_free(&l);
    } else {
        free(l.p);                /* the copy shares its cmdlines with the snapshot: let go of */
        listcache_put(snap);      /* that only now, a newer snapshot may have replaced it */
    }
    return ret;
}

/* Opens /proc/<pid> for a handler; replies and returns false on failure. */
static bool open_pid(http_req *r, int *pid, int *dirfd)
{
    if (!http_param_pid(r, 0, pid))
        return false;
    ms_err rc = ms_pid_open(*pid, dirfd);
    if (rc != MS_OK) {
        http_reply_ms(r, rc, "opening /proc/%d", *pid);
        return false;
    }
    return true;
}

static bool status_line_wanted(const ms_kv *kv)
{
    return (kv->name_len > 2 && (memcmp(kv->name, "Vm", 2) == 0)) ||
           (kv->name_len > 3 && memcmp(kv->name, "Rss", 3) == 0) ||
           (kv->name_len == 12 && memcmp(kv->name, "HugetlbPages", 12) == 0);
}

/* What GET /processes/{pid} reports, read from the process's files. */
typedef struct {
    ms_status st;
    ms_stat sp;
    ms_smaps roll;
    ms_err roll_rc, maps_rc;  /* smaps_rollup's and maps' reads, which may fail without failing the answer */
    uint64_t heap_end;        /* 0: no [heap] */
    char cmdline[4096];
    bool trunc;
} proc_facts;

/* The program break itself is not in /proc; the end of [heap] is brk rounded up to a page.
 * [heap] starts at start_brk and regions come in address order, so the read stops there: a
 * 10,000-region process costs its first few regions, not the whole of maps. */
static uint64_t heap_end_of(int dirfd, uint64_t page_size, uint64_t start_brk, ms_err *maps_rc)
{
    uint64_t heap_end = 0;
    ms_rstream *rs = NULL;
    *maps_rc = ms_rstream_open(dirfd, "maps", page_size, 0, &rs);
    while (*maps_rc == MS_OK) {
        const ms_region *g;
        *maps_rc = ms_rstream_next(rs, &g, NULL, NULL);
        if (*maps_rc != MS_OK || !g || g->start > start_brk)
            break;
        if (g->kind == MS_KIND_HEAP) {
            heap_end = g->end;
            break;
        }
    }
    ms_rstream_close(rs);
    return heap_end;
}

/* Reads f (initialised by the caller); fails only when status or stat cannot be read. */
static ms_err proc_read(int dirfd, uint64_t page_size, proc_facts *f)
{
    ms_err rc = ms_status_read(dirfd, &f->st);
    if (rc == MS_OK)
        rc = ms_stat_read(dirfd, &f->sp);
    if (rc != MS_OK)
        return rc;
    f->trunc = false;
    if (ms_cmdline_read(dirfd, f->cmdline, sizeof f->cmdline, &f->trunc) != MS_OK)
        f->cmdline[0] = '\0';
    f->heap_end = heap_end_of(dirfd, page_size, f->sp.start_brk, &f->maps_rc);
    f->roll_rc = ms_smaps_rollup_read(dirfd, &f->roll);
    return MS_OK;
}

static void write_layout(jw *w, const proc_facts *f, ms_mm_state mm)
{
    const ms_stat *sp = &f->sp;
    jw_key(w, "layout");
    jw_obj(w);
    /* The kernel prints zeros here to a reader without ptrace access: say so rather than show 0s. */
    bool visible = sp->has_layout && (sp->start_code || sp->end_code || sp->start_stack);
    jw_kbool(w, "visible", visible);
    if (visible) {
        jw_khex(w, "start_code", sp->start_code);
        jw_khex(w, "end_code", sp->end_code);
        jw_khex(w, "start_data", sp->start_data);
        jw_khex(w, "end_data", sp->end_data);
        jw_khex(w, "start_brk", sp->start_brk);
        if (f->heap_end)
            jw_khex(w, "brk", f->heap_end);
        else
            jw_khex(w, "brk", sp->start_brk);   /* no [heap] yet: the break has not moved */
        jw_kstr(w, "brk_note", "end of [heap], i.e. the program break rounded up to a page");
        jw_khex(w, "start_stack", sp->start_stack);
        jw_khex(w, "arg_start", sp->arg_start);
        jw_khex(w, "arg_end", sp->arg_end);
        jw_khex(w, "env_start", sp->env_start);
        jw_khex(w, "env_end", sp->env_end);
    } else {
        jw_kstr(w, "hidden_reason", f->maps_rc == MS_ERR_PERM ? "no ptrace read access to this process"
                                    : mm != MS_MM_PRESENT ? ms_mm_state_reason(mm)
                                                          : "the process has no user address space");
    }
    jw_obj_end(w);
}

static void write_rollup(jw *w, const proc_facts *f, ms_mm_state mm)
{
    if (f->roll_rc == MS_OK && f->roll.maps.nregions == 1) {
        ms_smaps_totals t;
        ms_smaps_totals_of(&f->roll, 0, 1, &t);
        jw_key(w, "rollup");
        jw_obj(w);
        enc_totals(w, &t);
        jw_obj_end(w);
        jw_ku64(w, "uss", ms_smaps_uss(&t));
    } else {
        jw_knull(w, "rollup");
        jw_knull(w, "uss");
        jw_kstr(w, "rollup_error", mm != MS_MM_PRESENT ? ms_mm_state_reason(mm)
                                   : f->roll_rc == MS_OK ? "no user address space"
                                                         : ms_strerror(f->roll_rc));
    }
}

static void write_process(jw *w, int pid, int dirfd, const proc_facts *f)
{
    char user[64];
    enc_user_name(f->st.uid_real, user, sizeof user);
    jw_obj(w);
    jw_ki64(w, "pid", pid);
    jw_kstr(w, "name", f->st.name);
    jw_kstrn(w, "state", &f->st.state, 1);
    jw_ki64(w, "ppid", f->st.ppid);
    jw_ku64(w, "uid", f->st.uid_real);
    jw_kstr(w, "user", user);
    jw_ku64(w, "threads", f->st.threads);
    jw_kbool(w, "kernel_thread", ms_stat_is_kthread(&f->sp));
    /* A kernel thread's or a zombie's smaps_rollup refuses to be read: say why from its state, and
     * read that again if it changed between the two reads (a process that just exited). */
    ms_mm_state mm = ms_mm_state_of(&f->sp);
    if (f->roll_rc == MS_ERR_NOMM && mm == MS_MM_PRESENT)
        mm = ms_pid_mm_state(dirfd);
    jw_kbool(w, "zombie", mm == MS_MM_ZOMBIE);
    jw_kbool(w, "address_space", mm == MS_MM_PRESENT);
    jw_kstr(w, "cmdline", f->cmdline);
    jw_kbool(w, "cmdline_truncated", f->trunc);
    routes_cgroup_write_proc(w, dirfd);
    jw_key(w, "status");
    jw_obj(w);
    write_kv_list(w, f->st.kv, f->st.nkv, true, status_line_wanted);
    jw_obj_end(w);
    jw_key(w, "faults");
    jw_obj(w);
    jw_ku64(w, "minor", f->sp.minflt);
    jw_ku64(w, "major", f->sp.majflt);
    jw_obj_end(w);
    write_layout(w, f, mm);
    write_rollup(w, f, mm);
    jw_obj_end(w);
}

static enum MHD_Result h_process(http_req *r)
{
    static const char *const allowed[] = {NULL};
    int pid, dirfd;
    if (!http_args_check(r, allowed) || !open_pid(r, &pid, &dirfd))
        return MHD_YES;
    proc_facts f;
    ms_status_init(&f.st);
    ms_smaps_init(&f.roll);
    enum MHD_Result ret;
    ms_err rc = proc_read(dirfd, (uint64_t)r->srv->sys.page_size, &f);
    if (rc != MS_OK) {
        ret = http_reply_ms(r, rc, "reading status of %d", pid);
    } else if (f.roll_rc == MS_ERR_NOENT || f.maps_rc == MS_ERR_NOENT) {
        ret = http_reply_ms(r, MS_ERR_NOENT, "process %d exited while being read", pid);
    } else {
        ms_buf b;
        ms_buf_init(&b, 0);
        jw w;
        jw_init(&w, &b);
        write_process(&w, pid, dirfd, &f);
        ret = http_reply_jw(r, MHD_HTTP_OK, &w, &b);
    }
    ms_smaps_free(&f.roll);
    ms_status_free(&f.st);
    close(dirfd);
    return ret;
}

/* ---- regions ---- */

static enum MHD_Result reply_regions(http_req *r, int pid, int dirfd, bool smaps, bool rows, uint64_t lo, uint64_t hi)
{
    char what[64];
    snprintf(what, sizeof what, "reading %s of %d", smaps ? "smaps" : "maps", pid);
    enc_regions *x;
    ms_err rc = enc_regions_open(dirfd, pid, smaps, (uint64_t)r->srv->sys.page_size, &x);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "%s", what);
    if (rows)
        enc_regions_rows(x);
    enc_regions_range(x, lo, hi);
    return http_reply_stream(r, "application/json", x, enc_regions_fill, enc_regions_close, what);
}

static enum MHD_Result h_maps(http_req *r)
{
    static const char *const allowed[] = {"rss", "method", "layout", "start", "end", "pss", NULL};
    int pid, dirfd;
    bool rss, rows;
    uint64_t lo, hi;
    if (!http_args_check(r, allowed) || !http_arg_bool(r, "rss", &rss) || !routes_range_arg(r, &lo, &hi))
        return MHD_YES;
    if (rss || http_arg_get(r, "method") || http_arg_get(r, "pss"))
        return h_maps_rss(r, lo, hi);
    if (!routes_layout_arg(r, &rows) || !open_pid(r, &pid, &dirfd))
        return MHD_YES;
    return reply_regions(r, pid, dirfd, false, rows, lo, hi);
}

static enum MHD_Result h_smaps(http_req *r)
{
    static const char *const allowed[] = {"group", "layout", "start", "end", NULL};
    int pid, dirfd;
    uint64_t lo, hi;
    if (!http_args_check(r, allowed) || !routes_range_arg(r, &lo, &hi))
        return MHD_YES;
    const char *group = http_arg_get(r, "group");
    if (group && strcmp(group, "path") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_group", "group must be 'path', got '%.32s'", group);
    /* rows: the compact layout of the region list (one array per region); the default, objects */
    bool rows;
    if (!routes_layout_arg(r, &rows))
        return MHD_YES;
    if (rows && group)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_layout", "layout=rows is a layout of the region list; group=path answers one entry per path");
    if (group && (http_arg_get(r, "start") || http_arg_get(r, "end")))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_range", "start and end choose regions of the region list; group=path sums every region of the process");
    if (!open_pid(r, &pid, &dirfd))
        return MHD_YES;
    if (!group)
        return reply_regions(r, pid, dirfd, true, rows, lo, hi);
    /* Summed per path while the file streams by: memory follows the distinct paths, not the
     * regions; the answer is one entry per path, written whole at the end. */
    ms_smaps_grouper *g = NULL;
    size_t count;
    ms_smaps_totals t;
    ms_err rc = ms_rstream_group_by_path(dirfd, (uint64_t)r->srv->sys.page_size, &g, &count, &t);
    if (rc != MS_OK) {
        close(dirfd);
        return http_reply_ms(r, rc, "reading smaps of %d", pid);
    }
    ms_mm_state mm = count ? MS_MM_PRESENT : ms_pid_mm_state(dirfd);
    close(dirfd);
    size_t ng;
    const ms_smaps_group *groups = ms_smaps_grouper_groups(g, &ng);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    enc_smaps_grouped(&w, pid, count, &t, &mm, groups, ng);
    ms_smaps_grouper_free(&g);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* ---- pagemap and translate ---- */

/* A core error from reading dirfd's process; no address space is a 409 that says which kind of
 * process has none. */
static enum MHD_Result reply_read_error(http_req *r, ms_err rc, int dirfd, const char *what, int pid)
{
    ms_mm_state mm = rc == MS_ERR_NOMM ? ms_pid_mm_state(dirfd) : MS_MM_PRESENT;
    if (mm == MS_MM_KTHREAD || mm == MS_MM_ZOMBIE)
        return http_reply_error(r, http_status_of(rc), ms_errcode(rc), "%s of %d: %s", what, pid,
                                ms_mm_state_reason(mm));
    return http_reply_ms(r, rc == MS_ERR_NOMM ? MS_ERR_NOENT : rc, "%s of %d", what, pid);
}

/* A /pagemap query, parsed and checked. */
typedef struct {
    uint64_t start, end, cursor, limit, ps;
    bool frames, runs;
    ms_pm_opts o;
} pagemap_query;

/* method=, and whether entry-by-entry reading could afford the range; replies and returns false
 * when not. */
static bool pagemap_parse_method(http_req *r, pagemap_query *q)
{
    const char *method = http_arg_get(r, "method");
    if (method) {
        if (strcmp(method, "scan") == 0) q->o.method = MS_PM_SCAN;
        else if (strcmp(method, "pread") == 0) q->o.method = MS_PM_PREAD;
        else if (strcmp(method, "auto") != 0) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method", "method must be auto, scan or pread");
            return false;
        }
    }
    bool will_pread = q->o.method == MS_PM_PREAD || (q->o.method == MS_PM_AUTO && !r->srv->features.pagemap_scan);
    if (will_pread && (q->end - q->start) / q->ps * 8 > PAGEMAP_PREAD_MAX_BYTES / 4096 * 8) {
        http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "range_too_large",
                         "reading pagemap entry by entry is capped at %" PRIu64 " GiB per request; "
                         "ask for a smaller range (split it with start/end) or use method=scan",
                         PAGEMAP_PREAD_MAX_BYTES >> 30);
        return false;
    }
    return true;
}

/* cursor= (frames only; default start), and limit= only with frames. */
static bool pagemap_parse_cursor(http_req *r, pagemap_query *q, const char *limit_s)
{
    const char *cur = http_arg_get(r, "cursor");
    if (!q->frames) {
        if (cur || limit_s) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "cursor and limit go with frames=1");
            return false;
        }
        return true;
    }
    if (cur && !http_arg_addr(r, "cursor", false, &q->cursor))
        return false;
    if (!cur)
        q->cursor = q->start;
    if (q->cursor < q->start || q->cursor >= q->end || q->cursor % q->ps) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_cursor", "cursor must be a page address in [start, end)");
        return false;
    }
    return true;
}

/* Parses and checks /pagemap's query; replies 400 (or 413) and returns false on a bad one. */
static bool pagemap_parse(http_req *r, pagemap_query *q)
{
    static const char *const allowed[] = {"start", "end", "frames", "cursor", "limit", "method", "runs", NULL};
    memset(q, 0, sizeof *q);
    q->limit = PAGEMAP_FRAMES_MAX;
    q->runs = true;
    q->ps = (uint64_t)r->srv->sys.page_size;
    if (!http_args_check(r, allowed) || !http_arg_addr(r, "start", true, &q->start) ||
        !http_arg_addr(r, "end", true, &q->end) || !http_arg_bool(r, "frames", &q->frames))
        return false;
    if (http_arg_get(r, "runs") && !http_arg_bool(r, "runs", &q->runs))
        return false;
    const char *limit_s = http_arg_get(r, "limit");
    if (limit_s && (!ms_parse_u64(limit_s, PAGEMAP_FRAMES_MAX, &q->limit) || q->limit == 0))
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_limit", "limit must be 1..%d frames", PAGEMAP_FRAMES_MAX);
    else if (q->start >= q->end)
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_range", "start must be below end");
    else if (q->start % q->ps || q->end % q->ps)
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "unaligned",
                         "start and end must be multiples of the page size (%" PRIu64 ")", q->ps);
    else if (q->end > r->srv->sys.user_space_top)
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "out_of_range",
                         "end is above the top of the user address space (0x%" PRIx64 ")", r->srv->sys.user_space_top);
    if (r->replied)
        return false;
    /* With frames, the runs are those of the page of frames (at most limit of them), so the
     * answer stays bounded however many runs the whole range has; the counts are the range's. */
    q->o = (ms_pm_opts){.method = MS_PM_AUTO, .max_runs = q->runs && !q->frames ? PAGEMAP_MAX_RUNS + 1 : 0};
    return pagemap_parse_method(r, q) && pagemap_parse_cursor(r, q, limit_s);
}

/* What a /pagemap answer is made of: the range's counts and runs, and with frames, a page of
 * frames and that page's runs. */
typedef struct {
    ms_pm_summary sum, win;
    ms_pm_frame *fr;
    size_t nfr;
    bool too_many_runs;       /* the range has more runs than an answer carries: nothing else read */
} pagemap_answer;

static void pagemap_answer_free(pagemap_answer *a)
{
    free(a->fr);
    ms_pm_summary_free(&a->sum);
    ms_pm_summary_free(&a->win);
}

/* Reads what q asks for into a (zeroed by the caller); *what says which read failed. */
static ms_err pagemap_read(int dirfd, const pagemap_query *q, pagemap_answer *a, const char **what)
{
    *what = "reading pagemap";
    ms_err rc = ms_pm_summarize(dirfd, q->start, q->end, &q->o, &a->sum);
    if (rc != MS_OK)
        return rc;
    a->too_many_runs = a->sum.runs_truncated || a->sum.nruns > PAGEMAP_MAX_RUNS;
    if (a->too_many_runs || !q->frames)
        return MS_OK;
    *what = "reading frames";
    uint64_t left = (q->end - q->cursor) / q->ps;
    a->nfr = (size_t)(left < q->limit ? left : q->limit);
    a->fr = calloc(a->nfr, sizeof *a->fr);
    rc = a->fr ? ms_pm_frames(dirfd, q->cursor, a->nfr, a->fr) : MS_ERR_NOMEM;
    if (rc == MS_OK && q->runs) {
        ms_pm_opts wo = {.method = a->sum.used, .max_runs = a->nfr + 1};
        rc = ms_pm_summarize(dirfd, q->cursor, q->cursor + a->nfr * q->ps, &wo, &a->win);
    }
    return rc;
}

static enum MHD_Result pagemap_reply(http_req *r, int pid, const pagemap_query *q, pagemap_answer *a)
{
    if (a->too_many_runs)
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_many_runs",
                                "this range has more than %d runs; ask for a smaller range, runs=0 for the "
                                "counts alone, or frames=1 for the runs a page of frames at a time",
                                PAGEMAP_MAX_RUNS);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    enc_pagemap_doc d = {.pid = pid, .start = q->start, .end = q->end, .page_size = q->ps, .sum = &a->sum,
                         .runs = q->runs, .frames = q->frames, .fr = a->fr, .nfr = a->nfr, .cursor = q->cursor,
                         .runs_of = q->frames ? &a->win : NULL};
    enc_pagemap(&w, &d);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

static enum MHD_Result h_pagemap(http_req *r)
{
    pagemap_query q;
    int pid, dirfd;
    if (!pagemap_parse(r, &q) || !open_pid(r, &pid, &dirfd))
        return MHD_YES;
    pagemap_answer a;
    memset(&a, 0, sizeof a);
    const char *what;
    ms_err rc = pagemap_read(dirfd, &q, &a, &what);
    enum MHD_Result ret = rc != MS_OK ? reply_read_error(r, rc, dirfd, what, pid) : pagemap_reply(r, pid, &q, &a);
    close(dirfd);
    pagemap_answer_free(&a);
    return ret;
}

static enum MHD_Result h_translate(http_req *r)
{
    static const char *const allowed[] = {"addr", NULL};
    uint64_t addr;
    if (!http_args_check(r, allowed) || !http_arg_addr(r, "addr", true, &addr))
        return MHD_YES;
    if (addr >= r->srv->sys.user_space_top)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "out_of_range",
                                "addr is above the top of the user address space (0x%" PRIx64 "): kernel space",
                                r->srv->sys.user_space_top);
    int pid, dirfd;
    if (!open_pid(r, &pid, &dirfd))
        return MHD_YES;
    ms_translation *t = malloc(sizeof *t);
    if (!t) {
        close(dirfd);
        return http_reply_ms(r, MS_ERR_NOMEM, "translating");
    }
    ms_err rc = ms_translate(dirfd, addr, t);
    if (rc != MS_OK) {
        free(t);
        char what[64];
        snprintf(what, sizeof what, "translating 0x%" PRIx64 " in the address space", addr);
        enum MHD_Result ret = reply_read_error(r, rc, dirfd, what, pid);
        close(dirfd);
        return ret;
    }
    close(dirfd);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    enc_translation(&w, pid, addr, t);
    free(t);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* Shared with the handlers of routes_fast.c. */
bool routes_open_pid(http_req *r, int *pid, int *dirfd)
{
    return open_pid(r, pid, dirfd);
}

/* method, pattern, handler, and whether the route reads a process's /proc files (http.h). */
const http_route http_routes[] = {
    {"GET", "/api/v1/health", h_health, false},
    {"GET", "/api/v1/system", h_system, false},
    {"GET", "/api/v1/processes", h_processes, false},
    {"GET", "/api/v1/processes/{pid}", h_process, true},
    {"GET", "/api/v1/processes/{pid}/maps", h_maps, true},
    {"GET", "/api/v1/processes/{pid}/smaps", h_smaps, true},
    {"GET", "/api/v1/processes/{pid}/pagemap", h_pagemap, true},
    {"GET", "/api/v1/processes/{pid}/translate", h_translate, true},
    {"GET", "/api/v1/processes/{pid}/wss", h_wss, true},
    {"GET", "/api/v1/cgroups", h_cgroups, false},
    {"GET", "/api/v1/cgroups/*", h_cgroup, false},
    {"GET", "/api/v1/events", h_events, false},
    {"GET", "/api/v1/experiments/presets", h_exp_presets, false},
    {"GET", "/api/v1/experiments", h_exp_list, false},
    {"POST", "/api/v1/experiments", h_exp_start, false},
    {"GET", "/api/v1/experiments/{id}", h_exp_get, false},
    {"DELETE", "/api/v1/experiments/{id}", h_exp_delete, false},
    {"GET", "/api/v1/experiments/{id}/events", h_exp_events, false},
    {"GET", "/api/v1/processes/{pid}/history", h_hist_process, true},
    {"GET", "/api/v1/system/history", h_hist_system, false},
    {"GET", "/api/v1/history/processes", h_hist_processes, false},
    {"POST", "/api/v1/processes/{pid}/snapshots", h_snap_create, true},
    {"GET", "/api/v1/snapshots", h_snap_list, false},
    {"GET", "/api/v1/snapshots/{id}", h_snap_get, false},
    {"DELETE", "/api/v1/snapshots/{id}", h_snap_delete, false},
    {"GET", "/api/v1/processes/{pid}/diff", h_diff, true},
    {"GET", "/api/v1/growth", h_growth, false},
    {"GET", "/api/v1/openapi.json", h_openapi, false},
    {"GET", "/metrics", h_metrics, false},
    {"GET", "/*", h_static, false},
};
const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
