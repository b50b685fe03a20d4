/* oldstore.h - store files as an older memscoped left them, for the tests of what a migration
 * must keep: a file at a given schema version, and a snapshot kept as smaps text (as every one was
 * before schema step 4).  Header-only: the unit and the integration tests both use it. */
#ifndef MEMSCOPE_TESTS_OLDSTORE_H
#define MEMSCOPE_TESTS_OLDSTORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* The file at path made by the migration steps up to version, marked as memscoped's; NULL if
 * SQLite refused any of it. */
static inline sqlite3 *oldstore_open(const char *path, int version)
{
    sqlite3 *db = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK;
    for (int v = 1; ok && v <= version; v++)
        ok = sqlite3_exec(db, ms_store_migration_sql(v), NULL, NULL, NULL) == SQLITE_OK;
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d;", MS_STORE_APP_ID, version);
    ok = ok && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        sqlite3_close(db);
        db = NULL;
    }
    return db;
}

/* Process 1 of the store is (pid, start_time), and snapshot 1 its smaps text, as the columns of
 * schema steps 1 to 3 hold them. */
static inline bool oldstore_put_text(sqlite3 *db, int pid, uint64_t start_time, const char *text, size_t len)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO procs VALUES(1, %d, %llu, 'old', 1000, 2000)", pid,
             (unsigned long long)start_time);
    sqlite3_stmt *ins = NULL;
    bool ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(db, "INSERT INTO snapshots(id, proc, t, reason, rss, nregions, bytes, text)"
                                 " VALUES(1, 1, 1500, 'manual', 0, 0, ?1, ?2)", -1, &ins, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(ins, 1, (int64_t)len);
        sqlite3_bind_blob64(ins, 2, text, len, SQLITE_STATIC);
        ok = sqlite3_step(ins) == SQLITE_DONE;
    }
    sqlite3_finalize(ins);
    return ok;
}

#endif
