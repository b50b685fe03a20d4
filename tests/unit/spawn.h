/* spawn.h - start memscope-subject (path in env MEMSCOPE_SUBJECT) for live cross-checks.
 *
 * The subject prints one JSON line once its memory is in place, then waits for its stdin to close;
 * spawn_subject returns after that line, so what the test reads is the settled state. */
#ifndef MEMSCOPE_TEST_SPAWN_H
#define MEMSCOPE_TEST_SPAWN_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int in_fd;        /* write end of the subject's stdin: closing it ends the subject */
    char line[4096];  /* the JSON line it printed */
} subject;

/* argv: the options after the program name, NULL-terminated.  0 on success.  settle: wait until
 * it sleeps on its stdin (a churning subject never does: it is running once its line is out). */
static inline int spawn_subject_opt(subject *s, const char *const *opts, int settle)
{
    const char *path = getenv("MEMSCOPE_SUBJECT");
    int in[2], out[2];
    const char *argv[32];
    size_t n = 0;
    if (!path)
        return -1;
    argv[n++] = path;
    for (; opts && *opts && n < 31; opts++)
        argv[n++] = *opts;
    argv[n] = NULL;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->in_fd = in[1];
    size_t len = 0;
    while (len < sizeof s->line - 1) {
        ssize_t r = read(out[0], s->line + len, 1);
        if (r <= 0)
            break;
        if (s->line[len] == '\n')
            break;
        len++;
    }
    s->line[len] = '\0';
    close(out[0]);
    if (len == 0)
        return -1;
    if (!settle)
        return 0;
    /* The subject still installs its signal handlers after printing (faulting in a libc page or
     * two); it has settled once it sleeps in read() on its stdin. */
    char spath[64], st[512];
    snprintf(spath, sizeof spath, "/proc/%d/stat", (int)s->pid);
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(spath, "r");
        size_t got = f ? fread(st, 1, sizeof st - 1, f) : 0;
        if (f)
            fclose(f);
        st[got] = '\0';
        const char *close_paren = strrchr(st, ')');
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'S')
            return 0;
        usleep(1000);
    }
    return -1;
}

static inline int spawn_subject(subject *s, const char *const *opts)
{
    return spawn_subject_opt(s, opts, 1);
}

static inline void stop_subject(subject *s)
{
    int st;
    if (s->pid <= 0)
        return;
    close(s->in_fd);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
}

/* Runs a shell command and returns its first output line as a number (or UINT64_MAX). */
static inline unsigned long long run_number(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    unsigned long long v = ~0ULL;
    if (!f)
        return v;
    if (fscanf(f, "%llu", &v) != 1)
        v = ~0ULL;
    pclose(f);
    return v;
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

#endif
