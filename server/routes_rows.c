/* routes_rows.c - the rows layout of the region lists beside the object layout: the layout query
 * argument /maps and /smaps share, and the rows of /maps?rss=1.
 *
 * /maps?rss=1&layout=rows follows /smaps?layout=rows (encode.c) to the element, so one parser in
 * the dashboard reads both: each region an array of the head "columns", then the "fields" columns
 * (here rss, huge and hugetlb, the object layout's names), then vm_flags (null: maps does not tell
 * them), then an object with path_hex only when the path is not UTF-8.  The page paints from this
 * answer first, a third of the bytes of the objects and parsed as arrays of numbers. */
#include <stdint.h>
#include <string.h>

#include "encode.h"
#include "routes_rows.h"

bool routes_layout_arg(http_req *r, bool *rows)
{
    const char *layout = http_arg_get(r, "layout");
    *rows = layout && strcmp(layout, "rows") == 0;
    if (layout && !*rows && strcmp(layout, "objects") != 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_layout", "layout must be 'rows' or 'objects', got '%.32s'", layout);
        return false;
    }
    return true;
}

bool routes_range_arg(http_req *r, uint64_t *lo, uint64_t *hi)
{
    *lo = 0;
    *hi = UINT64_MAX;
    if (!http_arg_addr(r, "start", false, lo) || !http_arg_addr(r, "end", false, hi))
        return false;
    if (*lo >= *hi) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_range", "start must be below end, got %#llx..%#llx",
                         (unsigned long long)*lo, (unsigned long long)*hi);
        return false;
    }
    return true;
}

static const char RSS_FIELDS[] = "\"fields\":[\"rss\",\"huge\",\"hugetlb\"]";
static const char RSS_PSS_FIELDS[] = "\"fields\":[\"rss\",\"huge\",\"hugetlb\",\"pss\"]";

void rows_rss_open(jw *w, bool pss)
{
    enc_rows_columns(w);
    if (pss)
        jw_members_raw(w, RSS_PSS_FIELDS, sizeof RSS_PSS_FIELDS - 1);
    else
        jw_members_raw(w, RSS_FIELDS, sizeof RSS_FIELDS - 1);
}

void rows_rss_region(jw *w, const ms_region *g, const ms_region_rss *v, const uint64_t *pss)
{
    char b[4 * 21 + 8];
    size_t n = jw_fmt_u64(b, v->rss);
    b[n++] = ',';
    n += jw_fmt_u64(b + n, v->huge);
    b[n++] = ',';
    n += jw_fmt_u64(b + n, v->hugetlb);
    if (pss) {
        b[n++] = ',';
        n += jw_fmt_u64(b + n, *pss);
    }
    jw_arr(w);
    enc_region_row_head(w, g);
    jw_members_raw(w, b, n);
    jw_null(w);
    if (!jw_utf8_valid(g->path, g->path_len)) {
        jw_obj(w);
        enc_path_hex(w, g->path, g->path_len);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}
