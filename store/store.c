/* store.c - the history store on SQLite: schema and migrations, the sample-set writer with its
 * tier roll-ups, retention and size cap, series queries, and snapshots.
 *
 * Figures are stored in KiB: everything the kernel gives for them (status, smaps_rollup, meminfo)
 * is printed in kB, so the division is exact and a row is a few bytes shorter, which matters at
 * 1.7 million raw rows a day.  Reads multiply back. */
#include "store.h"

#include "core/buf.h"
#include "core/smaps.h"
#include "core/stat.h"
#include "snapcodec.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TIER_RAW 0
#define TIER_MINUTE 1
#define TIER_QUARTER 2
#define MINUTE_MS 60000
#define QUARTER_MS 900000
/* The in-memory ring lives in memscoped's own memory: bounded tighter than a file. */
#define MEMORY_MAX_BYTES ((uint64_t)32 << 20)

typedef enum { ST_OK, ST_DEGRADED, ST_UNAVAILABLE } store_state;

struct ms_store {
    pthread_mutex_t lock;     /* guards everything below */
    sqlite3 *db;              /* NULL when unavailable from the start */
    ms_store_config cfg;
    char path[4096];
    store_state state;
    char reason[512];
    int64_t last_retention_ms;
};

/* ---- schema ---- */

/* migrations[v - 1] takes a store from version v-1 to v.  Never edit one that has shipped: add. */
static const char *const migrations[] = {
    /* 1: processes, samples in tiers, system samples, roll-up progress */
    "CREATE TABLE procs(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, start_time INTEGER NOT NULL,"
    " name TEXT NOT NULL, first_t INTEGER NOT NULL, last_t INTEGER NOT NULL, UNIQUE(pid, start_time));"
    "CREATE INDEX procs_last ON procs(last_t);"
    "CREATE TABLE samples(proc INTEGER NOT NULL, tier INTEGER NOT NULL, t INTEGER NOT NULL,"
    " n INTEGER, nroll INTEGER, rss INTEGER, pss INTEGER, uss INTEGER, swap INTEGER, vm_size INTEGER,"
    " rss_anon INTEGER, rss_file INTEGER, rss_shmem INTEGER, rss_min INTEGER, rss_max INTEGER,"
    " PRIMARY KEY(proc, tier, t)) WITHOUT ROWID;"
    "CREATE TABLE sys_samples(tier INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER,"
    " mem_total INTEGER, mem_free INTEGER, mem_available INTEGER, buffers INTEGER, cached INTEGER,"
    " shmem INTEGER, anon_pages INTEGER, slab INTEGER, swap_total INTEGER, swap_free INTEGER,"
    " PRIMARY KEY(tier, t)) WITHOUT ROWID;"
    "CREATE TABLE rollup_state(tier INTEGER PRIMARY KEY, done_t INTEGER NOT NULL);",
    /* 2: snapshots of smaps */
    "CREATE TABLE snapshots(id INTEGER PRIMARY KEY, proc INTEGER NOT NULL, t INTEGER NOT NULL,"
    " reason TEXT NOT NULL, rss INTEGER NOT NULL, nregions INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    " text BLOB NOT NULL);"
    "CREATE INDEX snapshots_proc ON snapshots(proc, t);",
    /* 3: OOM kills, and how far each boot's kernel log was read */
    "CREATE TABLE oom_events(id INTEGER PRIMARY KEY AUTOINCREMENT, t INTEGER NOT NULL, global INTEGER NOT NULL,"
    " cgroup TEXT NOT NULL, task_cgroup TEXT NOT NULL, oom_constraint TEXT NOT NULL, pid INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL, name TEXT NOT NULL, uid INTEGER NOT NULL, figures INTEGER NOT NULL,"
    " total_vm INTEGER NOT NULL, anon_rss INTEGER NOT NULL, file_rss INTEGER NOT NULL, shmem_rss INTEGER NOT NULL,"
    " pgtables INTEGER NOT NULL, oom_score_adj INTEGER NOT NULL, source TEXT NOT NULL, boot_id TEXT,"
    " kmsg_seq INTEGER, note TEXT NOT NULL, UNIQUE(boot_id, kmsg_seq));"
    "CREATE INDEX oom_events_t ON oom_events(t);"
    "CREATE TABLE kmsg_pos(boot_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);",
    /* 4: how a snapshot's blob is kept: 0 the smaps text as read (every snapshot before this step),
     * 1 parsed, in the binary form of snapcodec.h */
    "ALTER TABLE snapshots ADD COLUMN format INTEGER NOT NULL DEFAULT 0;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int ms_store_schema_version(void)
{
    return SCHEMA_VERSION;
}

const char *ms_store_migration_sql(int v)
{
    return v >= 1 && v <= SCHEMA_VERSION ? migrations[v - 1] : NULL;
}

static const char *const hf_names[MS_HF__COUNT] = {
    "rss", "pss", "uss", "swap", "vm_size", "rss_anon", "rss_file", "rss_shmem",
};

const char *ms_hist_field_name(ms_hist_field f)
{
    return f < MS_HF__COUNT ? hf_names[f] : NULL;
}

static const char *const sys_names[MS_SYS__COUNT] = {
    "mem_total", "mem_free", "mem_available", "buffers", "cached", "shmem", "anon_pages", "slab",
    "swap_total", "swap_free",
};
static const char *const sys_keys[MS_SYS__COUNT] = {
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Shmem", "AnonPages", "Slab",
    "SwapTotal", "SwapFree",
};

const char *ms_sys_field_name(ms_sys_field f)
{
    return f < MS_SYS__COUNT ? sys_names[f] : NULL;
}

const char *ms_sys_field_key(ms_sys_field f)
{
    return f < MS_SYS__COUNT ? sys_keys[f] : NULL;
}

void ms_store_config_default(ms_store_config *c)
{
    c->raw_ms = 24ULL * 3600 * 1000;
    c->minute_ms = 7ULL * 24 * 3600 * 1000;
    c->quarter_ms = 90ULL * 24 * 3600 * 1000;
    c->max_bytes = (uint64_t)256 << 20;
}

/* ---- state ---- */

