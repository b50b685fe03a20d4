/* routes_rows.h - the rows layout of the region lists (routes_rows.c): the layout query argument of
 * /maps and /smaps, and the rows of /maps?rss=1 (written by routes_fast.c's stream). */
#ifndef MEMSCOPE_ROUTES_ROWS_H
#define MEMSCOPE_ROUTES_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/maps.h"
#include "core/rssmap.h"
#include "http.h"
#include "jw.h"

/* layout=rows|objects (absent: objects) into *rows; replies 400 bad_layout and returns false on
 * anything else. */
bool routes_layout_arg(http_req *r, bool *rows);
/* start=ADDR&end=ADDR: only the regions that overlap [start, end), either one alone bounding one
 * side (absent: the whole address space, *lo 0 and *hi UINT64_MAX).  Replies 400 and returns false
 * on an address that does not parse or an empty range. */
bool routes_range_arg(http_req *r, uint64_t *lo, uint64_t *hi);
/* /maps?rss=1&layout=rows: the document's "layout", "columns" and "fields" members, before its
 * "regions"; then one region with its resident figures as a row. */
void rows_rss_open(jw *w, bool pss);
/* pss: the region's PSS, a column of its own after hugetlb (NULL: no such column). */
void rows_rss_region(jw *w, const ms_region *g, const ms_region_rss *v, const uint64_t *pss);

#endif
