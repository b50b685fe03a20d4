/* msbench.c - the timing half of the benchmark: the kernel's own cost (the floor) and memscoped over
 * HTTP, measured from C so that neither side pays for an interpreter.
 *
 * It deliberately shares no code with core/: the floor must be what a minimal, independent reader
 * spends, not memscope's own readers timed twice.  bench/bench.py drives it and does the statistics.
 *
 *   msbench floor PID START END REPS    smaps, maps, smaps_rollup read to the end with 1 MiB reads;
 *                                       a PAGEMAP_SCAN walk of [START, END) and a batched pread walk
 *                                       of the same range, each summarised into page counts;
 *                                       and status, stat, cmdline of every process (what a
 *                                       process list that reads no smaps must at least pay)
 *   msbench http REPS URL...            GET each URL REPS times on one keep-alive connection
 *   msbench load N URL...               N GETs round-robin over the URLs (leak and RSS check)
 *   msbench kernel PID REPS             what /maps?rss=1 asks of the kernel, without memscope: maps
 *                                       read to the end and one PAGEMAP_SCAN walk of the whole user
 *                                       address space with the route's masks, beside a read of
 *                                       smaps; REPS turns on each of two CPUs (see floor_both)
 *   msbench turns [--both-cpus] REPS FILE URL...
 *                                       REPS turns, each a read of FILE to the end (as the floor
 *                                       reads it) and then one GET of each URL: the floor and the
 *                                       routes measured at the same moments, sample i of each in
 *                                       the same turn.  --both-cpus: the turn's floor is the mean
 *                                       of one read on each of two CPUs (see floor_both)
 *
 * A URL may be prefixed with "CODE:" (e.g. "404:http://...") to expect that status; otherwise 200.
 * Output is one JSON document on stdout; samples are in microseconds.  Exit 1 if anything fails. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <curl/curl.h>

/* PAGEMAP_SCAN (Linux 6.7, include/uapi/linux/fs.h): Debian 12's headers predate it. */
struct ms_page_region {
    uint64_t start, end, categories;
};
struct ms_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define MS_PAGEMAP_SCAN _IOWR('f', 16, struct ms_pm_scan_arg)
#define PAGE_IS_FILE    (1ULL << 2)
#define PAGE_IS_PRESENT (1ULL << 3)
#define PAGE_IS_SWAPPED (1ULL << 4)
#define PAGE_IS_PFNZERO (1ULL << 5)
#define PAGE_IS_HUGE    (1ULL << 6)

#define PM_PFN_MASK  ((1ULL << 55) - 1)
#define PM_EXCLUSIVE (1ULL << 56)
#define PM_FILE      (1ULL << 61)
#define PM_SWAP      (1ULL << 62)
#define PM_PRESENT   (1ULL << 63)

#define READ_CHUNK ((size_t)1 << 20)
#define PREAD_ENTRIES ((size_t)1 << 16)   /* 512 KiB of entries per pread */
#define SCAN_VEC 4096

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what)
{
    fprintf(stderr, "msbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t parse_u64(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        fprintf(stderr, "msbench: bad number %s\n", s);
        exit(2);
    }
    return v;
}

/* ---- the floor ------------------------------------------------------------------------------- */

static char *chunk;

/* Open, read to EOF with large reads, close: what any reader of this file must at least pay. */
static size_t read_whole(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die(path);
        }
        if (n == 0)
            break;
        total += (size_t)n;
    }
    close(fd);
    return total;
}

/* Every process's status, stat and cmdline, opened relative to its /proc directory: the kernel's
 * share of a process list.  Returns how many processes were read. */
static size_t read_all_processes(size_t *bytes)
{
    DIR *d = opendir("/proc");
    if (!d)
        die("/proc");
    size_t n = 0;
    *bytes = 0;
    struct dirent *e;
    static const char *const files[] = {"status", "stat", "cmdline"};
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        int dfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            continue;                   /* exited meanwhile */
        for (size_t f = 0; f < 3; f++) {
            int fd = openat(dfd, files[f], O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t r;
            while ((r = read(fd, chunk, READ_CHUNK)) > 0)
                *bytes += (size_t)r;
            close(fd);
        }
        close(dfd);
        n++;
    }
    closedir(d);
    return n;
}

