/* test_history_faults.c - the history store when things go wrong: memscoped killed with SIGKILL
 * while it writes (again and again: the store must open, pass SQLite's integrity_check and hold
 * every sample set it completed, whole), a foreign or corrupt file where the store should be (left
 * untouched), an unwritable directory and a full disk.  In every case the rest of memscoped keeps
 * serving and /health says what is wrong.  And a store from before snapshots were kept parsed:
 * its text snapshot still answers and diffs after the migration. */
#include <errno.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "check.h"
#include "core/proc.h"
#include "core/stat.h"
#include "hsubject.h"
#include "oldstore.h"
#include "store/store.h"

/* What a store file holds, checked with SQLite directly. */
typedef struct {
    bool integrity_ok;
    long long sets;           /* system sample sets (one per completed round) */
    long long incomplete;     /* sets without process samples, or process samples without a set */
} store_facts;

static long long q1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static bool facts(const char *dir, store_facts *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/memscope.db", dir);
    sqlite3 *db = NULL;
    memset(f, 0, sizeof *f);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return false;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        f->integrity_ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    f->sets = q1(db, "SELECT count(*) FROM sys_samples WHERE tier = 0");
    f->incomplete = q1(db, "SELECT (SELECT count(*) FROM sys_samples s WHERE tier = 0 AND NOT EXISTS"
                           " (SELECT 1 FROM samples p WHERE p.tier = 0 AND p.t = s.t))"
                           " + (SELECT count(DISTINCT t) FROM samples p WHERE tier = 0 AND NOT EXISTS"
                           " (SELECT 1 FROM sys_samples s WHERE s.tier = 0 AND s.t = p.t))");
    sqlite3_close(db);
    return true;
}

