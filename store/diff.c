/* diff.c - region matching between two smaps readings, and the steady-growth test. */
#include "diff.h"

#include "core/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *ms_diff_change_name(ms_diff_change c)
{
    switch (c) {
    case MS_DIFF_ADDED: return "added";
    case MS_DIFF_REMOVED: return "removed";
    case MS_DIFF_GROWN: return "grown";
    case MS_DIFF_SHRUNK: return "shrunk";
    case MS_DIFF_SAME: return "same";
    }
    return "?";
}

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void uf_join(size_t *parent, size_t x, size_t y)
{
    x = uf_find(parent, x);
    y = uf_find(parent, y);
    if (x != y)
        parent[x > y ? x : y] = x < y ? x : y;
}

static bool same_path(const ms_region *x, const ms_region *y)
{
    return x->path_len == y->path_len && memcmp(x->path, y->path, x->path_len) == 0;
}

/* Adds region g (of the side after, or before) to piece e. */
static void add_region(ms_diff_piece *e, const ms_region *g, uint64_t rss, bool after)
{
    if (after) {
        e->size_after += g->end - g->start;
        e->rss_after += rss;
        if (e->nafter == 0 || g->start < e->start)
            e->start = g->start;
        if (e->nafter == 0 || g->end > e->end)
            e->end = g->end;
        e->nafter++;
    } else {
        e->size_before += g->end - g->start;
        e->rss_before += rss;
        if (e->nafter == 0) {         /* a removed piece spans its before regions */
            if (e->nbefore == 0 || g->start < e->start)
                e->start = g->start;
            if (e->nbefore == 0 || g->end > e->end)
                e->end = g->end;
        }
        e->nbefore++;
    }
    if (!e->path) {
        e->path = g->path;
        e->path_len = g->path_len;
        e->kind = g->kind;
    }
}

static int64_t rss_delta(const ms_diff_piece *e)
{
    return (int64_t)e->rss_after - (int64_t)e->rss_before;
}

/* The order of the answer: largest |rss change| first, then by address (then as numbered, so the
 * order is always the same).  Pieces are sorted by these keys, not moved about themselves (a piece
 * is 13 words), in w's arrays: qsort would allocate (and the kernel zero) a megabyte every time. */
typedef struct {
    uint64_t absd, start;
    size_t idx;
} sort_key;

static bool key_before(const sort_key *x, const sort_key *y)
{
    if (x->absd != y->absd)
        return x->absd > y->absd;
    if (x->start != y->start)
        return x->start < y->start;
    return x->idx < y->idx;
}

/* Bottom-up merge sort of k[0, n) with tmp (as long): returns which of the two ends up sorted. */
static sort_key *merge_sort(sort_key *k, sort_key *tmp, size_t n)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = key_before(&k[j], &k[i]) ? k[j++] : k[i++];
            while (i < mid)
                tmp[o++] = k[i++];
            while (j < hi)
                tmp[o++] = k[j++];
        }
        sort_key *t = k;
        k = tmp;
        tmp = t;
    }
    return k;
}

static void classify(ms_diff_piece *e)
{
    int64_t d = rss_delta(e);
    if (!e->nbefore)
        e->change = MS_DIFF_ADDED;
    else if (!e->nafter)
        e->change = MS_DIFF_REMOVED;
    else if (d > 0 || (d == 0 && e->size_after > e->size_before))
        e->change = MS_DIFF_GROWN;
    else if (d < 0 || (d == 0 && e->size_after < e->size_before))
        e->change = MS_DIFF_SHRUNK;
    else
        e->change = MS_DIFF_SAME;
}

/* A file mapping of the side before that no overlap matched, ordered by path and offset so that
 * one that moved is found by a binary search. */
static int by_path_offset(const void *x, const void *y)
{
    const ms_region *a = *(const ms_region *const *)x, *b = *(const ms_region *const *)y;
    size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
    int c = memcmp(a->path, b->path, n);
    if (c)
        return c;
    if (a->path_len != b->path_len)
        return a->path_len < b->path_len ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a < b ? -1 : a > b;        /* the earlier region first */
}

static bool movable(const ms_region *r)
{
    return r->path_len > 0 && r->path[0] != '[';
}

