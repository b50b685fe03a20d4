/* encode.c - core's structures as the API's JSON; see encode.h.
 *
 * The region writers are the hot path of /smaps: a region's fixed members and its numeric fields are
 * formatted into a local buffer and appended at once, rather than one writer call per token. */
#include "encode.h"

#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/kpage.h"
#include "core/rstream.h"

void enc_user_name(uint32_t uid, char *out, size_t cap)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r((uid_t)uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(out, cap, "%s", res->pw_name);
    else
        snprintf(out, cap, "%u", uid);   /* a uid with no passwd entry (e.g. seen from a container) */
}

const char *enc_cached_user(enc_user_cache *c, uint32_t uid)
{
    for (int i = 0; i < c->n; i++)
        if (c->uid[i] == uid)
            return c->name[i];
    int slot = c->n < 32 ? c->n++ : 31;
    c->uid[slot] = uid;
    enc_user_name(uid, c->name[slot], sizeof c->name[slot]);
    return c->name[slot];
}

void enc_container(jw *w, const ms_container *c)
{
    if (!c || (!c->id[0] && !c->pod_uid[0])) {
        jw_knull(w, "container");
        return;
    }
    jw_key(w, "container");
    jw_obj(w);
    if (c->runtime[0]) jw_kstr(w, "runtime", c->runtime); else jw_knull(w, "runtime");
    if (c->id[0]) jw_kstr(w, "id", c->id); else jw_knull(w, "id");
    if (c->pod_uid[0]) jw_kstr(w, "pod_uid", c->pod_uid); else jw_knull(w, "pod_uid");
    jw_obj_end(w);
}

void enc_cgroup(jw *w, const char *cgroup, const ms_container *c)
{
    if (cgroup) jw_kstr(w, "cgroup", cgroup); else jw_knull(w, "cgroup");
    enc_container(w, cgroup ? c : NULL);
}

static void procinfo_members(jw *w, const ms_procinfo *p, const char *user)
{
    jw_ki64(w, "pid", p->pid);
    jw_ki64(w, "ppid", p->ppid);
    jw_kstr(w, "name", p->name);
    jw_kstr(w, "cmdline", p->cmdline ? p->cmdline : "");
    jw_ku64(w, "uid", p->uid);
    jw_kstr(w, "user", user);
    jw_kstrn(w, "state", &p->state, 1);
    jw_kbool(w, "kernel_thread", p->kernel_thread);
    jw_ku64(w, "threads", p->threads);
    jw_ku64(w, "vm_size", p->vm_size);
    jw_ku64(w, "vm_rss", p->vm_rss);
    jw_ku64(w, "rss_anon", p->rss_anon);
    jw_ku64(w, "rss_file", p->rss_file);
    jw_ku64(w, "rss_shmem", p->rss_shmem);
    jw_ku64(w, "vm_swap", p->vm_swap);
    jw_ku64(w, "minflt", p->minflt);
    jw_ku64(w, "majflt", p->majflt);
    enc_cgroup(w, p->cgroup, &p->container);
}

void enc_procinfo(jw *w, const ms_procinfo *p, const char *user)
{
    jw_obj(w);
    procinfo_members(w, p, user);
    jw_obj_end(w);
}

/* One process's PSS members: null figures where none could be had, and why in pss_state. */
static void pss_members(jw *w, const ms_pss_result *r)
{
    bool known = r->state == MS_PSS_FRESH || r->state == MS_PSS_CACHED;
    if (known) {
        jw_ku64(w, "pss", r->pss);
        jw_ku64(w, "uss", r->uss);
        jw_ku64(w, "pss_age_ms", r->age_ms);
    } else {
        jw_knull(w, "pss");
        jw_knull(w, "uss");
        jw_knull(w, "pss_age_ms");
    }
    jw_kstr(w, "pss_state", ms_pss_state_name(r->state));
    if (r->state == MS_PSS_FAILED)
        jw_kstr(w, "pss_error", ms_strerror(r->err));
}

