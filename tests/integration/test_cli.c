/* test_cli.c - `memscope`, the command line, against the kernel and against a real memscoped.
 *
 * --json must print exactly what the matching route answers: for a subject that holds still, the
 * command's output (less its final newline) must equal the route's body byte for byte.  The
 * subject's shared pages (libc, ld.so) have a PSS that changes whenever any other process maps or
 * unmaps them, which on a busy machine (a build starting and ending compilers) happens between any
 * two reads; so each comparison takes the route's answer just before and just after the command,
 * and passes if the command matches either.  A difference in the PSS figures alone is such a change
 * and is tried again; after ten, the answers must be equal but for those figures (and the exact
 * comparison is reported skipped).  Any other difference while the route held still around the
 * command fails, three times over so a change that comes and goes in between cannot fail a correct
 * program; and if the answers never held still the comparison is skipped, saying so.
 *
 * Also: the tables carry the kernel's figures; exit codes (1 no such process, 2 bad usage,
 * 3 permission, run as nobody against root's subject); --help; the client subcommand through
 * Content-Length and chunked answers, with and without the token (which that memscoped reads from
 * $CREDENTIALS_DIRECTORY/token, as systemd's LoadCredential= provides it); and `memscope lab`. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define TOKEN "memscope-test-token-0123456789"

static ms_server srv, tsrv;
static ms_subject subj;
static const char *cli;

typedef struct {
    char *out;
    size_t len;
    int code;            /* exit code, or -1 if it did not exit normally */
} run_out;

/* Runs the shell command made from fmt (the CLI's path is $CLI inside it); stdout captured. */
__attribute__((format(printf, 2, 3)))
static bool run(run_out *r, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    memset(r, 0, sizeof *r);
    r->code = -1;
    FILE *f = popen(cmd, "r");
    if (!f)
        return false;
    size_t cap = 0;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (r->len + n + 1 > cap) {
            cap = (r->len + n + 1) * 2;
            char *nb = realloc(r->out, cap);
            if (!nb) {
                pclose(f);
                return false;
            }
            r->out = nb;
        }
        memcpy(r->out + r->len, buf, n);
        r->len += n;
        r->out[r->len] = '\0';
    }
    int st = pclose(f);
    if (st != -1 && WIFEXITED(st))
        r->code = WEXITSTATUS(st);
    if (!r->out)
        r->out = calloc(1, 1);
    return r->out != NULL;
}

static bool body_is(const run_out *c, const http_resp *h)
{
    return c->code == 0 && h->status == 200 && c->len == h->len + 1 && c->out[h->len] == '\n' &&
           memcmp(c->out, h->body, h->len) == 0;
}

static void show_first_difference(const char *what, const run_out *c, const http_resp *h)
{
    size_t i = 0;
    while (i < c->len && i < h->len && c->out[i] == h->body[i])
        i++;
    size_t from = i > 60 ? i - 60 : 0;
    fprintf(stderr, "%s: exit %d, route %ld; they part at byte %zu:\n  cli:   %.120s\n  route: %.120s\n", what,
            c->code, h->status, i, c->out + from, h->body ? h->body + from : "");
}

/* A copy of a JSON text with the value of every PSS figure ("pss", "pss_anon", ..., "swap_pss")
 * replaced by 0: what another process's mapping or unmapping of a shared page changes. */
static char *mask_pss(const char *s, size_t n)
{
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        bool key = s[i] == '"' && i + 4 < n &&
                   (!strncmp(s + i + 1, "pss", 3) || (i + 9 < n && !strncmp(s + i + 1, "swap_pss", 8)));
        const char *close = key ? memchr(s + i + 1, '"', n - i - 1) : NULL;
        if (!close || (size_t)(close - s) + 1 >= n || close[1] != ':') {
            *w++ = s[i++];
            continue;
        }
        size_t k = (size_t)(close - s) + 2;     /* past the colon */
        memcpy(w, s + i, k - i);
        w += k - i;
        while (k < n && s[k] >= '0' && s[k] <= '9')
            k++;
        *w++ = '0';
        i = k;
    }
    *w = '\0';
    return out;
}

