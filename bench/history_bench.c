/* history_bench.c - the history store's numbers, through the store's own code: the size of a
 * simulated day of 200 processes sampled every 10 s with the default tiers, the time to write a
 * sample set of 1,000 processes, and the time of a 24 h history query at a 1-minute step.
 *
 *   history_bench DIR      (DIR: an empty directory on the disk the store would live on)
 * Prints one "name value unit" line per figure. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/store.h"

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Plausible figures that move: a slow drift plus a wobble, in whole KiB as the kernel prints. */
static void fill(ms_store_proc *p, int n, int64_t k)
{
    for (int i = 0; i < n; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].pid = 1000 + i;
        p[i].start_time = 500000 + (uint64_t)i;
        snprintf(p[i].name, sizeof p[i].name, "proc-%d", i);
        uint64_t kib = 2048 + (uint64_t)i * 97 + (uint64_t)(k / 30) % 4096 + (uint64_t)((k * 7 + i) % 13) * 4;
        p[i].v[MS_HF_RSS] = kib << 10;
        p[i].v[MS_HF_PSS] = (kib * 3 / 4) << 10;
        p[i].v[MS_HF_USS] = (kib / 2) << 10;
        p[i].v[MS_HF_VM_SIZE] = (kib * 8) << 10;
        p[i].v[MS_HF_RSS_ANON] = (kib / 2) << 10;
        p[i].v[MS_HF_RSS_FILE] = (kib / 2) << 10;
        p[i].has_rollup = true;
    }
}

int main(int argc, char **argv)
{
    bool only_sets = argc == 3 && !strcmp(argv[2], "--sets");
    if (argc != 2 && !only_sets) {
        fprintf(stderr, "usage: history_bench DIR [--sets]\n");
        return 2;
    }
    char day[4096], sets[4096];
    snprintf(day, sizeof day, "%s/day", argv[1]);
    snprintf(sets, sizeof sets, "%s/sets", argv[1]);
    ms_store_config c;
    ms_store_config_default(&c);
    ms_store *s;
    static ms_store_proc p[1000];
    ms_store_sys sys = {{0}};
    int64_t now = wall_ms();
    if (only_sets)
        goto sets_only;
    if (ms_store_open(day, &c, &s) != MS_OK || !ms_store_available(s)) {
        fprintf(stderr, "cannot open a store in %s\n", day);
        return 1;
    }
    int64_t t0 = now - 86400 * 1000LL + 10000;
    double w0 = mono_ms();
    int64_t k = 0;
    for (int64_t t = t0; t <= now; t += 10000, k++) {
        fill(p, 200, k);
        if (ms_store_write(s, t, &sys, p, 200) != MS_OK) {
            fprintf(stderr, "write failed\n");
            return 1;
        }
    }
    double wall = mono_ms() - w0;
    uint64_t used = 0;
    ms_store_size(s, &used);
    char path[4200];
    snprintf(path, sizeof path, "%s/memscope.db", day);
    struct stat sb;
    uint64_t file = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    printf("day_200_sets %lld sets\n", (long long)k);
    printf("day_200_store_used %.1f MiB\n", (double)used / 1048576.0);
    printf("day_200_store_file %.1f MiB\n", (double)file / 1048576.0);
    printf("day_200_write_mean %.2f ms\n", wall / (double)k);
    /* 24 h of one process at a 1-minute step. */
    ms_store_procid id;
    double q[21];
    size_t npts = 0;
    if (ms_store_find_proc(s, 1100, 0, &id) != MS_OK)
        return 1;
    for (int i = 0; i < 21; i++) {
        ms_hist_query hq = {.since_ms = now - 86400 * 1000LL, .until_ms = now + 1, .step_ms = 60000, .max_points = 2000};
        ms_hist_series hs;
        double a = mono_ms();
        if (ms_store_proc_history(s, &id, &hq, &hs) != MS_OK)
            return 1;
        q[i] = mono_ms() - a;
        npts = hs.n;
        free(hs.p);
    }
    qsort(q, 21, sizeof q[0], cmp_d);
    printf("history_24h_step_1m_points %zu points\n", npts);
    printf("history_24h_step_1m_median %.2f ms\n", q[10]);
    ms_store_free(&s);
sets_only:
    /* Sample sets of 1,000 processes into a fresh store. */
    if (ms_store_open(sets, &c, &s) != MS_OK || !ms_store_available(s))
        return 1;
    double w[31], cw[31];
    for (int i = 0; i < 31; i++) {
        fill(p, 1000, i);
        double a = mono_ms(), ca = cpu_ms();
        if (ms_store_write(s, now - (31 - i) * 10000LL, &sys, p, 1000) != MS_OK)
            return 1;
        w[i] = mono_ms() - a;
        cw[i] = cpu_ms() - ca;
    }
    qsort(w, 31, sizeof w[0], cmp_d);
    qsort(cw, 31, sizeof cw[0], cmp_d);
    printf("set_1000_write_median %.2f ms\n", w[15]);
    printf("set_1000_write_p90 %.2f ms\n", w[27]);
    printf("set_1000_write_cpu_median %.2f ms\n", cw[15]);
    ms_store_free(&s);
    return 0;
}
