/* error.h - the one error type of memscope's core.
 *
 * Every core function that can fail returns an ms_err.  The server turns it into an HTTP status in
 * exactly one place (server/http.c), so the meaning of each code is fixed here, not at call sites. */
#ifndef MEMSCOPE_ERROR_H
#define MEMSCOPE_ERROR_H

typedef enum {
    MS_OK = 0,
    MS_ERR_NOMEM,       /* an allocation failed */
    MS_ERR_INVAL,       /* the caller's input is malformed (maps to 400) */
    MS_ERR_NOENT,       /* no such process, or it exited while being read (404) */
    MS_ERR_PERM,        /* the kernel refused: ptrace access mode, CAP_SYS_ADMIN, ... (403) */
    MS_ERR_TOOBIG,      /* the answer or input is over a documented cap (413) */
    MS_ERR_PARSE,       /* a /proc file did not have the shape the kernel documents */
    MS_ERR_IO,          /* any other read error */
    MS_ERR_UNSUPPORTED, /* the running kernel lacks the interface */
    MS_ERR_LIMIT,       /* a configured limit (experiments) would be exceeded */
    MS_ERR_RANGE,       /* an address or range outside what the process/kernel allows */
    MS_ERR_NOMM,        /* the process has no user address space: a kernel thread or a zombie (409) */
    MS_ERR_RESOURCE,    /* out of descriptors or processes for now: try again later (503) */
    MS_ERR_UNAVAILABLE, /* a service memscoped keeps (the history store) cannot be used now (503) */
    /* A new code goes here, and MS_ERR__COUNT names it.  Not a member itself, so the switches
     * over ms_err (which have no default, so the compiler names a missing case) need no case for it. */
} ms_err;

#define MS_ERR__COUNT (MS_ERR_UNAVAILABLE + 1)   /* how many codes there are: sizes tables indexed by code */

const char *ms_strerror(ms_err e);
/* The symbolic name ("no_such_process", ...) used as the JSON error code. */
const char *ms_errcode(ms_err e);
/* Maps an errno from open/read on /proc to the core error it means there. */
ms_err ms_err_from_errno(int err);

#endif
