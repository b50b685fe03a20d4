/* cli.h - what the memscope command's subcommands share: options, exit codes, output.
 *
 * Every subcommand that reads /proc does it through core/, as memscoped's routes do, and with
 * --json writes its answer through the same encoders (server/encode.h), so that `memscope X --json`
 * prints the bytes the matching API route answers (plus a newline). */
#ifndef MEMSCOPE_CLI_H
#define MEMSCOPE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

/* Exit codes, for scripts (memscope.1 lists them). */
enum {
    CLI_OK = 0,
    CLI_NOPROC = 1,   /* no such process, or it exited while being read (the API's 404) */
    CLI_USAGE = 2,    /* bad command line, or input the API would answer 400 */
    CLI_PERM = 3,     /* the kernel (or memscoped's token check) refused: 401/403 */
    CLI_FAIL = 4,     /* anything else: an I/O error, an unreachable memscoped, a 5xx */
};

#define CLI_MAX_POS 4

/* A subcommand's command line once parsed.  Option values point into argv. */
typedef struct {
    const char *pos[CLI_MAX_POS];
    int npos;
    bool json, help, rss, bytes;
    const char *sort, *limit, *name, *group, *method, *url;
    const char *since, *until, *step, *window, *lab;
} cli_opts;

typedef struct cli_cmd {
    const char *name;
    int (*run)(const struct cli_cmd *c, cli_opts *o);
    int min_pos, max_pos;
    const char *options;      /* the options it takes, space-separated, e.g. "--sort --limit" */
    const char *usage;        /* the --help text */
} cli_cmd;

/* "memscope: <context>: <reason>" on stderr; returns the exit code for e. */
int cli_fail(ms_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "memscope CMD: <message>" and a pointer to --help on stderr; returns CLI_USAGE. */
int cli_usage(const cli_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_of(ms_err e);
/* Writes b's bytes and a newline to stdout; CLI_FAIL (with a message) if stdout fails. */
int cli_put_json(const ms_buf *b);

/* The subcommands. */
int cmd_ps(const cli_cmd *c, cli_opts *o);
int cmd_maps(const cli_cmd *c, cli_opts *o);
int cmd_smaps(const cli_cmd *c, cli_opts *o);
int cmd_pagemap(const cli_cmd *c, cli_opts *o);
int cmd_translate(const cli_cmd *c, cli_opts *o);
int cmd_lab(const cli_cmd *c, cli_opts *o);
int cmd_get(const cli_cmd *c, cli_opts *o);
int cmd_history(const cli_cmd *c, cli_opts *o);
int cmd_diff(const cli_cmd *c, cli_opts *o);
int cmd_growth(const cli_cmd *c, cli_opts *o);

#endif