/* Joins regions of a (indices 0..na) and b (na..na+nb) that are the same mapping: overlapping with
 * the same path in one sweep, then a file mapping that moved (same path and offset, no overlap
 * with its old place) by a search among a's unmatched ones: O(n log n) in all.  w's arrays have
 * room for both sides; parent is set up, moved and hit cleared. */
static void match(ms_diff_scratch *w, const ms_diff_side *a, const ms_diff_side *b)
{
    const ms_region *ra = a->r, *rb = b->r;
    size_t na = a->n, nb = b->n, *parent = w->parent;
    bool *hit = w->hit, *moved = w->moved;
    const ms_region **left = w->left;
    /* Both lists are sorted and disjoint: one sweep meets every overlapping pair. */
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (ra[i].start < rb[j].end && rb[j].start < ra[i].end && same_path(&ra[i], &rb[j])) {
            uf_join(parent, i, na + j);
            hit[i] = hit[na + j] = true;
        }
        if (ra[i].end <= rb[j].end)
            i++;
        else
            j++;
    }
    size_t nl = 0;
    for (size_t i = 0; i < na; i++)
        if (!hit[i] && movable(&ra[i]))
            left[nl++] = &ra[i];
    qsort(left, nl, sizeof *left, by_path_offset);
    for (size_t j = 0; j < nb && nl; j++) {
        if (hit[na + j] || !movable(&rb[j]))
            continue;
        /* the first of a's unmatched regions with this path and offset that is still free */
        size_t lo = 0, hi = nl;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const ms_region *key = &rb[j];
            const ms_region *m = left[mid];
            size_t n = m->path_len < key->path_len ? m->path_len : key->path_len;
            int c = memcmp(m->path, key->path, n);
            if (!c && m->path_len != key->path_len)
                c = m->path_len < key->path_len ? -1 : 1;
            if (!c && m->offset != key->offset)
                c = m->offset < key->offset ? -1 : 1;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < nl && same_path(left[lo], &rb[j]) && left[lo]->offset == rb[j].offset; lo++) {
            size_t i = (size_t)(left[lo] - ra);
            if (!hit[i]) {
                uf_join(parent, i, na + j);
                hit[i] = hit[na + j] = true;
                moved[na + j] = true;
                break;
            }
        }
    }
}

void ms_diff_scratch_free(ms_diff_scratch *w)
{
    free(w->parent);
    free(w->slot);
    free(w->mem);
    free(w->moved);
    free(w->hit);
    free(w->left);
    free(w->pieces);
    free(w->spare);
    free(w->keys);
    memset(w, 0, sizeof *w);
}

size_t ms_diff_scratch_bytes(const ms_diff_scratch *w)
{
    return w->cap * (3 * sizeof(size_t) + 2 * sizeof(bool) + sizeof(const ms_region *)) +
           w->keys_cap * sizeof(sort_key) + (w->pieces_cap + w->spare_cap) * sizeof(ms_diff_piece);
}

/* Room for n regions on both sides in all of w's arrays but the pieces (the sort's keys: twice). */
static ms_err scratch_reserve(ms_diff_scratch *w, size_t n)
{
    void **const arrays[] = {(void **)&w->parent, (void **)&w->slot, (void **)&w->mem,
                             (void **)&w->moved,  (void **)&w->hit,  (void **)&w->left};
    const size_t elem[] = {sizeof *w->parent, sizeof *w->slot, sizeof *w->mem,
                           sizeof *w->moved,  sizeof *w->hit,  sizeof *w->left};
    ms_err rc = ms_grow_many(arrays, elem, 6, &w->cap, n, 64);
    if (rc == MS_OK)
        rc = ms_grow(&w->keys, &w->keys_cap, 2 * n, sizeof(sort_key), 128, 0);
    return rc;
}

