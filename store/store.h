/* store.h - memscope's history: memory figures over time and saved smaps, kept in SQLite.
 *
 * The sampler writes one sample set (every process plus the system's meminfo) per interval in one
 * transaction; the API reads series back, downsampled.  Samples live in three tiers: raw, 1-minute
 * and 15-minute (average, with the minimum and maximum of rss), each with its own retention, and a
 * size cap removes the oldest first.  A snapshot is a process's smaps text as the kernel printed it,
 * so every region and field is kept, including fields a later kernel adds.
 *
 * The file is created with an application_id of its own and a versioned schema (user_version),
 * migrated on open.  A file that is not the store's (another program's database, a corrupt file,
 * one from a newer memscoped) is never written to: the store is then unavailable with the reason,
 * and whoever holds it keeps working without history.  Without a directory ("none") the same tables
 * live in memory, bounded by the same size cap: a ring that forgets at exit.
 *
 * Threads: one ms_store is shared by the sampler thread and the HTTP threads.  Every call takes the
 * store's own lock around its use of the connection; the store is made before those threads start
 * and freed (ms_store_free) after they have stopped.  Results are copies the caller owns. */
#ifndef MEMSCOPE_STORE_H
#define MEMSCOPE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cgroup.h"
#include "core/error.h"
#include "core/smaps.h"

/* The application_id of every store file ("MSCP"). */
#define MS_STORE_APP_ID 0x4d534350
#define MS_STORE_FILE "memscope.db"

typedef struct ms_store ms_store;

typedef struct {
    uint64_t raw_ms, minute_ms, quarter_ms;   /* retention of each tier */
    uint64_t max_bytes;                       /* size cap of the database */
} ms_store_config;

/* 24 h raw, 7 d of 1-minute, 90 d of 15-minute, 256 MiB. */
void ms_store_config_default(ms_store_config *c);

/* The figures kept for a process at one instant.  pss/uss/swap_pss are known only when has_rollup:
 * a process the sampler could not afford to read this round has none (never a guess). */
typedef enum {
    MS_HF_RSS, MS_HF_PSS, MS_HF_USS, MS_HF_SWAP, MS_HF_VM_SIZE, MS_HF_RSS_ANON, MS_HF_RSS_FILE,
    MS_HF_RSS_SHMEM,
    MS_HF__COUNT
} ms_hist_field;
const char *ms_hist_field_name(ms_hist_field f);

typedef struct {
    int pid;
    uint64_t start_time;      /* stat field 22: with pid, the process's identity */
    char name[64];
    uint64_t v[MS_HF__COUNT];
    bool has_rollup;
} ms_store_proc;

/* The meminfo figures kept for the system. */
typedef enum {
    MS_SYS_MEM_TOTAL, MS_SYS_MEM_FREE, MS_SYS_MEM_AVAILABLE, MS_SYS_BUFFERS, MS_SYS_CACHED,
    MS_SYS_SHMEM, MS_SYS_ANON_PAGES, MS_SYS_SLAB, MS_SYS_SWAP_TOTAL, MS_SYS_SWAP_FREE,
    MS_SYS__COUNT
} ms_sys_field;
/* JSON name ("mem_available") and meminfo key ("MemAvailable") of each. */
const char *ms_sys_field_name(ms_sys_field f);
const char *ms_sys_field_key(ms_sys_field f);

typedef struct {
    uint64_t v[MS_SYS__COUNT];
} ms_store_sys;

/* Opens (creating it if need be) dir/memscope.db, or an in-memory store when dir is NULL.  A store
 * that cannot be used is still returned (ms_store_available() false, ms_store_status() says why),
 * so the caller can report it; MS_ERR_NOMEM is the only failure.  Creates dir (mode 0700) if
 * missing. */
ms_err ms_store_open(const char *dir, const ms_store_config *cfg, ms_store **out);
void ms_store_free(ms_store **s);

bool ms_store_available(ms_store *s);
/* "ok", "degraded" (the last write failed: disk full, ...), "unavailable"; reason is "" when ok.
 * Copies the reason into reason[cap]. */
const char *ms_store_status(ms_store *s, char *reason, size_t cap);
/* The database's path ("" in memory), its used size in bytes, and its schema version. */
const char *ms_store_path(const ms_store *s);
ms_err ms_store_size(ms_store *s, uint64_t *bytes);
int ms_store_schema_version(void);
/* The SQL that takes a store from version v-1 to v (tests build old stores with it). */
const char *ms_store_migration_sql(int v);

