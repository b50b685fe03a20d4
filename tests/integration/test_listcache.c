/* test_listcache.c - /processes answers from a shared snapshot at most --list-cache-ms old.
 *
 * Snapshots replace each other while other requests still read them; with a 1 ms cache and
 * several clients at once that happens constantly, so a snapshot freed too early shows up here
 * (as a crash under AddressSanitizer, which then fails the clean exit checked at the end). */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define THREADS 4
#define REQUESTS 1500
/* Each request reads the whole process list, whose cost grows with the machine's processes: on a
 * busy host the requests stop at this deadline, after at least MIN_REQUESTS each. */
#define DEADLINE_S 30
#define MIN_REQUESTS 100

static ms_server srv;
static time_t deadline;

typedef struct {
    long bad, done;
} hammer_result;

static void *hammer(void *arg)
{
    hammer_result *res = arg;
    long *bad = &res->bad;
    for (int i = 0; i < REQUESTS && (i < MIN_REQUESTS || time(NULL) < deadline); i++, res->done++) {
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
    hammer_result res[THREADS] = {{0}};
    deadline = time(NULL) + DEADLINE_S;
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &res[i]);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_U64(res[i].bad, 0);
        CHECK(res[i].done >= MIN_REQUESTS);
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
