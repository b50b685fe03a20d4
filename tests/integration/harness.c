/* harness.c - see harness.h. */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads one line from fd with a deadline; returns its length or -1. */
static int read_line(int fd, char *buf, size_t cap, long deadline)
{
    size_t n = 0;
    while (n + 1 < cap) {
        long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            return -1;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return (int)n;
}

bool server_start(ms_server *s, const char *const *extra)
{
    return server_start_cmd(s, NULL, extra);
}

bool server_start_cmd(ms_server *s, const char *const *wrapper, const char *const *extra)
{
    const char *bin = env_or("MEMSCOPE_BIN", "../server/memscoped");
    const char *argv[64];
    int k = 0;
    for (int i = 0; wrapper && wrapper[i] && k < 16; i++)
        argv[k++] = wrapper[i];
    argv[k++] = bin;
    argv[k++] = "--listen";
    argv[k++] = "127.0.0.1:0";
    argv[k++] = "--threads";
    argv[k++] = "2";
    bool own_dir = false;
    for (int i = 0; extra && extra[i] && k < 60; i++) {
        own_dir = own_dir || strcmp(extra[i], "--data-dir") == 0;
        argv[k++] = extra[i];
    }
    /* A test never writes the machine's history store: in memory unless it names a directory. */
    if (!own_dir) {
        argv[k++] = "--data-dir";
        argv[k++] = "none";
    }
    argv[k] = NULL;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(pfd[1], 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    /* Nobody reads the log while a test runs: a large pipe keeps a chatty server from blocking. */
    fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
    s->pid = pid;
    s->log_fd = pfd[0];
    s->port = 0;
    char line[1024];
    long deadline = now_ms() + 10000;
    while (read_line(pfd[0], line, sizeof line, deadline) >= 0) {
        const char *p = strstr(line, "listening on http://");
        const char *colon = p ? strchr(p + strlen("listening on http://"), ':') : NULL;
        if (colon) {
            s->port = (unsigned)atoi(colon + 1);
            snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", s->port);
            return s->port != 0;
        }
        fprintf(stderr, "[memscoped] %s\n", line);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return false;
}

char *server_log(const ms_server *s)
{
    size_t len = 0, cap = 65536;
    char *out = calloc(1, cap);
    struct pollfd p = {.fd = s->log_fd, .events = POLLIN};
    while (out && poll(&p, 1, 300) > 0) {
        if (len + 4097 > cap) {
            char *nb = realloc(out, cap *= 2);
            if (!nb)
                break;
            out = nb;
        }
        ssize_t n = read(s->log_fd, out + len, 4096);
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
    }
    return out;
}

int server_stop(ms_server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    long deadline = now_ms() + 5000;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid)
            break;
        if (now_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            close(s->log_fd);
            s->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    close(s->log_fd);
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool subject_start(ms_subject *s, const char *const *args)
{
    const char *bin = env_or("MEMSCOPE_SUBJECT", "./memscope-subject");
    const char *argv[64];
    int k = 0;
    argv[k++] = bin;
    for (int i = 0; args && args[i] && k < 63; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return false;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return false;
    }
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->pid = pid;
    s->stdin_fd = in[1];
    char line[4096];
    int n = read_line(out[0], line, sizeof line, now_ms() + 60000);
    close(out[0]);
    s->info = n > 0 ? json_loads(line, 0, NULL) : NULL;
    if (!s->info) {
        subject_stop(s);
        return false;
    }
    return true;
}

void subject_stop(ms_subject *s)
{
    if (s->pid > 0) {
        close(s->stdin_fd);
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    json_decref(s->info);
    s->info = NULL;
}

bool subject_wait_blocked(const ms_subject *s)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)s->pid);
    long deadline = now_ms() + 10000;
    do {
        /* "0 0x0 ...": in read(2) on fd 0 (x86-64 numbering; elsewhere this waits out the bound) */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0 && strncmp(buf, "0 0x0 ", 6) == 0)
            return true;
        usleep(1000);
    } while (now_ms() < deadline);
    return false;
}

unsigned long long subject_addr(const ms_subject *s, const char *key)
{
    const char *v = json_string_value(json_object_get(s->info, key));
    return v ? strtoull(v, NULL, 16) : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    http_resp *r = ud;
    size_t add = sz * n;
    char *nb = realloc(r->headers, r->hlen + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->hlen, p, add);
    r->headers = nb;
    r->hlen += add;
    r->headers[r->hlen] = '\0';
    return add;
}

const char *http_header(const http_resp *r, const char *name, char *buf, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = r->headers; l && *l;) {
        const char *e = strstr(l, "\r\n");
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (len > nl && l[nl] == ':' && strncasecmp(l, name, nl) == 0) {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - l);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        l += len + (e ? 2 : 0);
    }
    return NULL;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    http_resp *r = ud;
    size_t add = sz * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, add);
    r->body = nb;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* With MEMSCOPE_DUMP_ANSWERS=DIR, every JSON answer is written to DIR as one file
 * {"method","path","status","body"} so that tests/openapi/validate.mjs can check it against the
 * OpenAPI document: a field added or renamed without the document then fails the suite. */