ms_err ms_diff_match_in(ms_diff_scratch *w, const ms_diff_side *a, const ms_diff_side *b, ms_diff_piece **out,
                        size_t *n, const size_t **members)
{
    size_t na = a->n, nb = b->n, total = na + nb;
    *out = NULL;
    *n = 0;
    *members = NULL;
    ms_err rc = scratch_reserve(w, total + 1);
    if (rc != MS_OK)
        return rc;
    size_t *parent = w->parent, *slot = w->slot, *mem = w->mem;
    bool *moved = w->moved;
    for (size_t i = 0; i < total; i++)
        parent[i] = i;
    memset(moved, 0, total * sizeof *moved);
    memset(w->hit, 0, total * sizeof *w->hit);
    match(w, a, b);
    /* Number the pieces (b first, so a piece that exists after is placed where it is now), then
     * make them, exactly as many as there are. */
    size_t ne = 0;
    for (size_t i = 0; i < total; i++)
        slot[i] = (size_t)-1;
    for (size_t k = 0; k < total; k++) {
        size_t root = uf_find(parent, k < nb ? na + k : k - nb);
        if (slot[root] == (size_t)-1)
            slot[root] = ne++;
    }
    if ((rc = ms_grow((void **)&w->pieces, &w->pieces_cap, ne + 1, sizeof *w->pieces, 64, 0)) != MS_OK)
        return rc;
    ms_diff_piece *e = w->pieces;
    memset(e, 0, ne * sizeof *e);
    for (size_t k = 0; k < total; k++) {
        size_t idx = k < nb ? na + k : k - nb;
        ms_diff_piece *d = &e[slot[uf_find(parent, idx)]];
        bool after = idx >= na;
        add_region(d, after ? &b->r[idx - na] : &a->r[idx], after ? b->rss[idx - na] : a->rss[idx], after);
        d->moved = d->moved || moved[idx];
    }
    /* Each piece's regions, before's then after's, each in address order. */
    size_t at = 0;
    for (size_t s = 0; s < ne; s++) {
        e[s].first = at;
        at += e[s].nbefore + e[s].nafter;
        e[s].nbefore = e[s].nafter = 0;       /* counted again as the members are placed */
    }
    for (size_t idx = 0; idx < na; idx++) {
        ms_diff_piece *d = &e[slot[uf_find(parent, idx)]];
        mem[d->first + d->nbefore++] = idx;
    }
    for (size_t idx = na; idx < total; idx++) {
        ms_diff_piece *d = &e[slot[uf_find(parent, idx)]];
        mem[d->first + d->nbefore + d->nafter++] = idx - na;
    }
    sort_key *k = w->keys;
    for (size_t i = 0; i < ne; i++) {
        classify(&e[i]);
        int64_t d = rss_delta(&e[i]);
        k[i] = (sort_key){d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d, e[i].start, i};
    }
    k = merge_sort(k, k + ne, ne);
    if ((rc = ms_grow((void **)&w->spare, &w->spare_cap, ne + 1, sizeof *w->spare, 64, 0)) != MS_OK)
        return rc;
    for (size_t i = 0; i < ne; i++)
        w->spare[i] = e[k[i].idx];
    /* the sorted ones become the pieces, the others the spare for next time */
    w->pieces = w->spare;
    w->spare = e;
    size_t c = w->pieces_cap;
    w->pieces_cap = w->spare_cap;
    w->spare_cap = c;
    e = w->pieces;
    *out = e;
    *n = ne;
    *members = mem;
    return MS_OK;
}

ms_err ms_diff_match(const ms_diff_side *a, const ms_diff_side *b, ms_diff_piece **out, size_t *n,
                     size_t **members)
{
    ms_diff_scratch w;
    memset(&w, 0, sizeof w);
    const size_t *mem;
    ms_err rc = ms_diff_match_in(&w, a, b, out, n, &mem);
    if (rc == MS_OK) {          /* the caller owns the two it was given */
        *members = w.mem;
        w.mem = NULL;
        w.pieces = NULL;
    }
    ms_diff_scratch_free(&w);
    return rc;
}

ms_err ms_diff_side_of(const ms_smaps *s, ms_diff_side *out)
{
    uint64_t *rss = calloc(s->maps.nregions + 1, sizeof *rss);
    *out = (ms_diff_side){s->maps.regions, rss, s->maps.nregions};
    for (size_t i = 0; rss && i < s->maps.nregions; i++) {
        size_t nf;
        const ms_smaps_field *f = ms_smaps_fields_of(s, &s->maps.regions[i], &nf);
        for (size_t k = 0; k < nf; k++)
            if (f[k].id == MS_SF_RSS && f[k].is_bytes)
                rss[i] += f[k].value;
    }
    return rss ? MS_OK : MS_ERR_NOMEM;
}

