/* routes_exp.c - the experiments API: start, list, inspect, end, presets, and live following.
 *
 * Live following is server-sent events.  A stream's content callback takes whatever lines the
 * experiment has printed since its cursor; when there are none it suspends the connection, and a
 * single waker thread resumes every waiting stream ten times a second.  No request thread ever
 * blocks waiting for a lab, so one open stream never stalls other requests.
 *
 * A stream holds no copy of the lines: it keeps a cursor into the experiment's own line log (which
 * the experiment owns and frees; see experiments_frame) and copies from it straight into MHD's buffer.
 * A stream whose lab is silent writes a comment line every HEARTBEAT_MS: a client that went away
 * (reset, or closed) makes that write fail, and MHD then closes the connection and frees the
 * stream, its descriptor and its slot, instead of keeping them for the rest of a long hold. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/num.h"
#include "experiments.h"
#include "http.h"
#include "jw.h"
#include "routes_exp.h"

#define MAX_STREAMS 64
#define HEARTBEAT_MS 2000
#define STREAM_BLOCK (16 * 1024)     /* the most one read hands MHD */

typedef struct stream {
    experiments_mgr *m;
    uint64_t id;
    experiments_cursor cur;           /* where in the experiment's lines this stream is */
    struct MHD_Connection *conn;
    uint64_t last_write_ms;   /* monotonic: when bytes last went to MHD (lines or heartbeat) */
    bool finished;            /* the experiment ended and every line went out */
    bool waiting;             /* suspended, in the waiter list */
    struct stream *prev_w, *next_w;
} stream;

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static stream *waiters;
static unsigned nstreams;
static bool stopping;
static pthread_t waker;
static bool waker_started;

static void *waker_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&streams_lock);
        bool stop = stopping;
        for (stream *s = waiters; s; s = s->next_w) {
            s->waiting = false;
            MHD_resume_connection(s->conn);
        }
        waiters = NULL;
        pthread_mutex_unlock(&streams_lock);
        if (stop)
            return NULL;
    }
}

void routes_exp_start(void)
{
    waker_started = pthread_create(&waker, NULL, waker_main, NULL) == 0;
}

void routes_exp_stop(void)
{
    pthread_mutex_lock(&streams_lock);
    stopping = true;
    pthread_mutex_unlock(&streams_lock);
    if (waker_started)
        pthread_join(waker, NULL);   /* its last round resumed every suspended stream */
    waker_started = false;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    static const char heartbeat[] = ": keep-alive\n\n";
    (void)pos;
    stream *s = cls;
    if (!s->finished) {
        size_t n = 0;
        bool fin = false;
        if (experiments_frame(s->m, s->id, &s->cur, "data: ", "\n\n", buf, max, &n, &fin) != MS_OK)
            fin = true;                  /* deleted and forgotten meanwhile */
        s->finished = fin;
        uint64_t now = mono_ms();
        if (n) {
            s->last_write_ms = now;
            return (ssize_t)n;
        }
        if (!fin && now - s->last_write_ms >= HEARTBEAT_MS && max >= sizeof heartbeat - 1) {
            memcpy(buf, heartbeat, sizeof heartbeat - 1);
            s->last_write_ms = now;
            return (ssize_t)(sizeof heartbeat - 1);
        }
    }
    if (s->finished)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&streams_lock);
    if (stopping) {
        pthread_mutex_unlock(&streams_lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing yet: park the connection until the waker's next round. */
    MHD_suspend_connection(s->conn);
    s->waiting = true;
    s->prev_w = NULL;
    s->next_w = waiters;
    if (waiters)
        waiters->prev_w = s;
    waiters = s;
    pthread_mutex_unlock(&streams_lock);
    return 0;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    pthread_mutex_lock(&streams_lock);
    if (s->waiting) {
        if (s->prev_w)
            s->prev_w->next_w = s->next_w;
        else
            waiters = s->next_w;
        if (s->next_w)
            s->next_w->prev_w = s->prev_w;
    }
    nstreams--;
    pthread_mutex_unlock(&streams_lock);
    free(s);
}

static bool exp_enabled(http_req *r)
{
    if (r->srv->experiments_enabled && r->srv->exp)
        return true;
    http_reply_error(r, MHD_HTTP_FORBIDDEN, "experiments_disabled", "%s", r->srv->experiments_off_reason);
    return false;
}

static bool param_id(http_req *r, uint64_t *id)
{
    const char *s = r->nparams > 0 ? r->params[0] : NULL;
    if (!s || !ms_parse_u64(s, UINT64_MAX, id) || *id == 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_id", "experiment id must be a positive integer, got '%.32s'",
                         s ? s : "");
        return false;
    }
    return true;
}

static enum MHD_Result reply_json_t(http_req *r, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return http_reply_ms(r, MS_ERR_NOMEM, "encoding the answer");
    ms_buf b = {.data = text, .len = strlen(text), .cap = strlen(text) + 1, .max = 0};
    return http_reply_json(r, status, &b);
}

