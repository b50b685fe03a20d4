/* oomwatch.c - the OOM kill watcher: a thread blocked in poll() on /dev/kmsg and a stop eventfd,
 * or, where the kernel log is closed to memscoped, on a one-second timer that reads the cgroups'
 * OOM kill counters; and the bounded ring the API reads.  See oomwatch.h for who owns what. */
#include "oomwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/num.h"
#include "core/proc.h"
#include "core/stat.h"
#include "log.h"

/* A kmsg record is at most CONSOLE_EXT_LOG_MAX (8 KiB) formatted; a read into less fails. */
#define KMSG_REC_MAX 16384
/* Cgroups whose counters the fallback follows. */
#define COUNTER_CGROUPS_MAX 4096

typedef struct {
    char path[MS_CG_PATH_MAX];
    uint64_t kills;
    bool seen;                    /* found in the latest scan */
} counter_slot;

struct oomwatch {
    /* Held around recording an event and calling the sink, and around changing the sink, so that
     * once oomwatch_set_sink returns no call to the old sink is still running.  Taken before lock. */
    pthread_mutex_t sink_lock;
    pthread_mutex_t lock;         /* guards ring, head, count, next_seq, lost, sink, kmsg_last */
    oom_event ring[OOM_RING_CAP];
    size_t head, count;           /* oldest at head */
    uint64_t next_seq, lost;
    uint64_t kmsg_last;           /* sequence number of the last kernel-log record read */
    char boot_id[40];             /* set before the thread starts, read-only after */
    oom_sink_fn sink;
    void *sink_ctx;

    /* the watcher thread's own state, touched by no other thread */
    pthread_t thread;
    bool running;
    int stop_fd, kmsg_fd;
    const char *source;           /* "kmsg", "counters", "off" */
    char why[160];
    ms_cg_hier hier;
    bool has_hier;
    counter_slot *slots;
    size_t nslots;
    bool baseline_done;
    oom_event pending;            /* the last "oom-kill:" line, joined to the next kill by pid */
};

static int64_t now_ms(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void oomwatch_record(oomwatch *w, oom_event *ev)
{
    oom_sink_fn sink;
    void *ctx;
    pthread_mutex_lock(&w->sink_lock);
    pthread_mutex_lock(&w->lock);
    ev->seq = ++w->next_seq;
    size_t slot = (w->head + w->count) % OOM_RING_CAP;
    if (w->count == OOM_RING_CAP) {
        w->head = (w->head + 1) % OOM_RING_CAP;   /* the oldest falls out */
        w->lost++;
    } else {
        w->count++;
    }
    w->ring[slot] = *ev;
    sink = w->sink;
    ctx = w->sink_ctx;
    pthread_mutex_unlock(&w->lock);
    if (sink)
        sink(ev, ctx);
    pthread_mutex_unlock(&w->sink_lock);
}

size_t oomwatch_copy(oomwatch *w, int64_t since_ms, oom_event *out, size_t max, uint64_t *lost)
{
    size_t n = 0;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->count && n < max; i++) {
        const oom_event *e = &w->ring[(w->head + i) % OOM_RING_CAP];
        if (e->time_ms >= since_ms)
            out[n++] = *e;
    }
    *lost = w->lost;
    pthread_mutex_unlock(&w->lock);
    return n;
}

uint64_t oomwatch_total(oomwatch *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t n = w->next_seq;
    pthread_mutex_unlock(&w->lock);
    return n;
}

const char *oomwatch_source(const oomwatch *w, const char **why)
{
    *why = w->why[0] ? w->why : NULL;
    return w->source;
}

void oomwatch_set_sink(oomwatch *w, oom_sink_fn fn, void *ctx)
{
    pthread_mutex_lock(&w->sink_lock);
    pthread_mutex_lock(&w->lock);
    w->sink = fn;
    w->sink_ctx = ctx;
    pthread_mutex_unlock(&w->lock);
    /* the ring changes only under sink_lock, which is held: it can be read without lock */
    for (size_t i = 0; fn && i < w->count; i++)
        fn(&w->ring[(w->head + i) % OOM_RING_CAP], ctx);
    pthread_mutex_unlock(&w->sink_lock);
}

