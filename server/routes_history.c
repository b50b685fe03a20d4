/* routes_history.c - the history API: a process's and the system's figures over time, the
 * processes seen, snapshots of smaps, the diff of two of them (or one and now), and the processes
 * that grew steadily.
 *
 * Times in the API are Unix milliseconds.  since/until take either such a number or a duration
 * meaning "that long ago" ("30m", "2h").  When the store cannot be used every route answers 503
 * with the store's reason; the rest of memscoped is unaffected. */
#include "routes_history.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/num.h"
#include "core/proc.h"
#include "core/smaps.h"
#include "core/stat.h"
#include "encode.h"
#include "log.h"
#include "store/diff.h"
#include "store/diffwork.h"
#include "store/snapcodec.h"

#define HIST_MAX_POINTS 2000
#define HIST_DEFAULT_SPAN_MS (3600 * 1000)
#define SEEN_MAX 10000
#define SNAP_LIST_MAX 1000
#define GROWTH_MAX_WINDOW_MS (24 * 3600 * 1000ULL)
#define GROWTH_MIN_WINDOW_MS 10000
#define GROWTH_MIN_RISE ((uint64_t)1 << 20)
#define GROWTH_TOP_REGIONS 5
/* A diff's buffers are kept for the next one while diffs are asked for (a dashboard's clicks come
 * seconds apart), up to what a 50,000-region process's diff needs. */
#define DIFF_KEEP_IDLE_MS 10000
#define DIFF_KEEP_MAX_BYTES ((size_t)32 << 20)

/* Written once before the daemon starts (routes_history_init), read-only afterwards. */
static ms_store *hist_store;
static ms_sampler *hist_sampler;
static uint64_t hist_interval_ms;
/* Made and freed with the store (routes_history_init); the diffs' workspaces, by its rules. */
static ms_diffpool *diff_pool;

