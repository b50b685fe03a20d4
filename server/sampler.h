/* sampler.h - memscoped's history sampler: a thread that records every visible process's memory
 * figures and the system's meminfo into the store once per interval, and takes a snapshot of a
 * process whose RSS grew a lot.
 *
 * The round's budget (a share of one core times the interval) pays for the whole round.  The
 * process list comes first, in the cheap mode (status and stat only); then PSS and USS, from
 * smaps_rollup, which costs far more: a process whose RSS and fault counts are what they were at
 * its last rollup keeps it; the others are due, and get what the list and the write (as much as
 * the last one cost) leave of the budget, in the PSS cache's order (core/psscache.h: the long
 * waiting first, then the largest change of RSS).  The listing cannot starve them: every round
 * reads at least MS_SAMPLER_MIN_ROLLUPS rollups, past the budget if need be, so every process gets
 * a fresh rollup within MS_PSS_STARVED_CALLS + ceil(processes / MS_SAMPLER_MIN_ROLLUPS) rounds of
 * moving.  The rest get no PSS/USS this round (stored as unknown, counted in rollups_skipped).
 * Auto-snapshots are the one thing outside the budget: their count is limited instead (below). */
#ifndef MEMSCOPE_SAMPLER_H
#define MEMSCOPE_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

typedef struct {
    uint64_t interval_ms;         /* 0: no sampler */
    unsigned budget_permille;     /* CPU share of one core for a round, in 1/1000 (10 = 1%) */
    unsigned auto_growth_pct;     /* auto-snapshot when RSS grew more than this since the last; 0 off */
    const char *procroot;         /* NULL: /proc */
} ms_sampler_config;

typedef struct {
    uint64_t rounds;
    uint64_t write_errors;
    uint64_t auto_snapshots;
    int64_t last_t_ms;            /* Unix ms of the last sample set written, 0 if none */
    uint64_t cpu_total_us;        /* the sampler thread's CPU time over every round */
    uint64_t list_cpu_total_us;   /* of which the listing */
    uint64_t rollups_skipped_total;
    /* the last round: */
    uint64_t procs, rollups_read, rollups_kept, rollups_skipped, rollups_failed;
    uint64_t rollups_max_waited;  /* rounds in a row the longest-waiting skipped process was due */
    uint64_t cpu_us, wall_us;
    uint64_t list_cpu_us;         /* the listing's part of cpu_us */
    uint64_t rollup_cpu_us, rollup_budget_us;   /* the rollups' part, and what the budget left them */
    uint64_t write_cpu_us;        /* the write's part */
    uint64_t snapshot_cpu_us;     /* the auto-snapshots' part (outside the budget: see below) */
} ms_sampler_stats;

/* Rollups every round reads, whatever the budget says. */
#define MS_SAMPLER_MIN_ROLLUPS 8

/* The auto-snapshot limits: per process at most one per this long, and at most this many in total
 * per hour. */
#define MS_SAMPLER_AUTO_MIN_GAP_MS (15 * 60 * 1000)
#define MS_SAMPLER_AUTO_PER_HOUR 60
/* A process must also have grown by at least this much for an auto-snapshot. */
#define MS_SAMPLER_AUTO_MIN_BYTES ((uint64_t)4 << 20)

typedef struct ms_sampler ms_sampler;

/* Starts the thread (the store must outlive it: stop the sampler before freeing the store). */
ms_err ms_sampler_start(ms_store *store, const ms_sampler_config *cfg, ms_sampler **out);
/* Stops the thread, waits for the round in progress to end (a sample set is written whole or not
 * at all), frees it and NULLs *s. */
void ms_sampler_stop(ms_sampler **s);
void ms_sampler_stats_get(ms_sampler *s, ms_sampler_stats *out);

#endif
