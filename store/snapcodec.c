/* snapcodec.c - encoding a parsed smaps to the store's binary snapshot form and back (the layout
 * is in snapcodec.h).  The decoder trusts nothing in the blob: every length is checked against
 * what is left, and counts are checked against the blob's size before anything is allocated. */
#include "snapcodec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "MSB1"
#define MAGIC_LEN 4
#define MAX_KEYS 256              /* distinct field keys in one smaps: the kernel prints ~27 */

enum { F_BYTES = 1, F_NUMBER = 2, F_KIB = 4, F_SHIFT = 3 };
enum { R_DELETED = 1 };

/* ---- encoding ---- */

typedef struct {
    ms_buf *b;
    ms_err rc;
} enc;

static void put(enc *e, const void *p, size_t n)
{
    if (e->rc == MS_OK)
        e->rc = ms_buf_append(e->b, p, n);
}

static void put_uv(enc *e, uint64_t v)
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

static void put_str(enc *e, const char *p, size_t n)
{
    put_uv(e, n);
    put(e, p, n);
}

/* The index of the key name in keys (adding it), or -1 past MAX_KEYS. */
static int key_index(const ms_smaps_field **keys, size_t *nkeys, const ms_smaps_field *f)
{
    for (size_t i = 0; i < *nkeys; i++)
        if (keys[i]->name_len == f->name_len && memcmp(keys[i]->name, f->name, f->name_len) == 0)
            return (int)i;
    if (*nkeys == MAX_KEYS)
        return -1;
    keys[*nkeys] = f;
    return (int)(*nkeys)++;
}

ms_err ms_snapcodec_encode(const ms_smaps *s, ms_buf *out)
{
    enc e = {out, MS_OK};
    const ms_smaps_field *keys[MAX_KEYS];
    size_t nkeys = 0;
    /* Each region's fields come in the kernel's order, the same in every region: remembering the
     * key index at each position makes the lookup a compare in the usual case. */
    int *idx = malloc((s->nfields + 1) * sizeof *idx);
    if (!idx)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < s->nfields; i++) {
        const ms_smaps_field *f = &s->fields[i];
        int guess = i > 0 && idx[i - 1] + 1 < (int)nkeys ? idx[i - 1] + 1 : 0;
        if (nkeys && keys[guess]->name_len == f->name_len &&
            memcmp(keys[guess]->name, f->name, f->name_len) == 0)
            idx[i] = guess;
        else if ((idx[i] = key_index(keys, &nkeys, f)) < 0) {
            free(idx);
            return MS_ERR_TOOBIG;
        }
    }
    put(&e, MAGIC, MAGIC_LEN);
    put_uv(&e, s->maps.nregions);
    put_uv(&e, s->nfields);
    put_uv(&e, nkeys);
    for (size_t k = 0; k < nkeys; k++)
        put_str(&e, keys[k]->name, keys[k]->name_len);
    for (size_t i = 0; i < s->maps.nregions && e.rc == MS_OK; i++) {
        const ms_region *r = &s->maps.regions[i];
        const ms_smaps_extra *x = &s->extra[i];
        put_uv(&e, r->start);
        put_uv(&e, r->end - r->start);
        put_uv(&e, r->offset);
        put_uv(&e, r->inode);
        put_uv(&e, r->dev_major);
        put_uv(&e, r->dev_minor);
        put(&e, r->perms, 4);
        unsigned char flags = r->deleted ? R_DELETED : 0;
        put(&e, &flags, 1);
        put_str(&e, r->path, r->path_len);
        if (x->vmflags) {
            put_uv(&e, x->vmflags_len + 1);
            put(&e, x->vmflags, x->vmflags_len);
        } else {
            put_uv(&e, 0);
        }
        put_uv(&e, x->field_count);
        for (size_t k = x->field_first; k < (size_t)x->field_first + x->field_count; k++) {
            const ms_smaps_field *f = &s->fields[k];
            bool kib = f->is_number && f->is_bytes && (f->value & 1023) == 0;
            put_uv(&e, (uint64_t)idx[k] << F_SHIFT | (kib ? F_KIB : 0) | (f->is_number ? F_NUMBER : 0) |
                           (f->is_bytes ? F_BYTES : 0));
            if (f->is_number)
                put_uv(&e, kib ? f->value >> 10 : f->value);
            else
                put_str(&e, f->raw, f->raw_len);
        }
    }
    free(idx);
    return e.rc;
}