void routes_history_init(ms_store *store, ms_sampler *sampler, uint64_t interval_ms)
{
    hist_store = store;
    hist_sampler = sampler;
    hist_interval_ms = interval_ms;
    ms_diffpool_free(&diff_pool);
    if (store && ms_diffpool_new(DIFF_KEEP_MAX_BYTES, DIFF_KEEP_IDLE_MS, &diff_pool) != MS_OK)
        log_warn("history: no memory for the diffs' workspace pool: diffs answer 500");
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void routes_history_health(jw *w)
{
    jw_key(w, "history");
    jw_obj(w);
    if (!hist_store) {
        jw_kstr(w, "status", "off");
        jw_obj_end(w);
        return;
    }
    char reason[1024];
    jw_kstr(w, "status", ms_store_status(hist_store, reason, sizeof reason));
    if (reason[0])
        jw_kstr(w, "reason", reason);
    jw_kstr(w, "path", ms_store_path(hist_store)[0] ? ms_store_path(hist_store) : "memory");
    uint64_t bytes;
    if (ms_store_size(hist_store, &bytes) == MS_OK)
        jw_ku64(w, "bytes", bytes);
    jw_ku64(w, "sample_interval_ms", hist_interval_ms);
    if (hist_sampler) {
        ms_sampler_stats st;
        ms_sampler_stats_get(hist_sampler, &st);
        jw_key(w, "sampler");
        jw_obj(w);
        jw_ku64(w, "rounds", st.rounds);
        jw_ki64(w, "last_t", st.last_t_ms);
        jw_ku64(w, "processes", st.procs);
        jw_ku64(w, "rollups_read", st.rollups_read);
        jw_ku64(w, "rollups_kept", st.rollups_kept);
        jw_ku64(w, "rollups_skipped", st.rollups_skipped);
        jw_ku64(w, "rollups_failed", st.rollups_failed);
        jw_ku64(w, "rollups_max_waited", st.rollups_max_waited);
        jw_ku64(w, "rollups_skipped_total", st.rollups_skipped_total);
        jw_ku64(w, "cpu_us", st.cpu_us);
        jw_ku64(w, "list_cpu_us", st.list_cpu_us);
        jw_ku64(w, "rollup_cpu_us", st.rollup_cpu_us);
        jw_ku64(w, "rollup_budget_us", st.rollup_budget_us);
        jw_ku64(w, "write_cpu_us", st.write_cpu_us);
        jw_ku64(w, "snapshot_cpu_us", st.snapshot_cpu_us);
        jw_ku64(w, "cpu_total_us", st.cpu_total_us);
        jw_ku64(w, "list_cpu_total_us", st.list_cpu_total_us);
        jw_ku64(w, "wall_us", st.wall_us);
        jw_ku64(w, "write_errors", st.write_errors);
        jw_ku64(w, "auto_snapshots", st.auto_snapshots);
        jw_obj_end(w);
    }
    if (diff_pool) {
        ms_diffpool_stats ds;
        ms_diffpool_stats_get(diff_pool, &ds);
        jw_key(w, "diff_workspaces");
        jw_obj(w);
        jw_ku64(w, "kept", ds.kept);
        jw_ku64(w, "kept_bytes", ds.kept_bytes);
        jw_ku64(w, "made", ds.made);
        jw_ku64(w, "reused", ds.reused);
        jw_ku64(w, "released", ds.released);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* 503 with the store's reason when it cannot be used; true when it can. */
static bool store_ready(http_req *r)
{
    if (hist_store && ms_store_available(hist_store))
        return true;
    char reason[1024] = "history is off";
    if (hist_store)
        ms_store_status(hist_store, reason, sizeof reason);
    http_reply_error(r, http_status_of(MS_ERR_UNAVAILABLE), ms_errcode(MS_ERR_UNAVAILABLE),
                     "the history store is unavailable: %s", reason);
    return false;
}

/* since, until and step of a history query; replies 400 and returns false on a bad one. */
static bool hist_query(http_req *r, ms_hist_query *q)
{
    int64_t now = now_ms();
    uint64_t step = 0;
    memset(q, 0, sizeof *q);
    if (!http_arg_time(r, "since", now, now - HIST_DEFAULT_SPAN_MS, &q->since_ms) ||
        !http_arg_time(r, "until", now, now + 1, &q->until_ms) ||
        !http_arg_duration(r, "step", 0, 365ULL * 86400 * 1000, &step))
        return false;
    if (q->since_ms >= q->until_ms) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_range", "since must be before until");
        return false;
    }
    q->step_ms = (int64_t)step;
    q->max_points = HIST_MAX_POINTS;
    return true;
}

static void write_procid(jw *w, const ms_store_procid *id)
{
    jw_ki64(w, "pid", id->pid);
    jw_ku64(w, "start_time", id->start_time);
    jw_kstr(w, "name", id->name);
    jw_ki64(w, "first_seen", id->first_ms);
    jw_ki64(w, "last_seen", id->last_ms);
}

/* "count" and the list under key, each item an object written by one(). */
static void write_list(jw *w, const char *key, const void *items, size_t n, size_t elem,
                       void (*one)(jw *, const void *))
{
    jw_ku64(w, "count", n);
    jw_key(w, key);
    jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w);
        one(w, (const char *)items + i * elem);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void procid_item(jw *w, const void *id)
{
    write_procid(w, id);
}

/* The process behind {pid} (and ?start_time=) in the store; replies 404/503 on failure. */
static bool find_proc(http_req *r, int *pid, ms_store_procid *id)
{
    uint64_t start_time = 0;
    if (!http_param_pid(r, 0, pid) || !http_arg_u64(r, "start_time", INT64_MAX, &start_time))
        return false;
    if (!store_ready(r))
        return false;
    ms_err rc = ms_store_find_proc(hist_store, *pid, start_time, id);
    if (rc == MS_ERR_NOENT)
        http_reply_error(r, MHD_HTTP_NOT_FOUND, ms_errcode(rc), "pid %d was never seen by the sampler%s", *pid,
                         start_time ? " with that start_time" : "");
    else if (rc != MS_OK)
        http_reply_ms(r, rc, "looking up pid %d", *pid);
    return rc == MS_OK;
}

/* since, until, the step and tier used, the count, and the "points", each an object written by
 * point(). */
static void write_series(jw *w, const ms_hist_query *q, int64_t step_ms, const char *tier, const void *points,
                         size_t n, size_t elem, void (*point)(jw *, const void *))
{
    jw_ki64(w, "since", q->since_ms);
    jw_ki64(w, "until", q->until_ms);
    jw_ki64(w, "step_ms", step_ms);
    jw_kstr(w, "tier", tier);
    write_list(w, "points", points, n, elem, point);
}

static void proc_point(jw *w, const void *x)
{
    const ms_hist_point *p = x;
    jw_ki64(w, "t", p->t_ms);
    for (int f = 0; f < MS_HF__COUNT; f++) {
        if (!p->has_rollup && (f == MS_HF_PSS || f == MS_HF_USS))
            jw_knull(w, ms_hist_field_name((ms_hist_field)f));   /* not read: unknown, not 0 */
        else
            jw_ku64(w, ms_hist_field_name((ms_hist_field)f), p->v[f]);
    }
    jw_ku64(w, "rss_min", p->rss_min);
    jw_ku64(w, "rss_max", p->rss_max);
}

static void sys_point(jw *w, const void *x)
{
    const ms_sys_point *p = x;
    jw_ki64(w, "t", p->t_ms);
    for (int f = 0; f < MS_SYS__COUNT; f++)
        jw_ku64(w, ms_sys_field_name((ms_sys_field)f), p->v[f]);
}

enum MHD_Result h_hist_process(http_req *r)
{
    static const char *const allowed[] = {"since", "until", "step", "start_time", NULL};
    ms_hist_query q;
    ms_store_procid id;
    int pid;
    if (!http_args_check(r, allowed) || !hist_query(r, &q) || !find_proc(r, &pid, &id))
        return MHD_YES;
    ms_hist_series s;
    ms_err rc = ms_store_proc_history(hist_store, &id, &q, &s);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "reading the history of %d", pid);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    write_procid(&w, &id);
    write_series(&w, &q, s.step_ms, s.tier, s.p, s.n, sizeof *s.p, proc_point);
    jw_obj_end(&w);
    free(s.p);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

enum MHD_Result h_hist_system(http_req *r)
{
    static const char *const allowed[] = {"since", "until", "step", NULL};
    ms_hist_query q;
    if (!http_args_check(r, allowed) || !hist_query(r, &q) || !store_ready(r))
        return MHD_YES;
    ms_sys_series s;
    ms_err rc = ms_store_sys_history(hist_store, &q, &s);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "reading the system history");
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    write_series(&w, &q, s.step_ms, s.tier, s.p, s.n, sizeof *s.p, sys_point);
    jw_obj_end(&w);
    free(s.p);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

enum MHD_Result h_hist_processes(http_req *r)
{
    static const char *const allowed[] = {"since", "limit", NULL};
    int64_t now = now_ms(), since;
    uint64_t limit = SEEN_MAX;
    if (!http_args_check(r, allowed) || !http_arg_time(r, "since", now, now - HIST_DEFAULT_SPAN_MS, &since) ||
        !http_arg_u64(r, "limit", SEEN_MAX, &limit) || !store_ready(r))
        return MHD_YES;
    ms_store_procid *ids;
    size_t n;
    ms_err rc = ms_store_procs_seen(hist_store, since, (size_t)limit, &ids, &n);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "listing the processes seen");
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ki64(&w, "since", since);
    write_list(&w, "processes", ids, n, sizeof *ids, procid_item);
    jw_obj_end(&w);
    free(ids);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* ---- snapshots ---- */

static void write_snapinfo(jw *w, const ms_snapshot_info *s)
{
    jw_ki64(w, "id", s->id);
    jw_ki64(w, "pid", s->pid);
    jw_ku64(w, "start_time", s->start_time);
    jw_ki64(w, "t", s->t_ms);
    jw_kstr(w, "reason", s->reason);
    jw_ku64(w, "rss", s->rss);
    jw_ku64(w, "region_count", s->nregions);
    jw_ku64(w, "bytes", s->bytes);
}

static void snapinfo_item(jw *w, const void *s)
{
    write_snapinfo(w, s);
}

enum MHD_Result h_snap_create(http_req *r)
{
    static const char *const allowed[] = {NULL};
    int pid, dirfd;
    if (!http_args_check(r, allowed) || !http_param_pid(r, 0, &pid) || !store_ready(r))
        return MHD_YES;
    ms_err rc = ms_pid_open(pid, &dirfd);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "opening /proc/%d", pid);
    ms_snapshot_info info;
    rc = ms_store_snapshot_take(hist_store, dirfd, pid, "manual", now_ms(), &info);
    close(dirfd);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "taking a snapshot of %d", pid);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    write_snapinfo(&w, &info);
    jw_obj_end(&w);
    return http_reply_jw(r, MHD_HTTP_CREATED, &w, &b);
}

