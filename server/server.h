/* server.h - the context every part of memscoped shares: what main() found out and was told at
 * start-up (the kernel's features, the options, the cgroup hierarchy), handed to each request as
 * r->srv.  main() owns the one instance; it is read-only once the daemon runs. */
#ifndef MEMSCOPE_SERVER_H
#define MEMSCOPE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/cgroup.h"
#include "core/features.h"
#include "core/system.h"

struct experiments_mgr;

/* Everything the handlers share, set up once in main() and read-only afterwards (counters are
 * atomics; the experiment manager locks itself). */
typedef struct {
    ms_features features;
    ms_sysinfo sys;
    const char *web_dir;        /* NULL: no dashboard */
    int web_fd;                 /* O_PATH descriptor of web_dir, or -1 */
    const char *token;          /* NULL: no authentication */
    const char *cors_origin;    /* NULL: no cross-origin access */
    size_t max_body;            /* request body cap */
    bool experiments_enabled;
    const char *experiments_off_reason;
    struct experiments_mgr *exp;       /* NULL when experiments are off */
    unsigned metrics_top;       /* processes exported per scrape on /metrics */
    unsigned list_cache_ms;     /* /processes may answer from a list this old (0: always re-read) */
    bool allow_clear_refs;      /* /wss may write clear_refs (--allow-clear-refs) */
    time_t started;
    /* Which Host a request may name besides loopback and the listening address (--allow-host). */
    const char *const *allow_hosts;
    size_t nallow_hosts;
    char listen_addr[48];       /* the address given to --listen, as text */
    unsigned port;              /* the port bound (set by http_start) */
    unsigned request_timeout_s; /* a request must arrive whole within this (--request-timeout) */
    unsigned idle_timeout_s;
    unsigned max_conns;         /* after clamping to the descriptor limit */
    bool cg_ok;                 /* a memory cgroup hierarchy was found (cg, cg_root_fd valid) */
    ms_cg_hier cg;
    int cg_root_fd;             /* O_RDONLY descriptor of cg.root, or -1 */
    const char *cg_why;         /* why there is none, when !cg_ok */
    struct oomwatch *oom;       /* the OOM kill watcher (oomwatch.h) */
    unsigned metrics_cgroups;   /* cgroups exported per scrape on /metrics */
    const struct metrics_select *metrics_sel;   /* --metrics-group, --metrics-match (metrics_select.h) */
    unsigned metrics_max_series;   /* per-process and name group series per scrape, the rest folded */
} server_ctx;

#endif
