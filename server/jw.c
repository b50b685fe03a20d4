/* jw.c - streaming JSON writer; see jw.h. */
#include "jw.h"

#include <stdio.h>
#include <string.h>

void jw_init(jw *w, ms_buf *b)
{
    w->b = b;
    w->err = MS_OK;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
}

ms_err jw_finish(jw *w)
{
    if (w->err == MS_OK && w->depth != 0)
        w->err = MS_ERR_INVAL;   /* unbalanced: a bug in the caller */
    if (w->err == MS_OK && w->b->data)
        w->b->data[w->b->len] = '\0';   /* put() leaves room for it */
    return w->err;
}

/* The hot path of every token: room is checked once and the bytes copied; the buffer's NUL is
 * written by the slow path and by jw_finish, not after every token. */
static void put_slow(jw *w, const char *s, size_t n)
{
    if (w->err != MS_OK)
        return;
    w->err = ms_buf_append(w->b, s, n);
}

static inline void put(jw *w, const char *s, size_t n)
{
    ms_buf *b = w->b;
    if (w->err == MS_OK && b->len + n < b->cap) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return;
    }
    put_slow(w, s, n);
}

static inline void putc1(jw *w, char c)
{
    ms_buf *b = w->b;
    if (w->err == MS_OK && b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        return;
    }
    put_slow(w, &c, 1);
}

/* Writes the comma that separates this value from the previous sibling, if any. */
static void sep(jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        putc1(w, ',');
    w->first[w->depth] = false;
}

static void open_(jw *w, char c)
{
    sep(w);
    if (w->depth + 1 >= JW_MAX_DEPTH) {
        w->err = MS_ERR_INVAL;
        return;
    }
    putc1(w, c);
    w->first[++w->depth] = true;
}

static void close_(jw *w, char c)
{
    if (w->depth == 0) {
        w->err = MS_ERR_INVAL;
        return;
    }
    w->depth--;
    putc1(w, c);
}

void jw_obj(jw *w) { open_(w, '{'); }
void jw_obj_end(jw *w) { close_(w, '}'); }
void jw_arr(jw *w) { open_(w, '['); }
void jw_arr_end(jw *w) { close_(w, ']'); }

size_t jw_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong, surrogates, beyond U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool jw_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t ul = jw_utf8_len(s + i, n - i);
        if (!ul)
            return false;
        i += ul;
    }
    return true;
}

void jw_hexbytes(jw *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    char tmp[128];
    sep(w);
    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; i < n && k + 2 <= sizeof tmp; i++) {
            tmp[k++] = hex[s[i] >> 4];
            tmp[k++] = hex[s[i] & 15];
        }
        put(w, tmp, k);
    }
    put(w, "\"", 1);
}

static void put_escaped(jw *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    putc1(w, '"');
    size_t run = 0;   /* bytes that need no escape, copied in one go */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++;
            i++;
            continue;
        }
        size_t ul = c >= 0x80 ? jw_utf8_len(s + i, n - i) : 1;
        if (c >= 0x80 && ul > 0) {
            run += ul;
            i += ul;
            continue;
        }
        put(w, (const char *)s + i - run, run);
        run = 0;
        if (c == '"') put(w, "\\\"", 2);
        else if (c == '\\') put(w, "\\\\", 2);
        else if (c == '\n') put(w, "\\n", 2);
        else if (c == '\t') put(w, "\\t", 2);
        else if (c == '\r') put(w, "\\r", 2);
        else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, e, 6);
        } else {
            put(w, "\\ufffd", 6);   /* a byte that is not UTF-8 */
        }
        i++;
    }
    put(w, (const char *)s + n - run, run);
    putc1(w, '"');
}

void jw_keyn(jw *w, const char *k, size_t n)
{
    sep(w);
    put_escaped(w, k, n);
    putc1(w, ':');
    w->after_key = true;
}

void jw_key(jw *w, const char *k)
{
    size_t n = strlen(k);
    sep(w);
    putc1(w, '"');
    put(w, k, n);
    put(w, "\":", 2);
    w->after_key = true;
}

