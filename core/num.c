/* num.c - bounded number parsers; see num.h. */
#include "num.h"

#include <string.h>

bool ms_num_dec(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

bool ms_num_sdec(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    bool neg = false;
    uint64_t v;
    if (s < end && *s == '-') {
        neg = true;
        s++;
    }
    if (!ms_num_dec(&s, end, &v))
        return false;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    *p = s;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool ms_num_hex(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int d;
    if (s >= end || hexval(*s) < 0)
        return false;
    for (; s < end && (d = hexval(*s)) >= 0; s++) {
        if (v >> 60)
            return false;
        v = (v << 4) | (uint64_t)d;
    }
    *p = s;
    *out = v;
    return true;
}

void ms_skip_blank(const char **p, const char *end)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    *p = s;
}

bool ms_parse_addr(const char *s, uint64_t *out)
{
    if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    const char *p = s + 2, *end = s + strlen(s);
    if (end - p > 16)
        return false;
    return ms_num_hex(&p, end, out) && p == end;
}

bool ms_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s)
        return false;
    const char *p = s, *end = s + strlen(s);
    uint64_t v;
    if (!ms_num_dec(&p, end, &v) || p != end || v > max)
        return false;
    *out = v;
    return true;
}

bool ms_parse_pid(const char *s, int *out)
{
    uint64_t v;
    if (!s || s[0] == '0')    /* "0", "007": a pid is never written with leading zeros */
        return false;
    if (!ms_parse_u64(s, INT32_MAX, &v) || v == 0)
        return false;
    *out = (int)v;
    return true;
}

/* A decimal number followed by exactly one of the units (the whole rest of the string), times that
 * unit's multiplier; false on overflow or junk. */
typedef struct {
    const char *unit;
    uint64_t mult;
} num_unit;

static bool parse_with_unit(const char *s, const num_unit *units, size_t nunits, uint64_t *out)
{
    if (!s)
        return false;
    const char *p = s, *end = s + strlen(s);
    uint64_t v;
    if (!ms_num_dec(&p, end, &v))
        return false;
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(p, units[i].unit) == 0) {
            if (v > UINT64_MAX / units[i].mult)
                return false;
            *out = v * units[i].mult;
            return true;
        }
    }
    return false;
}

bool ms_parse_size(const char *s, uint64_t *out)
{
    static const num_unit units[] = {
        {"", 1}, {"B", 1},
        {"K", 1ULL << 10}, {"k", 1ULL << 10}, {"KiB", 1ULL << 10}, {"kiB", 1ULL << 10},
        {"M", 1ULL << 20}, {"MiB", 1ULL << 20},
        {"G", 1ULL << 30}, {"GiB", 1ULL << 30},
        {"T", 1ULL << 40}, {"TiB", 1ULL << 40},
        {"KB", 1000ULL}, {"kB", 1000ULL}, {"MB", 1000000ULL}, {"GB", 1000000000ULL},
        {"TB", 1000000000000ULL},
    };
    return parse_with_unit(s, units, sizeof units / sizeof units[0], out);
}

bool ms_parse_duration_ms(const char *s, uint64_t *out)
{
    static const num_unit units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    return parse_with_unit(s, units, sizeof units / sizeof units[0], out);
}