static void pss_summary(jw *w, const enc_pss *p)
{
    jw_key(w, "pss");
    jw_obj(w);
    jw_ku64(w, "budget_ms", p->budget_ns / 1000000);
    if (!p->res) {
        jw_kstr(w, "error", ms_strerror(p->rc));
        jw_obj_end(w);
        return;
    }
    const ms_pss_stats *st = p->st;
    jw_ku64(w, "fresh", st->fresh);
    jw_ku64(w, "cached", st->cached);
    jw_ku64(w, "skipped", st->skipped);
    jw_ku64(w, "none", st->none);
    jw_ku64(w, "failed", st->failed);
    jw_key(w, "cpu_ms");
    jw_double(w, (double)st->cpu_ns / 1e6);
    if (st->skipped)
        jw_kstr(w, "skipped_note", "moved since their last read (or never read) and left unread for the budget: "
                                   "no figure is given for them; they are read first next time");
    jw_obj_end(w);
}

void enc_processes(jw *w, const ms_proclist *l, size_t n, uint64_t age_ms)
{
    enc_processes_pss(w, l, n, age_ms, NULL);
}

void enc_processes_pss(jw *w, const ms_proclist *l, size_t n, uint64_t age_ms, const enc_pss *pss)
{
    enc_user_cache uc = {.n = 0};
    jw_obj(w);
    jw_ku64(w, "total", l->n);
    jw_ku64(w, "count", n);
    jw_ku64(w, "age_ms", age_ms);
    jw_key(w, "processes");
    jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w);
        procinfo_members(w, &l->p[i], enc_cached_user(&uc, l->p[i].uid));
        if (pss && pss->res)
            pss_members(w, &pss->res[i]);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    if (pss)
        pss_summary(w, pss);
    jw_obj_end(w);
}

void enc_totals(jw *w, const ms_smaps_totals *t)
{
    for (int i = 0; i < MS_SF__COUNT; i++)
        if (t->seen[i] && i != MS_SF_KERNEL_PAGE_SIZE && i != MS_SF_MMU_PAGE_SIZE &&
            i != MS_SF_THP_ELIGIBLE && i != MS_SF_PROTECTION_KEY)
            jw_ku64(w, ms_smaps_field_name((ms_smaps_field_id)i), t->v[i]);
}

#define LIT JW_LIT

/* A region's fixed members are built in a local buffer and appended at once: a 10,000-region
 * answer writes some 100,000 of them, and one append beats a writer call per token. */
void enc_path_hex(jw *w, const char *path, size_t len)
{
    /* a name's bytes need not be UTF-8: path has U+FFFD for those, path_hex every byte */
    if (!jw_utf8_valid(path, len)) {
        jw_key(w, "path_hex");
        jw_hexbytes(w, path, len);
    }
}

void enc_mm_flags(jw *w, ms_mm_state mm)
{
    jw_kbool(w, "kernel_thread", mm == MS_MM_KTHREAD);
    jw_kbool(w, "zombie", mm == MS_MM_ZOMBIE);
}

/* A region's device, "%02x:%02x" as the kernel prints it (at most 17 bytes, no NUL). */
static size_t fmt_dev(char *b, const ms_region *g)
{
    static const char hexd[] = "0123456789abcdef";
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        uint32_t v = part ? g->dev_minor : g->dev_major;
        char tmp[8];
        size_t k = 0;
        do {
            tmp[k++] = hexd[v & 15];
            v >>= 4;
        } while (v);
        if (k < 2)
            tmp[k++] = '0';
        while (k)
            b[n++] = tmp[--k];
        if (!part)
            b[n++] = ':';
    }
    return n;
}

/* What goes around a region's head values: the object layout's keys, or the rows layout's bare
 * separators (see below); [7] and [8] open "deleted" true or false and then "kind". */
