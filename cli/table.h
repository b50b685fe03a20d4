/* table.h - the command line's human output: aligned text tables, sizes in KiB/MiB/GiB.
 *
 * A table is collected whole, then printed with each column as wide as its widest cell.  On a
 * terminal the last column (a path or a command line) is cut to fit the width and the header is
 * bold (unless NO_COLOR is set or TERM is dumb); into a pipe or a file nothing is cut and no escape
 * sequence is written, so scripts and `grep` see whole lines. */
#ifndef MEMSCOPE_CLI_TABLE_H
#define MEMSCOPE_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define TBL_MAX_COLS 16

typedef struct {
    size_t ncols;
    const char *head[TBL_MAX_COLS];
    char align[TBL_MAX_COLS];   /* 'l' or 'r' */
    char **cells;               /* nrows * ncols, each owned */
    size_t nrows, cap;
    ms_err err;                 /* sticky: the first allocation that failed */
} tbl;

/* head: ncols column names; align: ncols letters, 'l' or 'r' ("rlrrl"). */
void tbl_init(tbl *t, size_t ncols, const char *const *head, const char *align);
/* Adds a row of ncols cells (copied; control bytes become '?', so a path cannot break a line). */
void tbl_row(tbl *t, const char *const *cells);
/* Prints and returns the sticky error (MS_OK when every row made it). */
ms_err tbl_print(tbl *t, FILE *f);
void tbl_free(tbl *t);

/* Sizes as people read them: "512 B", "4 KiB", "1.5 MiB", "12 GiB"; exact bytes when
 * tbl_exact_bytes is set (--bytes).  out holds at least 24 bytes. */
extern bool tbl_exact_bytes;
const char *tbl_size(uint64_t bytes, char *out);
/* "0x7f0000000000" */
const char *tbl_hex(uint64_t v, char *out);
/* Decimal. */
const char *tbl_u64(uint64_t v, char *out);

#endif