const char *oomwatch_boot_id(const oomwatch *w)
{
    return w->boot_id;
}

uint64_t oomwatch_kmsg_last(oomwatch *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t v = w->kmsg_last;
    pthread_mutex_unlock(&w->lock);
    return v;
}

/* ---- the kernel log ---- */

static const char *find(const char *s, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (const char *p = s; p + n <= end; p++)
        if (memcmp(p, lit, n) == 0)
            return p;
    return NULL;
}

static void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* "key=value," inside the oom-kill line; the value ends at ',' or the end. */
static bool kv_field(const char *s, const char *end, const char *key, const char **v, size_t *vl)
{
    const char *k = find(s, end, key);
    if (!k)
        return false;
    *v = k + strlen(key);
    const char *c = memchr(*v, ',', (size_t)(end - *v));
    *vl = (size_t)((c ? c : end) - *v);
    return true;
}

/* "key:123kB" -> bytes */
static bool kb_field(const char *s, const char *end, const char *key, uint64_t *out)
{
    const char *k = find(s, end, key);
    uint64_t v;
    if (!k)
        return false;
    k += strlen(key);
    if (!ms_num_dec(&k, end, &v) || end - k < 2 || k[0] != 'k' || k[1] != 'B' || v > UINT64_MAX / 1024)
        return false;
    *out = v * 1024;
    return true;
}

static void parse_oom_kill(const char *t, const char *end, oom_event *p)
{
    const char *v;
    size_t vl;
    uint64_t pid = 0;
    memset(p, 0, sizeof *p);
    if (kv_field(t, end, "constraint=", &v, &vl))
        copy_str(p->constraint, sizeof p->constraint, v, vl);
    if (kv_field(t, end, "oom_memcg=", &v, &vl))
        copy_str(p->cgroup, sizeof p->cgroup, v, vl);
    if (kv_field(t, end, "task_memcg=", &v, &vl))
        copy_str(p->task_cgroup, sizeof p->task_cgroup, v, vl);
    if (kv_field(t, end, ",task=", &v, &vl))
        copy_str(p->name, sizeof p->name, v, vl);
    if (kv_field(t, end, ",pid=", &v, &vl) && ms_num_dec(&v, v + vl, &pid) && pid <= INT32_MAX)
        p->pid = (int)pid;
}

static bool parse_killed(const char *t, const char *end, const oom_event *pending, oom_event *ev)
{
    const char *k = find(t, end, "Killed process ");
    uint64_t pid, v;
    if (!k)
        return false;
    memset(ev, 0, sizeof *ev);
    ev->source = "kmsg";
    ev->global = find(t, k, "Memory cgroup out of memory") == NULL;
    const char *p = k + strlen("Killed process ");
    if (!ms_num_dec(&p, end, &pid) || pid == 0 || pid > INT32_MAX || end - p < 2 || p[0] != ' ' || p[1] != '(')
        return false;
    ev->pid = (int)pid;
    /* the name may hold ')' itself: it ends at the last ") " before the figures */
    const char *tv = find(p, end, ") total-vm:");
    if (tv)
        copy_str(ev->name, sizeof ev->name, p + 2, (size_t)(tv - p - 2));
    ev->figures = tv && kb_field(tv, end, "total-vm:", &ev->total_vm) &&
                  kb_field(tv, end, "anon-rss:", &ev->anon_rss) && kb_field(tv, end, "file-rss:", &ev->file_rss) &&
                  kb_field(tv, end, "shmem-rss:", &ev->shmem_rss);
    kb_field(tv ? tv : p, end, "pgtables:", &ev->pgtables);
    const char *a = find(p, end, "oom_score_adj:");
    if (a) {
        a += strlen("oom_score_adj:");
        ms_num_sdec(&a, end, &ev->oom_score_adj);
    }
    const char *u = find(p, end, "UID:");
    if (u) {
        u += 4;
        if (ms_num_dec(&u, end, &v) && v <= UINT32_MAX)
            ev->uid = (uint32_t)v;
    }
    if (pending->pid == ev->pid) {
        memcpy(ev->cgroup, pending->cgroup, sizeof ev->cgroup);
        memcpy(ev->task_cgroup, pending->task_cgroup, sizeof ev->task_cgroup);
        memcpy(ev->constraint, pending->constraint, sizeof ev->constraint);
        ev->global = strcmp(pending->constraint, "CONSTRAINT_MEMCG") != 0;
    }
    if (ev->global)
        ev->cgroup[0] = '\0';
    return true;
}

