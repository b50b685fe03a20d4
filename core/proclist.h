/* proclist.h - every visible process, from status, stat and cmdline only (never smaps); a cheap
 * mode reads status and stat alone. */
#ifndef MEMSCOPE_PROCLIST_H
#define MEMSCOPE_PROCLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "error.h"

typedef struct {
    int pid, ppid;
    uint32_t uid;
    char name[64];            /* stat's comm: the raw bytes (status escapes '\n' and '\\') */
    char *cmdline;            /* owned; "" for kernel threads and zombies; NULL in the cheap mode */
    bool cmdline_truncated;   /* cut at MS_CMDLINE_MAX bytes */
    char state;
    bool kernel_thread;
    uint32_t threads;
    uint64_t vm_size, vm_rss, rss_anon, rss_file, rss_shmem, vm_swap;
    uint64_t minflt, majflt;
    uint64_t starttime;       /* clock ticks after boot: with pid, who this process is */
    char *cgroup;             /* owned; its memory cgroup (ms_cg_membership_memory), NULL if none
                               * (and always in the cheap mode) */
    ms_container container;   /* named by that cgroup path; all "" when none */
} ms_procinfo;

/* The list keeps at most this much of each command line. */
#define MS_CMDLINE_MAX 4096

typedef struct {
    ms_procinfo *p;
    size_t n, cap;
    size_t vanished;          /* exited during the walk (any step said MS_ERR_NOENT): left out */
    size_t skipped;           /* left out for another error (unreadable, unparsable) */
    ms_err last_skip_err;     /* the error behind the last `skipped`, MS_OK if none */
} ms_proclist;

typedef enum {
    MS_PSORT_PID, MS_PSORT_PPID, MS_PSORT_NAME, MS_PSORT_UID, MS_PSORT_STATE, MS_PSORT_THREADS,
    MS_PSORT_VM_SIZE, MS_PSORT_VM_RSS, MS_PSORT_RSS_ANON, MS_PSORT_RSS_FILE, MS_PSORT_RSS_SHMEM,
    MS_PSORT_VM_SWAP, MS_PSORT_MINFLT, MS_PSORT_MAJFLT,
} ms_psort;

/* Lists /proc (or procroot for tests; NULL = "/proc").  A process that exits during the walk is
 * left out (counted in vanished); one unreadable for another reason is left out too (skipped).
 * If q is non-NULL, keeps only processes whose name (stat's comm, unescaped) or cmdline contains
 * q.  *out is overwritten; on error it is left empty, on success free it with ms_proclist_free.
 * Unsorted: call ms_proclist_sort. */
ms_err ms_proclist_read(const char *procroot, const char *q, ms_proclist *out);
/* The cheap mode, for readers that come back every few seconds and need only the figures (the
 * history sampler, the PSS cache): status and stat of each process, nothing else.  Every field
 * equals the full list's except cmdline and cgroup, which stay NULL (cmdline_truncated false,
 * container empty): those two files cost as much again as the two read (cmdline takes the
 * process's mmap lock), and neither reader uses a name beyond stat's comm.  Identity is
 * (pid, starttime), as in the full list: a reader keeping state across walks keys it on both. */
ms_err ms_proclist_read_cheap(const char *procroot, ms_proclist *out);
void ms_proclist_free(ms_proclist *l);
/* Stable sort, ties broken by pid. */
void ms_proclist_sort(ms_proclist *l, ms_psort key, bool desc);
/* "vm_rss" -> MS_PSORT_VM_RSS; false for an unknown name. */
bool ms_psort_from_name(const char *name, ms_psort *out);
/* One process, as the list would show it.  pid <= 0 takes the pid from the stat file (fixtures). */
ms_err ms_procinfo_read(int dirfd, int pid, ms_procinfo *out);
/* One process, as the cheap list would show it. */
ms_err ms_procinfo_read_cheap(int dirfd, int pid, ms_procinfo *out);
void ms_procinfo_free(ms_procinfo *p);

#endif