bool ms_snapcodec_is_binary(const char *p, size_t len)
{
    return len >= MAGIC_LEN && memcmp(p, MAGIC, MAGIC_LEN) == 0;
}

/* ---- decoding ---- */

typedef struct {
    const unsigned char *p, *end;
    bool bad;
} dec;

static uint64_t get_uv(dec *d)
{
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

ms_err ms_snapcodec_decode(ms_smaps *s)
{
    ms_err rc = MS_ERR_PARSE;
    ms_maps *m = &s->maps;
    m->nregions = 0;
    s->nfields = 0;
    if (!m->buf.data || !ms_snapcodec_is_binary(m->buf.data, m->buf.len))
        return MS_ERR_PARSE;
    dec d = {(const unsigned char *)m->buf.data + MAGIC_LEN, (const unsigned char *)m->buf.data + m->buf.len, false};
    uint64_t nregions = get_uv(&d), nfields = get_uv(&d), nkeys = get_uv(&d);
    size_t left = (size_t)(d.end - d.p);
    /* A region takes at least 14 bytes, a field at least 2: counts beyond that are a bad blob. */
    if (d.bad || nregions > left / 14 || nfields > left / 2 || nkeys > MAX_KEYS)
        return MS_ERR_PARSE;
    struct { const char *name; uint32_t len; int16_t id; } keys[MAX_KEYS];
    for (uint64_t k = 0; k < nkeys; k++) {
        uint64_t len = get_uv(&d);
        keys[k].name = get_bytes(&d, len);
        if (d.bad || len > UINT32_MAX)
            return MS_ERR_PARSE;
        keys[k].len = (uint32_t)len;
        keys[k].id = (int16_t)ms_smaps_field_lookup(keys[k].name, keys[k].len);
    }
    if ((nregions > m->cap || nregions > s->extra_cap) && nregions) {
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
        memset(r, 0, sizeof *r);
        r->start = get_uv(&d);
        uint64_t size = get_uv(&d);
        r->end = r->start + size;
        r->offset = get_uv(&d);
        r->inode = get_uv(&d);
        uint64_t maj = get_uv(&d), min = get_uv(&d);
        const char *perms = get_bytes(&d, 4), *flags = get_bytes(&d, 1);
        uint64_t plen = get_uv(&d);
        r->path = get_bytes(&d, plen);
        uint64_t vlen = get_uv(&d);
        x->vmflags = vlen ? get_bytes(&d, vlen - 1) : NULL;
        x->vmflags_len = vlen ? (size_t)(vlen - 1) : 0;
        uint64_t count = get_uv(&d);
        if (d.bad || r->end < r->start || maj > UINT32_MAX || min > UINT32_MAX || count > nfields - nf)
            goto out;
        r->dev_major = (uint32_t)maj;
        r->dev_minor = (uint32_t)min;
        memcpy(r->perms, perms, 4);
        r->perms[4] = '\0';
        r->deleted = (*flags & R_DELETED) != 0;
        r->path_len = (size_t)plen;
        x->field_first = (uint32_t)nf;
        x->field_count = (uint32_t)count;
        for (uint64_t k = 0; k < count; k++) {
            ms_smaps_field *f = &s->fields[nf++];
            uint64_t tag = get_uv(&d), key = tag >> F_SHIFT;
            if (d.bad || key >= nkeys)
                goto out;
            f->name = keys[key].name;
            f->name_len = keys[key].len;
            f->id = keys[key].id;
            f->is_bytes = (tag & F_BYTES) != 0;
            f->is_number = (tag & F_NUMBER) != 0;
            f->raw = NULL;
            f->raw_len = 0;
            f->value = 0;
            if (f->is_number) {
                uint64_t v = get_uv(&d);
                if ((tag & F_KIB) && v > UINT64_MAX >> 10)
                    goto out;
                f->value = tag & F_KIB ? v << 10 : v;
            } else {
                uint64_t len = get_uv(&d);
                f->raw = get_bytes(&d, len);
                if (len > UINT32_MAX)
                    goto out;
                f->raw_len = (uint32_t)len;
            }
            if (d.bad)
                goto out;
            if (f->id == MS_SF_KERNEL_PAGE_SIZE && f->is_number)
                r->kernel_page_size = f->value;
        }
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