typedef struct {
    const char *s;
    size_t n;
} head_lit;
#define HEAD_LIT(x) {x, sizeof x - 1}
static const head_lit HEAD_SEP[2][9] = {
    {HEAD_LIT("\"start\":\""), HEAD_LIT("\",\"end\":\""), HEAD_LIT("\",\"size\":"), HEAD_LIT(",\"perms\":\""),
     HEAD_LIT("\",\"offset\":"), HEAD_LIT(",\"dev\":\""), HEAD_LIT("\",\"inode\":"),
     HEAD_LIT("\"deleted\":true,\"kind\":\""), HEAD_LIT("\"deleted\":false,\"kind\":\"")},
    {HEAD_LIT("\""), HEAD_LIT("\",\""), HEAD_LIT("\","), HEAD_LIT(",\""), HEAD_LIT("\","), HEAD_LIT(",\""),
     HEAD_LIT("\","), HEAD_LIT("true,\""), HEAD_LIT("false,\"")},
};

/* A region's start, end, size, perms, offset, dev, inode, path, deleted and kind: members of an
 * object, or (rows) elements of an array, where path_hex goes to the row's trailing object. */
static inline __attribute__((always_inline)) void region_head(jw *w, const ms_region *g, bool rows)
{
    const head_lit *k = HEAD_SEP[rows];
    char b[256];
    size_t n = 0;
#define HEAD_PUT(i) (memcpy(b + n, k[i].s, k[i].n), n += k[i].n)
    HEAD_PUT(0);
    n += jw_fmt_hex(b + n, g->start);
    HEAD_PUT(1);
    n += jw_fmt_hex(b + n, g->end);
    HEAD_PUT(2);
    n += jw_fmt_u64(b + n, g->end - g->start);
    HEAD_PUT(3);
    memcpy(b + n, g->perms, 4);       /* the parser let only r w x p s - through */
    n += 4;
    HEAD_PUT(4);
    n += jw_fmt_u64(b + n, g->offset);
    HEAD_PUT(5);
    n += fmt_dev(b + n, g);
    HEAD_PUT(6);
    n += jw_fmt_u64(b + n, g->inode);
    jw_members_raw(w, b, n);
    if (!rows)
        JW_KEY(w, "path");
    jw_strn(w, g->path, g->path_len);
    if (!rows)
        enc_path_hex(w, g->path, g->path_len);
    n = 0;
    HEAD_PUT(g->deleted ? 7 : 8);
#undef HEAD_PUT
    const char *kind = ms_region_kind_name(g->kind);
    size_t kl = strlen(kind);
    memcpy(b + n, kind, kl);
    n += kl;
    b[n++] = '"';
    jw_members_raw(w, b, n);
}

void enc_region_head(jw *w, const ms_region *g)
{
    region_head(w, g, false);
}

void enc_region_row_head(jw *w, const ms_region *g)
{
    region_head(w, g, true);
}

static void enc_vmflags(jw *w, const char *s, size_t n)
{
    JW_KEY(w, "vm_flags");
    jw_arr(w);
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        if (j > i)
            jw_strn(w, s + i, j - i);
        i = j;
    }
    jw_arr_end(w);
}

/* The known smaps keys written out once, quotes and colon included: a 10,000-region answer
 * writes some 250,000 of them. */
typedef struct {
    char text[48];
    size_t len;
} quoted_key;

static quoted_key smaps_key_table[MS_SF__COUNT];
static pthread_once_t smaps_keys_once = PTHREAD_ONCE_INIT;

/* enc_fields copies this many bytes of a quoted key at once: every known key is shorter. */
#define QUOTED_KEY_COPY 32

static void smaps_keys_build(void)
{
    for (int i = 0; i < MS_SF__COUNT; i++) {
        int n = snprintf(smaps_key_table[i].text, sizeof smaps_key_table[i].text, "\"%s\":",
                         ms_smaps_field_name((ms_smaps_field_id)i));
        smaps_key_table[i].len = n > 0 && n <= QUOTED_KEY_COPY ? (size_t)n : 0;
    }
}

