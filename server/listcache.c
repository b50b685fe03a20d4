/* listcache.c - the process list, read at most once per list_cache_ms and shared by the requests in
 * between: reading every process's status and stat is the whole cost of /processes, and a dashboard
 * or a scraper asking several times a second needs figures at most that old, not a re-read each
 * time.  A snapshot is reference-counted so a request can sort its copy while a newer one replaces
 * it. */
#include "listcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct listcache_snap {
    ms_proclist list;
    struct timespec at;
    unsigned refs;            /* requests using it, plus one while it is the current snapshot */
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static listcache_snap *list_current;

static uint64_t ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - t->tv_sec) * 1000 + (uint64_t)((now.tv_nsec - t->tv_nsec) / 1000000);
}

void listcache_put(listcache_snap *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&list_lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&list_lock);
    if (last) {
        ms_proclist_free(&s->list);
        free(s);
    }
}

ms_err listcache_get(unsigned max_age_ms, bool fresh, listcache_snap **out, uint64_t *age_ms)
{
    pthread_mutex_lock(&list_lock);
    listcache_snap *cur = list_current;
    if (cur && !fresh && ms_since(&cur->at) < max_age_ms) {
        cur->refs++;
        *age_ms = ms_since(&cur->at);
        pthread_mutex_unlock(&list_lock);
        *out = cur;
        return MS_OK;
    }
    pthread_mutex_unlock(&list_lock);
    /* Read outside the lock: two requests may both read; the later one wins, both are right. */
    listcache_snap *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ERR_NOMEM;
    ms_err rc = ms_proclist_read(NULL, NULL, &s->list);
    if (rc != MS_OK) {
        free(s);
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &s->at);
    s->refs = 2;              /* this request, and the cache */
    pthread_mutex_lock(&list_lock);
    listcache_snap *old = list_current;
    list_current = s;
    pthread_mutex_unlock(&list_lock);
    listcache_put(old);
    *out = s;
    *age_ms = 0;
    return MS_OK;
}

void listcache_clear(void)
{
    pthread_mutex_lock(&list_lock);
    listcache_snap *old = list_current;
    list_current = NULL;
    pthread_mutex_unlock(&list_lock);
    listcache_put(old);
}

ms_err listcache_copy(const listcache_snap *s, ms_proclist *to)
{
    const ms_proclist *from = &s->list;
    to->n = to->cap = from->n;
    to->p = malloc((from->n ? from->n : 1) * sizeof *to->p);
    if (!to->p)
        return MS_ERR_NOMEM;
    memcpy(to->p, from->p, from->n * sizeof *to->p);
    return MS_OK;
}
