/* cheap_bench.c - what listing every process and keeping PSS/USS of every process cost, before and
 * after the cheap list, in one run over the same processes: each round reads the full list (what
 * the sampler and /processes?fields=pss,uss read before) and the cheap list (what the sampler and
 * the PSS cache read now), then updates a PSS cache from the cheap list with what a 1% budget
 * leaves, as the sampler does.  Every cost is this thread's CPU clock (user + kernel).
 *
 *   cheap_bench ROUNDS PERIOD_MS BUDGET_PERMILLE
 * Prints one "round ..." line per round and "name value unit" lines for the totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/proclist.h"
#include "core/psscache.h"

static uint64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_until(const struct timespec *t)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) != 0)
        ;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cheap_bench ROUNDS PERIOD_MS BUDGET_PERMILLE\n");
        return 2;
    }
    int rounds = atoi(argv[1]);
    uint64_t period_ms = strtoull(argv[2], NULL, 10), permille = strtoull(argv[3], NULL, 10);
    ms_psscache *c = NULL;
    if (rounds < 1 || period_ms < 1 || ms_psscache_new(&c) != MS_OK)
        return 2;
    ms_psscache_set_min_reads(c, 8);   /* as the sampler (MS_SAMPLER_MIN_ROLLUPS) */
    uint64_t full_sum = 0, cheap_sum = 0, pss_sum = 0, skipped_sum = 0;
    size_t procs = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int r = 0; r <= rounds; r++) {
        ms_proclist full, cheap;
        uint64_t a = cpu_ns();
        if (ms_proclist_read(NULL, NULL, &full) != MS_OK)
            return 1;
        uint64_t b = cpu_ns();
        if (ms_proclist_read_cheap(NULL, &cheap) != MS_OK)
            return 1;
        uint64_t d = cpu_ns();
        uint64_t budget = period_ms * permille * 1000;   /* ms * 1/1000 in ns */
        budget = budget > d - b ? budget - (d - b) : 0;
        ms_pss_result *res = calloc(cheap.n + 1, sizeof *res);
        ms_pss_stats st;
        if (!res || ms_psscache_update(c, cheap.p, cheap.n, budget, res, &st) != MS_OK)
            return 1;
        uint64_t e = cpu_ns();
        /* round 0 is the cold start (every rollup due): reported, kept out of the steady figures */
        printf("round %d processes %zu full_list_ms %.2f cheap_list_ms %.2f pss_ms %.2f fresh %zu cached %zu "
               "skipped %zu failed %zu none %zu max_waited %u\n",
               r, cheap.n, (double)(b - a) / 1e6, (double)(d - b) / 1e6, (double)(e - d) / 1e6, st.fresh, st.cached,
               st.skipped, st.failed, st.none, st.max_waited);
        fflush(stdout);
        if (r > 0) {
            full_sum += b - a;
            cheap_sum += d - b;
            pss_sum += e - d;
            skipped_sum += st.skipped;
            procs = cheap.n;
        }
        free(res);
        ms_proclist_free(&full);
        ms_proclist_free(&cheap);
        if (r == rounds)
            break;
        next.tv_sec += (time_t)(period_ms / 1000);
        next.tv_nsec += (long)(period_ms % 1000) * 1000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000;
        }
        sleep_until(&next);
    }
    double wall_ns = (double)rounds * (double)period_ms * 1e6;
    printf("processes %zu\n", procs);
    printf("full_list_share %.3f %% of one core\n", (double)full_sum * 100 / wall_ns);
    printf("cheap_list_share %.3f %% of one core\n", (double)cheap_sum * 100 / wall_ns);
    printf("pss_rollups_share %.3f %% of one core\n", (double)pss_sum * 100 / wall_ns);
    printf("pss_every_process_before_share %.3f %% of one core (full list + rollups)\n",
           (double)(full_sum + pss_sum) * 100 / wall_ns);
    printf("pss_every_process_after_share %.3f %% of one core (cheap list + rollups)\n",
           (double)(cheap_sum + pss_sum) * 100 / wall_ns);
    printf("rollups_skipped_per_round %.1f\n", (double)skipped_sum / rounds);
    ms_psscache_free(&c);
    return 0;
}
