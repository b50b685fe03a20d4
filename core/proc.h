/* proc.h - opening a process's /proc directory once, so every later file is read relative to it.
 *
 * As htop does: open /proc/<pid> once and openat() each file from that descriptor.  The pid cannot be
 * recycled under us between two files, and a test passes a fixture directory instead. */
#ifndef MEMSCOPE_PROC_H
#define MEMSCOPE_PROC_H

#include <stdbool.h>

#include "error.h"

/* Opens /proc/<pid> as a directory descriptor (O_CLOEXEC).  MS_ERR_NOENT when there is no such
 * process.  The caller closes *dirfd. */
ms_err ms_pid_open(int pid, int *dirfd);
/* Opens any directory laid out like /proc/<pid> (fixtures in tests). */
ms_err ms_dir_open(const char *path, int *dirfd);
/* True while the process behind dirfd still exists (not yet reaped).  Used to tell "the process
 * exited mid-read" (404) from "the file is legitimately empty" (a kernel thread's maps). */
bool ms_pid_alive(int dirfd);

#endif
