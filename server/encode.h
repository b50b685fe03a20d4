/* encode.h - core's structures written as the API's JSON, shared by memscoped's routes and the
 * memscope command line, so that `memscope maps 42 --json` and GET /api/v1/processes/42/maps give
 * the same bytes by construction.  Only writing lives here: reading /proc is core's, and parsing
 * requests, replying and mapping errors to statuses stay in the routes.  No HTTP, no jansson. */
#ifndef MEMSCOPE_ENCODE_H
#define MEMSCOPE_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pagemap.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/psscache.h"
#include "core/smaps.h"
#include "core/translate.h"
#include "jw.h"

/* Caps that keep one pagemap answer bounded, the same for every client (the API states each in
 * the error that enforces it). */
#define PAGEMAP_MAX_RUNS 100000
#define PAGEMAP_FRAMES_MAX 4096
#define PAGEMAP_PREAD_MAX_BYTES ((uint64_t)64 << 30)

/* uid -> user name ("1000" for a uid with no passwd entry, as seen from a container). */
void enc_user_name(uint32_t uid, char *out, size_t cap);
/* The same, remembered for one answer: a list has few distinct uids. */
typedef struct {
    uint32_t uid[32];
    char name[32][64];
    int n;
} enc_user_cache;
const char *enc_cached_user(enc_user_cache *c, uint32_t uid);

/* A process's "cgroup" and "container" members (null when unknown); "container" alone. */
void enc_cgroup(jw *w, const char *cgroup, const ms_container *c);
void enc_container(jw *w, const ms_container *c);
/* One entry of /processes. */
void enc_procinfo(jw *w, const ms_procinfo *p, const char *user);
/* The /processes document: the first n entries of l (l->n is the total), age_ms old. */
void enc_processes(jw *w, const ms_proclist *l, size_t n, uint64_t age_ms);
/* PSS and USS of the same first n processes (core/psscache.h), for /processes?fields=pss,uss. */
typedef struct {
    const ms_pss_result *res; /* NULL when none could be had: rc says why */
    const ms_pss_stats *st;
    uint64_t budget_ns;
    ms_err rc;
} enc_pss;
/* The same document, each entry with pss, uss, pss_age_ms and pss_state, then a "pss" summary
 * (pss NULL: as enc_processes). */
void enc_processes_pss(jw *w, const ms_proclist *l, size_t n, uint64_t age_ms, const enc_pss *pss);

/* The summed smaps fields, as members of the current object. */
void enc_totals(jw *w, const ms_smaps_totals *t);
/* A region's start, end, size, perms, offset, dev, inode, path, deleted and kind, as members. */
void enc_region_head(jw *w, const ms_region *g);

/* The /maps or /smaps document, made piece by piece while the file is read (see rstream.h), so it
 * costs one small buffer however many regions there are.  The stream owns dirfd from here on: it
 * is closed by enc_regions_close, or at once when the open fails.  fill appends the next part to b
 * until b->len reaches want or the document ends (*done = true); its signature is the one
 * http_reply_stream takes, as is close's. */
typedef struct enc_regions enc_regions;
ms_err enc_regions_open(int dirfd, int pid, bool smaps, uint64_t page_size, enc_regions **out);
ms_err enc_regions_fill(void *regions, ms_buf *b, size_t want, bool *done);
void enc_regions_close(void *regions);
/* /smaps?layout=rows (and /maps?layout=rows, with no field columns and vm_flags null): each region
 * an array in the order the document's "columns" and "fields" name (see encode.c); before the
 * stream's first fill. */
void enc_regions_rows(enc_regions *x);
/* Only the regions that overlap [lo, hi): the read stops at the first region past hi, and count and
 * totals are those of the regions written; before the stream's first fill. */
void enc_regions_range(enc_regions *x, uint64_t lo, uint64_t hi);
/* The rows layout's "layout" and "columns" members; a region's head as a row's first elements. */
void enc_rows_columns(jw *w);
void enc_region_row_head(jw *w, const ms_region *g);

/* The /smaps?group=path document, from figures gathered while streaming (ms_rstream_group_by_path):
 * count regions, their totals t, and, when mm is not NULL, kernel_thread and zombie from it. */
void enc_smaps_grouped(jw *w, int pid, size_t count, const ms_smaps_totals *t, const ms_mm_state *mm,
                       const ms_smaps_group *g, size_t ng);
/* path_hex with every byte of a path that is not valid UTF-8 (nothing when it is). */
void enc_path_hex(jw *w, const char *path, size_t len);
/* kernel_thread and zombie, the two states without a user address space. */
void enc_mm_flags(jw *w, ms_mm_state mm);

/* The /pagemap document.  frames: fr[0..nfr) from cursor (then next_cursor and frames_cap). */
typedef struct {
    int pid;
    uint64_t start, end, page_size;
    const ms_pm_summary *sum;
    bool runs;
    bool frames;
    const ms_pm_frame *fr;
    size_t nfr;
    uint64_t cursor;
    const ms_pm_summary *runs_of;   /* NULL: runs are sum's, over [start, end); else the runs of
                                     * the frames' span [cursor, cursor + nfr pages) */
} enc_pagemap_doc;
void enc_pagemap(jw *w, const enc_pagemap_doc *d);

/* The /translate document, and its "explain": what touching the address would do. */
void enc_translation(jw *w, int pid, uint64_t addr, const ms_translation *t);
const char *enc_translation_explain(const ms_translation *t);

#endif