typedef struct {
    uint64_t pages, present, swapped, zero, file, huge, exclusive, runs;
} pm_counts;

static uint64_t page_size;

/* One PAGEMAP_SCAN walk of [start, end) with the masks in q, each returned range handed to each.
 * It goes on only while the vector comes back full, from the end of its last range: walk_end can
 * point back at the last internal restart when a walk ends after more than one flush of the
 * kernel's 512-entry buffer (see core/rssmap.c), and resuming from it counts the tail twice.
 * 0, or -1 with errno (a kernel without PAGEMAP_SCAN). */
static int pm_scan(int fd, uint64_t start, uint64_t end, struct ms_pm_scan_arg q,
                   void (*each)(const struct ms_page_region *r, void *ctx), void *ctx)
{
    static struct ms_page_region vec[SCAN_VEC];
    uint64_t at = start;
    while (at < end) {
        q.size = sizeof q;
        q.start = at;
        q.end = end;
        q.vec = (uint64_t)(uintptr_t)vec;
        q.vec_len = SCAN_VEC;
        int n = ioctl(fd, MS_PAGEMAP_SCAN, &q);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            each(&vec[i], ctx);
        if (n < SCAN_VEC)
            break;
        at = vec[n - 1].end;
    }
    return 0;
}

static void count_range(const struct ms_page_region *r, void *ctx)
{
    pm_counts *c = ctx;
    uint64_t np = (r->end - r->start) / page_size, k = r->categories;
    c->pages += np;
    c->runs++;
    if (k & PAGE_IS_PRESENT) c->present += np;
    if (k & PAGE_IS_SWAPPED) c->swapped += np;
    if (k & PAGE_IS_PFNZERO) c->zero += np;
    if (k & PAGE_IS_FILE) c->file += np;
    if (k & PAGE_IS_HUGE) c->huge += np;
}

static int scan_walk(const char *path, uint64_t start, uint64_t end, pm_counts *c)
{
    memset(c, 0, sizeof *c);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    struct ms_pm_scan_arg q = {
        .return_mask = PAGE_IS_FILE | PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | PAGE_IS_HUGE,
    };
    int rc = pm_scan(fd, start, end, q, count_range, c);
    close(fd);
    return rc;
}

static uint64_t zero_pfn;

static void pread_walk(const char *path, uint64_t start, uint64_t end, pm_counts *c)
{
    static uint64_t ent[PREAD_ENTRIES];
    memset(c, 0, sizeof *c);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    uint64_t state = UINT64_MAX;
    for (uint64_t at = start; at < end;) {
        uint64_t want = (end - at) / page_size;
        if (want > PREAD_ENTRIES)
            want = PREAD_ENTRIES;
        ssize_t n = pread(fd, ent, want * 8, (off_t)(at / page_size * 8));
        if (n <= 0)
            die("pread pagemap");
        size_t got = (size_t)n / 8;
        for (size_t i = 0; i < got; i++) {
            uint64_t e = ent[i];
            c->pages++;
            if (e & PM_PRESENT) {
                c->present++;
                if (zero_pfn && (e & PM_PFN_MASK) == zero_pfn) c->zero++;
            }
            if (e & PM_SWAP) c->swapped++;
            if (e & PM_FILE) c->file++;
            if (e & PM_EXCLUSIVE) c->exclusive++;
            uint64_t s = e & (PM_PRESENT | PM_SWAP | PM_FILE);
            if (s != state) {
                c->runs++;
                state = s;
            }
        }
        at += got * page_size;
    }
    close(fd);
}

/* The shared zero page's PFN, from a page of our own that we only read (needs CAP_SYS_ADMIN). */
static void find_zero_pfn(void)
{
    volatile unsigned char *p = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    (void)p[0];
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    uint64_t e = 0;
    if (fd >= 0 && pread(fd, &e, 8, (off_t)((uintptr_t)p / page_size * 8)) == 8 && (e & PM_PRESENT))
        zero_pfn = e & PM_PFN_MASK;
    if (fd >= 0)
        close(fd);
    munmap((void *)p, page_size);
}

static void print_samples(const char *name, const double *s, int n, const char *extra)
{
    printf("  \"%s\": {\"samples_us\": [", name);
    for (int i = 0; i < n; i++)
        printf("%s%.1f", i ? ", " : "", s[i]);
    printf("]%s}", extra);
}

