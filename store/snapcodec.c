/* snapcodec.c - the store's binary snapshot form (the layout is in snapcodec.h): writing it a
 * region at a time, and reading it whole or as an index.  The readers trust nothing in the blob:
 * every length is checked against what is left, and counts against the blob's size before
 * anything is allocated. */
#include "snapcodec.h"

#include "core/rstream.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "MSB1"
#define MAGIC_LEN 4
#define HEAD_LEN (MAGIC_LEN + 4 + 4 + 8)
#define MAX_KEYS MS_SNAPCODEC_MAX_KEYS
/* The fewest bytes a region (head with empty path, no VmFlags, no fields) and a field take. */
#define MIN_REGION 14
#define MIN_FIELD 2

enum { F_BYTES = 1, F_NUMBER = 2, F_KIB = 4, F_SHIFT = 3 };
enum { R_DELETED = 1 };

/* ---- writing ---- */

static void put(ms_snapenc *e, const void *p, size_t n)
{
    if (e->rc == MS_OK)
        e->rc = ms_buf_append(e->out, p, n);
}

static void put_uv(ms_snapenc *e, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        t[n++] |= v ? 0x80 : 0;
    } while (v);
    put(e, t, n);
}

static void put_str(ms_snapenc *e, const char *p, size_t n)
{
    put_uv(e, n);
    put(e, p, n);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void ms_snapenc_begin(ms_snapenc *e, ms_buf *out)
{
    e->out = out;
    e->head = out->len;
    e->nregions = e->nfields = e->nkeys = 0;
    e->rc = MS_OK;
    ms_buf_init(&e->names, 0);
    unsigned char head[HEAD_LEN] = MAGIC;   /* counts and offset written by end */
    put(e, head, sizeof head);
}

static bool key_is(const ms_snapenc *e, size_t k, const ms_smaps_field *f)
{
    return e->name_len[k] == f->name_len && memcmp(e->names.data + e->name_off[k], f->name, f->name_len) == 0;
}

/* The key table index of f's name, added if new; -1 when the table is full. */
static int key_of(ms_snapenc *e, const ms_smaps_field *f, size_t guess)
{
    if (guess < e->nkeys && key_is(e, guess, f))
        return (int)guess;
    for (size_t k = 0; k < e->nkeys; k++)
        if (key_is(e, k, f))
            return (int)k;
    if (e->nkeys == MAX_KEYS || e->names.len > UINT32_MAX - f->name_len)
        return -1;
    if (e->rc == MS_OK) {
        e->name_off[e->nkeys] = (uint32_t)e->names.len;
        e->name_len[e->nkeys] = f->name_len;
        e->rc = ms_buf_append(&e->names, f->name, f->name_len);
    }
    return (int)e->nkeys++;
}

void ms_snapenc_region(ms_snapenc *e, const ms_region *r, const ms_smaps_field *f, size_t nf,
                       const char *vmflags, size_t vmflags_len)
{
    put_uv(e, r->start);
    put_uv(e, r->end - r->start);
    put_uv(e, r->offset);
    put_uv(e, r->inode);
    put_uv(e, r->dev_major);
    put_uv(e, r->dev_minor);
    put(e, r->perms, 4);
    unsigned char flags = r->deleted ? R_DELETED : 0;
    put(e, &flags, 1);
    put_str(e, r->path, r->path_len);
    put_uv(e, vmflags ? vmflags_len + 1 : 0);
    if (vmflags)
        put(e, vmflags, vmflags_len);
    put_uv(e, nf);
    /* The kernel prints the same keys in the same order in every region: the key after the one
     * before is the usual guess. */
    size_t guess = 0;
    for (size_t k = 0; k < nf && e->rc == MS_OK; k++) {
        int key = key_of(e, &f[k], guess);
        if (key < 0) {
            e->rc = MS_ERR_TOOBIG;
            break;
        }
        guess = (size_t)key + 1;
        bool kib = f[k].is_number && f[k].is_bytes && (f[k].value & 1023) == 0;
        put_uv(e, (uint64_t)key << F_SHIFT | (kib ? F_KIB : 0) | (f[k].is_number ? F_NUMBER : 0) |
                      (f[k].is_bytes ? F_BYTES : 0));
        if (f[k].is_number)
            put_uv(e, kib ? f[k].value >> 10 : f[k].value);
        else
            put_str(e, f[k].raw, f[k].raw_len);
    }
    e->nregions++;
    e->nfields += nf;
}

ms_err ms_snapenc_end(ms_snapenc *e)
{
    if (e->rc == MS_OK && (e->nregions > UINT32_MAX || e->nfields > UINT32_MAX))
        e->rc = MS_ERR_TOOBIG;
    size_t table = e->out->len;
    put_uv(e, e->nkeys);
    for (size_t k = 0; k < e->nkeys && e->rc == MS_OK; k++)
        put_str(e, e->names.data + e->name_off[k], e->name_len[k]);
    if (e->rc == MS_OK) {
        unsigned char *h = (unsigned char *)e->out->data + e->head + MAGIC_LEN;
        put_le(h, e->nregions, 4);
        put_le(h + 4, e->nfields, 4);
        put_le(h + 8, table - e->head, 8);
    } else {
        e->out->len = e->head;
        if (e->out->data)
            e->out->data[e->head] = '\0';
    }
    ms_buf_free(&e->names);
    return e->rc;
}

ms_err ms_snapcodec_encode(const ms_smaps *s, ms_buf *out)
{
    ms_snapenc e;
    ms_snapenc_begin(&e, out);
    for (size_t i = 0; i < s->maps.nregions; i++) {
        const ms_region *r = &s->maps.regions[i];
        const ms_smaps_extra *x = ms_smaps_extra_of(s, r);
        size_t nf;
        const ms_smaps_field *f = ms_smaps_fields_of(s, r, &nf);
        ms_snapenc_region(&e, r, f, nf, x->vmflags, x->vmflags_len);
    }
    return ms_snapenc_end(&e);
}

bool ms_snapcodec_is_binary(const char *p, size_t len)
{
    return len >= HEAD_LEN && memcmp(p, MAGIC, MAGIC_LEN) == 0;
}

/* ---- reading ---- */

typedef struct {
    const unsigned char *p, *end;
    bool bad;
} dec;

static uint64_t get_uv(dec *d)
{
    if (d->p < d->end && !(*d->p & 0x80))
        return *d->p++;               /* one byte: most tags and many values */
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (d->p == d->end)
            break;
        unsigned char c = *d->p++;
        if (shift == 63 && c > 1)
            break;                    /* more than 64 bits */
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    d->bad = true;
    return 0;
}

/* n bytes in place (NULL, and the decoder marked bad, if fewer are left). */
static const char *get_bytes(dec *d, uint64_t n)
{
    if (d->bad || n > (uint64_t)(d->end - d->p)) {
        d->bad = true;
        return NULL;
    }
    const char *r = (const char *)d->p;
    d->p += n;
    return r;
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

typedef ms_snapkey key;

/* The header and key table of the blob at p: *d left at the first region, its end at the table. */
static bool open_blob(const char *p, size_t len, dec *d, size_t *nregions, size_t *nfields, key *keys,
                      size_t *nkeys)
{
    if (!ms_snapcodec_is_binary(p, len))
        return false;
    const unsigned char *u = (const unsigned char *)p;
    uint64_t nr = get_le(u + MAGIC_LEN, 4), nf = get_le(u + MAGIC_LEN + 4, 4);
    uint64_t table = get_le(u + MAGIC_LEN + 8, 8);
    if (table < HEAD_LEN || table > len)
        return false;
    size_t body = (size_t)table - HEAD_LEN;
    if (nr > body / MIN_REGION || nf > body / MIN_FIELD)
        return false;
    dec t = {u + table, u + len, false};
    uint64_t nk = get_uv(&t);
    if (t.bad || nk > MAX_KEYS)
        return false;
    for (uint64_t k = 0; k < nk; k++) {
        uint64_t kl = get_uv(&t);
        keys[k].name = get_bytes(&t, kl);
        if (t.bad || kl > UINT32_MAX)
            return false;
        keys[k].len = (uint32_t)kl;
        keys[k].id = (int16_t)ms_smaps_field_lookup(keys[k].name, keys[k].len);
    }
    if (t.p != t.end)
        return false;
    *d = (dec){u + HEAD_LEN, u + table, false};
    *nregions = (size_t)nr;
    *nfields = (size_t)nf;
    *nkeys = (size_t)nk;
    return true;
}

/* A region's head into r (and its VmFlags into x, if x), and its field count.  False if bad. */
static bool get_head(dec *d, ms_region *r, ms_smaps_extra *x, uint64_t *count)
{
    memset(r, 0, sizeof *r);
    r->start = get_uv(d);
    uint64_t size = get_uv(d);
    r->end = r->start + size;
    r->offset = get_uv(d);
    r->inode = get_uv(d);
    uint64_t maj = get_uv(d), min = get_uv(d);
    const char *perms = get_bytes(d, 4), *flags = get_bytes(d, 1);
    uint64_t plen = get_uv(d);
    r->path = get_bytes(d, plen);
    uint64_t vlen = get_uv(d);
    const char *vm = vlen ? get_bytes(d, vlen - 1) : NULL;
    *count = get_uv(d);
    if (d->bad || r->end < r->start || maj > UINT32_MAX || min > UINT32_MAX)
        return false;
    if (x) {
        x->vmflags = vm;
        x->vmflags_len = vlen ? (size_t)(vlen - 1) : 0;
    }
    r->dev_major = (uint32_t)maj;
    r->dev_minor = (uint32_t)min;
    memcpy(r->perms, perms, 4);
    r->perms[4] = '\0';
    r->deleted = (*flags & R_DELETED) != 0;
    r->path_len = (size_t)plen;
    return true;
}

/* One field into f; r's KernelPageSize set from it.  False if bad. */
static bool get_field(dec *d, const key *keys, size_t nkeys, ms_smaps_field *f, ms_region *r)
{
    uint64_t tag = get_uv(d), k = tag >> F_SHIFT;
    if (d->bad || k >= nkeys)
        return false;
    f->name = keys[k].name;
    f->name_len = keys[k].len;
    f->id = keys[k].id;
    f->is_bytes = (tag & F_BYTES) != 0;
    f->is_number = (tag & F_NUMBER) != 0;
    f->raw = NULL;
    f->raw_len = 0;
    f->value = 0;
    if (f->is_number) {
        uint64_t v = get_uv(d);
        if ((tag & F_KIB) && v > UINT64_MAX >> 10)
            return false;
        f->value = tag & F_KIB ? v << 10 : v;
    } else {
        uint64_t len = get_uv(d);
        f->raw = get_bytes(d, len);
        if (len > UINT32_MAX)
            return false;
        f->raw_len = (uint32_t)len;
    }
    if (f->id == MS_SF_KERNEL_PAGE_SIZE && f->is_number && r)
        r->kernel_page_size = f->value;
    return !d->bad;
}

ms_err ms_snapcodec_decode(ms_smaps *s)
{
    ms_err rc = MS_ERR_PARSE;
    ms_maps *m = &s->maps;
    m->nregions = 0;
    s->nfields = 0;
    dec d;
    size_t nregions, nfields, nkeys;
    key keys[MAX_KEYS];
    if (!m->buf.data || !open_blob(m->buf.data, m->buf.len, &d, &nregions, &nfields, keys, &nkeys))
        return MS_ERR_PARSE;
    if (nregions > m->cap || nregions > s->extra_cap) {
        ms_region *r = realloc(m->regions, nregions * sizeof *r);
        if (r)
            m->regions = r, m->cap = nregions;
        ms_smaps_extra *x = realloc(s->extra, nregions * sizeof *x);
        if (x)
            s->extra = x, s->extra_cap = nregions;
        if (!r || !x)
            return MS_ERR_NOMEM;
    }
    if (nfields > s->fields_cap) {
        ms_smaps_field *f = realloc(s->fields, nfields * sizeof *f);
        if (!f)
            return MS_ERR_NOMEM;
        s->fields = f;
        s->fields_cap = nfields;
    }
    size_t nf = 0;
    for (size_t i = 0; i < nregions; i++) {
        ms_region *r = &m->regions[i];
        ms_smaps_extra *x = &s->extra[i];
        uint64_t count;
        if (!get_head(&d, r, x, &count) || count > nfields - nf)
            goto out;
        x->field_first = (uint32_t)nf;
        x->field_count = (uint32_t)count;
        for (uint64_t k = 0; k < count; k++)
            if (!get_field(&d, keys, nkeys, &s->fields[nf++], r))
                goto out;
        m->nregions = i + 1;
    }
    if (nf != nfields || d.p != d.end)
        goto out;
    s->nfields = nf;
    ms_maps_classify(m->regions, m->nregions);
    rc = MS_OK;
out:
    if (rc != MS_OK) {
        m->nregions = 0;
        s->nfields = 0;
    }
    return rc;
}

/* ---- the index ---- */

_Static_assert(MS_SF__COUNT <= 32, "a region's figures are a 32-bit mask of field ids");

void ms_snapview_free(ms_snapview *v)
{
    free(v->regions);
    free(v->rss);
    free(v->figs);
    free(v->vals);
    ms_buf_free(&v->paths);
    memset(v, 0, sizeof *v);
}

size_t ms_snapview_bytes(const ms_snapview *v)
{
    return v->cap * (sizeof *v->regions + sizeof *v->rss + sizeof *v->figs) + v->vals_cap * sizeof *v->vals +
           v->paths.cap;
}

/* Empties v for a new reading, keeping its arrays. */
static void view_reset(ms_snapview *v)
{
    v->summed = 0;
    for (int id = 0; id < MS_SF__COUNT; id++)
        v->summed |= ms_smaps_field_summed(id) ? (uint32_t)1 << id : 0;
    v->n = 0;
    v->nvals = 0;
    ms_buf_reset(&v->paths);
    memset(&v->total, 0, sizeof v->total);
}

/* Room for n regions in every array. */
static ms_err view_reserve(ms_snapview *v, size_t n)
{
    void **const arrays[] = {(void **)&v->regions, (void **)&v->rss, (void **)&v->figs};
    const size_t elem[] = {sizeof *v->regions, sizeof *v->rss, sizeof *v->figs};
    return ms_grow_many(arrays, elem, 3, &v->cap, n, 64);
}

/* Starts region i (its head already in regions[i]): no figures yet. */
static void fig_begin(ms_snapview *v, size_t i)
{
    v->figs[i] = (ms_snapfig){.at = v->nvals};
    v->rss[i] = 0;
}

/* Adds field f to region i, the last one begun: its values are the last in vals, in id order. */
static ms_err fig_add(ms_snapview *v, size_t i, const ms_smaps_field *f)
{
    if (!f->is_bytes || f->id < 0 || !(v->summed >> f->id & 1))
        return MS_OK;
    ms_snapfig *g = &v->figs[i];
    uint32_t bit = (uint32_t)1 << f->id;
    g->seen |= bit;
    v->total.seen[f->id] = true;
    v->total.v[f->id] += f->value;
    if (f->id == MS_SF_RSS)
        v->rss[i] += f->value;
    if (!f->value)
        return MS_OK;
    /* The kernel prints the fields in id order: the value usually goes at the end. */
    bool last = !(g->nz & ~(bit - 1));
    size_t slot = last ? v->nvals : g->at + (size_t)__builtin_popcount(g->nz & (bit - 1));
    if (g->nz & bit) {                /* a key given twice: summed, as totals sum it */
        v->vals[slot] += f->value;
        return MS_OK;
    }
    ms_err rc = v->nvals < v->vals_cap ? MS_OK
                                      : ms_grow((void **)&v->vals, &v->vals_cap, v->nvals + 1, sizeof *v->vals, 4096, 0);
    if (rc != MS_OK)
        return rc;
    if (!last)
        memmove(v->vals + slot + 1, v->vals + slot, (v->nvals - slot) * sizeof *v->vals);
    v->vals[slot] = f->value;
    v->nvals++;
    g->nz |= bit;
    return MS_OK;
}

void ms_snapview_add(const ms_snapview *v, size_t i, ms_smaps_totals *t)
{
    const ms_snapfig *g = &v->figs[i];
    for (uint32_t m = g->seen; m; m &= m - 1)
        t->seen[__builtin_ctz(m)] = true;
    const uint64_t *val = v->vals + g->at;
    for (uint32_t m = g->nz; m; m &= m - 1)
        t->v[__builtin_ctz(m)] += *val++;
}

ms_err ms_snapview_open(ms_snapview *v, const char *data, size_t len)
{
    view_reset(v);
    dec d;
    size_t nregions, nfields, nkeys;
    key keys[MAX_KEYS];
    if (!open_blob(data, len, &d, &nregions, &nfields, keys, &nkeys))
        return MS_ERR_PARSE;
    ms_err rc = view_reserve(v, nregions + 1);
    if (rc != MS_OK)
        return rc;
    size_t nf = 0;
    for (size_t i = 0; i < nregions; i++) {
        ms_region *r = &v->regions[i];
        uint64_t count;
        rc = MS_ERR_PARSE;
        if (!get_head(&d, r, NULL, &count) || count > nfields - nf)
            goto out;
        fig_begin(v, i);
        for (uint64_t k = 0; k < count; k++) {
            ms_smaps_field f;
            rc = MS_ERR_PARSE;
            if (!get_field(&d, keys, nkeys, &f, r) || (rc = fig_add(v, i, &f)) != MS_OK)
                goto out;
        }
        nf += count;
        v->n = i + 1;
    }
    rc = MS_ERR_PARSE;
    if (nf != nfields || d.p != d.end)
        goto out;
    ms_maps_classify(v->regions, v->n);
    rc = MS_OK;
out:
    if (rc != MS_OK)
        view_reset(v);
    return rc;
}

/* Points every path at v->paths' data: while reading, a path holds its offset there (the buffer
 * moves as it grows). */
static void paths_fix(ms_snapview *v)
{
    for (size_t i = 0; i < v->n; i++)
        v->regions[i].path = v->paths.data + (uintptr_t)v->regions[i].path;
}

ms_err ms_snapview_read(ms_snapview *v, int dirfd, uint64_t base_page)
{
    return ms_snapview_read_each(v, dirfd, base_page, NULL, NULL);
}

ms_err ms_snapview_read_each(ms_snapview *v, int dirfd, uint64_t base_page, ms_snapview_each each, void *ctx)
{
    view_reset(v);
    ms_rstream *rs = NULL;
    ms_err rc = ms_rstream_open(dirfd, "smaps", base_page, 0, &rs);
    /* The whole file is read, and a diff is asked of processes worth diffing: let the kernel print
     * it on the reader thread from the first block on, not only past the first MiB. */
    if (rc == MS_OK)
        ms_rstream_read_ahead(rs);
    /* paths are appended, each given by its offset until the end; an empty buffer has no data */
    if (rc == MS_OK)
        rc = ms_buf_reserve(&v->paths, 4096);
    while (rc == MS_OK) {
        const ms_region *g;
        const ms_smaps_field *f;
        size_t nf;
        if ((rc = ms_rstream_next(rs, &g, &f, &nf)) != MS_OK || !g)
            break;
        if ((rc = view_reserve(v, v->n + 2)) != MS_OK)
            break;
        size_t i = v->n, at = v->paths.len;
        v->regions[i] = *g;
        if ((rc = ms_buf_append(&v->paths, g->path, g->path_len)) != MS_OK)
            break;
        v->regions[i].path = (const char *)(uintptr_t)at;
        fig_begin(v, i);
        for (size_t k = 0; k < nf && rc == MS_OK; k++)
            rc = fig_add(v, i, &f[k]);
        v->n = i + 1;
        if (each && rc == MS_OK)
            each(ctx, v, i, g->path, g->path_len);
    }
    ms_rstream_close(rs);
    if (rc == MS_OK)
        paths_fix(v);
    else
        view_reset(v);
    return rc;
}
