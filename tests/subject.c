/* subject.c - memscope-subject: a process whose memory is known exactly, for tests and benchmarks.
 *
 * It builds what its options ask for, prints one JSON line on stdout describing where everything is,
 * then waits until its standard input closes (or SIGTERM), so the parent decides how long it lives.
 *
 *   --pages N --write K --read J   one anonymous private mapping of N pages (THP off for it): the
 *                                  first K pages written, the next J pages only read
 *   --regions R                    R extra one-page anonymous mappings that the kernel cannot merge
 *   --heap BYTES --heap-write BYTES --heap-read BYTES
 *                                  one big malloc (its own mapping), the first bytes written, the
 *                                  next bytes read
 *   --heap-noreserve 1             map the heap with mmap(MAP_NORESERVE) instead of malloc, so a
 *                                  range larger than RAM (a 32 GiB benchmark range on a 24 GiB
 *                                  machine) passes the kernel's overcommit heuristic
 *   --heap-scatter N               write N pages of the heap scattered over all of it instead of
 *                                  (or after) its first bytes: one page at a pseudo-random place in
 *                                  each of N equal slices, so the pages are distinct and a page map
 *                                  has up to 2N+1 runs ("heap_scattered" says how many were written)
 *   --file-dir DIR                 also maps files with awkward names made in DIR: one whose name
 *                                  has spaces, one deleted after mapping
 *   --map-file PATH                map an existing file (one page, read-only, private) as it is
 *                                  named; repeatable (up to 16), in order, addresses in "mapped_files"
 *   --shared N                     N pages of MAP_SHARED|MAP_ANONYMOUS memory, all written
 *   --exit-after MS                exit by itself after MS milliseconds (race tests)
 *   --thp BYTES                    one anonymous mapping of BYTES (rounded up to 2 MiB) aligned to
 *                                  2 MiB, madvise(MADV_HUGEPAGE), every page written: AnonHugePages
 *                                  > 0 when the kernel finds huge pages
 *   --hugetlb N                    N default-size huge pages of MAP_HUGETLB anonymous memory, all
 *                                  written (needs vm.nr_hugepages >= N)
 *   --memfd BYTES                  a memfd named "memscope shm" of BYTES, mapped shared, written
 *   --churn N                      reserve N pages (PROT_NONE) and, after the JSON line, keep
 *                                  remapping, protecting, touching and dropping pieces of them in a
 *                                  tight loop until stdin closes: maps that change under a reader
 *                                  (race tests; "churn" is the span's start)
 *   --wss BYTES --wss-touch T --wss-idle I
 *                                  a BYTES anonymous mapping (THP off for it), all written, whose
 *                                  first T bytes are read again and again after the JSON line (until
 *                                  stdin closes), and an I-byte mapping written once and never
 *                                  touched again: a working set of exactly T in the first ("wss"),
 *                                  none in the second ("wss_idle")
 *   --wss-spin 1                   no pause between those passes: the CPU keeps the pages'
 *                                  translations in its TLB, where clearing an accessed bit without a
 *                                  TLB flush leaves it clear however often the page is read
 *   --exec-after MS                after MS milliseconds exec itself anew (--exit-after 50): the
 *                                  same pid gets a new address space, then goes away
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "memscope-subject: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t arg_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        die("bad number");
    switch (*end) {
    case 'K': case 'k': v <<= 10; break;
    case 'M': v <<= 20; break;
    case 'G': v <<= 30; break;
    case '\0': break;
    default: errno = EINVAL; die("bad unit");
    }
    return v;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

/* When touch_loop's passes began and ended (CLOCK_MONOTONIC ns), pass i at [i % 256], and how many
 * there were: a reader of /proc/PID/mem (the address is "passes" in the JSON line) can tell whether
 * a whole pass fell inside its interval on a machine too busy to promise one. */
struct pass_log {
    uint64_t count;
    uint64_t at[256][2];
};
static volatile struct pass_log touch_passes;

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Reads one byte of every page of [at, at + bytes) over and over, a pass every ~2 ms (or none
 * between passes when spinning), until stdin closes or SIGTERM: those pages stay referenced, and
 * nothing else is touched. */
static void touch_loop(volatile unsigned char *at, uint64_t bytes, long ps, bool spin)
{
    unsigned sum = 0;
    while (!stop) {
        uint64_t n = touch_passes.count, t0 = mono_ns();
        for (uint64_t i = 0; i < bytes; i += (uint64_t)ps)
            sum += at[i];
        touch_passes.at[n % 256][0] = t0;
        touch_passes.at[n % 256][1] = mono_ns();
        touch_passes.count = n + 1;
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, spin ? 0 : 2) > 0) {
            char c;
            if (read(0, &c, 1) <= 0)
                break;
        }
    }
    (void)sum;
}

