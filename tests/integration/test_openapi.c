/* test_openapi.c - on a real memscoped: GET /api/v1/openapi.json serves server/openapi.json (JSON,
 * ETag, 304 on If-None-Match), and every operation it documents answers: whatever the status, never
 * the router's own "no such route" 404 or a 405. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

/* path with {pid} -> the server's own pid, {cgroup} -> "memory", {file} -> "index.html", other
 * parameters -> "1". */
static void fill(const char *tmpl, int pid, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = tmpl; *p && n + 32 < cap;) {
        if (*p != '{') {
            out[n++] = *p++;
            continue;
        }
        const char *e = strchr(p, '}');
        if (!e)
            break;
        size_t len = (size_t)(e - p - 1);
        const char *v = "1";
        char num[16];
        if (len == 3 && memcmp(p + 1, "pid", 3) == 0) {
            snprintf(num, sizeof num, "%d", pid);
            v = num;
        } else if (len == 6 && memcmp(p + 1, "cgroup", 6) == 0) {
            v = "memory";
        } else if (len == 4 && memcmp(p + 1, "file", 4) == 0) {
            v = "index.html";
        }
        n += (size_t)snprintf(out + n, cap - n, "%s", v);
        p = e + 1;
    }
    out[n] = '\0';
}

int main(void)
{
    ms_server s;
    if (!server_start(&s, NULL)) {
        fprintf(stderr, "memscoped did not start\n");
        return 1;
    }
    http_resp r;
    CHECK(http_get(&s, "/api/v1/openapi.json", &r));
    CHECK(r.status == 200);
    CHECK(strncmp(r.content_type, "application/json", 16) == 0);
    CHECK(r.json != NULL);
    CHECK_STR(jstr(r.json, "openapi"), "3.1.0");
    char etag[128], inm[160];
    CHECK(http_header(&r, "ETag", etag, sizeof etag) != NULL);
    json_t *doc = json_incref(r.json);
    http_resp_free(&r);

    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *const hdr[] = {inm, NULL};
    CHECK(http_do(&s, "GET", "/api/v1/openapi.json", NULL, hdr, &r));
    CHECK(r.status == 304);
    http_resp_free(&r);
    CHECK(http_expect(&s, "GET", "/api/v1/openapi.json?x=1", NULL, NULL, 400, NULL));

    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op) {
            char url[512], m[16];
            fill(path, s.pid, url, sizeof url);
            size_t i = 0;
            for (; method[i] && i + 1 < sizeof m; i++)
                m[i] = (char)(method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i]);
            m[i] = '\0';
            /* The experiment event stream would stay open: its id 1 does not exist, so it answers 404
             * at once, as a POST with an empty object answers 400. */
            const char *body = strcmp(m, "POST") == 0 ? "{}" : NULL;
            if (!http_do(&s, m, url, body, NULL, &r)) {
                CHECK(!"request failed");
                continue;
            }
            const char *msg = r.json ? jstr(r.json, "error.message") : NULL;
            bool no_route = r.status == 405 || (r.status == 404 && msg && strncmp(msg, "no such route", 13) == 0);
            if (no_route)
                fprintf(stderr, "documented %s %s (as %s) answers %ld: %s\n", m, path, url, r.status,
                        msg ? msg : "");
            CHECK(!no_route);
            http_resp_free(&r);
            ops++;
        }
    }
    fprintf(stderr, "%zu documented operations answered\n", ops);
    CHECK(ops >= 30);
    json_decref(doc);
    CHECK(server_stop(&s) == 0);
    return check_done();
}
