/* kthread.h - whether a kernel thread is visible to this test: kthreadd is pid 2 in the host's pid
 * namespace, and a container, WSL or CI runner with a pid namespace of its own shows none at all.
 *
 * Decided from /proc/2/stat's flags (PF_KTHREAD) read here with stdio, not by memscope's own
 * parser, so a test that checks memscope's kernel_thread flag does not check it against itself. */
#ifndef MEMSCOPE_TEST_KTHREAD_H
#define MEMSCOPE_TEST_KTHREAD_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define TEST_PF_KTHREAD 0x00200000u

static inline bool pid2_is_kthread(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/2/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');   /* comm may hold spaces and parentheses */
    unsigned long flags = 0;
    /* after ") ": state ppid pgrp session tty_nr tpgid flags */
    return p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 && (flags & TEST_PF_KTHREAD);
}

#endif
