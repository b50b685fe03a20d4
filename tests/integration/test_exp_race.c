/* test_exp_race.c - many clients at once on the same few experiments: POST, DELETE, GET, /events
 * and the list, from 8 threads against a server with 8 worker threads, for thousands of
 * operations.  Two DELETEs of one experiment, a DELETE racing its lab's exit, a GET or a stream
 * racing the DELETE that forgets the experiment, a start evicting an old one: every answer must be
 * one the API documents, and the server must stay up and exit cleanly (under ASan, any use after
 * free ends it with an error instead).  The experiments are cheap: one small block, a 1 s hold. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define THREADS 8
#define ROUNDS 150              /* phase 1: every thread DELETEs the same live experiment at once */
#define OPS_PER_THREAD 300      /* phase 2: a random mix on the newest few */
#define DEADLINE_S 25           /* per phase: keeps the test bounded on a loaded machine */

static ms_server srv;
static atomic_llong last_id;    /* the newest experiment id seen: DELETE, GET and /events aim near it */
static atomic_int bad, ops_done, by_kind[5];
static time_t t_end;
static pthread_barrier_t barrier;
static atomic_llong round_id;
static atomic_bool stop_rounds;

static const char *const spec =
    "{\"steps\":[{\"op\":\"malloc\",\"size\":\"4KiB\",\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"a\"},"
    "{\"op\":\"free\",\"ptr\":\"a\"}],\"hold_s\":1}";

static bool status_in(long st, const long *ok)
{
    for (; *ok; ok++)
        if (st == *ok)
            return true;
    return false;
}

static void check_status(const char *what, bool sent, const http_resp *r, const long *ok)
{
    if (!sent || !status_in(r->status, ok)) {
        if (atomic_fetch_add(&bad, 1) < 10)
            fprintf(stderr, "%s: %s %ld %.200s\n", what, sent ? "status" : "no answer", r->status,
                    r->body ? r->body : "");
    }
}

static void one_op(unsigned *seed)
{
    static const long post_ok[] = {201, 429, 0}, id_ok[] = {200, 404, 0}, ev_ok[] = {200, 404, 429, 0},
                      list_ok[] = {200, 0};
    int kind = (int)(rand_r(seed) % 10);
    kind = kind < 2 ? 0 : kind < 5 ? 1 : kind < 7 ? 2 : kind < 9 ? 3 : 4;   /* POST, DELETE, GET, events, list */
    long long id = atomic_load(&last_id) - (long long)(rand_r(seed) % 3);
    if (id < 1)
        id = 1;
    char path[96];
    const char *method = "GET", *body = NULL;
    const long *ok = id_ok;
    switch (kind) {
    case 0:
        method = "POST";
        body = spec;
        ok = post_ok;
        snprintf(path, sizeof path, "/api/v1/experiments");
        break;
    case 1:
        method = "DELETE";
        snprintf(path, sizeof path, "/api/v1/experiments/%lld", id);
        break;
    case 2:
        snprintf(path, sizeof path, "/api/v1/experiments/%lld", id);
        break;
    case 3:
        ok = ev_ok;
        snprintf(path, sizeof path, "/api/v1/experiments/%lld/events", id);
        break;
    default:
        ok = list_ok;
        snprintf(path, sizeof path, "/api/v1/experiments");
        break;
    }
    http_resp r;
    bool sent = http_do(&srv, method, path, body, NULL, &r);
    check_status(path, sent, &r, ok);
    if (sent && kind == 0 && r.status == 201) {
        long long nid = jint(r.json, "id");
        long long cur = atomic_load(&last_id);
        while (nid > cur && !atomic_compare_exchange_weak(&last_id, &cur, nid))
            ;
    }
    atomic_fetch_add(&by_kind[kind], 1);
    http_resp_free(&r);
}

/* Thread 0 starts an experiment; then every thread DELETEs it at the same moment, some also GET it
 * or follow it.  The DELETEs that arrive while the lab lives wait for it; those that arrive after it
 * ended forget it; the rest find nothing. */
static void *rounds(void *arg)
{
    static const long del_ok[] = {200, 404, 0}, ev_ok[] = {200, 404, 429, 0};
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (me == 0) {
            long long id = 0;
            for (int tries = 0; tries < 100 && !id && time(NULL) < t_end; tries++) {
                http_resp r;
                if (http_do(&srv, "POST", "/api/v1/experiments", spec, NULL, &r) && r.status == 201)
                    id = jint(r.json, "id");
                else
                    usleep(20 * 1000);    /* 429: the last round's labs are still being reaped */
                http_resp_free(&r);
            }
            atomic_store(&round_id, id);
            if (!id || time(NULL) >= t_end)
                atomic_store(&stop_rounds, true);
        }
        pthread_barrier_wait(&barrier);
        if (atomic_load(&stop_rounds))
            break;
        char path[96];
        snprintf(path, sizeof path, "/api/v1/experiments/%lld", atomic_load(&round_id));
        http_resp r;
        bool sent = http_do(&srv, "DELETE", path, NULL, NULL, &r);
        check_status("DELETE (round)", sent, &r, del_ok);
        http_resp_free(&r);
        if (me % 3 == 1) {
            sent = http_do(&srv, "GET", path, NULL, NULL, &r);
            check_status("GET (round)", sent, &r, del_ok);
            http_resp_free(&r);
        } else if (me % 3 == 2) {
            strcat(path, "/events");
            sent = http_do(&srv, "GET", path, NULL, NULL, &r);
            check_status("events (round)", sent, &r, ev_ok);
            http_resp_free(&r);
        }
        atomic_fetch_add(&ops_done, 1);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
    for (int i = 0; i < OPS_PER_THREAD && time(NULL) < t_end; i++) {
        one_op(&seed);
        atomic_fetch_add(&ops_done, 1);
    }
    return NULL;
}

int main(void)
{
    const char *args[] = {"--threads", "8", "--max-experiments", "4", "--experiment-hold", "2", NULL};
    if (!server_start(&srv, args)) {
        fprintf(stderr, "could not start memscoped\n");
        return 1;
    }
    pthread_t th[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    t_end = time(NULL) + DEADLINE_S;
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, rounds, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    int n = atomic_load(&ops_done);
    printf("%d DELETEs of one experiment by %d clients at once\n", n, THREADS);
    CHECK(n >= 400);

    atomic_store(&ops_done, 0);
    t_end = time(NULL) + DEADLINE_S;
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(i + 1)) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    n = atomic_load(&ops_done);
    printf("%d operations (POST %d, DELETE %d, GET %d, events %d, list %d), newest id %lld\n", n,
           atomic_load(&by_kind[0]), atomic_load(&by_kind[1]), atomic_load(&by_kind[2]), atomic_load(&by_kind[3]),
           atomic_load(&by_kind[4]), atomic_load(&last_id));
    CHECK(n >= 800);                     /* enough to mean something, even on a slow machine */
    CHECK(atomic_load(&last_id) >= 20);  /* experiments did start, finish and get evicted */
    CHECK_EQ_U64(atomic_load(&bad), 0);
    json_t *h = http_get_json(&srv, "/api/v1/health");
    CHECK(h && jstr(h, "status") && strcmp(jstr(h, "status"), "ok") == 0);
    json_decref(h);
    char *log = server_log(&srv);
    CHECK(log && !strstr(log, "AddressSanitizer") && !strstr(log, "runtime error"));
    if (log && (strstr(log, "AddressSanitizer") || strstr(log, "runtime error")))
        fprintf(stderr, "%.4000s\n", log);
    free(log);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
