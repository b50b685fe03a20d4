/* metrics_select.c - the name a process is summed under on /metrics, and the processes and cgroups
 * exported whatever their rank.
 *
 * comm is 15 bytes and cannot tell two python3 apart, so a name group can instead be a template
 * over the comm, the executable and the command line:
 *
 *   {comm}             stat's comm
 *   {exe}              the executable's path (/proc/PID/exe; " (deleted)" dropped; "" if refused)
 *   {cmdline}          the whole command line, arguments separated by single spaces
 *   {cmdline[N]}       word N (from 0) of the command line
 *   {cmdline[N..M]}    words N to M, {cmdline[N..]} from N to the end, joined by spaces
 *   FIELD:basename     what follows the last '/' (of each word): {exe:basename}, {cmdline[1]:basename}
 *   {{ and }}          a literal brace; any other text is copied as is
 *
 * Words are the command line as the process list keeps it: its NUL separators turned into spaces,
 * so an argument holding a space counts as two words.  A name that renders empty (an unreadable
 * executable, a word past the end) falls back to the comm; a longer one is cut at
 * METRICS_NAME_MAX bytes, at the start of a character.
 *
 * --metrics-match [FIELD=]REGEX is a POSIX extended regex (regcomp REG_EXTENDED|REG_NOSUB), matched
 * anywhere in the text: without FIELD against the comm or the command line (as /processes?q=
 * does), with comm=, exe= or cmdline= against that one, with cgroup= against a memory cgroup's
 * path (the per-cgroup series). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "metrics_select.h"

/* Parses "N", "N..", "N..M" between the brackets of {cmdline[...]}; false on anything else. */
static bool parse_range(const char *s, size_t n, unsigned *from, unsigned *to)
{
    unsigned v[2] = {0, UINT_MAX};
    int k = 0;
    bool digit = false, open = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (open && k == 1 && !digit)
                v[1] = 0;
            if (v[k] > 9999)
                return false;
            v[k] = v[k] * 10 + (unsigned)(s[i] - '0');
            digit = true;
        } else if (s[i] == '.' && i + 1 < n && s[i + 1] == '.' && k == 0 && digit) {
            k = 1;
            open = true;
            digit = false;
            i++;
        } else {
            return false;
        }
    }
    if (k == 0 && !digit)
        return false;
    *from = v[0];
    *to = k == 0 ? v[0] : v[1];
    return *from <= *to;
}

/* One {field} (its text without the braces) into part. */
static bool parse_field(const char *f, size_t n, metrics_tpl_part *part)
{
    static const char bn[] = ":basename";
    size_t bl = sizeof bn - 1;
    if (n > bl && memcmp(f + n - bl, bn, bl) == 0) {
        part->basename = true;
        n -= bl;
    }
    if (n == 4 && !memcmp(f, "comm", 4)) {
        part->kind = MTPL_COMM;
    } else if (n == 3 && !memcmp(f, "exe", 3)) {
        part->kind = MTPL_EXE;
    } else if (n == 7 && !memcmp(f, "cmdline", 7)) {
        part->kind = MTPL_CMDLINE;
        part->from = 0;
        part->to = UINT_MAX;
    } else if (n > 9 && !memcmp(f, "cmdline[", 8) && f[n - 1] == ']') {
        part->kind = MTPL_CMDLINE;
        return parse_range(f + 8, n - 9, &part->from, &part->to);
    } else {
        return false;
    }
    return true;
}

bool metrics_tpl_parse(const char *s, metrics_tpl *t, char *why, size_t cap)
{
    memset(t, 0, sizeof *t);
    size_t len = strlen(s);
    if (len == 0 || len > METRICS_TPL_MAX) {
        snprintf(why, cap, "the template must be 1 to %d bytes", METRICS_TPL_MAX);
        return false;
    }
    for (size_t i = 0; i < len;) {
        if (t->n == METRICS_TPL_PARTS) {
            snprintf(why, cap, "at most %d fields and text runs", METRICS_TPL_PARTS);
            return false;
        }
        metrics_tpl_part *p = &t->part[t->n];
        if (s[i] == '{' && s[i + 1] != '{') {
            const char *close = strchr(s + i, '}');
            if (!close || !parse_field(s + i + 1, (size_t)(close - s - i - 1), p)) {
                snprintf(why, cap, "unknown field at byte %zu: the fields are {comm}, {exe}, {cmdline}, "
                                   "{cmdline[N]}, {cmdline[N..M]}, {cmdline[N..]}, each may end in :basename; "
                                   "{{ and }} are literal braces", i);
                return false;
            }
            t->uses_exe |= p->kind == MTPL_EXE;
            t->n++;
            i = (size_t)(close - s) + 1;
            continue;
        }
        if (s[i] == '}' && s[i + 1] != '}') {
            snprintf(why, cap, "a lone '}' at byte %zu (write }} for a literal one)", i);
            return false;
        }
        /* Literal text up to the next field; a doubled brace is one literal brace. */
        size_t o = 0;
        while (i < len && !(s[i] == '{' && s[i + 1] != '{') && !(s[i] == '}' && s[i + 1] != '}')) {
            p->text[o++] = s[i];
            i += (s[i] == '{' || s[i] == '}') ? 2 : 1;
        }
        p->text[o] = '\0';
        p->kind = MTPL_TEXT;
        t->n++;
    }
    return true;
}

