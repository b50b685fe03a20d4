/* http.c - the libmicrohttpd glue: request contexts, routing, authentication, replies, error mapping
 * and request logging; each answered request is counted for /metrics (metrics.c).
 *
 * libmicrohttpd calls the access handler several times per request: once with the headers, then
 * once per chunk of body, then once more with no data, which is when we route and answer. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conns.h"
#include "core/num.h"
#include "gate.h"
#include "heaptrim.h"
#include "jw.h"
#include "log.h"
#include "metrics.h"

/* ---- errors ---- */

unsigned http_status_of(ms_err e)
{
    switch (e) {
    case MS_OK: return MHD_HTTP_OK;
    case MS_ERR_INVAL: return MHD_HTTP_BAD_REQUEST;
    case MS_ERR_RANGE: return MHD_HTTP_BAD_REQUEST;
    case MS_ERR_NOMM: return MHD_HTTP_CONFLICT;   /* the process's state, not the request, is why */
    case MS_ERR_NOENT: return MHD_HTTP_NOT_FOUND;
    case MS_ERR_PERM: return MHD_HTTP_FORBIDDEN;
    case MS_ERR_TOOBIG: return MHD_HTTP_CONTENT_TOO_LARGE;
    case MS_ERR_LIMIT: return MHD_HTTP_TOO_MANY_REQUESTS;
    case MS_ERR_UNSUPPORTED: return MHD_HTTP_NOT_IMPLEMENTED;   /* this kernel or build lacks it */
    case MS_ERR_NOMEM: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case MS_ERR_RESOURCE: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case MS_ERR_UNAVAILABLE: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case MS_ERR_PARSE:
    case MS_ERR_IO: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- replies ---- */

static void add_common_headers(http_req *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (r->srv->cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->srv->cors_origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
}

enum MHD_Result http_reply_response(http_req *r, unsigned status, struct MHD_Response *resp)
{
    add_common_headers(r, resp);
    r->status = status;
    r->replied = true;
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result http_reply_text(http_req *r, unsigned status, const char *ctype, ms_buf *b)
{
    struct MHD_Response *resp;
    if (b->data) {
        resp = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            ms_buf_free(b);
            return MHD_NO;
        }
        ms_buf_take(b, NULL);    /* the response owns the memory now */
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return http_reply_response(r, status, resp);
}

enum MHD_Result http_reply_json(http_req *r, unsigned status, ms_buf *b)
{
    return http_reply_text(r, status, "application/json", b);
}

enum MHD_Result http_reply_jw(http_req *r, unsigned status, jw *w, ms_buf *b)
{
    ms_err rc = jw_finish(w);
    if (rc != MS_OK) {
        ms_buf_free(b);
        return http_reply_ms(r, rc, "encoding the answer");
    }
    return http_reply_json(r, status, b);
}

/* The answer is made 16 KiB at a time (copied into MHD's chunk buffer until that is full): enough
 * that the per-call costs vanish, and with the core's stream buffer some 90 KiB per answer in
 * flight, all reused warm from malloc's heap. */
#define HTTP_STREAM_CHUNK ((size_t)16 << 10)
/* Each connection's memory in libmicrohttpd: the request line and headers, then the answer's send
 * buffer, which takes what they leave.  A streamed answer is sent a buffer at a time, and each
 * send() on loopback wakes the client and sends this thread back to epoll: at 64 KiB a 1.8 MB
 * answer took 30 of each and ~0.4 ms (5%) longer than with the 8 at 256 KiB; 512 KiB gained
 * nothing more.  The pages are touched only as far as an answer fills them, and stay so while the
 * connection lives. */
#define HTTP_CONN_MEMORY ((size_t)256 << 10)
/* The request's bounds, checked by screen(): past HTTP_CONN_MEMORY libmicrohttpd refuses it first. */
#define HTTP_MAX_URI ((size_t)64 << 10)
#define HTTP_MAX_HEADERS ((size_t)64 << 10)
/* MHD's own buffer for the response. */
#define HTTP_STREAM_BLOCK ((size_t)8 << 10)
/* The longest streamed answer an HTTP/1.0 client gets, made whole in memory first. */
#define HTTP10_WHOLE_MAX ((size_t)8 << 20)

typedef struct {
    ms_buf b;
    size_t off;             /* b[0, off) has been handed to MHD */
    bool done;
    void *ctx;
    http_fill_fn fill;
    void (*free_ctx)(void *);
    char what[128];
} http_stream;

static void stream_free(void *cls)
{
    http_stream *st = cls;
    if (st->free_ctx)
        st->free_ctx(st->ctx);
    ms_buf_free(&st->b);
    free(st);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_stream *st = cls;
    size_t n = 0;
    /* Fill all of MHD's buffer: fewer, larger chunks mean fewer send()s and wake-ups of the client. */
    while (n < max) {
        if (st->off == st->b.len) {
            if (st->done)
                break;
            ms_buf_reset(&st->b);
            st->off = 0;
            ms_err rc = st->fill(st->ctx, &st->b, HTTP_STREAM_CHUNK, &st->done);
            if (rc != MS_OK) {
                metrics_count_read_error(rc);
                log_warn("%s: %s; the answer was cut short", st->what, ms_strerror(rc));
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            continue;
        }
        size_t k = st->b.len - st->off;
        if (k > max - n)
            k = max - n;
        memcpy(buf + n, st->b.data + st->off, k);
        st->off += k;
        n += k;
    }
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

enum MHD_Result http_reply_stream(http_req *r, const char *ctype, void *ctx, http_fill_fn fill,
                                  void (*free_ctx)(void *), const char *what)
{
    http_stream *st = calloc(1, sizeof *st);
    if (!st) {
        free_ctx(ctx);
        return http_reply_ms(r, MS_ERR_NOMEM, "%s", what);
    }
    st->ctx = ctx;
    st->fill = fill;
    st->free_ctx = free_ctx;
    snprintf(st->what, sizeof st->what, "%s", what);
    ms_buf_init(&st->b, 0);
    ms_err rc = ms_buf_reserve(&st->b, HTTP_STREAM_CHUNK + HTTP_STREAM_CHUNK / 2);
    if (rc == MS_OK)
        rc = fill(ctx, &st->b, HTTP_STREAM_CHUNK, &st->done);
    if (rc != MS_OK) {
        stream_free(st);
        return http_reply_ms(r, rc, "%s", what);
    }
    /* HTTP/1.0 has no chunks: a streamed answer would end at the connection's close, and one cut
     * short (the process exited mid-read) would look whole.  So a 1.0 client gets the answer made
     * whole first and sent with a Content-Length, up to a bound; a longer one is refused. */
    while (rc == MS_OK && r->http10 && !st->done && st->b.len <= HTTP10_WHOLE_MAX)
        rc = fill(ctx, &st->b, st->b.len + HTTP_STREAM_CHUNK, &st->done);
    if (rc != MS_OK) {
        stream_free(st);
        return http_reply_ms(r, rc, "%s", what);
    }
    if (r->http10 && !st->done) {
        stream_free(st);
        return http_reply_error(r, MHD_HTTP_HTTP_VERSION_NOT_SUPPORTED, "http_version_not_supported",
                                "%s: the answer is over %zu MiB and is sent in chunks, which HTTP/1.0 cannot "
                                "frame; ask with HTTP/1.1", what, HTTP10_WHOLE_MAX >> 20);
    }
    struct MHD_Response *resp;
    if (st->done) {
        ms_buf b = st->b;
        ms_buf_take(&st->b, NULL);   /* b owns the memory now */
        stream_free(st);
        return http_reply_text(r, MHD_HTTP_OK, ctype, &b);
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, stream_read, st,
                                             stream_free);
    if (!resp) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}

ms_err http_error_json(ms_buf *b, const char *code, const char *msg, long step, const char *field)
{
    jw w;
    jw_init(&w, b);
    jw_obj(&w);
    jw_key(&w, "error");
    jw_obj(&w);
    jw_kstr(&w, "code", code);
    jw_kstr(&w, "message", msg);
    if (field) {
        if (step >= 0)
            jw_ki64(&w, "step", step);
        else
            jw_knull(&w, "step");
        jw_kstr(&w, "field", field);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    return jw_finish(&w);
}

/* An error answer with one extra header (Allow, WWW-Authenticate) or none. */
static enum MHD_Result reply_error_hdr(http_req *r, unsigned status, const char *code, const char *msg,
                                       const char *hname, const char *hval)
{
    ms_buf b;
    ms_buf_init(&b, 0);
    if (http_error_json(&b, code, msg, -1, NULL) != MS_OK) {
        ms_buf_free(&b);
        return MHD_NO;
    }
    /* 501 and 505 say what the client asked for is not offered: no fault of the server's. */
    if (status >= 500 && status != MHD_HTTP_NOT_IMPLEMENTED && status != MHD_HTTP_HTTP_VERSION_NOT_SUPPORTED)
        log_error("%s %s -> %u %s: %s", r->method, r->url, status, code, msg);
    else
        log_debug("%s %s -> %u %s: %s", r->method, r->url, status, code, msg);
    if (!hname)
        return http_reply_json(r, status, &b);
    struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        ms_buf_free(&b);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, hname, hval);
    return http_reply_response(r, status, resp);
}

static enum MHD_Result reply_errorv(http_req *r, unsigned status, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static enum MHD_Result reply_errorv(http_req *r, unsigned status, const char *code, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return reply_error_hdr(r, status, code, msg, NULL, NULL);
}

enum MHD_Result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result ret = reply_errorv(r, status, code, fmt, ap);
    va_end(ap);
    return ret;
}

enum MHD_Result http_reply_ms(http_req *r, ms_err e, const char *fmt, ...)
{
    char ctx[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    /* A per-process route failing on the kernel's side (not on bad input) is a process-read error. */
    if (r->reads_process)
        metrics_count_read_error(e);
    return http_reply_error(r, http_status_of(e), ms_errcode(e), "%s: %s", ctx, ms_strerror(e));
}

/* ---- arguments ---- */

const char *http_arg_get(const http_req *r, const char *k)
{
    for (int i = r->nargs - 1; i >= 0; i--)   /* the last of repeated keys wins */
        if (strcmp(r->args[i].k, k) == 0)
            return r->args[i].v ? r->args[i].v : "";
    return NULL;
}

bool http_args_check(http_req *r, const char *const *allowed)
{
    if (r->args_overflow) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "too many query arguments (at most %d)",
                         HTTP_MAX_ARGS);
        return false;
    }
    for (int i = 0; i < r->nargs; i++) {
        bool ok = false;
        for (const char *const *a = allowed; a && *a; a++)
            if (strcmp(*a, r->args[i].k) == 0)
                ok = true;
        if (!ok) {
            char list[256] = "";
            size_t n = 0;
            for (const char *const *a = allowed; a && *a && n < sizeof list - 40; a++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *a);
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "unknown_query_field",
                             "unknown query field '%.64s'%s%s", r->args[i].k,
                             n ? "; this route takes: " : "; this route takes no query fields", list);
            return false;
        }
    }
    return true;
}

bool http_param_pid(http_req *r, int idx, int *pid)
{
    const char *s = idx < r->nparams ? r->params[idx] : NULL;
    if (!s || !ms_parse_pid(s, pid)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_pid",
                         "pid must be a positive decimal integer below 2^31, got '%.32s'", s ? s : "");
        return false;
    }
    return true;
}

bool http_arg_addr(http_req *r, const char *k, bool required, uint64_t *out)
{
    const char *s = http_arg_get(r, k);
    if (!s) {
        if (required)
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_field", "query field '%s' is required (an address like 0x7f0000000000)", k);
        return !required;
    }
    if (!ms_parse_addr(s, out)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_address", "%s must be a hex address like 0x7f0000000000, got '%.40s'", k, s);
        return false;
    }
    return true;
}

bool http_arg_bool(http_req *r, const char *k, bool *out)
{
    const char *s = http_arg_get(r, k);
    *out = false;
    if (!s)
        return true;
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
        *out = true;
    else if (strcmp(s, "0") != 0 && strcmp(s, "false") != 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_flag", "%s must be 0 or 1, got '%.16s'", k, s);
        return false;
    }
    return true;
}

bool http_arg_time(http_req *r, const char *k, int64_t now, int64_t dflt, int64_t *out)
{
    const char *s = http_arg_get(r, k);
    uint64_t v;
    *out = dflt;
    if (!s)
        return true;
    if (ms_parse_u64(s, INT64_MAX, &v)) {
        *out = (int64_t)v;
        return true;
    }
    if (ms_parse_duration_ms(s, &v) && v <= (uint64_t)now) {
        *out = now - (int64_t)v;
        return true;
    }
    http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_time",
                     "%s must be Unix milliseconds or a duration ago like 30m, got '%.32s'", k, s);
    return false;
}

bool http_arg_duration(http_req *r, const char *k, uint64_t lo, uint64_t hi, uint64_t *out)
{
    const char *s = http_arg_get(r, k);
    if (!s)
        return true;
    if (!ms_parse_duration_ms(s, out) || *out < lo || *out > hi) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_duration",
                         "%s must be a duration from %" PRIu64 " ms to %" PRIu64 " ms like 10s, 1m or 2h, got '%.32s'",
                         k, lo, hi, s);
        return false;
    }
    return true;
}

