/* log.c - leveled logging to stderr.  The level is set once at start-up and only read afterwards. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

void log_msg(log_level l, const char *fmt, ...)
{
    static const char *tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (l > current)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, tags[l]);
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages carry client-chosen text (decoded URLs): a control byte is written as \xNN, so a
     * "%0a" in a URL cannot forge a log line of its own. */
    size_t len = n > 0 && (size_t)n < sizeof line ? (size_t)n : 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && len + 5 < sizeof line - 2; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            static const char hexd[] = "0123456789abcdef";
            line[len++] = '\\';
            line[len++] = 'x';
            line[len++] = hexd[*p >> 4];
            line[len++] = hexd[*p & 15];
        } else {
            line[len++] = (char)*p;
        }
    }
    /* One fputs per line: stdio's lock keeps lines from different threads whole. */
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
