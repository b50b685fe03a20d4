/* oomwatch.h - every OOM kill seen since memscoped started, kept in a bounded ring.
 *
 * One watcher thread waits in poll() on /dev/kmsg (the kernel's "oom-kill:" and "Killed process"
 * lines name the cgroup, the victim and its figures) and on a stop descriptor.  Where the kernel
 * log is not readable it reads the cgroups' OOM kill counters once a second instead, and records
 * each kill it counts with the victim unknown and the reason.
 *
 * Ownership: the ring belongs to the watcher; its entries are plain values (no pointers), written
 * only by the watcher thread and copied out by readers, both under the ring's mutex.  A sink (the
 * history store's hook) is called on the watcher thread with a pointer valid for that call only.
 *
 * Each kernel-log event carries the boot id and the log record's sequence number, the key that
 * lets the store keep a record once when the log is read again after a restart (oomwatch_replay). */
#ifndef MEMSCOPE_OOMWATCH_H
#define MEMSCOPE_OOMWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cgroup.h"
#include "core/error.h"
#include "store/store.h"

#define OOM_RING_CAP 256

/* The event is the store's (the store keeps them across restarts); seq here counts the ring's. */
typedef ms_oom_event oom_event;

typedef enum { OOM_SOURCE_AUTO, OOM_SOURCE_COUNTERS, OOM_SOURCE_OFF } oom_source;

typedef struct oomwatch oomwatch;

/* Starts the watcher.  hier may be NULL (no memory hierarchy: the kernel log alone).  With
 * OOM_SOURCE_OFF nothing is watched and the ring stays empty. */
ms_err oomwatch_start(const ms_cg_hier *hier, oom_source src, oomwatch **out);
/* Stops the thread (it wakes at once) and frees everything; *w becomes NULL. */
void oomwatch_stop(oomwatch **w);

/* Copies out the events with time_ms >= since_ms, oldest first, at most max.  *lost: events that
 * fell out of the ring since start (so a client knows the list is not complete). */
size_t oomwatch_copy(oomwatch *w, int64_t since_ms, oom_event *out, size_t max, uint64_t *lost);
/* How the watcher learns of kills: "kmsg", "counters" or "off"; and why not kmsg, if not. */
const char *oomwatch_source(const oomwatch *w, const char **why);
/* Total kills recorded since start (the ring may hold fewer). */
uint64_t oomwatch_total(oomwatch *w);

/* Adds an event (the watcher does; exposed for the race test).  Sets seq. */
void oomwatch_record(oomwatch *w, oom_event *ev);

/* A hook for the history store: called for each new event on the watcher thread.  Setting it
 * first hands it, on the caller's thread, every event the ring holds, while no event can be
 * recorded, so that none is missed or handed twice between the two.  fn NULL removes it; once
 * this returns, no call to the old sink is running or will be made. */
typedef void (*oom_sink_fn)(const oom_event *ev, void *ctx);
void oomwatch_set_sink(oomwatch *w, oom_sink_fn fn, void *ctx);

/* The boot id the kernel-log events carry ("" when not reading the kernel log). */
const char *oomwatch_boot_id(const oomwatch *w);
/* The sequence number of the last kernel-log record the watcher read (0: none yet). */
uint64_t oomwatch_kmsg_last(oomwatch *w);
/* Reads the kernel log from its oldest record on its own descriptor, up to the newest, and calls fn
 * (on the caller's thread) for every kill in a record numbered after `after`.  *last: the number of
 * the newest record read.  MS_ERR_UNAVAILABLE when the watcher does not read the kernel log. */
ms_err oomwatch_replay(oomwatch *w, uint64_t after, oom_sink_fn fn, void *ctx, uint64_t *last);

/* Parses one /dev/kmsg record ("pri,seq,usec,flags;text").  A "oom-kill:" line is kept in *pending;
 * a "Killed process" line fills *ev (joined with *pending by pid, kmsg_seq set) and returns true. */
bool oomwatch_parse_kmsg(const char *rec, size_t len, oom_event *pending, oom_event *ev, uint64_t *usec);

#endif
