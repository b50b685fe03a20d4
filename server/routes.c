/* routes.c - the REST API v1: one short handler per route, and the route table.
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
    jw_ki64(&w, "page_size", f->page_size);
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
            jw_key(w, ms_smaps_json_name(kv[i].name, kv[i].name_len, name, sizeof name));
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

static enum MHD_Result h_processes(http_req *r)
{
    static const char *const allowed[] = {"sort", "order", "limit", "q", "fresh", "fields", "pss_budget_ms", "cgroup", "container", NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    const char *sort = http_arg_get(r, "sort"), *order = http_arg_get(r, "order");
    const char *limit_s = http_arg_get(r, "limit"), *q = http_arg_get(r, "q");
    ms_psort key = MS_PSORT_PID;
    if (sort && !ms_psort_from_name(sort, &key))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_sort",
                                "sort must be one of pid, ppid, name, uid, state, threads, vm_size, vm_rss, "
                                "rss_anon, rss_file, rss_shmem, vm_swap, minflt, majflt; got '%.32s'", sort);
    bool desc;
    if (!order)
        desc = !(key == MS_PSORT_PID || key == MS_PSORT_PPID || key == MS_PSORT_NAME ||
                 key == MS_PSORT_UID || key == MS_PSORT_STATE);   /* sizes: biggest first */
    else if (strcmp(order, "asc") == 0)
        desc = false;
    else if (strcmp(order, "desc") == 0)
        desc = true;
    else
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_order", "order must be asc or desc, got '%.16s'", order);
    uint64_t limit = PROCESSES_MAX_LIMIT;
    if (limit_s && (!ms_parse_u64(limit_s, PROCESSES_MAX_LIMIT, &limit) || limit == 0))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_limit",
                                "limit must be an integer from 1 to %d, got '%.32s'", PROCESSES_MAX_LIMIT, limit_s);
    if (q && strlen(q) > QUERY_MAX_LEN)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_query", "q is longer than %d bytes", QUERY_MAX_LEN);

    bool fresh = false, want_pss;
    uint64_t pss_budget_ns;
    if (!http_arg_bool(r, "fresh", &fresh) || !routes_pss_args(r, &want_pss, &pss_budget_ns))
        return MHD_YES;
    ms_proclist l;
    listcache_snap *snap = NULL;
    uint64_t age_ms = 0;
    ms_err rc;
    if (q && *q) {
        rc = ms_proclist_read(NULL, q, &l);   /* a search reads afresh: it is cheap, filtered as read */
    } else {
        rc = listcache_get(r->srv->list_cache_ms, fresh, &snap, &age_ms);
        if (rc == MS_OK)
            rc = listcache_copy(snap, &l);  /* sorted per request; the snapshot stays as read */
    }
    if (rc != MS_OK) {
        listcache_put(snap);
        return http_reply_ms(r, rc, "listing /proc");
    }
    if (!routes_cgroup_filter(r, &l, q && *q)) {
        if (q && *q) ms_proclist_free(&l); else free(l.p);
        listcache_put(snap);
        return MHD_YES;
    }
    ms_proclist_sort(&l, key, desc);
    size_t n = l.n < limit ? l.n : (size_t)limit;
    ms_pss_result *pss = NULL;
    ms_pss_stats pss_st;
    if (want_pss)
        rc = routes_pss_compute(l.p, n, pss_budget_ns, &pss, &pss_st);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    if (want_pss) {
        enc_pss e = {pss, &pss_st, pss_budget_ns, rc};
        enc_processes_pss(&w, &l, n, age_ms, &e);
        free(pss);
    } else {
        enc_processes(&w, &l, n, age_ms);
    }
    if (q && *q) {
        ms_proclist_free(&l);
    } else {
        free(l.p);                /* the copy shares its cmdlines with the snapshot: let go of */
        listcache_put(snap);  /* that only now, a newer snapshot may have replaced it */
    }
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
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

