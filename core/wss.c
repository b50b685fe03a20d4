/* wss.c - clearing a process's referenced bits, and reading back what was referenced since.
 *
 * The interval between the two is the caller's: core keeps no timer and no state. */
#include "wss.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static ms_err write_one(int fd, const char *what)
{
    ssize_t n;
    do
        n = write(fd, what, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return n < 0 ? ms_err_from_errno(errno) : MS_ERR_IO;
    return MS_OK;
}

ms_err ms_wss_clear_refs(int dirfd, bool flush_tlb, bool *flushed)
{
    *flushed = false;
    int fd = openat(dirfd, "clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    /* The file takes one command per write, whatever the offset: one descriptor serves both. */
    ms_err rc = write_one(fd, "1");
    if (rc == MS_OK && flush_tlb) {
        rc = write_one(fd, "4");
        *flushed = rc == MS_OK;
    }
    close(fd);
    return rc;
}

uint64_t ms_wss_referenced(const ms_smaps_field *f, size_t nf)
{
    for (size_t k = 0; k < nf; k++)
        if (f[k].id == MS_SF_REFERENCED)
            return f[k].value;
    return 0;
}