enum MHD_Result h_snap_list(http_req *r)
{
    static const char *const allowed[] = {"pid", NULL};
    int pid = 0;
    if (!http_args_check(r, allowed))
        return MHD_YES;
    const char *ps = http_arg_get(r, "pid");
    if (ps && !ms_parse_pid(ps, &pid))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_pid", "pid must be a positive decimal integer, got '%.32s'", ps);
    if (!store_ready(r))
        return MHD_YES;
    ms_snapshot_info *s;
    size_t n;
    ms_err rc = ms_store_snapshot_list(hist_store, pid, SNAP_LIST_MAX, &s, &n);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "listing snapshots");
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    write_list(&w, "snapshots", s, n, sizeof *s, snapinfo_item);
    jw_obj_end(&w);
    free(s);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* A snapshot id from s (a path capture or a query field named what); replies 400 if it is none. */
static bool parse_id(http_req *r, const char *s, const char *what, int64_t *id)
{
    uint64_t v;
    if (!s || !ms_parse_u64(s, INT64_MAX, &v) || v == 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_id", "%s must be a snapshot id (a positive integer), got '%.32s'",
                         what, s ? s : "");
        return false;
    }
    *id = (int64_t)v;
    return true;
}

static bool param_id(http_req *r, int idx, const char *what, int64_t *id)
{
    return parse_id(r, idx < r->nparams ? r->params[idx] : NULL, what, id);
}

static bool query_id(http_req *r, const char *what, int64_t *id)
{
    return parse_id(r, http_arg_get(r, what), what, id);
}

/* Loads snapshot id (its smaps parsed into sm); replies 404/503/500 and returns false on failure. */
static bool load_snapshot(http_req *r, int64_t id, ms_snapshot_info *info, ms_smaps *sm)
{
    ms_err rc = ms_store_snapshot_load(hist_store, id, info, sm);
    if (rc == MS_ERR_NOENT)
        http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_snapshot", "no snapshot %" PRId64, id);
    else if (rc != MS_OK)
        http_reply_ms(r, rc, "reading snapshot %" PRId64, id);
    return rc == MS_OK;
}

static void write_region_fields(jw *w, const ms_smaps *sm, const ms_region *g)
{
    char name[96];
    jw_key(w, "fields");
    jw_obj(w);
    size_t nf;
    const ms_smaps_field *fs = ms_smaps_fields_of(sm, g, &nf);
    for (size_t k = 0; k < nf; k++) {
        const ms_smaps_field *f = &fs[k];
        jw_key(w, ms_smaps_json_name(f->name, f->name_len, name, sizeof name));
        if (f->is_number)
            jw_u64(w, f->value);
        else
            jw_strn(w, f->raw, f->raw_len);
    }
    jw_obj_end(w);
    const ms_smaps_extra *x = ms_smaps_extra_of(sm, g);
    jw_kstrn(w, "vm_flags", x->vmflags ? x->vmflags : "", x->vmflags ? x->vmflags_len : 0);
}

static void write_totals_obj(jw *w, const char *key, const ms_smaps_totals *t)
{
    jw_key(w, key);
    jw_obj(w);
    enc_totals(w, t);
    jw_obj_end(w);
}