static void set_state(ms_store *s, store_state st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_state(ms_store *s, store_state st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->state = st;
    vsnprintf(s->reason, sizeof s->reason, fmt, ap);
    va_end(ap);
}

/* A failed statement: the disk (full, read-only, I/O error) degrades the store, which keeps trying
 * at the next write; a damaged file makes it unavailable. */
static ms_err fail(ms_store *s, int rc, const char *what)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int prim = rc & 0xff;
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB) {
        set_state(s, ST_UNAVAILABLE, "%s: %s (the file is left as it is)", what, msg);
        return MS_ERR_UNAVAILABLE;
    }
    if (prim == SQLITE_NOMEM)
        return MS_ERR_NOMEM;
    int sys = s->db ? sqlite3_system_errno(s->db) : 0;   /* ENOSPC behind a "disk I/O error" */
    if (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN ||
        prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        set_state(s, ST_DEGRADED, "%s: %s%s%s%s", what, msg, sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
    return MS_ERR_IO;
}

static int exec(ms_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static int pragma_int(ms_store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* mkdir -p, mode 0700 for what it creates (the history says what ran on this machine). */
static int mkdir_p(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return ENAMETOOLONG;
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return errno;
        tmp[i] = c;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return errno;
    return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

/* Whether the open file is the store's (or an empty database it may make its own): read-only
 * questions, asked before anything is written.  Sets the state when it is not. */
static bool claim_file(ms_store *s, int64_t *version)
{
    int64_t app = 0, ntables = 0;
    int rc = pragma_int(s, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &ntables);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "PRAGMA user_version", version);
    if (rc != SQLITE_OK) {
        set_state(s, ST_UNAVAILABLE, "%s is not a readable SQLite database (%s); it is left as it is",
                  s->path, sqlite3_errmsg(s->db));
        return false;
    }
    if (app == 0 && ntables == 0 && *version == 0)
        return true;                          /* new (or an empty file): ours to set up */
    if (app != MS_STORE_APP_ID) {
        char id[32];
        snprintf(id, sizeof id, "0x%llx", (unsigned long long)(uint32_t)app);
        set_state(s, ST_UNAVAILABLE, "%s was not made by memscoped (application_id %s); it is left as it is",
                  s->path, id);
        return false;
    }
    if (*version > SCHEMA_VERSION) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)*version);
        set_state(s, ST_UNAVAILABLE, "%s was made by a newer memscoped (schema %s); it is left as it is",
                  s->path, v);
        return false;
    }
    return true;
}

/* Brings the schema from `from` to SCHEMA_VERSION, each step in its own transaction with the
 * version it reaches, so a crash mid-way leaves a store at a version it can resume from. */
static int migrate(ms_store *s, int64_t from)
{
    int rc = SQLITE_OK;
    for (int v = (int)from + 1; v <= SCHEMA_VERSION && rc == SQLITE_OK; v++) {
        char tail[96];
        snprintf(tail, sizeof tail, "PRAGMA application_id=%d; PRAGMA user_version=%d; COMMIT;",
                 MS_STORE_APP_ID, v);
        rc = exec(s, "BEGIN IMMEDIATE");
        if (rc == SQLITE_OK)
            rc = exec(s, migrations[v - 1]);
        if (rc == SQLITE_OK)
            rc = exec(s, tail);
        if (rc != SQLITE_OK)
            exec(s, "ROLLBACK");
    }
    return rc;
}