void jw_key_raw(jw *w, const char *quoted_colon, size_t n)
{
    sep(w);
    put(w, quoted_colon, n);
    w->after_key = true;
}

void jw_strn(jw *w, const char *s, size_t n)
{
    sep(w);
    put_escaped(w, s ? s : "", s ? n : 0);
}

void jw_str(jw *w, const char *s)
{
    jw_strn(w, s, s ? strlen(s) : 0);
}

/* Two digits per division: numbers are most of a /smaps answer. */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v (v > 0): the bit length gives it to within one, a power of ten settles it. */
static size_t dec_digits(uint64_t v)
{
    static const uint64_t pow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
        1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
        100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
        1000000000000000000ULL, 10000000000000000000ULL};
    unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;   /* log10(2) ~ 1233/4096 */
    return t + (v >= pow10[t]);
}

/* Written from the last digit back, straight into out: most numbers of a region (its rss, offset,
 * inode) are short, and a copy out of a scratch buffer cost more than making them. */
size_t jw_fmt_u64(char *out, uint64_t v)
{
    if (v < 10) {
        out[0] = (char)('0' + v);
        return 1;
    }
    size_t n = dec_digits(v);
    char *p = out + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (v >= 10)
        memcpy(p - 2, digit_pairs + 2 * v, 2);
    else
        p[-1] = (char)('0' + v);
    return n;
}

/* Two hex digits per step, as for decimal: an address has 12. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

size_t jw_fmt_hex(char *out, uint64_t v)
{
    size_t n = v ? (size_t)(67 - __builtin_clzll(v)) / 4 : 1;   /* digits: bits rounded up to nibbles */
    char *p = out + 2 + n;
    out[0] = '0';
    out[1] = 'x';
    for (; v >= 16; v >>= 8) {
        p -= 2;
        memcpy(p, hex_pairs + 2 * (v & 255), 2);
    }
    if (p > out + 2)
        p[-1] = hex_pairs[2 * v + 1];
    return 2 + n;
}

void jw_u64(jw *w, uint64_t v)
{
    char d[20];
    sep(w);
    put(w, d, jw_fmt_u64(d, v));
}

void jw_i64(jw *w, int64_t v)
{
    char d[21];
    sep(w);
    if (v < 0) {
        d[0] = '-';
        put(w, d, 1 + jw_fmt_u64(d + 1, (uint64_t)0 - (uint64_t)v));
    } else {
        put(w, d, jw_fmt_u64(d, (uint64_t)v));
    }
}

void jw_bool(jw *w, bool v)
{
    sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jw_null(jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void jw_double(jw *w, double v)
{
    char d[40];
    sep(w);
    if (v != v || v > 1e308 || v < -1e308) {   /* NaN and infinities are not JSON */
        put(w, "null", 4);
        return;
    }
    int n = snprintf(d, sizeof d, "%.6g", v);
    put(w, d, n > 0 ? (size_t)n : 0);
}

void jw_hex(jw *w, uint64_t v)
{
    char d[20];
    d[0] = '"';
    size_t n = 1 + jw_fmt_hex(d + 1, v);
    d[n++] = '"';
    sep(w);
    put(w, d, n);
}

void jw_members_raw(jw *w, const char *members, size_t n)
{
    sep(w);
    put(w, members, n);
}

void jw_kstr(jw *w, const char *k, const char *s) { jw_key(w, k); jw_str(w, s); }
void jw_kstrn(jw *w, const char *k, const char *s, size_t n) { jw_key(w, k); jw_strn(w, s, n); }
void jw_ku64(jw *w, const char *k, uint64_t v) { jw_key(w, k); jw_u64(w, v); }
void jw_ki64(jw *w, const char *k, int64_t v) { jw_key(w, k); jw_i64(w, v); }
void jw_kbool(jw *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }
void jw_khex(jw *w, const char *k, uint64_t v) { jw_key(w, k); jw_hex(w, v); }
void jw_knull(jw *w, const char *k) { jw_key(w, k); jw_null(w); }
