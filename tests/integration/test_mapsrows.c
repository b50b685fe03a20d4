/* test_mapsrows.c - the rows layout of /maps and /maps?rss=1 against their object layout.
 *
 * Against a real memscoped and a live subject holding still (2,000 regions, huge pages, and a mapped
 * file whose name is not UTF-8): /maps?rss=1&layout=rows, from either source (pagemap_scan and
 * smaps), and /maps?layout=rows say region by region, figure by figure, exactly what the object
 * layout says, and the same of everything outside the regions (source, count, totals, ...); the row
 * has the shape /smaps?layout=rows has (head columns, field columns, a null VmFlags slot, path_hex in
 * a trailing object only where needed).  A kernel thread gets an empty list the same way.  A layout
 * other than rows or objects is 400 bad_layout. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "kthread.h"

static ms_server srv;

/* How many rows carried a trailing object (path_hex), over every comparison that matched. */
static size_t rows_with_more;

/* One row turned back into the object layout: head columns and field columns as members, path_hex
 * from the trailing object.  NULL when the row does not have the rows layout's shape. */
static json_t *row_as_object(const json_t *cols, const json_t *fields, const json_t *row)
{
    size_t nh = json_array_size(cols), nf = json_array_size(fields), n = json_array_size(row);
    const json_t *more = json_array_get(row, nh + nf + 1);
    if (!json_is_array(row) || !json_is_null(json_array_get(row, nh + nf)) || n != nh + nf + 1 + (more != NULL))
        return NULL;
    if (more && !(json_is_object(more) && json_object_size(more) == 1 && json_object_get(more, "path_hex")))
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < nh + nf; i++) {
        const json_t *name = json_array_get(i < nh ? cols : fields, i < nh ? i : i - nh);
        json_object_set(o, json_string_value(name), json_array_get(row, i));
    }
    if (more) {
        json_object_set(o, "path_hex", json_object_get(more, "path_hex"));
        rows_with_more++;
    }
    return o;
}

/* Whether rows says what objs says: every region, every figure, every other member. */
static bool rows_match(const json_t *rows, const json_t *objs, const char *const *want_fields)
{
    const json_t *cols = json_object_get(rows, "columns"), *fields = json_object_get(rows, "fields");
    json_t *want = json_array();
    for (size_t i = 0; want_fields[i]; i++)
        json_array_append_new(want, json_string(want_fields[i]));
    bool same = json_is_string(json_object_get(rows, "layout")) && strcmp(jstr(rows, "layout"), "rows") == 0 &&
                json_equal(fields, want) && json_array_size(cols) == 10;
    json_decref(want);
    json_t *conv = json_array();
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(rows, "regions"), i, row) {
        json_t *o = row_as_object(cols, fields, row);
        if (!o) {
            same = false;
            break;
        }
        json_array_append_new(conv, o);
    }
    same = same && json_equal(conv, json_object_get(objs, "regions"));
    json_decref(conv);
    /* + layout, columns, fields, regions */
    return same && json_members_match(rows, objs, "regions", 4);
}

/* query's rows against its objects read just before and just after.  When those two agree the rows
 * must say exactly the same; a mismatch fails only when it repeats at three quiet moments (a shared
 * library's page can come or go in between, the subject itself is blocked). */
static void rows_equal_objects(int pid, const char *query, const char *const *want_fields)
{
    int quiet_mismatches = 0;
    for (int attempt = 0; attempt < 20; attempt++) {
        json_t *a = http_get_json(&srv, "/api/v1/processes/%d/maps%s", pid, query);
        json_t *r = http_get_json(&srv, "/api/v1/processes/%d/maps%s%slayout=rows", pid, query, *query ? "&" : "?");
        json_t *b = http_get_json(&srv, "/api/v1/processes/%d/maps%s", pid, query);
        CHECK(a && r && b);
        bool quiet = a && b && r && json_equal(a, b);
        size_t before = rows_with_more;
        bool same = quiet && rows_match(r, a, want_fields);
        if (!same)
            rows_with_more = before;
        json_decref(a);
        json_decref(r);
        json_decref(b);
        if (same || (quiet && ++quiet_mismatches == 3)) {
            if (!same)
                fprintf(stderr, "maps%s of %d: the rows differ from the objects at 3 quiet moments\n", query, pid);
            CHECK(same);
            return;
        }
    }
    CHECK_SKIP("maps%s of %d kept changing between reads (20 tries): its rows not compared", query, pid);
}

static const char *const RSS_FIELDS[] = {"rss", "huge", "hugetlb", NULL};
static const char *const NO_FIELDS[] = {NULL};

static void test_rows_still(void)
{
    char dir[] = "/tmp/ms-mapsrows-XXXXXX", bad[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(bad, sizeof bad, "%s/bad\xff\xfe name", dir);
    int fd = open(bad, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 16) == 0);
    if (fd >= 0)
        close(fd);
    ms_subject s;
    const char *args[] = {"--pages", "200", "--write", "60", "--regions", "2000", "--thp", "4M",
                          "--map-file", bad, NULL};
    if (!subject_start(&s, args)) {
        CHECK(!"subject did not start");
        return;
    }
    CHECK(subject_wait_blocked(&s));
    json_t *fast = http_get_json(&srv, "/api/v1/processes/%d/maps?rss=1&layout=rows", (int)s.pid);
    CHECK(fast && json_array_size(json_object_get(fast, "regions")) > 2000);
    CHECK_STR(jstr(fast, "source"), "pagemap_scan");
    json_decref(fast);
    rows_equal_objects((int)s.pid, "?rss=1", RSS_FIELDS);
    rows_equal_objects((int)s.pid, "?rss=1&method=smaps", RSS_FIELDS);
    rows_equal_objects((int)s.pid, "", NO_FIELDS);
    /* the file whose name is not UTF-8 went through the trailing object, in each of the three */
    CHECK_EQ_U64(rows_with_more, 3);
    subject_stop(&s);
    unlink(bad);
    rmdir(dir);
}

static void test_rows_bad_input(void)
{
    static const struct {
        const char *query;
        long status;
        const char *code;
    } cases[] = {
        {"?layout=row", 400, "bad_layout"},
        {"?rss=1&layout=", 400, "bad_layout"},
        {"?rss=1&method=smaps&layout=ROWS", 400, "bad_layout"},
        {"?rss=1&layout=objects", 200, NULL},
    };
    char p[160];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(p, sizeof p, "/api/v1/processes/%d/maps%s", (int)getpid(), cases[i].query);
        CHECK(http_expect(&srv, "GET", p, NULL, NULL, cases[i].status, cases[i].code));
    }
    CHECK(http_expect(&srv, "GET", "/api/v1/processes/999999999/maps?rss=1&layout=rows", NULL, NULL, 404, NULL));
    if (!pid2_is_kthread()) {
        CHECK_SKIP("pid 2 is not a kernel thread here (a pid namespace of its own): no kernel thread to ask");
        return;
    }
    rows_equal_objects(2, "?rss=1", RSS_FIELDS);
    rows_equal_objects(2, "", NO_FIELDS);
}

int main(void)
{
    if (!server_start(&srv, NULL)) {
        fprintf(stderr, "server did not start\n");
        return 1;
    }
    test_rows_still();
    test_rows_bad_input();
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
