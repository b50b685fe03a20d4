/* oomhist.h - OOM kills kept in the history store: the OOM watcher's events written to the store
 * (so they outlive a restart), the part of the kernel log memscoped missed while it was down read
 * back at start, and the store the events route reads them from (oomhist.c).
 *
 * Runs on the main thread: attach after the store is opened and before the HTTP daemon starts,
 * detach after the daemon stopped and before the store is closed.  Between, the watcher thread
 * writes through the sink and the HTTP threads read; the store locks itself. */
#ifndef MEMSCOPE_OOMHIST_H
#define MEMSCOPE_OOMHIST_H

#include "oomwatch.h"
#include "store/store.h"

/* Hands the watcher's events to st from now on (those it already holds included), and stores the
 * kills the kernel log recorded since the last memscoped on st stopped reading it (same boot
 * only).  Nothing happens when st is NULL or unavailable: the events route then reads the ring. */
void oomhist_attach(oomwatch *w, ms_store *st);
/* Stops writing to the store and saves how far the kernel log was read. */
void oomhist_detach(oomwatch *w);
/* The store the events are kept in, NULL when they are only in the watcher's ring; and then why. */
ms_store *oomhist_store(void);
const char *oomhist_why(void);

#endif
