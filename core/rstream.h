/* rstream.h - /proc/<pid>/maps or smaps read as a stream of regions, one at a time.
 *
 * ms_maps_read and ms_smaps_read hold the whole file and every parsed field at once: for a
 * 10,000-region smaps that is 7 MB of text and 11 MB of fields, fresh pages the kernel must fault
 * in and zero on every request, which cost more than parsing them.  The stream reads the file in
 * blocks into one small buffer and hands out each region as soon as it can be classified, so its
 * memory is bounded by the largest region, not the file, and stays warm from one request to the
 * next.  Past its first MiB, a file is read on a thread of the stream's own, a few blocks ahead, so
 * that the kernel printing it and the caller turning it into an answer use both cores.
 *
 * What it gives is what the whole-file readers give, region for region (tests/unit/test_rstream.c
 * compares them on every fixture), with two differences that follow from not holding the file:
 *   - a torn read (see ms_maps_torn) cannot be retried: the regions that overlap the one before are
 *     dropped as they come, which is what the whole-file readers do after their retries;
 *   - hugetlb is told by a KernelPageSize above base_page, given by the caller (the system page
 *     size), instead of above the smallest one in the file. */
#ifndef MEMSCOPE_RSTREAM_H
#define MEMSCOPE_RSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "maps.h"
#include "smaps.h"

typedef struct ms_rstream ms_rstream;

/* Opens <dirfd>/name, name being "maps" or "smaps".  The first block is read here, so a process
 * that is gone or a file the kernel refuses fails now (MS_ERR_NOENT, MS_ERR_PERM), before a caller
 * has promised anything.  block is the buffer size (0: the default, 32 KiB); the buffer grows past it
 * only for a region larger than a block.  dirfd is borrowed: it must stay open until close. */
ms_err ms_rstream_open(int dirfd, const char *name, uint64_t base_page, size_t block,
                       ms_rstream **out);

/* The next region: MS_OK with *r set, or MS_OK with *r == NULL at the end.  For smaps, *f and *nf
 * are its fields (for maps, NULL and 0).  Everything handed out stays valid until the next call.
 * MS_ERR_NOENT when the process exited while being read (the kernel ends the file early), and
 * MS_ERR_PARSE, MS_ERR_TOOBIG, MS_ERR_IO as the whole-file readers give them. */
ms_err ms_rstream_next(ms_rstream *s, const ms_region **r, const ms_smaps_field **f, size_t *nf);
/* The VmFlags of the region handed out last (*len bytes), valid as long as it is; NULL when the
 * kernel printed none for it, and always for maps. */
const char *ms_rstream_vmflags(const ms_rstream *s, size_t *len);

/* Regions handed out so far, and torn ones dropped. */
size_t ms_rstream_count(const ms_rstream *s);
size_t ms_rstream_dropped(const ms_rstream *s);

/* For maps: the end address of the last complete line read so far, which bounds every region the
 * stream will hand out before it reads more (lines come in address order); 0 when no complete line
 * is held or for smaps.  Lets a caller prepare per-address work a block of regions at a time. */
uint64_t ms_rstream_horizon(const ms_rstream *s);

/* Whether the stream has handed its file to a reader thread (after RS_AHEAD_AFTER, 1 MiB, read
 * itself), so the kernel's printing of the file and the caller's work on it overlap. */
bool ms_rstream_reading_ahead(const ms_rstream *s);

/* Hands the rest of the file to the reader thread now rather than after RS_AHEAD_AFTER, for a
 * caller that expects a large file and reads it to the end doing little per region (a diff of a
 * whole process): such a caller outruns the kernel, so when it finds nothing read it waits for
 * half the read-ahead slots rather than being woken for each.  On a small file that costs a
 * thread's start; failing to start one, the stream reads on itself. */
void ms_rstream_read_ahead(ms_rstream *s);

/* Work done on each block the reader thread reads, beside the stream's own: for a caller whose
 * per-region work includes a system call that touches the same kernel objects as the file's
 * printing (a page-table scan of the regions just listed), done right after the printing on the
 * same core, where they are still in its cache.
 *   - on_read(ctx, slot, text, len) runs on the reader thread when a block has been read into read-ahead
 *     slot `slot` (0 .. MS_RSTREAM_SLOTS - 1): text is the file's next len bytes, which may start
 *     and end in the middle of a line;
 *   - on_take(ctx, slot) runs on the caller's thread, inside ms_rstream_next, when that block is
 *     taken, before any of its regions is handed out; an error ends the stream with it.
 * What a hook keeps per slot has the slot's owner: the reader thread's from the moment it starts
 * filling the slot until on_read returns, the caller's from on_take until the next on_read of that
 * slot (the stream makes sure the two never overlap).  ctx must outlive the stream. */
#define MS_RSTREAM_SLOTS 4
typedef struct {
    void (*on_read)(void *ctx, size_t slot, const char *text, size_t len);
    ms_err (*on_take)(void *ctx, size_t slot);
    void *ctx;
} ms_rstream_hook;

/* Sets the hook; only before the stream reads ahead (false, and nothing set, after). */
bool ms_rstream_set_hook(ms_rstream *s, const ms_rstream_hook *h);

/* Closes the file (not dirfd) and frees everything; NULL is a no-op. */
void ms_rstream_close(ms_rstream *s);

/* <dirfd>/smaps grouped by path as it streams (ms_smaps_grouper, paths copied): memory follows
 * the distinct paths, not the regions.  *count is the number of regions, *t their totals.  On
 * success the caller frees *out with ms_smaps_grouper_free; on error *out is NULL. */
ms_err ms_rstream_group_by_path(int dirfd, uint64_t base_page, ms_smaps_grouper **out, size_t *count,
                                ms_smaps_totals *t);

#endif
