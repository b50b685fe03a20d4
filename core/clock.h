/* clock.h - a deadline some milliseconds after a time, for pthread_cond_timedwait: the one place
 * that carries nanoseconds over into seconds. */
#ifndef MEMSCOPE_CLOCK_H
#define MEMSCOPE_CLOCK_H

#include <time.h>

/* *t moved ms milliseconds later (ms >= 0); t's tv_nsec must be normalised, as clock_gettime
 * gives it. */
static inline void ms_timespec_add_ms(struct timespec *t, long long ms)
{
    t->tv_sec += (time_t)(ms / 1000);
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

#endif
