/* buf.h - a growable byte buffer with a hard cap, and whole-file reads into it.
 *
 * /proc files are generated on each read and may be megabytes (smaps of a big process), so they are
 * read with large read()s into one buffer that doubles as needed, never past its cap (the idea of
 * procps' file2str and curl's dynbuf with its toobig limit).  Parsers then walk a cursor over it. */
#ifndef MEMSCOPE_BUF_H
#define MEMSCOPE_BUF_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct {
    char *data;   /* always NUL-terminated when non-NULL, so a parser may stop on '\0' too */
    size_t len;
    size_t cap;
    size_t max;   /* len never exceeds this; 0 means MS_BUF_DEFAULT_MAX */
} ms_buf;

#define MS_BUF_DEFAULT_MAX ((size_t)256 << 20)

void ms_buf_init(ms_buf *b, size_t max);
void ms_buf_free(ms_buf *b);
/* Makes room for n more bytes (plus the NUL).  MS_ERR_TOOBIG past max. */
ms_err ms_buf_reserve(ms_buf *b, size_t n);
ms_err ms_buf_append(ms_buf *b, const void *p, size_t n);
void ms_buf_reset(ms_buf *b);
/* Hands the buffer's memory (NUL-terminated, or NULL when nothing was ever put in) to the caller,
 * who frees it, and leaves b empty with its cap kept; *len gets its length when len is non-NULL. */
char *ms_buf_take(ms_buf *b, size_t *len);

/* Makes room for `need` elements of `elem` bytes in the array *p of *cap elements: nothing when it
 * has it, else the capacity doubles (from `first`), never past `max` (0: no cap but size_t's).
 * MS_ERR_TOOBIG when need > max, MS_ERR_NOMEM when out of memory (*p and *cap then as they were).
 * p is the address of any object pointer, e.g. (void **)&m->regions. */
ms_err ms_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first, size_t max);
/* ms_grow for k arrays that share one capacity *cap (array i's elements elem[i] bytes each): each
 * gets room for `need`, and *cap is raised only once all have it (an array already grown when a
 * later one fails keeps its room, which is never less than *cap). */
ms_err ms_grow_many(void **const *ps, const size_t *elem, size_t k, size_t *cap, size_t need, size_t first);

/* Reads the whole file `name` (relative to dirfd; AT_FDCWD works) into b, replacing its content.
 * MS_ERR_NOENT when the file or process is gone, MS_ERR_PERM when the kernel refuses,
 * MS_ERR_TOOBIG when the file is larger than b->max. */
ms_err ms_read_file_at(int dirfd, const char *name, ms_buf *b);
/* The same from an already open descriptor (read from its current offset to EOF). */
ms_err ms_read_fd(int fd, ms_buf *b);
/* ms_read_file_at for a file the kernel prints whole in every read that has room for it: a regular
 * file, or a seq_file of one record (a cgroup's memory.stat, memory.current, memory.pressure...).
 * A read that returns less than asked is then the end, and the read() that would return 0 is not
 * made: at a thousand cgroups, a sixth of the system calls.  Never for a listing of many records
 * (cgroup.procs, /proc's maps or smaps): the kernel ends each of its reads at a page's end. */
ms_err ms_read_record_at(int dirfd, const char *name, ms_buf *b);

/* The two primitives every read of a descriptor in core goes through, so "retry on EINTR" is written
 * once.  ms_read_some: one read() of up to cap bytes; *got = 0 at EOF.  ms_read_full: reads until
 * cap bytes are in or EOF; *len says how many (len == cap means there may be more).  ms_pread_full:
 * the same from offset off.  On failure errno is left as read() set it, for callers that tell
 * ESRCH (a process without an address space) from other errors. */
ms_err ms_read_some(int fd, void *dst, size_t cap, size_t *got);
ms_err ms_read_full(int fd, void *dst, size_t cap, size_t *len);
ms_err ms_pread_full(int fd, void *dst, size_t cap, off_t off, size_t *len);

#endif
