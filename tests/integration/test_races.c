/* test_races.c - reading processes that change, exec and exit under the reader.
 *
 * One subject remaps, protects, touches and drops pieces of a 4 MiB span in a tight loop
 * (memscope-subject --churn); a spawner keeps starting short-lived subjects that exit, or exec and
 * then exit, at random moments.  Four client threads hammer /maps, /smaps, /processes/{pid},
 * /pagemap and /translate of both, a bounded number of requests within a bounded time, over
 * loopback.  Every answer must be a 404 (for pages, also a 409 no_address_space: a subject caught
 * between its exit and its reaping is a zombie, which has none) or a complete JSON document whose
 * figures are possible:
 * regions sorted, non-overlapping, start < end; rss <= size, pss <= rss, the four
 * shared/private figures summing to rss; page counts within the range; runs in order and in range;
 * a PFN never 0.  Never a 5xx, a torn document or a hang.  The server then stops cleanly (exit 0,
 * which in a sanitizer build includes LeakSanitizer's verdict). */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define CLIENTS 4
#define PER_CLIENT 2500          /* 10,000 requests in all ... */
#define DEADLINE_S 120           /* ... or two minutes, whichever comes first */

static ms_server srv;
static ms_subject churn;
static long ps;
static atomic_bool stop_spawner;
static atomic_long n_ok, n_404, n_bad, n_total;

/* The short-lived subject currently published to the clients. */
static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static int cur_pid;
static unsigned long long cur_area;

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned long long hex(const json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? strtoull(s, NULL, 16) : 0;
}

