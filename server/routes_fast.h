/* routes_fast.h - answers that skip smaps (routes_fast.c): /maps?rss=1 (called by h_maps),
 * /processes?fields=pss,uss (for h_processes and /metrics), /wss. */
#ifndef MEMSCOPE_ROUTES_FAST_H
#define MEMSCOPE_ROUTES_FAST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/proclist.h"
#include "core/psscache.h"
#include "http.h"

/* /maps?rss=1 (and method=): the regions that overlap [lo, hi), as routes_range_arg gives them. */
enum MHD_Result h_maps_rss(http_req *r, uint64_t lo, uint64_t hi);
/* /processes?fields=pss,uss (for h_processes): parses fields and pss_budget_ms (replies 400 and
 * returns false on a bad one); computes the figures of p[0..n) (*res malloc'ed, NULL on failure;
 * encode.c writes them). */
bool routes_pss_args(http_req *r, bool *want, uint64_t *budget_ns);
ms_err routes_pss_compute(const ms_procinfo *p, size_t n, uint64_t budget_ns, ms_pss_result **res,
                          ms_pss_stats *st);
/* GET /processes/{pid}/wss?interval_ms=N&method=clear_refs|page_idle: the working set by the idle-page
 * bitmap where the kernel has it (needs PFNs), else by clear_refs (--allow-clear-refs). */
enum MHD_Result h_wss(http_req *r);
/* Drops the PSS cache (at shutdown, so nothing is left for the leak checker). */
void routes_fast_clear(void);

#endif
