/* spawn.h - start a memscope-subject for a live test and stop it again.
 *
 * The subject prints one JSON line once its memory is in place, then lives until its stdin closes;
 * spawn_subject returns after that line, so the caller reads a process whose memory is settled. */
#ifndef MEMSCOPE_TEST_SPAWN_H
#define MEMSCOPE_TEST_SPAWN_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int in;            /* write end of the subject's stdin: closing it ends the subject */
    char line[1024];   /* the JSON line it printed */
} subject;

/* argv: options for memscope-subject (NULL-terminated).  Returns 0, or -1 with a message. */
static inline int spawn_subject(subject *s, const char *const *opts)
{
    const char *bin = getenv("MEMSCOPE_SUBJECT");
    int in[2], out[2];
    const char *argv[32];
    size_t n = 0;
    if (!bin) {
        fprintf(stderr, "MEMSCOPE_SUBJECT is not set\n");
        return -1;
    }
    argv[n++] = bin;
    for (; opts && *opts && n < 31; opts++)
        argv[n++] = *opts;
    argv[n] = NULL;
    if (pipe(in) < 0 || pipe(out) < 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->in = in[1];
    size_t len = 0;
    while (len + 1 < sizeof s->line) {
        ssize_t r = read(out[0], s->line + len, 1);
        if (r <= 0)
            break;
        if (s->line[len++] == '\n')
            break;
    }
    s->line[len] = '\0';
    close(out[0]);
    if (len == 0 || s->line[len - 1] != '\n') {
        fprintf(stderr, "subject printed no line\n");
        return -1;
    }
    return 0;
}

/* The number after "key": in the subject's line (0 if absent). */
static inline unsigned long long subject_num(const subject *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s->line, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* The "0x..." address after "key": in the subject's line (0 if absent or "(nil)"). */
static inline unsigned long long subject_addr(const subject *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(s->line, pat);
    return p ? strtoull(p + strlen(pat), NULL, 16) : 0;
}

static inline void stop_subject(subject *s)
{
    close(s->in);
    int st;
    waitpid(s->pid, &st, 0);
}

#endif
