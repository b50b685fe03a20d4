/* history.c - the history options (--data-dir, --sample-interval, ...), and starting and stopping
 * the store and the sampler in the right order. */
#include "history.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/num.h"
#include "log.h"
#include "routes_history.h"

void history_opts_default(history_opts *o)
{
    memset(o, 0, sizeof *o);
    ms_store_config_default(&o->store);
    o->sampler.interval_ms = 10000;
    o->sampler.budget_permille = 10;
    o->sampler.auto_growth_pct = 20;
}

void history_usage(FILE *f)
{
    fputs("\nHistory:\n"
          "  --data-dir DIR         where the history store lives (default /var/lib/memscope for root,\n"
          "                         $XDG_STATE_HOME/memscope otherwise; none: in memory, at most 32MiB)\n"
          "  --sample-interval T    how often the history sampler records every process (default 10s;\n"
          "                         0 turns it off)\n"
          "  --sample-budget SHARE  CPU the sampler may spend per round, as a share of one core (default 1%)\n"
          "  --retention R,M,Q      how long raw samples, 1-minute and 15-minute averages are kept\n"
          "                         (default 24h,7d,90d)\n"
          "  --max-store SIZE       size cap of the history store; the oldest data goes first (default 256MiB)\n"
          "  --auto-snapshot-growth PCT  snapshot a process's smaps when its RSS grew more than this since\n"
          "                         its last snapshot (default 20%; 0 turns it off)\n",
          f);
}

/* "24h,7d,90d": the retention of the raw, 1-minute and 15-minute tiers. */
static bool parse_retention(const char *v, ms_store_config *c)
{
    uint64_t out[3];
    const char *p = v;
    for (int i = 0; i < 3; i++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char part[32];
        if ((comma == NULL) != (i == 2) || len == 0 || len >= sizeof part)
            return false;
        memcpy(part, p, len);
        part[len] = '\0';
        if (!ms_parse_duration_ms(part, &out[i]) || out[i] < 60000)
            return false;
        p += len + 1;
    }
    if (out[0] > out[1] || out[1] > out[2])
        return false;
    c->raw_ms = out[0];
    c->minute_ms = out[1];
    c->quarter_ms = out[2];
    return true;
}

/* "1%", "0.5%" or "1": a share of one core, kept in 1/1000. */
static bool parse_share(const char *v, unsigned *permille)
{
    const char *p = v, *end = v + strlen(v);
    uint64_t whole, frac = 0;
    if (!ms_num_dec(&p, end, &whole) || whole > 100)
        return false;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return false;
        frac = (uint64_t)(*p++ - '0');
    }
    if (p < end && *p == '%')
        p++;
    if (p != end || whole * 10 + frac == 0 || whole * 10 + frac > 1000)
        return false;
    *permille = (unsigned)(whole * 10 + frac);
    return true;
}

int history_option(history_opts *o, const char *name, const char *v)
{
    uint64_t x;
    if (!strcmp(name, "--data-dir")) {
        o->data_dir = v;
    } else if (!strcmp(name, "--sample-interval")) {
        if (!ms_parse_duration_ms(v, &x) || (x != 0 && x < 100) || x > 86400000) {
            fprintf(stderr, "memscoped: --sample-interval takes a duration from 100ms to 24h (10s, 1m), or 0 for off\n");
            return -1;
        }
        o->sampler.interval_ms = x;
    } else if (!strcmp(name, "--sample-budget")) {
        if (!parse_share(v, &o->sampler.budget_permille)) {
            fprintf(stderr, "memscoped: --sample-budget takes a share of one core from 0.1%% to 100%%, like 1%%\n");
            return -1;
        }
    } else if (!strcmp(name, "--retention")) {
        if (!parse_retention(v, &o->store)) {
            fprintf(stderr, "memscoped: --retention takes RAW,MINUTE,QUARTER durations, each at least 1m and "
                            "none shorter than the one before, like 24h,7d,90d\n");
            return -1;
        }
    } else if (!strcmp(name, "--max-store")) {
        if (!ms_parse_size(v, &o->store.max_bytes) || o->store.max_bytes < ((uint64_t)1 << 20)) {
            fprintf(stderr, "memscoped: --max-store takes a size of at least 1MiB, like 256MiB\n");
            return -1;
        }
    } else if (!strcmp(name, "--auto-snapshot-growth")) {
        const char *pct = v;
        size_t n = strlen(v);
        char tmp[16];
        if (n > 0 && n < sizeof tmp && v[n - 1] == '%') {
            memcpy(tmp, v, n - 1);
            tmp[n - 1] = '\0';
            pct = tmp;
        }
        if (!ms_parse_u64(pct, 10000, &x)) {
            fprintf(stderr, "memscoped: --auto-snapshot-growth takes a percentage like 20%% (0 turns it off)\n");
            return -1;
        }
        o->sampler.auto_growth_pct = (unsigned)x;
    } else {
        return 0;
    }
    return 1;
}

/* /var/lib/memscope for root, $XDG_STATE_HOME/memscope (or ~/.local/state/memscope) otherwise. */
static const char *default_dir(char *buf, size_t cap)
{
    if (geteuid() == 0)
        return "/var/lib/memscope";
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(buf, cap, "%s/memscope", xdg);
    else if (home && home[0] == '/')
        snprintf(buf, cap, "%s/.local/state/memscope", home);
    else
        return NULL;
    return buf;
}

bool history_start(history_opts *o)
{
    char buf[4096];
    const char *dir = o->data_dir ? o->data_dir : default_dir(buf, sizeof buf);
    if (dir && !strcmp(dir, "none"))
        dir = NULL;
    if (!dir && !o->data_dir)
        log_warn("history: no $HOME or $XDG_STATE_HOME: keeping history in memory only");
    if (ms_store_open(dir, &o->store, &o->st) != MS_OK)
        return false;
    char reason[1024];
    const char *status = ms_store_status(o->st, reason, sizeof reason);
    if (strcmp(status, "ok") != 0)
        log_error("history: the store is %s: %s (memscoped serves everything else)", status, reason);
    else
        log_info("history: store %s, sampling every %llu ms", dir ? ms_store_path(o->st) : "in memory",
                 (unsigned long long)o->sampler.interval_ms);
    if (o->sampler.interval_ms && ms_store_available(o->st) &&
        ms_sampler_start(o->st, &o->sampler, &o->smp) != MS_OK) {
        ms_store_free(&o->st);
        return false;
    }
    routes_history_init(o->st, o->smp, o->smp ? o->sampler.interval_ms : 0);
    return true;
}

void history_stop(history_opts *o)
{
    ms_sampler_stop(&o->smp);
    routes_history_init(NULL, NULL, 0);
    ms_store_free(&o->st);
}
