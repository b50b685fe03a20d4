/* psscache.c - the PSS/USS cache: one sorted array of what each process looked like when its
 * smaps_rollup was read, rebuilt on every call from the processes asked about.
 *
 * The array is sorted by pid so each lookup is a binary search; (pid, starttime) is a process's
 * identity, so a pid that was reused is a new process and never inherits another's figures. */
#include "psscache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "smaps.h"

typedef struct {
    int pid;
    uint64_t starttime;
    bool has_figures;                    /* false: seen and due, never read yet */
    unsigned waited;                     /* calls in a row it was due and not read */
    uint64_t vm_rss, minflt, majflt;     /* the process when its rollup was read */
    uint64_t pss, uss;
    uint64_t read_ns;                    /* CLOCK_MONOTONIC at the read */
    uint64_t seen_ns;                    /* the last call that asked about this process */
} pss_entry;

/* An entry no call asked about for this long is dropped: its process is most likely gone. */
#define PSS_FORGET_NS ((uint64_t)300 * 1000000000u)

struct ms_psscache {
    pthread_mutex_t lock;     /* guards everything below, held by a call from start to end */
    pss_entry *e;             /* owned; sorted by pid */
    size_t n;
    unsigned min_reads;       /* reads every call makes, budget or not */
};

const char *ms_pss_state_name(ms_pss_state s)
{
    switch (s) {
    case MS_PSS_FRESH: return "fresh";
    case MS_PSS_CACHED: return "cached";
    case MS_PSS_SKIPPED: return "skipped";
    case MS_PSS_NONE: return "none";
    case MS_PSS_FAILED: return "failed";
    }
    return "unknown";
}

ms_err ms_psscache_new(ms_psscache **out)
{
    ms_psscache *c = calloc(1, sizeof *c);
    if (!c)
        return MS_ERR_NOMEM;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return MS_OK;
}