static long long num(const json_t *j, const char *k)
{
    const json_t *v = json_object_get(j, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Why an answer is impossible, or NULL if it is fine. */
static const char *check_regions(const json_t *root, bool smaps)
{
    const json_t *regions = json_object_get(root, "regions");
    if (!json_is_array(regions) || num(root, "count") != (long long)json_array_size(regions))
        return "regions missing or count differs";
    unsigned long long prev_end = 0;
    long long sum_rss = 0;
    size_t i;
    const json_t *g;
    json_array_foreach(regions, i, g) {
        unsigned long long s = hex(g, "start"), e = hex(g, "end");
        if (!(s < e))
            return "a region with start >= end";
        if (s < prev_end)
            return "regions overlap or are out of order";
        if (num(g, "size") != (long long)(e - s))
            return "size is not end - start";
        const char *perms = json_string_value(json_object_get(g, "perms"));
        if (!perms || strlen(perms) != 4)
            return "perms is not 4 characters";
        prev_end = e;
        if (!smaps)
            continue;
        const json_t *f = json_object_get(g, "fields");
        long long rss = num(f, "rss"), pss = num(f, "pss"), size = num(f, "size");
        long long parts = num(f, "shared_clean") + num(f, "shared_dirty") + num(f, "private_clean") +
                          num(f, "private_dirty");
        if (rss < 0 || pss < 0 || size < 0)
            return "a negative or missing rss/pss/size";
        if (size != (long long)(e - s))
            return "fields.size is not end - start";
        if (rss > size || pss > rss)
            return "rss > size or pss > rss";
        if (parts != rss)
            return "shared + private != rss";
        if (num(f, "anonymous") > rss || num(f, "referenced") > rss || num(f, "swap_pss") > num(f, "swap"))
            return "anonymous or referenced > rss, or swap_pss > swap";
        sum_rss += rss;
    }
    /* (a process without regions - a zombie - has empty totals) */
    if (smaps && json_array_size(regions) && num(json_object_get(root, "totals"), "rss") != sum_rss)
        return "totals.rss is not the sum of the regions";
    return NULL;
}

static const char *check_process(const json_t *root)
{
    const json_t *roll = json_object_get(root, "rollup");
    if (!json_is_object(roll))
        return json_is_null(roll) ? NULL : "rollup missing";   /* null: a zombie, said so */
    long long rss = num(roll, "rss"), pss = num(roll, "pss"), uss = num(root, "uss");
    if (rss < 0 || pss < 0 || uss < 0)
        return "a negative or missing rollup figure";
    if (pss > rss || uss > rss)
        return "pss or uss > rss";
    if (num(roll, "private_clean") + num(roll, "private_dirty") + num(roll, "shared_clean") +
            num(roll, "shared_dirty") != rss)
        return "rollup shared + private != rss";
    return NULL;
}

static const char *check_pagemap(const json_t *root, unsigned long long start, unsigned long long end)
{
    const json_t *c = json_object_get(root, "counts");
    long long pages = num(c, "pages"), present = num(c, "present"), swapped = num(c, "swapped");
    if (pages != (long long)((end - start) / (unsigned long long)ps))
        return "counts.pages is not the range's page count";
    if (present < 0 || swapped < 0 || present + swapped > pages)
        return "present + swapped outside [0, pages]";
    const json_t *z = json_object_get(c, "zero_page"), *x = json_object_get(c, "exclusive");
    if ((json_is_integer(z) && (json_integer_value(z) < 0 || json_integer_value(z) > present)) ||
        (json_is_integer(x) && (json_integer_value(x) < 0 || json_integer_value(x) > present)))
        return "zero_page or exclusive outside [0, present]";
    const json_t *runs = json_object_get(root, "runs");
    if (!json_is_array(runs))
        return "runs missing";
    unsigned long long prev = start;
    size_t i;
    const json_t *r;
    json_array_foreach(runs, i, r) {
        unsigned long long rs = strtoull(json_string_value(json_array_get(r, 0)) ? json_string_value(json_array_get(r, 0)) : "0", NULL, 16);
        unsigned long long re = strtoull(json_string_value(json_array_get(r, 1)) ? json_string_value(json_array_get(r, 1)) : "0", NULL, 16);
        if (!json_is_string(json_array_get(r, 2)) || rs < prev || !(rs < re) || re > end)
            return "a run out of order, empty, or outside the range";
        prev = re;
    }
    const json_t *frames = json_object_get(root, "frames");
    json_array_foreach(frames, i, r) {
        const json_t *pfn = json_object_get(r, "pfn");
        if (json_is_integer(pfn) && json_integer_value(pfn) <= 0)
            return "a frame with pfn 0";
    }
    return NULL;
}

static const char *check_translate(const json_t *root, unsigned long long addr)
{
    if (num(root, "page_offset") != (long long)(addr % (unsigned long long)ps) ||
        num(root, "page_number") != (long long)(addr / (unsigned long long)ps))
        return "page_number or page_offset wrong";
    const json_t *g = json_object_get(root, "region");
    if (json_is_object(g) && !(hex(g, "start") <= addr && addr < hex(g, "end")))
        return "the region does not contain the address";
    const json_t *pfn = json_object_get(json_object_get(root, "page"), "pfn");
    if (json_is_integer(pfn) && json_integer_value(pfn) <= 0)
        return "pfn 0";
    return NULL;
}

typedef struct {
    char *data;
    size_t len;
} body;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    char *nb = realloc(b->data, b->len + sz * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, sz * n);
    b->data = nb;
    b->len += sz * n;
    b->data[b->len] = '\0';
    return sz * n;
}

static void report(const char *what, const char *url, long status, const char *text)
{
    long k = atomic_fetch_add(&n_bad, 1);
    if (k < 10)
        fprintf(stderr, "%s: %s -> %ld %.300s\n", what, url, status, text ? text : "");
}

static void *client(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 7919u + (unsigned)getpid();
    CURL *c = curl_easy_init();
    long deadline = now_ms() + DEADLINE_S * 1000L;
    unsigned long long span = subject_addr(&churn, "churn");
    unsigned long long span_end = span + (unsigned long long)jint(churn.info, "churn_pages") * (unsigned long long)ps;
    for (int n = 0; n < PER_CLIENT && now_ms() < deadline; n++) {
        int pid;
        unsigned long long start, end;
        bool short_lived = rand_r(&seed) % 2;
        pthread_mutex_lock(&cur_lock);
        if (short_lived && cur_pid) {
            pid = cur_pid;
            start = cur_area;
            end = cur_area + 8 * (unsigned long long)ps;
        } else {
            pid = churn.pid;
            start = span;
            end = span_end;
        }
        pthread_mutex_unlock(&cur_lock);
        unsigned long long addr = start + (unsigned long long)(rand_r(&seed) % ((end - start) / (unsigned long long)ps)) *
                                              (unsigned long long)ps + (unsigned long long)(rand_r(&seed) % ps);
        int kind = rand_r(&seed) % 6;
        char url[512];
        int k = snprintf(url, sizeof url, "%s/api/v1/processes/%d", srv.base, pid);
        switch (kind) {
        case 0: snprintf(url + k, sizeof url - (size_t)k, "/maps"); break;
        case 1: snprintf(url + k, sizeof url - (size_t)k, "/smaps"); break;
        case 2: break;
        case 3: snprintf(url + k, sizeof url - (size_t)k, "/pagemap?start=0x%llx&end=0x%llx", start, end); break;
        case 4: snprintf(url + k, sizeof url - (size_t)k, "/pagemap?start=0x%llx&end=0x%llx&frames=1&limit=64&method=pread",
                         start, end); break;
        default: snprintf(url + k, sizeof url - (size_t)k, "/translate?addr=0x%llx", addr); break;
        }
        body b = {0};
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        atomic_fetch_add(&n_total, 1);
        json_error_t je;
        json_t *j = b.data ? json_loadb(b.data, b.len, 0, &je) : NULL;
        if (rc != CURLE_OK) {
            report(curl_easy_strerror(rc), url, status, NULL);
        } else if (!json_is_object(j)) {
            report("not a complete JSON document", url, status, b.data);
        } else if (status == 404) {
            const char *code = jstr(j, "error.code");
            if (code && strcmp(code, "no_such_process") == 0)
                atomic_fetch_add(&n_404, 1);
            else
                report("a 404 that is not no_such_process", url, status, b.data);
        } else if (status == 409 && kind >= 3) {
            const char *code = jstr(j, "error.code");
            if (code && strcmp(code, "no_address_space") == 0)
                atomic_fetch_add(&n_404, 1);
            else
                report("a 409 that is not no_address_space", url, status, b.data);
        } else if (status != 200) {
            report("neither 200 nor 404", url, status, b.data);
        } else {
            const char *why = kind == 0 ? check_regions(j, false)
                            : kind == 1 ? check_regions(j, true)
                            : kind == 2 ? check_process(j)
                            : kind <= 4 ? check_pagemap(j, start, end)
                                        : check_translate(j, addr);
            if (why)
                report(why, url, status, b.data);
            else
                atomic_fetch_add(&n_ok, 1);
        }
        json_decref(j);
        free(b.data);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Keeps short-lived subjects coming: each exits (or execs, then exits) a few ms after it starts. */
static void *spawner(void *arg)
{
    (void)arg;
    unsigned seed = 12345;
    int n = 0;
    while (!atomic_load(&stop_spawner)) {
        char ms[16];
        snprintf(ms, sizeof ms, "%u", 1 + rand_r(&seed) % 80);
        bool exec = n++ % 3 == 0;
        const char *args[] = {"--pages", "8", "--write", "4", "--read", "2", exec ? "--exec-after" : "--exit-after", ms, NULL};
        ms_subject s;
        if (!subject_start(&s, args))
            continue;   /* it may exit before its line is read: that is the point */
        pthread_mutex_lock(&cur_lock);
        cur_pid = s.pid;
        cur_area = subject_addr(&s, "area");
        pthread_mutex_unlock(&cur_lock);
        /* let it die by itself, then linger as a zombie a moment, then reap it */
        usleep((useconds_t)(1000 + rand_r(&seed) % 150000));
        pthread_mutex_lock(&cur_lock);
        cur_pid = 0;
        pthread_mutex_unlock(&cur_lock);
        subject_stop(&s);
    }
    return NULL;
}

int main(void)
{
    ps = sysconf(_SC_PAGESIZE);
    curl_global_init(CURL_GLOBAL_ALL);   /* before any thread: curl's global set-up is not thread-safe */
    const char *cargs[] = {"--churn", "1024", "--pages", "8", "--write", "4", NULL};
    const char *sargs[] = {"--threads", "4", NULL};
    if (!subject_start(&churn, cargs) || !server_start(&srv, sargs)) {
        fprintf(stderr, "could not start the churning subject or memscoped\n");
        return 1;
    }
    long t0 = now_ms();
    pthread_t sp, cl[CLIENTS];
    pthread_create(&sp, NULL, spawner, NULL);
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&cl[i], NULL, client, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(cl[i], NULL);
    atomic_store(&stop_spawner, true);
    pthread_join(sp, NULL);
    long secs = (now_ms() - t0) / 1000;
    printf("%ld requests in %ld s: %ld valid 200s, %ld 404s or 409s, %ld bad\n", atomic_load(&n_total), secs,
           atomic_load(&n_ok), atomic_load(&n_404), atomic_load(&n_bad));
    CHECK_EQ_U64(atomic_load(&n_bad), 0);
    CHECK(atomic_load(&n_total) >= 1000);          /* enough to mean something, even on a slow machine */
    CHECK(atomic_load(&n_ok) > atomic_load(&n_total) / 4);
    CHECK(atomic_load(&n_404) > 0);                /* the exiting subjects were caught exiting */

    /* the churning subject is still readable, and the server still answers */
    http_resp r;
    char p[64];
    snprintf(p, sizeof p, "/api/v1/processes/%d/maps", churn.pid);
    CHECK(http_get(&srv, p, &r) && r.status == 200 && r.json && !check_regions(r.json, false));
    http_resp_free(&r);
    subject_stop(&churn);
    CHECK_EQ_U64(server_stop(&srv), 0);
    curl_global_cleanup();
    return check_done();
}
