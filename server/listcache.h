/* listcache.h - the process list that GET /processes answers from, read at most once per
 * --list-cache-ms and shared by the requests in between (listcache.c). */
#ifndef MEMSCOPE_LISTCACHE_H
#define MEMSCOPE_LISTCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/proclist.h"

/* A snapshot of the process list.  Reference-counted: the cache holds one reference while the
 * snapshot is current, each request one from listcache_get to its listcache_put; the last put
 * frees it.  Its list is read-only to everyone. */
typedef struct listcache_snap listcache_snap;

/* A snapshot at most max_age_ms old (fresh: read one now), with one reference for the caller, and
 * its age. */
ms_err listcache_get(unsigned max_age_ms, bool fresh, listcache_snap **out, uint64_t *age_ms);
/* Drops the caller's reference (s may be NULL). */
void listcache_put(listcache_snap *s);
/* A shallow copy of s's list to sort: to->p is the caller's (free() it), the cmdline strings stay
 * the snapshot's, so keep the reference until the copy is done with. */
ms_err listcache_copy(const listcache_snap *s, ms_proclist *to);
/* Drops the cached snapshot (at shutdown, so nothing is left for the leak checker). */
void listcache_clear(void);

#endif
