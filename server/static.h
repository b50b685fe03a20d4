/* static.h - the dashboard's files (static.c). */
#ifndef MEMSCOPE_STATIC_H
#define MEMSCOPE_STATIC_H

#include <stdbool.h>

#include "http.h"

/* GET of any path outside /api/: a file of the web directory, never outside it. */
enum MHD_Result h_static(http_req *r);
/* If-None-Match inm matches etag (weak comparison, "*" matches all). */
bool none_match_hit(const char *inm, const char *etag);

#endif
