/* main.c - `memscope`, memscope on the command line: subcommand table, option parsing, exit codes.
 *
 * Local subcommands read /proc through core/ (no server needed, as pmap and smem are built on
 * procps' library); history, diff, growth and get ask a running memscoped (--url, token from
 * MEMSCOPE_TOKEN).  Each subcommand's --help names the API route its --json output matches. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "table.h"

#define URL_HELP "  --url URL          memscoped to ask (default $MEMSCOPE_URL, else http://127.0.0.1:8080);\n" \
                 "                     the token, if it needs one, comes from $MEMSCOPE_TOKEN\n"

static const cli_cmd cmds[] = {
    {"ps", cmd_ps, 0, 0, "--sort --limit --name --json --bytes",
     "Usage: memscope ps [--sort rss|pss|uss|swap] [--limit N] [--name TEXT] [--json] [--bytes]\n"
     "Lists processes, biggest first: resident (RSS), swapped and virtual size, from each\n"
     "process's status and stat.  --sort pss or uss also reads every process's smaps_rollup\n"
     "(slower: its cost grows with each process's number of regions) and adds PSS and USS columns.\n"
     "\n"
     "  --sort KEY         rss (default), pss, uss or swap\n"
     "  --limit N          the first N processes only\n"
     "  --name TEXT        only processes whose name or command line contains TEXT\n"
     "  --json             GET /api/v1/processes?sort=vm_rss|vm_swap&limit=N&q=TEXT&fresh=1\n"
     "                     (rss and swap only: the API has no PSS or USS in its list)\n"
     "  --bytes            sizes in bytes instead of KiB/MiB/GiB\n"},
    {"maps", cmd_maps, 1, 1, "--rss --json --bytes",
     "Usage: memscope maps PID [--rss] [--json] [--bytes]\n"
     "The process's regions, one per line, as pmap -x shows them: address, size, permissions,\n"
     "what the region is for (text, data, heap, stack, anon, file, ...) and its file.\n"
     "\n"
     "  --rss              also resident and dirty bytes per region (reads smaps instead of maps)\n"
     "  --json             GET /api/v1/processes/PID/maps (not with --rss)\n"
     "  --bytes            sizes in bytes\n"},
    {"smaps", cmd_smaps, 1, 1, "--group --json --bytes",
     "Usage: memscope smaps PID [--group path] [--json] [--bytes]\n"
     "Per-region accounting from smaps: RSS, PSS, private, shared and swapped bytes, then the\n"
     "totals and USS (the process's private bytes: what would be freed if it exited).\n"
     "\n"
     "  --group path       one line per file (anonymous regions together), biggest RSS first\n"
     "  --json             GET /api/v1/processes/PID/smaps[?group=path]\n"
     "  --bytes            sizes in bytes\n"},
    {"pagemap", cmd_pagemap, 3, 3, "--method --json --bytes",
     "Usage: memscope pagemap PID START END [--method auto|scan|pread] [--json] [--bytes]\n"
     "Which pages of [START, END) are resident, swapped, the shared zero page, huge or file-backed:\n"
     "the counts, then runs of pages in one state.  START and END are page-aligned hex addresses.\n"
     "\n"
     "  --method M         auto (default: PAGEMAP_SCAN where the kernel has it), scan or pread\n"
     "  --json             GET /api/v1/processes/PID/pagemap?start=START&end=END[&method=M]\n"
     "  --bytes            sizes in bytes\n"},
    {"translate", cmd_translate, 2, 2, "--json",
     "Usage: memscope translate PID ADDR [--json]\n"
     "Follows one virtual address: page number and offset, the region, the page's frame and the\n"
     "physical address (frame numbers need CAP_SYS_ADMIN; without it they show as hidden).\n"
     "\n"
     "  --json             GET /api/v1/processes/PID/translate?addr=ADDR\n"},
    {"lab", cmd_lab, 1, 1, "--json --lab --bytes",
     "Usage: memscope lab PRESET [--json] [--lab PATH] [--bytes]\n"
     "Runs an experiment preset in a fresh memscope-lab process, with the limits memscoped puts\n"
     "on experiments, and prints a line per step as it happens: what was asked, where it landed,\n"
     "virtual and resident size and their change, page faults.  Presets: seed-1gib,\n"
     "touch-quarter, read-vs-write, brk-vs-mmap, free-returns, dontneed, thp, fork-cow, segfault.\n"
     "\n"
     "  --json             the lab's lines as they come, as GET /api/v1/experiments/ID/events\n"
     "                     streams them\n"
     "  --lab PATH         the memscope-lab executable (default $MEMSCOPE_LAB, else next to memscope)\n"
     "  --bytes            sizes in bytes\n"},
    {"history", cmd_history, 1, 1, "--since --until --step --url --json",
     "Usage: memscope history PID [--since T] [--until T] [--step S] [--url URL]\n"
     "Asks memscoped for the process's recorded memory over time and prints the JSON answer of\n"
     "GET /api/v1/processes/PID/history?since=&until=&step= (--json prints the same).\n"
     "\n" URL_HELP},
    {"diff", cmd_diff, 2, 3, "--url --json",
     "Usage: memscope diff PID FROM [TO] [--url URL]\n"
     "Asks memscoped how the process's regions changed between snapshot FROM and snapshot TO (or\n"
     "now) and prints the JSON answer of GET /api/v1/processes/PID/diff?from=FROM[&to=TO].\n"
     "\n" URL_HELP},
    {"growth", cmd_growth, 0, 0, "--window --url --json",
     "Usage: memscope growth [--window W] [--url URL]\n"
     "Asks memscoped which processes grew steadily over the window and prints the JSON answer of\n"
     "GET /api/v1/growth[?window=W].\n"
     "\n  --window W         e.g. 30m (memscoped's default when not given)\n" URL_HELP},
    {"get", cmd_get, 1, 1, "--url --json",
     "Usage: memscope get PATH [--url URL]\n"
     "GET any route of a running memscoped (PATH like /api/v1/health) and print its answer.\n"
     "\n" URL_HELP},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static void usage(FILE *f)
{
    fputs("Usage: memscope COMMAND [ARGS] [--json] [--help]\n"
          "Where a process's memory really is, from a terminal.\n"
          "\n"
          "  ps                     processes, biggest first (RSS, PSS, USS, swap)\n"
          "  maps PID               regions, as pmap -x\n"
          "  smaps PID              per-region accounting, or per file with --group path\n"
          "  pagemap PID START END  resident, swapped, zero and huge pages of a range\n"
          "  translate PID ADDR     virtual address -> page -> frame -> physical address\n"
          "  lab PRESET             run an experiment and show it step by step\n"
          "  history PID, diff PID FROM [TO], growth, get PATH\n"
          "                         ask a running memscoped (--url, token from MEMSCOPE_TOKEN)\n"
          "\n"
          "--json prints what the matching API route answers.  memscope COMMAND --help says more;\n"
          "man memscope has it all.  Exit codes: 0 ok, 1 no such process, 2 bad usage,\n"
          "3 permission denied, 4 any other failure.\n",
          f);
}

int cli_exit_of(ms_err e)
{
    switch (e) {
    case MS_OK: return CLI_OK;
    case MS_ERR_NOENT: return CLI_NOPROC;
    case MS_ERR_INVAL:
    case MS_ERR_RANGE:
    case MS_ERR_TOOBIG: return CLI_USAGE;     /* the API's 400 and 413: ask differently */
    case MS_ERR_PERM: return CLI_PERM;
    case MS_ERR_NOMM:                         /* a kernel thread or a zombie: the API's 409 */
    case MS_ERR_NOMEM:
    case MS_ERR_PARSE:
    case MS_ERR_IO:
    case MS_ERR_UNSUPPORTED:
    case MS_ERR_RESOURCE:                     /* out of descriptors or processes: the API's 503 */
    case MS_ERR_UNAVAILABLE:                  /* the history store (memscoped only) */
    case MS_ERR_LIMIT: return CLI_FAIL;
    }
    return CLI_FAIL;
}