bool http_arg_u64(http_req *r, const char *k, uint64_t max, uint64_t *out)
{
    const char *s = http_arg_get(r, k);
    if (s && !ms_parse_u64(s, max, out)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_number", "%s must be a whole number up to %" PRIu64 ", got '%.32s'",
                         k, max, s);
        return false;
    }
    return true;
}

/* ---- routing ---- */

/* Matches path against pattern, capturing {x} segments into r->params (pointers into a copy the
 * request owns).  Returns true on a match. */
static bool route_match(const char *pattern, const char *path, char *scratch, size_t scratch_len,
                        const char **params, int *nparams)
{
    const char *p = pattern, *u = path;
    size_t used = 0;
    int np = 0;
    while (*p && *u) {
        if (p[0] == '*' && p[1] == '\0')
            return *nparams = np, true;
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *ue = strchr(u, '/');
            size_t len = ue ? (size_t)(ue - u) : strlen(u);
            if (!pe || len == 0 || np >= HTTP_MAX_PARAMS || used + len + 1 > scratch_len)
                return false;
            memcpy(scratch + used, u, len);
            scratch[used + len] = '\0';
            params[np++] = scratch + used;
            used += len + 1;
            p = pe + 1;
            u += len;
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    if (p[0] == '*' && p[1] == '\0')
        return *nparams = np, true;
    if (*p || *u)
        return false;
    *nparams = np;
    return true;
}

static bool token_ok(const char *want, const char *header)
{
    /* Constant time in the token's length: every byte is compared whatever differs first.  The
     * scheme's name is case-insensitive (RFC 7235: "bearer" is "Bearer"). */
    static const char scheme[] = "Bearer";
    if (!header || strncasecmp(header, scheme, sizeof scheme - 1) != 0 || header[sizeof scheme - 1] != ' ')
        return false;
    const char *got = header + sizeof scheme - 1;
    while (*got == ' ')
        got++;
    size_t wl = strlen(want), gl = strlen(got);
    unsigned char diff = (unsigned char)(wl != gl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

typedef struct {
    http_req req;
    bool begun;                 /* the access handler has seen the headers */
    bool nul_in_path, nul_in_query;   /* the URL as sent holds "%00" */
    size_t uri_len;             /* of the URL as sent */
    const http_route *rt;       /* the route the headers matched */
    char scratch[512];
} req_slot;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    http_req *r = cls;
    if (r->nargs >= HTTP_MAX_ARGS) {
        r->args_overflow = true;
        return MHD_NO;
    }
    r->args[r->nargs].k = k;
    r->args[r->nargs].v = v;
    r->nargs++;
    return MHD_YES;
}

static atomic_uint in_flight;     /* requests begun and not yet completed */
/* How long no request must have begun before free heap pages are handed back: longer than the
 * gaps within a burst (a page's requests, a script's loop), short against a dashboard's refresh. */
#define HTTP_TRIM_IDLE_MS 1000

static req_slot *slot_new(server_ctx *srv, struct MHD_Connection *conn)
{
    req_slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_fetch_add(&in_flight, 1);
    heaptrim_busy();
    http_req *r = &s->req;
    r->srv = srv;
    r->conn = conn;
    r->method = "?";
    r->url = "?";
    r->route = "unmatched";
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    ms_buf_init(&r->body, srv->max_body);
    return s;
}

/* Called with the request line, before any header is read: the only place that sees the URL as
 * sent.  libmicrohttpd hands the handler a decoded URL, in which "%00" has cut the string short
 * ("/index.html%00.js" would be "/index.html"). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    conns_request_line(conn);
    req_slot *s = slot_new(cls, conn);
    if (s) {
        const char *q = strchr(uri, '?');
        const char *nul = strstr(uri, "%00");
        s->nul_in_path = nul && (!q || nul < q);
        s->nul_in_query = q && strstr(q, "%00");
        s->uri_len = strlen(uri);
    }
    return s;
}

/* With a token, the data behind /api/ and /metrics needs it.  The dashboard's files are public (a
 * browser cannot send the header before the page that asks for the token has loaded).  false:
 * refused, and the 401 is queued in *ret. */
static bool auth_ok(http_req *r, enum MHD_Result *ret)
{
    server_ctx *srv = r->srv;
    bool protected_path = (strncmp(r->url, "/api/", 5) == 0 && strcmp(r->url, "/api/v1/health") != 0) ||
                          strcmp(r->url, "/metrics") == 0;
    if (!srv->token || !protected_path)
        return true;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (token_ok(srv->token, auth))
        return true;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char who[INET6_ADDRSTRLEN] = "?";
    if (ci && ci->client_addr) {
        if (ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, who, sizeof who);
        else if (ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, who, sizeof who);
    }
    log_warn("unauthorized %s %s from %s (%s)", r->method, r->url, who,
             auth ? "wrong token" : "no Authorization header");
    r->route = "unauthorized";
    *ret = reply_error_hdr(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                           "this server needs 'Authorization: Bearer <token>'", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                           "Bearer");
    return false;
}

/* Finds the route for the method and URL, or queues the 404 or 405 in *ret and returns NULL. */
static const http_route *find_route(req_slot *s, enum MHD_Result *ret)
{
    http_req *r = &s->req;
    bool is_head = strcmp(r->method, "HEAD") == 0;
    bool path_matched = false;
    char allow[64] = "";
    for (size_t i = 0; i < http_nroutes; i++) {
        const http_route *rt = &http_routes[i];
        /* The dashboard's catch-all never answers under /api/: an unknown API path is a 404 there. */
        if (strcmp(rt->pattern, "/*") == 0 && strncmp(r->url, "/api/", 5) == 0)
            continue;
        if (!route_match(rt->pattern, r->url, s->scratch, sizeof s->scratch, r->params, &r->nparams))
            continue;
        if (strcmp(rt->method, r->method) == 0 || (is_head && strcmp(rt->method, "GET") == 0))
            return rt;
        if (!strstr(allow, rt->method) && strlen(allow) + strlen(rt->method) + 3 < sizeof allow) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, rt->method);
        }
        path_matched = true;
    }
    if (path_matched) {
        r->route = "method_not_allowed";
        char msg[160];
        snprintf(msg, sizeof msg, "%.16s is not allowed here; allowed: %s", r->method, allow);
        *ret = reply_error_hdr(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", msg, MHD_HTTP_HEADER_ALLOW, allow);
    } else {
        r->route = "not_found";
        *ret = http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route: %.16s %.200s", r->method, r->url);
    }
    return NULL;
}

static enum MHD_Result add_header_len(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    *(size_t *)cls += strlen(k) + (v ? strlen(v) : 0) + 4;   /* "k: v\r\n" */
    return MHD_YES;
}

/* Everything that can be judged on the headers is judged before the body is read, so that a
 * refusal goes out at once: a client that sent "Expect: 100-continue" gets it instead of
 * "100 Continue", and a body too large for a route that does not exist gets 404, not 413.  The
 * order: the URL's and the headers' sizes, a NUL in the URL, framing, Host and Origin (gate.c),
 * the token, the route and method, the body's size.
 * Queues a refusal or nothing; libmicrohttpd then reads no body and closes the connection. */
static enum MHD_Result screen(req_slot *s)
{
    http_req *r = &s->req;
    server_ctx *srv = r->srv;
    enum MHD_Result ret = MHD_YES;
    /* libmicrohttpd refuses only what overflows its connection's memory (HTTP_CONN_MEMORY), which
     * is sized for answers; the request's own bounds are these. */
    if (s->uri_len > HTTP_MAX_URI) {
        r->route = "refused";
        return http_reply_error(r, MHD_HTTP_URI_TOO_LONG, "uri_too_long", "the URL is over %zu KiB",
                                (size_t)HTTP_MAX_URI >> 10);
    }
    size_t hl = 0;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header_len, &hl);
    if (hl > HTTP_MAX_HEADERS) {
        r->route = "refused";
        return http_reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large",
                                "the request's headers are over %zu KiB", (size_t)HTTP_MAX_HEADERS >> 10);
    }
    if (s->nul_in_path) {   /* a path with a NUL in it names no route and no file */
        r->route = "not_found";
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such path: it holds an encoded NUL byte (%%00)");
    }
    if (s->nul_in_query) {
        r->route = "refused";
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                                "the query holds an encoded NUL byte (%%00), which would cut a value short");
    }
    gate_refusal g;
    gate_check(srv, r->conn, r->method, r->http10, &g);
    if (g.status) {
        r->route = "refused";
        return http_reply_error(r, g.status, g.code, "%s", g.msg);
    }
    if (!auth_ok(r, &ret))
        return ret;
    if (strcmp(r->method, "OPTIONS") == 0 && srv->cors_origin)
        return MHD_YES;   /* the preflight is answered in dispatch() */
    s->rt = find_route(s, &ret);
    if (!s->rt)
        return ret;
    gate_content_type(r->conn, r->method, &g);
    if (g.status) {
        r->route = "refused";
        return http_reply_error(r, g.status, g.code, "%s", g.msg);
    }
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t len;
    if (cl && ms_parse_u64(cl, UINT64_MAX, &len) && len > srv->max_body) {
        r->route = "body_too_big";
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                                "request body over %zu bytes", srv->max_body);
    }
    return MHD_YES;
}

