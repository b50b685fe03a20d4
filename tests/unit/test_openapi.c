/* test_openapi.c - the OpenAPI document compiled into memscoped (server/openapi.json) and the route
 * table it serves (http_routes) name the same operations: every route is documented, and nothing is
 * documented that no route answers.  A route's trailing star is a documented parameter of its own
 * ({cgroup} under /api/v1/cgroups/, {file} for the dashboard's files). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "http.h"
#include "routes_openapi.h"

/* The document's path for a route pattern: a trailing "*" becomes its named parameter. */
static void doc_path(const char *pattern, char *out, size_t cap)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        snprintf(out, cap, "%.*s%s", (int)(n - 1), pattern,
                 strcmp(pattern, "/*") == 0 ? "{file}" : "{cgroup}");
    else
        snprintf(out, cap, "%s", pattern);
}

static void lower(const char *m, char *out, size_t cap)
{
    size_t i = 0;
    for (; m[i] && i + 1 < cap; i++)
        out[i] = (char)(m[i] >= 'A' && m[i] <= 'Z' ? m[i] + 32 : m[i]);
    out[i] = '\0';
}

int main(void)
{
    json_error_t e;
    json_t *doc = json_loadb((const char *)ms_openapi_doc, ms_openapi_doc_len, 0, &e);
    if (!doc)
        fprintf(stderr, "server/openapi.json: line %d: %s\n", e.line, e.text);
    CHECK(doc != NULL);
    if (!doc)
        return check_done();
    CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    CHECK(json_is_object(paths));

    /* Every route is documented, with its method. */
    size_t routes = 0;
    for (size_t i = 0; i < http_nroutes; i++) {
        char p[256], m[16];
        doc_path(http_routes[i].pattern, p, sizeof p);
        lower(http_routes[i].method, m, sizeof m);
        json_t *op = json_object_get(json_object_get(paths, p), m);
        if (!op)
            fprintf(stderr, "route %s %s is not in server/openapi.json (as %s)\n", http_routes[i].method,
                    http_routes[i].pattern, p);
        CHECK(json_is_object(op));
        CHECK(json_is_object(json_object_get(op, "responses")));
        routes++;
    }

    /* Every documented operation is a route. */
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op) {
            bool found = false;
            for (size_t i = 0; i < http_nroutes && !found; i++) {
                char p[256];
                doc_path(http_routes[i].pattern, p, sizeof p);
                found = strcmp(p, path) == 0 && strcasecmp(http_routes[i].method, method) == 0;
            }
            if (!found)
                fprintf(stderr, "server/openapi.json documents %s %s, which no route serves\n", method, path);
            CHECK(found);
            ops++;
        }
    }
    CHECK_EQ_U64(ops, routes);
    json_decref(doc);
    return check_done();
}