/* "pri,seq,usec,flags;": the record's sequence number and time stamp, and where its text starts. */
static bool kmsg_header(const char *rec, size_t len, uint64_t *seq, uint64_t *usec, const char **text)
{
    const char *semi = memchr(rec, ';', len), *p = rec;
    uint64_t v;
    if (!semi)
        return false;
    for (int i = 0; i < 3; i++) {
        if (!ms_num_dec(&p, semi, &v) || (i < 2 && (p >= semi || *p != ',')))
            return false;
        if (i == 1)
            *seq = v;
        if (i == 2)
            *usec = v;
        p++;
    }
    *text = semi + 1;
    return true;
}

bool oomwatch_parse_kmsg(const char *rec, size_t len, oom_event *pending, oom_event *ev, uint64_t *usec)
{
    const char *end = rec + len, *t;
    uint64_t seq = 0;
    if (!kmsg_header(rec, len, &seq, usec, &t))
        return false;
    const char *nl = memchr(t, '\n', (size_t)(end - t));
    const char *te = nl ? nl : end;
    if (te - t > 9 && memcmp(t, "oom-kill:", 9) == 0) {
        parse_oom_kill(t + 9, te, pending);
        return false;
    }
    if (!parse_killed(t, te, pending, ev))
        return false;
    ev->kmsg_seq = seq;
    return true;
}

/* The victim's start time, if it can still be read (a zombie's stat can) and is the process the
 * kernel named: with the pid it tells the victim from a later process given the same pid.  A
 * process that started after the kill (usec, the log's stamp) is such a later one, even with the
 * victim's name (a service restarted at once). */
static void victim_start_time(oom_event *ev, uint64_t usec)
{
    int fd;
    ms_stat st;
    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0 || ms_pid_open(ev->pid, &fd) != MS_OK)
        return;
    if (ms_stat_read(fd, &st) == MS_OK && strcmp(st.comm, ev->name) == 0 &&
        st.starttime <= usec / 1000000 * (uint64_t)ticks + usec % 1000000 * (uint64_t)ticks / 1000000)
        ev->start_time = st.starttime;
    close(fd);
}

/* One record read from fd into rec: its length, 0 when all is read, -1 on an error (logged) that
 * ends the read. */
static ssize_t kmsg_read(int fd, char *rec, size_t cap)
{
    for (;;) {
        ssize_t n = read(fd, rec, cap - 1);
        if (n < 0 && (errno == EPIPE || errno == EINTR))
            continue;             /* EPIPE: records were overwritten before we read them: go on */
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0)
            log_warn("reading /dev/kmsg: %s", strerror(errno));
        return n;
    }
}

/* Parses one record; true with *ev filled (its time in Unix ms, its boot) for a kill. */
static bool kmsg_event(const oomwatch *w, const char *rec, size_t n, oom_event *pending, oom_event *ev,
                       uint64_t *seq, uint64_t *usec)
{
    const char *t;
    *usec = 0;
    if (!kmsg_header(rec, n, seq, usec, &t) || !oomwatch_parse_kmsg(rec, n, pending, ev, usec))
        return false;
    /* kmsg stamps are microseconds of the monotonic clock since boot */
    ev->time_ms = now_ms(CLOCK_REALTIME) - (now_ms(CLOCK_MONOTONIC) - (int64_t)(*usec / 1000));
    memcpy(ev->boot_id, w->boot_id, sizeof ev->boot_id);
    return true;
}