/* Changes the span's mappings until stdin closes or SIGTERM.  Every change stays inside the span
 * (MAP_FIXED over our own reservation; "unmapping" maps PROT_NONE back), so nothing else this
 * process maps - a sanitizer's own mappings included - is ever clobbered. */
static void churn_loop(unsigned char *span, uint64_t npages, long ps)
{
    unsigned char *prot = calloc(npages, 1);   /* 0 none, 1 read, 2 read+write */
    uint64_t x = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
    for (uint64_t iter = 0; !stop && prot; iter++) {
        if ((iter & 63) == 0) {
            struct pollfd p = {.fd = 0, .events = POLLIN};
            if (poll(&p, 1, 0) > 0) {
                char c;
                if (read(0, &c, 1) <= 0)
                    break;
            }
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t i = (x >> 8) % npages, len = 1 + (x >> 24) % 16;
        if (i + len > npages)
            len = npages - i;
        unsigned char *at = span + i * (uint64_t)ps;
        size_t bytes = len * (size_t)ps;
        switch ((x >> 40) % 5) {
        case 0:   /* a fresh mapping, its first page written */
            if (mmap(at, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
                memset(prot + i, 2, len);
                at[0] = 1;
            }
            break;
        case 1:   /* dropped: back to reserved, no access */
            if (mmap(at, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) != MAP_FAILED)
                memset(prot + i, 0, len);
            break;
        case 2:   /* split a VMA by protection */
            if (mprotect(at, bytes, PROT_READ) == 0)
                memset(prot + i, 1, len);
            break;
        case 3:   /* touch what may be touched: writes make frames, reads map the zero page */
            for (uint64_t k = 0; k < len; k++) {
                if (prot[i + k] == 2)
                    at[k * (uint64_t)ps] = (unsigned char)k;
                else if (prot[i + k] == 1)
                    (void)*(volatile unsigned char *)(at + k * (uint64_t)ps);
            }
            break;
        default:  /* give frames back */
            madvise(at, bytes, MADV_DONTNEED);
            break;
        }
    }
    free(prot);
}

/* Writes n of the npages pages at base, one at a fixed pseudo-random place in each of n equal slices
 * (a 64-bit LCG, so every run places them alike): scattered residency whose page count is exact. */
static void scatter(unsigned char *base, uint64_t npages, uint64_t n, uint64_t ps)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t lo = npages * i / n, hi = npages * (i + 1) / n;
        x = x * 6364136223846793005u + 1442695040888963407u;
        base[(lo + (x >> 33) % (hi - lo)) * ps] = 1;
    }
}

