/* sampler.c - the history sampler thread (see sampler.h).
 *
 * Shared state and who owns it: the ms_sampler is made by ms_sampler_start and freed by
 * ms_sampler_stop, which first joins the thread, so the thread never outlives it.  `lock` guards
 * `stop` and `stats`, which the HTTP threads read (ms_sampler_stats_get copies them out).
 * Everything else (the per-process memory of the last round) belongs to the sampler thread alone.
 * The store has its own lock; the sampler only calls it. */
#include "sampler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/proclist.h"
#include "core/psscache.h"
#include "core/system.h"
#include "log.h"

/* What the sampler remembers of a process between rounds for its auto-snapshots (sorted by pid);
 * PSS and USS are the cache's (core/psscache.c). */
typedef struct {
    int pid;
    uint64_t start_time;
    uint64_t snap_base;           /* RSS at the last snapshot (or when first seen) */
    int64_t last_auto_ms;         /* 0: never */
} proc_memo;

struct ms_sampler {
    ms_store *store;
    ms_sampler_config cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;                    /* guarded by lock */
    ms_sampler_stats stats;       /* guarded by lock */
    /* the sampler thread's own: */
    ms_psscache *pss;             /* the rollups read, and when each is due */
    uint64_t list_cpu_total_us, cpu_total_us, skipped_total;   /* copied into stats */
    proc_memo *memo;
    size_t nmemo;
    int64_t auto_times[MS_SAMPLER_AUTO_PER_HOUR];   /* ring of the last auto-snapshots' times */
    uint64_t tail_us;             /* CPU of the last round's write (meminfo and the sample set) */
    size_t auto_next;
};

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t clock_us(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static const proc_memo *memo_find(const ms_sampler *s, int pid, uint64_t start_time)
{
    size_t lo = 0, hi = s->nmemo;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->memo[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->nmemo && s->memo[lo].pid == pid && s->memo[lo].start_time == start_time)
        return &s->memo[lo];
    return NULL;                  /* new, or the pid was reused by another process */
}

static void read_sys(ms_store_sys *sys)
{
    memset(sys, 0, sizeof *sys);
    ms_meminfo mi;
    ms_meminfo_init(&mi);
    if (ms_meminfo_read(NULL, &mi) == MS_OK)
        for (int f = 0; f < MS_SYS__COUNT; f++)
            ms_meminfo_get(&mi, ms_sys_field_key((ms_sys_field)f), &sys->v[f]);
    ms_meminfo_free(&mi);
}

/* Whether the rate limits allow one more auto-snapshot now. */
static bool auto_allowed(const ms_sampler *s, const proc_memo *m, int64_t now)
{
    if (m->last_auto_ms && now - m->last_auto_ms < MS_SAMPLER_AUTO_MIN_GAP_MS)
        return false;
    int64_t oldest = s->auto_times[s->auto_next];   /* the slot about to be reused */
    return oldest == 0 || now - oldest >= 3600 * 1000;
}

static void auto_snapshots(ms_sampler *s, proc_memo *memo, const ms_store_proc *p, size_t n, int64_t now,
                           uint64_t *taken)
{
    for (size_t i = 0; i < n && s->cfg.auto_growth_pct; i++) {
        proc_memo *m = &memo[i];
        uint64_t rss = p[i].v[MS_HF_RSS], base = m->snap_base;
        if (rss <= base || rss - base < MS_SAMPLER_AUTO_MIN_BYTES ||
            (rss - base) * 100 <= base * s->cfg.auto_growth_pct || !auto_allowed(s, m, now))
            continue;
        int dirfd;
        if (ms_pid_open(p[i].pid, &dirfd) != MS_OK)
            continue;
        ms_snapshot_info info;
        ms_err rc = ms_store_snapshot_take(s->store, dirfd, p[i].pid, "auto", now, &info);
        close(dirfd);
        if (rc != MS_OK || info.start_time != p[i].start_time)
            continue;
        m->snap_base = rss;
        m->last_auto_ms = now;
        s->auto_times[s->auto_next] = now;
        s->auto_next = (s->auto_next + 1) % MS_SAMPLER_AUTO_PER_HOUR;
        (*taken)++;
    }
}

/* The part of the round's budget left for the rollups: the listing came first, and the write after
 * them cost about what it cost last time. */
static uint64_t rollup_budget_ns(const ms_sampler *s, uint64_t spent_us)
{
    uint64_t budget_us = s->cfg.interval_ms * s->cfg.budget_permille;   /* ms * 1/1000 = us */
    uint64_t used = spent_us + s->tail_us;
    return budget_us > used ? (budget_us - used) * 1000 : 0;
}

/* This round's figures of each listed process with user memory into p[0..*n), its memo into
 * memo[] (carried over when pid and start time match), the PSS cache's input into in[]. */
static void round_fill(const ms_sampler *s, const ms_proclist *l, ms_store_proc *p, proc_memo *memo,
                       ms_procinfo *in, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const ms_procinfo *pi = &l->p[i];
        if (pi->kernel_thread || pi->vm_size == 0)
            continue;             /* no user memory: nothing to keep */
        ms_store_proc *q = &p[*n];
        q->pid = pi->pid;
        q->start_time = pi->starttime;
        memcpy(q->name, pi->name, sizeof q->name);
        q->v[MS_HF_RSS] = pi->vm_rss;
        q->v[MS_HF_SWAP] = pi->vm_swap;
        q->v[MS_HF_VM_SIZE] = pi->vm_size;
        q->v[MS_HF_RSS_ANON] = pi->rss_anon;
        q->v[MS_HF_RSS_FILE] = pi->rss_file;
        q->v[MS_HF_RSS_SHMEM] = pi->rss_shmem;
        const proc_memo *old = memo_find(s, pi->pid, pi->starttime);
        memo[*n] = old ? *old : (proc_memo){.pid = pi->pid, .start_time = pi->starttime, .snap_base = pi->vm_rss};
        in[*n] = *pi;
        in[*n].cmdline = in[*n].cgroup = NULL;   /* the list keeps them (NULL in the cheap mode) */
        (*n)++;
    }
}