/* Appends [s, s+n) to out at *o (bounded by cap - 1), keeping what follows the last '/' if base. */
static void emit(char *out, size_t cap, size_t *o, const char *s, size_t n, bool base)
{
    if (base) {
        const char *slash = memrchr(s, '/', n);
        if (slash) {
            n -= (size_t)(slash + 1 - s);
            s = slash + 1;
        }
    }
    size_t room = cap - 1 - *o;
    if (n > room)
        n = room;
    memcpy(out + *o, s, n);
    *o += n;
}

static void emit_words(char *out, size_t cap, size_t *o, const char *cmd, const metrics_tpl_part *p)
{
    unsigned w = 0;
    bool first = true;
    for (const char *s = cmd; w <= p->to; w++) {
        const char *sp = strchr(s, ' ');
        size_t n = sp ? (size_t)(sp - s) : strlen(s);
        if (w >= p->from) {
            if (!first)
                emit(out, cap, o, " ", 1, false);
            emit(out, cap, o, s, n, p->basename);
            first = false;
        }
        if (!sp)
            break;
        s = sp + 1;
    }
}

void metrics_tpl_render(const metrics_tpl *t, const ms_procinfo *p, const char *exe, char *out, size_t cap)
{
    if (cap > METRICS_NAME_MAX + 1)
        cap = METRICS_NAME_MAX + 1;
    size_t o = 0;
    for (size_t i = 0; i < t->n; i++) {
        const metrics_tpl_part *q = &t->part[i];
        switch (q->kind) {
        case MTPL_TEXT: emit(out, cap, &o, q->text, strlen(q->text), false); break;
        case MTPL_COMM: emit(out, cap, &o, p->name, strlen(p->name), q->basename); break;
        case MTPL_EXE: emit(out, cap, &o, exe, strlen(exe), q->basename); break;
        case MTPL_CMDLINE: emit_words(out, cap, &o, p->cmdline ? p->cmdline : "", q); break;
        }
    }
    /* A cut in the middle of a UTF-8 sequence drops the sequence's start too. */
    if (o == cap - 1) {
        size_t k = o;
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
            k--;
        unsigned char lead = k > 0 ? (unsigned char)out[k - 1] : 0;
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (lead >= 0xC0 && k - 1 + need > o)
            o = k - 1;
    }
    out[o] = '\0';
    if (o == 0 || t->n == 0)
        snprintf(out, cap, "%s", p->name);
}

bool metrics_select_add_match(metrics_select *s, const char *arg, char *why, size_t cap)
{
    static const struct {
        const char *prefix;
        metrics_match_field field;
    } fields[] = {{"comm=", MMATCH_COMM}, {"exe=", MMATCH_EXE}, {"cmdline=", MMATCH_CMDLINE},
                  {"cgroup=", MMATCH_CGROUP}};
    if (s->nmatch == METRICS_MATCH_MAX) {
        snprintf(why, cap, "at most %d patterns", METRICS_MATCH_MAX);
        return false;
    }
    metrics_match *m = &s->match[s->nmatch];
    m->field = MMATCH_COMM_OR_CMDLINE;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strncmp(arg, fields[i].prefix, strlen(fields[i].prefix))) {
            m->field = fields[i].field;
            arg += strlen(fields[i].prefix);
            break;
        }
    if (!*arg || strlen(arg) > 1024) {
        snprintf(why, cap, "the regex must be 1 to 1024 bytes");
        return false;
    }
    int rc = regcomp(&m->re, arg, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &m->re, msg, sizeof msg);
        snprintf(why, cap, "'%s' is not a POSIX extended regex: %s", arg, msg);
        return false;
    }
    s->match_exe |= m->field == MMATCH_EXE;
    s->match_cgroup |= m->field == MMATCH_CGROUP;
    s->match_process |= m->field != MMATCH_CGROUP;
    s->nmatch++;
    return true;
}

static bool re_hit(const regex_t *re, const char *s)
{
    return s && regexec(re, s, 0, NULL, 0) == 0;
}

bool metrics_select_process(const metrics_select *s, const ms_procinfo *p, const char *exe)
{
    for (size_t i = 0; s && i < s->nmatch; i++) {
        const metrics_match *m = &s->match[i];
        bool hit = false;
        switch (m->field) {
        case MMATCH_COMM_OR_CMDLINE: hit = re_hit(&m->re, p->name) || re_hit(&m->re, p->cmdline); break;
        case MMATCH_COMM: hit = re_hit(&m->re, p->name); break;
        case MMATCH_EXE: hit = *exe && re_hit(&m->re, exe); break;
        case MMATCH_CMDLINE: hit = re_hit(&m->re, p->cmdline); break;
        case MMATCH_CGROUP: break;
        }
        if (hit)
            return true;
    }
    return false;
}

bool metrics_select_cgroup(const metrics_select *s, const char *path)
{
    for (size_t i = 0; s && i < s->nmatch; i++)
        if (s->match[i].field == MMATCH_CGROUP && re_hit(&s->match[i].re, path))
            return true;
    return false;
}

void metrics_select_free(metrics_select *s)
{
    for (size_t i = 0; i < s->nmatch; i++)
        regfree(&s->match[i].re);
    s->nmatch = 0;
}

void metrics_exe_read(int pid, char *out, size_t cap)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t n = readlink(path, out, cap - 1);
    if (n < 0)
        n = 0;
    out[n] = '\0';
    static const char del[] = " (deleted)";
    size_t dl = sizeof del - 1;
    if ((size_t)n > dl && !memcmp(out + n - dl, del, dl))
        out[n - dl] = '\0';
}
