/* rstream.c - maps or smaps as a stream of regions, read block by block into one small buffer.
 *
 * The buffer holds the text of the regions not yet handed out; a region's path, VmFlags and field
 * names keep pointing into it, as with the whole-file parsers, and are moved along (rebased) when
 * the buffer is compacted before the next read.  Two things need more than the region at hand:
 *   - the classifier (ms_maps_classify_one) looks up to MS_MAPS_CLASSIFY_REACH regions either way
 *     (an ELF's read-only segment is "rodata" when the same file is mapped executable nearby), so a
 *     region is handed out only once that many complete regions follow it, and that many handed-out
 *     ones are kept behind it;
 *   - a region is complete only when the next one's header line (or the end) is seen.
 * Lines are parsed only up to the last '\n' read so far (`safe`), so no parser ever sees a cut
 * line except the last one of the file, which the whole-file parsers accept too. */
#include "rstream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "proc.h"

#define RS_BLOCK_DEFAULT ((size_t)32 << 10)   /* the kernel gives a page per read() anyway */
#define RS_BUF_MAX ((size_t)16 << 20)         /* one region's text is a few KiB at most */
#define RS_REACH MS_MAPS_CLASSIFY_REACH
/* Read-ahead: once a file has proved large, a thread of the stream's own reads it (the kernel's
 * printing of smaps is most of the cost) while the caller parses and writes what came before, on
 * the other core.  Four 32 KiB slots between them, each filled to RS_SLOT_FULL before it is
 * handed over; a reader that found them all full sleeps until half are free again.  Every hand-over
 * that wakes a thread costs a context switch (tens of microseconds in a VM), so the reader is woken
 * once per two slots, not once per half-filled one.  A caller that only parses (ms_rstream_read_ahead:
 * a diff) is the faster side and would be woken for every slot: it sleeps until half are filled, and
 * so does one whose hook has the reader thread do work of its own on each slot (/maps?rss=1, whose
 * scan runs there).  One that does more per region than the reader is the slower side: it rarely
 * finds none, and then takes the first.  Slots and the stream's buffer stay under
 * 256 KiB together: more is handed back to the system at every free and faulted in again. */
#define RS_AHEAD_AFTER ((size_t)1 << 20)
#define RS_SLOTS MS_RSTREAM_SLOTS
#define RS_SLOT ((size_t)32 << 10)
#define RS_SLOT_FULL (RS_SLOT - RS_SLOT / 8)

struct rs_ahead {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    char *slot[RS_SLOTS];
    size_t len[RS_SLOTS];
    size_t head, count;     /* filled slots: head .. head + count - 1 (mod RS_SLOTS) */
    size_t wake_at;         /* filled slots a caller that found none waits for (set before start) */
    bool eof, stop;
    int err;                /* errno of a failed read, 0 if none */
    ms_rstream_hook hook;   /* copied at start: on_read NULL when there is none */
};

typedef struct {
    size_t text;
    ms_smaps_extra x;
} rs_side;

struct ms_rstream {
    int fd, dirfd;
    bool smaps;
    bool eof;               /* read() returned 0 */
    bool done;              /* eof and every line parsed */
    size_t bytes_read;      /* 0: the file was empty */
    struct rs_ahead *ahead; /* NULL until the file has proved large */
    ms_rstream_hook hook;   /* on_read NULL when there is none */
    uint64_t base_page;
    size_t block;

    char *buf;              /* text [0, len); parsing is at pos, complete lines end at safe */
    size_t cap, len, pos, safe;

    /* win[0, hist): handed out, kept for the classifier to look back at (their text may be gone:
     * only header fields are read from them); win[hist, nwin): complete, not yet handed out;
     * win[nwin]: the region being parsed when `open`.  side[i] holds what else belongs to win[i]:
     * where its header line starts in buf (valid for i >= hist) and, for smaps, its fields and
     * VmFlags. */
    ms_region *win;
    rs_side *side;
    size_t wcap, hist, nwin;
    bool open;

    ms_smaps_field *fields; /* fields of win[hist..nwin] from their side's field_first; older ones
                             * are dead */
    size_t nf, fcap;

    ms_smaps_extra last;    /* of the region handed out last */
    uint64_t last_end;      /* end of the last region kept: the next must start at or after it */
    bool have_last;
    size_t handed, dropped;
};