/* One round: list (cheaply), PSS and USS from the cache within what the budget leaves, write. */
static void sample_round(ms_sampler *s)
{
    uint64_t cpu0 = clock_us(CLOCK_THREAD_CPUTIME_ID), wall0 = clock_us(CLOCK_MONOTONIC);
    ms_sampler_stats st = {0};
    ms_proclist l;
    ms_store_proc *p = NULL;
    ms_procinfo *in = NULL;
    ms_pss_result *res = NULL;
    proc_memo *memo = NULL;
    if (ms_proclist_read_cheap(s->cfg.procroot, &l) != MS_OK) {
        log_warn("history: cannot list processes");
        return;
    }
    ms_proclist_sort(&l, MS_PSORT_PID, false);
    st.list_cpu_us = clock_us(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    p = calloc(l.n + 1, sizeof *p);
    in = calloc(l.n + 1, sizeof *in);
    res = calloc(l.n + 1, sizeof *res);
    memo = calloc(l.n + 1, sizeof *memo);
    if (!p || !in || !res || !memo)
        goto out;
    size_t n;
    int64_t now = wall_ms();
    round_fill(s, &l, p, memo, in, &n);
    ms_pss_stats ps;
    uint64_t budget_ns = rollup_budget_ns(s, st.list_cpu_us);
    if (ms_psscache_update(s->pss, in, n, budget_ns, res, &ps) != MS_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        p[i].has_rollup = res[i].state == MS_PSS_FRESH || res[i].state == MS_PSS_CACHED;
        p[i].v[MS_HF_PSS] = p[i].has_rollup ? res[i].pss : 0;   /* skipped: unknown, not a guess */
        p[i].v[MS_HF_USS] = p[i].has_rollup ? res[i].uss : 0;
    }
    st.rollups_read = ps.fresh;
    st.rollups_kept = ps.cached;
    st.rollups_skipped = ps.skipped;
    st.rollups_failed = ps.failed;
    st.rollups_max_waited = ps.max_waited;
    st.rollup_cpu_us = ps.cpu_ns / 1000;
    st.rollup_budget_us = budget_ns / 1000;
    uint64_t tail0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
    ms_store_sys sys;
    read_sys(&sys);
    ms_err rc = ms_store_write(s->store, now, &sys, p, n);
    uint64_t snap0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
    s->tail_us = st.write_cpu_us = snap0 - tail0;
    /* Auto-snapshots are bounded by their own limits (a few per process per hour, at most
     * MS_SAMPLER_AUTO_PER_HOUR in all), not by the round's budget: one of a large process would
     * otherwise leave the next round nothing for its rollups.  Their cost is reported apart. */
    if (rc == MS_OK && !s->cfg.procroot)
        auto_snapshots(s, memo, p, n, now, &st.auto_snapshots);
    st.snapshot_cpu_us = clock_us(CLOCK_THREAD_CPUTIME_ID) - snap0;
    free(s->memo);
    s->memo = memo;
    s->nmemo = n;
    memo = NULL;
    st.procs = n;
    st.cpu_us = clock_us(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    st.wall_us = clock_us(CLOCK_MONOTONIC) - wall0;
    s->cpu_total_us += st.cpu_us;
    s->list_cpu_total_us += st.list_cpu_us;
    s->skipped_total += st.rollups_skipped;
    pthread_mutex_lock(&s->lock);
    uint64_t autos = s->stats.auto_snapshots + st.auto_snapshots;
    st.rounds = s->stats.rounds + 1;
    st.write_errors = s->stats.write_errors + (rc != MS_OK);
    st.last_t_ms = rc == MS_OK ? now : s->stats.last_t_ms;
    st.cpu_total_us = s->cpu_total_us;
    st.list_cpu_total_us = s->list_cpu_total_us;
    st.rollups_skipped_total = s->skipped_total;
    s->stats = st;
    s->stats.auto_snapshots = autos;
    pthread_mutex_unlock(&s->lock);
    if (rc != MS_OK && rc != MS_ERR_UNAVAILABLE)
        log_warn("history: writing a sample set failed: %s", ms_strerror(rc));
out:
    free(p);
    free(in);
    free(res);
    free(memo);
    ms_proclist_free(&l);
}

static void *sampler_main(void *arg)
{
    ms_sampler *s = arg;
    pthread_setname_np(pthread_self(), "ms-sampler");   /* the bench finds its CPU time by name */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        sample_round(s);
        pthread_mutex_lock(&s->lock);
        uint64_t ns = (uint64_t)next.tv_nsec + (s->cfg.interval_ms % 1000) * 1000000;
        next.tv_sec += (time_t)(s->cfg.interval_ms / 1000 + ns / 1000000000);
        next.tv_nsec = (long)(ns % 1000000000);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
            next = now;           /* a round overran its interval: start again from now, no burst */
        while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &next) == 0)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

ms_err ms_sampler_start(ms_store *store, const ms_sampler_config *cfg, ms_sampler **out)
{
    *out = NULL;
    ms_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ERR_NOMEM;
    s->store = store;
    s->cfg = *cfg;
    if (ms_psscache_new(&s->pss) != MS_OK) {
        free(s);
        return MS_ERR_NOMEM;
    }
    ms_psscache_set_min_reads(s->pss, MS_SAMPLER_MIN_ROLLUPS);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, sampler_main, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        ms_psscache_free(&s->pss);
        free(s);
        return MS_ERR_NOMEM;
    }
    *out = s;
    return MS_OK;
}

void ms_sampler_stop(ms_sampler **sp)
{
    ms_sampler *s = *sp;
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s->memo);
    ms_psscache_free(&s->pss);
    free(s);
    *sp = NULL;
}

void ms_sampler_stats_get(ms_sampler *s, ms_sampler_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
