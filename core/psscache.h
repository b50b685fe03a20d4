/* psscache.h - PSS and USS of every process on a CPU budget, re-reading smaps_rollup only for
 * processes that changed.
 *
 * smaps_rollup walks every page table of a process (18 ms for a 10,000-region one): reading it for
 * every process on every request is what made peers turn PSS off.  A process whose resident size
 * and fault counts (minflt, majflt) have not moved since its rollup was read has mapped and
 * touched nothing new, so its figures are reused and their age reported.  Those that moved (or
 * are new) are due, and are read until the CPU budget is spent, in this order: any due for
 * MS_PSS_STARVED_CALLS calls in a row or more first, longest waiting first; then the largest
 * change of RSS since the last read first (a new process: all of its RSS).  The rest are counted as
 * skipped and given no figure.  A cache can be told to make a few reads per call whatever the
 * budget (ms_psscache_set_min_reads): then a due process is read within
 * MS_PSS_STARVED_CALLS + ceil(due / min_reads) calls, however the budget is spent elsewhere (the
 * ones ahead of it in the queue waited longer, and each call takes at least min_reads of them).
 *
 * What the rule cannot see: PSS also moves when *other* processes start or stop sharing a
 * process's pages (a library's share falls as more processes map it), and a page swapped out or
 * reclaimed without a fault leaves the counts alone only if RSS does not move either.  The age
 * says how old a reused figure is; a caller wanting exact figures asks for fresh ones (budget
 * permitting) or reads smaps_rollup itself. */
#ifndef MEMSCOPE_PSSCACHE_H
#define MEMSCOPE_PSSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "proclist.h"

typedef enum {
    MS_PSS_FRESH,             /* read for this call */
    MS_PSS_CACHED,            /* reused: the process has not moved since (age_ms old) */
    MS_PSS_SKIPPED,           /* moved (or new) but the budget was spent: no figure */
    MS_PSS_NONE,              /* no user memory (kernel thread, zombie): no figure */
    MS_PSS_FAILED,            /* the read failed (err): refused, gone */
} ms_pss_state;

const char *ms_pss_state_name(ms_pss_state s);

typedef struct {
    ms_pss_state state;
    uint64_t pss, uss;        /* bytes; FRESH and CACHED only */
    uint64_t age_ms;          /* since the figures were read; FRESH and CACHED only */
    ms_err err;               /* FAILED only */
} ms_pss_result;

/* Due this many calls in a row and not read: goes to the front, in order of waiting. */
#define MS_PSS_STARVED_CALLS 10

typedef struct {
    size_t fresh, cached, skipped, none, failed;
    unsigned max_waited;      /* the most calls in a row any skipped process has now been due */
    uint64_t cpu_ns;          /* CPU time this call spent (the calling thread's, kernel included) */
} ms_pss_stats;

typedef struct ms_psscache ms_psscache;

ms_err ms_psscache_new(ms_psscache **out);
/* Frees the cache and NULLs *c; no call may be running on it. */
void ms_psscache_free(ms_psscache **c);

/* Every call reads at least n due processes (if there are so many), even past its budget, so
 * that a budget spent elsewhere cannot starve the rollups for ever (0, the default: the budget
 * alone decides). */
void ms_psscache_set_min_reads(ms_psscache *c, unsigned n);

/* Figures for the n processes p[0..n) (pid, starttime, vm_rss, minflt, majflt and kernel_thread
 * are used: the cheap list has them all) into res[0..n).  budget_ns: CPU time this call may spend reading rollups (one read is
 * always allowed to finish, so it can overrun by one process's rollup).  An entry no call has
 * asked about for 5 minutes is dropped, so entries of processes that are gone do not pile up.
 *
 * Threads: any number of threads may call this on one cache at once.  The cache's entries are
 * owned by the cache and only touched with its lock held, which a call holds from start to end:
 * calls run one after another, each within its budget, and a second caller waits for the first
 * (the budget bounds the wait).  Nothing a call returns points into the cache. */
ms_err ms_psscache_update(ms_psscache *c, const ms_procinfo *p, size_t n, uint64_t budget_ns,
                          ms_pss_result *res, ms_pss_stats *st);

#endif
