/* hsubject.h - the history tests' helpers: memscope-history-subject processes (memory that changes
 * over time in a known way), waiting for the sampler, and a temporary data directory. */
#ifndef MEMSCOPE_HSUBJECT_H
#define MEMSCOPE_HSUBJECT_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* A POST must say it is JSON, even without a body (memscoped's guard against cross-site forms). */
static const char *const json_ct[] = {"Content-Type: application/json", NULL};

typedef struct {
    pid_t pid;
    int in_fd;               /* closing it ends the subject */
    FILE *out;               /* its stdout */
} hsubject;

/* Starts $MEMSCOPE_HSUBJECT with args (NULL-ended) and waits for its "ready" line. */
static inline bool hs_start(hsubject *h, const char *const *args)
{
    const char *bin = getenv("MEMSCOPE_HSUBJECT");
    int in[2], out[2];
    if (!bin || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        return false;
    const char *argv[16] = {bin};
    for (int i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    h->pid = fork();
    if (h->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->in_fd = in[1];
    h->out = fdopen(out[0], "r");
    char line[64];
    return h->pid > 0 && h->out && fgets(line, sizeof line, h->out) && strncmp(line, "ready", 5) == 0;
}

static inline void hs_stop(hsubject *h)
{
    if (h->pid <= 0)
        return;
    close(h->in_fd);
    int st;
    if (waitpid(h->pid, &st, 0) != h->pid)
        kill(h->pid, SIGKILL);
    if (h->out)
        fclose(h->out);
    h->pid = 0;
}

static inline long hs_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The history block of /health (caller decrefs the returned root). */
static inline json_t *hs_health(const ms_server *s, json_t **hist)
{
    json_t *j = http_get_json(s, "/api/v1/health");
    *hist = j ? json_object_get(j, "history") : NULL;
    return j;
}

/* Waits until the sampler has finished `rounds` more rounds than now; false after timeout_ms. */
static inline bool hs_wait_rounds(const ms_server *s, long long rounds, long timeout_ms)
{
    json_t *h;
    json_t *j = hs_health(s, &h);
    long long start = j ? jint(h, "sampler.rounds") : 0;
    json_decref(j);
    for (long end = hs_now_ms() + timeout_ms; hs_now_ms() < end; usleep(50000)) {
        j = hs_health(s, &h);
        long long now = j ? jint(h, "sampler.rounds") : 0;
        json_decref(j);
        if (now >= start + rounds)
            return true;
    }
    return false;
}

/* A fresh directory under $TMPDIR (or /tmp); removed by hs_rmdir. */
static inline bool hs_tmpdir(char *out, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, cap, "%s/memscope-hist-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(out) != NULL;
}

static inline void hs_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
