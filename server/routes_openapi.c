/* routes_openapi.c - GET /api/v1/openapi.json: the OpenAPI 3.1 document of every route, kept by hand
 * as server/openapi.json and compiled into the binary (cmake/embed.cmake), so the document served is
 * always the one the build was tested against.  tests/unit/test_openapi.c checks it against the
 * route table; tests/openapi/ lints it and validates every answer the integration tests receive. */
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>

#include "http.h"
#include "routes_openapi.h"
#include "static.h"

enum MHD_Result h_openapi(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    /* The document changes only with the binary: its FNV-1a hash is a strong validator. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < ms_openapi_doc_len; i++)
        h = (h ^ ms_openapi_doc[i]) * 1099511628211ULL;
    char etag[32];
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)h);
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool hit = inm && none_match_hit(inm, etag);
    struct MHD_Response *resp = MHD_create_response_from_buffer(hit ? 0 : ms_openapi_doc_len,
                                                                (void *)ms_openapi_doc,
                                                                MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    return http_reply_response(r, hit ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
}