/* Equal but for PSS figures: the command's output (less its newline) and a 200 body. */
static bool body_is_but_pss(const run_out *c, const http_resp *h)
{
    if (c->code != 0 || h->status != 200 || c->len == 0)
        return false;
    char *x = mask_pss(c->out, c->len - 1), *y = mask_pss(h->body, h->len);
    bool eq = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

/* `memscope <args> --json` against GET path, as the file's opening comment says. */
static void same_as_route(const char *path, const char *args)
{
    int stable_mismatch = 0, pss_only = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        http_resp a, b;
        run_out c;
        bool ok = http_get(&srv, path, &a) && run(&c, "%s %s --json", cli, args) && http_get(&srv, path, &b);
        if (!ok) {
            CHECK(ok);
            return;
        }
        bool match = body_is(&c, &a) || body_is(&c, &b);
        bool stable = a.status == 200 && a.len == b.len && memcmp(a.body, b.body, a.len) == 0;
        if (!match && (body_is_but_pss(&c, &a) || body_is_but_pss(&c, &b)))
            pss_only++;
        else if (!match && stable && ++stable_mismatch == 3)
            show_first_difference(args, &c, &a);
        http_resp_free(&a);
        http_resp_free(&b);
        free(c.out);
        if (match) {
            check_pass_++;
            return;
        }
        if (stable_mismatch == 3) {
            check_fail_++;
            return;
        }
    }
    if (pss_only == 10) {
        check_pass_++;
        CHECK_SKIP("the exact comparison of `memscope %s --json` with GET %s: other processes changed the "
                   "PSS of shared pages under every one of 10 (all else was equal, byte for byte)", args, path);
        return;
    }
    CHECK_SKIP("GET %s changed under every one of 10 comparisons with `memscope %s --json`", path, args);
}

__attribute__((format(printf, 2, 3)))
static void expect_code(int want, const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    run_out r;
    char full[1200];
    snprintf(full, sizeof full, "%s %s 2>/dev/null", cli, cmd);
    if (!run(&r, "%s", full)) {
        CHECK(false);
        return;
    }
    if (r.code != want) {
        fprintf(stderr, "memscope %s: exit %d, want %d\n", cmd, r.code, want);
        check_fail_++;
    } else {
        check_pass_++;
    }
    free(r.out);
}

/* A pid no process has: from the top of the pid space down. */
static int free_pid(void)
{
    for (int p = 4194303; p > 1000; p--)
        if (kill(p, 0) == -1 && errno == ESRCH)
            return p;
    return 0;
}