static ms_err grow_window(ms_rstream *s)
{
    /* Drop handed-out regions beyond what the classifier may look back at, before growing. */
    size_t from = s->hist > RS_REACH ? s->hist - RS_REACH : 0;
    if (from) {
        size_t n = s->nwin - from + (s->open ? 1 : 0);
        memmove(s->win, s->win + from, n * sizeof *s->win);
        memmove(s->side, s->side + from, n * sizeof *s->side);
        s->hist -= from;
        s->nwin -= from;
        if (s->nwin + 1 < s->wcap)
            return MS_OK;
    }
    size_t cap = s->wcap * 2;
    ms_region *w = realloc(s->win, cap * sizeof *w);
    if (!w)
        return MS_ERR_NOMEM;
    s->win = w;
    rs_side *t = realloc(s->side, cap * sizeof *t);
    if (!t)
        return MS_ERR_NOMEM;
    s->side = t;
    s->wcap = cap;
    return MS_OK;
}

/* The first field still needed: that of the oldest region not handed out. */
static size_t first_live_field(const ms_rstream *s)
{
    if (s->hist < s->nwin || s->open)
        return s->side[s->hist].x.field_first;
    return s->nf;
}

static ms_err grow_fields(ms_rstream *s)
{
    size_t from = first_live_field(s);
    if (from) {
        memmove(s->fields, s->fields + from, (s->nf - from) * sizeof *s->fields);
        s->nf -= from;
        for (size_t i = s->hist; i < s->nwin + (s->open ? 1 : 0); i++)
            s->side[i].x.field_first -= (uint32_t)from;
        if (s->nf < s->fcap)
            return MS_OK;
    }
    if (s->fcap > RS_BUF_MAX / sizeof *s->fields)
        return MS_ERR_TOOBIG;
    size_t cap = s->fcap * 2;
    ms_smaps_field *f = realloc(s->fields, cap * sizeof *f);
    if (!f)
        return MS_ERR_NOMEM;
    s->fields = f;
    s->fcap = cap;
    return MS_OK;
}

static const char *rebase(const char *p, const char *old, char *new)
{
    return p ? new + (p - old) : NULL;
}

/* Moves the live text, [keep, len), to the start of `to` (the same buffer or a bigger one) and
 * every pointer into it along. */
static void move_text(ms_rstream *s, size_t keep, char *to)
{
    const char *old = s->buf + keep;
    size_t live = s->len - keep;
    for (size_t i = s->hist; i < s->nwin + (s->open ? 1 : 0); i++) {
        s->win[i].path = rebase(s->win[i].path, old, to);
        s->side[i].x.vmflags = rebase(s->side[i].x.vmflags, old, to);
        s->side[i].text -= keep;
    }
    for (size_t i = first_live_field(s); i < s->nf; i++) {
        s->fields[i].name = rebase(s->fields[i].name, old, to);
        s->fields[i].raw = rebase(s->fields[i].raw, old, to);
    }
    memmove(to, old, live);
    s->len = live;
    s->pos -= keep;
    s->safe -= keep;
}

static void *ahead_main(void *arg)
{
    struct rs_ahead *a = arg;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        if (a->count == RS_SLOTS)
            while (a->count > RS_SLOTS / 2 && !a->stop)
                pthread_cond_wait(&a->cv, &a->mu);
        bool stop = a->stop;
        size_t i = (a->head + a->count) % RS_SLOTS;
        pthread_mutex_unlock(&a->mu);
        if (stop)
            return NULL;
        /* The slot is ours until it is counted.  The kernel gives about a page per read(). */
        size_t len = 0;
        int err = 0;
        bool eof = false;
        while (len < RS_SLOT_FULL) {
            size_t n;
            if (ms_read_some(a->fd, a->slot[i] + len, RS_SLOT - len, &n) != MS_OK) {
                err = errno;
                break;
            }
            if (n == 0) {
                eof = true;
                break;
            }
            len += n;
        }
        if (len && a->hook.on_read)
            a->hook.on_read(a->hook.ctx, i, a->slot[i], len);
        pthread_mutex_lock(&a->mu);
        if (len) {
            a->len[i] = len;
            a->count++;
        }
        a->err = err;
        a->eof = eof;
        if (a->count >= a->wake_at || err || eof)
            pthread_cond_broadcast(&a->cv);     /* what a caller that found none waits for */
        pthread_mutex_unlock(&a->mu);
        if (err || eof)
            return NULL;
    }
}

