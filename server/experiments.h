/* experiments.h - the server's experiment manager: starts memscope-lab processes, keeps what they
 * print, enforces the limits, and ends them.  No HTTP here: the routes call these functions.
 *
 * Thread safety: every function may be called from any thread at the same time. */
#ifndef MEMSCOPE_EXPERIMENTS_H
#define MEMSCOPE_EXPERIMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/experiment.h"

typedef struct experiments_mgr experiments_mgr;

typedef struct {
    ms_exp_limits limits;        /* per experiment: max_bytes, max_steps, max_hold_s */
    unsigned max_running;     /* labs alive at once (running or holding); default 2 */
    unsigned max_wall_s;      /* from start to the last step; default 120 (the hold is apart) */
    unsigned max_kept;        /* finished experiments remembered for GET; default 32 */
    const char *lab_path;     /* NULL: $MEMSCOPE_LAB, else memscope-lab next to this executable,
                               * else ../lab/memscope-lab from it (the build tree) */
} experiments_config;

/* Defaults: limits from ms_exp_limits_default (min(2 GiB, MemAvailable/2), 256 steps, 600 s hold),
 * 2 at once, 120 s, 32 kept. */
void experiments_config_default(experiments_config *c);

ms_err experiments_new(const experiments_config *c, experiments_mgr **out);
/* Shutdown: SIGKILL to every lab's process group, reap them all, free.  NULLs *m. */
void experiments_free(experiments_mgr **m);
/* The lab executable in use ("" when none was found: starts then fail with MS_ERR_UNSUPPORTED). */
const char *experiments_lab_path(const experiments_mgr *m);
/* Changes limits for experiments started from now on. */
void experiments_set_config(experiments_mgr *m, const experiments_config *c);

/* Starts an experiment from a request body: {"steps":[...],"hold_s":N} or {"preset":"NAME"}.
 * Refused before anything runs: MS_ERR_INVAL (malformed; err names step and field), MS_ERR_TOOBIG
 * (over a per-experiment limit), MS_ERR_LIMIT (too many at once), MS_ERR_UNSUPPORTED (no lab
 * executable).  On success *id and *pid (the lab, also its process group) are set. */
ms_err experiments_start(experiments_mgr *m, const char *body, size_t len, ms_exp_err *err, uint64_t *id, pid_t *pid);

/* {"id","pid","alive","state","reason","preset","hold_s","steps_total","steps_done","after_step",
 *  "signal","fault_addr","exit_code","stderr","started_at","elapsed_ms","lines":[every line]}.
 * MS_ERR_NOENT for an unknown id.  The caller json_decref()s *out. */
ms_err experiments_get(experiments_mgr *m, uint64_t id, json_t **out);
/* The same as JSON text appended to out: the lines copied as they came (each was checked to be JSON
 * when it arrived), so an answer costs one copy of the lines, not a parsed tree of them. */
ms_err experiments_get_text(experiments_mgr *m, uint64_t id, ms_buf *out);
/* Whether the id is known (without building its JSON, which costs as much as its lines). */
bool experiments_exists(experiments_mgr *m, uint64_t id);
/* [{the same without "lines"}, ...] newest first. */
ms_err experiments_list(experiments_mgr *m, json_t **out);

/* Live following, as a cursor: the NDJSON lines from index `from` on, waiting up to timeout_ms
 * when there are none yet.  text is malloc'd (caller frees; NULL with len 0 when nothing came),
 * next is the index to ask for next time, finished is true once the experiment has ended and every
 * line (the last one is always {"type":"exit",...}) has been handed out. */
typedef struct {
    char *text;
    size_t len;
    size_t next;
    bool finished;
} experiments_chunk;
ms_err experiments_follow(experiments_mgr *m, uint64_t id, size_t from, int timeout_ms, experiments_chunk *out);

/* Live following without a copy of the log: the lines stay the experiment's (freed with it), and a
 * follower keeps only this cursor, so what it holds does not grow with the lines.  experiments_frame
 * copies from the cursor into buf, at most max bytes, each line framed as pre LINE post (an SSE
 * event: "data: " and "\n\n"), resuming inside a line where the last call stopped; it never waits.
 * *finished once the experiment has ended and every line went out.  MS_ERR_NOENT once it is
 * forgotten (deleted after it ended, or evicted). */
typedef struct {
    size_t line;              /* the next line's index */
    size_t off;               /* bytes of its frame already handed out */
} experiments_cursor;
ms_err experiments_frame(experiments_mgr *m, uint64_t id, experiments_cursor *cur, const char *pre, const char *post,
                         char *buf, size_t max, size_t *len, bool *finished);

/* Ends an experiment: a live one gets SIGTERM to its process group (SIGKILL after 1 s) and is
 * reaped before this returns; it stays listed with state "killed", reason "deleted".  One that had
 * already ended is forgotten (*removed = true).  MS_ERR_NOENT for an unknown id. */
ms_err experiments_delete(experiments_mgr *m, uint64_t id, bool *removed);

/* For /metrics: labs alive now, and starts refused for a limit (over budget, too many at once). */
void experiments_counts(experiments_mgr *m, uint64_t *running, uint64_t *refused_total);

/* The presets with their lessons: [{"name","title","lesson","spec"}, ...]. */
json_t *experiments_presets(void);
/* The limits in force, for GET /experiments/presets or /health. */
json_t *experiments_limits_json(experiments_mgr *m);

#endif
