/* routes.h - handlers that live outside routes.c: the dashboard's files, experiments, metrics. */
#ifndef MEMSCOPE_ROUTES_H
#define MEMSCOPE_ROUTES_H

#include "core/psscache.h"
#include "core/proclist.h"
#include "http.h"
#include "jw.h"

enum MHD_Result h_static(http_req *r);
/* static.c: If-None-Match inm matches etag (weak comparison, "*" matches all). */
bool none_match_hit(const char *inm, const char *etag);
/* GET /api/v1/openapi.json (routes_openapi.c): the OpenAPI document compiled in from
 * server/openapi.json. */
enum MHD_Result h_openapi(http_req *r);
extern const unsigned char ms_openapi_doc[];
extern const size_t ms_openapi_doc_len;


/* routes_exp.c */
enum MHD_Result h_exp_start(http_req *r);
enum MHD_Result h_exp_list(http_req *r);
enum MHD_Result h_exp_presets(http_req *r);
enum MHD_Result h_exp_get(http_req *r);
enum MHD_Result h_exp_delete(http_req *r);
enum MHD_Result h_exp_events(http_req *r);
/* The waker that resumes parked event streams; stop it before stopping the daemon. */
void routes_exp_start(void);
void routes_exp_stop(void);

/* routes.c, for the handlers of routes_fast.c: opening /proc/<pid> (replies on failure). */
bool routes_open_pid(http_req *r, int *pid, int *dirfd);

/* routes_fast.c: /maps?rss=1 (called by h_maps), /processes?fields=pss,uss, /wss */
enum MHD_Result h_maps_rss(http_req *r);
/* /processes?fields=pss,uss (for h_processes): parses fields and pss_budget_ms (replies 400 and
 * returns false on a bad one); computes the figures of p[0..n) (*res malloc'ed, NULL on failure;
 * encode.c writes them). */
bool routes_pss_args(http_req *r, bool *want, uint64_t *budget_ns);
ms_err routes_pss_compute(const ms_procinfo *p, size_t n, uint64_t budget_ns, ms_pss_result **res,
                          ms_pss_stats *st);
/* GET /processes/{pid}/wss?interval_ms=N: the working set by clear_refs (--allow-clear-refs). */
enum MHD_Result h_wss(http_req *r);
/* Drops the PSS cache (at shutdown, so nothing is left for the leak checker). */
void routes_fast_clear(void);
/* routes.c: finishes a JSON answer written into b and replies 200 with it (or the encoding error). */
enum MHD_Result reply_writer(http_req *r, jw *w, ms_buf *b);

/* routes_cgroup.c: cgroups, OOM events, and a process's cgroup. */
enum MHD_Result h_cgroups(http_req *r);
enum MHD_Result h_cgroup(http_req *r);
enum MHD_Result h_events(http_req *r);
/* Writes the "cgroup" and "container" members of the process at pid_dirfd (null when unknown). */
void routes_cgroup_write_proc(jw *w, int pid_dirfd);
/* Keeps the processes that ?cgroup=PATH (that cgroup or below) and ?container=ID name; replies 400
 * and returns false on a bad value.  owned: l owns its entries' cmdlines (dropped ones are freed). */
bool routes_cgroup_filter(http_req *r, ms_proclist *l, bool owned);

#endif
