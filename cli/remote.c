/* remote.c - the subcommands that ask a running memscoped: get, history, diff, growth.
 *
 * A plain HTTP/1.1 GET over one TCP connection (Connection: close), so the command needs no HTTP
 * library: the answer is read to the end, then its body taken by Content-Length or decoded from
 * chunks.  An answer cut short (memscoped closes the connection without the last chunk when a
 * process exits mid-answer) is a failure, never printed as if whole.  The body is printed as
 * memscoped sent it; the exit code follows the status (404 -> 1, 400/413 -> 2, 401/403 -> 3). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "core/num.h"

#define DEFAULT_URL "http://127.0.0.1:8080"
#define ANSWER_MAX ((size_t)256 << 20)
#define IO_TIMEOUT_S 60

typedef struct {
    char host[256];            /* without brackets */
    char port[8];
    char hosthdr[272];         /* for the Host header: brackets kept */
} http_url;

static bool url_parse(const char *url, http_url *u)
{
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *h = url + 7, *end = h + strcspn(h, "/"), *colon;
    if (end[0] == '/' && end[1] != '\0')
        return false;          /* a base URL only: the route's path is added to it */
    size_t hl;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb)
            return false;
        hl = (size_t)(rb - h - 1);
        if (hl == 0 || hl >= sizeof u->host)
            return false;
        memcpy(u->host, h + 1, hl);
        colon = rb[1] == ':' ? rb + 1 : NULL;
        if (!colon && rb + 1 != end)
            return false;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        hl = (size_t)((colon ? colon : end) - h);
        if (hl == 0 || hl >= sizeof u->host)
            return false;
        memcpy(u->host, h, hl);
    }
    u->host[hl] = '\0';
    size_t pl = colon ? (size_t)(end - colon - 1) : 2;
    if (pl == 0 || pl >= sizeof u->port)
        return false;
    memcpy(u->port, colon ? colon + 1 : "80", pl);
    u->port[pl] = '\0';
    uint64_t port;
    if (!ms_parse_u64(u->port, 65535, &port) || port == 0)
        return false;
    snprintf(u->hosthdr, sizeof u->hosthdr, "%.*s", (int)(end - h), h);
    return true;
}

static int dial(const http_url *u)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(u->host, u->port, &hints, &res);
    if (g != 0) {
        fprintf(stderr, "memscope: cannot resolve %s: %s\n", u->host, gai_strerror(g));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "memscope: cannot connect to %s: %s (is memscoped running? --url says where)\n",
                u->hosthdr, strerror(err));
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Case-insensitive search for a header's value in the header block [h, end). */
static const char *header(const char *h, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p = h;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *len = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Decodes a chunked body in place; false when it is malformed or has no last chunk. */
static bool dechunk(char *p, size_t n, size_t *out_len)
{
    const char *end = p + n, *r = p;
    char *w = p;
    for (;;) {
        uint64_t sz;
        if (!ms_num_hex(&r, end, &sz))
            return false;
        const char *eol = memmem(r, (size_t)(end - r), "\r\n", 2);   /* skips chunk extensions */
        if (!eol)
            return false;
        r = eol + 2;
        if (sz == 0) {
            *out_len = (size_t)(w - p);
            return true;
        }
        if (sz > (uint64_t)(end - r) || (uint64_t)(end - r) - sz < 2 || r[sz] != '\r' || r[sz + 1] != '\n')
            return false;
        memmove(w, r, sz);
        w += sz;
        r += sz + 2;
    }
}

static int exit_of_status(unsigned status)
{
    if (status >= 200 && status < 300)
        return CLI_OK;
    if (status == 404)
        return CLI_NOPROC;
    if (status == 400 || status == 413)
        return CLI_USAGE;
    if (status == 401 || status == 403)
        return CLI_PERM;
    return CLI_FAIL;
}

/* GET path from the memscoped at --url and prints the body. */
static int http_get(const cli_opts *o, const char *path)
{
    const char *url = o->url ? o->url : getenv("MEMSCOPE_URL") ? getenv("MEMSCOPE_URL") : DEFAULT_URL;
    http_url u;
    if (!url_parse(url, &u)) {
        fprintf(stderr, "memscope: --url must look like http://HOST:PORT, got '%.64s'\n", url);
        return CLI_USAGE;
    }
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            fprintf(stderr, "memscope: a path has no spaces or control characters\n");
            return CLI_USAGE;
        }
    if (path[0] != '/') {
        fprintf(stderr, "memscope: the path must start with '/', like /api/v1/health\n");
        return CLI_USAGE;
    }
    const char *token = getenv("MEMSCOPE_TOKEN");
    ms_buf req, ans;
    ms_buf_init(&req, 0);
    ms_buf_init(&ans, ANSWER_MAX);
    int rc = CLI_FAIL, fd = -1;
    char line[512];
    int n = snprintf(line, sizeof line, "GET ");
    ms_err err = ms_buf_append(&req, line, (size_t)n);
    if (err == MS_OK)
        err = ms_buf_append(&req, path, strlen(path));
    n = snprintf(line, sizeof line, " HTTP/1.1\r\nHost: %s\r\nUser-Agent: memscope/%s\r\nAccept: application/json\r\n"
                 "Connection: close\r\n", u.hosthdr, MEMSCOPE_VERSION);
    if (err == MS_OK)
        err = ms_buf_append(&req, line, (size_t)n);
    if (err == MS_OK && token && *token) {
        err = ms_buf_append(&req, "Authorization: Bearer ", 22);
        if (err == MS_OK)
            err = ms_buf_append(&req, token, strcspn(token, "\r\n"));
        if (err == MS_OK)
            err = ms_buf_append(&req, "\r\n", 2);
    }
    if (err == MS_OK)
        err = ms_buf_append(&req, "\r\n", 2);
    if (err != MS_OK) {
        rc = cli_fail(err, "writing the request");
        goto out;
    }
    if ((fd = dial(&u)) < 0)
        goto out;
    if (!send_all(fd, req.data, req.len)) {
        fprintf(stderr, "memscope: sending the request to %s: %s\n", u.hosthdr, strerror(errno));
        goto out;
    }
    err = ms_read_fd(fd, &ans);
    if (err != MS_OK) {
        rc = cli_fail(err, "reading the answer from %s", u.hosthdr);
        goto out;
    }
    /* "HTTP/1.1 200 OK\r\n" headers "\r\n\r\n" body */
    const char *hend = ans.data ? memmem(ans.data, ans.len, "\r\n\r\n", 4) : NULL;
    const char *sp = ans.data ? memchr(ans.data, ' ', ans.len) : NULL;
    uint64_t status;
    const char *q = sp ? sp + 1 : NULL;
    if (!hend || strncmp(ans.data, "HTTP/1.", 7) != 0 || !q || !ms_num_dec(&q, hend, &status) || status > 999) {
        fprintf(stderr, "memscope: %s did not answer in HTTP\n", u.hosthdr);
        goto out;
    }
    char *body = (char *)hend + 4;
    size_t blen = ans.len - (size_t)(body - ans.data), vl;
    const char *te = header(ans.data, hend, "Transfer-Encoding", &vl);
    const char *cl = header(ans.data, hend, "Content-Length", &vl);
    if (te && vl >= 7 && strncasecmp(te, "chunked", 7) == 0) {
        if (!dechunk(body, blen, &blen)) {
            fprintf(stderr, "memscope: the answer from %s was cut short\n", u.hosthdr);
            goto out;
        }
    } else if (cl) {
        const char *c = cl;
        uint64_t want;
        if (!ms_num_dec(&c, cl + vl, &want) || want > blen) {
            fprintf(stderr, "memscope: the answer from %s was cut short\n", u.hosthdr);
            goto out;
        }
        blen = (size_t)want;
    }
    rc = exit_of_status((unsigned)status);
    FILE *f = rc == CLI_OK ? stdout : stderr;
    if (rc != CLI_OK)
        fprintf(stderr, "memscope: %s answered %u: ", u.hosthdr, (unsigned)status);
    fwrite(body, 1, blen, f);
    if (!blen || body[blen - 1] != '\n')
        fputc('\n', f);
    if (fflush(f) != 0)
        rc = CLI_FAIL;
out:
    if (fd >= 0)
        close(fd);
    ms_buf_free(&req);
    ms_buf_free(&ans);
    return rc;
}