static void open_db(ms_store *s, const char *dir)
{
    int rc;
    if (dir) {
        int err = mkdir_p(dir);
        if (err) {
            set_state(s, ST_UNAVAILABLE, "cannot create the data directory %s: %s", dir, strerror(err));
            return;
        }
        if ((size_t)snprintf(s->path, sizeof s->path, "%s/%s", dir, MS_STORE_FILE) >= sizeof s->path) {
            set_state(s, ST_UNAVAILABLE, "data directory path too long");
            return;
        }
        struct stat sb;
        if (lstat(s->path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
            set_state(s, ST_UNAVAILABLE, "%s is not a regular file; it is left as it is", s->path);
            return;
        }
        rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    } else {
        rc = sqlite3_open_v2(":memory:", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    }
    if (rc != SQLITE_OK) {
        set_state(s, ST_UNAVAILABLE, "cannot open %s: %s", s->path[0] ? s->path : "the in-memory store",
                  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return;
    }
    sqlite3_busy_timeout(s->db, 2000);
    int64_t version = 0;
    if (!claim_file(s, &version))
        return;
    /* auto_vacuum only takes effect on a database without tables: the store's own new file. */
    if (version == 0)
        exec(s, "PRAGMA auto_vacuum=INCREMENTAL");
    if (dir) {
        int64_t dummy;
        rc = pragma_int(s, "PRAGMA journal_mode=WAL", &dummy);
        if (rc == SQLITE_OK)
            rc = exec(s, "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=4194304");
        if (rc != SQLITE_OK) {
            set_state(s, ST_UNAVAILABLE, "cannot use %s: %s", s->path, sqlite3_errmsg(s->db));
            return;
        }
    }
    rc = migrate(s, version);
    if (rc != SQLITE_OK)
        set_state(s, ST_UNAVAILABLE, "cannot set up %s: %s", s->path[0] ? s->path : "the in-memory store",
                  sqlite3_errmsg(s->db));
}

ms_err ms_store_open(const char *dir, const ms_store_config *cfg, ms_store **out)
{
    *out = NULL;
    ms_store *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ERR_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->cfg = *cfg;
    if (!dir && s->cfg.max_bytes > MEMORY_MAX_BYTES)
        s->cfg.max_bytes = MEMORY_MAX_BYTES;
    s->state = ST_OK;
    open_db(s, dir);
    if (s->state == ST_UNAVAILABLE && s->db) {
        sqlite3_close(s->db);
        s->db = NULL;
    }
    *out = s;
    return MS_OK;
}

void ms_store_free(ms_store **sp)
{
    ms_store *s = *sp;
    if (!s)
        return;
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}

bool ms_store_available(ms_store *s)
{
    pthread_mutex_lock(&s->lock);
    bool ok = s->state != ST_UNAVAILABLE;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

const char *ms_store_status(ms_store *s, char *reason, size_t cap)
{
    pthread_mutex_lock(&s->lock);
    store_state st = s->state;
    snprintf(reason, cap, "%s", st == ST_OK ? "" : s->reason);
    pthread_mutex_unlock(&s->lock);
    return st == ST_OK ? "ok" : st == ST_DEGRADED ? "degraded" : "unavailable";
}

const char *ms_store_path(const ms_store *s)
{
    return s->path;
}

/* Pages in use (the free list is space the file keeps but the data does not). */
static int used_bytes(ms_store *s, uint64_t *bytes)
{
    int64_t pages = 0, freel = 0, psize = 0;
    int rc = pragma_int(s, "PRAGMA page_count", &pages);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "PRAGMA freelist_count", &freel);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "PRAGMA page_size", &psize);
    *bytes = (uint64_t)(pages - freel) * (uint64_t)psize;
    return rc;
}

/* Takes the lock; MS_ERR_UNAVAILABLE (lock released) when the store cannot be used. */
static ms_err enter(ms_store *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->state == ST_UNAVAILABLE || !s->db) {
        pthread_mutex_unlock(&s->lock);
        return MS_ERR_UNAVAILABLE;
    }
    return MS_OK;
}

ms_err ms_store_size(ms_store *s, uint64_t *bytes)
{
    ms_err rc = enter(s);
    if (rc != MS_OK)
        return rc;
    if (used_bytes(s, bytes) != SQLITE_OK)
        rc = MS_ERR_IO;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- writing ---- */

static int64_t kib(uint64_t bytes)
{
    return (int64_t)(bytes >> 10);
}

static int write_procs(ms_store *s, int64_t now, const ms_store_proc *p, size_t n)
{
    sqlite3_stmt *up = NULL, *ins = NULL;
    int rc = sqlite3_prepare_v2(s->db,
        "INSERT INTO procs(pid, start_time, name, first_t, last_t) VALUES(?1, ?2, ?3, ?4, ?4)"
        " ON CONFLICT(pid, start_time) DO UPDATE SET last_t = excluded.last_t, name = excluded.name"
        " RETURNING id", -1, &up, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
            "INSERT OR REPLACE INTO samples(proc, tier, t, n, nroll, rss, pss, uss, swap, vm_size,"
            " rss_anon, rss_file, rss_shmem) VALUES(?1, 0, ?2, NULL, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            -1, &ins, NULL);
    for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
        sqlite3_bind_int(up, 1, p[i].pid);
        sqlite3_bind_int64(up, 2, (int64_t)p[i].start_time);
        sqlite3_bind_text(up, 3, p[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 4, now);
        rc = sqlite3_step(up);
        if (rc != SQLITE_ROW)
            break;
        int64_t id = sqlite3_column_int64(up, 0);
        rc = sqlite3_step(up);                /* runs the statement to its end */
        sqlite3_reset(up);
        if (rc != SQLITE_DONE)
            break;
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, now);
        for (int f = 0; f < MS_HF__COUNT; f++) {
            if (!p[i].has_rollup && (f == MS_HF_PSS || f == MS_HF_USS))
                sqlite3_bind_null(ins, 3 + f);
            else
                sqlite3_bind_int64(ins, 3 + f, kib(p[i].v[f]));
        }
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(up);
    sqlite3_finalize(ins);
    return rc;
}

static int write_sys(ms_store *s, int64_t now, const ms_store_sys *sys)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
        "INSERT OR REPLACE INTO sys_samples VALUES(0, ?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now);
        for (int f = 0; f < MS_SYS__COUNT; f++)
            sqlite3_bind_int64(st, 2 + f, kib(sys->v[f]));
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Rolls the completed buckets of `width` ms of tier from-1 up into tier `to`: averages weighted by
 * the number of raw samples behind each row (a raw row counts 1; pss/uss by the samples that had
 * them), the minimum and maximum of rss. */
static int rollup(ms_store *s, int to, int64_t width, int64_t now)
{
    int64_t done = 0;
    char sql[2048];
    snprintf(sql, sizeof sql, "SELECT coalesce((SELECT done_t FROM rollup_state WHERE tier=%d), 0)", to);
    int rc = pragma_int(s, sql, &done);
    int64_t upto = now / width * width;
    if (rc != SQLITE_OK || upto <= done)
        return rc;
    int from = to - 1;
    snprintf(sql, sizeof sql,
        "INSERT OR REPLACE INTO samples SELECT proc, %d, t / %lld * %lld AS b,"
        " sum(coalesce(n, 1)), sum(coalesce(nroll, pss IS NOT NULL)),"
        " sum(rss * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(pss * coalesce(nroll, 1)) / sum(CASE WHEN pss IS NULL THEN 0 ELSE coalesce(nroll, 1) END),"
        " sum(uss * coalesce(nroll, 1)) / sum(CASE WHEN uss IS NULL THEN 0 ELSE coalesce(nroll, 1) END),"
        " sum(swap * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(vm_size * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(rss_anon * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(rss_file * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(rss_shmem * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " min(coalesce(rss_min, rss)), max(coalesce(rss_max, rss))"
        " FROM samples WHERE proc IN (SELECT id FROM procs WHERE last_t >= %lld) AND tier = %d"
        " AND t >= %lld AND t < %lld GROUP BY proc, b;"
        "INSERT OR REPLACE INTO sys_samples SELECT %d, t / %lld * %lld AS b, sum(coalesce(n, 1)),"
        " sum(mem_total * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(mem_free * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(mem_available * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(buffers * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(cached * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(shmem * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(anon_pages * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(slab * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(swap_total * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(swap_free * coalesce(n, 1)) / sum(coalesce(n, 1))"
        " FROM sys_samples WHERE tier = %d AND t >= %lld AND t < %lld GROUP BY b;"
        "INSERT OR REPLACE INTO rollup_state VALUES(%d, %lld);",
        to, (long long)width, (long long)width, (long long)done, from, (long long)done, (long long)upto,
        to, (long long)width, (long long)width, from, (long long)done, (long long)upto,
        to, (long long)upto);
    return exec(s, sql);
}

static int retention(ms_store *s, int64_t now)
{
    char sql[1024];
    int64_t raw = now - (int64_t)s->cfg.raw_ms, min = now - (int64_t)s->cfg.minute_ms;
    int64_t quarter = now - (int64_t)s->cfg.quarter_ms;
    /* proc IN (...) lets SQLite walk the primary key per process instead of the whole table. */
    snprintf(sql, sizeof sql,
        "DELETE FROM samples WHERE proc IN (SELECT id FROM procs) AND tier = 0 AND t < %lld;"
        "DELETE FROM samples WHERE proc IN (SELECT id FROM procs) AND tier = 1 AND t < %lld;"
        "DELETE FROM samples WHERE proc IN (SELECT id FROM procs) AND tier = 2 AND t < %lld;"
        "DELETE FROM sys_samples WHERE tier = 0 AND t < %lld;"
        "DELETE FROM sys_samples WHERE tier = 1 AND t < %lld;"
        "DELETE FROM sys_samples WHERE tier = 2 AND t < %lld;"
        "DELETE FROM snapshots WHERE t < %lld;"
        "DELETE FROM procs WHERE last_t < %lld AND id NOT IN (SELECT proc FROM snapshots);"
        "DELETE FROM oom_events WHERE t < %lld;",
        (long long)raw, (long long)min, (long long)quarter, (long long)raw, (long long)min,
        (long long)quarter, (long long)quarter, (long long)quarter, (long long)quarter);
    return exec(s, sql);
}

/* Over the size cap: drops the oldest sixteenth of the time covered (every tier, snapshots
 * included) until the data fits, then gives the freed pages back to the file system. */
static int enforce_cap(ms_store *s, int64_t now)
{
    uint64_t used = 0;
    int rc = used_bytes(s, &used);
    for (int round = 0; rc == SQLITE_OK && used > s->cfg.max_bytes && round < 64; round++) {
        int64_t oldest = now;
        rc = pragma_int(s, "SELECT coalesce(min(t), 0) FROM (SELECT min(first_t) AS t FROM procs"
                           " UNION ALL SELECT min(t) FROM snapshots UNION ALL SELECT min(t) FROM sys_samples)",
                        &oldest);
        if (rc != SQLITE_OK)
            break;
        int64_t span = now - oldest;
        int64_t cut = oldest + (span / 16 > MINUTE_MS ? span / 16 : MINUTE_MS);
        char sql[768];
        snprintf(sql, sizeof sql,
            "DELETE FROM samples WHERE proc IN (SELECT id FROM procs) AND tier IN (0, 1, 2) AND t < %lld;"
            "DELETE FROM sys_samples WHERE tier IN (0, 1, 2) AND t < %lld;"
            "DELETE FROM snapshots WHERE t < %lld;"
            "DELETE FROM procs WHERE last_t < %lld AND id NOT IN (SELECT proc FROM snapshots);"
            "UPDATE procs SET first_t = %lld WHERE first_t < %lld;"
            "DELETE FROM oom_events WHERE t < %lld;",
            (long long)cut, (long long)cut, (long long)cut, (long long)cut, (long long)cut, (long long)cut,
            (long long)cut);
        rc = exec(s, sql);
        if (rc == SQLITE_OK)
            rc = used_bytes(s, &used);
        if (cut >= now)
            break;
    }
    if (rc == SQLITE_OK)
        exec(s, "PRAGMA incremental_vacuum");
    return rc;
}

ms_err ms_store_write(ms_store *s, int64_t now, const ms_store_sys *sys, const ms_store_proc *p, size_t n)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    int rc = exec(s, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = write_sys(s, now, sys);
    if (rc == SQLITE_OK)
        rc = write_procs(s, now, p, n);
    if (rc == SQLITE_OK)
        rc = rollup(s, TIER_MINUTE, MINUTE_MS, now);
    if (rc == SQLITE_OK)
        rc = rollup(s, TIER_QUARTER, QUARTER_MS, now);
    bool housekeep = now - s->last_retention_ms >= MINUTE_MS || now < s->last_retention_ms;
    if (rc == SQLITE_OK && housekeep)
        rc = retention(s, now);
    if (rc == SQLITE_OK)
        rc = exec(s, "COMMIT");
    if (rc != SQLITE_OK) {
        ret = fail(s, rc, "writing a sample set");   /* before ROLLBACK replaces the message */
        exec(s, "ROLLBACK");
        goto out;
    }
    if (s->state == ST_DEGRADED)
        s->state = ST_OK;                     /* the disk has room again */
    if (housekeep) {
        s->last_retention_ms = now;
        rc = enforce_cap(s, now);
        if (rc != SQLITE_OK)
            ret = fail(s, rc, "applying the size cap");
    }
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- reading ---- */

typedef struct {
    const char *name;
    int tier;
    int64_t res_ms;
    uint64_t keep_ms;
} tier_info;

/* The finest tier that still holds `since` (and is no finer than the step asked), and the step
 * widened so no more than max points come back. */
static tier_info pick_tier(const ms_store *s, int64_t now, ms_hist_query *q)
{
    tier_info t[3] = {{"raw", TIER_RAW, 0, s->cfg.raw_ms}, {"1m", TIER_MINUTE, MINUTE_MS, s->cfg.minute_ms},
                      {"15m", TIER_QUARTER, QUARTER_MS, s->cfg.quarter_ms}};
    int i = 0;
    while (i < 2 && ((q->since_ms < now - (int64_t)t[i].keep_ms) || q->step_ms >= t[i + 1].res_ms))
        i++;
    if (q->step_ms < t[i].res_ms)
        q->step_ms = t[i].res_ms;
    int64_t span = q->until_ms - q->since_ms;
    size_t maxp = q->max_points ? q->max_points : 2000;
    /* Buckets are aligned to multiples of the step, so a span of k steps can touch k + 1. */
    int64_t room = maxp > 1 ? (int64_t)maxp - 1 : 1;
    int64_t st = (span + room - 1) / room;
    if (st > q->step_ms)
        q->step_ms = st;
    if (q->step_ms <= 0)
        q->step_ms = 1;
    return t[i];
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void procid_from_row(sqlite3_stmt *st, ms_store_procid *o)
{
    o->pid = sqlite3_column_int(st, 0);
    o->start_time = (uint64_t)sqlite3_column_int64(st, 1);
    const unsigned char *nm = sqlite3_column_text(st, 2);
    snprintf(o->name, sizeof o->name, "%s", nm ? (const char *)nm : "");
    o->first_ms = sqlite3_column_int64(st, 3);
    o->last_ms = sqlite3_column_int64(st, 4);
}

static void procid_row(sqlite3_stmt *st, void *out)
{
    procid_from_row(st, out);
}

ms_err ms_store_find_proc(ms_store *s, int pid, uint64_t start_time, ms_store_procid *out)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, start_time
        ? "SELECT pid, start_time, name, first_t, last_t FROM procs WHERE pid = ?1 AND start_time = ?2"
        : "SELECT pid, start_time, name, first_t, last_t FROM procs WHERE pid = ?1 ORDER BY last_t DESC LIMIT 1",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, pid);
        if (start_time)
            sqlite3_bind_int64(st, 2, (int64_t)start_time);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        procid_from_row(st, out);
    else
        ret = rc == SQLITE_DONE ? MS_ERR_NOENT : fail(s, rc, "reading processes");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* Steps st to its end, appending one elem-sized row per result to *arr (row() fills it), then
 * finalizes st.  rc: the result of preparing and binding st.  On failure *arr is freed and emptied.
 * Called with the lock held. */
static ms_err collect(ms_store *s, int rc, sqlite3_stmt *st, void **arr, size_t *n, size_t elem,
                      void (*row)(sqlite3_stmt *, void *), const char *what)
{
    ms_err ret = MS_OK;
    size_t cap = 0;
    *arr = NULL;
    *n = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (ms_grow(arr, &cap, *n + 1, elem, 64, 0) != MS_OK) {
            rc = SQLITE_NOMEM;
            break;
        }
        row(st, (char *)*arr + elem * (*n)++);
    }
    if (rc != SQLITE_DONE) {
        ret = fail(s, rc, what);
        free(*arr);
        *arr = NULL;
        *n = 0;
    }
    sqlite3_finalize(st);
    return ret;
}

static void hist_point_row(sqlite3_stmt *st, void *out)
{
    ms_hist_point *pt = out;
    memset(pt, 0, sizeof *pt);
    pt->t_ms = sqlite3_column_int64(st, 0);
    for (int f = 0; f < MS_HF__COUNT; f++)
        pt->v[f] = (uint64_t)sqlite3_column_int64(st, 1 + f) << 10;
    pt->has_rollup = sqlite3_column_type(st, 2) != SQLITE_NULL;
    pt->rss_min = (uint64_t)sqlite3_column_int64(st, 9) << 10;
    pt->rss_max = (uint64_t)sqlite3_column_int64(st, 10) << 10;
}

static void sys_point_row(sqlite3_stmt *st, void *out)
{
    ms_sys_point *pt = out;
    pt->t_ms = sqlite3_column_int64(st, 0);
    for (int f = 0; f < MS_SYS__COUNT; f++)
        pt->v[f] = (uint64_t)sqlite3_column_double(st, 1 + f) << 10;
}

ms_err ms_store_proc_history(ms_store *s, const ms_store_procid *id, const ms_hist_query *q0,
                             ms_hist_series *out)
{
    memset(out, 0, sizeof *out);
    ms_hist_query q = *q0;
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    tier_info t = pick_tier(s, now_ms(), &q);
    out->step_ms = q.step_ms;
    out->tier = t.name;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
        "SELECT t / ?5 * ?5 AS b, sum(rss * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(pss * coalesce(nroll, 1)) / sum(CASE WHEN pss IS NULL THEN 0 ELSE coalesce(nroll, 1) END),"
        " sum(uss * coalesce(nroll, 1)) / sum(CASE WHEN uss IS NULL THEN 0 ELSE coalesce(nroll, 1) END),"
        " sum(swap * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(vm_size * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(rss_anon * coalesce(n, 1)) / sum(coalesce(n, 1)), sum(rss_file * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " sum(rss_shmem * coalesce(n, 1)) / sum(coalesce(n, 1)),"
        " min(coalesce(rss_min, rss)), max(coalesce(rss_max, rss))"
        " FROM samples WHERE proc = (SELECT id FROM procs WHERE pid = ?1 AND start_time = ?2)"
        " AND tier = ?3 AND t >= ?4 AND t < ?6 GROUP BY b ORDER BY b", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, id->pid);
        sqlite3_bind_int64(st, 2, (int64_t)id->start_time);
        sqlite3_bind_int(st, 3, t.tier);
        sqlite3_bind_int64(st, 4, q.since_ms);
        sqlite3_bind_int64(st, 5, q.step_ms);
        sqlite3_bind_int64(st, 6, q.until_ms);
    }
    ret = collect(s, rc, st, (void **)&out->p, &out->n, sizeof *out->p, hist_point_row, "reading history");
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_sys_history(ms_store *s, const ms_hist_query *q0, ms_sys_series *out)
{
    memset(out, 0, sizeof *out);
    ms_hist_query q = *q0;
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    tier_info t = pick_tier(s, now_ms(), &q);
    out->step_ms = q.step_ms;
    out->tier = t.name;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
        "SELECT t / ?3 * ?3 AS b, avg(mem_total), avg(mem_free), avg(mem_available), avg(buffers),"
        " avg(cached), avg(shmem), avg(anon_pages), avg(slab), avg(swap_total), avg(swap_free)"
        " FROM sys_samples WHERE tier = ?1 AND t >= ?2 AND t < ?4 GROUP BY b ORDER BY b", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, t.tier);
        sqlite3_bind_int64(st, 2, q.since_ms);
        sqlite3_bind_int64(st, 3, q.step_ms);
        sqlite3_bind_int64(st, 4, q.until_ms);
    }
    ret = collect(s, rc, st, (void **)&out->p, &out->n, sizeof *out->p, sys_point_row, "reading system history");
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_procs_seen(ms_store *s, int64_t since_ms, size_t max, ms_store_procid **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT pid, start_time, name, first_t, last_t FROM procs"
                                " WHERE last_t >= ?1 ORDER BY last_t DESC, pid LIMIT ?2", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, since_ms);
        sqlite3_bind_int64(st, 2, (int64_t)max);
    }
    ret = collect(s, rc, st, (void **)out, n, sizeof **out, procid_row, "listing processes");
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- snapshots ---- */