int main(int argc, char **argv)
{
    uint64_t pages = 0, wpages = 0, rpages = 0, regions = 0, shared = 0;
    uint64_t heap = 0, heap_w = 0, heap_r = 0, exit_after = 0, thp = 0, hugetlb = 0, memfd = 0;
    uint64_t churn = 0, exec_after = 0, wss = 0, wss_touch = 0, wss_idle = 0;
    uint64_t heap_noreserve = 0, heap_scatter = 0, wss_spin = 0;
    const char *file_dir = NULL;
    const char *map_files[16];
    int nmap_files = 0;
    long ps = sysconf(_SC_PAGESIZE);

    for (int i = 1; i < argc; i += 2) {     /* every option takes one value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "memscope-subject: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--pages")) pages = arg_size(v);
        else if (!strcmp(a, "--write")) wpages = arg_size(v);
        else if (!strcmp(a, "--read")) rpages = arg_size(v);
        else if (!strcmp(a, "--regions")) regions = arg_size(v);
        else if (!strcmp(a, "--heap")) heap = arg_size(v);
        else if (!strcmp(a, "--heap-write")) heap_w = arg_size(v);
        else if (!strcmp(a, "--heap-read")) heap_r = arg_size(v);
        else if (!strcmp(a, "--heap-noreserve")) heap_noreserve = arg_size(v);
        else if (!strcmp(a, "--heap-scatter")) heap_scatter = arg_size(v);
        else if (!strcmp(a, "--shared")) shared = arg_size(v);
        else if (!strcmp(a, "--file-dir")) file_dir = v;
        else if (!strcmp(a, "--map-file") && nmap_files < 16) map_files[nmap_files++] = v;
        else if (!strcmp(a, "--exit-after")) exit_after = arg_size(v);
        else if (!strcmp(a, "--thp")) thp = arg_size(v);
        else if (!strcmp(a, "--hugetlb")) hugetlb = arg_size(v);
        else if (!strcmp(a, "--memfd")) memfd = arg_size(v);
        else if (!strcmp(a, "--churn")) churn = arg_size(v);
        else if (!strcmp(a, "--exec-after")) exec_after = arg_size(v);
        else if (!strcmp(a, "--wss")) wss = arg_size(v);
        else if (!strcmp(a, "--wss-touch")) wss_touch = arg_size(v);
        else if (!strcmp(a, "--wss-idle")) wss_idle = arg_size(v);
        else if (!strcmp(a, "--wss-spin")) wss_spin = arg_size(v);
        else { fprintf(stderr, "memscope-subject: unknown option %s\n", a); return 2; }
    }
    if (wpages + rpages > pages || heap_w + heap_r > heap || wss_touch > wss || heap_scatter > heap / (uint64_t)ps) {
        fprintf(stderr, "memscope-subject: more touched than mapped\n");
        return 2;
    }

    unsigned char *area = NULL;
    volatile unsigned sink = 0;
    if (pages) {
        area = mmap(NULL, pages * (uint64_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) die("mmap");
        /* Exact page counts need 4 KiB pages: one THP fault would make 512 pages present. */
        madvise(area, pages * (uint64_t)ps, MADV_NOHUGEPAGE);
        for (uint64_t i = 0; i < wpages; i++) area[i * (uint64_t)ps] = 1;
        for (uint64_t i = wpages; i < wpages + rpages; i++) sink += area[i * (uint64_t)ps];
    }

    /* Alternating protections keep neighbouring mappings from merging into one VMA; a gap page
     * between them would work too but doubles the address span. */
    uint64_t made = 0;
    for (; made < regions; made++) {
        int prot = (made & 1) ? PROT_READ : PROT_READ | PROT_WRITE;
        void *p = mmap(NULL, (size_t)ps, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) die("mmap regions");
    }

    unsigned char *h = NULL;
    if (heap) {
        if (heap_noreserve) {
            void *m = mmap(NULL, heap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) die("mmap heap");
            h = m;
        } else {
            h = malloc(heap);
            if (!h) die("malloc");
        }
        madvise((void *)((uintptr_t)h & ~(uintptr_t)(ps - 1)), heap, MADV_NOHUGEPAGE);
        for (uint64_t i = 0; i < heap_w; i += (uint64_t)ps) h[i] = 1;
        for (uint64_t i = heap_w; i < heap_w + heap_r; i += (uint64_t)ps) sink += h[i];
        scatter(h, heap / (uint64_t)ps, heap_scatter, (uint64_t)ps);
    }

    unsigned char *sh = NULL;
    if (shared) {
        sh = mmap(NULL, shared * (uint64_t)ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED) die("mmap shared");
        for (uint64_t i = 0; i < shared; i++) sh[i * (uint64_t)ps] = 1;
    }

    unsigned char *thp_at = NULL;
    if (thp) {
        const uint64_t huge = 2u << 20;
        thp = (thp + huge - 1) & ~(huge - 1);
        /* Over-map by one huge page and trim, so the region starts on a 2 MiB boundary. */
        unsigned char *raw = mmap(NULL, thp + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED) die("mmap thp");
        thp_at = (unsigned char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
        if (thp_at > raw) munmap(raw, (size_t)(thp_at - raw));
        if (raw + thp + huge > thp_at + thp) munmap(thp_at + thp, (size_t)(raw + thp + huge - (thp_at + thp)));
        if (madvise(thp_at, thp, MADV_HUGEPAGE) < 0) die("madvise hugepage");
        for (uint64_t i = 0; i < thp; i += (uint64_t)ps) thp_at[i] = 1;
    }

    unsigned char *htlb = NULL;
    if (hugetlb) {
        long hps = 2L << 20;
        htlb = mmap(NULL, hugetlb * (uint64_t)hps, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (htlb == MAP_FAILED) die("mmap hugetlb (is vm.nr_hugepages set?)");
        for (uint64_t i = 0; i < hugetlb; i++) htlb[i * (uint64_t)hps] = 1;
    }

    unsigned char *mfd = NULL;
    if (memfd) {
        int fd = memfd_create("memscope shm", MFD_CLOEXEC);
        if (fd < 0) die("memfd_create");
        if (ftruncate(fd, (off_t)memfd) < 0) die("ftruncate memfd");
        mfd = mmap(NULL, memfd, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mfd == MAP_FAILED) die("mmap memfd");
        close(fd);
        for (uint64_t i = 0; i < memfd; i += (uint64_t)ps) mfd[i] = 1;
    }

    unsigned char *churn_at = NULL;
    if (churn) {
        churn_at = mmap(NULL, churn * (uint64_t)ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (churn_at == MAP_FAILED) die("mmap churn");
    }

    unsigned char *wss_at = NULL, *idle_at = NULL;
    unsigned char **wss_maps[2] = {&wss_at, &idle_at};
    uint64_t wss_sizes[2] = {wss, wss_idle};
    for (int k = 0; k < 2; k++) {
        if (!wss_sizes[k])
            continue;
        unsigned char *m = mmap(NULL, wss_sizes[k], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) die("mmap wss");
        madvise(m, wss_sizes[k], MADV_NOHUGEPAGE);   /* bytes, not 2 MiB steps, are what is counted */
        for (uint64_t i = 0; i < wss_sizes[k]; i += (uint64_t)ps) m[i] = 1;
        /* read-only from now on: it cannot merge with the other, which has the same flags */
        if (k == 1 && mprotect(m, wss_sizes[k], PROT_READ) < 0) die("mprotect wss idle");
        *wss_maps[k] = m;
    }

    char spaced[4096] = "", deleted[4096] = "";
    void *spaced_at = NULL, *deleted_at = NULL;
    if (file_dir) {
        snprintf(spaced, sizeof spaced, "%s/a file with spaces.bin", file_dir);
        snprintf(deleted, sizeof deleted, "%s/deleted-later.bin", file_dir);
        const char *names[2] = {spaced, deleted};
        void **at[2] = {&spaced_at, &deleted_at};
        for (int k = 0; k < 2; k++) {
            int fd = open(names[k], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0) die("open file");
            if (ftruncate(fd, 2 * ps) < 0) die("ftruncate");
            *at[k] = mmap(NULL, 2 * (size_t)ps, PROT_READ, MAP_PRIVATE, fd, 0);
            if (*at[k] == MAP_FAILED) die("mmap file");
            close(fd);
        }
        unlink(deleted);
    }

    void *mapped_at[16];
    for (int k = 0; k < nmap_files; k++) {
        int fd = open(map_files[k], O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("open --map-file");
        mapped_at[k] = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapped_at[k] == MAP_FAILED) die("mmap --map-file");
        close(fd);
    }

    /* Handlers first: installing them after the line would fault in more pages behind the
     * reader's back. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    printf("{\"mapped_files\":[");
    for (int k = 0; k < nmap_files; k++)
        printf("%s\"%p\"", k ? "," : "", mapped_at[k]);
    printf("],");
    printf("\"pid\":%d,\"page_size\":%ld,\"area\":\"%p\",\"pages\":%llu,\"written\":%llu,\"read\":%llu,"
           "\"regions\":%llu,\"heap\":\"%p\",\"heap_size\":%llu,\"shared\":\"%p\",\"shared_pages\":%llu,"
           "\"spaced_file\":\"%p\",\"deleted_file\":\"%p\",\"thp\":\"%p\",\"thp_size\":%llu,"
           "\"hugetlb\":\"%p\",\"hugetlb_pages\":%llu,\"memfd\":\"%p\",\"memfd_size\":%llu,\"churn\":\"%p\",\"churn_pages\":%llu,\"wss\":\"%p\",\"wss_idle\":\"%p\",\"passes\":\"%p\",\"heap_scattered\":%llu,\"sink\":%u}\n",
           (int)getpid(), ps, (void *)area, (unsigned long long)pages, (unsigned long long)wpages,
           (unsigned long long)rpages, (unsigned long long)made, (void *)h, (unsigned long long)heap,
           (void *)sh, (unsigned long long)shared, spaced_at, deleted_at, (void *)thp_at,
           (unsigned long long)thp, (void *)htlb, (unsigned long long)hugetlb, (void *)mfd,
           (unsigned long long)memfd, (void *)churn_at, (unsigned long long)churn, (void *)wss_at, (void *)idle_at, (void *)&touch_passes, (unsigned long long)heap_scatter, sink);
    fflush(stdout);

    if (churn) {
        churn_loop(churn_at, churn, ps);
        return 0;
    }
    if (wss_touch) {
        touch_loop(wss_at, wss_touch, ps, wss_spin != 0);
        return 0;
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char c;
    for (;;) {
        if (stop)
            break;
        if (exec_after) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            uint64_t ms = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 + (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000000);
            if (ms >= exec_after) {
                /* the reader of our first line may be gone: the new image must not die writing its own */
                signal(SIGPIPE, SIG_IGN);
                const char *nargv[] = {argv[0], "--pages", "8", "--write", "2", "--exit-after", "50", NULL};
                execv("/proc/self/exe", (char *const *)nargv);
                die("exec");
            }
            usleep(1000);
            continue;
        }
        if (exit_after) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            uint64_t ms = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 + (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000000);
            if (ms >= exit_after)
                break;
            usleep(1000);
            continue;
        }
        ssize_t n = read(0, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    return 0;
}