static const quoted_key *smaps_keys(void)
{
    pthread_once(&smaps_keys_once, smaps_keys_build);
    return smaps_key_table;
}

/* /maps and /smaps are streamed: a region is written as soon as core's stream
 * hands it out, so the answer costs one small buffer however many regions there are.  Figures that
 * need every region (count, totals, uss) therefore come after the list. */
/* Unknown smaps fields the first region has that become columns of their own in the rows layout. */
#define ROWS_UNKNOWN_COLS 8

struct enc_regions {
    ms_rstream *rs;
    int dirfd;
    int pid;
    bool smaps, started;
    jw w;
    ms_smaps_totals t;
    /* the rows layout: the field columns are the first region's fields, in its order */
    bool rows;
    uint64_t lo, hi;                 /* the regions written overlap [lo, hi) */
    size_t nout;                     /* regions written */
    bool pending;                    /* the first region was read to name the columns */
    const ms_region *pg;
    const ms_smaps_field *pf;
    size_t pnf;
    size_t ncols;
    int16_t col_of[MS_SF__COUNT];    /* a known field's column + 1; 0: none */
    struct {
        char name[64];               /* the kernel's key */
        size_t len;
        size_t col;
    } unk[ROWS_UNKNOWN_COLS];
    size_t nunk;
};

void enc_regions_close(void *ctx)
{
    enc_regions *x = ctx;
    if (!x)
        return;
    ms_rstream_close(x->rs);
    close(x->dirfd);
    free(x);
}

/* A region's fields: the known numeric ones (nearly all) gathered in a local buffer, the others
 * written through the writer in their place. */
static void enc_fields(jw *w, const ms_smaps_field *f, size_t nf)
{
    const quoted_key *keys = smaps_keys();
    char b[2048], name[96];
    size_t n = 0;
    for (size_t k = 0; k < nf; k++) {
        if (f[k].id >= 0 && f[k].is_number) {
            if (n + QUOTED_KEY_COPY + 21 > sizeof b) {
                jw_members_raw(w, b, n - 1);        /* n > 0 here: the buffer holds ~40 */
                n = 0;
            }
            /* a fixed-size copy (the compiler inlines it), then only len of it counts */
            memcpy(b + n, keys[f[k].id].text, QUOTED_KEY_COPY);
            n += keys[f[k].id].len;
            n += jw_fmt_u64(b + n, f[k].value);
            b[n++] = ',';
            continue;
        }
        if (n) {
            jw_members_raw(w, b, n - 1);            /* without the trailing comma */
            n = 0;
        }
        if (f[k].id >= 0)
            jw_key_raw(w, keys[f[k].id].text, keys[f[k].id].len);
        else
            jw_key(w, ms_smaps_json_name(f[k].name, f[k].name_len, name, sizeof name));
        if (f[k].is_number)
            jw_u64(w, f[k].value);
        else
            jw_strn(w, f[k].raw, f[k].raw_len);
    }
    if (n)
        jw_members_raw(w, b, n - 1);
}

/* ---- the rows layout (/smaps?layout=rows) ----
 * The same figures as the objects above, each region an array in the order of the "columns" and
 * "fields" written before the list: no key is repeated per region, which takes a 100,000-region
 * answer from 56 MB to under a third of that, and a browser parses arrays of numbers much faster
 * than objects.  A row ends with an object only when something does not fit the columns: path_hex,
 * or a field the first region did not have. */

static const char ROWS_COLUMNS[] =
    "\"columns\":[\"start\",\"end\",\"size\",\"perms\",\"offset\",\"dev\",\"inode\",\"path\",\"deleted\",\"kind\"]";

