/* test_listcache.c - /processes answers from a shared snapshot at most --list-cache-ms old.
 *
 * Snapshots replace each other while other requests still read them; with a 1 ms cache and
 * several clients at once that happens constantly, so a snapshot freed too early shows up here
 * (as a crash under AddressSanitizer, which then fails the clean exit checked at the end). */
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define THREADS 4
#define REQUESTS 1500

static ms_server srv;

static void *hammer(void *arg)
{
    long *bad = arg;
    for (int i = 0; i < REQUESTS; i++) {
        http_resp r;
        const char *path = (i % 3 == 0) ? "/api/v1/processes?sort=vm_rss" : (i % 3 == 1) ? "/api/v1/processes?limit=5" : "/api/v1/processes";
        if (!http_get(&srv, path, &r) || r.status != 200 || !r.json || jint(r.json, "count") <= 0)
            (*bad)++;
        http_resp_free(&r);
    }
    return NULL;
}

int main(void)
{
    const char *args[] = {"--list-cache-ms", "1", NULL};
    if (!server_start(&srv, args)) {
        fprintf(stderr, "could not start memscoped\n");
        return 1;
    }
    pthread_t t[THREADS];
    long bad[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &bad[i]);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_U64(bad[i], 0);
    }
    CHECK_EQ_U64(server_stop(&srv), 0);

    /* the default: a second at most, said in the answer; fresh=1 reads now and sees a new process */
    CHECK(server_start(&srv, NULL));
    json_t *a = http_get_json(&srv, "/api/v1/processes");
    CHECK(a && jint(a, "age_ms") == 0);
    json_decref(a);
    ms_subject s;
    const char *sargs[] = {"--pages", "4", NULL};
    CHECK(subject_start(&s, sargs));
    json_t *b = http_get_json(&srv, "/api/v1/processes");
    CHECK(b && jint(b, "age_ms") >= 0 && jint(b, "age_ms") <= 1000);
    json_decref(b);
    json_t *c = http_get_json(&srv, "/api/v1/processes?fresh=1");
    CHECK(c && jint(c, "age_ms") == 0);
    bool seen = false;
    size_t i;
    const json_t *it;
    json_array_foreach(json_object_get(c, "processes"), i, it)
        seen |= jint(it, "pid") == s.pid;
    CHECK(seen);
    json_decref(c);
    usleep(1100 * 1000);
    json_t *d = http_get_json(&srv, "/api/v1/processes");
    CHECK(d && jint(d, "age_ms") == 0);   /* older than a second: read again */
    json_decref(d);
    subject_stop(&s);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
