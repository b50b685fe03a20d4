/* buf.c - capped growable buffer and whole-file reads; see buf.h. */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One read() of /proc/<pid>/smaps returns at most a page or so of records no matter how large the
 * buffer, but a large buffer saves reallocations; 64 KiB is where the curve flattens. */
#define MS_BUF_FIRST (64 * 1024)

void ms_buf_init(ms_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : MS_BUF_DEFAULT_MAX;
}

void ms_buf_free(ms_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void ms_buf_reset(ms_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *ms_buf_take(ms_buf *b, size_t *len)
{
    char *data = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

ms_err ms_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first, size_t max)
{
    if (need <= *cap)
        return MS_OK;
    if (max && need > max)
        return MS_ERR_TOOBIG;
    size_t c = *cap ? *cap : (first ? first : 1);
    while (c < need) {
        if (c > ((size_t)-1 / elem) / 2)
            return MS_ERR_NOMEM;
        c *= 2;
    }
    if (max && c > max)
        c = max;
    if (c > (size_t)-1 / elem)
        return MS_ERR_NOMEM;
    /* The pointer is moved with memcpy: *p is really an object pointer of the caller's type, which
     * this file must not read or write as a void *. */
    void *old, *np;
    memcpy(&old, p, sizeof old);
    np = realloc(old, c * elem);
    if (!np)
        return MS_ERR_NOMEM;
    memcpy(p, &np, sizeof np);
    *cap = c;
    return MS_OK;
}

ms_err ms_grow_many(void **const *ps, const size_t *elem, size_t k, size_t *cap, size_t need, size_t first)
{
    size_t c = *cap;
    for (size_t i = 0; i < k; i++) {
        c = *cap;
        ms_err rc = ms_grow(ps[i], &c, need, elem[i], first, 0);
        if (rc != MS_OK)
            return rc;
    }
    *cap = c;
    return MS_OK;
}

ms_err ms_buf_reserve(ms_buf *b, size_t n)
{
    if (b->max == 0)
        b->max = MS_BUF_DEFAULT_MAX;
    if (n > b->max || b->len > b->max - n)
        return MS_ERR_TOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return MS_OK;
    size_t cap = b->cap ? b->cap : MS_BUF_FIRST;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return MS_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return MS_OK;
}

ms_err ms_buf_append(ms_buf *b, const void *p, size_t n)
{
    ms_err rc = ms_buf_reserve(b, n);
    if (rc != MS_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MS_OK;
}

ms_err ms_read_some(int fd, void *dst, size_t cap, size_t *got)
{
    ssize_t n;
    do
        n = read(fd, dst, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        *got = 0;
        return ms_err_from_errno(errno);
    }
    *got = (size_t)n;
    return MS_OK;
}

ms_err ms_read_full(int fd, void *dst, size_t cap, size_t *len)
{
    *len = 0;
    while (*len < cap) {
        size_t n;
        ms_err rc = ms_read_some(fd, (char *)dst + *len, cap - *len, &n);
        if (rc != MS_OK)
            return rc;
        if (n == 0)
            break;
        *len += n;
    }
    return MS_OK;
}

ms_err ms_pread_full(int fd, void *dst, size_t cap, off_t off, size_t *len)
{
    *len = 0;
    while (*len < cap) {
        ssize_t n = pread(fd, (char *)dst + *len, cap - *len, off + (off_t)*len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ms_err_from_errno(errno);
        }
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    return MS_OK;
}

/* short_is_end: a read that returns less than asked is the end of the file (see ms_read_record_at). */
static ms_err read_fd(int fd, ms_buf *b, bool short_is_end)
{
    ms_buf_reset(b);
    for (;;) {
        /* Ask for at least 64 KiB (or what is left under the cap plus one byte, to detect TOOBIG).
         * A first buffer of exactly MS_BUF_FIRST (the reserve adds a byte for the terminator): one
         * byte more doubled it to 128 KiB, which malloc maps and unmaps on every call at memscoped's
         * mmap threshold, for files (a cgroup's, a process's status) of a few hundred bytes. */
        size_t want = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
        if (want < MS_BUF_FIRST / 2) {
            ms_err rc = ms_buf_reserve(b, b->cap ? b->cap : MS_BUF_FIRST - 1);
            if (rc == MS_ERR_TOOBIG && b->len < b->max)
                rc = ms_buf_reserve(b, b->max - b->len);
            if (rc != MS_OK)
                return rc;
            want = b->cap - b->len - 1;
        }
        size_t n;
        ms_err rc = ms_read_some(fd, b->data + b->len, want, &n);
        if (rc != MS_OK)
            return rc;
        if (n == 0)
            break;
        b->len += n;
        if (short_is_end && n < want)
            break;
        if (b->len >= b->max) {
            /* Full: one more byte means the file is over the cap. */
            char c;
            ssize_t m = read(fd, &c, 1);
            if (m > 0)
                return MS_ERR_TOOBIG;
            break;
        }
    }
    b->data[b->len] = '\0';
    return MS_OK;
}

ms_err ms_read_fd(int fd, ms_buf *b)
{
    return read_fd(fd, b, false);
}

static ms_err read_at(int dirfd, const char *name, ms_buf *b, bool short_is_end)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return ms_err_from_errno(errno);
    ms_err rc = read_fd(fd, b, short_is_end);
    close(fd);
    return rc;
}

ms_err ms_read_file_at(int dirfd, const char *name, ms_buf *b)
{
    return read_at(dirfd, name, b, false);
}

ms_err ms_read_record_at(int dirfd, const char *name, ms_buf *b)
{
    return read_at(dirfd, name, b, true);
}
