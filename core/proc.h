/* proc.h - opening a process's /proc directory once, so every later file is read relative to it.
 *
 * As htop does: open /proc/<pid> once and openat() each file from that descriptor.  The pid cannot be
 * recycled under us between two files, and a test passes a fixture directory instead. */
#ifndef MEMSCOPE_PROC_H
#define MEMSCOPE_PROC_H

#include <stdbool.h>

#include "error.h"
#include "stat.h"

/* Opens /proc/<pid> as a directory descriptor (O_CLOEXEC).  MS_ERR_NOENT when there is no such
 * process.  The caller closes *dirfd. */
ms_err ms_pid_open(int pid, int *dirfd);
/* Opens any directory laid out like /proc/<pid> (fixtures in tests). */
ms_err ms_dir_open(const char *path, int *dirfd);
/* True while the process behind dirfd still exists (not yet reaped).  Used to tell "the process
 * exited mid-read" (404) from "the file is legitimately empty" (a kernel thread's maps). */
bool ms_pid_alive(int dirfd);
/* Whether a maps/smaps read that just reached its end was cut short by the process's exit.  The
 * kernel ends these files early, at a record boundary, once the mm is gone, and it lets the mm go at
 * the start of exit (PF_EXITING is set first), well before the task is a zombie, let alone reaped:
 * so "still there" is not enough, the task must not be exiting either.  got_text: the read gave
 * something; a file empty from the start is a kernel thread's or a zombie's, complete as long as
 * the task is there. */
bool ms_read_cut_by_exit(int dirfd, bool got_text);

/* Whether a process has a user address space, as far as it can be told from outside.  A kernel
 * thread never has one; a zombie has exited and let its own go (as has a task leader that ended
 * with pthread_exit while its other threads run on: /proc/<pid> shows the leader, 'Z', no mm).
 * Both answer their maps and smaps empty and refuse pagemap, smaps_rollup and PROCMAP_QUERY with
 * ESRCH, which without this would read as "no such process". */
typedef enum {
    MS_MM_PRESENT,    /* a user process that is neither of the below (it may still be exiting) */
    MS_MM_KTHREAD,
    MS_MM_ZOMBIE,     /* state Z or X */
    MS_MM_GONE,       /* reaped: the process no longer exists */
} ms_mm_state;
ms_mm_state ms_pid_mm_state(int dirfd);
/* The same from a stat already read. */
ms_mm_state ms_mm_state_of(const ms_stat *st);
/* For a read that found no address space: MS_ERR_NOMM for a kernel thread or a zombie, else
 * MS_ERR_NOENT (reaped, or on its way out). */
ms_err ms_pid_no_mm_err(int dirfd);
const char *ms_mm_state_reason(ms_mm_state st);

#endif
