/* lab.c - `memscope lab PRESET`: an experiment run by memscoped's own experiment manager
 * (server/experiments.h, no HTTP in it), so it is exec'd, limited and ended exactly as
 * POST /api/v1/experiments does it, and followed line by line as the events route streams it. */
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "experiments.h"
#include "table.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t jnum(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static const char *signed_size(json_t *o, const char *k, char *out)
{
    json_t *v = json_object_get(json_object_get(o, "delta"), k);
    json_int_t d = json_is_integer(v) ? json_integer_value(v) : 0;
    char tmp[24];
    tbl_size((uint64_t)(d < 0 ? -d : d), tmp);
    snprintf(out, 32, "%s%s", d < 0 ? "-" : d > 0 ? "+" : "", tmp);
    return out;
}

#define LAB_ROW "%4s  %-14s  %9s  %-8s  %-14s  %9s  %9s  %10s  %10s  %7s  %6s  %9s\n"
/* The same widths for the header, whose two "Δ" take two bytes for one column each. */
#define LAB_HEAD "%4s  %-14s  %9s  %-8s  %-14s  %9s  %9s  %11s  %11s  %7s  %6s  %9s\n"

/* One step as a line of the table, printed as it happens (the widths are fixed for that). */
static void print_line(const char *line, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(line, len, 0, &e);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) {
        json_decref(j);
        return;
    }
    if (!strcmp(type, "start")) {
        printf("lab pid %" PRIu64 ", preset %s, budget ", jnum(j, "pid", NULL),
               json_string_value(json_object_get(j, "preset")) ? json_string_value(json_object_get(j, "preset")) : "-");
        char b[24];
        printf("%s, THP %s\n\n", tbl_size(jnum(j, "budget_bytes", NULL), b),
               json_string_value(json_object_get(j, "thp_enabled")) ? json_string_value(json_object_get(j, "thp_enabled")) : "?");
        printf(LAB_HEAD, "STEP", "OP", "SIZE", "WHERE", "ADDRESS", "VIRT", "RSS", "ΔVIRT", "ΔRSS", "MINFLT", "MAJFLT", "TIME");
    } else if (!strcmp(type, "step")) {
        char step[24], size[24], virt[24], rss[24], dv[32], dr[32], mi[24], ma[24], ms[24];
        snprintf(step, sizeof step, "%" PRIu64, jnum(j, "step", NULL));
        json_t *sz = json_object_get(j, "size");
        const char *where = json_is_true(json_object_get(j, "ok"))
                                ? (json_string_value(json_object_get(j, "placement")) ? json_string_value(json_object_get(j, "placement")) : "")
                                : "FAILED";
        const char *addr = json_string_value(json_object_get(j, "addr"));
        snprintf(ms, sizeof ms, "%.1f ms", (double)jnum(j, "duration_ns", NULL) / 1e6);
        printf(LAB_ROW, step, json_string_value(json_object_get(j, "op")) ? json_string_value(json_object_get(j, "op")) : "?",
               json_is_integer(sz) ? tbl_size((uint64_t)json_integer_value(sz), size) : "", where, addr ? addr : "",
               tbl_size(jnum(j, "status", "vm_size"), virt), tbl_size(jnum(j, "status", "vm_rss"), rss),
               signed_size(j, "vm_size", dv), signed_size(j, "vm_rss", dr),
               tbl_u64(jnum(j, "faults", "minor"), mi), tbl_u64(jnum(j, "faults", "major"), ma), ms);
        const char *err = json_string_value(json_object_get(j, "error"));
        if (err)
            printf("      error: %s\n", err);
    } else if (!strcmp(type, "exit")) {
        const char *state = json_string_value(json_object_get(j, "state"));
        const char *reason = json_string_value(json_object_get(j, "reason"));
        const char *sig = json_string_value(json_object_get(j, "signal"));
        const char *fault = json_string_value(json_object_get(j, "fault_addr"));
        printf("\nended: %s", state ? state : "?");
        if (reason)
            printf(" (%s)", reason);
        if (sig)
            printf(", %s", sig);
        putchar('\n');
        if (fault)
            printf("fault address %s\n", fault);
    }
    json_decref(j);
    fflush(stdout);
}

/* Hands each complete line of text to the output. */
static void print_lines(const char *text, size_t len, bool json)
{
    if (json) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        return;
    }
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        print_line(text + i, n);
        i += n + 1;
    }
}

int cmd_lab(const cli_cmd *c, cli_opts *o)
{
    experiments_config cfg;
    experiments_config_default(&cfg);
    cfg.lab_path = o->lab;
    experiments_mgr *m = NULL;
    char *body = NULL;
    int rc = CLI_OK;
    ms_err err = experiments_new(&cfg, &m);
    if (err != MS_OK)
        return cli_fail(err, "starting the experiment manager");
    if (!experiments_lab_path(m)[0]) {
        rc = cli_fail(MS_ERR_UNSUPPORTED, "no memscope-lab executable found (give --lab PATH or set MEMSCOPE_LAB)");
        goto out;
    }
    json_t *spec = json_pack("{s:s}", "preset", o->pos[0]);
    body = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
    json_decref(spec);
    if (!body) {
        rc = cli_fail(MS_ERR_NOMEM, "writing the spec");
        goto out;
    }
    ms_exp_err xe;
    memset(&xe, 0, sizeof xe);
    uint64_t id;
    pid_t pid;
    err = experiments_start(m, body, strlen(body), &xe, &id, &pid);
    if (err != MS_OK) {
        if (err == MS_ERR_INVAL || err == MS_ERR_TOOBIG)
            rc = cli_usage(c, "%s", xe.message[0] ? xe.message : ms_strerror(err));
        else
            rc = cli_fail(err, "starting the experiment");
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    size_t from = 0;
    bool killed = false;
    for (;;) {
        if (interrupted && !killed) {
            bool removed;
            experiments_delete(m, id, &removed);   /* SIGTERM, then SIGKILL, to the lab's group */
            killed = true;
        }
        experiments_chunk ch;
        err = experiments_follow(m, id, from, 200, &ch);
        if (err != MS_OK) {
            rc = cli_fail(err, "following the experiment");
            goto out;
        }
        if (ch.len)
            print_lines(ch.text, ch.len, o->json);
        free(ch.text);
        from = ch.next;
        if (ch.finished)
            break;
    }
    json_t *x = NULL;
    if (experiments_get(m, id, &x) == MS_OK) {
        const char *state = json_string_value(json_object_get(x, "state"));
        /* An experiment that ends in a deliberate fault (the segfault preset) has done its job. */
        if (killed || !state || (strcmp(state, "done") != 0 && strcmp(state, "holding") != 0 &&
                                 !json_is_string(json_object_get(x, "fault_addr"))))
            rc = CLI_FAIL;
        json_decref(x);
    }
out:
    free(body);
    experiments_free(&m);
    return rc;
}