static enum MHD_Result h_process(http_req *r)
{
    static const char *const allowed[] = {NULL};
    int pid, dirfd;
    if (!http_args_check(r, allowed) || !open_pid(r, &pid, &dirfd))
        return MHD_YES;
    ms_status st;
    ms_stat sp;
    ms_smaps roll;
    ms_status_init(&st);
    ms_smaps_init(&roll);
    enum MHD_Result ret;
    ms_err rc = ms_status_read(dirfd, &st);
    if (rc == MS_OK)
        rc = ms_stat_read(dirfd, &sp);
    if (rc != MS_OK) {
        ret = http_reply_ms(r, rc, "reading status of %d", pid);
        goto out;
    }
    char cmdline[4096];
    bool trunc = false;
    if (ms_cmdline_read(dirfd, cmdline, sizeof cmdline, &trunc) != MS_OK)
        cmdline[0] = '\0';
    /* The program break itself is not in /proc; the end of [heap] is brk rounded up to a page.
     * [heap] starts at start_brk and regions come in address order, so the read stops there: a
     * 10,000-region process costs its first few regions, not the whole of maps. */
    uint64_t heap_end = 0;
    ms_rstream *rs = NULL;
    ms_err maps_rc = ms_rstream_open(dirfd, "maps", (uint64_t)r->srv->sys.page_size, 0, &rs);
    while (maps_rc == MS_OK) {
        const ms_region *g;
        maps_rc = ms_rstream_next(rs, &g, NULL, NULL);
        if (maps_rc != MS_OK || !g || g->start > sp.start_brk)
            break;
        if (g->kind == MS_KIND_HEAP) {
            heap_end = g->end;
            break;
        }
    }
    ms_rstream_close(rs);
    ms_err roll_rc = ms_smaps_rollup_read(dirfd, &roll);
    if (roll_rc == MS_ERR_NOENT || maps_rc == MS_ERR_NOENT) {
        ret = http_reply_ms(r, MS_ERR_NOENT, "process %d exited while being read", pid);
        goto out;
    }

    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    char user[64];
    enc_user_name(st.uid_real, user, sizeof user);
    jw_obj(&w);
    jw_ki64(&w, "pid", pid);
    jw_kstr(&w, "name", st.name);
    jw_kstrn(&w, "state", &st.state, 1);
    jw_ki64(&w, "ppid", st.ppid);
    jw_ku64(&w, "uid", st.uid_real);
    jw_kstr(&w, "user", user);
    jw_ku64(&w, "threads", st.threads);
    jw_kbool(&w, "kernel_thread", ms_stat_is_kthread(&sp));
    /* A kernel thread's or a zombie's smaps_rollup refuses to be read: say why from its state, and
     * read that again if it changed between the two reads (a process that just exited). */
    ms_mm_state mm = ms_mm_state_of(&sp);
    if (roll_rc == MS_ERR_NOMM && mm == MS_MM_PRESENT)
        mm = ms_pid_mm_state(dirfd);
    jw_kbool(&w, "zombie", mm == MS_MM_ZOMBIE);
    jw_kbool(&w, "address_space", mm == MS_MM_PRESENT);
    jw_kstr(&w, "cmdline", cmdline);
    jw_kbool(&w, "cmdline_truncated", trunc);
    routes_cgroup_write_proc(&w, dirfd);
    jw_key(&w, "status");
    jw_obj(&w);
    write_kv_list(&w, st.kv, st.nkv, true, status_line_wanted);
    jw_obj_end(&w);
    jw_key(&w, "faults");
    jw_obj(&w);
    jw_ku64(&w, "minor", sp.minflt);
    jw_ku64(&w, "major", sp.majflt);
    jw_obj_end(&w);
    jw_key(&w, "layout");
    jw_obj(&w);
    /* The kernel prints zeros here to a reader without ptrace access: say so rather than show 0s. */
    bool visible = sp.has_layout && (sp.start_code || sp.end_code || sp.start_stack);
    jw_kbool(&w, "visible", visible);
    if (visible) {
        jw_khex(&w, "start_code", sp.start_code);
        jw_khex(&w, "end_code", sp.end_code);
        jw_khex(&w, "start_data", sp.start_data);
        jw_khex(&w, "end_data", sp.end_data);
        jw_khex(&w, "start_brk", sp.start_brk);
        if (heap_end)
            jw_khex(&w, "brk", heap_end);
        else
            jw_khex(&w, "brk", sp.start_brk);   /* no [heap] yet: the break has not moved */
        jw_kstr(&w, "brk_note", "end of [heap], i.e. the program break rounded up to a page");
        jw_khex(&w, "start_stack", sp.start_stack);
        jw_khex(&w, "arg_start", sp.arg_start);
        jw_khex(&w, "arg_end", sp.arg_end);
        jw_khex(&w, "env_start", sp.env_start);
        jw_khex(&w, "env_end", sp.env_end);
    } else {
        jw_kstr(&w, "hidden_reason", maps_rc == MS_ERR_PERM ? "no ptrace read access to this process"
                                     : mm != MS_MM_PRESENT ? ms_mm_state_reason(mm)
                                                           : "the process has no user address space");
    }
    jw_obj_end(&w);
    if (roll_rc == MS_OK && roll.maps.nregions == 1) {
        ms_smaps_totals t;
        ms_smaps_totals_of(&roll, 0, 1, &t);
        jw_key(&w, "rollup");
        jw_obj(&w);
        enc_totals(&w, &t);
        jw_obj_end(&w);
        jw_ku64(&w, "uss", ms_smaps_uss(&t));
    } else {
        jw_knull(&w, "rollup");
        jw_knull(&w, "uss");
        jw_kstr(&w, "rollup_error", mm != MS_MM_PRESENT ? ms_mm_state_reason(mm)
                                    : roll_rc == MS_OK ? "no user address space"
                                                       : ms_strerror(roll_rc));
    }
    jw_obj_end(&w);
    ret = http_reply_jw(r, MHD_HTTP_OK, &w, &b);
out:
    ms_smaps_free(&roll);
    ms_status_free(&st);
    close(dirfd);
    return ret;
}