static enum MHD_Result dispatch(req_slot *s)
{
    http_req *r = &s->req;
    server_ctx *srv = r->srv;
    if (strcmp(r->method, "OPTIONS") == 0 && srv->cors_origin) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        r->route = "OPTIONS";
        return http_reply_response(r, MHD_HTTP_NO_CONTENT, resp);
    }
    if (r->body_too_big) {   /* a chunked body, whose size the headers did not say */
        r->route = "body_too_big";
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                                "request body over %zu bytes", srv->max_body);
    }
    r->route = s->rt->pattern;
    r->reads_process = s->rt->reads_process;
    return s->rt->handler(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    req_slot *s = *con_cls;
    if (!s) {   /* on_uri could not allocate: try once more */
        s = slot_new(cls, conn);
        if (!s)
            return MHD_NO;
        *con_cls = s;
    }
    http_req *r = &s->req;
    if (!s->begun) {
        s->begun = true;
        r->method = method;
        r->url = url;
        r->http10 = version && strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, r);
        enum MHD_Result ret = screen(s);
        if (r->replied)
            conns_request_whole(conn);
        return ret;
    }
    if (*upload_data_size) {
        if (!r->replied && !r->body_too_big && ms_buf_append(&r->body, upload_data, *upload_data_size) != MS_OK) {
            r->body_too_big = true;
            ms_buf_free(&r->body);   /* keep reading (and dropping) the rest, then answer 413 */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->replied)
        return MHD_YES;
    conns_request_whole(conn);
    return dispatch(s);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    conns_request_done(conn);
    req_slot *s = *con_cls;
    if (!s)
        return;
    http_req *r = &s->req;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9;
    if (r->replied)
        metrics_count_request(r->route, r->status, secs);
    log_debug("%s %s %u %.3fms%s", r->method, r->url, r->status, secs * 1e3,
              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    ms_buf_free(&r->body);
    free(s);
    *con_cls = NULL;
    /* The last request in flight is done: free heap pages go back once no other request has
     * begun for a moment (heaptrim.h says why not at once). */
    if (atomic_fetch_sub(&in_flight, 1) == 1)
        heaptrim_idle();
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("libmicrohttpd: %s", msg);
}

/* The listening socket, made here rather than by libmicrohttpd so that it never gets SO_REUSEPORT
 * (with which another process of the same user could listen on the same port and be handed half
 * the connections, tokens and all) and so that a port in use is reported as such.  SO_REUSEADDR
 * only lets a restart bind while old connections linger in TIME_WAIT: on Linux it never lets a
 * second socket listen on a port. */
static int listen_on(const char *addr, unsigned port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        len = sizeof *sin;
    } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        len = sizeof *sin6;
    } else {
        log_error("not an IP address: %s", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        bool v6 = ss.ss_family == AF_INET6;
        if (e == EADDRINUSE)
            log_error("cannot listen on %s%s%s:%u: address in use (another process listens on this port)",
                      v6 ? "[" : "", addr, v6 ? "]" : "", port);
        else
            log_error("cannot listen on %s%s%s:%u: %s%s", v6 ? "[" : "", addr, v6 ? "]" : "", port, strerror(e),
                      e == EADDRNOTAVAIL ? " (not an address of this machine)" : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

struct MHD_Daemon *http_start(server_ctx *srv, unsigned port, unsigned threads, unsigned per_ip_limit)
{
    int fd = listen_on(srv->listen_addr, port);
    if (fd < 0)
        return NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        close(fd);
        return NULL;
    }
    srv->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    if (conns_start(srv->request_timeout_s, srv->idle_timeout_s, srv->max_conns) != MS_OK) {
        close(fd);
        return NULL;
    }
    if (heaptrim_start(HTTP_TRIM_IDLE_MS) != MS_OK)
        log_warn("no thread for trimming the heap later: it is trimmed after every request");
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)srv->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,   /* first, or MHD logs to stderr before it */
        MHD_OPTION_LISTEN_SOCKET, fd,                /* MHD owns it from here */
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, srv->max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_CONNECTION, conns_notify, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (!d) {
        conns_stop();
        heaptrim_stop();
    }
    return d;
}

void http_stop(void)
{
    conns_stop();
    heaptrim_stop();
}
