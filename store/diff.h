/* diff.h - what changed in a process's address space between two smaps readings, and whether a
 * series of figures is a steady growth (a leak) or something that only looks like one.
 *
 * Pure functions over parsed smaps and plain arrays: no I/O, so they are tested on made-up input. */
#ifndef MEMSCOPE_STORE_DIFF_H
#define MEMSCOPE_STORE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/smaps.h"

typedef enum { MS_DIFF_ADDED, MS_DIFF_REMOVED, MS_DIFF_GROWN, MS_DIFF_SHRUNK, MS_DIFF_SAME } ms_diff_change;
const char *ms_diff_change_name(ms_diff_change c);

/* One changed (or unchanged) piece of the address space: the regions of the first reading and of
 * the second that are the same mapping.  Regions with the same path that overlap are one piece
 * (a region that grew, shrank or was split or merged); a region with a path that moved without
 * overlapping keeps its match by path and offset (moved). */
typedef struct {
    uint64_t start, end;      /* the span covered, after (before, for a removed one) */
    const char *path;         /* into the smaps' buffers */
    size_t path_len;
    ms_region_kind kind;
    ms_diff_change change;
    bool moved;
    size_t nbefore, nafter;   /* regions on each side */
    uint64_t size_before, size_after;
    ms_smaps_totals before, after;
} ms_diff_entry;

/* Matches a's regions with b's; *out (owned: free()) sorted by |rss change|, largest first. */
ms_err ms_smaps_diff(const ms_smaps *a, const ms_smaps *b, ms_diff_entry **out, size_t *n);

/* The same matching over what it needs of each region, for callers that keep less than a parsed
 * smaps (an index of a stored snapshot): a side is its regions (sorted and disjoint, as smaps lists
 * them) and each one's Rss in bytes. */
typedef struct {
    const ms_region *r;
    const uint64_t *rss;
    size_t n;
} ms_diff_side;

/* s as a diff side: its regions and each one's Rss (allocated: ms_diff_side_free). */
ms_err ms_diff_side_of(const ms_smaps *s, ms_diff_side *out);
void ms_diff_side_free(ms_diff_side *d);

/* A piece as ms_diff_entry has it, with its Rss instead of every figure, and its regions:
 * members[first .. first + nbefore) index a's regions, then members[.. + nafter) b's. */
typedef struct {
    uint64_t start, end;
    const char *path;
    size_t path_len;
    ms_region_kind kind;
    ms_diff_change change;
    bool moved;
    size_t nbefore, nafter;
    uint64_t size_before, size_after;
    uint64_t rss_before, rss_after;
    size_t first;
} ms_diff_piece;

/* *out sorted as ms_smaps_diff sorts; *out and *members owned (free()). */
ms_err ms_diff_match(const ms_diff_side *a, const ms_diff_side *b, ms_diff_piece **out, size_t *n,
                     size_t **members);

/* The arrays a match works in, kept by a caller that matches again and again (a zeroed one is
 * empty), so that their pages are not faulted in afresh every time. */
typedef struct {
    size_t cap;               /* regions of both sides the arrays have room for */
    size_t *parent, *slot, *mem;
    bool *moved, *hit;
    const ms_region **left;
    ms_diff_piece *pieces, *spare;
    size_t pieces_cap, spare_cap;
    void *keys;               /* the sort's */
    size_t keys_cap;
} ms_diff_scratch;
void ms_diff_scratch_free(ms_diff_scratch *w);
size_t ms_diff_scratch_bytes(const ms_diff_scratch *w);
/* As ms_diff_match, with *out and *members in w's arrays: valid until w's next match or free. */
ms_err ms_diff_match_in(ms_diff_scratch *w, const ms_diff_side *a, const ms_diff_side *b, ms_diff_piece **out,
                        size_t *n, const size_t **members);

/* A least-squares line through (t, v) and what it says about growth. */
typedef struct {
    double slope;             /* units of v per second */
    double r2;
    double first, last;       /* the fitted line at the first and last t */
    uint64_t v_first, v_last; /* the measured figures at the ends */
    size_t n;
    bool steady;              /* a steady growth: see ms_growth_fit */
} ms_growth;

/* Fits the series (t in ms, ascending) and decides whether it grew steadily over span_ms: enough
 * points covering at least half of the span, a rising line that explains the figures well (r2),
 * a rise of at least min_rise, and every quarter of the time above the one before: a sawtooth fails
 * the fit, a process that grew once and then stayed flat fails the quarters. */
void ms_growth_fit(const int64_t *t, const uint64_t *v, size_t n, int64_t span_ms, uint64_t min_rise,
                   ms_growth *out);

#endif
