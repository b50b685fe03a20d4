/* routes_openapi.h - GET /api/v1/openapi.json (routes_openapi.c). */
#ifndef MEMSCOPE_ROUTES_OPENAPI_H
#define MEMSCOPE_ROUTES_OPENAPI_H

#include <stddef.h>

#include "http.h"

/* The OpenAPI document compiled in from server/openapi.json. */
enum MHD_Result h_openapi(http_req *r);
extern const unsigned char ms_openapi_doc[];
extern const size_t ms_openapi_doc_len;

#endif
