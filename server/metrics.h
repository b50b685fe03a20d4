/* metrics.h - counters other server modules feed into GET /metrics, and the hook through which the
 * experiments module reports itself there.  The handler itself (h_metrics) is in routes.h. */
#ifndef MEMSCOPE_METRICS_H
#define MEMSCOPE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "http.h"

/* Counts one failed read of a process's /proc files, by reason (the error's code).  Errors that
 * are the client's fault (bad input, out of range) and MS_OK are not counted.  Lock-free. */
void metrics_count_read_error(ms_err e);

/* Hook for the experiments module: fill the two figures and return true.  Declared weak: until a
 * module defines it, /metrics leaves memscope_experiments_running and
 * memscope_experiments_refused_total out rather than exporting zeros that would look like data.
 * refused_total counts starts refused for a limit (too many at once, over a size cap) since start. */
bool metrics_experiments(server_ctx *srv, uint64_t *running, uint64_t *refused_total)
    __attribute__((weak));

#endif