void ms_psscache_free(ms_psscache **c)
{
    if (!c || !*c)
        return;
    pthread_mutex_destroy(&(*c)->lock);
    free((*c)->e);
    free(*c);
    *c = NULL;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static const pss_entry *find(const pss_entry *e, size_t n, int pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && e[lo].pid == pid ? &e[lo] : NULL;
}

static int entry_cmp(const void *a, const void *b)
{
    int x = ((const pss_entry *)a)->pid, y = ((const pss_entry *)b)->pid;
    return (x > y) - (x < y);
}

/* A process to read.  The order: those due for MS_PSS_STARVED_CALLS calls or more first, longest
 * waiting first (a queue: one that arrives later has waited less, so it goes behind); then the
 * largest change of RSS since the last read (never read: all of its RSS). */
typedef struct {
    size_t idx;
    size_t slot;              /* its entry in the new array */
    unsigned waited;
    uint64_t change;
} pss_todo;

static int todo_cmp(const void *a, const void *b)
{
    const pss_todo *x = a, *y = b;
    bool sx = x->waited >= MS_PSS_STARVED_CALLS, sy = y->waited >= MS_PSS_STARVED_CALLS;
    if (sx != sy)
        return sx ? -1 : 1;
    if (sx && x->waited != y->waited)
        return x->waited > y->waited ? -1 : 1;
    if (x->change != y->change)
        return x->change > y->change ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

void ms_psscache_set_min_reads(ms_psscache *c, unsigned n)
{
    pthread_mutex_lock(&c->lock);
    c->min_reads = n;
    pthread_mutex_unlock(&c->lock);
}

/* One rollup read into *e (its key taken from p); the result's state says how it went. */
static void read_one(const ms_procinfo *p, ms_smaps *s, pss_entry *e, ms_pss_result *r)
{
    int dirfd;
    ms_err rc = ms_pid_open(p->pid, &dirfd);
    if (rc == MS_OK) {
        rc = ms_smaps_rollup_read(dirfd, s);
        close(dirfd);
    }
    if (rc != MS_OK) {
        r->state = MS_PSS_FAILED;
        r->err = rc;
        return;
    }
    if (s->maps.nregions != 1) {
        r->state = MS_PSS_NONE;              /* a zombie, or an mm that went away */
        return;
    }
    ms_smaps_totals t;
    ms_smaps_totals_of(s, 0, 1, &t);
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    *e = (pss_entry){p->pid, p->starttime, true, 0, p->vm_rss, p->minflt, p->majflt, t.v[MS_SF_PSS],
                     ms_smaps_uss(&t), now, now};
    r->state = MS_PSS_FRESH;
    r->pss = e->pss;
    r->uss = e->uss;
    r->age_ms = 0;
}

ms_err ms_psscache_update(ms_psscache *c, const ms_procinfo *p, size_t n, uint64_t budget_ns,
                          ms_pss_result *res, ms_pss_stats *st)
{
    ms_err rc = MS_OK;
    uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pss_entry *ne = NULL;
    size_t ncap = 0;
    pss_todo *todo = malloc((n ? n : 1) * sizeof *todo);
    size_t nn = 0, nt = 0;
    ms_smaps s;
    ms_smaps_init(&s);
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&c->lock);
    /* room for this call's processes and every entry kept from before */
    ncap = n + c->n;
    ne = malloc((ncap ? ncap : 1) * sizeof *ne);
    if (!ne || !todo) {
        pthread_mutex_unlock(&c->lock);
        free(ne);
        free(todo);
        return MS_ERR_NOMEM;
    }
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof res[i]);
        if (p[i].kernel_thread) {
            res[i].state = MS_PSS_NONE;
            continue;
        }
        const pss_entry *old = find(c->e, c->n, p[i].pid);
        if (old && old->starttime != p[i].starttime)
            old = NULL;                      /* the pid now names another process */
        if (old && old->has_figures && old->vm_rss == p[i].vm_rss && old->minflt == p[i].minflt &&
            old->majflt == p[i].majflt) {
            ne[nn] = *old;
            ne[nn++].seen_ns = now;
            res[i] = (ms_pss_result){MS_PSS_CACHED, old->pss, old->uss, (now - old->read_ns) / 1000000, MS_OK};
            continue;
        }
        /* Due.  Its entry stays (or is made, figureless) until a read replaces it, so one skipped
         * now keeps its count of calls waited for the next call. */
        ne[nn] = old ? *old : (pss_entry){.pid = p[i].pid, .starttime = p[i].starttime};
        ne[nn].seen_ns = now;
        uint64_t from = old && old->has_figures ? old->vm_rss : 0;
        todo[nt++] = (pss_todo){i, nn, ne[nn].waited, p[i].vm_rss > from ? p[i].vm_rss - from : from - p[i].vm_rss};
        nn++;
    }
    qsort(todo, nt, sizeof *todo, todo_cmp);
    for (size_t k = 0; k < nt; k++) {
        ms_pss_result *r = &res[todo[k].idx];
        pss_entry *slot = &ne[todo[k].slot];
        if (k >= c->min_reads && clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0 >= budget_ns) {
            r->state = MS_PSS_SKIPPED;
            slot->waited++;
            if (slot->waited > st->max_waited)
                st->max_waited = slot->waited;
            continue;
        }
        pss_entry e;
        read_one(&p[todo[k].idx], &s, &e, r);
        if (r->state == MS_PSS_FRESH)
            *slot = e;
        else
            slot->waited = 0;                /* refused or gone: tried, not starved */
    }
    /* Entries of processes this call did not ask about (another request's list, a search) stay
     * until no call has asked about them for PSS_FORGET_NS. */
    qsort(ne, nn, sizeof *ne, entry_cmp);
    size_t asked = nn;
    for (size_t k = 0; k < c->n; k++)
        if (now - c->e[k].seen_ns < PSS_FORGET_NS && !find(ne, asked, c->e[k].pid))
            ne[nn++] = c->e[k];
    if (nn > asked)
        qsort(ne, nn, sizeof *ne, entry_cmp);
    free(c->e);
    c->e = ne;
    c->n = nn;
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        switch (res[i].state) {
        case MS_PSS_FRESH: st->fresh++; break;
        case MS_PSS_CACHED: st->cached++; break;
        case MS_PSS_SKIPPED: st->skipped++; break;
        case MS_PSS_NONE: st->none++; break;
        case MS_PSS_FAILED: st->failed++; break;
        }
    }
    st->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    ms_smaps_free(&s);
    free(todo);
    return rc;
}