void ms_diff_side_free(ms_diff_side *d)
{
    free((void *)d->rss);
    d->rss = NULL;
}

ms_err ms_smaps_diff(const ms_smaps *a, const ms_smaps *b, ms_diff_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ms_diff_piece *p = NULL;
    size_t *mem = NULL, np = 0;
    ms_diff_entry *e = NULL;
    ms_diff_side sa, sb;
    ms_err rc = ms_diff_side_of(a, &sa), rb = ms_diff_side_of(b, &sb);
    if (rc == MS_OK)
        rc = rb;
    if (rc != MS_OK || (rc = ms_diff_match(&sa, &sb, &p, &np, &mem)) != MS_OK)
        goto out;
    rc = MS_ERR_NOMEM;
    if (!(e = calloc(np + 1, sizeof *e)))
        goto out;
    for (size_t i = 0; i < np; i++) {
        const ms_diff_piece *q = &p[i];
        e[i] = (ms_diff_entry){.start = q->start, .end = q->end, .path = q->path, .path_len = q->path_len,
                               .kind = q->kind, .change = q->change, .moved = q->moved, .nbefore = q->nbefore,
                               .nafter = q->nafter, .size_before = q->size_before, .size_after = q->size_after};
        for (size_t k = 0; k < q->nbefore + q->nafter; k++) {
            bool after = k >= q->nbefore;
            const ms_smaps *s = after ? b : a;
            size_t nf;
            const ms_smaps_field *f = ms_smaps_fields_of(s, &s->maps.regions[mem[q->first + k]], &nf);
            ms_smaps_totals_add(after ? &e[i].after : &e[i].before, f, nf);
        }
    }
    *out = e;
    *n = np;
    e = NULL;
    rc = MS_OK;
out:
    ms_diff_side_free(&sa);
    ms_diff_side_free(&sb);
    free(p);
    free(mem);
    free(e);
    return rc;
}

void ms_growth_fit(const int64_t *t, const uint64_t *v, size_t n, int64_t span_ms, uint64_t min_rise,
                   ms_growth *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n < 8)
        return;
    double st = 0, sv = 0, stt = 0, stv = 0, svv = 0;
    double t0 = (double)t[0];
    for (size_t i = 0; i < n; i++) {
        double x = ((double)t[i] - t0) / 1000.0, y = (double)v[i];
        st += x;
        sv += y;
        stt += x * x;
        stv += x * y;
        svv += y * y;
    }
    double dn = (double)n, vt = stt - st * st / dn, vv = svv - sv * sv / dn, cv = stv - st * sv / dn;
    if (vt <= 0)
        return;
    out->slope = cv / vt;
    out->r2 = vv > 0 ? cv * cv / (vt * vv) : 0;
    double icpt = (sv - out->slope * st) / dn, dur = ((double)t[n - 1] - t0) / 1000.0;
    out->first = icpt;
    out->last = icpt + out->slope * dur;
    out->v_first = v[0];
    out->v_last = v[n - 1];
    if (out->slope <= 0 || out->r2 < 0.9 || (t[n - 1] - t[0]) * 2 < span_ms ||
        out->last - out->first < (double)min_rise)
        return;
    /* Every quarter of the time must sit above the one before by a good part of what the line
     * says it should: a step followed by flat quarters is not a leak. */
    double qmean[4] = {0}, qn[4] = {0};
    for (size_t i = 0; i < n; i++) {
        int q = (int)(((double)t[i] - t0) / 1000.0 / dur * 4);
        q = q > 3 ? 3 : q;
        qmean[q] += (double)v[i];
        qn[q]++;
    }
    for (int q = 0; q < 4; q++) {
        if (qn[q] == 0)
            return;
        qmean[q] /= qn[q];
    }
    double expect = out->slope * dur / 4;
    for (int q = 1; q < 4; q++)
        if (qmean[q] - qmean[q - 1] < expect / 3)
            return;
    out->steady = true;
}
