/* diff.c - region matching between two smaps readings, and the steady-growth test. */
#include "diff.h"

#include <math.h>
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

static void add_region(ms_diff_entry *e, const ms_smaps *s, const ms_region *g, bool after)
{
    size_t nf;
    const ms_smaps_field *f = ms_smaps_fields_of(s, g, &nf);
    ms_smaps_totals_add(after ? &e->after : &e->before, f, nf);
    if (after) {
        e->size_after += g->end - g->start;
        if (e->nafter == 0 || g->start < e->start)
            e->start = g->start;
        if (e->nafter == 0 || g->end > e->end)
            e->end = g->end;
        e->nafter++;
    } else {
        e->size_before += g->end - g->start;
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

static int64_t rss_delta(const ms_diff_entry *e)
{
    return (int64_t)e->after.v[MS_SF_RSS] - (int64_t)e->before.v[MS_SF_RSS];
}

static int by_rss_change(const void *x, const void *y)
{
    int64_t a = llabs(rss_delta(x)), b = llabs(rss_delta(y));
    if (a != b)
        return a > b ? -1 : 1;
    const ms_diff_entry *ex = x, *ey = y;
    return ex->start < ey->start ? -1 : ex->start > ey->start;
}

static void classify(ms_diff_entry *e)
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

/* Joins regions of a (indices 0..na) and b (na..na+nb) that are the same mapping. */
static void match(const ms_smaps *a, const ms_smaps *b, size_t *parent, bool *moved)
{
    const ms_region *ra = a->maps.regions, *rb = b->maps.regions;
    size_t na = a->maps.nregions, nb = b->maps.nregions;
    bool *hit = calloc(na + nb + 1, sizeof *hit);
    /* Both lists are sorted and disjoint: one sweep meets every overlapping pair. */
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (ra[i].start < rb[j].end && rb[j].start < ra[i].end && same_path(&ra[i], &rb[j])) {
            uf_join(parent, i, na + j);
            if (hit) hit[i] = hit[na + j] = true;
        }
        if (ra[i].end <= rb[j].end)
            i++;
        else
            j++;
    }
    if (!hit)
        return;
    /* A file mapping that moved: same path and offset, no overlap with its old place. */
    for (size_t j = 0; j < nb; j++) {
        if (hit[na + j] || rb[j].path_len == 0 || rb[j].path[0] == '[')
            continue;
        for (size_t i = 0; i < na; i++) {
            if (!hit[i] && same_path(&ra[i], &rb[j]) && ra[i].offset == rb[j].offset) {
                uf_join(parent, i, na + j);
                hit[i] = hit[na + j] = true;
                moved[na + j] = true;
                break;
            }
        }
    }
    free(hit);
}

ms_err ms_smaps_diff(const ms_smaps *a, const ms_smaps *b, ms_diff_entry **out, size_t *n)
{
    size_t na = a->maps.nregions, nb = b->maps.nregions, total = na + nb;
    *out = NULL;
    *n = 0;
    ms_err rc = MS_OK;
    size_t *parent = malloc((total + 1) * sizeof *parent);
    size_t *slot = malloc((total + 1) * sizeof *slot);
    bool *moved = calloc(total + 1, sizeof *moved);
    ms_diff_entry *e = calloc(total + 1, sizeof *e);
    if (!parent || !slot || !moved || !e) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < total; i++)
        parent[i] = i;
    match(a, b, parent, moved);
    size_t ne = 0;
    for (size_t i = 0; i < total; i++)
        slot[i] = (size_t)-1;
    /* b first, so a piece that exists after is placed where it is now. */
    for (size_t k = 0; k < total; k++) {
        size_t idx = k < nb ? na + k : k - nb;
        size_t root = uf_find(parent, idx);
        if (slot[root] == (size_t)-1)
            slot[root] = ne++;
        ms_diff_entry *d = &e[slot[root]];
        bool after = idx >= na;
        add_region(d, after ? b : a, after ? &b->maps.regions[idx - na] : &a->maps.regions[idx], after);
        d->moved = d->moved || moved[idx];
    }
    for (size_t i = 0; i < ne; i++)
        classify(&e[i]);
    qsort(e, ne, sizeof *e, by_rss_change);
    *out = e;
    *n = ne;
    e = NULL;
out:
    free(parent);
    free(slot);
    free(moved);
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
