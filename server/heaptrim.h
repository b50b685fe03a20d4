/* heaptrim.h - free heap pages handed back to the system once memscoped has been idle a moment.
 *
 * A request's buffers end up between other blocks, where the heap's top-only trimming cannot
 * return them, so without malloc_trim memscoped would keep its busiest moment's heap for good.
 * Trimming the moment the last request in flight completes costs the server's thread ~1.5 ms after
 * a large answer (an madvise per run of free pages) and makes the next request fault the same pages
 * in again (some 50 faults for a diff of a 10,000-region process, ~1 ms in a VM): a client that
 * asks again at once (a dashboard's refresh, a script's loop, the bench's turns) paid both every
 * time.  So the trim waits until no request has begun for a moment: a burst is trimmed once, after
 * it.  A thread of this module's own waits for that moment; without it (heaptrim_start failed or
 * was not called) heaptrim_idle trims at once, as before. */
#ifndef MEMSCOPE_HEAPTRIM_H
#define MEMSCOPE_HEAPTRIM_H

#include <stdint.h>

#include "core/error.h"

/* Starts the thread: a trim follows an idle report by idle_ms unless a request begins first. */
ms_err heaptrim_start(unsigned idle_ms);
/* Stops it (a trim pending is dropped); a no-op when it is not running. */
void heaptrim_stop(void);
/* A request began: a trim pending waits for the next idle report. */
void heaptrim_busy(void);
/* The last request in flight completed. */
void heaptrim_idle(void);
/* Trims done since the process started. */
uint64_t heaptrim_count(void);

#endif