static void print_counts(char *out, size_t cap, const pm_counts *c, size_t bytes)
{
    snprintf(out, cap,
             ", \"pages\": %" PRIu64 ", \"present\": %" PRIu64 ", \"swapped\": %" PRIu64 ", \"zero_page\": %" PRIu64
             ", \"file_or_shared\": %" PRIu64 ", \"huge\": %" PRIu64 ", \"exclusive\": %" PRIu64 ", \"runs\": %" PRIu64
             ", \"bytes\": %zu",
             c->pages, c->present, c->swapped, c->zero, c->file, c->huge, c->exclusive, c->runs, bytes);
}

static int cmd_floor(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: msbench floor PID START END REPS\n");
        return 2;
    }
    uint64_t pid = parse_u64(argv[0]), start = parse_u64(argv[1]), end = parse_u64(argv[2]);
    int reps = (int)parse_u64(argv[3]);
    if (reps < 1 || reps > 100000 || start >= end || start % page_size || end % page_size) {
        fprintf(stderr, "msbench: bad reps or range\n");
        return 2;
    }
    chunk = malloc(READ_CHUNK);
    double *s = calloc((size_t)reps, sizeof *s);
    if (!chunk || !s)
        die("malloc");
    find_zero_pfn();

    static const char *const files[] = {"smaps", "maps", "smaps_rollup"};
    char path[64], extra[512];
    size_t bytes_all = 0;
    printf("{\n  \"pid\": %" PRIu64 ", \"start\": \"0x%" PRIx64 "\", \"end\": \"0x%" PRIx64 "\", \"zero_pfn_known\": %s,\n",
           pid, start, end, zero_pfn ? "true" : "false");
    for (size_t f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "/proc/%" PRIu64 "/%s", pid, files[f]);
        size_t bytes = read_whole(path);   /* warm-up, and the size */
        for (int i = 0; i < reps; i++) {
            double t0 = now_us();
            read_whole(path);
            s[i] = now_us() - t0;
        }
        snprintf(extra, sizeof extra, ", \"bytes\": %zu", bytes);
        print_samples(files[f], s, reps, extra);
        printf(",\n");
    }

    size_t nproc = read_all_processes(&bytes_all);
    for (int i = 0; i < reps; i++) {
        double t0 = now_us();
        nproc = read_all_processes(&bytes_all);
        s[i] = now_us() - t0;
    }
    snprintf(extra, sizeof extra, ", \"bytes\": %zu, \"processes\": %zu", bytes_all, nproc);
    print_samples("all_processes", s, reps, extra);
    printf(",\n");

    snprintf(path, sizeof path, "/proc/%" PRIu64 "/pagemap", pid);
    pm_counts c;
    if (scan_walk(path, start, end, &c) == 0) {
        for (int i = 0; i < reps; i++) {
            double t0 = now_us();
            scan_walk(path, start, end, &c);
            s[i] = now_us() - t0;
        }
        print_counts(extra, sizeof extra, &c, (size_t)c.runs * sizeof(struct ms_page_region));
        print_samples("pagemap_scan", s, reps, extra);
    } else {
        printf("  \"pagemap_scan\": {\"unsupported\": \"%s\"}", strerror(errno));
    }
    printf(",\n");
    pread_walk(path, start, end, &c);
    for (int i = 0; i < reps; i++) {
        double t0 = now_us();
        pread_walk(path, start, end, &c);
        s[i] = now_us() - t0;
    }
    print_counts(extra, sizeof extra, &c, (size_t)c.pages * 8);
    print_samples("pagemap_pread", s, reps, extra);
    printf("\n}\n");
    free(s);
    free(chunk);
    return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static size_t count_bytes(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += sz * n;
    return sz * n;
}

typedef struct {
    const char *url;
    long expect;
} target;

static void parse_target(const char *arg, target *t)
{
    t->expect = 200;
    t->url = arg;
    const char *colon = strchr(arg, ':');
    if (colon && colon - arg == 3 && arg[0] >= '1' && arg[0] <= '5') {
        t->expect = (long)parse_u64((char[4]){arg[0], arg[1], arg[2], 0});
        t->url = colon + 1;
    }
    for (const char *q = t->url; *q; q++)
        if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) {
            fprintf(stderr, "msbench: refusing URL with characters JSON would need to escape\n");
            exit(2);
        }
}