/* Appends "&k=v" (or "?k=v" first), v percent-encoded, when v is given. */
static void add_query(char *path, size_t cap, const char *k, const char *v)
{
    if (!v)
        return;
    size_t n = strlen(path);
    n += (size_t)snprintf(path + n, n < cap ? cap - n : 0, "%c%s=", strchr(path, '?') ? '&' : '?', k);
    for (const unsigned char *p = (const unsigned char *)v; *p && n + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            path[n++] = (char)*p;
        else
            n += (size_t)snprintf(path + n, cap - n, "%%%02X", *p);
    }
    path[n < cap ? n : cap - 1] = '\0';
}

int cmd_get(const cli_cmd *c, cli_opts *o)
{
    (void)c;
    return http_get(o, o->pos[0]);
}

static int pid_path(const cli_cmd *c, const char *pid_s, const char *tail, char *path, size_t cap)
{
    int pid;
    if (!ms_parse_pid(pid_s, &pid))
        return cli_usage(c, "PID must be a positive decimal number, got '%.32s'", pid_s);
    snprintf(path, cap, "/api/v1/processes/%d/%s", pid, tail);
    return CLI_OK;
}

int cmd_history(const cli_cmd *c, cli_opts *o)
{
    char path[1024];
    int rc = pid_path(c, o->pos[0], "history", path, sizeof path);
    if (rc != CLI_OK)
        return rc;
    add_query(path, sizeof path, "since", o->since);
    add_query(path, sizeof path, "until", o->until);
    add_query(path, sizeof path, "step", o->step);
    return http_get(o, path);
}

int cmd_diff(const cli_cmd *c, cli_opts *o)
{
    char path[1024];
    int rc = pid_path(c, o->pos[0], "diff", path, sizeof path);
    if (rc != CLI_OK)
        return rc;
    add_query(path, sizeof path, "from", o->pos[1]);
    add_query(path, sizeof path, "to", o->npos > 2 ? o->pos[2] : NULL);
    return http_get(o, path);
}

int cmd_growth(const cli_cmd *c, cli_opts *o)
{
    (void)c;
    char path[1024] = "/api/v1/growth";
    add_query(path, sizeof path, "window", o->window);
    return http_get(o, path);
}
