/* oomwatch.h - every OOM kill seen since memscoped started, kept in a bounded ring.
 *
 * One watcher thread waits in poll() on /dev/kmsg (the kernel's "oom-kill:" and "Killed process"
 * lines name the cgroup, the victim and its figures) and on a stop descriptor.  Where the kernel
 * log is not readable it reads the cgroups' OOM kill counters once a second instead, and records
 * each kill it counts with the victim unknown and the reason.
 *
 * Ownership: the ring belongs to the watcher; its entries are plain values (no pointers), written
 * only by the watcher thread and copied out by readers, both under the ring's mutex.  A sink (the
 * history store's hook) is called on the watcher thread with a pointer valid for that call only. */
#ifndef MEMSCOPE_OOMWATCH_H
#define MEMSCOPE_OOMWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cgroup.h"
#include "core/error.h"

#define OOM_RING_CAP 256

typedef struct {
    uint64_t seq;                 /* 1, 2, ... in the order seen */
    int64_t time_ms;              /* when the kernel logged it (or the counter rose), Unix ms */
    bool global;                  /* the machine ran out, not a cgroup limit */
    char cgroup[MS_CG_PATH_MAX];  /* the cgroup whose limit was hit ("" when global) */
    char task_cgroup[MS_CG_PATH_MAX]; /* the victim's own cgroup, when the log names it */
    char constraint[32];          /* CONSTRAINT_MEMCG, CONSTRAINT_NONE, ... ("" when unknown) */
    int pid;                      /* 0: victim unknown */
    char name[64];
    uint32_t uid;
    bool figures;                 /* the kernel's line was read: the sizes below are known */
    uint64_t total_vm, anon_rss, file_rss, shmem_rss, pgtables;   /* bytes */
    int64_t oom_score_adj;
    const char *source;           /* "kmsg" or "counter" (static strings) */
    char note[320];               /* why the victim is unknown, when it is */
} oom_event;

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

/* A hook for the history store: called for each new event on the watcher thread. */
typedef void (*oom_sink_fn)(const oom_event *ev, void *ctx);
void oomwatch_set_sink(oomwatch *w, oom_sink_fn fn, void *ctx);

/* Parses one /dev/kmsg record ("pri,seq,usec,flags;text").  A "oom-kill:" line is kept in *pending;
 * a "Killed process" line fills *ev (joined with *pending by pid) and returns true. */
bool oomwatch_parse_kmsg(const char *rec, size_t len, oom_event *pending, oom_event *ev, uint64_t *usec);

#endif
