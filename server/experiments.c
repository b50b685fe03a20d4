/* experiments.c - runs experiments in memscope-lab processes and keeps what they report.
 *
 * Each experiment has one thread that owns its lab from birth to reaping: it spawns the lab (with
 * posix_spawn, never a fork of this multi-threaded server), feeds it the spec on a pipe, reads its
 * NDJSON lines, enforces the wall-clock limits, and reaps it.  Spawning from that thread matters:
 * PR_SET_PDEATHSIG fires when the *thread* that created the child exits, so a lab spawned from a
 * short-lived HTTP worker would die with it.  Every experiment's state lives under one mutex; one
 * condition variable wakes followers on every new line.  The lab's stdin is a pipe we hold open:
 * closing it ends a hold early.  Who frees an experiment is told beside struct experiment: the last
 * of its references, never whoever happens to find it finished. */
#include "experiments.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "lab/spec.h"

extern char **environ;

#define MAX_LINE (1u << 20)            /* a lab line longer than this is cut */
#define MAX_TEXT ((size_t)32 << 20)    /* all lines of one experiment */
#define TERM_GRACE_MS 1000
#define HOLD_GRACE_MS 5000

typedef enum { EXP_STARTING, EXP_RUNNING, EXP_HOLDING, EXP_DONE, EXP_FAILED, EXP_KILLED } experiment_state;
static const char *const state_names[] = { "starting", "running", "holding", "done", "failed", "killed" };

typedef struct {
    char *text;          /* one line, without '\n' */
    size_t len;
    bool json;           /* it parsed as JSON when it came (else it was cut short: "garbled") */
} experiment_line;

/* Ownership: an experiment is freed by whoever drops its last reference (experiment_unref_locked,
 * under m->mu).  The references: the manager's list while it is listed (dropped by DELETE of a finished
 * one, by eviction, by shutdown); its thread, until the thread's last act; and every caller that
 * uses it across a wait on m->cv (the start that waits for the spawn, a DELETE that waits for the
 * lab to end).  A caller that holds m->mu from lookup to last use (GET, list, follow) needs none.
 * The thread is detached: nobody joins it, and experiments_free waits for m->threads to reach 0. */
typedef struct experiment {
    unsigned refs;                 /* under m->mu */
    bool listed;                   /* in m->list */
    uint64_t id;
    pid_t pid;
    experiment_state state;
    bool alive;
    char preset[MS_EXP_NAME_MAX];
    uint64_t hold_s;
    size_t steps_total, steps_done;
    long after_step;               /* index of the last step that reported, -1 before any */
    char reason[128];              /* why it ended, if not by itself */
    char signal[16];
    char fault_addr[24];
    int exit_code;                 /* -1 unless it exited */
    char errtail[2048];            /* the end of its stderr */
    size_t errlen;
    time_t started_at;
    uint64_t t_start, t_hold, t_end;   /* monotonic ms */
    unsigned max_wall_s;
    experiment_line *lines;
    size_t nlines, cap, bytes;
    bool truncated;
    /* owned by the thread, read under the lock */
    int hold_w;                    /* write end of the lab's stdin */
    bool kill_requested;
    uint64_t t_kill;               /* when SIGTERM went out */
    bool shutdown;
    bool finished;                 /* reaped, exit line appended */
    /* handed to the thread */
    char *spec_text;
    size_t spec_len;
    ms_exp_limits limits;
    int spawn_err;                 /* errno from posix_spawn, set before `spawned` */
    bool spawned;
    struct experiments_mgr *mgr;
} experiment;