/* Writes one sample set in one transaction, then rolls completed minutes and quarters up into
 * their tiers and applies retention and the size cap.  now_ms: Unix milliseconds. */
ms_err ms_store_write(ms_store *s, int64_t now_ms, const ms_store_sys *sys, const ms_store_proc *p,
                      size_t n);

/* ---- reading ---- */

typedef struct {
    int64_t t_ms;
    uint64_t v[MS_HF__COUNT];
    bool has_rollup;          /* pss and uss known for this point */
    uint64_t rss_min, rss_max;
} ms_hist_point;

typedef struct {
    int64_t t_ms;
    uint64_t v[MS_SYS__COUNT];
} ms_sys_point;

typedef struct {
    int pid;
    uint64_t start_time;
    char name[64];
    int64_t first_ms, last_ms;
} ms_store_procid;

typedef struct {
    int64_t since_ms, until_ms;
    int64_t step_ms;          /* asked; 0 = the finest available */
    size_t max_points;        /* the step is widened so no more than this come back */
} ms_hist_query;

typedef struct {
    int64_t step_ms;          /* used */
    const char *tier;         /* "raw", "1m", "15m" */
    size_t n;
    ms_hist_point *p;         /* owned: free() */
} ms_hist_series;

typedef struct {
    int64_t step_ms;
    const char *tier;
    size_t n;
    ms_sys_point *p;          /* owned: free() */
} ms_sys_series;

/* The process with this pid: start_time != 0 picks that one, 0 the one seen last.  MS_ERR_NOENT if
 * never seen. */
ms_err ms_store_find_proc(ms_store *s, int pid, uint64_t start_time, ms_store_procid *out);
ms_err ms_store_proc_history(ms_store *s, const ms_store_procid *id, const ms_hist_query *q,
                             ms_hist_series *out);
ms_err ms_store_sys_history(ms_store *s, const ms_hist_query *q, ms_sys_series *out);
/* Processes seen at or after since_ms, last seen first, at most max.  *out owned: free(). */
ms_err ms_store_procs_seen(ms_store *s, int64_t since_ms, size_t max, ms_store_procid **out, size_t *n);

/* ---- snapshots ---- */

typedef struct {
    int64_t id;
    int pid;
    uint64_t start_time;
    int64_t t_ms;
    char reason[16];          /* "manual", "auto" */
    uint64_t rss;             /* sum of the regions' Rss */
    uint64_t nregions;
    uint64_t bytes;           /* size of the smaps text the snapshot was taken from */
    int format;               /* how the blob is kept: MS_SNAP_TEXT or MS_SNAP_BINARY */
} ms_snapshot_info;

enum { MS_SNAP_TEXT = 0, MS_SNAP_BINARY = 1 };

/* Saves a snapshot's blob (smaps text as read, or its binary form, as info->format says) for the
 * process, with info->bytes as its text's size (for text, len); *id set.  Snapshot count is capped: past it, the
 * oldest automatic one goes (then the oldest). */
#define MS_STORE_MAX_SNAPSHOTS 2000
ms_err ms_store_snapshot_put(ms_store *s, const ms_snapshot_info *info, const char *text, size_t len,
                             int64_t *id);
/* pid <= 0: all.  Newest first, at most max.  *out owned: free(). */
ms_err ms_store_snapshot_list(ms_store *s, int pid, size_t max, ms_snapshot_info **out, size_t *n);
/* The info, and the text into b (replacing its content) when b is non-NULL.  MS_ERR_NOENT. */
ms_err ms_store_snapshot_get(ms_store *s, int64_t id, ms_snapshot_info *info, ms_buf *b);
/* The info, and the snapshot's smaps into sm (parsed or decoded, whichever form it was kept in).
 * MS_ERR_NOENT; MS_ERR_PARSE for a blob that is not a readable smaps. */
ms_err ms_store_snapshot_load(ms_store *s, int64_t id, ms_snapshot_info *info, ms_smaps *sm);
ms_err ms_store_snapshot_delete(ms_store *s, int64_t id);
/* Reads the smaps of the process behind dirfd (pid: its pid) and saves it with `reason`; info is
 * filled in (id included).  MS_ERR_NOENT when the process is gone, MS_ERR_PERM when the kernel
 * refuses its smaps. */
