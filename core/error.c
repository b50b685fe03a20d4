/* error.c - names and texts for ms_err, and the errno mapping for /proc reads. */
#include "error.h"

#include <errno.h>

const char *ms_strerror(ms_err e)
{
    switch (e) {
    case MS_OK: return "success";
    case MS_ERR_NOMEM: return "out of memory";
    case MS_ERR_INVAL: return "invalid input";
    case MS_ERR_NOENT: return "no such process";
    case MS_ERR_PERM: return "permission denied by the kernel";
    case MS_ERR_TOOBIG: return "too large";
    case MS_ERR_PARSE: return "unexpected format in a /proc file";
    case MS_ERR_IO: return "read error";
    case MS_ERR_UNSUPPORTED: return "not supported by this kernel";
    case MS_ERR_LIMIT: return "limit reached";
    case MS_ERR_RANGE: return "out of range";
    case MS_ERR_NOMM: return "the process has no user address space";
    case MS_ERR_RESOURCE: return "out of file descriptors or processes";
    case MS_ERR_UNAVAILABLE: return "unavailable";
    }
    return "unknown error";
}

const char *ms_errcode(ms_err e)
{
    switch (e) {
    case MS_OK: return "ok";
    case MS_ERR_NOMEM: return "out_of_memory";
    case MS_ERR_INVAL: return "bad_request";
    case MS_ERR_NOENT: return "no_such_process";
    case MS_ERR_PERM: return "permission_denied";
    case MS_ERR_TOOBIG: return "too_large";
    case MS_ERR_PARSE: return "parse_error";
    case MS_ERR_IO: return "io_error";
    case MS_ERR_UNSUPPORTED: return "unsupported";
    case MS_ERR_LIMIT: return "limit_reached";
    case MS_ERR_RANGE: return "out_of_range";
    case MS_ERR_NOMM: return "no_address_space";
    case MS_ERR_RESOURCE: return "out_of_resources";
    case MS_ERR_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}

ms_err ms_err_from_errno(int err)
{
    switch (err) {
    case 0: return MS_OK;
    case ENOENT:
    case ESRCH: return MS_ERR_NOENT;   /* /proc/<pid> vanished, or the task is gone mid-read */
    case EACCES:
    case EPERM: return MS_ERR_PERM;
    case ENOMEM: return MS_ERR_NOMEM;
    case EMFILE:
    case ENFILE: return MS_ERR_RESOURCE;   /* no descriptor to open it with: says nothing of the file */
    case EINVAL: return MS_ERR_INVAL;
    case EFBIG:
    case E2BIG: return MS_ERR_TOOBIG;
    case ENOTTY:
    case EOPNOTSUPP: return MS_ERR_UNSUPPORTED;
    default: return MS_ERR_IO;
    }
}