enum MHD_Result h_exp_start(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed) || !exp_enabled(r))
        return MHD_YES;
    if (r->body.len == 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                                "send a JSON body: {\"preset\":\"seed-1gib\"} or {\"steps\":[...],\"hold_s\":N}");
    ms_exp_err err;
    memset(&err, 0, sizeof err);
    err.step = -1;
    uint64_t id = 0;
    pid_t pid = 0;
    ms_err rc = experiments_start(r->srv->exp, r->body.data, r->body.len, &err, &id, &pid);
    if (rc != MS_OK) {
        ms_buf b;
        ms_buf_init(&b, 0);
        if (http_error_json(&b, rc == MS_ERR_INVAL ? "bad_spec" : ms_errcode(rc),
                            err.message[0] ? err.message : ms_strerror(rc), err.step,
                            err.field[0] ? err.field : NULL) != MS_OK) {
            ms_buf_free(&b);
            return MHD_NO;
        }
        return http_reply_json(r, http_status_of(rc), &b);
    }
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ku64(&w, "id", id);
    jw_ki64(&w, "pid", pid);
    char loc[96];
    snprintf(loc, sizeof loc, "/api/v1/experiments/%llu", (unsigned long long)id);
    jw_kstr(&w, "url", loc);
    jw_obj_end(&w);
    return http_reply_jw(r, MHD_HTTP_CREATED, &w, &b);
}

enum MHD_Result h_exp_list(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed) || !exp_enabled(r))
        return MHD_YES;
    json_t *list = NULL;
    ms_err rc = experiments_list(r->srv->exp, &list);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "listing experiments");
    return reply_json_t(r, MHD_HTTP_OK, json_pack("{s:o}", "experiments", list));
}

enum MHD_Result h_exp_presets(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!http_args_check(r, allowed))
        return MHD_YES;
    json_t *limits = r->srv->exp ? experiments_limits_json(r->srv->exp) : json_null();
    return reply_json_t(r, MHD_HTTP_OK,
                        json_pack("{s:o,s:o,s:b}", "presets", experiments_presets(), "limits", limits ? limits : json_null(),
                                  "enabled", r->srv->experiments_enabled));
}

enum MHD_Result h_exp_get(http_req *r)
{
    static const char *const allowed[] = {NULL};
    uint64_t id;
    if (!http_args_check(r, allowed) || !exp_enabled(r) || !param_id(r, &id))
        return MHD_YES;
    ms_buf b;
    ms_buf_init(&b, 0);
    ms_err rc = experiments_get_text(r->srv->exp, id, &b);
    if (rc != MS_OK)
        ms_buf_free(&b);
    if (rc == MS_ERR_NOENT)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_experiment", "no experiment %llu", (unsigned long long)id);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "reading experiment %llu", (unsigned long long)id);
    return http_reply_json(r, MHD_HTTP_OK, &b);
}

enum MHD_Result h_exp_delete(http_req *r)
{
    static const char *const allowed[] = {NULL};
    uint64_t id;
    if (!http_args_check(r, allowed) || !exp_enabled(r) || !param_id(r, &id))
        return MHD_YES;
    bool removed = false;
    ms_err rc = experiments_delete(r->srv->exp, id, &removed);
    if (rc == MS_ERR_NOENT)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_experiment", "no experiment %llu", (unsigned long long)id);
    if (rc != MS_OK)
        return http_reply_ms(r, rc, "ending experiment %llu", (unsigned long long)id);
    return reply_json_t(r, MHD_HTTP_OK, json_pack("{s:I,s:s}", "id", (json_int_t)id, "result",
                                                  removed ? "forgotten" : "ended"));
}

enum MHD_Result h_exp_events(http_req *r)
{
    static const char *const allowed[] = {"from", NULL};
    uint64_t id, from = 0;
    if (!http_args_check(r, allowed) || !exp_enabled(r) || !param_id(r, &id))
        return MHD_YES;
    const char *f = http_arg_get(r, "from");
    if (f && !ms_parse_u64(f, 1u << 30, &from))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_from", "from must be a line index");
    if (!experiments_exists(r->srv->exp, id))
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_such_experiment", "no experiment %llu", (unsigned long long)id);
    pthread_mutex_lock(&streams_lock);
    bool full = nstreams >= MAX_STREAMS || stopping;
    if (!full)
        nstreams++;
    pthread_mutex_unlock(&streams_lock);
    if (full)
        return http_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_streams",
                                "at most %d live streams at once", MAX_STREAMS);
    stream *s = calloc(1, sizeof *s);
    if (!s) {
        pthread_mutex_lock(&streams_lock);
        nstreams--;
        pthread_mutex_unlock(&streams_lock);
        return http_reply_ms(r, MS_ERR_NOMEM, "starting a stream");
    }
    s->m = r->srv->exp;
    s->id = id;
    s->cur.line = (size_t)from;
    s->conn = r->conn;
    s->last_write_ms = mono_ms();
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}
