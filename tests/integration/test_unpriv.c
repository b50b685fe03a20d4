/* test_unpriv.c - memscoped run as `nobody`: what the kernel lets it read is served, the
 * rest is 403 saying why, and frame numbers are reported hidden (null, with the reason), never 0.
 *
 * The server is started through `setpriv --reuid=nobody --regid=nogroup --clear-groups`, so it has
 * no capabilities at all.  The subject runs as root (this test's user): another user's process.
 * The server's own process is the one it may read in full. */
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static ms_server srv;
static ms_subject subj;

static void expect_403(const char *path)
{
    http_resp r;
    CHECK(http_get(&srv, path, &r));
    const char *code = r.json ? jstr(r.json, "error.code") : NULL;
    const char *msg = r.json ? jstr(r.json, "error.message") : NULL;
    if (r.status != 403 || !code || strcmp(code, "permission_denied") != 0 || !msg || !strstr(msg, "permission")) {
        fprintf(stderr, "GET %s: want 403 permission_denied with a reason, got %ld %.300s\n", path, r.status,
                r.body ? r.body : "");
        check_fail_++;
    } else {
        check_pass_++;
    }
    http_resp_free(&r);
}
int main(void)
{
    if (geteuid() != 0 || !getpwnam("nobody")) {
        printf("skipped: needs root (to become nobody) and a nobody user\n");
        return 0;
    }
    const char *wrap[] = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", NULL};
    const char *args[] = {"--pages", "16", "--write", "4", NULL};
    if (!subject_start(&subj, args) || !server_start_cmd(&srv, wrap, NULL)) {
        fprintf(stderr, "could not start the subject or memscoped as nobody\n");
        return 1;
    }
    char p[256];

    /* health says what this instance cannot see */
    json_t *h = http_get_json(&srv, "%s", "/api/v1/health");
    CHECK(h != NULL);
    CHECK_EQ_U64(jint(h, "uid"), getpwnam("nobody")->pw_uid);
    CHECK(h && json_is_false(json_object_get(json_object_get(h, "can_see"), "pfn")));
    CHECK(h && json_is_false(json_object_get(json_object_get(h, "can_see"), "kpageflags")));
    json_decref(h);

    /* the process list works: status and stat are world-readable */
    json_t *l = http_get_json(&srv, "%s", "/api/v1/processes");
    CHECK(l && jint(l, "count") > 1);
    bool seen = false;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "processes"), i, it)
        if (jint(it, "pid") == subj.pid) {
            seen = true;
            CHECK_STR(jstr(it, "user"), "root");
            CHECK(jint(it, "vm_rss") > 0);
        }
    CHECK(seen);
    json_decref(l);

    /* another user's process: the summary is served, its layout said hidden; the rest is 403 */
    snprintf(p, sizeof p, "/api/v1/processes/%d", subj.pid);
    json_t *pr = http_get_json(&srv, "%s", p);
    CHECK(pr && json_is_false(json_object_get(json_object_get(pr, "layout"), "visible")));
    CHECK(pr && jstr(pr, "layout.hidden_reason") && strstr(jstr(pr, "layout.hidden_reason"), "ptrace"));
    CHECK(pr && json_is_null(json_object_get(pr, "rollup")) && jstr(pr, "rollup_error"));
    CHECK(pr && jint(pr, "status.vm_rss") > 0);
    json_decref(pr);
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps", subj.pid);
    expect_403(p);
    snprintf(p, sizeof p, "/api/v1/processes/%d/smaps", subj.pid);
    expect_403(p);
    unsigned long long a = subject_addr(&subj, "area");
    snprintf(p, sizeof p, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx", subj.pid, a, a + 16 * 4096ULL);
    expect_403(p);
    snprintf(p, sizeof p, "/api/v1/processes/%d/translate?addr=0x%llx", subj.pid, a);
    expect_403(p);

    /* its own process: everything but frame numbers */
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps", srv.pid);
    json_t *m = http_get_json(&srv, "%s", p);
    CHECK(m && jint(m, "count") > 0);
    unsigned long long st = 0, en = 0;
    json_array_foreach(json_object_get(m, "regions"), i, it)
        if (jstr(it, "kind") && strcmp(jstr(it, "kind"), "stack") == 0) {
            st = strtoull(jstr(it, "start"), NULL, 16);
            en = strtoull(jstr(it, "end"), NULL, 16);
        }
    json_decref(m);
    CHECK(st && en > st);
    /* the top pages of its stack are resident: present, yet their frame numbers hidden */
    unsigned long long from = en - 8 * 4096ULL > st ? en - 8 * 4096ULL : st;
    snprintf(p, sizeof p, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx&frames=1", srv.pid, from, en);
    json_t *pm = http_get_json(&srv, "%s", p);
    CHECK(pm && jint(pm, "counts.present") > 0);
    size_t present = 0, hidden = 0, zero = 0;
    json_array_foreach(json_object_get(pm, "frames"), i, it) {
        const json_t *pfn = json_object_get(it, "pfn");
        if (json_is_true(json_object_get(it, "present")))
            present++;
        if (json_is_integer(pfn) && json_integer_value(pfn) == 0)
            zero++;
        if (json_is_true(json_object_get(it, "present")) && json_is_null(pfn) &&
            json_is_null(json_object_get(it, "phys_addr")) && jstr(it, "pfn_hidden_reason") &&
            strlen(jstr(it, "pfn_hidden_reason")) > 0)
            hidden++;
    }
    CHECK(present > 0);
    CHECK_EQ_U64(hidden, present);
    CHECK_EQ_U64(zero, 0);
    json_decref(pm);
    /* Without /proc/kpageflags (root's alone) the pread method cannot tell huge pages: null, not 0. */
    snprintf(p, sizeof p, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx&method=pread", srv.pid, from, en);
    json_t *pp = http_get_json(&srv, "%s", p);
    CHECK(pp && jint(pp, "counts.present") > 0);
    CHECK(pp && json_is_null(json_object_get(json_object_get(pp, "counts"), "huge")));
    json_decref(pp);
    snprintf(p, sizeof p, "/api/v1/processes/%d/translate?addr=0x%llx", srv.pid, en - 16);
    json_t *t = http_get_json(&srv, "%s", p);
    CHECK(t && json_is_true(json_object_get(json_object_get(t, "page"), "present")));
    CHECK(t && json_is_null(json_object_get(json_object_get(t, "page"), "pfn")));
    CHECK(t && json_is_null(json_object_get(t, "phys_addr")));
    CHECK(t && jstr(t, "page.pfn_hidden_reason"));
    CHECK(t && jstr(t, "explain") && strstr(jstr(t, "explain"), "hides"));
    json_decref(t);

    /* PID 1 stays unreadable for it as for everyone: 403, not a crash or an empty answer */
    expect_403("/api/v1/processes/1/maps");

    subject_stop(&subj);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