/* ---- regions ---- */

static enum MHD_Result reply_regions(http_req *r, int pid, int dirfd, bool smaps)
{
    char what[64];
    snprintf(what, sizeof what, "reading %s of %d", smaps ? "smaps" : "maps", pid);
    enc_regions *x;
    ms_err rc = enc_regions_open(dirfd, pid, smaps, (uint64_t)r->srv->sys.page_size, &x);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "%s", what);
    return http_reply_stream(r, "application/json", x, enc_regions_fill, enc_regions_close, what);
}

static enum MHD_Result h_maps(http_req *r)
{
    static const char *const allowed[] = {"rss", "method", NULL};
    int pid, dirfd;
    bool rss;
    if (!http_args_check(r, allowed) || !http_arg_bool(r, "rss", &rss))
        return MHD_YES;
    if (rss || http_arg_get(r, "method"))
        return h_maps_rss(r);
    if (!open_pid(r, &pid, &dirfd))
        return MHD_YES;
    return reply_regions(r, pid, dirfd, false);
}

static enum MHD_Result h_smaps(http_req *r)
{
    static const char *const allowed[] = {"group", NULL};
    int pid, dirfd;
    if (!http_args_check(r, allowed))
        return MHD_YES;
    const char *group = http_arg_get(r, "group");
    if (group && strcmp(group, "path") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_group", "group must be 'path', got '%.32s'", group);
    if (!open_pid(r, &pid, &dirfd))
        return MHD_YES;
    if (!group)
        return reply_regions(r, pid, dirfd, true);
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

static enum MHD_Result h_pagemap(http_req *r)
{
    static const char *const allowed[] = {"start", "end", "frames", "cursor", "limit", "method", "runs", NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    uint64_t start = 0, end = 0, cursor = 0, limit = PAGEMAP_FRAMES_MAX;
    bool frames, want_runs = true;
    uint64_t ps = (uint64_t)r->srv->features.page_size;
    if (!http_arg_addr(r, "start", true, &start) || !http_arg_addr(r, "end", true, &end) ||
        !http_arg_bool(r, "frames", &frames))
        return MHD_YES;
    const char *runs_s = http_arg_get(r, "runs");
    if (runs_s) {
        if (!http_arg_bool(r, "runs", &want_runs))
            return MHD_YES;
    }
    const char *limit_s = http_arg_get(r, "limit");
    if (limit_s && (!ms_parse_u64(limit_s, PAGEMAP_FRAMES_MAX, &limit) || limit == 0))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_limit", "limit must be 1..%d frames", PAGEMAP_FRAMES_MAX);
    if (start >= end)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_range", "start must be below end");
    if (start % ps || end % ps)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "unaligned", "start and end must be multiples of the page size (%" PRIu64 ")", ps);
    if (end > r->srv->sys.user_space_top)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "out_of_range",
                                "end is above the top of the user address space (0x%" PRIx64 ")", r->srv->sys.user_space_top);
    /* With frames, the runs are those of the page of frames (at most limit of them), so the
     * answer stays bounded however many runs the whole range has; the counts are the range's. */
    ms_pm_opts o = {.method = MS_PM_AUTO, .max_runs = want_runs && !frames ? PAGEMAP_MAX_RUNS + 1 : 0};
    const char *method = http_arg_get(r, "method");
    if (method) {
        if (strcmp(method, "scan") == 0) o.method = MS_PM_SCAN;
        else if (strcmp(method, "pread") == 0) o.method = MS_PM_PREAD;
        else if (strcmp(method, "auto") != 0)
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_method", "method must be auto, scan or pread");
    }
    bool will_pread = o.method == MS_PM_PREAD || (o.method == MS_PM_AUTO && !r->srv->features.pagemap_scan);
    if (will_pread && (end - start) / ps * 8 > PAGEMAP_PREAD_MAX_BYTES / 4096 * 8)
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "range_too_large",
                                "reading pagemap entry by entry is capped at %" PRIu64 " GiB per request; "
                                "ask for a smaller range (split it with start/end) or use method=scan",
                                PAGEMAP_PREAD_MAX_BYTES >> 30);
    if (frames) {
        const char *cur = http_arg_get(r, "cursor");
        if (cur && !http_arg_addr(r, "cursor", false, &cursor))
            return MHD_YES;
        if (!cur)
            cursor = start;
        if (cursor < start || cursor >= end || cursor % ps)
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_cursor", "cursor must be a page address in [start, end)");
    } else if (http_arg_get(r, "cursor") || limit_s) {
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "cursor and limit go with frames=1");
    }

    int pid, dirfd;
    if (!open_pid(r, &pid, &dirfd))
        return MHD_YES;
    ms_pm_summary sum, win;
    memset(&win, 0, sizeof win);
    ms_pm_frame *fr = NULL;
    size_t nfr = 0;
    enum MHD_Result ret;
    ms_err rc = ms_pagemap_summarize(dirfd, start, end, &o, &sum);
    if (rc != MS_OK) {
        ret = reply_read_error(r, rc, dirfd, "reading pagemap", pid);
        close(dirfd);
        return ret;
    }
    if (sum.runs_truncated || sum.nruns > PAGEMAP_MAX_RUNS) {
        close(dirfd);
        ms_pm_summary_free(&sum);
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_many_runs",
                                "this range has more than %d runs; ask for a smaller range, runs=0 for the "
                                "counts alone, or frames=1 for the runs a page of frames at a time",
                                PAGEMAP_MAX_RUNS);
    }
    if (frames) {
        uint64_t left = (end - cursor) / ps;
        nfr = (size_t)(left < limit ? left : limit);
        fr = calloc(nfr, sizeof *fr);
        rc = fr ? ms_pagemap_frames(dirfd, cursor, nfr, fr) : MS_ERR_NOMEM;
        if (rc == MS_OK && want_runs) {
            ms_pm_opts wo = {.method = sum.used, .max_runs = nfr + 1};
            rc = ms_pagemap_summarize(dirfd, cursor, cursor + nfr * ps, &wo, &win);
        }
        if (rc != MS_OK) {
            ret = reply_read_error(r, rc, dirfd, "reading frames", pid);
            close(dirfd);
            free(fr);
            ms_pm_summary_free(&sum);
            return ret;
        }
    }
    close(dirfd);

    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    enc_pagemap_doc d = {.pid = pid, .start = start, .end = end, .page_size = ps, .sum = &sum,
                         .runs = want_runs, .frames = frames, .fr = fr, .nfr = nfr, .cursor = cursor,
                         .runs_of = frames ? &win : NULL};
    enc_pagemap(&w, &d);
    free(fr);
    ms_pm_summary_free(&sum);
    ms_pm_summary_free(&win);
    ret = http_reply_jw(r, MHD_HTTP_OK, &w, &b);
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