static void kill9_while_writing(void)
{
    char dir[256];
    CHECK(hs_tmpdir(dir, sizeof dir));
    long long before = 0;
    for (int round = 0; round < 6; round++) {
        ms_server s;
        const char *extra[] = {"--data-dir", dir, "--sample-interval", "100ms", "--sample-budget", "100%", NULL};
        if (!server_start(&s, extra)) {
            CHECK(!"memscoped started");
            break;
        }
        json_t *h, *j = hs_health(&s, &h);
        CHECK_STR(jstr(h, "status"), "ok");      /* the store survived the last kill */
        json_decref(j);
        /* Let it write for a while, then kill it at a moment that varies from round to round. */
        CHECK(hs_wait_rounds(&s, 2, 60000));
        usleep((useconds_t)(37000 * (round + 1)));
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
        close(s.log_fd);
        store_facts f;
        CHECK(facts(dir, &f));
        CHECK(f.integrity_ok);
        CHECK(f.incomplete == 0);
        CHECK(f.sets >= before + 2);             /* everything completed before is still there */
        before = f.sets;
    }
    hs_rmdir(dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = f ? calloc(1, 1 << 20) : NULL;
    *len = b ? fread(b, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return b;
}

/* memscoped with --data-dir dir serves /processes, and its history routes answer 503. */
static void serves_without_store(const char *dir, const char *reason_part)
{
    ms_server s;
    const char *extra[] = {"--data-dir", dir, "--sample-interval", "100ms", NULL};
    if (!server_start(&s, extra)) {
        CHECK(!"memscoped started");
        return;
    }
    json_t *h, *j = hs_health(&s, &h);
    CHECK_STR(jstr(h, "status"), "unavailable");
    CHECK(jstr(h, "reason") && strstr(jstr(h, "reason"), reason_part));
    if (!jstr(h, "reason") || !strstr(jstr(h, "reason"), reason_part))
        fprintf(stderr, "reason: %s\n", jstr(h, "reason") ? jstr(h, "reason") : "(none)");
    json_decref(j);
    http_resp r;
    CHECK(http_get(&s, "/api/v1/processes?limit=1", &r) && r.status == 200);
    http_resp_free(&r);
    CHECK(http_get(&s, "/api/v1/growth", &r) && r.status == 503);
    CHECK_STR(jstr(r.json, "error.code"), "unavailable");
    http_resp_free(&r);
    char p[64];
    snprintf(p, sizeof p, "/api/v1/processes/%d/history", getpid());
    CHECK(http_get(&s, p, &r) && r.status == 503);
    http_resp_free(&r);
    CHECK(server_stop(&s) == 0);
}

static void foreign_files(void)
{
    char dir[256], path[512];
    CHECK(hs_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/memscope.db", dir);
    /* Another program's database. */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE theirs(x); INSERT INTO theirs VALUES(42);", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    size_t n0, n1;
    char *before = slurp(path, &n0);
    serves_without_store(dir, "not made by memscoped");
    char *after = slurp(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);
    /* Not a database at all. */
    FILE *f = fopen(path, "wb");
    for (int i = 0; f && i < 2000; i++)
        fputs("this is somebody's notes, not a database\n", f);
    if (f)
        fclose(f);
    before = slurp(path, &n0);
    serves_without_store(dir, "not a readable SQLite database");
    after = slurp(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);
    hs_rmdir(dir);
}

static void unwritable_dir(void)
{
    char dir[256];
    CHECK(hs_tmpdir(dir, sizeof dir));
    /* Root ignores permission bits: a read-only mount is unwritable for everyone. */
    if (geteuid() == 0 && mount("tmpfs", dir, "tmpfs", MS_RDONLY, "size=1M") != 0) {
        CHECK_SKIP("cannot mount a read-only tmpfs (%s)", strerror(errno));
        hs_rmdir(dir);
        return;
    }
    if (geteuid() != 0)
        chmod(dir, 0500);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/store", dir);
    serves_without_store(sub, "cannot create the data directory");
    if (geteuid() == 0)
        umount(dir);
    hs_rmdir(dir);
}

static void full_disk(void)
{
    char dir[256];
    CHECK(hs_tmpdir(dir, sizeof dir));
    if (geteuid() != 0 || mount("tmpfs", dir, "tmpfs", 0, "size=2M") != 0) {
        CHECK_SKIP("mounting a 2 MiB tmpfs needs root (%s)", strerror(errno));
        hs_rmdir(dir);
        return;
    }
    ms_server s;
    const char *extra[] = {"--data-dir", dir, "--sample-interval", "100ms", "--sample-budget", "100%", NULL};
    if (!server_start(&s, extra)) {
        CHECK(!"memscoped started");
        umount(dir);
        hs_rmdir(dir);
        return;
    }
    CHECK(hs_wait_rounds(&s, 2, 60000));
    /* Fill what is left of the file system. */
    char filler[300];
    snprintf(filler, sizeof filler, "%s/filler", dir);
    FILE *f = fopen(filler, "wb");
    static char block[4096];
    memset(block, 7, sizeof block);
    while (f && fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0)
        ;
    if (f)
        fclose(f);
    bool degraded = false;
    for (long end = hs_now_ms() + 15000; hs_now_ms() < end && !degraded; usleep(100000)) {
        json_t *h, *j = hs_health(&s, &h);
        degraded = jstr(h, "status") && !strcmp(jstr(h, "status"), "degraded") &&
                   jint(h, "sampler.write_errors") > 0;
        if (degraded) {
            const char *why = jstr(h, "reason");
            CHECK(why && (strstr(why, "full") || strstr(why, "No space left")));
            fprintf(stderr, "full disk: %s\n", why ? why : "(no reason)");
        }
        json_decref(j);
    }
    CHECK(degraded);
    http_resp r;
    CHECK(http_get(&s, "/api/v1/processes?limit=1", &r) && r.status == 200);
    http_resp_free(&r);
    CHECK(http_get(&s, "/api/v1/system/history?since=1m", &r) && r.status == 200);   /* reads still work */
    http_resp_free(&r);
    /* Room again: the next sample sets go in. */
    unlink(filler);
    bool ok = false;
    for (long end = hs_now_ms() + 15000; hs_now_ms() < end && !ok; usleep(100000)) {
        json_t *h, *j = hs_health(&s, &h);
        ok = jstr(h, "status") && !strcmp(jstr(h, "status"), "ok");
        json_decref(j);
    }
    CHECK(ok);
    CHECK(server_stop(&s) == 0);
    store_facts fa;
    CHECK(facts(dir, &fa) && fa.integrity_ok && fa.incomplete == 0);
    CHECK(umount(dir) == 0);
    hs_rmdir(dir);
}

/* A store written by the schema before snapshots were kept parsed, holding one of a live process
 * as smaps text: memscoped migrates it on start, and the old snapshot still answers, and diffs
 * against now and against a new snapshot (kept parsed) with the growth placed exactly. */
static void text_snapshot_migrated(void)
{
    const long long grow = 24LL << 20;
    char bytes[32], dir[256], path[320], sql[256];
    snprintf(bytes, sizeof bytes, "%lld", grow);
    hsubject h;
    const char *args[] = {"grow", "3000", bytes, NULL};
    CHECK(hs_start(&h, args));
    CHECK(hs_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "/proc/%d", h.pid);
    int fd = -1;
    ms_stat st;
    ms_buf text;
    ms_buf_init(&text, 0);
    CHECK(ms_dir_open(path, &fd) == MS_OK && ms_stat_read(fd, &st) == MS_OK &&
          ms_read_file_at(fd, "smaps", &text) == MS_OK && text.len > 0);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/memscope.db", dir);
    sqlite3 *db = oldstore_open(path, 3);
    CHECK(db && oldstore_put_text(db, h.pid, st.starttime, text.data, text.len));
    sqlite3_close(db);
    ms_buf_free(&text);
    char line[32];
    CHECK(fgets(line, sizeof line, h.out) != NULL);       /* "grown" */

    ms_server s;
    const char *extra[] = {"--data-dir", dir, "--sample-interval", "0", NULL};
    if (!server_start(&s, extra)) {
        CHECK(!"memscoped started");
        hs_stop(&h);
        hs_rmdir(dir);
        return;
    }
    json_t *snap = http_get_json(&s, "/api/v1/snapshots/1");
    CHECK(snap && json_array_size(json_object_get(snap, "regions")) > 5 && jint(snap, "pid") == h.pid);
    json_decref(snap);
    json_t *d = http_get_json(&s, "/api/v1/processes/%d/diff?from=1", h.pid);
    json_t *top = json_array_get(d ? json_object_get(d, "regions") : NULL, 0);
    CHECK_EQ_U64(jint(top, "delta.rss"), grow);
    CHECK(jint(d, "count") > 5);
    json_decref(d);
    http_resp r;
    snprintf(path, sizeof path, "/api/v1/processes/%d/snapshots", h.pid);
    CHECK(http_do(&s, "POST", path, NULL, json_ct, &r) && r.status == 201);
    long long id2 = jint(r.json, "id");
    http_resp_free(&r);
    d = http_get_json(&s, "/api/v1/processes/%d/diff?from=1&to=%lld", h.pid, id2);
    top = json_array_get(d ? json_object_get(d, "regions") : NULL, 0);
    CHECK_EQ_U64(jint(top, "delta.rss"), grow);
    CHECK_EQ_U64(jint(d, "to"), id2);
    json_decref(d);
    CHECK(server_stop(&s) == 0);
    snprintf(path, sizeof path, "%s/memscope.db", dir);
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(q1(db, "PRAGMA user_version") == ms_store_schema_version());
    CHECK(q1(db, "SELECT format FROM snapshots WHERE id = 1") == MS_SNAP_TEXT);   /* left as it was */
    snprintf(sql, sizeof sql, "SELECT format FROM snapshots WHERE id = %lld", id2);
    CHECK(q1(db, sql) == MS_SNAP_BINARY);
    sqlite3_close(db);
    hs_stop(&h);
    hs_rmdir(dir);
}

int main(void)
{
    text_snapshot_migrated();
    kill9_while_writing();
    foreign_files();
    unwritable_dir();
    full_disk();
    return check_done();
}