struct experiments_mgr {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    experiments_config cfg;
    char lab_path[PATH_MAX];
    experiment **list;
    size_t nlist, cap;
    uint64_t next_id;
    uint64_t refused;         /* starts refused for a limit, for /metrics */
    unsigned threads;         /* experiment threads not yet returned (each holds a reference) */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void experiments_config_default(experiments_config *c)
{
    memset(c, 0, sizeof *c);
    ms_exp_limits_default(&c->limits, NULL);
    c->max_running = 2;
    c->max_wall_s = 120;
    c->max_kept = 32;
}

static bool executable(const char *p)
{
    return p && *p && access(p, X_OK) == 0;
}

static void find_lab(experiments_mgr *m)
{
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    m->lab_path[0] = 0;
    if (m->cfg.lab_path) {
        if (executable(m->cfg.lab_path))
            snprintf(m->lab_path, sizeof m->lab_path, "%s", m->cfg.lab_path);
        return;    /* a configured path that does not work is not silently replaced */
    }
    const char *env = getenv("MEMSCOPE_LAB");
    if (executable(env)) {
        snprintf(m->lab_path, sizeof m->lab_path, "%s", env);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = 0;
    static const char *const rel[] = { "/memscope-lab", "/../lab/memscope-lab" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        if (executable(cand) && realpath(cand, m->lab_path))
            return;
    }
    m->lab_path[0] = 0;
}

ms_err experiments_new(const experiments_config *c, experiments_mgr **out)
{
    experiments_mgr *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ERR_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (c)
        m->cfg = *c;
    else
        experiments_config_default(&m->cfg);
    m->next_id = 1;
    find_lab(m);
    *out = m;
    return MS_OK;
}

const char *experiments_lab_path(const experiments_mgr *m)
{
    return m->lab_path;
}

void experiments_set_config(experiments_mgr *m, const experiments_config *c)
{
    pthread_mutex_lock(&m->mu);
    const char *old = m->cfg.lab_path;
    m->cfg = *c;
    if (c->lab_path != old)
        find_lab(m);
    pthread_mutex_unlock(&m->mu);
}

static void experiment_free(experiment *x)
{
    for (size_t i = 0; i < x->nlines; i++)
        free(x->lines[i].text);
    free(x->lines);
    free(x->spec_text);
    free(x);
}

static void experiment_unref_locked(experiment *x)
{
    if (--x->refs == 0)
        experiment_free(x);
}

/* --- the per-experiment thread --- */

/* Appends a line (under the lock) and updates what it tells about the run. */
static void add_line_locked(experiment *x, const char *s, size_t n)
{
    json_t *o = json_loadb(s, n, 0, NULL);
    const char *type = o ? json_string_value(json_object_get(o, "type")) : NULL;
    if (type) {
        if (strcmp(type, "start") == 0 && x->state == EXP_STARTING) {
            x->state = EXP_RUNNING;
        } else if (strcmp(type, "step") == 0) {
            x->steps_done++;
            x->after_step = (long)json_integer_value(json_object_get(o, "step"));
        } else if (strcmp(type, "hold") == 0) {
            x->state = EXP_HOLDING;
            x->t_hold = mono_ms();
        } else if (strcmp(type, "budget") == 0) {   /* the lab stopped at its budget: that is why it ends */
            const char *msg = json_string_value(json_object_get(o, "message"));
            snprintf(x->reason, sizeof x->reason, "%s", msg ? msg : "budget exceeded");
        } else if (strcmp(type, "signal") == 0) {
            const char *a = json_string_value(json_object_get(o, "addr"));
            snprintf(x->fault_addr, sizeof x->fault_addr, "%s", a ? a : "");
        }
    }
    bool progress = type && strcmp(type, "progress") == 0, parsed = o != NULL;
    json_decref(o);
    if (x->bytes + n > MAX_TEXT && (progress || x->bytes + n > MAX_TEXT + (1u << 20))) {
        x->truncated = true;   /* progress goes first; the last MiB is kept for the final lines */
        return;
    }
    if (x->nlines == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        experiment_line *nl = realloc(x->lines, nc * sizeof *nl);
        if (!nl) {
            x->truncated = true;
            return;
        }
        x->lines = nl;
        x->cap = nc;
    }
    char *t = malloc(n + 1);
    if (!t) {
        x->truncated = true;
        return;
    }
    memcpy(t, s, n);
    t[n] = 0;
    x->lines[x->nlines].text = t;
    x->lines[x->nlines].len = n;
    x->lines[x->nlines].json = parsed;
    x->nlines++;
    x->bytes += n;
}

typedef struct {
    char *buf;
    size_t len, cap;
    bool cut;
} linebuf;

/* Feeds bytes read from the lab's stdout; each complete line is stored. */
static void feed(experiments_mgr *m, experiment *x, linebuf *lb, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            pthread_mutex_lock(&m->mu);
            if (lb->len)
                add_line_locked(x, lb->buf, lb->len);
            pthread_cond_broadcast(&m->cv);
            pthread_mutex_unlock(&m->mu);
            lb->len = 0;
            continue;
        }
        if (lb->len == lb->cap) {
            if (lb->cap >= MAX_LINE)
                continue;          /* over-long line: the rest of it is dropped */
            size_t nc = lb->cap ? lb->cap * 2 : 4096;
            char *nb = realloc(lb->buf, nc);
            if (!nb)
                continue;
            lb->buf = nb;
            lb->cap = nc;
        }
        lb->buf[lb->len++] = p[i];
    }
}