static void ahead_stop(struct rs_ahead *a)
{
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    for (size_t i = 0; i < RS_SLOTS; i++)
        free(a->slot[i]);
    free(a);
}

/* Hands the rest of the file to a reader thread.  Failing that, the stream simply reads on itself. */
static void ahead_start(ms_rstream *s, size_t wake_at)
{
    struct rs_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return;
    a->wake_at = wake_at;
    a->fd = s->fd;
    a->hook = s->hook;
    bool ok = true;
    for (size_t i = 0; i < RS_SLOTS; i++)
        ok &= (a->slot[i] = malloc(RS_SLOT)) != NULL;
    if (ok && pthread_mutex_init(&a->mu, NULL) == 0) {
        if (pthread_cond_init(&a->cv, NULL) == 0) {
            if (pthread_create(&a->th, NULL, ahead_main, a) == 0) {
                s->ahead = a;
                return;
            }
            pthread_cond_destroy(&a->cv);
        }
        pthread_mutex_destroy(&a->mu);
    }
    for (size_t i = 0; i < RS_SLOTS; i++)
        free(a->slot[i]);
    free(a);
}

/* The next bytes of the file, appended at buf + len (room for RS_SLOT when reading ahead); *got = 0
 * at the end. */
static ms_err read_block(ms_rstream *s, size_t *got)
{
    struct rs_ahead *a = s->ahead;
    *got = 0;
    if (!a) {
        /* The kernel gives about a page per read(): read until the room is filled, so that a
         * caller working a block of regions at a time (ms_rstream_horizon) gets a block, not a
         * page's worth; a short file ends with one read more. */
        while (*got < s->cap - s->len) {
            size_t n;
            ms_err rc = ms_read_some(s->fd, s->buf + s->len + *got, s->cap - s->len - *got, &n);
            if (rc != MS_OK || n == 0)
                return *got ? MS_OK : rc;
            *got += n;
        }
        return MS_OK;
    }
    pthread_mutex_lock(&a->mu);
    if (!a->count)
        while (a->count < a->wake_at && !a->eof && !a->err)
            pthread_cond_wait(&a->cv, &a->mu);
    if (!a->count) {
        int err = a->err;
        pthread_mutex_unlock(&a->mu);
        return err ? ms_err_from_errno(err) : MS_OK;
    }
    size_t i = a->head, n = a->len[i];
    pthread_mutex_unlock(&a->mu);
    memcpy(s->buf + s->len, a->slot[i], n);     /* the reader leaves a counted slot alone */
    ms_err rc = a->hook.on_take ? a->hook.on_take(a->hook.ctx, i) : MS_OK;
    pthread_mutex_lock(&a->mu);
    a->head = (a->head + 1) % RS_SLOTS;
    a->count--;
    if (a->count == RS_SLOTS / 2)
        pthread_cond_broadcast(&a->cv);     /* what a reader that found them all full waits for */
    pthread_mutex_unlock(&a->mu);
    *got = n;
    return rc;
}

/* Makes room and reads the next block; at the end, tells an exited process from a complete file. */
static ms_err refill(ms_rstream *s)
{
    if (!s->ahead && s->bytes_read >= RS_AHEAD_AFTER)
        ahead_start(s, s->hook.on_read ? RS_SLOTS / 2 : 1);
    size_t keep = s->hist < s->nwin ? s->side[s->hist].text : s->open ? s->side[s->nwin].text : s->pos;
    size_t live = s->len - keep;
    /* The kernel gives a seq_file about a page per read(): compacting before every read would move
     * the pending regions' text some 20 times over, so only when the room left gets short. */
    size_t need = s->ahead ? RS_SLOT : s->block / 4;
    if (s->cap - s->len < need) {
        if (s->cap - live < need + s->block / 4) {
            /* one region's text fills most of the buffer (or a read-ahead slot would not fit) */
            size_t cap = s->cap;
            while (cap - live < need + s->block / 4)
                cap *= 2;
            if (cap > RS_BUF_MAX)
                return MS_ERR_TOOBIG;
            char *nb = malloc(cap);
            if (!nb)
                return MS_ERR_NOMEM;
            move_text(s, keep, nb);
            free(s->buf);
            s->buf = nb;
            s->cap = cap;
        } else {
            move_text(s, keep, s->buf);
        }
    }
    size_t n;
    ms_err rc = read_block(s, &n);
    if (rc != MS_OK)
        return rc;
    if (n == 0) {
        s->eof = true;
        s->safe = s->len;
        return ms_read_cut_by_exit(s->dirfd, s->bytes_read > 0) ? MS_ERR_NOENT : MS_OK;
    }
    s->bytes_read += n;
    const char *nl = memrchr(s->buf + s->len, '\n', n);
    s->len += n;
    if (nl)
        s->safe = (size_t)(nl - s->buf) + 1;
    return MS_OK;
}

