/* routes_history.h - the history routes: series, snapshots, diffs and growth (routes_history.c). */
#ifndef MEMSCOPE_ROUTES_HISTORY_H
#define MEMSCOPE_ROUTES_HISTORY_H

#include "http.h"
#include "jw.h"
#include "sampler.h"
#include "store/store.h"

/* Set once in main() before the daemon starts and cleared after it stopped; read-only between (the
 * store and the sampler lock themselves).  main() owns both.  sampler may be NULL (interval 0). */
void routes_history_init(ms_store *store, ms_sampler *sampler, uint64_t interval_ms);
/* The "history" member of /api/v1/health. */
void routes_history_health(jw *w);

enum MHD_Result h_hist_process(http_req *r);
enum MHD_Result h_hist_system(http_req *r);
enum MHD_Result h_hist_processes(http_req *r);
enum MHD_Result h_snap_create(http_req *r);
enum MHD_Result h_snap_list(http_req *r);
enum MHD_Result h_snap_get(http_req *r);
enum MHD_Result h_snap_delete(http_req *r);
enum MHD_Result h_diff(http_req *r);
enum MHD_Result h_growth(http_req *r);

#endif
