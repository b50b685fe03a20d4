/* harness.h - what integration tests share: a real memscoped on a free port, subject processes with
 * known memory, and an HTTP client (libcurl) whose answers are parsed by jansson. */
#ifndef MEMSCOPE_HARNESS_H
#define MEMSCOPE_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    unsigned port;
    int log_fd;              /* the server's stderr, still readable for later lines */
    char base[64];           /* "http://127.0.0.1:PORT" */
} ms_server;

/* Starts $MEMSCOPE_BIN (or ../server/memscoped) with --listen 127.0.0.1:0 plus extra args (NULL-ended),
 * waits for its "listening on" line.  false if it did not start within 10 s.  Unless extra has its
 * own --data-dir, the history store is kept in memory (--data-dir none). */
bool server_start(ms_server *s, const char *const *extra);
/* The same, run through a wrapper command (e.g. {"setpriv", "--reuid=nobody", ..., NULL}; NULL: none).
 * extra may hold its own --listen: a wildcard address (0.0.0.0) is then reached through 127.0.0.1. */
bool server_start_cmd(ms_server *s, const char *const *wrapper, const char *const *extra);
/* SIGTERM, then waits up to 5 s; returns the exit status (or -1 if it had to be killed). */
int server_stop(ms_server *s);
/* What the server wrote to stderr since the last call (returns once it was quiet for 300 ms);
 * malloc'ed, never NULL unless out of memory. */
char *server_log(const ms_server *s);

/* Runs memscoped with args (NULL-ended) only, waits up to timeout_ms for it to exit; returns its exit
 * status (-1: still running, killed) and what it wrote to stderr in *err (malloc'ed). */
int server_run_once(const char *const *args, int timeout_ms, char **err);

/* A TCP connection to 127.0.0.1:port, or -1. */
int connect_lo(unsigned port);
/* Sends req (len bytes) on a new connection and returns all that came back until the server closed
 * it or nothing came for timeout_ms (malloc'ed, NUL-ended; *closed says which). */
char *raw_exchange(unsigned port, const char *req, size_t len, int timeout_ms, bool *closed);

typedef struct {
    pid_t pid;
    int stdin_fd;            /* closing it makes the subject exit */
    json_t *info;            /* the subject's JSON line */
} ms_subject;

/* Runs $MEMSCOPE_SUBJECT with args (NULL-ended). */
bool subject_start(ms_subject *s, const char *const *args);
void subject_stop(ms_subject *s);
unsigned long long subject_addr(const ms_subject *s, const char *key);
/* Waits (up to 10 s) until the subject is blocked reading its stdin: between printing its line and
 * getting there it still runs code, and the first run of that code maps pages (its own text, a
 * fault-around's 16 pages of libc), which a test comparing two reads of a "still" subject would
 * see change.  False if it never got there; only for subjects that wait on stdin. */
bool subject_wait_blocked(const ms_subject *s);

typedef struct {
    long status;
    char *body;
    size_t len;
    json_t *json;            /* parsed body, NULL if it is not JSON */
    char content_type[128];
    char *headers;           /* the raw response header block ("Name: value\r\n"...) */
    size_t hlen;
} http_resp;

/* GET/POST/DELETE base+path; body may be NULL.  headers: NULL-ended "Name: value" list or NULL. */
bool http_do(const ms_server *s, const char *method, const char *path, const char *body,
             const char *const *headers, http_resp *out);
bool http_get(const ms_server *s, const char *path, http_resp *out);
void http_resp_free(http_resp *r);
/* A response header's value (case-insensitive name) copied into buf; NULL if absent. */
const char *http_header(const http_resp *r, const char *name, char *buf, size_t cap);

/* method path (body, hdr as http_do) answers status and, when code is non-NULL, the JSON error
 * shape with that code; prints what came instead and returns false otherwise. */
bool http_expect(const ms_server *s, const char *method, const char *path, const char *body,
                 const char *const *hdr, long status, const char *code);

/* Integer member by dotted path ("counts.present"); -1 if missing or not an integer. */
long long jint(const json_t *j, const char *path);
const char *jstr(const json_t *j, const char *path);
/* Whether every member of objs but skip is equal in rows, and rows has exactly extra members more
 * (an answer in another layout against the default one). */
bool json_members_match(const json_t *rows, const json_t *objs, const char *skip, size_t extra);

/* GET base + printf-style path; the parsed body of a 200 answer (the caller json_decref()s it), or
 * NULL after printing what came instead. */
json_t *http_get_json(const ms_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A "Key:   123 kB" field of /proc/<pid>/<file> in bytes, read without memscope's code; -1 if
 * absent. */
long long proc_kb(int pid, const char *file, const char *key);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
long harness_now_ms(void);

/* Runs a shell command and returns its stdout (malloc'ed), or NULL. */
char *run_capture(const char *cmd);

#endif