/* The open region is complete: keep it, or drop it when the read was torn around it. */
static void close_region(ms_rstream *s)
{
    ms_region *x = &s->win[s->nwin];
    ms_smaps_extra *sx = &s->side[s->nwin].x;
    sx->field_count = (uint32_t)(s->nf - sx->field_first);
    s->open = false;
    if (x->start >= x->end || (s->have_last && x->start < s->last_end)) {
        s->nf = sx->field_first;
        s->dropped++;
        return;
    }
    s->last_end = x->end;
    s->have_last = true;
    s->nwin++;
}

/* Parses lines until a region is complete, the complete lines run out (then reads more), or the
 * file ends. */
static ms_err parse_some(ms_rstream *s)
{
    ms_err rc;
    while (s->pos < s->safe) {
        const char *p = s->buf + s->pos, *end = s->buf + s->safe;
        if (!s->smaps || ms_smaps_is_region_line(p, end)) {
            bool closed = s->open;
            if (s->open)
                close_region(s);
            if (s->nwin + 1 >= s->wcap && (rc = grow_window(s)) != MS_OK)
                return rc;
            ms_region *x = &s->win[s->nwin];
            if ((rc = ms_maps_parse_line(&p, end, x)) != MS_OK)
                return rc;
            if (s->nf > UINT32_MAX)
                return MS_ERR_TOOBIG;
            s->side[s->nwin].text = s->pos;
            s->side[s->nwin].x = (ms_smaps_extra){.field_first = (uint32_t)s->nf};
            s->open = true;
            s->pos = (size_t)(p - s->buf);
            if (closed)
                return MS_OK;
            continue;
        }
        if (!s->open)
            return MS_ERR_PARSE;      /* a field before any region */
        if (s->nf == s->fcap && (rc = grow_fields(s)) != MS_OK)
            return rc;
        ms_smaps_extra *sx = &s->side[s->nwin].x;
        /* The key guess: the field at the same position in the previous region, while that one's
         * text is still here (it is, unless everything before was handed out at the end). */
        size_t k = s->nf - sx->field_first;
        const ms_smaps_field *guess = NULL;
        if (s->nwin > s->hist && k < s->side[s->nwin - 1].x.field_count)
            guess = &s->fields[s->side[s->nwin - 1].x.field_first + k];
        bool stored;
        if ((rc = ms_smaps_parse_field(&p, end, guess, &s->fields[s->nf], &s->win[s->nwin], sx, &stored)) != MS_OK)
            return rc;
        if (stored)
            s->nf++;
        s->pos = (size_t)(p - s->buf);
    }
    if (s->eof) {
        if (s->open)
            close_region(s);
        s->done = true;
        return MS_OK;
    }
    return refill(s);
}

ms_err ms_rstream_next(ms_rstream *s, const ms_region **r, const ms_smaps_field **f, size_t *nf)
{
    *r = NULL;
    if (f)
        *f = NULL;
    if (nf)
        *nf = 0;
    s->last = (ms_smaps_extra){0};
    for (;;) {
        size_t pending = s->nwin - s->hist;
        if (pending && (pending > RS_REACH || s->done)) {
            ms_region *x = &s->win[s->hist];
            ms_maps_classify_one(s->win, s->nwin, s->hist, s->base_page);
            ms_region_check_deleted(s->dirfd, x);
            *r = x;
            s->last = s->side[s->hist].x;
            if (s->smaps && f && nf) {
                *f = s->fields + s->last.field_first;
                *nf = s->last.field_count;
            }
            s->hist++;
            s->handed++;
            return MS_OK;
        }
        if (s->done)
            return MS_OK;
        ms_err rc = parse_some(s);
        if (rc != MS_OK)
            return rc;
    }
}

