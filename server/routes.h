/* routes.h - handlers that live outside routes.c: the dashboard's files, experiments, metrics. */
#ifndef MEMSCOPE_ROUTES_H
#define MEMSCOPE_ROUTES_H

#include "http.h"

enum MHD_Result h_static(http_req *r);
/* GET /metrics (metrics.c): Prometheus text format. */
enum MHD_Result h_metrics(http_req *r);

#endif