static void test_json_equals_routes(void)
{
    int pid = subj.pid;
    char path[256], args[256];
    unsigned long long area = subject_addr(&subj, "area"), ps = (unsigned long long)jint(subj.info, "page_size");
    unsigned long long pages = (unsigned long long)jint(subj.info, "pages");

    snprintf(path, sizeof path, "/api/v1/processes/%d/maps", pid);
    snprintf(args, sizeof args, "maps %d", pid);
    same_as_route(path, args);
    snprintf(path, sizeof path, "/api/v1/processes/%d/smaps", pid);
    snprintf(args, sizeof args, "smaps %d", pid);
    same_as_route(path, args);
    snprintf(path, sizeof path, "/api/v1/processes/%d/smaps?group=path", pid);
    snprintf(args, sizeof args, "smaps %d --group path", pid);
    same_as_route(path, args);
    snprintf(path, sizeof path, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx", pid, area, area + pages * ps);
    snprintf(args, sizeof args, "pagemap %d 0x%llx 0x%llx", pid, area, area + pages * ps);
    same_as_route(path, args);
    snprintf(path, sizeof path, "/api/v1/processes/%d/pagemap?start=0x%llx&end=0x%llx&method=pread", pid, area,
             area + pages * ps);
    snprintf(args, sizeof args, "pagemap %d 0x%llx 0x%llx --method pread", pid, area, area + pages * ps);
    same_as_route(path, args);
    snprintf(path, sizeof path, "/api/v1/processes/%d/translate?addr=0x%llx", pid, area + 3 * ps + 5);
    snprintf(args, sizeof args, "translate %d 0x%llx", pid, area + 3 * ps + 5);
    same_as_route(path, args);
}

/* ps --json: the process list changes all the time, so the subject's entry is compared, and the
 * shape of the whole. */
static void test_ps_json(void)
{
    run_out c;
    CHECK(run(&c, "%s ps --json --name memscope-subj", cli));
    json_error_t e;
    json_t *j = json_loadb(c.out, c.len, JSON_PRESERVE_ORDER, &e);
    CHECK(c.code == 0 && j);
    json_t *route = http_get_json(&srv, "/api/v1/processes?q=memscope-subj&sort=vm_rss&fresh=1");
    CHECK(route != NULL);
    char *mine = NULL, *theirs = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "processes"), i, p)
        if (jint(p, "pid") == subj.pid)
            mine = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_array_foreach(json_object_get(route, "processes"), i, p)
        if (jint(p, "pid") == subj.pid)
            theirs = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(mine && theirs && strcmp(mine, theirs) == 0);
    if (mine && theirs && strcmp(mine, theirs))
        fprintf(stderr, "ps entry:\n  cli:   %s\n  route: %s\n", mine, theirs);
    CHECK(jint(j, "age_ms") == 0);
    CHECK(jint(j, "count") == (long long)json_array_size(json_object_get(j, "processes")));
    /* the members in the route's order, at the top */
    const char *k;
    json_t *v;
    char order_c[256] = "", order_r[256] = "";
    json_object_foreach(j, k, v) strncat(order_c, k, sizeof order_c - strlen(order_c) - 2);
    json_t *route_o = NULL;
    {
        http_resp r;
        if (http_get(&srv, "/api/v1/processes?limit=1&fresh=1", &r)) {
            route_o = json_loadb(r.body, r.len, JSON_PRESERVE_ORDER, &e);
            http_resp_free(&r);
        }
    }
    json_object_foreach(route_o, k, v) strncat(order_r, k, sizeof order_r - strlen(order_r) - 2);
    CHECK_STR(order_c, order_r);
    json_decref(route_o);
    free(mine);
    free(theirs);
    json_decref(j);
    json_decref(route);
    free(c.out);
    /* --limit and the biggest first */
    CHECK(run(&c, "%s ps --json --limit 3", cli));
    j = json_loadb(c.out, c.len, 0, &e);
    CHECK(j && jint(j, "count") == 3 && json_array_size(json_object_get(j, "processes")) == 3);
    json_t *ps_ = json_object_get(j, "processes");
    CHECK(jint(json_array_get(ps_, 0), "vm_rss") >= jint(json_array_get(ps_, 2), "vm_rss"));
    json_decref(j);
    free(c.out);
}

/* The tables show the kernel's figures: the subject's written pages are its area's RSS. */
static void test_tables(void)
{
    run_out c;
    unsigned long long area = subject_addr(&subj, "area"), ps = (unsigned long long)jint(subj.info, "page_size");
    long long written = jint(subj.info, "written"), pages = jint(subj.info, "pages");
    CHECK(run(&c, "%s maps %d --rss --bytes", cli, subj.pid));
    char want[128];
    /* ADDRESS SIZE RSS DIRTY ... : the area's line, sizes in bytes; the rest is spacing */
    snprintf(want, sizeof want, "0x%llx", area);
    char *line = strstr(c.out, want);
    unsigned long long size = 0, rss = 0;
    CHECK(line && sscanf(line + strlen(want), " %llu %llu", &size, &rss) == 2);
    CHECK_EQ_U64(size, (unsigned long long)pages * ps);
    CHECK_EQ_U64(rss, (unsigned long long)(written + jint(subj.info, "read")) * ps);
    CHECK(c.code == 0 && strstr(c.out, "ADDRESS") && strstr(c.out, "\ntotal"));
    CHECK(!strchr(c.out, '\033'));   /* no escape sequences into a pipe */
    free(c.out);
    CHECK(run(&c, "%s pagemap %d 0x%llx 0x%llx", cli, subj.pid, area, area + (unsigned long long)pages * ps));
    char present[64];
    snprintf(present, sizeof present, "present    %llu pages", (unsigned long long)(written + jint(subj.info, "read")));
    CHECK(c.code == 0 && strstr(c.out, present));
    free(c.out);
    CHECK(run(&c, "%s ps --sort uss --limit 5", cli));
    CHECK(c.code == 0 && strstr(c.out, "USS") && strstr(c.out, "PSS"));
    free(c.out);
    CHECK(run(&c, "%s translate %d 0x%llx", cli, subj.pid, area));
    CHECK(c.code == 0 && strstr(c.out, "present") && strstr(c.out, "anon"));
    free(c.out);
}

