/* metrics.h - counters other server modules feed into GET /metrics.  The handler itself (h_metrics)
 * is in routes.h; experiments report through experiments_counts. */
#ifndef MEMSCOPE_METRICS_H
#define MEMSCOPE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "http.h"

/* Counts one failed read of a process's /proc files, by reason (the error's code).  Errors that
 * are the client's fault (bad input, out of range) and MS_OK are not counted.  Lock-free. */
void metrics_count_read_error(ms_err e);

#endif