ms_err oomwatch_replay(oomwatch *w, uint64_t after, oom_sink_fn fn, void *ctx, uint64_t *last)
{
    *last = 0;
    if (strcmp(w->source, "kmsg") != 0 || !w->boot_id[0])
        return MS_ERR_UNAVAILABLE;
    /* a new descriptor starts at the oldest record the kernel still holds */
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    char *rec = malloc(KMSG_REC_MAX);
    oom_event pending = {0}, ev;
    ssize_t n;
    if (!rec) {
        close(fd);
        return MS_ERR_NOMEM;
    }
    while ((n = kmsg_read(fd, rec, KMSG_REC_MAX)) > 0) {
        uint64_t seq = 0, usec;
        bool kill = kmsg_event(w, rec, (size_t)n, &pending, &ev, &seq, &usec);
        if (seq > *last)
            *last = seq;
        if (kill && seq > after)
            fn(&ev, ctx);
    }
    free(rec);
    close(fd);
    return n < 0 ? MS_ERR_IO : MS_OK;
}

static void drain_kmsg(oomwatch *w)
{
    char rec[KMSG_REC_MAX];
    ssize_t n;
    while ((n = kmsg_read(w->kmsg_fd, rec, sizeof rec)) > 0) {
        oom_event ev;
        uint64_t seq = 0, usec;
        bool kill = kmsg_event(w, rec, (size_t)n, &w->pending, &ev, &seq, &usec);
        pthread_mutex_lock(&w->lock);
        if (seq > w->kmsg_last)
            w->kmsg_last = seq;
        pthread_mutex_unlock(&w->lock);
        if (!kill)
            continue;
        victim_start_time(&ev, usec);
        oomwatch_record(w, &ev);
        log_info("OOM kill: pid %d (%s) in %s", ev.pid, ev.name, ev.global ? "the whole machine" : ev.cgroup);
    }
    if (n < 0) {
        /* a record this buffer cannot take, or a read error: skip what is there rather than have
         * poll() report the same record readable forever */
        log_warn("skipping to the end of /dev/kmsg");
        lseek(w->kmsg_fd, 0, SEEK_END);
    }
}

/* ---- the counters, where the kernel log is closed ---- */

static counter_slot *slot_of(oomwatch *w, const char *path, bool *fresh)
{
    for (size_t i = 0; i < w->nslots; i++)
        if (strcmp(w->slots[i].path, path) == 0) {
            *fresh = false;
            return &w->slots[i];
        }
    if (w->nslots == COUNTER_CGROUPS_MAX)
        return NULL;
    counter_slot *s = &w->slots[w->nslots++];
    snprintf(s->path, sizeof s->path, "%s", path);
    s->kills = 0;
    *fresh = true;
    return s;
}

/* v2 memory.events counts descendants' kills too; .local (5.9+) only this cgroup's, as v1's
 * memory.oom_control does. */
static bool read_kills(int fd, int version, ms_buf *b, ms_cg_fields *fs, uint64_t *kills)
{
    const char *name = version == 1 ? "memory.oom_control" : "memory.events.local";
    if (ms_read_file_at(fd, name, b) != MS_OK || ms_cg_fields_parse(b->data, b->len, fs) != MS_OK)
        return false;
    return ms_cg_field_get(fs, "oom_kill", kills);
}

/* What scan_counters' walk reads with: its buffers, kept across the cgroups of one scan. */
typedef struct {
    oomwatch *w;
    ms_buf b;
    ms_cg_fields fs;
} counter_scan;

/* One cgroup of the walk, read while its directory is open (so never opened again by its path). */
static ms_err count_visit(void *ctx, int dirfd, const ms_cg_tree *t, size_t i)
{
    counter_scan *c = ctx;
    oomwatch *w = c->w;
    uint64_t kills;
    bool fresh;
    if (!read_kills(dirfd, w->hier.version, &c->b, &c->fs, &kills))
        return MS_OK;
    counter_slot *s = slot_of(w, t->n[i].path, &fresh);
    if (!s)
        return MS_OK;
    /* A cgroup there at start counts from its figure then; one made later from zero. */
    uint64_t before = fresh && !w->baseline_done ? kills : s->kills;
    for (uint64_t k = before; k < kills && k - before < 16; k++) {
        oom_event ev = {.source = "counter", .time_ms = now_ms(CLOCK_REALTIME)};
        snprintf(ev.cgroup, sizeof ev.cgroup, "%s", t->n[i].path);
        snprintf(ev.note, sizeof ev.note, "victim unknown: %s; the cgroup's oom_kill counter rose", w->why);
        oomwatch_record(w, &ev);
    }
    s->kills = kills;
    return MS_OK;
}

