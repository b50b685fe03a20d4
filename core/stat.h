/* stat.h - /proc/<pid>/stat (one line: state, faults, times, start time and the layout pointers)
 * and /proc/<pid>/cmdline, the two small files the process list reads beside status. */
#ifndef MEMSCOPE_STAT_H
#define MEMSCOPE_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* From include/linux/sched.h: PF_KTHREAD is set for every kernel thread, never for a user process;
 * PF_EXITING from the first step of exit on. */
#define MS_PF_EXITING 0x00000004ULL
#define MS_PF_KTHREAD 0x00200000ULL

typedef struct {
    int pid;
    char comm[64];            /* between the first '(' and the last ')' */
    char state;
    int ppid, pgrp, session;
    uint64_t flags;           /* PF_* ; PF_KTHREAD = 0x00200000 marks kernel threads */
    uint64_t minflt, majflt, utime, stime;
    int64_t num_threads;
    uint64_t starttime, vsize, rss_pages;
    /* layout pointers: 0 when the kernel hides them (no ptrace read access) */
    uint64_t start_code, end_code, start_stack, start_data, end_data, start_brk,
             arg_start, arg_end, env_start, env_end;
    bool has_layout;          /* the kernel printed fields 45..51 (Linux 3.5+) */
    bool layout_hidden;       /* no ptrace read access: the kernel printed 1/1 for start/end_code
                               * (stored as 0) and 0 for the other layout pointers */
} ms_stat;

ms_err ms_stat_parse(const char *text, size_t len, ms_stat *out);
ms_err ms_stat_read(int dirfd, ms_stat *out);
bool ms_stat_is_kthread(const ms_stat *st);

/* cmdline with its NUL separators turned into spaces (trailing NULs dropped), at most cap-1 bytes
 * plus NUL; *truncated tells if it was cut.  An empty cmdline (kernel thread) gives "". */
ms_err ms_cmdline_read(int dirfd, char *out, size_t cap, bool *truncated);

#endif