const char *ms_rstream_vmflags(const ms_rstream *s, size_t *len)
{
    *len = s->last.vmflags ? s->last.vmflags_len : 0;
    return s->last.vmflags;
}

ms_err ms_rstream_open(int dirfd, const char *name, uint64_t base_page, size_t block,
                       ms_rstream **out)
{
    ms_err rc = MS_OK;
    *out = NULL;
    ms_rstream *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ERR_NOMEM;
    s->fd = -1;
    s->dirfd = dirfd;
    s->smaps = strcmp(name, "maps") != 0;
    s->base_page = base_page;
    s->block = block ? block : RS_BLOCK_DEFAULT;
    if (s->block < 256)
        s->block = 256;           /* tests use tiny blocks to make every line cross a refill */
    s->cap = s->block;
    s->wcap = 4 * RS_REACH;
    s->fcap = s->smaps ? 512 : 1;       /* the regions in reach hold ~400: rarely regrown */
    s->buf = malloc(s->cap);
    s->win = malloc(s->wcap * sizeof *s->win);
    s->side = malloc(s->wcap * sizeof *s->side);
    s->fields = malloc(s->fcap * sizeof *s->fields);
    if (!s->buf || !s->win || !s->side || !s->fields) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    s->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (s->fd < 0) {
        rc = ms_err_from_errno(errno);
        goto out;
    }
    rc = refill(s);
out:
    if (rc != MS_OK) {
        ms_rstream_close(s);
        return rc;
    }
    *out = s;
    return MS_OK;
}

size_t ms_rstream_count(const ms_rstream *s)
{
    return s->handed;
}

size_t ms_rstream_dropped(const ms_rstream *s)
{
    return s->dropped;
}

uint64_t ms_rstream_horizon(const ms_rstream *s)
{
    if (s->smaps || s->safe == 0)
        return 0;
    /* The buffer starts at a line start (compaction keeps whole regions), so the last complete
     * line starts after the '\n' before its own, or at 0. */
    const char *nl = memrchr(s->buf, '\n', s->safe - 1);
    const char *p = nl ? nl + 1 : s->buf;
    uint64_t start, stop;
    if (!ms_maps_line_range(p, s->buf + s->safe, &start, &stop))
        return 0;                 /* not a region line: the parser will say so when it gets there */
    return stop;
}

bool ms_rstream_reading_ahead(const ms_rstream *s)
{
    return s->ahead != NULL;
}

void ms_rstream_read_ahead(ms_rstream *s)
{
    if (!s->ahead)
        ahead_start(s, RS_SLOTS / 2);
}

bool ms_rstream_set_hook(ms_rstream *s, const ms_rstream_hook *h)
{
    if (s->ahead)
        return false;
    s->hook = *h;
    return true;
}

void ms_rstream_close(ms_rstream *s)
{
    if (!s)
        return;
    if (s->ahead)
        ahead_stop(s->ahead);     /* before the descriptor it reads goes */
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
    free(s->win);
    free(s->side);
    free(s->fields);
    free(s);
}

ms_err ms_rstream_group_by_path(int dirfd, uint64_t base_page, ms_smaps_grouper **out, size_t *count,
                                ms_smaps_totals *t)
{
    ms_rstream *rs = NULL;
    ms_smaps_grouper *g = NULL;
    memset(t, 0, sizeof *t);
    *out = NULL;
    *count = 0;
    ms_err rc = ms_smaps_grouper_new(true, &g);
    if (rc == MS_OK)
        rc = ms_rstream_open(dirfd, "smaps", base_page, 0, &rs);
    while (rc == MS_OK) {
        const ms_region *r;
        const ms_smaps_field *f;
        size_t nf;
        if ((rc = ms_rstream_next(rs, &r, &f, &nf)) != MS_OK || !r)
            break;
        ms_smaps_totals_add(t, f, nf);
        rc = ms_smaps_grouper_add(g, r, f, nf);
    }
    if (rc == MS_OK) {
        *count = ms_rstream_count(rs);
        *out = g;
        g = NULL;
    }
    ms_rstream_close(rs);
    ms_smaps_grouper_free(&g);
    return rc;
}
