/* gate.c - see gate.h.  Everything here reads request headers only; nothing is allocated. */
#include "gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/num.h"

typedef struct {
    unsigned ncl, nte;
    const char *cl, *te;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    framing *f = cls;
    if (strcasecmp(k, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->ncl++;
        f->cl = v;
    } else if (strcasecmp(k, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->nte++;
        f->te = v;
    }
    return MHD_YES;
}

static void refuse(gate_refusal *out, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(gate_refusal *out, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->msg, sizeof out->msg, fmt, ap);
    va_end(ap);
    out->status = status;
    out->code = code;
}

/* One way to read where the body ends: at most one Content-Length, never beside a
 * Transfer-Encoding, and no transfer coding but chunked (which libmicrohttpd decodes). */
static bool framing_ok(struct MHD_Connection *conn, framing *f, gate_refusal *out)
{
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, f);
    if (f->ncl > 1) {
        refuse(out, MHD_HTTP_BAD_REQUEST, "bad_request", "more than one Content-Length header");
        return false;
    }
    if (f->nte && f->ncl) {
        refuse(out, MHD_HTTP_BAD_REQUEST, "bad_request", "both Content-Length and Transfer-Encoding");
        return false;
    }
    if (f->nte > 1 || (f->te && strcasecmp(f->te, "chunked") != 0)) {
        refuse(out, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented",
               "Transfer-Encoding '%.40s' is not supported: send the body with Content-Length or chunked",
               f->te ? f->te : "");
        return false;
    }
    return true;
}

/* The name in a Host value (IPv6 brackets removed); false if the value is malformed. */
static bool host_name(const char *h, char *name, size_t cap)
{
    const char *end, *colon;
    if (h[0] == '[') {
        end = strchr(h, ']');
        if (!end)
            return false;
        h++;
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon)
            return false;
    } else {
        colon = strchr(h, ':');
        end = colon ? colon : h + strlen(h);
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= cap)
        return false;
    memcpy(name, h, n);
    name[n] = '\0';
    uint64_t port;
    return !colon || ms_parse_u64(colon + 1, 65535, &port);
}

/* name is an IP address literal equal to the socket address sa (the port aside). */
static bool same_address(const char *name, const struct sockaddr *sa)
{
    unsigned char a[16];
    if (sa->sa_family == AF_INET && inet_pton(AF_INET, name, a) == 1)
        return memcmp(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4) == 0;
    if (sa->sa_family == AF_INET6 && inet_pton(AF_INET6, name, a) == 1)
        return memcmp(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16) == 0;
    return false;
}

static bool loopback_name(const char *name)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(name, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Host names this server: a loopback name or address, the address the connection came in on, or a
 * name given with --allow-host.  The port is not compared: an ssh tunnel (ssh -L 9000:localhost:8080)
 * or a proxy forwards a port of its own, and a rebinding page is told apart by its name. */
static bool host_ok(const server_ctx *srv, struct MHD_Connection *conn, const char *host)
{
    char name[256];
    if (!host_name(host, name, sizeof name))
        return false;
    for (size_t i = 0; i < srv->nallow_hosts; i++)
        if (strcasecmp(name, srv->allow_hosts[i]) == 0)
            return true;
    if (loopback_name(name))
        return true;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci && getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) == 0 &&
           same_address(name, (const struct sockaddr *)&ss);
}

/* Origin is this server as the request names it, or the --cors-origin. */
static bool origin_ok(const server_ctx *srv, const char *origin, const char *host)
{
    static const char scheme[] = "http://";
    if (srv->cors_origin && strcmp(origin, srv->cors_origin) == 0)
        return true;
    return host && strncasecmp(origin, scheme, sizeof scheme - 1) == 0 &&
           strcasecmp(origin + sizeof scheme - 1, host) == 0;
}

/* The media type, parameters and case aside, is application/json. */
static bool json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

void gate_check(const server_ctx *srv, struct MHD_Connection *conn, const char *method, bool http10,
                gate_refusal *out)
{
    out->status = 0;
    out->code = NULL;
    out->msg[0] = '\0';
    framing f = {0};
    if (!framing_ok(conn, &f, out))
        return;
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host && !http10) {
        refuse(out, MHD_HTTP_BAD_REQUEST, "bad_request", "an HTTP/1.1 request needs a Host header");
        return;
    }
    if (host && !host_ok(srv, conn, host)) {
        refuse(out, MHD_HTTP_MISDIRECTED_REQUEST, "misdirected_request",
               "Host '%.64s' is not this server: it answers to localhost, 127.0.0.0/8 and [::1], the "
               "address it listens on, and names given with --allow-host", host);
        return;
    }
    bool safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
    if (safe)
        return;
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (origin && !origin_ok(srv, origin, host)) {
        refuse(out, MHD_HTTP_FORBIDDEN, "forbidden_origin",
               "a %.16s from origin '%.64s' is refused: only this server's own pages (or --cors-origin) "
               "may change state", method, origin);
        return;
    }
}

void gate_content_type(struct MHD_Connection *conn, const char *method, gate_refusal *out)
{
    out->status = 0;
    bool safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
    if (safe)
        return;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    bool has_body = te || (cl && strcmp(cl, "0") != 0);
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if ((strcmp(method, "DELETE") != 0 || has_body) && !json_type(ct))
        refuse(out, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
               "a %.16s needs 'Content-Type: application/json'%s%.64s", method, ct ? ", not " : "",
               ct ? ct : "");
}
