/* conns.c - see conns.h.
 *
 * Who owns what: a tracked connection is allocated when libmicrohttpd accepts it and freed when it
 * tells us the connection is closed, before it closes the socket, both under `lock`.  The watchdog
 * reads and shuts down sockets only while holding `lock`, so it can never shut down a descriptor
 * number that has already been closed and handed to a new connection.  The request callbacks run
 * in the connection's own worker thread and change its fields under `lock` too. */
#include "conns.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "log.h"

/* How often the watchdog looks, and how long a request may take before it counts as slow. */
#define CONNS_TICK_MS 250
#define CONNS_SLOW_MS 1000

typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    bool receiving;         /* the current request has not arrived whole yet */
    bool seen_request;      /* a request line came on this connection */
    bool closing;           /* the watchdog shut it down */
    long long since_ms;     /* when the wait for the current request began */
    long long deadline_ms;  /* when it must have arrived whole */
} conn_track;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static conn_track *head;
static long long request_ms, idle_ms;
static unsigned max_slow;
static bool running;
static pthread_t thread;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static conn_track *track_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_track *t = calloc(1, sizeof *t);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!t || !ci) {   /* untracked: only libmicrohttpd's idle timeout applies to it */
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->receiving = true;
        pthread_mutex_lock(&lock);
        t->since_ms = now_ms();
        t->deadline_ms = t->since_ms + request_ms;
        t->next = head;
        if (head)
            head->prev = t;
        head = t;
        pthread_mutex_unlock(&lock);
        *socket_context = t;
        return;
    }
    conn_track *t = *socket_context;
    if (!t)
        return;
    pthread_mutex_lock(&lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&lock);
    free(t);
    *socket_context = NULL;
}

void conns_request_line(struct MHD_Connection *c)
{
    conn_track *t = track_of(c);
    if (!t)
        return;
    pthread_mutex_lock(&lock);
    long long d = now_ms() + request_ms;
    if (t->seen_request && d < t->deadline_ms)
        t->deadline_ms = d;
    t->seen_request = true;
    pthread_mutex_unlock(&lock);
}

void conns_request_whole(struct MHD_Connection *c)
{
    conn_track *t = track_of(c);
    if (!t)
        return;
    pthread_mutex_lock(&lock);
    t->receiving = false;
    pthread_mutex_unlock(&lock);
}

void conns_request_done(struct MHD_Connection *c)
{
    conn_track *t = track_of(c);
    if (!t)
        return;
    pthread_mutex_lock(&lock);
    t->receiving = true;
    t->since_ms = now_ms();
    t->deadline_ms = t->since_ms + idle_ms + request_ms;
    pthread_mutex_unlock(&lock);
}

/* Shutting the socket down wakes its worker, which sees the end of input and closes it. */
static void close_conn(conn_track *t)
{
    shutdown(t->fd, SHUT_RDWR);
    t->closing = true;
}

/* Closes connections past their deadline, then the oldest slow ones beyond max_slow.  Called with
 * lock held; returns how many of each it closed. */
static void sweep(unsigned *late, unsigned *trimmed)
{
    long long now = now_ms();
    unsigned slow = 0;
    *late = *trimmed = 0;
    for (conn_track *t = head; t; t = t->next) {
        if (!t->receiving || t->closing)
            continue;
        if (now >= t->deadline_ms) {
            close_conn(t);
            (*late)++;
        } else if (now - t->since_ms >= CONNS_SLOW_MS) {
            slow++;
        }
    }
    while (slow > max_slow) {
        conn_track *oldest = NULL;
        for (conn_track *t = head; t; t = t->next)
            if (t->receiving && !t->closing && now - t->since_ms >= CONNS_SLOW_MS &&
                (!oldest || t->since_ms < oldest->since_ms))
                oldest = t;
        if (!oldest)
            break;
        close_conn(oldest);
        (*trimmed)++;
        slow--;
    }
}

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (running) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        ms_timespec_add_ms(&until, CONNS_TICK_MS);
        pthread_cond_timedwait(&wake, &lock, &until);
        if (!running)
            break;
        unsigned late, trimmed;
        sweep(&late, &trimmed);
        /* Logged outside the lock: the log may block on a full stderr. */
        pthread_mutex_unlock(&lock);
        for (unsigned i = 0; i < late; i++)
            log_warn("closed a connection whose request had not arrived whole within the deadline "
                     "(--request-timeout)");
        for (unsigned i = 0; i < trimmed; i++)
            log_warn("closed a slow connection: more than half the connection slots were taken by "
                     "clients still sending their requests");
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

ms_err conns_start(unsigned request_s, unsigned idle_s, unsigned max_conns)
{
    request_ms = (long long)request_s * 1000;
    idle_ms = (long long)idle_s * 1000;
    max_slow = max_conns / 2 ? max_conns / 2 : 1;
    running = true;
    if (pthread_create(&thread, NULL, watchdog, NULL) != 0) {
        running = false;
        return MS_ERR_NOMEM;
    }
    return MS_OK;
}

void conns_stop(void)
{
    pthread_mutex_lock(&lock);
    bool was = running;
    running = false;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    if (was)
        pthread_join(thread, NULL);
}
