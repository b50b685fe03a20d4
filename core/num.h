/* num.h - bounded cursor parsers for the numbers found in /proc files and in user input.
 *
 * Each parser takes a cursor (*p) and an end, consumes what it recognises, and reports overflow and
 * empty input as failure, like curl's str_number: no sscanf/strtol in hot paths, no locale, no
 * reading past `end`. */
#ifndef MEMSCOPE_NUM_H
#define MEMSCOPE_NUM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Decimal digits; false on no digit or overflow.  *p advances past the digits on success. */
bool ms_num_dec(const char **p, const char *end, uint64_t *out);
/* Signed decimal (optional '-'), for the few signed fields in stat. */
bool ms_num_sdec(const char **p, const char *end, int64_t *out);
/* Hexadecimal digits without prefix (as in maps); false on no digit or overflow. */
bool ms_num_hex(const char **p, const char *end, uint64_t *out);
/* Skips spaces and tabs. */
void ms_skip_blank(const char **p, const char *end);

/* Whole-string parsers for user input: the entire string must match, no sign, no blanks.
 * "0x1f"/"0X1F" hex address; decimal pid in [1, INT32_MAX] without leading zeros or '+'. */
bool ms_parse_addr(const char *s, uint64_t *out);
bool ms_parse_pid(const char *s, int *out);
/* A plain non-negative decimal integer; false past max. */
bool ms_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* A size with an optional unit: "4096", "64KiB", "1GiB", "2MB" (powers of 1000), "16k" (KiB).
 * Units: B, K/KiB/k, M/MiB, G/GiB, T/TiB, KB/MB/GB/TB (SI).  false on overflow or junk. */
bool ms_parse_size(const char *s, uint64_t *out);
/* A duration in milliseconds: "250ms", "10s", "30m", "24h", "7d"; a bare number is seconds.
 * false on overflow, junk or a missing number. */
bool ms_parse_duration_ms(const char *s, uint64_t *out);

#endif
