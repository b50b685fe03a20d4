/* log.c - leveled logging to stderr.  The level is set once at start-up and only read afterwards.
 *
 * Lines carry client-chosen text (decoded URLs, header values), so every byte that could change how
 * a line reads is escaped as \xNN: C0 and C1 control characters, DEL, bytes that are not UTF-8, and
 * the backslash itself, so that a literal "\x0a" in a URL shows as "\x5cx0a", never as an escaped
 * newline.  And a line repeated word for word (libmicrohttpd's "Error accepting connection" when
 * descriptors run out, one per accept attempt) is written at most LOG_BURST times per
 * LOG_WINDOW_S seconds, then summed up in one line. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jw.h"

#define LOG_BURST 5
#define LOG_WINDOW_S 10
#define LOG_RECENT 16

static log_level current = LOG_INFO;

void log_set_level(log_level l) { current = l; }
log_level log_get_level(void) { return current; }

int log_level_from_name(const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Lines written lately, by hash of their text: how many in the current window, how many held back. */
typedef struct {
    uint64_t hash;
    time_t window;          /* start of the window, seconds (monotonic) */
    unsigned count;
    unsigned long held;
    uint64_t last;          /* when it was last seen, in log calls: the least recent is replaced */
    log_level level;
    char text[160];         /* the start of the line, for the summary */
} log_recent;

static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static log_recent recent[LOG_RECENT];
static uint64_t calls;

static uint64_t fnv1a(const char *s, size_t n, log_level l)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)l;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static void write_line(log_level l, const char *msg, size_t n)
{
    static const char *tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int k = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %.*s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, tags[l], (int)n, msg);
    (void)k;
    /* One fputs per line: stdio's lock keeps lines from different threads whole. */
    fputs(line, stderr);
}

/* Held-back lines whose window is over are summed up; then whether this one may be written.
 * Called with recent_lock held. */
static bool admit(log_level l, const char *msg, size_t n, char summaries[][256], int *nsum)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t h = fnv1a(msg, n, l);
    log_recent *hit = NULL, *oldest = &recent[0];
    for (int i = 0; i < LOG_RECENT; i++) {
        log_recent *e = &recent[i];
        if (e->hash && now.tv_sec - e->window >= LOG_WINDOW_S) {
            if (e->held && *nsum < LOG_RECENT)
                snprintf(summaries[(*nsum)++], 256, "the line \"%.160s\" was repeated %lu more times in %d s",
                         e->text, e->held, LOG_WINDOW_S);
            e->window = now.tv_sec;
            e->count = 0;
            e->held = 0;
        }
        if (e->hash == h)
            hit = e;
        if (e->last < oldest->last)
            oldest = e;
    }
    if (!hit) {
        hit = oldest;
        if (hit->held && *nsum < LOG_RECENT)
            snprintf(summaries[(*nsum)++], 256, "the line \"%.160s\" was repeated %lu more times", hit->text,
                     hit->held);
        memset(hit, 0, sizeof *hit);
        hit->hash = h;
        hit->window = now.tv_sec;
        hit->level = l;
        snprintf(hit->text, sizeof hit->text, "%.*s", (int)n, msg);
    }
    hit->last = ++calls;
    if (hit->count < LOG_BURST) {
        hit->count++;
        return true;
    }
    hit->held++;
    return false;
}

/* Escapes msg into out (cap bytes); returns the length. */
static size_t escape(const char *msg, char *out, size_t cap)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)msg;
    size_t len = 0, n = strlen(msg);
    for (size_t i = 0; i < n && len + 5 < cap;) {
        size_t ul = p[i] >= 0x80 ? jw_utf8_len(p + i, n - i) : 1;
        /* U+0080..U+009F are C1 controls, which some terminals obey: UTF-8 c2 80..c2 9f. */
        bool c1 = ul == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;
        if (ul > 1 && !c1) {
            if (len + ul + 1 >= cap)
                break;
            memcpy(out + len, p + i, ul);
            len += ul;
            i += ul;
            continue;
        }
        if (ul == 0 || c1 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\') {
            out[len++] = '\\';
            out[len++] = 'x';
            out[len++] = hexd[p[i] >> 4];
            out[len++] = hexd[p[i] & 15];
        } else {
            out[len++] = (char)p[i];
        }
        i++;
    }
    out[len] = '\0';
    return len;
}

void log_msg(log_level l, const char *fmt, ...)
{
    if (l > current)
        return;
    char msg[1536], esc[1900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = escape(msg, esc, sizeof esc);
    char summaries[LOG_RECENT][256];
    int nsum = 0;
    pthread_mutex_lock(&recent_lock);
    bool ok = admit(l, esc, n, summaries, &nsum);
    pthread_mutex_unlock(&recent_lock);
    for (int i = 0; i < nsum; i++)
        write_line(LOG_WARN, summaries[i], strlen(summaries[i]));
    if (ok)
        write_line(l, esc, n);
}