static void kill_group(experiment *x, int sig)
{
    if (x->pid > 0)
        kill(-x->pid, sig);   /* the lab and a fork child of it: one process group */
}

static int make_pipe(int fds[2])
{
    return pipe2(fds, O_CLOEXEC);
}

/* A descriptor at 10 or above, so the spawn's dup2 onto 0..3 never meets its own source. */
static int high_fd(int fd)
{
    if (fd >= 10)
        return fd;
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return h;
}

static void write_all_fd(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;       /* the lab died before reading it all: its exit tells why */
        p += w;
        n -= (size_t)w;
    }
}

static void finish(experiments_mgr *m, experiment *x, int ws)
{
    json_t *e = json_object();
    pthread_mutex_lock(&m->mu);
    x->alive = false;
    x->t_end = mono_ms();
    if (WIFEXITED(ws)) {
        x->exit_code = WEXITSTATUS(ws);
        if (x->kill_requested)
            x->state = EXP_KILLED;   /* it stopped at our SIGTERM, cleanly */
        else
            x->state = x->exit_code == 0 ? EXP_DONE : EXP_FAILED;
        if (x->kill_requested)
            snprintf(x->signal, sizeof x->signal, "SIGTERM");
    } else if (WIFSIGNALED(ws)) {
        const char *ab = sigabbrev_np(WTERMSIG(ws));
        x->state = EXP_KILLED;
        snprintf(x->signal, sizeof x->signal, "SIG%s", ab ? ab : "?");
        if (!x->reason[0])
            snprintf(x->reason, sizeof x->reason, "%s",
                     WTERMSIG(ws) == SIGKILL ? "SIGKILL not sent by memscoped (the OOM killer?)" : "signal");
    }
    if (x->state == EXP_FAILED && !x->reason[0])
        snprintf(x->reason, sizeof x->reason, "exit code %d", x->exit_code);
    json_object_set_new(e, "type", json_string("exit"));
    json_object_set_new(e, "state", json_string(state_names[x->state]));
    json_object_set_new(e, "reason", x->reason[0] ? json_string(x->reason) : json_null());
    json_object_set_new(e, "signal", x->signal[0] ? json_string(x->signal) : json_null());
    json_object_set_new(e, "exit_code", x->exit_code >= 0 ? json_integer(x->exit_code) : json_null());
    json_object_set_new(e, "after_step", x->after_step >= 0 ? json_integer(x->after_step) : json_null());
    json_object_set_new(e, "fault_addr", x->fault_addr[0] ? json_string(x->fault_addr) : json_null());
    char *s = json_dumps(e, JSON_COMPACT);
    if (s) {
        add_line_locked(x, s, strlen(s));
        free(s);
    }
    x->finished = true;
    if (x->hold_w >= 0) {
        close(x->hold_w);
        x->hold_w = -1;
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    json_decref(e);
}

/* The thread's last act: its reference goes, and experiments_free learns one fewer thread runs. */
static void thread_exit(experiments_mgr *m, experiment *x)
{
    pthread_mutex_lock(&m->mu);
    experiment_unref_locked(x);
    m->threads--;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void *experiment_thread(void *arg)
{
    experiment *x = arg;
    experiments_mgr *m = x->mgr;
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, spec[2] = { -1, -1 };
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGPIPE);   /* a lab that dies early makes our spec write fail with EPIPE, not kill us */
    pthread_sigmask(SIG_BLOCK, &ss, NULL);

    int e = 0;
    if (make_pipe(in) || make_pipe(out) || make_pipe(err) || make_pipe(spec))
        e = errno;
    if (!e) {
        in[0] = high_fd(in[0]);
        out[1] = high_fd(out[1]);
        err[1] = high_fd(err[1]);
        spec[0] = high_fd(spec[0]);
        if (in[0] < 0 || out[1] < 0 || err[1] < 0 || spec[0] < 0)
            e = errno ? errno : EMFILE;
    }
    pid_t pid = -1;
    if (!e) {
        char maxb[32], maxs[32], maxh[32];
        snprintf(maxb, sizeof maxb, "%llu", (unsigned long long)x->limits.max_bytes);
        snprintf(maxs, sizeof maxs, "%llu", (unsigned long long)x->limits.max_steps);
        snprintf(maxh, sizeof maxh, "%llu", (unsigned long long)x->limits.max_hold_s);
        char *argv[] = { m->lab_path, (char *)"--spec-fd", (char *)"3", (char *)"--max-bytes", maxb,
                         (char *)"--max-steps", maxs, (char *)"--max-hold", maxh, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        posix_spawn_file_actions_adddup2(&fa, spec[0], 3);
        posix_spawnattr_init(&at);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&at, 0);          /* its own group: one kill() reaches a fork child too */
        posix_spawnattr_setsigmask(&at, &none);     /* the server's threads block signals; the lab must not */
        posix_spawnattr_setsigdefault(&at, &all);
        e = posix_spawn(&pid, m->lab_path, &fa, &at, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
    }
    if (in[0] >= 0) close(in[0]);
    if (out[1] >= 0) close(out[1]);
    if (err[1] >= 0) close(err[1]);
    if (spec[0] >= 0) close(spec[0]);

    pthread_mutex_lock(&m->mu);
    x->spawned = true;
    x->spawn_err = e;
    if (!e) {
        x->pid = pid;
        x->alive = true;
        x->hold_w = in[1];
        x->t_start = mono_ms();
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (e) {
        if (in[1] >= 0) close(in[1]);
        if (out[0] >= 0) close(out[0]);
        if (err[0] >= 0) close(err[0]);
        if (spec[1] >= 0) close(spec[1]);
        pthread_mutex_lock(&m->mu);
        x->finished = true;
        x->state = EXP_FAILED;
        snprintf(x->reason, sizeof x->reason, "cannot start the lab: %s", strerror(e));
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        thread_exit(m, x);
        return NULL;
    }

    write_all_fd(spec[1], x->spec_text, x->spec_len);
    close(spec[1]);

    linebuf lb = { 0 };
    bool out_open = true, err_open = true, sent_kill = false;
    char buf[65536];
    while (out_open || err_open) {
        struct pollfd pf[2] = { { out_open ? out[0] : -1, POLLIN, 0 }, { err_open ? err[0] : -1, POLLIN, 0 } };
        int r = poll(pf, 2, 100);
        if (r < 0 && errno != EINTR)
            break;
        for (int k = 0; k < 2 && r > 0; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(pf[k].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (k == 0) out_open = false; else err_open = false;
                continue;
            }
            if (k == 0) {
                feed(m, x, &lb, buf, (size_t)n);
            } else {
                pthread_mutex_lock(&m->mu);   /* keep the last bytes of stderr */
                size_t keep = sizeof x->errtail - 1;
                if ((size_t)n >= keep) {
                    memcpy(x->errtail, buf + (size_t)n - keep, keep);
                    x->errlen = keep;
                } else {
                    if (x->errlen + (size_t)n > keep) {
                        size_t drop = x->errlen + (size_t)n - keep;
                        memmove(x->errtail, x->errtail + drop, x->errlen - drop);
                        x->errlen -= drop;
                    }
                    memcpy(x->errtail + x->errlen, buf, (size_t)n);
                    x->errlen += (size_t)n;
                }
                x->errtail[x->errlen] = 0;
                pthread_mutex_unlock(&m->mu);
            }
        }
        /* deadlines */
        uint64_t now = mono_ms();
        pthread_mutex_lock(&m->mu);
        if (!sent_kill) {
            bool kill_now = false;
            if (x->shutdown) {
                kill_now = true;
            } else if (x->kill_requested && now - x->t_kill >= TERM_GRACE_MS) {
                kill_now = true;
            } else if (x->state != EXP_HOLDING && now - x->t_start >= (uint64_t)x->max_wall_s * 1000) {
                snprintf(x->reason, sizeof x->reason, "timeout: over %u s of wall-clock time", x->max_wall_s);
                kill_now = true;
            } else if (x->state == EXP_HOLDING && now - x->t_hold >= x->hold_s * 1000 + HOLD_GRACE_MS) {
                snprintf(x->reason, sizeof x->reason, "did not end its hold in time");
                kill_now = true;
            }
            if (kill_now) {
                kill_group(x, SIGKILL);
                sent_kill = true;
            }
        }
        pthread_mutex_unlock(&m->mu);
    }
    if (lb.len) {   /* a last line without '\n' (the lab died mid-write) */
        pthread_mutex_lock(&m->mu);
        add_line_locked(x, lb.buf, lb.len);
        pthread_mutex_unlock(&m->mu);
    }
    free(lb.buf);
    close(out[0]);
    close(err[0]);

    /* stdout closed: the lab is exiting.  Reap it, forcing it after a grace period. */
    int ws = 0;
    uint64_t t0 = mono_ms();
    for (;;) {
        pid_t w = waitpid(x->pid, &ws, WNOHANG);
        if (w == x->pid)
            break;
        if (w < 0 && errno != EINTR) {
            ws = 0;    /* someone else reaped it (SIGCHLD ignored?): report an exit 0 we cannot verify */
            break;
        }
        if (!sent_kill && mono_ms() - t0 > 2000) {
            kill_group(x, SIGKILL);
            sent_kill = true;
        }
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
    /* No kill(-pgid) after the reap: the group id could already belong to someone else.  A fork
     * child of the lab is reaped by the lab itself and has PR_SET_PDEATHSIG besides. */
    finish(m, x, ws);
    thread_exit(m, x);
    return NULL;
}

/* --- the API --- */

static experiment *find_locked(experiments_mgr *m, uint64_t id)
{
    for (size_t i = 0; i < m->nlist; i++)
        if (m->list[i]->id == id)
            return m->list[i];
    return NULL;
}

/* Takes x off the list and drops the list's reference: x may be freed here. */
static void unlist_locked(experiments_mgr *m, experiment *x)
{
    for (size_t i = 0; i < m->nlist; i++)
        if (m->list[i] == x) {
            memmove(&m->list[i], &m->list[i + 1], (m->nlist - i - 1) * sizeof *m->list);
            m->nlist--;
            x->listed = false;
            experiment_unref_locked(x);
            return;
        }
}

/* A start that failed for lack of descriptors or processes is the machine's state, not a bug:
 * MS_ERR_RESOURCE (503, try again), with the reason spelled out. */
static ms_err spawn_error(int e, ms_exp_err *err, const char *what)
{
    ms_err rc = e == EMFILE || e == ENFILE || e == EAGAIN ? MS_ERR_RESOURCE : e == ENOMEM ? MS_ERR_NOMEM : MS_ERR_IO;
    const char *why = e == EMFILE ? ": memscoped has no file descriptor left (RLIMIT_NOFILE)"
                    : e == ENFILE ? ": the system has no file descriptor left"
                    : e == EAGAIN ? ": no process or thread can be created now (RLIMIT_NPROC or threads-max)" : "";
    err->code = rc;
    snprintf(err->message, sizeof err->message, "%s: %s%s", what, strerror(e), why);
    return rc;
}

static ms_err start_locked_out(experiments_mgr *m, const char *body, size_t len, ms_exp_err *err, uint64_t *id, pid_t *pid)
{
    ms_err rc = MS_OK;
    ms_exp_spec spec;
    experiment *x = NULL;
    experiments_config cfg;
    memset(err, 0, sizeof *err);
    err->step = -1;

    pthread_mutex_lock(&m->mu);
    cfg = m->cfg;
    bool have_lab = m->lab_path[0] != 0;
    pthread_mutex_unlock(&m->mu);

    rc = ms_spec_parse_text(body, len, &cfg.limits, &spec, err);
    if (rc != MS_OK)
        return rc;
    if (!have_lab) {
        ms_exp_spec_free(&spec);
        err->code = MS_ERR_UNSUPPORTED;
        snprintf(err->message, sizeof err->message, "memscope-lab was not found (set MEMSCOPE_LAB or the lab path)");
        return MS_ERR_UNSUPPORTED;
    }
    x = calloc(1, sizeof *x);
    if (!x || !(x->spec_text = malloc(len + 1))) {
        free(x);
        ms_exp_spec_free(&spec);
        err->code = MS_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return MS_ERR_NOMEM;
    }
    memcpy(x->spec_text, body, len);
    x->spec_text[len] = 0;
    x->spec_len = len;
    x->limits = cfg.limits;
    x->max_wall_s = cfg.max_wall_s;
    x->mgr = m;
    x->state = EXP_STARTING;
    x->exit_code = -1;
    x->after_step = -1;
    x->hold_w = -1;
    x->pid = -1;
    x->hold_s = spec.hold_s;
    x->steps_total = spec.nsteps;
    snprintf(x->preset, sizeof x->preset, "%s", spec.preset);
    x->started_at = time(NULL);
    ms_exp_spec_free(&spec);

    pthread_mutex_lock(&m->mu);
    size_t alive = 0, finished = 0;
    for (size_t i = 0; i < m->nlist; i++) {
        if (!m->list[i]->finished)
            alive++;
        else
            finished++;
    }
    if (alive >= cfg.max_running) {
        pthread_mutex_unlock(&m->mu);
        experiment_free(x);
        err->code = MS_ERR_LIMIT;
        snprintf(err->field, sizeof err->field, "experiments");
        snprintf(err->message, sizeof err->message, "%zu experiments are running already (the limit is %u): "
                 "wait for one to end or DELETE it", alive, cfg.max_running);
        return MS_ERR_LIMIT;
    }
    if (finished >= cfg.max_kept) {   /* forget the oldest finished one */
        for (size_t i = 0; i < m->nlist; i++)
            if (m->list[i]->finished) {
                unlist_locked(m, m->list[i]);
                break;
            }
    }
    if (m->nlist == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        experiment **n = realloc(m->list, nc * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&m->mu);
            experiment_free(x);
            rc = MS_ERR_NOMEM;
            err->code = rc;
            snprintf(err->message, sizeof err->message, "out of memory");
            return rc;
        }
        m->list = n;
        m->cap = nc;
    }
    x->id = m->next_id++;
    m->list[m->nlist++] = x;
    x->listed = true;
    x->refs = 3;                       /* the list, the thread, and this start until it returns */
    pthread_attr_t ta;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int te = pthread_create(&th, &ta, experiment_thread, x);
    pthread_attr_destroy(&ta);
    if (te != 0) {
        x->refs--;                     /* no thread */
        unlist_locked(m, x);
        experiment_unref_locked(x);
        pthread_mutex_unlock(&m->mu);
        rc = spawn_error(te, err, "cannot create the experiment's thread");
        return rc;
    }
    m->threads++;
    while (!x->spawned)
        pthread_cond_wait(&m->cv, &m->mu);
    if (x->spawn_err)
        rc = spawn_error(x->spawn_err, err, "cannot start memscope-lab");
    *id = x->id;
    *pid = x->pid;
    experiment_unref_locked(x);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static json_t *summary_locked(const experiment *x, uint64_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)x->id));
    json_object_set_new(o, "pid", x->pid > 0 ? json_integer(x->pid) : json_null());
    json_object_set_new(o, "alive", json_boolean(x->alive));
    json_object_set_new(o, "state", json_string(state_names[x->state]));
    json_object_set_new(o, "reason", x->reason[0] ? json_string(x->reason) : json_null());
    json_object_set_new(o, "preset", x->preset[0] ? json_string(x->preset) : json_null());
    json_object_set_new(o, "hold_s", json_integer((json_int_t)x->hold_s));
    json_object_set_new(o, "steps_total", json_integer((json_int_t)x->steps_total));
    json_object_set_new(o, "steps_done", json_integer((json_int_t)x->steps_done));
    json_object_set_new(o, "after_step", x->after_step >= 0 ? json_integer(x->after_step) : json_null());
    json_object_set_new(o, "signal", x->signal[0] ? json_string(x->signal) : json_null());
    json_object_set_new(o, "fault_addr", x->fault_addr[0] ? json_string(x->fault_addr) : json_null());
    json_object_set_new(o, "exit_code", x->exit_code >= 0 ? json_integer(x->exit_code) : json_null());
    json_object_set_new(o, "stderr", json_stringn_nocheck(x->errtail, x->errlen));
    json_object_set_new(o, "started_at", json_integer((json_int_t)x->started_at));
    uint64_t end = x->finished && x->t_end ? x->t_end : now;
    json_object_set_new(o, "elapsed_ms", json_integer(x->t_start ? (json_int_t)(end - x->t_start) : 0));
    json_object_set_new(o, "lines_total", json_integer((json_int_t)x->nlines));
    json_object_set_new(o, "truncated", json_boolean(x->truncated));
    return o;
}

/* Appends one line as a JSON value: as it came when it parsed then, else as a "garbled" record. */
static ms_err append_line(ms_buf *b, const experiment_line *l)
{
    if (l->json)
        return ms_buf_append(b, l->text, l->len);
    ms_err rc = MS_ERR_NOMEM;
    json_t *g = json_pack("{s:s,s:s%}", "type", "garbled", "text", l->text, l->len);
    char *t = g ? json_dumps(g, JSON_COMPACT) : NULL;
    if (t)
        rc = ms_buf_append(b, t, strlen(t));
    free(t);
    json_decref(g);
    return rc;
}

ms_err experiments_get_text(experiments_mgr *m, uint64_t id, ms_buf *out)
{
    ms_err rc = MS_OK;
    char *head = NULL;
    pthread_mutex_lock(&m->mu);
    experiment *x = find_locked(m, id);
    if (!x) {
        rc = MS_ERR_NOENT;
        goto out;
    }
    json_t *o = summary_locked(x, mono_ms());
    head = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t hl = head ? strlen(head) : 0;
    if (hl < 2) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    rc = ms_buf_reserve(out, hl + x->bytes + x->nlines + 16);
    if (rc == MS_OK)
        rc = ms_buf_append(out, head, hl - 1);   /* without its closing brace */
    if (rc == MS_OK)
        rc = ms_buf_append(out, ",\"lines\":[", 10);
    for (size_t i = 0; i < x->nlines && rc == MS_OK; i++) {
        if (i)
            rc = ms_buf_append(out, ",", 1);
        if (rc == MS_OK)
            rc = append_line(out, &x->lines[i]);
    }
    if (rc == MS_OK)
        rc = ms_buf_append(out, "]}", 2);
out:
    pthread_mutex_unlock(&m->mu);
    free(head);
    return rc;
}

ms_err experiments_get(experiments_mgr *m, uint64_t id, json_t **out)
{
    ms_buf b;
    ms_buf_init(&b, 0);
    ms_err rc = experiments_get_text(m, id, &b);
    *out = rc == MS_OK ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    if (rc == MS_OK && !*out)
        rc = MS_ERR_NOMEM;
    ms_buf_free(&b);
    return rc;
}

bool experiments_exists(experiments_mgr *m, uint64_t id)
{
    pthread_mutex_lock(&m->mu);
    bool found = find_locked(m, id) != NULL;
    pthread_mutex_unlock(&m->mu);
    return found;
}

ms_err experiments_list(experiments_mgr *m, json_t **out)
{
    json_t *a = json_array();
    if (!a)
        return MS_ERR_NOMEM;
    pthread_mutex_lock(&m->mu);
    uint64_t now = mono_ms();
    for (size_t i = m->nlist; i-- > 0;)
        json_array_append_new(a, summary_locked(m->list[i], now));
    pthread_mutex_unlock(&m->mu);
    *out = a;
    return MS_OK;
}

/* Copies lines from *cur into buf (at most max bytes), each framed as pre LINE post, resuming inside
 * a frame where the last call stopped.  Returns the bytes copied. */
static size_t copy_framed_locked(const experiment *x, experiments_cursor *cur, const char *pre, const char *post,
                                 char *buf, size_t max)
{
    size_t n = 0, lpre = strlen(pre), lpost = strlen(post);
    while (n < max && cur->line < x->nlines) {
        const experiment_line *l = &x->lines[cur->line];
        const struct { const char *p; size_t len; } part[3] = { { pre, lpre }, { l->text, l->len }, { post, lpost } };
        size_t skip = cur->off;
        for (int k = 0; k < 3 && n < max; k++) {
            if (skip >= part[k].len) {
                skip -= part[k].len;
                continue;
            }
            size_t take = part[k].len - skip < max - n ? part[k].len - skip : max - n;
            memcpy(buf + n, part[k].p + skip, take);
            n += take;
            cur->off += take;
            skip = 0;
        }
        if (cur->off == lpre + l->len + lpost) {
            cur->line++;
            cur->off = 0;
        }
    }
    return n;
}

ms_err experiments_frame(experiments_mgr *m, uint64_t id, experiments_cursor *cur, const char *pre, const char *post,
                         char *buf, size_t max, size_t *len, bool *finished)
{
    ms_err rc = MS_OK;
    *len = 0;
    *finished = false;
    pthread_mutex_lock(&m->mu);
    experiment *x = find_locked(m, id);
    if (!x) {
        rc = MS_ERR_NOENT;
        goto out;
    }
    *len = copy_framed_locked(x, cur, pre, post, buf, max);
    *finished = x->finished && cur->line >= x->nlines;
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

ms_err experiments_follow(experiments_mgr *m, uint64_t id, size_t from, int timeout_ms, experiments_chunk *out)
{
    ms_err rc = MS_OK;
    memset(out, 0, sizeof *out);
    out->next = from;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    ms_timespec_add_ms(&dl, timeout_ms);
    pthread_mutex_lock(&m->mu);
    for (;;) {
        experiment *x = find_locked(m, id);   /* looked up again after every wait: DELETE may have freed it */
        if (!x) {
            rc = MS_ERR_NOENT;
            break;
        }
        if (from < x->nlines) {
            size_t total = 0;
            for (size_t i = from; i < x->nlines; i++)
                total += x->lines[i].len + 1;
            out->text = malloc(total + 1);
            if (!out->text) {
                rc = MS_ERR_NOMEM;
                break;
            }
            experiments_cursor cur = { from, 0 };
            out->len = copy_framed_locked(x, &cur, "", "\n", out->text, total);
            out->text[out->len] = 0;
            out->next = x->nlines;
            out->finished = x->finished;
            break;
        }
        if (x->finished) {
            out->finished = true;
            break;
        }
        if (timeout_ms <= 0 || pthread_cond_timedwait(&m->cv, &m->mu, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

ms_err experiments_delete(experiments_mgr *m, uint64_t id, bool *removed)
{
    *removed = false;
    pthread_mutex_lock(&m->mu);
    experiment *x = find_locked(m, id);
    if (!x) {
        pthread_mutex_unlock(&m->mu);
        return MS_ERR_NOENT;
    }
    if (x->finished) {
        unlist_locked(m, x);
        pthread_mutex_unlock(&m->mu);
        *removed = true;
        return MS_OK;
    }
    if (!x->kill_requested) {
        x->kill_requested = true;
        x->t_kill = mono_ms();
        snprintf(x->reason, sizeof x->reason, "deleted");
        kill_group(x, SIGTERM);
        if (x->hold_w >= 0) {    /* ends a hold at once */
            close(x->hold_w);
            x->hold_w = -1;
        }
    }
    x->refs++;                   /* the wait below lets go of the lock: x must outlive it */
    while (!x->finished)
        pthread_cond_wait(&m->cv, &m->mu);
    experiment_unref_locked(x);
    pthread_mutex_unlock(&m->mu);
    return MS_OK;
}

void experiments_free(experiments_mgr **pm)
{
    experiments_mgr *m = *pm;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nlist; i++) {
        experiment *x = m->list[i];
        if (!x->finished) {
            x->shutdown = true;
            if (!x->reason[0])
                snprintf(x->reason, sizeof x->reason, "server shutdown");
            kill_group(x, SIGKILL);
        }
    }
    while (m->threads > 0)         /* each thread reaps its lab before it returns */
        pthread_cond_wait(&m->cv, &m->mu);
    while (m->nlist > 0)
        unlist_locked(m, m->list[m->nlist - 1]);
    pthread_mutex_unlock(&m->mu);
    free(m->list);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
    *pm = NULL;
}

json_t *experiments_presets(void)
{
    return ms_presets_json();
}

json_t *experiments_limits_json(experiments_mgr *m)
{
    pthread_mutex_lock(&m->mu);
    json_t *o = json_pack("{s:I,s:I,s:I,s:i,s:i,s:i,s:s}",
                          "max_bytes", (json_int_t)m->cfg.limits.max_bytes,
                          "max_steps", (json_int_t)m->cfg.limits.max_steps,
                          "max_hold_s", (json_int_t)m->cfg.limits.max_hold_s,
                          "max_running", (int)m->cfg.max_running, "max_wall_s", (int)m->cfg.max_wall_s,
                          "max_kept", (int)m->cfg.max_kept, "lab_path", m->lab_path);
    pthread_mutex_unlock(&m->mu);
    return o;
}

ms_err experiments_start(experiments_mgr *m, const char *body, size_t len, ms_exp_err *err, uint64_t *id, pid_t *pid)
{
    ms_err rc = start_locked_out(m, body, len, err, id, pid);
    if (rc == MS_ERR_LIMIT || rc == MS_ERR_TOOBIG) {
        pthread_mutex_lock(&m->mu);
        m->refused++;
        pthread_mutex_unlock(&m->mu);
    }
    return rc;
}

void experiments_counts(experiments_mgr *m, uint64_t *running, uint64_t *refused_total)
{
    pthread_mutex_lock(&m->mu);
    uint64_t alive = 0;
    for (size_t i = 0; i < m->nlist; i++)
        alive += !m->list[i]->finished;
    *running = alive;
    *refused_total = m->refused;
    pthread_mutex_unlock(&m->mu);
}
