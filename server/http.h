/* http.h - memscoped's HTTP layer: the request, the route table, replies, and the one place where a
 * core error becomes an HTTP status.
 *
 * Handlers are short: validate the request, call core, write JSON, reply.  Every reply goes through
 * http_reply_*, which adds the security headers, counts the request for /metrics and logs it. */
#ifndef MEMSCOPE_HTTP_H
#define MEMSCOPE_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/error.h"
#include "jw.h"
#include "server.h"

#define HTTP_MAX_ARGS 16
#define HTTP_MAX_PARAMS 4

typedef struct {
    const char *k, *v;
} http_arg;

typedef struct http_req {
    server_ctx *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *route;          /* the route pattern matched, for metrics labels */
    bool reads_process;         /* the route's flag, once routed */
    const char *params[HTTP_MAX_PARAMS];   /* {pid}, {id} captures, in order */
    int nparams;
    http_arg args[HTTP_MAX_ARGS];
    int nargs;
    bool args_overflow;
    ms_buf body;
    bool body_too_big;
    bool http10;                /* an HTTP/1.0 client: no chunked answers */
    struct timespec t0;
    unsigned status;            /* set when the reply is queued */
    bool replied;
} http_req;

typedef enum MHD_Result (*http_handler)(http_req *r);

/* The route table lives in routes.c. */
typedef struct {
    const char *method;
    const char *pattern;        /* "/api/v1/processes/{pid}/maps"; a trailing star segment matches any tail */
    http_handler handler;
    /* The route reads a process's /proc files: a core error it answers with (http_reply_ms) is
     * counted in /metrics' process read errors. */
    bool reads_process;
} http_route;
extern const http_route http_routes[];
extern const size_t http_nroutes;

/* Binds srv->listen_addr:port itself (without SO_REUSEPORT, so no other process can share the
 * port, and a port in use is an error that says so) and starts the daemon.  port 0 picks a free
 * one; srv->port tells which.  Connection limits and timeouts come from srv. */
struct MHD_Daemon *http_start(server_ctx *srv, unsigned port, unsigned threads, unsigned per_ip_limit);
/* Ends what http_start began beside the daemon (the connection watchdog); after MHD_stop_daemon. */
void http_stop(void);

/* The status for each core error: the only such mapping in memscoped. */
unsigned http_status_of(ms_err e);

/* Replies.  http_reply_json takes b's memory (b is reset). */
enum MHD_Result http_reply_json(http_req *r, unsigned status, ms_buf *b);
enum MHD_Result http_reply_text(http_req *r, unsigned status, const char *ctype, ms_buf *b);
/* Finishes the JSON w wrote into b and replies with it (taking b's memory), or, when the writer
 * failed, with that error. */
enum MHD_Result http_reply_jw(http_req *r, unsigned status, jw *w, ms_buf *b);
enum MHD_Result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The one shape of every error body: {"error":{"code","message"}}, plus "step" and "field" when
 * field is non-NULL (step < 0 writes null), for refusals that point into a request. */
ms_err http_error_json(ms_buf *b, const char *code, const char *msg, long step, const char *field);
/* A core error with context, e.g. http_reply_ms(r, rc, "reading smaps of %d", pid). */
enum MHD_Result http_reply_ms(http_req *r, ms_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queue an already built response (static files, streams); adds common headers. */
enum MHD_Result http_reply_response(http_req *r, unsigned status, struct MHD_Response *resp);

/* An answer made piece by piece, for bodies that grow with the process (maps, smaps): fill appends
 * the next part to b until b->len reaches want or the body ends (then *done = true).  The first
 * part is made before anything is sent, so a failure there is an ordinary error answer (what: the
 * context for its message, "reading smaps of 42"), and a body that ends within it goes out whole
 * with a Content-Length.  A longer one is sent chunked as it is made, from one small buffer; a
 * failure after the headers cuts the connection, so a client sees an incomplete answer, never a
 * wrong one.  An HTTP/1.0 client, which has no chunks, gets the body made whole first and sent with
 * a Content-Length, up to 8 MiB, and a 505 beyond.  ctx is passed to free_ctx in every case, when
 * the answer is over. */
typedef ms_err (*http_fill_fn)(void *ctx, ms_buf *b, size_t want, bool *done);
enum MHD_Result http_reply_stream(http_req *r, const char *ctype, void *ctx, http_fill_fn fill,
                                  void (*free_ctx)(void *), const char *what);

/* Query arguments. */
const char *http_arg_get(const http_req *r, const char *k);
/* Replies 400 and returns false if the request has a query argument not in allowed (NULL-ended). */
bool http_args_check(http_req *r, const char *const *allowed);
/* Parses a pid path parameter; replies 400 and returns false if it is not a positive decimal. */
bool http_param_pid(http_req *r, int idx, int *pid);
/* Typed query fields.  Each leaves *out as it was when the field is absent (http_arg_bool sets
 * false, http_arg_time dflt) and returns true; on a bad value it replies 400 naming the field and
 * returns false. */
/* A hex address ("0x7f0000000000"); required: absence is a 400 too. */
bool http_arg_addr(http_req *r, const char *k, bool required, uint64_t *out);
/* A flag: 1/true or 0/false. */
bool http_arg_bool(http_req *r, const char *k, bool *out);
/* A time: Unix milliseconds, or a duration ago ("30m") counted back from now. */
bool http_arg_time(http_req *r, const char *k, int64_t now, int64_t dflt, int64_t *out);
/* A duration ("10s", "1m", "2h") in milliseconds, from lo to hi. */
bool http_arg_duration(http_req *r, const char *k, uint64_t lo, uint64_t hi, uint64_t *out);
/* A whole number up to max. */
bool http_arg_u64(http_req *r, const char *k, uint64_t max, uint64_t *out);

#endif