/* One GET on the shared handle; returns false (and says why) on a transport error or wrong status. */
static bool get(CURL *h, const target *t, size_t *bytes, double *us)
{
    *bytes = 0;
    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, bytes);
    double t0 = now_us();
    CURLcode rc = curl_easy_perform(h);
    *us = now_us() - t0;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        fprintf(stderr, "msbench: GET %s: %s\n", t->url, curl_easy_strerror(rc));
        return false;
    }
    if (code != t->expect) {
        fprintf(stderr, "msbench: GET %s: status %ld, expected %ld\n", t->url, code, t->expect);
        return false;
    }
    return true;
}

static CURL *new_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

static int cmd_http(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: msbench http REPS URL...\n");
        return 2;
    }
    int reps = (int)parse_u64(argv[0]);
    if (reps < 1 || reps > 1000000)
        return 2;
    double *s = calloc((size_t)reps, sizeof *s);
    if (!s)
        die("calloc");
    CURL *h = new_handle();
    int rc = 0;
    printf("{\n");
    for (int u = 1; u < argc; u++) {
        target t;
        parse_target(argv[u], &t);
        size_t bytes = 0, b;
        double us;
        long conns_after = 0;
        bool ok = get(h, &t, &bytes, &us);   /* warm-up: opens the connection */
        for (int i = 0; ok && i < reps; i++) {
            ok = get(h, &t, &b, &s[i]);
            long nc = 0;
            curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc);
            conns_after += nc;   /* new connections made by this request: 0 when kept alive */
        }
        if (!ok) {
            rc = 1;
            printf("  %s\"%s\": {\"error\": true}\n", u > 1 ? "," : "", t.url);
            continue;
        }
        char extra[128];
        snprintf(extra, sizeof extra, ", \"bytes\": %zu, \"new_connections\": %ld", bytes, conns_after);
        printf("  %s", u > 1 ? "," : "");
        print_samples(t.url, s, reps, extra);
        printf("\n");
    }
    printf("}\n");
    curl_easy_cleanup(h);
    free(s);
    return rc;
}

/* The CPUs this process may run on: all of them in *all (to return to), the first two in cpu[];
 * how many of those. */
static int two_cpus(int cpu[2], cpu_set_t *all)
{
    int n = 0;
    if (sched_getaffinity(0, sizeof *all, all) != 0)
        die("sched_getaffinity");
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, all))
            cpu[n++] = c;
    return n;
}

static void pin_self(const cpu_set_t *set)
{
    if (sched_setaffinity(0, sizeof *set, set) != 0)
        die("sched_setaffinity");
}

static void pin_self_to(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pin_self(&one);
}

/* The floor of one turn on each of two CPUs: the mean of one read on each, the first CPU
 * alternating turn by turn; per[c] gets CPU c's own read.  Why: the vCPUs of this kind of VM do
 * not run at one speed.  Measured on the project's machine, the same read of one process's smaps
 * took 19 ms on one vCPU and 29-31 ms on the other in the same minute, and which was the fast one
 * changed over the hours.  A floor read on one CPU while the server answered on the other made
 * the ratio 0.27x or 0.65x for the same two programs.  The server is left where the scheduler puts
 * it (its reader threads use the second CPU), so the floor it is held against is the kernel's read
 * on this machine at that moment: the mean over both CPUs. */
static double floor_both(const char *path, const int cpu[2], const cpu_set_t *all, int turn, double per[2])
{
    for (int k = 0; k < 2; k++) {
        int c = (turn + k) % 2;
        pin_self_to(cpu[c]);
        double t0 = now_us();
        read_whole(path);
        per[c] = now_us() - t0;
    }
    pin_self(all);
    return (per[0] + per[1]) / 2;
}

/* The floor and the routes in strict alternation.  Blocks of repetitions taken one after another
 * (as the floor and http commands do) let a slowdown of the machine that lasts a few seconds fall
 * on one side and not the other, and this VM's speed changes in steps of about that length; one
 * file read and one GET per URL in each turn puts both sides of every ratio in the same moment. */
