/* routes.h - handlers that live outside routes.c: the dashboard's files, experiments, metrics. */
#ifndef MEMSCOPE_ROUTES_H
#define MEMSCOPE_ROUTES_H

#include "http.h"

enum MHD_Result h_static(http_req *r);

/* routes.c: drops the cached process list (at shutdown). */
void routes_list_cache_clear(void);
/* GET /metrics (metrics.c): Prometheus text format. */
enum MHD_Result h_metrics(http_req *r);

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

#endif
