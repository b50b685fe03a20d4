/* metrics_select.h - which name a process is grouped under on /metrics (--metrics-group TEMPLATE)
 * and which processes and cgroups are exported whatever their rank (--metrics-match [FIELD=]REGEX).
 * Both are parsed once at start, then only read (any number of scrapes at once). */
#ifndef MEMSCOPE_METRICS_SELECT_H
#define MEMSCOPE_METRICS_SELECT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/proclist.h"

#define METRICS_NAME_MAX 128       /* bytes of a rendered group name (cut at a character's start) */
#define METRICS_EXE_MAX 512        /* bytes of an exe label */
#define METRICS_TPL_MAX 256        /* bytes of a template */
#define METRICS_TPL_PARTS 16       /* literal runs and fields of a template */
#define METRICS_MATCH_MAX 32       /* --metrics-match options */

typedef enum { MTPL_TEXT, MTPL_COMM, MTPL_EXE, MTPL_CMDLINE } metrics_tpl_kind;

typedef struct {
    metrics_tpl_kind kind;
    char text[METRICS_TPL_MAX + 1];   /* MTPL_TEXT */
    unsigned from, to;                /* MTPL_CMDLINE: words from..to (to UINT_MAX: to the end) */
    bool basename;                    /* ":basename": what follows the last '/' (of each word) */
} metrics_tpl_part;

typedef struct {
    metrics_tpl_part part[METRICS_TPL_PARTS];
    size_t n;
    bool uses_exe;
} metrics_tpl;

typedef enum { MMATCH_COMM_OR_CMDLINE, MMATCH_COMM, MMATCH_EXE, MMATCH_CMDLINE, MMATCH_CGROUP } metrics_match_field;

typedef struct {
    metrics_match_field field;
    regex_t re;
} metrics_match;

/* What main() sets up for the metrics module; read-only once the server runs. */
typedef struct metrics_select {
    metrics_tpl tpl;                  /* n == 0: the comm */
    metrics_match match[METRICS_MATCH_MAX];
    size_t nmatch;
    bool match_exe;                   /* some match reads the executable */
    bool match_process, match_cgroup; /* some match names processes / cgroups */
} metrics_select;

/* Parses a --metrics-group template into t; false with why (a sentence) on bad input. */
bool metrics_tpl_parse(const char *s, metrics_tpl *t, char *why, size_t cap);
/* p's group name under t into out (cap > METRICS_NAME_MAX); exe may be "" (unreadable). */
void metrics_tpl_render(const metrics_tpl *t, const ms_procinfo *p, const char *exe, char *out, size_t cap);

/* Adds one --metrics-match; false with why on a bad field, regex or one too many. */
bool metrics_select_add_match(metrics_select *s, const char *arg, char *why, size_t cap);
bool metrics_select_process(const metrics_select *s, const ms_procinfo *p, const char *exe);
bool metrics_select_cgroup(const metrics_select *s, const char *path);
void metrics_select_free(metrics_select *s);

/* pid's executable path (" (deleted)" dropped) into out, "" when it cannot be read. */
void metrics_exe_read(int pid, char *out, size_t cap);

#endif