static int cmd_turns(int argc, char **argv)
{
    bool both = argc >= 1 && !strcmp(argv[0], "--both-cpus");
    if (both) {
        argc--;
        argv++;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: msbench turns [--both-cpus] REPS FILE URL...\n");
        return 2;
    }
    int reps = (int)parse_u64(argv[0]);
    const char *path = argv[1];
    int nt = argc - 2;
    if (reps < 1 || reps > 100000 || nt > 16) {
        fprintf(stderr, "msbench: bad reps or too many URLs\n");
        return 2;
    }
    chunk = malloc(READ_CHUNK);
    double *s = calloc((size_t)reps * (size_t)(nt + 1), sizeof *s);
    target *t = calloc((size_t)nt, sizeof *t);
    if (!chunk || !s || !t)
        die("malloc");
    cpu_set_t all;
    int cpu[2], ncpu = both ? two_cpus(cpu, &all) : 0;
    double *per = calloc((size_t)reps * 2, sizeof *per);   /* per[2i + c]: turn i's read on cpu[c] */
    if (!per)
        die("malloc");
    CURL *h = new_handle();
    size_t file_bytes = read_whole(path);   /* warm-up, and the size */
    size_t bytes[16] = {0}, b;
    double us;
    bool ok = true;
    for (int u = 0; u < nt; u++) {
        parse_target(argv[u + 2], &t[u]);
        ok = ok && get(h, &t[u], &bytes[u], &us);   /* warm-up: opens the connection */
    }
    for (int i = 0; ok && i < reps; i++) {
        if (ncpu == 2) {
            s[i] = floor_both(path, cpu, &all, i, &per[2 * i]);
        } else {
            double t0 = now_us();
            read_whole(path);
            s[i] = now_us() - t0;
        }
        for (int u = 0; ok && u < nt; u++)
            ok = get(h, &t[u], &b, &s[(size_t)(u + 1) * (size_t)reps + (size_t)i]);
    }
    long conns = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    if (ok) {
        char extra[128];
        printf("{\n");
        snprintf(extra, sizeof extra, ", \"bytes\": %zu", file_bytes);
        print_samples("file", s, reps, extra);
        for (int c = 0; ncpu == 2 && c < 2; c++) {
            printf(",\n  \"file_on_cpu%d\": {\"samples_us\": [", cpu[c]);
            for (int i = 0; i < reps; i++)
                printf("%s%.1f", i ? ", " : "", per[2 * i + c]);
            printf("]}");
        }
        for (int u = 0; u < nt; u++) {
            snprintf(extra, sizeof extra, ", \"bytes\": %zu", bytes[u]);
            printf(",\n");
            print_samples(t[u].url, s + (size_t)(u + 1) * (size_t)reps, reps, extra);
        }
        printf("\n}\n");
    }
    curl_easy_cleanup(h);
    free(per);
    free(t);
    free(s);
    free(chunk);
    return ok ? 0 : 1;
}

static void add_bytes(const struct ms_page_region *r, void *ctx)
{
    *(uint64_t *)ctx += r->end - r->start;
}

/* The route's walk: present pages that are not the zero page, over [0, end).  Returns the
 * resident bytes, or -1 with errno (a kernel without PAGEMAP_SCAN). */
static int64_t rss_walk(int fd, uint64_t end)
{
    struct ms_pm_scan_arg q = {
        .category_mask = PAGE_IS_PRESENT | PAGE_IS_PFNZERO, .category_inverted = PAGE_IS_PFNZERO,
        .return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE,
    };
    uint64_t bytes = 0;
    return pm_scan(fd, 0, end, q, add_bytes, &bytes) < 0 ? -1 : (int64_t)bytes;
}

/* The end of the last region below the kernel's half, from maps: where the route's walk ends. */
static uint64_t user_top(const char *maps)
{
    FILE *f = fopen(maps, "r");
    if (!f)
        die(maps);
    char line[4096];
    uint64_t top = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx", &a, &b) == 2 && b <= (1ULL << 63) && b > top)
            top = b;
    }
    fclose(f);
    return top;
}