ms_err ms_store_snapshot_take(ms_store *s, int dirfd, int pid, const char *reason, int64_t now_ms,
                              ms_snapshot_info *info);
/* The earliest snapshot of this process taken at or after since_ms (else the latest before it).
 * MS_ERR_NOENT if it has none. */
ms_err ms_store_snapshot_baseline(ms_store *s, const ms_store_procid *id, int64_t since_ms,
                                  ms_snapshot_info *info);

/* ---- OOM kills ----
 *
 * Every kill memscoped saw, kept beside the samples so that a kill outlives a restart and can be
 * joined to its victim's last sample and snapshot.  A kill read from the kernel log carries the
 * boot id and the log record's sequence number: the pair is unique, and a record stored once is
 * never stored again, however often the kernel log is read back after restarts.  Kept as long as
 * the 15-minute tier, at most MS_STORE_MAX_OOM_EVENTS (the oldest go first), and dropped with the
 * oldest data under the size cap. */
#define MS_STORE_MAX_OOM_EVENTS 10000

typedef struct {
    uint64_t seq;                 /* the store's id of the event (1, 2, ... in the order stored) */
    int64_t time_ms;              /* when the kernel logged it (or the counter rose), Unix ms */
    bool global;                  /* the machine ran out, not a cgroup limit */
    char cgroup[MS_CG_PATH_MAX];  /* the cgroup whose limit was hit ("" when global) */
    char task_cgroup[MS_CG_PATH_MAX]; /* the victim's own cgroup, when the log names it */
    char constraint[32];          /* CONSTRAINT_MEMCG, CONSTRAINT_NONE, ... ("" when unknown) */
    int pid;                      /* 0: victim unknown */
    uint64_t start_time;          /* the victim's stat start time, 0 when it was gone before it was read */
    char name[64];
    uint32_t uid;
    bool figures;                 /* the kernel's line was read: the sizes below are known */
    uint64_t total_vm, anon_rss, file_rss, shmem_rss, pgtables;   /* bytes */
    int64_t oom_score_adj;
    const char *source;           /* "kmsg" or "counter" (static strings) */
    char boot_id[40];             /* the kernel log's boot; "" for a counter's event */
    uint64_t kmsg_seq;            /* the log record's sequence number (0: none) */
    char note[320];               /* why the victim is unknown, when it is */
} ms_oom_event;

/* Stores ev unless a kernel-log record with its boot id and sequence number is stored already
 * (*added then false).  For a kernel-log event the boot's read position moves on to its record. */
ms_err ms_store_oom_put(ms_store *s, const ms_oom_event *ev, bool *added);
/* Events with time_ms >= since_ms, oldest first, at most max; *more: some were left out.
 * *out owned: free(). */
ms_err ms_store_oom_list(ms_store *s, int64_t since_ms, size_t max, ms_oom_event **out, size_t *n, bool *more);
/* The last kernel-log record of boot boot_id read by a memscoped on this store, so that the next
 * one reads on from there.  MS_ERR_NOENT: none for this boot.  _set only ever moves it forward. */
ms_err ms_store_kmsg_pos_get(ms_store *s, const char *boot_id, uint64_t *seq);
ms_err ms_store_kmsg_pos_set(ms_store *s, const char *boot_id, uint64_t seq);

/* The victim's last sampled figures and last snapshot, as far as the history has them. */
typedef struct {
    const char *match;            /* "pid_start_time" or "pid_time" (how the process was found) */
    ms_store_procid id;
    bool sampled;                 /* the point below is set */
    ms_hist_point last;           /* the last sample at or before the kill (the finest tier that has one) */
    const char *tier;             /* its tier: "raw", "1m" or "15m" */
    bool has_snapshot;
    ms_snapshot_info snap;        /* the last snapshot at or before the kill */
} ms_oom_victim;

/* Finds ev's victim in the history: by pid and start time where the event has the start time,
 * else the process with that pid and name seen last at or before the kill.  MS_ERR_NOENT when no
 * such process was sampled; `why` then says what the history holds instead. */
ms_err ms_store_oom_victim(ms_store *s, const ms_oom_event *ev, ms_oom_victim *out, char *why, size_t cap);

#endif
