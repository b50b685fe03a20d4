/* diffwork.h - the memory one diff is computed in, kept from one diff to the next.
 *
 * A diff of a 10,000-region process needs some 5 MB at once: a stored snapshot's blob, the index
 * of each end, the match's arrays.  memscoped hands every block that large to the kernel when it is
 * freed (fixed malloc thresholds, and a trim after each request), so allocated afresh each time,
 * every page of it is a page fault, about 1,300 per request and in a virtual machine ~20 us each:
 * more than the diff's own work.  A workspace keeps those buffers, and a pool keeps a few
 * workspaces between diffs.
 *
 * Who may use what:
 *   - a workspace belongs to exactly one caller from ms_diffpool_take to ms_diffpool_give; only that
 *     caller touches it (from whichever thread it runs on, one at a time; the caller may lend one
 *     end to a helper thread as long as it joins it before using that end or giving it back);
 *   - a workspace given back belongs to the pool, which frees it: at once when the pool already
 *     keeps MS_DIFFPOOL_KEEP of them or it holds more than the pool's byte cap, after idle_ms
 *     without use (a thread of the pool's own waits for that), and at ms_diffpool_free.
 * So memscoped's memory only stays up while diffs are being asked for. */
#ifndef MEMSCOPE_STORE_DIFFWORK_H
#define MEMSCOPE_STORE_DIFFWORK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "diff.h"
#include "snapcodec.h"

#define MS_DIFFPOOL_KEEP 2    /* as many as diffs usually run at once: one per server thread */

/* One end of a diff: its blob in the store's binary form and the index read from it. */
typedef struct {
    ms_buf blob;
    ms_snapview v;
} ms_diffend;

typedef struct {
    ms_diffend a, b;
    ms_diff_scratch match;
    /* Text a caller makes for end b's regions as they are read (region i's is
     * text[text_at[i], text_at[i + 1])), kept warm like the rest. */
    ms_buf text;
    size_t *text_at;
    size_t text_cap;          /* entries text_at has room for */
} ms_diffwork;

void ms_diffwork_init(ms_diffwork *w);
void ms_diffwork_free(ms_diffwork *w);
/* The bytes its buffers hold. */
size_t ms_diffwork_bytes(const ms_diffwork *w);

typedef struct ms_diffpool ms_diffpool;

typedef struct {
    size_t kept;              /* workspaces waiting in the pool */
    size_t kept_bytes;        /* what they hold */
    uint64_t made;            /* workspaces created since the pool was */
    uint64_t reused;          /* takes answered with a kept one */
    uint64_t released;        /* kept ones freed for being idle (or over the cap) */
} ms_diffpool_stats;

/* max_bytes: a workspace holding more is freed when given back rather than kept. */
ms_err ms_diffpool_new(size_t max_bytes, unsigned idle_ms, ms_diffpool **out);
/* Frees every kept workspace and stops the pool's thread; none may be out.  NULL is a no-op. */
void ms_diffpool_free(ms_diffpool **p);
/* A workspace for one diff: the one given back last if the pool keeps any, else a new one; NULL
 * when out of memory (or p is NULL). */
ms_diffwork *ms_diffpool_take(ms_diffpool *p);
/* Gives w back (NULL is a no-op); the caller must not touch it again. */
void ms_diffpool_give(ms_diffpool *p, ms_diffwork *w);
void ms_diffpool_stats_get(ms_diffpool *p, ms_diffpool_stats *st);

#endif