static int cmd_kernel(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: msbench kernel PID REPS\n");
        return 2;
    }
    uint64_t pid = parse_u64(argv[0]);
    int reps = (int)parse_u64(argv[1]);
    if (reps < 1 || reps > 100000)
        return 2;
    char maps[64], smaps[64], pagemap[64];
    snprintf(maps, sizeof maps, "/proc/%" PRIu64 "/maps", pid);
    snprintf(smaps, sizeof smaps, "/proc/%" PRIu64 "/smaps", pid);
    snprintf(pagemap, sizeof pagemap, "/proc/%" PRIu64 "/pagemap", pid);
    chunk = malloc(READ_CHUNK);
    cpu_set_t all;
    int cpu[2], ncpu = two_cpus(cpu, &all);
    double *s = calloc((size_t)reps * 6, sizeof *s);   /* [c][what][i]: what 0 maps, 1 scan, 2 smaps */
    if (!chunk || !s)
        die("malloc");
    uint64_t top = user_top(maps);
    int64_t rss = 0;
    int fd = open(pagemap, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(pagemap);
    if (rss_walk(fd, 0x1000) < 0) {   /* the route falls back on smaps then: nothing to time */
        printf("{\"unsupported\": \"PAGEMAP_SCAN: %s\"}\n", strerror(errno));
        close(fd);
        free(s);
        free(chunk);
        return 0;
    }
    for (int i = 0; i < reps; i++)
        for (int k = 0; k < ncpu; k++) {
            int c = (i + k) % ncpu;
            pin_self_to(cpu[c]);
            double t0 = now_us();
            read_whole(maps);
            double t1 = now_us();
            rss = rss_walk(fd, top);
            if (rss < 0)
                die("PAGEMAP_SCAN");
            double t2 = now_us();
            read_whole(smaps);
            double t3 = now_us();
            double *o = s + (size_t)c * 3 * (size_t)reps;
            o[i] = t1 - t0;
            o[reps + i] = t2 - t1;
            o[2 * reps + i] = t3 - t2;
        }
    pin_self(&all);
    close(fd);
    printf("{\n  \"scan_end\": %" PRIu64 ", \"resident_bytes\": %" PRId64, top, rss);
    static const char *what[3] = {"maps", "scan", "smaps"};
    for (int c = 0; c < ncpu; c++)
        for (int w = 0; w < 3; w++) {
            char name[32];
            snprintf(name, sizeof name, "%s_cpu%d", what[w], cpu[c]);
            printf(",\n");
            print_samples(name, s + ((size_t)c * 3 + (size_t)w) * (size_t)reps, reps, "");
        }
    printf("\n}\n");
    free(s);
    free(chunk);
    return 0;
}

static int cmd_load(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: msbench load N URL...\n");
        return 2;
    }
    uint64_t n = parse_u64(argv[0]);
    int nt = argc - 1;
    target *t = calloc((size_t)nt, sizeof *t);
    if (!t)
        die("calloc");
    for (int i = 0; i < nt; i++)
        parse_target(argv[i + 1], &t[i]);
    CURL *h = new_handle();
    uint64_t done = 0, failed = 0, bytes_total = 0;
    double t0 = now_us();
    for (uint64_t i = 0; i < n; i++) {
        size_t b;
        double us;
        if (get(h, &t[i % (uint64_t)nt], &b, &us))
            done++;
        else if (++failed >= 10)
            break;
        bytes_total += b;
    }
    double secs = (now_us() - t0) / 1e6;
    long conns = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    printf("{\"requests\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"seconds\": %.3f}\n",
           done, failed, bytes_total, secs);
    curl_easy_cleanup(h);
    free(t);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    page_size = (uint64_t)sysconf(_SC_PAGESIZE);
    if (argc < 2) {
        fprintf(stderr, "usage: msbench floor|http|load|turns|kernel ...\n");
        return 2;
    }
    if (!strcmp(argv[1], "floor"))
        return cmd_floor(argc - 2, argv + 2);
    if (!strcmp(argv[1], "kernel"))
        return cmd_kernel(argc - 2, argv + 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (!strcmp(argv[1], "http"))
        rc = cmd_http(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "load"))
        rc = cmd_load(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "turns"))
        rc = cmd_turns(argc - 2, argv + 2);
    else
        fprintf(stderr, "msbench: unknown command %s\n", argv[1]);
    curl_global_cleanup();
    return rc;
}