enum MHD_Result h_snap_get(http_req *r)
{
    static const char *const allowed[] = {NULL};
    int64_t id;
    if (!http_args_check(r, allowed) || !param_id(r, 0, "id", &id) || !store_ready(r))
        return MHD_YES;
    ms_smaps sm;
    ms_smaps_init(&sm);
    ms_snapshot_info info;
    if (!load_snapshot(r, id, &info, &sm)) {
        ms_smaps_free(&sm);
        return MHD_YES;
    }
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    write_snapinfo(&w, &info);
    jw_key(&w, "regions");
    jw_arr(&w);
    for (size_t i = 0; i < sm.maps.nregions; i++) {
        const ms_region *g = &sm.maps.regions[i];
        jw_obj(&w);
        enc_region_head(&w, g);
        write_region_fields(&w, &sm, g);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    ms_smaps_totals t;
    ms_smaps_totals_of(&sm, 0, sm.maps.nregions, &t);
    write_totals_obj(&w, "totals", &t);
    jw_ku64(&w, "uss", ms_smaps_uss(&t));
    jw_obj_end(&w);
    ms_smaps_free(&sm);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

enum MHD_Result h_snap_delete(http_req *r)
{
    static const char *const allowed[] = {NULL};
    int64_t id;
    if (!http_args_check(r, allowed) || !param_id(r, 0, "id", &id) || !store_ready(r))
        return MHD_YES;
    ms_err rc = ms_store_snapshot_delete(hist_store, id);
    if (rc == MS_ERR_NOENT)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_snapshot", "no snapshot %" PRId64, id);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "deleting snapshot %" PRId64, id);
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ki64(&w, "deleted", id);
    jw_obj_end(&w);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}

/* ---- diff ---- */

/* /proc/<pid> into *dirfd, if pid is still the process with start_time (0: any). */
static ms_err open_same(int pid, uint64_t start_time, int *dirfd)
{
    ms_err rc = ms_pid_open(pid, dirfd);
    if (rc != MS_OK)
        return rc;
    ms_stat st;
    rc = ms_stat_read(*dirfd, &st);
    if (rc == MS_OK && start_time && st.starttime != start_time)
        rc = MS_ERR_NOENT;            /* the pid now names another process */
    if (rc != MS_OK)
        close(*dirfd);
    return rc;
}

static void write_delta(jw *w, const ms_smaps_totals *a, const ms_smaps_totals *b)
{
    jw_key(w, "delta");
    jw_obj(w);
    for (int i = 0; i < MS_SF__COUNT; i++)
        if ((a->seen[i] || b->seen[i]) && i != MS_SF_KERNEL_PAGE_SIZE && i != MS_SF_MMU_PAGE_SIZE &&
            i != MS_SF_THP_ELIGIBLE && i != MS_SF_PROTECTION_KEY)
            jw_ki64(w, ms_smaps_field_name((ms_smaps_field_id)i), (int64_t)b->v[i] - (int64_t)a->v[i]);
    jw_obj_end(w);
}

/* The fields an answer's "figures" give, in their order: those either end has, as its "fields". */
typedef struct {
    int id[MS_SF__COUNT];
    size_t n;
} figure_fields;

static void figure_fields_of(const ms_smaps_totals *a, const ms_smaps_totals *b, figure_fields *ff)
{
    ff->n = 0;
    for (int i = 0; i < MS_SF__COUNT; i++)
        if (a->seen[i] || b->seen[i])
            ff->id[ff->n++] = i;
}

static void write_figure_fields(jw *w, const figure_fields *ff)
{
    jw_key(w, "fields");
    jw_arr(w);
    for (size_t k = 0; k < ff->n; k++)
        jw_str(w, ms_smaps_field_name((ms_smaps_field_id)ff->id[k]));
    jw_arr_end(w);
}

/* An entry's members, built in a local buffer and appended at once (a 10,000-region diff writes
 * ten of them per entry): everything but the figures, and the sizes only when asked (an entry
 * whose figures did not change has them once, as its figures' size). */
static void write_entry_head(jw *w, const ms_diff_entry *e, bool sizes)
{
    char b[256];
    size_t n = 0;
    n += JW_LIT(b + n, "\"start\":\"");
    n += jw_fmt_hex(b + n, e->start);
    n += JW_LIT(b + n, "\",\"end\":\"");
    n += jw_fmt_hex(b + n, e->end);
    b[n++] = '"';
    jw_members_raw(w, b, n);
    JW_KEY(w, "path");
    jw_strn(w, e->path, e->path_len);
    const char *kind = ms_region_kind_name(e->kind), *change = ms_diff_change_name(e->change);
    size_t kl = strlen(kind), cl = strlen(change);
    n = JW_LIT(b, "\"kind\":\"");
    memcpy(b + n, kind, kl);
    n += kl;
    n += JW_LIT(b + n, "\",\"change\":\"");
    memcpy(b + n, change, cl);
    n += cl;
    n += e->moved ? JW_LIT(b + n, "\",\"moved\":true") : JW_LIT(b + n, "\",\"moved\":false");
    n += JW_LIT(b + n, ",\"regions_before\":");
    n += jw_fmt_u64(b + n, e->nbefore);
    n += JW_LIT(b + n, ",\"regions_after\":");
    n += jw_fmt_u64(b + n, e->nafter);
    if (sizes) {
        n += JW_LIT(b + n, ",\"size_before\":");
        n += jw_fmt_u64(b + n, e->size_before);
        n += JW_LIT(b + n, ",\"size_after\":");
        n += jw_fmt_u64(b + n, e->size_after);
    }
    jw_members_raw(w, b, n);
}

/* t's figures as an array in the order of ff (null for a field its regions do not have). */
static void write_figures(jw *w, const figure_fields *ff, const ms_smaps_totals *t)
{
    char b[16 + MS_SF__COUNT * 21];
    size_t n = JW_LIT(b, "\"figures\":[");
    for (size_t k = 0; k < ff->n; k++) {
        if (k)
            b[n++] = ',';
        int id = ff->id[k];
        n += t->seen[id] ? jw_fmt_u64(b + n, t->v[id]) : JW_LIT(b + n, "null");
    }
    b[n++] = ']';
    jw_members_raw(w, b, n);
}

/* write_figures for one region's figures as read (its non-zero values in id order, as ff is). */
static void write_figures_of(jw *w, const figure_fields *ff, const ms_snapfig *g, const uint64_t *val)
{
    char b[16 + MS_SF__COUNT * 21];
    size_t n = JW_LIT(b, "\"figures\":[");
    for (size_t k = 0; k < ff->n; k++) {
        if (k)
            b[n++] = ',';
        uint32_t bit = (uint32_t)1 << ff->id[k];
        if (!(g->seen & bit))
            n += JW_LIT(b + n, "null");
        else if (g->nz & bit)
            n += jw_fmt_u64(b + n, *val++);
        else
            b[n++] = '0';
    }
    b[n++] = ']';
    jw_members_raw(w, b, n);
}

static void write_entry(jw *w, const figure_fields *ff, const ms_diff_entry *e)
{
    /* Most of a process's regions do not change between two readings: such an entry's figures
     * are given once, as an array in the order of the answer's "fields", not as before, an equal
     * after and a zero delta, each naming every field (a fifth of the size). */
    bool same = memcmp(e->before.v, e->after.v, sizeof e->before.v) == 0 &&
                memcmp(e->before.seen, e->after.seen, sizeof e->before.seen) == 0;
    jw_obj(w);
    write_entry_head(w, e, !same);
    if (same) {
        write_figures(w, ff, &e->before);
    } else {
        write_totals_obj(w, "before", &e->before);
        write_totals_obj(w, "after", &e->after);
        write_delta(w, &e->before, &e->after);
    }
    jw_obj_end(w);
}

/* Diff entries summed by path or by kind, sorted like the entries. */
typedef struct {
    const char *key;
    size_t key_len;
    ms_smaps_totals before, after;
    size_t entries;
} diff_group;

static void totals_sum(ms_smaps_totals *into, const ms_smaps_totals *t)
{
    for (int i = 0; i < MS_SF__COUNT; i++) {
        into->v[i] += t->v[i];
        into->seen[i] = into->seen[i] || t->seen[i];
    }
}

static int group_cmp(const void *x, const void *y)
{
    const diff_group *a = x, *b = y;
    int64_t da = llabs((int64_t)a->after.v[MS_SF_RSS] - (int64_t)a->before.v[MS_SF_RSS]);
    int64_t db = llabs((int64_t)b->after.v[MS_SF_RSS] - (int64_t)b->before.v[MS_SF_RSS]);
    return da != db ? (da > db ? -1 : 1) : 0;
}

/* One end of a diff, read as an index (in a workspace kept between diffs): a stored snapshot's
 * blob decoded, or the live smaps as it streams by.  Neither holds smaps text or a parsed field
 * array: a 10,000-region process is ~2 MB here instead of ~20 MB. */

/* A stored snapshot as a diff end.  One kept as text (from before the binary form) is parsed and
 * encoded first. */
static ms_err end_from_snapshot(int64_t id, ms_snapshot_info *info, ms_diffend *d)
{
    ms_err rc = ms_store_snapshot_get(hist_store, id, info, &d->blob);
    if (rc == MS_OK && info->format == MS_SNAP_TEXT) {
        ms_smaps sm;
        ms_smaps_init(&sm);
        sm.maps.buf = d->blob;
        ms_buf_init(&d->blob, 0);
        rc = ms_smaps_parse(&sm);
        if (rc == MS_OK)
            rc = ms_snapcodec_encode(&sm, &d->blob);
        ms_smaps_free(&sm);
    }
    if (rc == MS_OK)
        rc = ms_snapview_open(&d->v, d->blob.data, d->blob.len);
    return rc;
}

/* The entry each region of the live end would have if it turned out unchanged (one region on each
 * side, at the same place, with the same figures: most of them), written into the workspace's text
 * as the region is read, while the kernel prints the next ones, so that once the read is over most
 * of the answer is copied rather than formatted.  Its figures are in the order of the region's own
 * fields; diff_write_entry uses the text only when those are the answer's "fields". */
typedef struct {
    ms_diffwork *work;
    bool ok;                  /* every region's text is there */
} live_text;

static void live_text_each(void *ctx, const ms_snapview *v, size_t i, const char *path, size_t path_len)
{
    live_text *t = ctx;
    ms_diffwork *wk = t->work;
    if (!t->ok || (i + 2 > wk->text_cap &&
                   ms_grow((void **)&wk->text_at, &wk->text_cap, i + 2, sizeof *wk->text_at, 1024, 0) != MS_OK)) {
        t->ok = false;
        return;
    }
    const ms_region *g = &v->regions[i];
    const ms_snapfig *fig = &v->figs[i];
    figure_fields ff = {.n = 0};
    for (uint32_t m = fig->seen; m; m &= m - 1)
        ff.id[ff.n++] = __builtin_ctz(m);
    ms_diff_entry e = {.start = g->start, .end = g->end, .path = path, .path_len = path_len, .kind = g->kind,
                       .change = MS_DIFF_SAME, .nbefore = 1, .nafter = 1};
    jw w;
    jw_init(&w, &wk->text);         /* members at the top level: no braces, commas between them */
    wk->text_at[i] = wk->text.len;
    write_entry_head(&w, &e, false);
    write_figures_of(&w, &ff, fig, v->vals + fig->at);
    wk->text_at[i + 1] = wk->text.len;
    t->ok = w.err == MS_OK;
}

/* The live smaps of pid as a diff end, if pid is still the process with start_time; with lt, each
 * region's text as live_text_each writes it. */
static ms_err end_from_live(int pid, uint64_t start_time, uint64_t page_size, ms_diffend *d, live_text *lt)
{
    int dirfd;
    ms_err rc = open_same(pid, start_time, &dirfd);
    if (rc != MS_OK)
        return rc;
    if (lt)
        ms_buf_reset(&lt->work->text);
    rc = ms_snapview_read_each(&d->v, dirfd, page_size, lt ? live_text_each : NULL, lt);
    close(dirfd);
    return rc;
}

/* The stored end a diff reads on a helper thread while the request's own thread reads the other
 * (for a diff against now, while the kernel prints smaps): the workspace lends it its end a, and
 * takes it back at the join. */
typedef struct {
    int64_t id;
    ms_diffend *d;
    ms_err rc;
} end_job;

static void *end_job_main(void *arg)
{
    end_job *j = arg;
    ms_snapshot_info info;
    j->rc = end_from_snapshot(j->id, &info, j->d);
    return NULL;
}

/* Both ends of a diff: from's snapshot into a, to's (or, to 0, pid's live smaps) into b, at once.
 * On failure *bad is the snapshot that failed, or *live_failed is set. */
static ms_err diff_ends(ms_diffend *a, ms_diffend *b, int64_t from, int64_t to, int pid, uint64_t start_time,
                        uint64_t page_size, live_text *lt, int64_t *bad, bool *live_failed)
{
    end_job ja = {.id = from, .d = a, .rc = MS_OK};
    pthread_t th;
    bool helper = pthread_create(&th, NULL, end_job_main, &ja) == 0;
    if (!helper)
        end_job_main(&ja);
    ms_snapshot_info ib;
    ms_err rb = to ? end_from_snapshot(to, &ib, b) : end_from_live(pid, start_time, page_size, b, lt);
    if (helper)
        pthread_join(th, NULL);
    *bad = from;
    if (ja.rc != MS_OK)
        return ja.rc;
    *bad = to;
    *live_failed = !to;
    return rb;
}

/* A diff answer, written as it is sent: its two ends (to 0: the live process), the totals of
 * each, the groups on request, and every entry, whose figures are summed from its regions as it
 * is written. */
typedef struct {
    jw w;
    int pid;
    int64_t from, from_t, to, to_t;
    int group;                /* 0: no groups, 1: by path, 2: by kind */
    ms_diffwork *work;        /* taken from diff_pool for this answer, given back with it */
    ms_diffend *a, *b;        /* work's ends */
    ms_diff_piece *p;         /* in work */
    size_t n, next;
    const size_t *members;    /* in work */
    figure_fields ff;
    uint32_t ff_mask;         /* bit id: ff has field id */
    bool live_text;           /* work's text holds the live end's entries (live_text_each) */
    bool started;
} diff_stream;

static void diff_stream_free(void *ctx)
{
    diff_stream *x = ctx;
    ms_diffpool_give(diff_pool, x->work);
    free(x);
}

/* Piece i with its figures. */
static void diff_entry_of(const diff_stream *x, size_t i, ms_diff_entry *e)
{
    const ms_diff_piece *q = &x->p[i];
    *e = (ms_diff_entry){.start = q->start, .end = q->end, .path = q->path, .path_len = q->path_len,
                         .kind = q->kind, .change = q->change, .moved = q->moved, .nbefore = q->nbefore,
                         .nafter = q->nafter, .size_before = q->size_before, .size_after = q->size_after};
    for (size_t k = 0; k < q->nbefore; k++)
        ms_snapview_add(&x->a->v, x->members[q->first + k], &e->before);
    for (size_t k = q->nbefore; k < q->nbefore + q->nafter; k++)
        ms_snapview_add(&x->b->v, x->members[q->first + k], &e->after);
}

/* Piece i, when it is one region on each side, at the same place, with every figure the same:
 * most of a process's regions between two readings.  Its entry is then told from the two regions'
 * figures as read (compared without summing them into totals) and written from one of them. */
static bool diff_unchanged_one(const diff_stream *x, size_t i, const ms_snapfig **fig, const uint64_t **vals)
{
    const ms_diff_piece *q = &x->p[i];
    if (q->nbefore != 1 || q->nafter != 1 || q->moved)
        return false;
    size_t ia = x->members[q->first], ib = x->members[q->first + 1];
    const ms_region *ra = &x->a->v.regions[ia], *rb = &x->b->v.regions[ib];
    const ms_snapfig *fa = &x->a->v.figs[ia], *fb = &x->b->v.figs[ib];
    if (ra->start != rb->start || ra->end != rb->end || fa->seen != fb->seen || fa->nz != fb->nz)
        return false;
    const uint64_t *va = x->a->v.vals + fa->at, *vb = x->b->v.vals + fb->at;
    if (memcmp(va, vb, (size_t)__builtin_popcount(fb->nz) * sizeof *vb) != 0)
        return false;
    *fig = fb;
    *vals = vb;
    return true;
}

/* Piece i's entry as write_entry writes it. */
static void diff_write_entry(diff_stream *x, size_t i)
{
    jw *w = &x->w;
    const ms_snapfig *g;
    const uint64_t *val;
    if (!diff_unchanged_one(x, i, &g, &val)) {
        ms_diff_entry e;
        diff_entry_of(x, i, &e);
        write_entry(w, &x->ff, &e);
        return;
    }
    size_t ib = (size_t)(g - x->b->v.figs);
    if (x->live_text && g->seen == x->ff_mask) {
        const size_t *at = x->work->text_at;
        jw_obj(w);
        jw_members_raw(w, x->work->text.data + at[ib], at[ib + 1] - at[ib]);
        jw_obj_end(w);
        return;
    }
    const ms_diff_piece *q = &x->p[i];
    ms_diff_entry e = {.start = q->start, .end = q->end, .path = q->path, .path_len = q->path_len,
                       .kind = q->kind, .change = q->change, .moved = q->moved, .nbefore = 1, .nafter = 1};
    jw_obj(w);
    write_entry_head(w, &e, false);
    write_figures_of(w, &x->ff, g, val);
    jw_obj_end(w);
}

static ms_err write_groups(diff_stream *x, bool by_kind)
{
    jw *w = &x->w;
    diff_group *g = calloc(x->n + 1, sizeof *g);
    if (!g)
        return MS_ERR_NOMEM;
    size_t ng = 0;
    for (size_t i = 0; i < x->n; i++) {
        ms_diff_entry e;
        diff_entry_of(x, i, &e);
        const char *key = by_kind ? ms_region_kind_name(e.kind) : e.path;
        size_t kl = by_kind ? strlen(key) : e.path_len, j = 0;
        while (j < ng && !(g[j].key_len == kl && memcmp(g[j].key, key, kl) == 0))
            j++;
        if (j == ng) {
            g[ng].key = key;
            g[ng++].key_len = kl;
        }
        totals_sum(&g[j].before, &e.before);
        totals_sum(&g[j].after, &e.after);
        g[j].entries++;
    }
    qsort(g, ng, sizeof *g, group_cmp);
    jw_key(w, "groups");
    jw_arr(w);
    for (size_t j = 0; j < ng; j++) {
        jw_obj(w);
        jw_kstrn(w, by_kind ? "kind" : "path", g[j].key, g[j].key_len);
        jw_ku64(w, "entries", g[j].entries);
        write_totals_obj(w, "before", &g[j].before);
        write_totals_obj(w, "after", &g[j].after);
        write_delta(w, &g[j].before, &g[j].after);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    free(g);
    return MS_OK;
}

static ms_err diff_fill(void *ctx, ms_buf *b, size_t want, bool *done)
{
    diff_stream *x = ctx;
    jw *w = &x->w;
    w->b = b;               /* the stream's buffer is emptied between calls, the writer's state kept */
    if (!x->started) {
        x->started = true;
        jw_obj(w);
        jw_ki64(w, "pid", x->pid);
        jw_ki64(w, "from", x->from);
        jw_ki64(w, "from_t", x->from_t);
        if (x->to)
            jw_ki64(w, "to", x->to);
        else
            jw_knull(w, "to");
        jw_ki64(w, "to_t", x->to_t);
        jw_key(w, "totals");
        jw_obj(w);
        write_totals_obj(w, "before", &x->a->v.total);
        write_totals_obj(w, "after", &x->b->v.total);
        write_delta(w, &x->a->v.total, &x->b->v.total);
        jw_obj_end(w);
        figure_fields_of(&x->a->v.total, &x->b->v.total, &x->ff);
        for (size_t k = 0; k < x->ff.n; k++)
            x->ff_mask |= (uint32_t)1 << x->ff.id[k];
        write_figure_fields(w, &x->ff);
        jw_ku64(w, "count", x->n);
        if (x->group) {
            ms_err rc = write_groups(x, x->group == 2);
            if (rc != MS_OK)
                return rc;
        }
        jw_key(w, "regions");
        jw_arr(w);
    }
    while (b->len < want && x->next < x->n && w->err == MS_OK)
        diff_write_entry(x, x->next++);
    if (x->next == x->n) {
        jw_arr_end(w);
        jw_obj_end(w);
        *done = true;
    }
    return w->err;
}

enum MHD_Result h_diff(http_req *r)
{
    static const char *const allowed[] = {"from", "to", "group", NULL};
    int pid;
    int64_t from, to = 0;
    if (!http_args_check(r, allowed) || !http_param_pid(r, 0, &pid))
        return MHD_YES;
    if (!http_arg_get(r, "from"))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_field", "query field 'from' (a snapshot id) is required");
    const char *group = http_arg_get(r, "group");
    if (group && strcmp(group, "path") && strcmp(group, "kind"))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_group", "group must be path or kind, got '%.32s'", group);
    if (!query_id(r, "from", &from) || (http_arg_get(r, "to") && !query_id(r, "to", &to)) ||
        !store_ready(r))
        return MHD_YES;
    diff_stream *x = calloc(1, sizeof *x);
    if (!x || !(x->work = ms_diffpool_take(diff_pool))) {
        free(x);
        return http_reply_ms(r, MS_ERR_NOMEM, "diffing");
    }
    x->a = &x->work->a;
    x->b = &x->work->b;
    jw_init(&x->w, NULL);
    enum MHD_Result ret = MHD_YES;
    ms_snapshot_info ia, ib = {0};
    int64_t bad = from;
    ms_err rc = ms_store_snapshot_get(hist_store, from, &ia, NULL);
    if (rc == MS_OK && to) {
        bad = to;
        rc = ms_store_snapshot_get(hist_store, to, &ib, NULL);
    }
    if (rc == MS_OK && (ia.pid != pid || (to && (ib.pid != pid || ib.start_time != ia.start_time)))) {
        ret = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "wrong_process",
                               "the snapshots must both be of pid %d (the same process)", pid);
        goto out;
    }
    x->to_t = to ? ib.t_ms : now_ms();
    bool live_failed = false;
    live_text lt = {.work = x->work, .ok = true};
    if (rc == MS_OK)
        rc = diff_ends(x->a, x->b, from, to, pid, ia.start_time, (uint64_t)r->srv->sys.page_size, to ? NULL : &lt,
                       &bad, &live_failed);
    x->live_text = !to && lt.ok;
    if (rc == MS_OK) {
        ms_diff_side sa = {x->a->v.regions, x->a->v.rss, x->a->v.n}, sb = {x->b->v.regions, x->b->v.rss, x->b->v.n};
        rc = ms_diff_match_in(&x->work->match, &sa, &sb, &x->p, &x->n, &x->members);
    }
    if (rc == MS_ERR_NOENT && !live_failed) {
        ret = http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_snapshot", "no snapshot %" PRId64, bad);
        goto out;
    } else if (rc != MS_OK) {
        ret = live_failed ? http_reply_ms(r, rc, "reading smaps of %d", pid)
                          : http_reply_ms(r, rc, "reading snapshot %" PRId64, bad);
        goto out;
    }
    x->pid = pid;
    x->from = from;
    x->from_t = ia.t_ms;
    x->to = to;
    x->group = !group ? 0 : strcmp(group, "kind") == 0 ? 2 : 1;
    char what[64];
    snprintf(what, sizeof what, "diffing snapshot %" PRId64 " of %d", from, pid);
    return http_reply_stream(r, "application/json", x, diff_fill, diff_stream_free, what);
out:
    diff_stream_free(x);
    return ret;
}

/* ---- growth ---- */

/* The regions (and kinds) that grew, from the snapshot nearest the window's start to now (or to
 * the latest snapshot if the process is gone).  Writes null when no snapshot allows it.  Matched
 * as a diff is, in a workspace of the diffs' pool, over each end's index (its Rss is all this
 * needs), not over two parsed smaps. */
static void write_grown_regions(jw *w, const ms_store_procid *id, int64_t since, uint64_t page_size)
{
    ms_snapshot_info base, last, info;
    ms_diffwork *work = ms_diffpool_take(diff_pool);
    ms_diff_piece *e = NULL;
    size_t n = 0;
    const size_t *members;
    ms_err rc = work ? ms_store_snapshot_baseline(hist_store, id, since, &base) : MS_ERR_NOMEM;
    if (rc == MS_OK)
        rc = end_from_snapshot(base.id, &info, &work->a);
    if (rc == MS_OK && end_from_live(id->pid, id->start_time, page_size, &work->b, NULL) != MS_OK) {
        rc = ms_store_snapshot_baseline(hist_store, id, INT64_MAX, &last);
        if (rc == MS_OK && last.id == base.id)
            rc = MS_ERR_NOENT;
        if (rc == MS_OK)
            rc = end_from_snapshot(last.id, &info, &work->b);
    }
    if (rc == MS_OK) {
        ms_diff_side sa = {work->a.v.regions, work->a.v.rss, work->a.v.n};
        ms_diff_side sb = {work->b.v.regions, work->b.v.rss, work->b.v.n};
        rc = ms_diff_match_in(&work->match, &sa, &sb, &e, &n, &members);
    }
    if (rc != MS_OK) {
        jw_knull(w, "regions");
        jw_knull(w, "kinds");
        goto out;
    }
    jw_ki64(w, "baseline_snapshot", base.id);
    jw_key(w, "regions");
    jw_arr(w);
    for (size_t i = 0, shown = 0; i < n && shown < GROWTH_TOP_REGIONS; i++) {
        int64_t d = (int64_t)e[i].rss_after - (int64_t)e[i].rss_before;
        if (d <= 0)
            continue;
        shown++;
        jw_obj(w);
        jw_khex(w, "start", e[i].start);
        jw_khex(w, "end", e[i].end);
        jw_kstrn(w, "path", e[i].path, e[i].path_len);
        jw_kstr(w, "kind", ms_region_kind_name(e[i].kind));
        jw_kstr(w, "change", ms_diff_change_name(e[i].change));
        jw_ki64(w, "rss_delta", d);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    int64_t kinds[MS_KIND__COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        kinds[e[i].kind] += (int64_t)e[i].rss_after - (int64_t)e[i].rss_before;
    jw_key(w, "kinds");
    jw_obj(w);
    for (int k = 0; k < MS_KIND__COUNT; k++)
        if (kinds[k] > 0)
            jw_ki64(w, ms_region_kind_name((ms_region_kind)k), kinds[k]);
    jw_obj_end(w);
out:
    ms_diffpool_give(diff_pool, work);
}

/* Series of one process as arrays for the fit; false when it has no points. */
static bool proc_series(const ms_store_procid *id, const ms_hist_query *q, int64_t **t, uint64_t **v, size_t *n)
{
    ms_hist_series s;
    *t = NULL;
    *v = NULL;
    *n = 0;
    if (ms_store_proc_history(hist_store, id, q, &s) != MS_OK || s.n == 0) {
        free(s.p);
        return false;
    }
    *t = malloc(s.n * sizeof **t);
    *v = malloc(s.n * sizeof **v);
    if (*t && *v) {
        for (size_t i = 0; i < s.n; i++) {
            (*t)[i] = s.p[i].t_ms;
            (*v)[i] = s.p[i].v[MS_HF_RSS];
        }
        *n = s.n;
    }
    free(s.p);
    return *n > 0;
}

/* Writes id's entry if its RSS grew steadily over the window; false when it did not. */
static bool write_growth(jw *w, const ms_store_procid *id, const ms_hist_query *q, uint64_t window,
                         uint64_t page_size)
{
    int64_t *t;
    uint64_t *v;
    size_t n;
    ms_growth g;
    memset(&g, 0, sizeof g);
    if (proc_series(id, q, &t, &v, &n))
        ms_growth_fit(t, v, n, (int64_t)window, GROWTH_MIN_RISE, &g);
    if (g.steady) {
        jw_obj(w);
        write_procid(w, id);
        jw_key(w, "slope");
        jw_double(w, g.slope);
        jw_key(w, "r2");
        jw_double(w, g.r2);
        jw_ku64(w, "points", n);
        jw_ki64(w, "first_t", t[0]);
        jw_ki64(w, "last_t", t[n - 1]);
        jw_ku64(w, "first", g.v_first);
        jw_ku64(w, "last", g.v_last);
        write_grown_regions(w, id, q->since_ms, page_size);
        jw_obj_end(w);
    }
    free(t);
    free(v);
    return g.steady;
}

enum MHD_Result h_growth(http_req *r)
{
    static const char *const allowed[] = {"window", NULL};
    uint64_t window = 30 * 60 * 1000;
    if (!http_args_check(r, allowed) || !http_arg_duration(r, "window", GROWTH_MIN_WINDOW_MS, GROWTH_MAX_WINDOW_MS, &window) ||
        !store_ready(r))
        return MHD_YES;
    int64_t now = now_ms(), since = now - (int64_t)window;
    ms_store_procid *ids;
    size_t nids;
    ms_err rc = ms_store_procs_seen(hist_store, since, SEEN_MAX, &ids, &nids);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "listing the processes seen");
    ms_hist_query q = {.since_ms = since, .until_ms = now + 1, .step_ms = 0, .max_points = HIST_MAX_POINTS};
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ku64(&w, "window_ms", window);
    jw_ki64(&w, "since", since);
    jw_ki64(&w, "until", now);
    jw_kstr(&w, "field", "rss");
    jw_key(&w, "processes");
    jw_arr(&w);
    size_t found = 0;
    for (size_t i = 0; i < nids; i++)
        found += write_growth(&w, &ids[i], &q, window, (uint64_t)r->srv->sys.page_size);
    jw_arr_end(&w);
    jw_ku64(&w, "count", found);
    jw_ku64(&w, "examined", nids);
    jw_obj_end(&w);
    free(ids);
    return http_reply_jw(r, MHD_HTTP_OK, &w, &b);
}
