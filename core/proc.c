/* proc.c - /proc/<pid> directory descriptors; see proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "stat.h"
#include "status.h"

ms_err ms_dir_open(const char *path, int *dirfd)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    *dirfd = fd;
    return MS_OK;
}

ms_err ms_pid_open(int pid, int *dirfd)
{
    char path[32];
    if (pid <= 0)
        return MS_ERR_INVAL;
    snprintf(path, sizeof path, "/proc/%d", pid);
    return ms_dir_open(path, dirfd);
}

bool ms_pid_alive(int dirfd)
{
    /* Once the task is reaped, lookups under its directory fail with ENOENT/ESRCH; a zombie still
     * answers, which is right: it still exists until its parent reaps it. */
    char c;
    int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, &c, 1);
    close(fd);
    return n == 1;
}

bool ms_read_cut_by_exit(int dirfd, bool got_text)
{
    if (!got_text)
        return !ms_pid_alive(dirfd);
    ms_stat st;
    if (ms_stat_read(dirfd, &st) != MS_OK)
        return true;
    return st.state == 'Z' || st.state == 'X' || (st.flags & MS_PF_EXITING);
}

ms_mm_state ms_pid_mm_state(int dirfd)
{
    ms_stat st;
    if (ms_stat_read(dirfd, &st) != MS_OK)
        return MS_MM_GONE;
    return ms_mm_state_of(&st);
}

ms_mm_state ms_mm_state_of(const ms_stat *st)
{
    if (ms_stat_is_kthread(st))
        return MS_MM_KTHREAD;
    if (st->state == 'Z' || st->state == 'X')
        return MS_MM_ZOMBIE;
    return MS_MM_PRESENT;
}

ms_err ms_pid_no_mm_err(int dirfd)
{
    ms_mm_state st = ms_pid_mm_state(dirfd);
    return st == MS_MM_KTHREAD || st == MS_MM_ZOMBIE ? MS_ERR_NOMM : MS_ERR_NOENT;
}

const char *ms_mm_state_reason(ms_mm_state st)
{
    switch (st) {
    case MS_MM_PRESENT: return "the process has a user address space";
    case MS_MM_KTHREAD: return "a kernel thread has no user address space";
    case MS_MM_ZOMBIE: return "a zombie has exited and its address space is gone (its parent has not reaped it yet)";
    case MS_MM_GONE: return "the process has exited";
    }
    return "unknown";
}
