/* subject_run.h - start memscope-subject with options, read its JSON line, stop it.
 *
 * The subject lives while its stdin is open; its one-line JSON answer is read with a tiny
 * key lookup that is enough for the flat object it prints. */
#ifndef MEMSCOPE_SUBJECT_RUN_H
#define MEMSCOPE_SUBJECT_RUN_H

#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int in_fd;                /* the subject's stdin: closing it ends the subject */
    char line[4096];
} subject;

/* args: NULL-terminated options after argv[0].  Returns 0 on success. */
static int subject_start(subject *s, const char *const *args)
{
    const char *bin = getenv("MEMSCOPE_SUBJECT");
    int in[2], out[2];
    if (!bin || pipe(in) || pipe(out))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[64];
        size_t n = 0;
        argv[n++] = bin;
        for (; args[n - 1] && n < 63; n++)
            argv[n] = args[n - 1];
        argv[n] = NULL;
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->pid = pid;
    s->in_fd = in[1];
    size_t len = 0;
    while (len + 1 < sizeof s->line) {
        ssize_t r = read(out[0], s->line + len, 1);
        if (r <= 0 || s->line[len] == '\n')
            break;
        len++;
    }
    s->line[len] = '\0';
    close(out[0]);
    return len > 0 && s->line[0] == '{' ? 0 : -1;
}

/* The value of "key": as a number; hex strings ("0x...") are accepted too. */
static uint64_t subject_get(const subject *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s->line, pat);
    if (!p)
        return 0;
    p += strlen(pat);
    if (*p == '"')
        p++;
    return strtoull(p, NULL, 0);
}

static void subject_stop(subject *s)
{
    if (s->in_fd >= 0)
        close(s->in_fd);
    s->in_fd = -1;
    int st;
    waitpid(s->pid, &st, 0);
}

#endif
