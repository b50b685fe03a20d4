/* wss.c - clearing a process's referenced bits, and reading back what was referenced since.
 *
 * The interval between the two is the caller's: core keeps no timer and no state. */
#include "wss.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

ms_err ms_wss_clear_refs(int dirfd)
{
    ms_err rc = MS_OK;
    int fd = openat(dirfd, "clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    ssize_t n;
    do
        n = write(fd, "1", 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        rc = n < 0 ? ms_err_from_errno(errno) : MS_ERR_IO;
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
