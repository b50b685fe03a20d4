/* stat.c - /proc/<pid>/stat (identity, faults, flags and the layout pointers) and
 * /proc/<pid>/cmdline.
 *
 * stat is one line of space-separated fields numbered as in proc(5).  Field 2, the command name,
 * is printed raw inside parentheses and may itself hold spaces, parentheses and even newlines, so
 * it runs from the first '(' to the LAST ')'; every later field is then found by position. */
#include "stat.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "num.h"


/* stat is ~300 bytes; this bounds a hostile or future format. */
#define MS_STAT_MAX 4096

/* Fields numbered from 1 as in proc(5); the parser keeps positions 3 .. MS_STAT_LAST. */
#define MS_STAT_LAST 52
/* Fields this code needs on every kernel: up to startstack (28) exist since Linux 2.0. */
#define MS_STAT_REQUIRED 28
/* start_data .. env_end (45..51) were added in Linux 3.5. */
#define MS_STAT_LAYOUT_LAST 51

typedef struct {
    const char *p;
    size_t n;
} tok;

static bool tok_u64(const tok *t, uint64_t *out)
{
    const char *p = t->p, *end = t->p + t->n;
    return ms_num_dec(&p, end, out) && p == end;
}

static bool tok_int(const tok *t, int *out)
{
    const char *p = t->p, *end = t->p + t->n;
    int64_t v;
    if (!ms_num_sdec(&p, end, &v) || p != end || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int)v;
    return true;
}

ms_err ms_stat_parse(const char *text, size_t len, ms_stat *out)
{
    ms_err rc = MS_OK;
    tok f[MS_STAT_LAST + 1];
    int nf = 2;   /* highest field number found */
    const char *end = text + len;
    const char *p = text;
    uint64_t pid;

    memset(out, 0, sizeof *out);
    if (!ms_num_dec(&p, end, &pid) || pid == 0 || pid > INT32_MAX || end - p < 2 || p[0] != ' ' ||
        p[1] != '(') {
        rc = MS_ERR_PARSE;
        goto out;
    }
    out->pid = (int)pid;
    const char *comm = p + 2;
    const char *close = NULL;
    for (const char *q = end; q > comm; q--) {
        if (q[-1] == ')') {
            close = q - 1;
            break;
        }
    }
    if (!close) {
        rc = MS_ERR_PARSE;
        goto out;
    }
    size_t cn = (size_t)(close - comm);
    if (cn > sizeof out->comm - 1)
        cn = sizeof out->comm - 1;
    memcpy(out->comm, comm, cn);
    out->comm[cn] = '\0';

    /* Split the rest on single spaces; the line ends with '\n' (or at the buffer's end if cut). */
    p = close + 1;
    while (p < end && *p != '\n' && nf < MS_STAT_LAST) {
        if (*p != ' ') {
            rc = MS_ERR_PARSE;
            goto out;
        }
        p++;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        if (p == s) {
            rc = MS_ERR_PARSE;
            goto out;
        }
        nf++;
        f[nf].p = s;
        f[nf].n = (size_t)(p - s);
    }
    if (nf < MS_STAT_REQUIRED || f[3].n != 1) {
        rc = MS_ERR_PARSE;
        goto out;
    }
    out->state = f[3].p[0];
    int64_t threads;
    const char *tp = f[20].p;
    bool ok = tok_int(&f[4], &out->ppid) && tok_int(&f[5], &out->pgrp) &&
              tok_int(&f[6], &out->session) && tok_u64(&f[9], &out->flags) &&
              tok_u64(&f[10], &out->minflt) && tok_u64(&f[12], &out->majflt) &&
              tok_u64(&f[14], &out->utime) && tok_u64(&f[15], &out->stime) &&
              ms_num_sdec(&tp, f[20].p + f[20].n, &threads) && tp == f[20].p + f[20].n &&
              tok_u64(&f[22], &out->starttime) && tok_u64(&f[23], &out->vsize) &&
              tok_u64(&f[24], &out->rss_pages) && tok_u64(&f[26], &out->start_code) &&
              tok_u64(&f[27], &out->end_code) && tok_u64(&f[28], &out->start_stack);
    if (!ok) {
        rc = MS_ERR_PARSE;
        goto out;
    }
    out->num_threads = threads;
    if (nf >= MS_STAT_LAYOUT_LAST) {
        ok = tok_u64(&f[45], &out->start_data) && tok_u64(&f[46], &out->end_data) &&
             tok_u64(&f[47], &out->start_brk) && tok_u64(&f[48], &out->arg_start) &&
             tok_u64(&f[49], &out->arg_end) && tok_u64(&f[50], &out->env_start) &&
             tok_u64(&f[51], &out->env_end);
        if (!ok) {
            rc = MS_ERR_PARSE;
            goto out;
        }
        out->has_layout = true;
    }
    /* Without ptrace read access the kernel prints start_code = end_code = 1 (so old tools that
     * took 0 for "kernel thread" keep working) and 0 for the rest; 1 is never a real address. */
    if (out->start_code == 1 && out->end_code == 1) {
        out->start_code = out->end_code = 0;
        out->layout_hidden = true;
    }
out:
    return rc;
}

ms_err ms_stat_read(int dirfd, ms_stat *out)
{
    char text[MS_STAT_MAX];
    size_t len = 0;
    int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return ms_err_from_errno(errno);
    ms_err rc = ms_read_full(fd, text, sizeof text, &len);
    close(fd);
    if (rc == MS_OK && len == sizeof text)
        rc = MS_ERR_TOOBIG;
    if (rc == MS_OK)
        rc = ms_stat_parse(text, len, out);
    return rc;
}

bool ms_stat_is_kthread(const ms_stat *st)
{
    return (st->flags & MS_PF_KTHREAD) != 0;
}

ms_err ms_cmdline_read(int dirfd, char *out, size_t cap, bool *truncated)
{
    ms_err rc = MS_OK;
    size_t len = 0;
    if (!out || cap == 0)
        return MS_ERR_INVAL;
    out[0] = '\0';
    *truncated = false;
    int fd = openat(dirfd, "cmdline", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return ms_err_from_errno(errno);
    /* The kernel copies cmdline out of the process's memory a page at a time: loop to the end. */
    if ((rc = ms_read_full(fd, out, cap - 1, &len)) != MS_OK)
        goto out;
    /* Full: it is cut only if something other than the final NUL separators follows. */
    while (len == cap - 1 && !*truncated) {
        char more[64];
        size_t n;
        if (ms_read_some(fd, more, sizeof more, &n) != MS_OK || n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            if (more[i] != '\0')
                *truncated = true;
    }
    while (len > 0 && out[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (out[i] == '\0')
            out[i] = ' ';
    out[len] = '\0';
out:
    if (rc != MS_OK)
        out[0] = '\0';
    close(fd);
    return rc;
}