/* The column of field f, or -1 when it has none. */
static ssize_t rows_col(const enc_regions *x, const ms_smaps_field *f)
{
    if (f->id >= 0)
        return x->col_of[f->id] ? x->col_of[f->id] - 1 : -1;
    for (size_t i = 0; i < x->nunk; i++)
        if (x->unk[i].len == f->name_len && memcmp(x->unk[i].name, f->name, f->name_len) == 0)
            return (ssize_t)x->unk[i].col;
    return -1;
}

/* The field columns from the first region's fields (none when there is no region), as "fields". */
static void rows_columns(enc_regions *x, const ms_smaps_field *f, size_t nf)
{
    char name[96];
    JW_KEY(&x->w, "fields");
    jw_arr(&x->w);
    for (size_t k = 0; k < nf; k++) {
        if (rows_col(x, &f[k]) >= 0)
            continue;                /* a repeated key stays for the row's object */
        if (f[k].id >= 0) {
            x->col_of[f[k].id] = (int16_t)(x->ncols + 1);
            jw_str(&x->w, ms_smaps_field_name((ms_smaps_field_id)f[k].id));
        } else if (x->nunk < ROWS_UNKNOWN_COLS && f[k].name_len < sizeof x->unk[0].name) {
            memcpy(x->unk[x->nunk].name, f[k].name, f[k].name_len);
            x->unk[x->nunk].len = f[k].name_len;
            x->unk[x->nunk++].col = x->ncols;
            jw_str(&x->w, ms_smaps_json_name(f[k].name, f[k].name_len, name, sizeof name));
        } else
            continue;
        x->ncols++;
    }
    jw_arr_end(&x->w);
}

/* One region as a row: head, field columns (null where it lacks one), vm_flags, then an object
 * with path_hex and the fields that have no column, only when there are any. */
