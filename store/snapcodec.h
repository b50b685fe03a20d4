/* snapcodec.h - a parsed smaps in a compact binary form, for the store's snapshots and the diff.
 *
 * A snapshot is read back far more often than it is taken (every diff loads one or two), and the
 * smaps text it came from is ~1.2 kB per region, most of it padding and key names.  The binary form
 * keeps every region and field exactly (the numbers as integers, each key name once, any value
 * that is not a number as its text), so loading is a blob read and a decode, not a text parse.  It
 * is written a region at a time, and read either whole (ms_snapcodec_decode: an ms_smaps) or as an
 * index (ms_snapview: each region's head, Rss and figures), which is all a diff needs and a
 * fraction of the memory; the live end of a diff is read into the same index straight from smaps.
 *
 * Layout (integers are LEB128 varints unless sized; sized ones little-endian):
 *   "MSB1"  u32 nregions  u32 nfields  u64 key_table_offset
 *   per region: start  size  offset  inode  dev_major  dev_minor  perms[4]  flags(1 byte: deleted)
 *               path_len path  vmflags_len+1 (0: none) vmflags  field_count
 *     per field: tag = key << 3 | in_kib << 2 | is_number << 1 | is_bytes, then the value (in kB
 *                when in_kib) if is_number, else raw_len raw
 *   key table (at key_table_offset, to the end): nkeys  { key_len key }*nkeys */
#ifndef MEMSCOPE_STORE_SNAPCODEC_H
#define MEMSCOPE_STORE_SNAPCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/smaps.h"

#define MS_SNAPCODEC_MAX_KEYS 256   /* distinct field keys in one smaps: the kernel prints ~27 */

/* Writing, a region at a time: begin, region for each, end.  Errors are kept and given by end. */
typedef struct {
    ms_buf *out;
    size_t head;              /* where the header starts in out */
    size_t nregions, nfields;
    ms_buf names;             /* the key table's names, copied (a region's text need not outlive it) */
    uint32_t name_off[MS_SNAPCODEC_MAX_KEYS], name_len[MS_SNAPCODEC_MAX_KEYS];
    size_t nkeys;
    ms_err rc;
} ms_snapenc;
void ms_snapenc_begin(ms_snapenc *e, ms_buf *out);
void ms_snapenc_region(ms_snapenc *e, const ms_region *r, const ms_smaps_field *f, size_t nf,
                       const char *vmflags, size_t vmflags_len);
/* Finishes the blob (or, on error, leaves out as it was before begin); frees what e holds. */
ms_err ms_snapenc_end(ms_snapenc *e);

/* Appends s in the binary form to out. */
ms_err ms_snapcodec_encode(const ms_smaps *s, ms_buf *out);
/* Whether the len bytes at p are in the binary form (rather than smaps text). */
bool ms_snapcodec_is_binary(const char *p, size_t len);
/* Decodes the binary form already in s->maps.buf into s (regions, fields and paths point into that
 * buffer, as after ms_smaps_parse).  MS_ERR_PARSE for a blob that is cut or inconsistent. */
ms_err ms_snapcodec_decode(ms_smaps *s);

typedef struct {
    const char *name;         /* into the blob */
    uint32_t len;
    int16_t id;               /* ms_smaps_field_id */
} ms_snapkey;

/* A reading of smaps as a diff needs it: every region's head and Rss, and its figures (the fields
 * totals sum), each decoded once, as it is read.  Made from a blob (ms_snapview_open: paths point
 * into the blob, which the view borrows and must outlive it, and the whole blob is checked as
 * ms_snapcodec_decode checks it) or straight from a process's smaps as it streams by
 * (ms_snapview_read: no blob, no text held; paths copied into the view).  Its arrays are kept from
 * one reading to the next (until ms_snapview_free), so a view read again and again does not fault
 * in fresh pages each time. */
typedef struct {
    uint32_t seen;            /* bit id: the region has field id (in bytes, summed) */
    uint32_t nz;              /* bit id: ... and it is not 0; the values follow in id order */
    size_t at;                /* where those values start in vals */
} ms_snapfig;

typedef struct {
    size_t n;
    size_t cap;               /* regions the arrays below have room for */
    ms_region *regions;       /* n of them */
    uint64_t *rss;            /* each region's Rss in bytes (0 if it has none) */
    ms_snapfig *figs;         /* each region's figures */
    uint64_t *vals;           /* the figures' values that are not 0 */
    size_t nvals, vals_cap;
    ms_buf paths;             /* the paths of a view read from smaps */
    uint32_t summed;          /* bit id: totals sum field id (ms_smaps_field_summed) */
    ms_smaps_totals total;    /* over every region */
} ms_snapview;
/* v is zeroed or was read before. */
ms_err ms_snapview_open(ms_snapview *v, const char *data, size_t len);
/* Reads <dirfd>/smaps into v as a stream (ms_rstream: no whole file, no field array held);
 * base_page as ms_rstream_open takes it, errors as ms_rstream gives them (v is then empty). */
ms_err ms_snapview_read(ms_snapview *v, int dirfd, uint64_t base_page);
/* As ms_snapview_read, calling each(ctx, v, i, path, path_len) as soon as region i is in v (while
 * reading, v's regions do not point at their paths yet: its path is given apart), so that a caller
 * can work on each region while the kernel prints the next ones. */
typedef void (*ms_snapview_each)(void *ctx, const ms_snapview *v, size_t i, const char *path, size_t path_len);
ms_err ms_snapview_read_each(ms_snapview *v, int dirfd, uint64_t base_page, ms_snapview_each each, void *ctx);
/* Adds region i's figures to t. */
void ms_snapview_add(const ms_snapview *v, size_t i, ms_smaps_totals *t);
/* The bytes its arrays hold. */
size_t ms_snapview_bytes(const ms_snapview *v);
void ms_snapview_free(ms_snapview *v);

#endif