static void scan_counters(oomwatch *w)
{
    int root = open(w->hier.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_cg_tree t;
    counter_scan c = {.w = w};
    if (root < 0)
        return;
    ms_buf_init(&c.b, 1 << 16);
    if (ms_cg_tree_walk(root, COUNTER_CGROUPS_MAX, &t, count_visit, &c) == MS_OK) {
        w->baseline_done = true;
        ms_cg_tree_free(&t);
    }
    free(c.fs.f);
    ms_buf_free(&c.b);
    close(root);
}

static void *watch(void *arg)
{
    oomwatch *w = arg;
    bool counters = w->kmsg_fd < 0;
    if (counters)
        scan_counters(w);
    for (;;) {
        struct pollfd p[2] = {{.fd = w->stop_fd, .events = POLLIN}, {.fd = w->kmsg_fd, .events = POLLIN}};
        int r = poll(p, counters ? 1 : 2, counters ? 1000 : -1);
        if (r < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (!counters && p[1].revents)
            drain_kmsg(w);
        if (counters && r == 0)
            scan_counters(w);
    }
    return NULL;
}

static ms_err open_kmsg(oomwatch *w)
{
    w->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (w->kmsg_fd < 0) {
        snprintf(w->why, sizeof w->why, "the kernel log (/dev/kmsg) is not readable: %s", strerror(errno));
        return MS_ERR_PERM;
    }
    ms_buf b;
    ms_buf_init(&b, 4096);
    if (ms_read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", &b) == MS_OK && b.len >= 36)
        copy_str(w->boot_id, sizeof w->boot_id, b.data, 36);
    ms_buf_free(&b);
    /* only kills from now on: the log's past is not "since memscoped started" (the store reads
     * the part it missed while memscoped was down with oomwatch_replay) */
    if (lseek(w->kmsg_fd, 0, SEEK_END) < 0) {
        snprintf(w->why, sizeof w->why, "cannot seek the kernel log: %s", strerror(errno));
        close(w->kmsg_fd);
        w->kmsg_fd = -1;
        return MS_ERR_IO;
    }
    return MS_OK;
}

ms_err oomwatch_start(const ms_cg_hier *hier, oom_source src, oomwatch **out)
{
    oomwatch *w = calloc(1, sizeof *w);
    if (!w)
        return MS_ERR_NOMEM;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->sink_lock, NULL);
    w->kmsg_fd = w->stop_fd = -1;
    w->source = "off";
    if (hier) {
        w->hier = *hier;
        w->has_hier = true;
    }
    *out = w;
    if (src == OOM_SOURCE_OFF) {
        snprintf(w->why, sizeof w->why, "OOM watching is off (--oom-source off)");
        return MS_OK;
    }
    if (src == OOM_SOURCE_COUNTERS)
        snprintf(w->why, sizeof w->why, "the kernel log is not read (--oom-source counters)");
    else if (open_kmsg(w) == MS_OK)
        w->source = "kmsg";
    if (w->kmsg_fd < 0) {
        if (!w->has_hier) {
            char why[sizeof w->why];
            snprintf(why, sizeof why, "%.90s, and there is no memory cgroup hierarchy to count kills in", w->why);
            snprintf(w->why, sizeof w->why, "%s", why);
            return MS_OK;
        }
        w->source = "counters";
        w->slots = calloc(COUNTER_CGROUPS_MAX, sizeof *w->slots);
        if (!w->slots)
            goto fail;
    }
    w->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (w->stop_fd < 0 || pthread_create(&w->thread, NULL, watch, w) != 0)
        goto fail;
    w->running = true;
    return MS_OK;
fail:
    oomwatch_stop(out);
    return MS_ERR_NOMEM;
}

void oomwatch_stop(oomwatch **wp)
{
    oomwatch *w = *wp;
    if (!w)
        return;
    if (w->running) {
        uint64_t one = 1;
        if (write(w->stop_fd, &one, sizeof one) != sizeof one)
            log_warn("cannot wake the OOM watcher: %s", strerror(errno));
        pthread_join(w->thread, NULL);
    }
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    if (w->kmsg_fd >= 0)
        close(w->kmsg_fd);
    free(w->slots);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->sink_lock);
    free(w);
    *wp = NULL;
}