/* Display width of a line: escape sequences take none, nor do UTF-8 continuation bytes. */
static size_t line_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\033') {
            while (i < n && s[i] != 'm')
                i++;
            continue;
        }
        if (s[i] != '\r' && ((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
    }
    return w;
}

/* On a 60-column terminal (a pty from script(1)) no line is wider, and the header is bold, but not
 * with NO_COLOR. */
static void test_terminal(void)
{
    if (system("command -v script >/dev/null 2>&1") != 0) {
        CHECK_SKIP("script(1) is not installed (util-linux), so no terminal to run in");
        return;
    }
    for (int nocolor = 0; nocolor < 2; nocolor++) {
        run_out r;
        CHECK(run(&r, "%s TERM=xterm script -qec 'stty cols 60 rows 20; %s ps' /dev/null",
                  nocolor ? "NO_COLOR=1" : "env -u NO_COLOR", cli));
        size_t widest = 0, lines = 0;
        for (char *p = r.out, *nl; p && *p; p = nl ? nl + 1 : NULL) {
            nl = strchr(p, '\n');
            size_t w = line_width(p, nl ? (size_t)(nl - p) : strlen(p));
            widest = w > widest ? w : widest;
            lines++;
        }
        CHECK(lines > 3 && widest <= 60);
        if (widest > 60)
            fprintf(stderr, "a line of %zu columns on a 60-column terminal\n", widest);
        CHECK(nocolor ? !strchr(r.out, '\033') : strncmp(r.out, "\033[1m", 4) == 0);
        free(r.out);
    }
}

static void test_exit_codes(void)
{
    int gone = free_pid();
    CHECK(gone > 0);
    expect_code(1, "maps %d", gone);
    expect_code(1, "smaps %d --json", gone);
    expect_code(1, "translate %d 0x1000", gone);
    expect_code(2, "maps abc");
    expect_code(2, "maps");
    expect_code(2, "maps %d extra", subj.pid);
    expect_code(2, "ps --sort size");
    expect_code(2, "ps --limit 0");
    expect_code(2, "ps --sort pss --json");
    expect_code(2, "maps %d --rss --json", subj.pid);
    expect_code(2, "pagemap %d 0x1001 0x2000", subj.pid);
    expect_code(2, "pagemap %d 0x2000 0x1000", subj.pid);
    expect_code(2, "translate %d 0xffffffffffffffff", subj.pid);
    expect_code(2, "smaps %d --group kind", subj.pid);
    expect_code(2, "frobnicate");
    expect_code(2, "ps --bogus");
    expect_code(0, "--help");
    const char *cmds[] = {"ps", "maps", "smaps", "pagemap", "translate", "lab", "history", "diff", "growth", "get"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        run_out r;
        CHECK(run(&r, "%s %s --help", cli, cmds[i]));
        CHECK(r.code == 0 && strstr(r.out, "Usage: memscope ") && strstr(r.out, cmds[i]));
        free(r.out);
    }
    if (geteuid() != 0 || !getpwnam("nobody")) {
        CHECK_SKIP("exit code 3 needs root (to become nobody) and a nobody user");
        return;
    }
    /* nobody may not read root's subject: the kernel refuses */
    run_out r;
    CHECK(run(&r, "setpriv --reuid=nobody --regid=nogroup --clear-groups %s --version", cli));
    if (r.code != 0) {
        CHECK_SKIP("nobody cannot run %s (a directory on its path is closed to it)", cli);
    } else {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "setpriv --reuid=nobody --regid=nogroup --clear-groups %s maps %d --json 2>/dev/null",
                 cli, subj.pid);
        run_out p;
        CHECK(run(&p, "%s", cmd));
        CHECK(p.code == 3);
        free(p.out);
    }
    free(r.out);
}

/* get: the same bytes as the route, both with a Content-Length and chunked (an /smaps larger than
 * the server's 16 KiB chunking threshold), and the token honoured. */
