/* snapcodec.h - a parsed smaps in a compact binary form, for the store's snapshots.
 *
 * A snapshot is read back far more often than it is taken (every diff loads one or two), and the
 * smaps text it came from is ~1.2 kB per region, most of it padding and key names.  The binary form
 * keeps every region and field exactly (the numbers as integers, each key name once, any value
 * that is not a number as its text), so loading is a blob read and a decode, not a text parse.
 *
 * Layout (integers are LEB128 varints unless sized):
 *   "MSB1"  nregions  nfields  nkeys  { key_len key }*nkeys
 *   per region: start  size  offset  inode  dev_major  dev_minor  perms[4]  flags(1 byte: deleted)
 *               path_len path  vmflags_len+1 (0: none) vmflags  field_count
 *     per field: tag = key << 3 | in_kib << 2 | is_number << 1 | is_bytes, then the value (in kB
 *                when in_kib) if is_number, else raw_len raw. */
#ifndef MEMSCOPE_STORE_SNAPCODEC_H
#define MEMSCOPE_STORE_SNAPCODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/smaps.h"

/* Appends s in the binary form to out. */
ms_err ms_snapcodec_encode(const ms_smaps *s, ms_buf *out);
/* Whether the len bytes at p are in the binary form (rather than smaps text). */
bool ms_snapcodec_is_binary(const char *p, size_t len);
/* Decodes the binary form already in s->maps.buf into s (regions, fields and paths point into that
 * buffer, as after ms_smaps_parse).  MS_ERR_PARSE for a blob that is cut or inconsistent. */
ms_err ms_snapcodec_decode(ms_smaps *s);

#endif
