/* diffwork.c - diff workspaces and the pool that keeps them between diffs (the rules are in
 * diffwork.h).  The pool is a stack: the workspace given back last is handed out first, its pages
 * the likeliest to be warm.  One thread of the pool's own frees what stayed unused for idle_ms. */
#include "diffwork.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
void ms_diffwork_init(ms_diffwork *w)
{
    memset(w, 0, sizeof *w);
    ms_buf_init(&w->a.blob, 0);
    ms_buf_init(&w->b.blob, 0);
    ms_buf_init(&w->text, 0);
}

void ms_diffwork_free(ms_diffwork *w)
{
    ms_buf_free(&w->a.blob);
    ms_buf_free(&w->b.blob);
    ms_snapview_free(&w->a.v);
    ms_snapview_free(&w->b.v);
    ms_diff_scratch_free(&w->match);
    ms_buf_free(&w->text);
    free(w->text_at);
    w->text_at = NULL;
    w->text_cap = 0;
}

size_t ms_diffwork_bytes(const ms_diffwork *w)
{
    return w->a.blob.cap + w->b.blob.cap + ms_snapview_bytes(&w->a.v) + ms_snapview_bytes(&w->b.v) +
           ms_diff_scratch_bytes(&w->match) + w->text.cap + w->text_cap * sizeof *w->text_at;
}

typedef struct {
    ms_diffwork *w;
    struct timespec since;    /* given back at (CLOCK_MONOTONIC) */
} kept_work;

struct ms_diffpool {
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t cv;        /* the reaper waits on it: a workspace kept, or stop */
    pthread_t reaper;
    bool stop;
    size_t max_bytes;
    unsigned idle_ms;
    kept_work kept[MS_DIFFPOOL_KEEP];
    size_t nkept;
    ms_diffpool_stats st;
};

static long long ms_since(const struct timespec *a, const struct timespec *b)
{
    return (long long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Frees, under the lock, the kept workspaces idle for idle_ms by now (the oldest are at the
 * bottom of the stack); gives how long until the next one is due, or -1 when none is kept. */
static long long reap(ms_diffpool *p, const struct timespec *now)
{
    size_t n = 0;
    while (n < p->nkept && ms_since(&p->kept[n].since, now) >= (long long)p->idle_ms)
        n++;
    for (size_t i = 0; i < n; i++) {
        ms_diffwork_free(p->kept[i].w);
        free(p->kept[i].w);
    }
    memmove(p->kept, p->kept + n, (p->nkept - n) * sizeof *p->kept);
    p->nkept -= n;
    p->st.released += n;
    if (!p->nkept)
        return -1;
    return (long long)p->idle_ms - ms_since(&p->kept[0].since, now);
}

static void *reaper_main(void *arg)
{
    ms_diffpool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long wait = reap(p, &now);
        if (wait < 0) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        struct timespec until = now;
        ms_timespec_add_ms(&until, wait);
        pthread_cond_timedwait(&p->cv, &p->mu, &until);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ms_err ms_diffpool_new(size_t max_bytes, unsigned idle_ms, ms_diffpool **out)
{
    *out = NULL;
    ms_diffpool *p = calloc(1, sizeof *p);
    if (!p)
        return MS_ERR_NOMEM;
    p->max_bytes = max_bytes;
    p->idle_ms = idle_ms;
    pthread_condattr_t ca;
    bool mu = false, cv = false;
    ms_err rc = MS_ERR_NOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto out;
    mu = true;
    if (pthread_condattr_init(&ca) != 0)
        goto out;
    cv = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&p->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cv || pthread_create(&p->reaper, NULL, reaper_main, p) != 0)
        goto out;
    *out = p;
    p = NULL;
    rc = MS_OK;
out:
    if (p) {
        if (cv)
            pthread_cond_destroy(&p->cv);
        if (mu)
            pthread_mutex_destroy(&p->mu);
        free(p);
    }
    return rc;
}

void ms_diffpool_free(ms_diffpool **pp)
{
    ms_diffpool *p = *pp;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->reaper, NULL);
    for (size_t i = 0; i < p->nkept; i++) {
        ms_diffwork_free(p->kept[i].w);
        free(p->kept[i].w);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}

ms_diffwork *ms_diffpool_take(ms_diffpool *p)
{
    ms_diffwork *w = NULL;
    if (!p)
        return NULL;
    pthread_mutex_lock(&p->mu);
    if (p->nkept) {
        w = p->kept[--p->nkept].w;
        p->st.reused++;
    }
    pthread_mutex_unlock(&p->mu);
    if (w)
        return w;
    if ((w = malloc(sizeof *w)) == NULL)
        return NULL;
    ms_diffwork_init(w);
    pthread_mutex_lock(&p->mu);
    p->st.made++;
    pthread_mutex_unlock(&p->mu);
    return w;
}

void ms_diffpool_give(ms_diffpool *p, ms_diffwork *w)
{
    if (!w)
        return;
    bool keep = p && ms_diffwork_bytes(w) <= p->max_bytes;
    if (!p) {
        ms_diffwork_free(w);
        free(w);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (keep && p->nkept < MS_DIFFPOOL_KEEP) {
        clock_gettime(CLOCK_MONOTONIC, &p->kept[p->nkept].since);
        p->kept[p->nkept++].w = w;
        w = NULL;
        pthread_cond_signal(&p->cv);     /* the reaper may be waiting with none kept */
    } else {
        p->st.released++;
    }
    pthread_mutex_unlock(&p->mu);
    if (w) {
        ms_diffwork_free(w);
        free(w);
    }
}

void ms_diffpool_stats_get(ms_diffpool *p, ms_diffpool_stats *st)
{
    pthread_mutex_lock(&p->mu);
    *st = p->st;
    st->kept = p->nkept;
    st->kept_bytes = 0;
    for (size_t i = 0; i < p->nkept; i++)
        st->kept_bytes += ms_diffwork_bytes(p->kept[i].w);
    pthread_mutex_unlock(&p->mu);
}