#define SNAP_COLS "s.id, p.pid, p.start_time, s.t, s.reason, s.rss, s.nregions, s.bytes, s.format"

static void snapinfo_from_row(sqlite3_stmt *st, ms_snapshot_info *o)
{
    o->id = sqlite3_column_int64(st, 0);
    o->pid = sqlite3_column_int(st, 1);
    o->start_time = (uint64_t)sqlite3_column_int64(st, 2);
    o->t_ms = sqlite3_column_int64(st, 3);
    const unsigned char *r = sqlite3_column_text(st, 4);
    snprintf(o->reason, sizeof o->reason, "%s", r ? (const char *)r : "");
    o->rss = (uint64_t)sqlite3_column_int64(st, 5);
    o->nregions = (uint64_t)sqlite3_column_int64(st, 6);
    o->bytes = (uint64_t)sqlite3_column_int64(st, 7);
    o->format = sqlite3_column_int(st, 8);
}

static void snapinfo_row(sqlite3_stmt *st, void *out)
{
    snapinfo_from_row(st, out);
}

ms_err ms_store_snapshot_put(ms_store *s, const ms_snapshot_info *info, const char *text, size_t len,
                             int64_t *id)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *up = NULL, *ins = NULL;
    int rc = exec(s, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
            "INSERT INTO procs(pid, start_time, name, first_t, last_t) VALUES(?1, ?2, '', ?3, ?3)"
            " ON CONFLICT(pid, start_time) DO UPDATE SET last_t = max(last_t, excluded.last_t)"
            " RETURNING id", -1, &up, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(up, 1, info->pid);
        sqlite3_bind_int64(up, 2, (int64_t)info->start_time);
        sqlite3_bind_int64(up, 3, info->t_ms);
        rc = sqlite3_step(up);
    }
    int64_t proc = rc == SQLITE_ROW ? sqlite3_column_int64(up, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(up) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "INSERT INTO snapshots(proc, t, reason, rss, nregions, bytes, text, format)"
                                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &ins, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(ins, 1, proc);
        sqlite3_bind_int64(ins, 2, info->t_ms);
        sqlite3_bind_text(ins, 3, info->reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, (int64_t)info->rss);
        sqlite3_bind_int64(ins, 5, (int64_t)info->nregions);
        sqlite3_bind_int64(ins, 6, (int64_t)(info->format == MS_SNAP_TEXT ? len : info->bytes));
        sqlite3_bind_blob64(ins, 7, text, len, SQLITE_STATIC);
        sqlite3_bind_int(ins, 8, info->format);
        rc = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
    }
    if (rc == SQLITE_OK) {
        *id = sqlite3_last_insert_rowid(s->db);
        char sql[256];
        snprintf(sql, sizeof sql, "DELETE FROM snapshots WHERE id IN (SELECT id FROM snapshots"
                 " ORDER BY reason = 'auto' DESC, t LIMIT max(0, (SELECT count(*) FROM snapshots) - %d))",
                 MS_STORE_MAX_SNAPSHOTS);
        rc = exec(s, sql);
    }
    if (rc == SQLITE_OK)
        rc = exec(s, "COMMIT");
    if (rc != SQLITE_OK) {
        ret = fail(s, rc, "saving a snapshot");
        exec(s, "ROLLBACK");
    }
    sqlite3_finalize(up);
    sqlite3_finalize(ins);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_snapshot_list(ms_store *s, int pid, size_t max, ms_snapshot_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT " SNAP_COLS " FROM snapshots s JOIN procs p ON p.id = s.proc"
                                " WHERE ?1 <= 0 OR p.pid = ?1 ORDER BY s.t DESC, s.id DESC LIMIT ?2", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, pid);
        sqlite3_bind_int64(st, 2, (int64_t)max);
    }
    ret = collect(s, rc, st, (void **)out, n, sizeof **out, snapinfo_row, "listing snapshots");
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* One snapshot row by a query whose ?1 and ?2 are bound by the caller's values. */
static ms_err snapshot_one(ms_store *s, const char *where, int64_t a, int64_t b, int64_t c,
                           ms_snapshot_info *info, ms_buf *text)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    char sql[512];
    /* The blob's length only: a blob spills over many pages, and selecting it would have SQLite
     * assemble a copy of its own before ours (fresh pages, which cost more than the read). */
    snprintf(sql, sizeof sql, "SELECT " SNAP_COLS ", length(s.text) FROM snapshots s JOIN procs p ON p.id = s.proc %s",
             where);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, b);
        sqlite3_bind_int64(st, 3, c);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        snapinfo_from_row(st, info);
        if (text) {
            ms_buf_reset(text);
            size_t len = (size_t)sqlite3_column_int64(st, 9);
            sqlite3_blob *bh = NULL;
            ret = ms_buf_reserve(text, len);
            if (ret == MS_OK && len > INT_MAX)
                ret = MS_ERR_TOOBIG;
            if (ret == MS_OK) {
                rc = sqlite3_blob_open(s->db, "main", "snapshots", "text", info->id, 0, &bh);
                if (rc == SQLITE_OK)
                    rc = sqlite3_blob_read(bh, text->data, (int)len, 0);
                if (rc == SQLITE_OK) {
                    text->len = len;
                    text->data[len] = '\0';
                } else {
                    ret = fail(s, rc, "reading a snapshot");
                }
                sqlite3_blob_close(bh);
            }
        }
    } else {
        ret = rc == SQLITE_DONE ? MS_ERR_NOENT : fail(s, rc, "reading a snapshot");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_snapshot_get(ms_store *s, int64_t id, ms_snapshot_info *info, ms_buf *b)
{
    return snapshot_one(s, "WHERE s.id = ?1 AND ?2 = ?3", id, 0, 0, info, b);
}

ms_err ms_store_snapshot_load(ms_store *s, int64_t id, ms_snapshot_info *info, ms_smaps *sm)
{
    ms_err rc = ms_store_snapshot_get(s, id, info, &sm->maps.buf);
    if (rc == MS_OK)
        rc = info->format == MS_SNAP_BINARY ? ms_snapcodec_decode(sm) : ms_smaps_parse(sm);
    return rc;
}

ms_err ms_store_snapshot_baseline(ms_store *s, const ms_store_procid *id, int64_t since_ms,
                                  ms_snapshot_info *info)
{
    return snapshot_one(s, "WHERE p.pid = ?1 AND p.start_time = ?2"
                           " ORDER BY s.t < ?3, abs(s.t - ?3) LIMIT 1",
                        id->pid, (int64_t)id->start_time, since_ms, info, NULL);
}

ms_err ms_store_snapshot_delete(ms_store *s, int64_t id)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "DELETE FROM snapshots WHERE id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_DONE)
        ret = sqlite3_changes(s->db) ? MS_OK : MS_ERR_NOENT;
    else
        ret = fail(s, rc, "deleting a snapshot");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_snapshot_take(ms_store *s, int dirfd, int pid, const char *reason, int64_t now_ms,
                              ms_snapshot_info *info)
{
    ms_smaps sm;
    ms_smaps_init(&sm);
    ms_buf blob;
    ms_buf_init(&blob, 0);
    ms_stat st;
    memset(info, 0, sizeof *info);
    ms_err rc = ms_stat_read(dirfd, &st);
    if (rc == MS_OK)
        rc = ms_smaps_read(dirfd, &sm);
    if (rc != MS_OK)
        goto out;
    ms_smaps_totals t;
    ms_smaps_totals_of(&sm, 0, sm.maps.nregions, &t);
    info->pid = pid;
    info->start_time = st.starttime;
    info->t_ms = now_ms;
    snprintf(info->reason, sizeof info->reason, "%s", reason);
    info->rss = t.v[MS_SF_RSS];
    info->nregions = sm.maps.nregions;
    info->bytes = sm.maps.buf.len;
    info->format = MS_SNAP_BINARY;
    rc = ms_snapcodec_encode(&sm, &blob);
    if (rc == MS_OK)
        rc = ms_store_snapshot_put(s, info, blob.data, blob.len, &info->id);
out:
    ms_buf_free(&blob);
    ms_smaps_free(&sm);
    return rc;
}

/* ---- OOM kills ---- */

#define OOM_COLS "id, t, global, cgroup, task_cgroup, oom_constraint, pid, start_time, name, uid, figures," \
                 " total_vm, anon_rss, file_rss, shmem_rss, pgtables, oom_score_adj, source, boot_id, kmsg_seq, note"

static void text_col(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void oom_row(sqlite3_stmt *st, void *out)
{
    ms_oom_event *e = out;
    memset(e, 0, sizeof *e);
    e->seq = (uint64_t)sqlite3_column_int64(st, 0);
    e->time_ms = sqlite3_column_int64(st, 1);
    e->global = sqlite3_column_int(st, 2) != 0;
    text_col(st, 3, e->cgroup, sizeof e->cgroup);
    text_col(st, 4, e->task_cgroup, sizeof e->task_cgroup);
    text_col(st, 5, e->constraint, sizeof e->constraint);
    e->pid = sqlite3_column_int(st, 6);
    e->start_time = (uint64_t)sqlite3_column_int64(st, 7);
    text_col(st, 8, e->name, sizeof e->name);
    e->uid = (uint32_t)sqlite3_column_int64(st, 9);
    e->figures = sqlite3_column_int(st, 10) != 0;
    e->total_vm = (uint64_t)sqlite3_column_int64(st, 11);
    e->anon_rss = (uint64_t)sqlite3_column_int64(st, 12);
    e->file_rss = (uint64_t)sqlite3_column_int64(st, 13);
    e->shmem_rss = (uint64_t)sqlite3_column_int64(st, 14);
    e->pgtables = (uint64_t)sqlite3_column_int64(st, 15);
    e->oom_score_adj = sqlite3_column_int64(st, 16);
    const unsigned char *src = sqlite3_column_text(st, 17);
    e->source = src && !strcmp((const char *)src, "kmsg") ? "kmsg" : "counter";   /* static strings */
    text_col(st, 18, e->boot_id, sizeof e->boot_id);
    e->kmsg_seq = (uint64_t)sqlite3_column_int64(st, 19);
    text_col(st, 20, e->note, sizeof e->note);
}

static void bind_oom(sqlite3_stmt *st, const ms_oom_event *e)
{
    sqlite3_bind_int64(st, 1, e->time_ms);
    sqlite3_bind_int(st, 2, e->global);
    sqlite3_bind_text(st, 3, e->cgroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->task_cgroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->constraint, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, e->pid);
    sqlite3_bind_int64(st, 7, (int64_t)e->start_time);
    sqlite3_bind_text(st, 8, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, e->uid);
    sqlite3_bind_int(st, 10, e->figures);
    sqlite3_bind_int64(st, 11, (int64_t)e->total_vm);
    sqlite3_bind_int64(st, 12, (int64_t)e->anon_rss);
    sqlite3_bind_int64(st, 13, (int64_t)e->file_rss);
    sqlite3_bind_int64(st, 14, (int64_t)e->shmem_rss);
    sqlite3_bind_int64(st, 15, (int64_t)e->pgtables);
    sqlite3_bind_int64(st, 16, e->oom_score_adj);
    sqlite3_bind_text(st, 17, e->source ? e->source : "counter", -1, SQLITE_STATIC);
    if (e->kmsg_seq && e->boot_id[0]) {
        sqlite3_bind_text(st, 18, e->boot_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 19, (int64_t)e->kmsg_seq);
    }   /* else both NULL: a counter's events are never replayed, and NULLs never collide */
    sqlite3_bind_text(st, 20, e->note, -1, SQLITE_STATIC);
}

/* Moves the boot's read position forward (never back) and forgets other boots'.  Lock held. */
static int kmsg_pos_set(ms_store *s, const char *boot_id, uint64_t seq)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "INSERT INTO kmsg_pos VALUES(?1, ?2) ON CONFLICT(boot_id)"
                                " DO UPDATE SET seq = max(seq, excluded.seq)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, boot_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)seq);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "DELETE FROM kmsg_pos WHERE boot_id <> ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, boot_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

ms_err ms_store_oom_put(ms_store *s, const ms_oom_event *ev, bool *added)
{
    *added = false;
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = exec(s, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO oom_events(t, global, cgroup, task_cgroup,"
            " oom_constraint, pid, start_time, name, uid, figures, total_vm, anon_rss, file_rss, shmem_rss,"
            " pgtables, oom_score_adj, source, boot_id, kmsg_seq, note)"
            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        bind_oom(st, ev);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
    }
    if (rc == SQLITE_OK)
        *added = sqlite3_changes(s->db) > 0;
    if (rc == SQLITE_OK && ev->kmsg_seq && ev->boot_id[0])
        rc = kmsg_pos_set(s, ev->boot_id, ev->kmsg_seq);
    if (rc == SQLITE_OK && *added) {
        char sql[256];
        snprintf(sql, sizeof sql, "DELETE FROM oom_events WHERE id IN (SELECT id FROM oom_events ORDER BY t, id"
                 " LIMIT max(0, (SELECT count(*) FROM oom_events) - %d))", MS_STORE_MAX_OOM_EVENTS);
        rc = exec(s, sql);
    }
    if (rc == SQLITE_OK)
        rc = exec(s, "COMMIT");
    if (rc != SQLITE_OK) {
        *added = false;
        ret = fail(s, rc, "saving an OOM kill");
        exec(s, "ROLLBACK");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_oom_list(ms_store *s, int64_t since_ms, size_t max, ms_oom_event **out, size_t *n, bool *more)
{
    *out = NULL;
    *n = 0;
    *more = false;
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT " OOM_COLS " FROM oom_events WHERE t >= ?1 ORDER BY t, id LIMIT ?2",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, since_ms);
        sqlite3_bind_int64(st, 2, (int64_t)max + 1);
    }
    ret = collect(s, rc, st, (void **)out, n, sizeof **out, oom_row, "listing OOM kills");
    if (*n > max) {
        *n = max;
        *more = true;
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_kmsg_pos_get(ms_store *s, const char *boot_id, uint64_t *seq)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT seq FROM kmsg_pos WHERE boot_id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, boot_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    else
        ret = rc == SQLITE_DONE ? MS_ERR_NOENT : fail(s, rc, "reading the kernel log position");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

ms_err ms_store_kmsg_pos_set(ms_store *s, const char *boot_id, uint64_t seq)
{
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    int rc = kmsg_pos_set(s, boot_id, seq);
    if (rc != SQLITE_OK)
        ret = fail(s, rc, "saving the kernel log position");
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* The victim's row in procs (id returned, 0 if none): by pid and start time when the event has it,
 * else the process with that pid that was first seen last before the kill.  Lock held. */
static int64_t oom_find_proc(ms_store *s, const ms_oom_event *ev, ms_oom_victim *out, int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    out->match = ev->start_time ? "pid_start_time" : "pid_time";
    *rc = sqlite3_prepare_v2(s->db, ev->start_time
        ? "SELECT pid, start_time, name, first_t, last_t, id FROM procs WHERE pid = ?1 AND start_time = ?2"
        : "SELECT pid, start_time, name, first_t, last_t, id FROM procs WHERE pid = ?1 AND first_t <= ?3"
          " ORDER BY first_t DESC LIMIT 1", -1, &st, NULL);
    if (*rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, ev->pid);
        sqlite3_bind_int64(st, 2, (int64_t)ev->start_time);
        sqlite3_bind_int64(st, 3, ev->time_ms);
        *rc = sqlite3_step(st);
    }
    if (*rc == SQLITE_ROW) {
        procid_from_row(st, &out->id);
        id = sqlite3_column_int64(st, 5);
        *rc = SQLITE_OK;
    } else if (*rc == SQLITE_DONE) {
        *rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return id;
}

/* The last sample of proc at or before t, from the finest tier that has one.  Lock held. */
static int oom_last_sample(ms_store *s, int64_t proc, int64_t t, ms_oom_victim *out)
{
    static const char *const tiers[] = {"raw", "1m", "15m"};
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
        "SELECT t, rss, pss, uss, swap, vm_size, rss_anon, rss_file, rss_shmem, coalesce(rss_min, rss),"
        " coalesce(rss_max, rss) FROM samples WHERE proc = ?1 AND tier = ?2 AND t <= ?3 ORDER BY t DESC LIMIT 1",
        -1, &st, NULL);
    for (int tier = TIER_RAW; rc == SQLITE_OK && tier <= TIER_QUARTER && !out->sampled; tier++) {
        sqlite3_bind_int64(st, 1, proc);
        sqlite3_bind_int(st, 2, tier);
        sqlite3_bind_int64(st, 3, t);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            hist_point_row(st, &out->last);
            out->sampled = true;
            out->tier = tiers[tier];
        }
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int oom_last_snapshot(ms_store *s, int64_t proc, int64_t t, ms_oom_victim *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT " SNAP_COLS " FROM snapshots s JOIN procs p ON p.id = s.proc"
                                " WHERE s.proc = ?1 AND s.t <= ?2 ORDER BY s.t DESC, s.id DESC LIMIT 1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, proc);
        sqlite3_bind_int64(st, 2, t);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        snapinfo_from_row(st, &out->snap);
        out->has_snapshot = true;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

ms_err ms_store_oom_victim(ms_store *s, const ms_oom_event *ev, ms_oom_victim *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (ev->pid <= 0) {
        snprintf(why, cap, "the victim is unknown");
        return MS_ERR_NOENT;
    }
    ms_err ret = enter(s);
    if (ret != MS_OK)
        return ret;
    int rc;
    int64_t proc = oom_find_proc(s, ev, out, &rc);
    if (rc == SQLITE_OK && !proc) {
        snprintf(why, cap, "pid %d was never sampled%s", ev->pid,
                 ev->start_time ? " with the victim's start time" : " before the kill");
        ret = MS_ERR_NOENT;
    } else if (rc == SQLITE_OK && !ev->start_time && ev->name[0] && out->id.name[0] &&
               strcmp(out->id.name, ev->name) != 0) {
        /* the pid was reused: the process sampled under it is not the one the kernel killed */
        snprintf(why, cap, "pid %d was last sampled as '%.63s', not as the victim '%.63s'", ev->pid,
                 out->id.name, ev->name);
        ret = MS_ERR_NOENT;
    }
    if (rc == SQLITE_OK && ret == MS_OK)
        rc = oom_last_sample(s, proc, ev->time_ms, out);
    if (rc == SQLITE_OK && ret == MS_OK)
        rc = oom_last_snapshot(s, proc, ev->time_ms, out);
    if (rc != SQLITE_OK)
        ret = fail(s, rc, "reading an OOM victim's history");
    pthread_mutex_unlock(&s->lock);
    return ret;
}
