/* static.c - serves the dashboard's files from the web directory.
 *
 * Files are opened relative to the web root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so
 * neither "..", an absolute path nor a symlink can lead out of it; only regular files are served.
 * Each answer carries a content security policy that allows this origin only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http.h"
#include "static.h"

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                          "frame-ancestors 'none'; form-action 'self'";

static const char *content_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
        {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* Only plain names: no empty, "." or ".."-led segment, no dot files, no control bytes. */
static bool path_ok(const char *rel)
{
    if (!*rel || strlen(rel) > 512)
        return false;
    const char *seg = rel;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg || seg[0] == '.')
                return false;
            if (*p == '\0')
                return true;
            seg = p + 1;
        } else if ((unsigned char)*p < 0x20 || *p == '\\') {
            return false;
        }
    }
}

static int open_beneath(int dirfd, const char *rel)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, holding a worker
     * thread (and the server's shutdown) forever; fstat() then refuses anything but a regular file. */
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS)   /* pre-5.6 kernel: no symlinks at all rather than none checked */
        fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    return (int)fd;
}

/* If-None-Match holds "*" or an entity tag equal to etag by the weak comparison (RFC 9110 8.8.3.2:
 * a W/ prefix on either side is ignored), which is the one a GET uses. */
bool none_match_hit(const char *inm, const char *etag)
{
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *e = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!e)
            return false;   /* not an entity tag: ignore the rest */
        if ((size_t)(e + 1 - p) == el && memcmp(p, etag, el) == 0)
            return true;
        p = e + 1;
    }
    return false;
}

enum MHD_Result h_static(http_req *r)
{
    server_ctx *srv = r->srv;
    r->route = "static";
    if (srv->web_fd < 0)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
                                "this memscoped serves no dashboard (no web directory); the API is under /api/v1/");
    const char *rel = r->url[0] == '/' ? r->url + 1 : r->url;
    if (*rel == '\0')
        rel = "index.html";
    if (!path_ok(rel))
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such file");
    int fd = open_beneath(srv->web_fd, rel);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such file");
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec,
             (unsigned long long)st.st_size);
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    /* A 304 is the same response as the 200: libmicrohttpd writes the Content-Length of the
     * response on it (RFC 9110 8.6 allows only the 200's length there, not 0) and sends no body
     * with a 304, as with HEAD.  Setting the header ourselves would give two, and an unknown
     * length a chunked 304. */
    unsigned status = inm && none_match_hit(inm, etag) ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);   /* takes fd */
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(rel));
    /* Small files without hashed names: always revalidate, answered by a cheap 304. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    return http_reply_response(r, status, resp);
}
