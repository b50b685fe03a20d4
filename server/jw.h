/* jw.h - a streaming JSON writer straight into a growable buffer.
 *
 * Large answers (the smaps of a 10,000-region process) are written here directly, token by token:
 * building a jansson tree for them costs several times the kernel's own read of the file.  jansson
 * is still used for request bodies and small documents; tests parse every answer with jansson, so
 * this writer's output is checked for validity by an independent parser.
 *
 * Errors are sticky: after an allocation fails or the cap is hit, every call is a no-op and
 * jw_finish() reports the first error. */
#ifndef MEMSCOPE_JW_H
#define MEMSCOPE_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"

#define JW_MAX_DEPTH 32

typedef struct {
    ms_buf *b;
    ms_err err;
    int depth;
    bool first[JW_MAX_DEPTH];  /* no element written yet at this depth */
    bool after_key;
} jw;

void jw_init(jw *w, ms_buf *b);
ms_err jw_finish(jw *w);

void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
/* Keys: k must be plain ASCII needing no escape (the code's own constants); jw_keyn escapes. */
void jw_key(jw *w, const char *k);
void jw_keyn(jw *w, const char *k, size_t n);
/* A key already written out with its quotes and colon ("\"rss\":"), for the hottest loops. */
void jw_key_raw(jw *w, const char *quoted_colon, size_t n);

/* Length of the valid UTF-8 sequence at s (1..4; n bytes readable), or 0 if the bytes there are
 * not one (overlong forms, surrogates and code points past U+10FFFF are not). */
size_t jw_utf8_len(const unsigned char *s, size_t n);

/* Strings are escaped; bytes that are not valid UTF-8 become U+FFFD, so a path with any bytes in it
 * still makes valid JSON. */
void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t n);
/* Whether s[0, n) is valid UTF-8 (jw_strn writes U+FFFD for each byte that is not). */
bool jw_utf8_valid(const char *s, size_t n);
/* s[0, n) as a string of lowercase hex digits, two per byte: any bytes, exactly. */
void jw_hexbytes(jw *w, const char *s, size_t n);
void jw_u64(jw *w, uint64_t v);
void jw_i64(jw *w, int64_t v);
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
void jw_double(jw *w, double v);
/* An address as the API writes them: "0x7ffd..." (lower-case, no padding). */
void jw_hex(jw *w, uint64_t v);

/* Members already written out, '"k":v' or several joined by commas, in the current object: for the
 * hottest loops, which build a region's fixed members in a local buffer and append them at once.
 * The writer puts the comma before them as it would before a key. */
void jw_members_raw(jw *w, const char *members, size_t n);
/* Formatting for such buffers: decimal (at most 20 bytes) and "0x..." hex (at most 18), no NUL. */
size_t jw_fmt_u64(char *out, uint64_t v);
size_t jw_fmt_hex(char *out, uint64_t v);

/* A string literal copied into such a buffer; its length, known at compile time, is the value. */
#define JW_LIT(dst, lit) (memcpy((dst), lit, sizeof lit - 1), sizeof lit - 1)

/* A literal key with its quotes and colon put together by the compiler: JW_KEY(w, "rss"). */
#define JW_KEY(w, lit) jw_key_raw((w), "\"" lit "\":", sizeof("\"" lit "\":") - 1)

/* key + value in one call */
void jw_kstr(jw *w, const char *k, const char *s);
void jw_kstrn(jw *w, const char *k, const char *s, size_t n);
void jw_ku64(jw *w, const char *k, uint64_t v);
void jw_ki64(jw *w, const char *k, int64_t v);
void jw_kbool(jw *w, const char *k, bool v);
void jw_khex(jw *w, const char *k, uint64_t v);
void jw_knull(jw *w, const char *k);

#endif