int cli_fail(ms_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", ms_strerror(e));
    return cli_exit_of(e);
}

int cli_usage(const cli_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "memscope %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(memscope %s --help says how)\n", c->name);
    return CLI_USAGE;
}

int cli_put_json(const ms_buf *b)
{
    if (b->len)
        fwrite(b->data, 1, b->len, stdout);
    fputc('\n', stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("memscope: writing the answer");
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Where an option's value goes; NULL for flags. */
static const char **opt_slot(cli_opts *o, const char *name, bool **flag)
{
    *flag = NULL;
    if (!strcmp(name, "--json")) { *flag = &o->json; return NULL; }
    if (!strcmp(name, "--rss")) { *flag = &o->rss; return NULL; }
    if (!strcmp(name, "--bytes")) { *flag = &o->bytes; return NULL; }
    if (!strcmp(name, "--sort")) return &o->sort;
    if (!strcmp(name, "--limit")) return &o->limit;
    if (!strcmp(name, "--name")) return &o->name;
    if (!strcmp(name, "--group")) return &o->group;
    if (!strcmp(name, "--method")) return &o->method;
    if (!strcmp(name, "--url")) return &o->url;
    if (!strcmp(name, "--since")) return &o->since;
    if (!strcmp(name, "--until")) return &o->until;
    if (!strcmp(name, "--step")) return &o->step;
    if (!strcmp(name, "--window")) return &o->window;
    if (!strcmp(name, "--lab")) return &o->lab;
    return NULL;
}

/* Whether c takes the option `name` (a whole word of c->options). */
static bool takes(const cli_cmd *c, const char *name, size_t n)
{
    const char *p = c->options;
    while ((p = strstr(p, name)) != NULL) {
        bool start = p == c->options || p[-1] == ' ';
        bool end = p[n] == ' ' || p[n] == '\0';
        if (start && end && !strncmp(p, name, n))
            return true;
        p += n;
    }
    return false;
}

/* --opt VALUE or --opt=VALUE; "--" ends the options (an address or a PATH may follow). */
static int parse(const cli_cmd *c, int argc, char **argv, cli_opts *o)
{
    bool opts_done = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (!opts_done && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            o->help = true;
            return CLI_OK;
        }
        if (!opts_done && !strcmp(a, "--")) {
            opts_done = true;
            continue;
        }
        if (opts_done || a[0] != '-' || a[1] == '\0') {
            if (o->npos == CLI_MAX_POS || o->npos == c->max_pos)
                return cli_usage(c, "unexpected argument '%.64s'", a);
            o->pos[o->npos++] = a;
            continue;
        }
        char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        char name[32];
        if (n >= sizeof name)
            return cli_usage(c, "unknown option '%.*s'", 64, a);
        memcpy(name, a, n);
        name[n] = '\0';
        if (!takes(c, name, n))
            return cli_usage(c, "unknown option '%s'", name);
        bool *flag;
        const char **slot = opt_slot(o, name, &flag);
        if (flag) {
            if (eq)
                return cli_usage(c, "%s takes no value", name);
            *flag = true;
        } else if (eq) {
            *slot = eq + 1;
        } else if (i + 1 < argc) {
            *slot = argv[++i];
        } else {
            return cli_usage(c, "%s needs a value", name);
        }
    }
    if (o->npos < c->min_pos)
        return cli_usage(c, "missing argument");
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "--version")) {
        printf("memscope %s\n", MEMSCOPE_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < NCMDS; i++) {
        if (strcmp(cmds[i].name, name) != 0)
            continue;
        cli_opts o;
        memset(&o, 0, sizeof o);
        int rc = parse(&cmds[i], argc - 2, argv + 2, &o);
        if (rc != CLI_OK)
            return rc;
        if (o.help) {
            fputs(cmds[i].usage, stdout);
            return CLI_OK;
        }
        tbl_exact_bytes = o.bytes;
        return cmds[i].run(&cmds[i], &o);
    }
    fprintf(stderr, "memscope: unknown command '%.64s'\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}