static void test_client(void)
{
    char path[128], args[256];
    snprintf(path, sizeof path, "/api/v1/processes/%d/maps", subj.pid);
    snprintf(args, sizeof args, "get %s --url %s", path, srv.base);
    same_as_route(path, args);
    snprintf(path, sizeof path, "/api/v1/processes/%d/smaps", subj.pid);
    snprintf(args, sizeof args, "get %s --url %s", path, srv.base);
    same_as_route(path, args);
    expect_code(1, "get /api/v1/processes/%d/maps --url %s", free_pid(), srv.base);
    expect_code(2, "get /api/v1/processes/%d/pagemap?start=0x1001 --url %s", subj.pid, srv.base);
    expect_code(2, "get /x --url ftp://127.0.0.1");
    /* nothing listens on port 1 */
    expect_code(4, "get /api/v1/health --url http://127.0.0.1:1");
    /* a server with a token: without it 401 -> 3, with MEMSCOPE_TOKEN 0 */
    expect_code(3, "get /api/v1/system --url %s", tsrv.base);
    run_out r;
    CHECK(run(&r, "MEMSCOPE_TOKEN=%s %s get /api/v1/system --url %s", TOKEN, cli, tsrv.base));
    json_error_t e;
    json_t *j = json_loadb(r.out, r.len, 0, &e);
    CHECK(r.code == 0 && j && json_object_get(j, "meminfo"));
    json_decref(j);
    free(r.out);
    /* the wrappers ask the routes they name (the token server logs each request, and refuses them
     * without the token whether the route exists yet or not) */
    free(server_log(&tsrv));
    expect_code(3, "history %d --since 1 --url %s", subj.pid, tsrv.base);
    expect_code(3, "diff %d 1 2 --url %s", subj.pid, tsrv.base);
    expect_code(3, "growth --window 30m --url %s", tsrv.base);
    char *log = server_log(&tsrv), want[128];
    snprintf(want, sizeof want, "GET /api/v1/processes/%d/history", subj.pid);
    CHECK(log && strstr(log, want));
    snprintf(want, sizeof want, "GET /api/v1/processes/%d/diff", subj.pid);
    CHECK(log && strstr(log, want));
    CHECK(log && strstr(log, "GET /api/v1/growth"));
    free(log);
}

static void test_lab(void)
{
    run_out r;
    CHECK(run(&r, "%s lab brk-vs-mmap", cli));
    CHECK(r.code == 0 && strstr(r.out, "STEP") && strstr(r.out, "heap") && strstr(r.out, "mapping") &&
          strstr(r.out, "ended: done"));
    free(r.out);
    CHECK(run(&r, "%s lab brk-vs-mmap --json", cli));
    /* one JSON line per event, start first, exit last, as the events route streams them */
    size_t lines = 0, steps = 0;
    const char *type = NULL;
    char *save = NULL;
    bool all_json = true, first_start = false;
    for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *j = json_loads(l, 0, &e);
        all_json &= j != NULL;
        type = j ? jstr(j, "type") : NULL;
        if (lines == 0)
            first_start = type && !strcmp(type, "start");
        steps += type && !strcmp(type, "step");
        lines++;
        static char last[16];
        snprintf(last, sizeof last, "%s", type ? type : "");
        type = last;
        json_decref(j);
    }
    CHECK(r.code == 0 && all_json && first_start && steps == 4 && type && !strcmp(type, "exit"));
    free(r.out);
    expect_code(2, "lab no-such-preset");
}

int main(void)
{
    cli = getenv("MEMSCOPE_CLI");
    if (!cli) {
        fprintf(stderr, "MEMSCOPE_CLI is not set\n");
        return 1;
    }
    const char *args[] = {"--pages", "64", "--write", "16", "--read", "8", NULL};
    const char *extra[] = {"--list-cache-ms", "0", NULL};
    if (!server_start(&srv, extra) || !subject_start(&subj, args)) {
        fprintf(stderr, "could not start memscoped or the subject\n");
        return 1;
    }
    /* The token server gets its token as systemd's LoadCredential= hands it over. */
    char creddir[] = "/tmp/memscope-cli-cred-XXXXXX", tokfile[64];
    CHECK(mkdtemp(creddir) != NULL);
    snprintf(tokfile, sizeof tokfile, "%s/token", creddir);
    FILE *tf = fopen(tokfile, "w");
    CHECK(tf && fputs(TOKEN "\n", tf) >= 0 && fclose(tf) == 0);
    setenv("CREDENTIALS_DIRECTORY", creddir, 1);
    const char *debug[] = {"--log-level", "debug", NULL};
    CHECK(server_start(&tsrv, debug));
    unsetenv("CREDENTIALS_DIRECTORY");
    unlink(tokfile);
    rmdir(creddir);

    test_json_equals_routes();
    test_ps_json();
    test_tables();
    test_terminal();
    test_exit_codes();
    test_client();
    test_lab();

    subject_stop(&subj);
    server_stop(&tsrv);
    server_stop(&srv);
    return check_done();
}