static void rows_region(enc_regions *x, const ms_region *g, const ms_smaps_field *f, size_t nf)
{
    jw *w = &x->w;
    const ms_smaps_field *at[MS_SF__COUNT + ROWS_UNKNOWN_COLS] = {0};
    size_t nextra = 0;
    for (size_t k = 0; k < nf; k++) {
        ssize_t c = rows_col(x, &f[k]);
        if (c >= 0 && !at[c])
            at[c] = &f[k];
        else
            nextra++;
    }
    jw_arr(w);
    region_head(w, g, true);
    char b[512];
    size_t n = 0;
    for (size_t c = 0; c < x->ncols; c++) {
        if (n + 24 > sizeof b || (at[c] && !at[c]->is_number)) {
            if (n)
                jw_members_raw(w, b, n - 1);
            n = 0;
        }
        if (at[c] && !at[c]->is_number) {
            jw_strn(w, at[c]->raw, at[c]->raw_len);
            continue;
        }
        if (at[c])
            n += jw_fmt_u64(b + n, at[c]->value);
        else
            n += LIT(b + n, "null");
        b[n++] = ',';
    }
    if (n)
        jw_members_raw(w, b, n - 1);
    size_t vl;
    const char *vf = ms_rstream_vmflags(x->rs, &vl);
    if (x->smaps)
        jw_strn(w, vf ? vf : "", vf ? vl : 0);
    else
        jw_null(w);                  /* maps does not tell a region's VmFlags */
    if (nextra || !jw_utf8_valid(g->path, g->path_len)) {
        char name[96];
        jw_obj(w);
        enc_path_hex(w, g->path, g->path_len);
        for (size_t k = 0; k < nf; k++) {
            ssize_t c = rows_col(x, &f[k]);
            if (c >= 0 && at[c] == &f[k])
                continue;
            jw_key(w, f[k].id >= 0 ? ms_smaps_field_name((ms_smaps_field_id)f[k].id)
                                   : ms_smaps_json_name(f[k].name, f[k].name_len, name, sizeof name));
            if (f[k].is_number)
                jw_u64(w, f[k].value);
            else
                jw_strn(w, f[k].raw, f[k].raw_len);
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

void enc_rows_columns(jw *w)
{
    jw_kstr(w, "layout", "rows");
    jw_members_raw(w, ROWS_COLUMNS, sizeof ROWS_COLUMNS - 1);
}

void enc_regions_rows(enc_regions *x)
{
    x->rows = true;
}

void enc_regions_range(enc_regions *x, uint64_t lo, uint64_t hi)
{
    x->lo = lo;
    x->hi = hi;
}

/* The document's opening: pid, and for rows the columns, which need the first region read. */
static ms_err regions_open_doc(enc_regions *x)
{
    jw *w = &x->w;
    jw_obj(w);
    jw_ki64(w, "pid", x->pid);
    if (x->rows) {
        ms_err rc = ms_rstream_next(x->rs, &x->pg, &x->pf, &x->pnf);
        if (rc != MS_OK)
            return rc;
        x->pending = x->pg != NULL;
        enc_rows_columns(w);
        rows_columns(x, x->pf, x->pg ? x->pnf : 0);
    }
    jw_key(w, "regions");
    jw_arr(w);
    return MS_OK;
}

ms_err enc_regions_fill(void *ctx, ms_buf *b, size_t want, bool *done)
{
    enc_regions *x = ctx;
    jw *w = &x->w;
    w->b = b;               /* the stream's buffer is emptied between calls, the writer's state kept */
    if (!x->started) {
        x->started = true;
        ms_err rc = regions_open_doc(x);
        if (rc != MS_OK)
            return rc;
    }
    while (b->len < want && w->err == MS_OK) {
        const ms_region *g;
        const ms_smaps_field *f;
        size_t nf;
        ms_err rc = MS_OK;
        if (x->pending) {
            g = x->pg, f = x->pf, nf = x->pnf;
            x->pending = false;
        } else
            rc = ms_rstream_next(x->rs, &g, &f, &nf);
        if (rc != MS_OK)
            return rc;
        /* the regions come in address order: past the range, the rest of the file is not read */
        if (g && g->start >= x->hi)
            g = NULL;
        if (!g) {
            jw_arr_end(w);
            jw_ku64(w, "count", x->nout);
            /* no regions at all: say whether that is because there is no address space */
            enc_mm_flags(w, ms_rstream_count(x->rs) ? MS_MM_PRESENT : ms_pid_mm_state(x->dirfd));
            if (x->smaps) {
                jw_key(w, "totals");
                jw_obj(w);
                enc_totals(w, &x->t);
                jw_obj_end(w);
                jw_ku64(w, "uss", ms_smaps_uss(&x->t));
            }
            jw_obj_end(w);
            *done = true;
            break;
        }
        if (g->end <= x->lo)
            continue;
        x->nout++;
        if (x->rows) {
            ms_smaps_totals_add(&x->t, f, nf);
            rows_region(x, g, f, nf);
            continue;
        }
        jw_obj(w);
        enc_region_head(w, g);
        if (x->smaps) {
            ms_smaps_totals_add(&x->t, f, nf);
            JW_KEY(w, "fields");
            jw_obj(w);
            enc_fields(w, f, nf);
            jw_obj_end(w);
            size_t vl;
            const char *vf = ms_rstream_vmflags(x->rs, &vl);
            enc_vmflags(w, vf, vl);
        }
        jw_obj_end(w);
    }
    return w->err;
}

static void enc_kflags(jw *w, uint64_t flags)
{
    jw_arr(w);
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(flags & (1ULL << bit)))
            continue;
        const char *n = ms_kpageflag_name(bit);
        if (n)
            jw_str(w, n);
        else {
            char tmp[16];
            snprintf(tmp, sizeof tmp, "bit%u", bit);
            jw_str(w, tmp);
        }
    }
    jw_arr_end(w);
}

static void enc_frame(jw *w, const ms_pm_frame *f, uint64_t page_size)
{
    jw_khex(w, "addr", f->vaddr);
    jw_ku64(w, "page_number", f->vaddr / page_size);
    jw_kbool(w, "present", f->present);
    jw_kbool(w, "swapped", f->swapped);
    jw_kbool(w, "file_or_shared", f->file_or_shared);
    jw_kbool(w, "exclusive", f->exclusive);
    jw_kbool(w, "soft_dirty", f->soft_dirty);
    if (f->pfn_known) {
        jw_ku64(w, "pfn", f->pfn);
        jw_khex(w, "phys_addr", f->pfn * page_size);
    } else {
        jw_knull(w, "pfn");
        jw_knull(w, "phys_addr");
        if (f->pfn_hidden_reason)
            jw_kstr(w, "pfn_hidden_reason", f->pfn_hidden_reason);
    }
    if (f->swapped) {
        jw_ku64(w, "swap_type", f->swap_type);
        jw_ku64(w, "swap_offset", f->swap_offset);
    }
    jw_key(w, "flags");
    if (f->kflags_known)
        enc_kflags(w, f->kflags);
    else
        jw_null(w);
    if (f->mapcount_known)
        jw_ku64(w, "mapcount", f->mapcount);
    else
        jw_knull(w, "mapcount");
}

ms_err enc_regions_open(int dirfd, int pid, bool smaps, uint64_t page_size, enc_regions **out)
{
    *out = NULL;
    enc_regions *x = calloc(1, sizeof *x);
    if (!x) {
        close(dirfd);
        return MS_ERR_NOMEM;
    }
    x->dirfd = dirfd;
    x->pid = pid;
    x->smaps = smaps;
    x->hi = UINT64_MAX;
    ms_err rc = ms_rstream_open(dirfd, smaps ? "smaps" : "maps", page_size, 0, &x->rs);
    if (rc != MS_OK) {
        enc_regions_close(x);
        return rc;
    }
    jw_init(&x->w, NULL);
    *out = x;
    return MS_OK;
}

void enc_smaps_grouped(jw *w, int pid, size_t count, const ms_smaps_totals *t, const ms_mm_state *mm,
                       const ms_smaps_group *g, size_t ng)
{
    jw_obj(w);
    jw_ki64(w, "pid", pid);
    jw_ku64(w, "count", count);
    if (mm)
        enc_mm_flags(w, *mm);
    jw_key(w, "totals");
    jw_obj(w);
    enc_totals(w, t);
    jw_obj_end(w);
    jw_ku64(w, "uss", ms_smaps_uss(t));
    jw_key(w, "groups");
    jw_arr(w);
    for (size_t i = 0; i < ng; i++) {
        jw_obj(w);
        jw_kstrn(w, "path", g[i].path, g[i].path_len);
        enc_path_hex(w, g[i].path, g[i].path_len);
        jw_ku64(w, "regions", g[i].nregions);
        jw_ku64(w, "size", g[i].size);
        jw_key(w, "fields");
        jw_obj(w);
        enc_totals(w, &g[i].totals);
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

void enc_pagemap(jw *w, const enc_pagemap_doc *d)
{
    const ms_pm_summary *sum = d->sum;
    jw_obj(w);
    jw_ki64(w, "pid", d->pid);
    jw_khex(w, "start", d->start);
    jw_khex(w, "end", d->end);
    jw_ku64(w, "page_size", d->page_size);
    jw_kstr(w, "method", sum->used == MS_PM_SCAN ? "scan" : "pread");
    jw_key(w, "counts");
    jw_obj(w);
    jw_ku64(w, "pages", sum->pages);
    jw_ku64(w, "present", sum->present);
    jw_ku64(w, "swapped", sum->swapped);
    if (sum->has_zero_page) jw_ku64(w, "zero_page", sum->zero_page); else jw_knull(w, "zero_page");
    jw_ku64(w, "file_or_shared", sum->file_or_shared);
    if (sum->has_exclusive) jw_ku64(w, "exclusive", sum->exclusive); else jw_knull(w, "exclusive");
    if (sum->has_huge) jw_ku64(w, "huge", sum->huge); else jw_knull(w, "huge");
    if (sum->has_soft_dirty) jw_ku64(w, "soft_dirty", sum->soft_dirty); else jw_knull(w, "soft_dirty");
    jw_obj_end(w);
    if (sum->top && sum->top < d->end)
        jw_khex(w, "address_space_end", sum->top);   /* the kernel never maps the pages above it */
    if (d->runs) {
        /* the runs of the page of frames when the caller read those, else of the whole range */
        const ms_pm_summary *rs = d->runs_of ? d->runs_of : sum;
        jw_key(w, "runs");
        jw_arr(w);
        for (size_t i = 0; i < rs->nruns; i++) {
            jw_arr(w);
            jw_hex(w, rs->runs[i].start);
            jw_hex(w, rs->runs[i].end);
            jw_str(w, ms_pm_state_name((ms_pm_state)rs->runs[i].state));
            jw_arr_end(w);
        }
        jw_arr_end(w);
        jw_key(w, "runs_cover");
        jw_obj(w);
        jw_khex(w, "start", d->runs_of ? d->cursor : d->start);
        jw_khex(w, "end", d->runs_of ? d->cursor + d->nfr * d->page_size : d->end);
        jw_obj_end(w);
    }
    if (d->frames) {
        jw_key(w, "frames");
        jw_arr(w);
        for (size_t i = 0; i < d->nfr; i++) {
            jw_obj(w);
            enc_frame(w, &d->fr[i], d->page_size);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        uint64_t next = d->cursor + d->nfr * d->page_size;
        if (next < d->end)
            jw_khex(w, "next_cursor", next);
        else
            jw_knull(w, "next_cursor");
    }
    /* In every answer, so a client knows before it asks for frames how many one answer holds. */
    jw_ku64(w, "frames_cap", PAGEMAP_FRAMES_MAX);
    jw_obj_end(w);
}

const char *enc_translation_explain(const ms_translation *t)
{
    return t->frame.beyond_top ? "this page is above the process's TASK_SIZE: the kernel never maps it "
                                 "(the last page below the top of user space is kept as a guard)"
           : !t->in_region ? "no region covers this address: touching it raises a segmentation fault"
           : t->frame.swapped ? "the page is swapped out: touching it faults it back in from swap"
           : !t->frame.present ? "the page has no frame yet: the first touch raises a page fault and the kernel maps one"
           : t->phys_known ? "the page is resident: physical address = frame number * page size + offset"
                           : "the page is resident, but the kernel hides frame numbers from this reader";
}

void enc_translation(jw *w, int pid, uint64_t addr, const ms_translation *t)
{
    jw_obj(w);
    jw_ki64(w, "pid", pid);
    jw_khex(w, "addr", addr);
    jw_ku64(w, "page_size", t->page_size);
    jw_ku64(w, "page_shift", (uint64_t)__builtin_ctzll(t->page_size));
    jw_ku64(w, "page_number", t->page_number);
    jw_khex(w, "page_number_hex", t->page_number);
    jw_ku64(w, "page_offset", t->page_offset);
    jw_khex(w, "page_offset_hex", t->page_offset);
    jw_khex(w, "page_start", addr - t->page_offset);
    jw_key(w, "region");
    if (t->in_region) {
        jw_obj(w);
        enc_region_head(w, &t->region);
        jw_obj_end(w);
    } else {
        jw_null(w);
    }
    jw_key(w, "page");
    jw_obj(w);
    enc_frame(w, &t->frame, t->page_size);
    jw_obj_end(w);
    if (t->phys_known)
        jw_khex(w, "phys_addr", t->phys_addr);
    else
        jw_knull(w, "phys_addr");
    jw_kstr(w, "explain", enc_translation_explain(t));
    jw_obj_end(w);
}
