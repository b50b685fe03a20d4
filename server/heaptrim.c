/* heaptrim.c - the deferred malloc_trim (why: heaptrim.h).
 *
 * Shared state, all under `mu`: `pending` (an idle report not yet followed by a trim or a request)
 * and `due` (when it may be trimmed), set by the request threads; `running`, set by start and stop.
 * The thread sleeps without a deadline while nothing is pending (heaptrim_idle wakes it), else
 * until `due`; each report moves `due` later, so within a burst it wakes about once per idle_ms
 * and finds the trim not yet due.  malloc_trim runs outside the lock.  The count is atomic. */
#include "heaptrim.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "core/clock.h"
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;                  /* on CLOCK_MONOTONIC; made by heaptrim_start */
static pthread_t thread;
static bool running, pending, asleep;      /* asleep: the thread waits with no deadline */
static struct timespec due;
static unsigned idle_ms;
static atomic_uint_fast64_t trims;

static void trim(void)
{
    malloc_trim(0);
    atomic_fetch_add(&trims, 1);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec != b->tv_sec ? a->tv_sec < b->tv_sec : a->tv_nsec < b->tv_nsec;
}

static void *trimmer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (running) {
        if (!pending) {
            asleep = true;
            pthread_cond_wait(&cv, &mu);
            asleep = false;
            continue;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (before(&now, &due)) {
            struct timespec until = due;
            pthread_cond_timedwait(&cv, &mu, &until);
            continue;
        }
        pending = false;
        pthread_mutex_unlock(&mu);
        trim();
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

ms_err heaptrim_start(unsigned ms)
{
    ms_err rc = MS_ERR_NOMEM;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return rc;
    pthread_mutex_lock(&mu);
    if (running) {
        rc = MS_OK;
        goto out;
    }
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&cv, &ca) != 0)
        goto out;
    idle_ms = ms;
    pending = asleep = false;
    running = true;
    if (pthread_create(&thread, NULL, trimmer, NULL) != 0) {
        running = false;
        pthread_cond_destroy(&cv);
        goto out;
    }
    rc = MS_OK;
out:
    pthread_mutex_unlock(&mu);
    pthread_condattr_destroy(&ca);
    return rc;
}

void heaptrim_stop(void)
{
    pthread_mutex_lock(&mu);
    bool was = running;
    running = false;
    if (was)
        pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (!was)
        return;
    pthread_join(thread, NULL);
    pthread_cond_destroy(&cv);
}

void heaptrim_busy(void)
{
    pthread_mutex_lock(&mu);
    pending = false;
    pthread_mutex_unlock(&mu);
}

void heaptrim_idle(void)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        trim();
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &due);
    ms_timespec_add_ms(&due, idle_ms);
    pending = true;
    if (asleep)
        pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

uint64_t heaptrim_count(void)
{
    return atomic_load(&trims);
}