static void dump_answer(const char *method, const char *path, const http_resp *r)
{
    static atomic_uint seq;
    const char *dir = getenv("MEMSCOPE_DUMP_ANSWERS");
    if (!dir || !*dir || !r->json || !strstr(r->content_type, "application/json"))
        return;
    char fn[4096];
    snprintf(fn, sizeof fn, "%s/%d-%u.json", dir, (int)getpid(), atomic_fetch_add(&seq, 1));
    json_t *rec = json_pack("{s:s, s:s, s:I, s:O}", "method", method, "path", path, "status",
                            (json_int_t)r->status, "body", r->json);
    if (rec)
        json_dump_file(rec, fn, JSON_COMPACT);
    json_decref(rec);
}

bool http_do(const ms_server *s, const char *method, const char *path, const char *body,
             const char *const *headers, http_resp *out)
{
    memset(out, 0, sizeof *out);
    /* One handle per thread would be faster; tests favour simplicity and independence. */
    CURL *c = curl_easy_init();
    if (!c)
        return false;
    size_t ulen = strlen(s->base) + strlen(path) + 1;
    char *url = malloc(ulen);
    if (!url) {
        curl_easy_cleanup(c);
        return false;
    }
    snprintf(url, ulen, "%s%s", s->base, path);
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (hl)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct)
            snprintf(out->content_type, sizeof out->content_type, "%s", ct);
        if (out->body)
            out->json = json_loadb(out->body, out->len, 0, NULL);
        dump_answer(method, path, out);
    } else {
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    return rc == CURLE_OK;
}

bool http_get(const ms_server *s, const char *path, http_resp *out)
{
    return http_do(s, "GET", path, NULL, NULL, out);
}

void http_resp_free(http_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static const json_t *jpath(const json_t *j, const char *path)
{
    char key[128];
    while (j && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        j = json_object_get(j, key);
        path += n + (dot ? 1 : 0);
    }
    return j;
}

long long jint(const json_t *j, const char *path)
{
    const json_t *v = jpath(j, path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

const char *jstr(const json_t *j, const char *path)
{
    return json_string_value(jpath(j, path));
}

bool json_members_match(const json_t *rows, const json_t *objs, const char *skip, size_t extra)
{
    const char *k;
    json_t *v;
    size_t others = 0;
    bool same = true;
    json_object_foreach((json_t *)objs, k, v) {
        if (strcmp(k, skip) == 0)
            continue;
        others++;
        same = same && json_equal(v, json_object_get(rows, k));
    }
    return same && json_object_size(rows) == others + extra;
}

char *run_capture(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    char *out = NULL;
    size_t len = 0, cap = 0;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(out);
                pclose(f);
                return NULL;
            }
            out = nb;
        }
        memcpy(out + len, buf, n);
        len += n;
        out[len] = '\0';
    }
    int st = pclose(f);
    if (st != 0) {
        free(out);
        return NULL;
    }
    return out ? out : calloc(1, 1);
}

json_t *http_get_json(const ms_server *s, const char *fmt, ...)
{
    char path[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    http_resp r;
    if (!http_get(s, path, &r) || r.status != 200 || !r.json) {
        fprintf(stderr, "GET %s -> %ld %.300s\n", path, r.status, r.body ? r.body : "");
        http_resp_free(&r);
        return NULL;
    }
    json_t *j = json_incref(r.json);
    http_resp_free(&r);
    return j;
}

long long proc_kb(int pid, const char *file, const char *key)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    FILE *f = fopen(path, "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atoll(line + kl + 1) * 1024;
            break;
        }
    if (f)
        fclose(f);
    return v;
}

int server_run_once(const char *const *args, int timeout_ms, char **err)
{
    const char *bin = env_or("MEMSCOPE_BIN", "../server/memscoped");
    const char *argv[32];
    int k = 0;
    argv[k++] = bin;
    for (int i = 0; args[i] && k < 31; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    int pfd[2];
    *err = NULL;
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -2;
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        dup2(pfd[1], 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    ms_server fake = {.log_fd = pfd[0]};
    int st = 0;
    long deadline = now_ms() + timeout_ms;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            st = -1;
            break;
        }
        usleep(20000);
    }
    *err = server_log(&fake);
    close(pfd[0]);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int connect_lo(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

char *raw_exchange(unsigned port, const char *req, size_t len, int timeout_ms, bool *closed)
{
    *closed = false;
    int fd = connect_lo(port);
    if (fd < 0)
        return NULL;
    size_t n = 0, cap = 65536;
    char *out = malloc(cap);
    if (!out || send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
        free(out);
        close(fd);
        return NULL;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        if (n + 4097 > cap) {
            char *nb = realloc(out, cap *= 2);
            if (!nb)
                break;
            out = nb;
        }
        ssize_t k = read(fd, out + n, 4096);
        if (k <= 0) {
            *closed = true;
            break;
        }
        n += (size_t)k;
    }
    out[n] = '\0';
    close(fd);
    return out;
}

bool http_expect(const ms_server *s, const char *method, const char *path, const char *body,
                 const char *const *hdr, long status, const char *code)
{
    http_resp r;
    bool ok = http_do(s, method, path, body, hdr, &r) && r.status == status &&
              (!code || (r.json && jstr(r.json, "error.message") && jstr(r.json, "error.code") &&
                         strcmp(jstr(r.json, "error.code"), code) == 0));
    if (!ok)
        fprintf(stderr, "%s %s: want %ld %s, got %ld %.300s\n", method, path, status, code ? code : "",
                r.status, r.body ? r.body : "");
    http_resp_free(&r);
    return ok;
}

long harness_now_ms(void)
{
    return now_ms();
}
