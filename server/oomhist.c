/* oomhist.c - the OOM watcher's events into the history store, and the kernel log read back from
 * where the last memscoped on the same store left it.  See oomhist.h for the order of calls. */
#include "oomhist.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Written on the main thread before the daemon starts and after it stopped; read-only between. */
static ms_store *oh_store;
static char oh_why[600] = "there is no history store";

static void put(const oom_event *ev, void *ctx)
{
    bool added;
    ms_err rc = ms_store_oom_put(ctx, ev, &added);
    if (rc != MS_OK)
        log_warn("history: cannot keep the OOM kill of pid %d: %s", ev->pid, ms_strerror(rc));
    else if (added && ev->kmsg_seq)
        log_debug("history: kept the OOM kill of pid %d (kernel log record %llu)", ev->pid,
                  (unsigned long long)ev->kmsg_seq);
}

/* The kills logged while no memscoped read the log; and the position the next start reads on from. */
static void catch_up(oomwatch *w, ms_store *st)
{
    const char *boot = oomwatch_boot_id(w);
    uint64_t pos = 0, last = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ms_err rc = ms_store_kmsg_pos_get(st, boot, &pos);
    bool resume = rc == MS_OK;
    /* a store new to this boot starts "from now": its replay only learns where the log ends */
    rc = oomwatch_replay(w, resume ? pos : UINT64_MAX, put, st, &last);
    if (rc != MS_OK) {
        log_warn("history: cannot read the kernel log back: %s", ms_strerror(rc));
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (resume)
        log_info("history: read the kernel log back from record %llu to %llu for OOM kills missed (%ld ms)",
                 (unsigned long long)pos, (unsigned long long)last, ms);
    else
        log_info("history: OOM kills kept from kernel log record %llu on (%ld ms to find it)",
                 (unsigned long long)last, ms);
    if (last && ms_store_kmsg_pos_set(st, boot, last) != MS_OK)
        log_warn("history: cannot save how far the kernel log was read");
}

void oomhist_attach(oomwatch *w, ms_store *st)
{
    char reason[512];
    if (st && !ms_store_available(st)) {
        ms_store_status(st, reason, sizeof reason);
        snprintf(oh_why, sizeof oh_why, "the history store is unavailable: %s", reason);
    }
    if (!w || !st || !ms_store_available(st))
        return;
    oomwatch_set_sink(w, put, st);
    const char *why;
    if (!strcmp(oomwatch_source(w, &why), "kmsg") && oomwatch_boot_id(w)[0])
        catch_up(w, st);
    oh_store = st;
}

void oomhist_detach(oomwatch *w)
{
    if (!w || !oh_store)
        return;
    oomwatch_set_sink(w, NULL, NULL);
    uint64_t last = oomwatch_kmsg_last(w);
    if (last && oomwatch_boot_id(w)[0] && ms_store_kmsg_pos_set(oh_store, oomwatch_boot_id(w), last) != MS_OK)
        log_warn("history: cannot save how far the kernel log was read");
    oh_store = NULL;
}

ms_store *oomhist_store(void)
{
    return oh_store;
}

const char *oomhist_why(void)
{
    return oh_why;
}
