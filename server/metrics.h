/* metrics.h - GET /metrics, and the counters other server modules feed into it (metrics.c).
 * Experiments report through experiments_counts. */
#ifndef MEMSCOPE_METRICS_H
#define MEMSCOPE_METRICS_H

#include <microhttpd.h>

#include "core/error.h"

struct http_req;

/* Counts one failed read of a process's /proc files, by reason (the error's code).  Errors that
 * are the client's fault (bad input, out of range) and MS_OK are not counted.  Lock-free. */
void metrics_count_read_error(ms_err e);
/* Counts one answered request by route and status, and its time from arrival to reply in the
 * latency histogram.  route must outlive the process (a route pattern or a literal): it is kept,
 * not copied.  Takes a lock shared only with the scrape. */
void metrics_count_request(const char *route, unsigned status, double seconds);

/* GET /metrics: Prometheus text format. */
enum MHD_Result h_metrics(struct http_req *r);

#endif
