/* main.c - memscope-lab: runs one experiment in its own, fresh address space and reports each step.
 *
 * memscoped never runs an experiment in its own multi-threaded process: it execs this program, hands
 * it a spec, and reads what it prints.  After every step one JSON line goes to stdout: what the step
 * did, how long it took, where the address landed (heap or a mapping of its own, and the program
 * break before and after), the status figures and their change across the step, the faults it took,
 * the block's region from smaps and the page-level truth of its range from pagemap.  The figures are
 * read immediately before and after the operation, so the lab's own bookkeeping (building the JSON,
 * reading smaps) is not charged to the step.  Output is newline-delimited JSON; each line is written
 * with one write() so a fork child and its parent never interleave.  See --help for the line types. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/experiment.h"
#include "core/maps.h"
#include "core/num.h"
#include "core/pagemap.h"
#include "core/smaps.h"
#include "core/status.h"
#include "spec.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#if defined(__SANITIZE_ADDRESS__)
#define LAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAB_ASAN 1
#endif
#endif
#ifndef LAB_ASAN
#define LAB_ASAN 0
#endif

#define HPAGE (2ULL << 20)
/* The budget holds on what the lab really has: its address space may grow by at most the budget
 * plus LAB_SLACK since the first step (RLIMIT_AS, so the kernel refuses more), and after every step
 * its VmSize and VmRSS growth are checked against the same.  The slack is the lab's own bookkeeping
 * while it reports (smaps and pagemap buffers, JSON) and one huge page of alignment room. */
#define LAB_SLACK (16ULL << 20)
#define EXIT_BUDGET 4                  /* the exit code of a lab that stopped at its budget */

/* --- process-wide state: this is a small single-purpose program, not core --- */
static uint64_t g_page;
static int g_procfd = -1;              /* /proc/self as a directory: reopened in a fork child */
static volatile sig_atomic_t g_term;   /* SIGTERM: stop after the current step, skip the hold */
static volatile sig_atomic_t g_step = -1;

typedef enum { BLK_MALLOC, BLK_MMAP, BLK_SBRK } blk_kind;
typedef struct {
    char name[MS_EXP_NAME_MAX];
    uint64_t addr, size;
    blk_kind kind;
    bool live;
} block;

static block *g_blocks;
static size_t g_nblocks;

/* --- output --- */

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);    /* nobody reads us any more: no point going on */
        p += w;
        n -= (size_t)w;
    }
}

/* One line, one write(): takes ownership of o. */
static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        _exit(3);
    size_t n = strlen(s);
    s[n] = '\n';         /* json_dumps leaves the NUL; replace it, then write n+1 bytes */
    write_all(s, n + 1);
    free(s);
}

static json_t *hexj(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return json_string(b);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- measurement --- */

typedef struct {
    bool ok;
    uint64_t v[MS_STATUS_NVMRSS];   /* the Vm and Rss figures: the head of ms_status_mem_fields */
    uint64_t minflt, majflt;
    uint64_t brk;
} measure;

/* One status reader for the lab's whole life, its buffers grown on the first read: a measurement
 * must not allocate, or the heap it grows (brk moves by malloc's 128 KiB top pad) shows up in the
 * very step it measures. */
static ms_status g_status;
static bool g_status_ready;

static void take(measure *m)
{
    ms_status *st = &g_status;
    struct rusage ru;
    if (!g_status_ready) {
        ms_status_init(st);
        g_status_ready = true;
        (void)ms_status_read(g_procfd, st);   /* warm-up: sizes the buffers */
    }
    m->ok = ms_status_read(g_procfd, st) == MS_OK && st->has_mem;
    for (size_t i = 0; i < MS_STATUS_NVMRSS; i++)
        m->v[i] = m->ok ? ms_status_mem(st, i) : 0;
    getrusage(RUSAGE_SELF, &ru);
    m->minflt = (uint64_t)ru.ru_minflt;
    m->majflt = (uint64_t)ru.ru_majflt;
    m->brk = (uint64_t)(uintptr_t)sbrk(0);
}

static json_t *status_json(const measure *m)
{
    json_t *o = json_object();
    for (size_t i = 0; i < MS_STATUS_NVMRSS; i++)
        json_object_set_new(o, ms_status_mem_fields[i].name, json_integer((json_int_t)m->v[i]));
    return o;
}

static json_t *delta_json(const measure *a, const measure *b)
{
    json_t *o = json_object();
    for (size_t i = 0; i < MS_STATUS_NVMRSS; i++)
        json_object_set_new(o, ms_status_mem_fields[i].name, json_integer((json_int_t)(b->v[i] - a->v[i])));
    return o;
}

static const ms_smaps_field_id region_fields[] = {
    MS_SF_RSS, MS_SF_PSS, MS_SF_SHARED_CLEAN, MS_SF_SHARED_DIRTY, MS_SF_PRIVATE_CLEAN,
    MS_SF_PRIVATE_DIRTY, MS_SF_REFERENCED, MS_SF_ANONYMOUS, MS_SF_LAZYFREE, MS_SF_ANON_HUGE_PAGES,
    MS_SF_SWAP, MS_SF_LOCKED,
};

static json_t *region_json(const ms_smaps *sm, const ms_region *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "start", hexj(r->start));
    json_object_set_new(o, "end", hexj(r->end));
    json_object_set_new(o, "size", json_integer((json_int_t)(r->end - r->start)));
    json_object_set_new(o, "perms", json_string(r->perms));
    json_object_set_new(o, "path", json_stringn(r->path ? r->path : "", r->path ? r->path_len : 0));
    json_object_set_new(o, "kind", json_string(ms_region_kind_name(r->kind)));
    size_t nf;
    const ms_smaps_field *fs = ms_smaps_fields_of(sm, r, &nf);
    for (size_t k = 0; k < sizeof region_fields / sizeof region_fields[0]; k++) {
        for (size_t f = 0; f < nf; f++) {
            if (fs[f].id == (int16_t)region_fields[k] && fs[f].is_number) {
                json_object_set_new(o, ms_smaps_field_name(region_fields[k]), json_integer((json_int_t)fs[f].value));
                break;
            }
        }
    }
    const ms_smaps_extra *x = ms_smaps_extra_of(sm, r);
    if (x->vmflags)
        json_object_set_new(o, "vmflags", json_stringn(x->vmflags, x->vmflags_len));
    return o;
}

static uint64_t pfloor(uint64_t a) { return a & ~(g_page - 1); }
static uint64_t pceil(uint64_t a) { return (a + g_page - 1) & ~(g_page - 1); }

/* Region and page-level facts about [addr, addr+size) after a step; adds "region", "placement"
 * and "pages" to line.  A block that is no longer mapped says so ("region": null). */
static void describe_block(json_t *line, uint64_t addr, uint64_t size, bool want_placement)
{
    ms_smaps sm;
    ms_smaps_init(&sm);
    ms_err rc = ms_smaps_read(g_procfd, &sm);
    if (rc != MS_OK) {
        json_object_set_new(line, "region_error", json_string(ms_strerror(rc)));
        goto out;
    }
    long idx = ms_maps_find(sm.maps.regions, sm.maps.nregions, addr);
    if (idx < 0) {
        json_object_set_new(line, "region", json_null());
        if (want_placement)
            json_object_set_new(line, "placement", json_string("unmapped"));
        goto out;
    }
    const ms_region *r = &sm.maps.regions[idx];
    json_object_set_new(line, "region", region_json(&sm, r));
    if (want_placement) {
        bool heap = r->kind == MS_KIND_HEAP;
        json_object_set_new(line, "placement", json_string(heap ? "heap" : "mapping"));
    }
    /* the page range: the block's pages, as far as mapped regions cover them without a hole */
    uint64_t start = pfloor(addr), end = pceil(addr + (size ? size : 1)), covered = r->end;
    for (size_t j = (size_t)idx + 1; j < sm.maps.nregions && covered < end; j++) {
        if (sm.maps.regions[j].start != covered)
            break;
        covered = sm.maps.regions[j].end;
    }
    if (end > covered)
        end = covered;
    ms_pm_summary pm;
    ms_pm_opts po = { .method = MS_PM_AUTO, .max_runs = 0 };
    memset(&pm, 0, sizeof pm);
    rc = ms_pm_summarize(g_procfd, start, end, &po, &pm);
    if (rc != MS_OK) {
        json_object_set_new(line, "pages_error", json_string(ms_strerror(rc)));
        goto out;
    }
    json_t *p = json_object();
    json_object_set_new(p, "start", hexj(start));
    json_object_set_new(p, "end", hexj(end));
    json_object_set_new(p, "method", json_string(pm.used == MS_PM_SCAN ? "scan" : "pread"));
    json_object_set_new(p, "pages", json_integer((json_int_t)pm.pages));
    json_object_set_new(p, "present", json_integer((json_int_t)pm.present));
    json_object_set_new(p, "swapped", json_integer((json_int_t)pm.swapped));
    json_object_set_new(p, "zero_page", pm.has_zero_page ? json_integer((json_int_t)pm.zero_page) : json_null());
    json_object_set_new(p, "huge", pm.has_huge ? json_integer((json_int_t)pm.huge) : json_null());
    json_object_set_new(p, "file_or_shared", json_integer((json_int_t)pm.file_or_shared));
    json_object_set_new(p, "exclusive", pm.has_exclusive ? json_integer((json_int_t)pm.exclusive) : json_null());
    json_object_set_new(line, "pages", p);
    ms_pm_summary_free(&pm);
out:
    ms_smaps_free(&sm);
}

/* --- blocks (named results) --- */

static block *find_block(const char *name)
{
    for (size_t i = g_nblocks; i-- > 0;)
        if (g_blocks[i].live && strcmp(g_blocks[i].name, name) == 0)
            return &g_blocks[i];
    return NULL;
}

static void bind_block(const char *name, uint64_t addr, uint64_t size, blk_kind kind)
{
    block *b = &g_blocks[g_nblocks++];   /* capacity: one per step, allocated up front */
    snprintf(b->name, sizeof b->name, "%s", name);
    b->addr = addr;
    b->size = size;
    b->kind = kind;
    b->live = true;
}

/* The byte range [*start, *start + *len) a step's part selects in block b. */
static void part_range(const ms_exp_step *st, const block *b, uint64_t *start, uint64_t *len)
{
    uint64_t off = st->offset < b->size ? st->offset : b->size, room = b->size - off;
    switch (st->part) {
    case MS_EXP_PART_ALL: *len = room; break;
    case MS_EXP_PART_FRACTION: *len = (uint64_t)((double)room * st->fraction); break;
    case MS_EXP_PART_PAGES: *len = st->pages * g_page < room ? st->pages * g_page : room; break;
    case MS_EXP_PART_LENGTH: *len = st->length < room ? st->length : room; break;
    }
    *start = b->addr + off;
}

/* --- touching --- */

static void progress(long step, uint64_t done, uint64_t total, uint64_t t0)
{
    char line[200];
    int n = snprintf(line, sizeof line,
                     "{\"type\":\"progress\",\"step\":%ld,\"done_bytes\":%llu,\"total_bytes\":%llu,\"elapsed_ns\":%llu}\n",
                     step, (unsigned long long)done, (unsigned long long)total,
                     (unsigned long long)(now_ns() - t0));
    if (n > 0 && (size_t)n < sizeof line)
        write_all(line, (size_t)n);   /* no heap use: a progress line must not fault pages in the step */
}

/* One byte in each of the ceil(len/page) pages from start, so n touches are n distinct pages and
 * every byte touched lies inside the block. */
static uint64_t do_touch(long step, uint64_t start, uint64_t len, ms_exp_touch_mode mode, ms_exp_order order,
                         uint64_t stride, uint64_t seed)
{
    uint64_t n = (len + g_page - 1) / g_page, done = 0, t0 = now_ns(), last = t0;
    volatile unsigned char *base = (volatile unsigned char *)(uintptr_t)start;
    unsigned sink = 0;
    uint64_t m = 1, x = 0, lcg_c = seed * 2 + 1;
    if (order == MS_EXP_ORDER_RANDOM) {
        while (m < n)
            m <<= 1;
        x = seed & (m - 1);
    }
    uint64_t r = 0, k = 0;
    for (uint64_t visited = 0; done < n && !g_term; visited++) {
        uint64_t idx;
        if (order == MS_EXP_ORDER_SEQUENTIAL) {
            idx = done;
        } else if (order == MS_EXP_ORDER_STRIDED) {
            if (k >= n) {
                r++;
                k = r;
            }
            idx = k;
            k += stride;
        } else {
            /* a full-period LCG modulo a power of two visits every index below m once; skip >= n */
            x = (x * 6364136223846793005ULL + lcg_c) & (m - 1);
            if (x >= n)
                continue;
            idx = x;
        }
        if (mode == MS_EXP_TOUCH_WRITE)
            base[idx * g_page] = (unsigned char)(idx | 1);
        else
            sink += base[idx * g_page];
        done++;
        if ((done & 0xffff) == 0 && n * g_page >= (64ULL << 20)) {
            uint64_t t = now_ns();
            if (t - last >= 250000000ULL) {
                progress(step, done * g_page, n * g_page, t0);
                last = t;
            }
        }
        (void)visited;
    }
    (void)sink;
    return done;
}

/* --- signals --- */

static char g_altstack[64 * 1024];

static size_t put_hex(char *p, uint64_t v)
{
    static const char d[] = "0123456789abcdef";
    char t[16];
    size_t n = 0, o = 0;
    do {
        t[n++] = d[v & 15];
        v >>= 4;
    } while (v);
    p[o++] = '0';
    p[o++] = 'x';
    while (n)
        p[o++] = t[--n];
    return o;
}

static size_t put_dec(char *p, long v)
{
    char t[24];
    size_t n = 0, o = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    if (v < 0)
        p[o++] = '-';
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        p[o++] = t[--n];
    return o;
}

static size_t put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

/* Async-signal-safe: fixed buffer, write(), no stdio or malloc.  Restores the default action and
 * returns: the faulting instruction runs again and the kernel kills us with the real signal, so
 * the parent sees "killed by SIGSEGV" exactly as for any crash. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
    char b[256];
    size_t o = 0;
    (void)uc;
    o += put_str(b + o, "{\"type\":\"signal\",\"step\":");
    o += put_dec(b + o, (long)g_step);
    o += put_str(b + o, sig == SIGSEGV ? ",\"signal\":\"SIGSEGV\"" : ",\"signal\":\"SIGBUS\"");
    o += put_str(b + o, ",\"signo\":");
    o += put_dec(b + o, sig);
    o += put_str(b + o, ",\"code\":\"");
    o += put_str(b + o, sig == SIGSEGV && si->si_code == SEGV_MAPERR ? "SEGV_MAPERR" :
                        sig == SIGSEGV && si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
    o += put_str(b + o, "\",\"addr\":\"");
    o += put_hex(b + o, (uint64_t)(uintptr_t)si->si_addr);
    o += put_str(b + o, "\",\"pid\":");
    o += put_dec(b + o, (long)getpid());
    o += put_str(b + o, "}\n");
    ssize_t w = write(STDOUT_FILENO, b, o);
    (void)w;
    signal(sig, SIG_DFL);
    if (si->si_code <= 0)     /* sent by kill(), not a fault: nothing will re-run, so raise it */
        raise(sig);
}

static void on_term(int sig)
{
    (void)sig;
    g_term = 1;
}

static void install_signals(void)
{
    stack_t ss = { .ss_sp = g_altstack, .ss_size = sizeof g_altstack, .ss_flags = 0 };
    struct sigaction sa;
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;      /* no SA_RESTART: a sleep or the hold's poll wakes up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* --- steps --- */

static int madv_of(ms_exp_advice a)
{
    switch (a) {
    case MS_EXP_ADV_DONTNEED: return MADV_DONTNEED;
    case MS_EXP_ADV_FREE: return MADV_FREE;
    case MS_EXP_ADV_PAGEOUT: return MADV_PAGEOUT;
    case MS_EXP_ADV_COLD: return MADV_COLD;
    case MS_EXP_ADV_WILLNEED: return MADV_WILLNEED;
    case MS_EXP_ADV_HUGEPAGE: return MADV_HUGEPAGE;
    case MS_EXP_ADV_NOHUGEPAGE: return MADV_NOHUGEPAGE;
    default: return -1;
    }
}

/* Advice that throws data away must not reach past the block into a neighbour's bytes (heap
 * blocks share pages with malloc's own headers): only whole pages inside the block get it. */
static bool destructive(ms_exp_advice a)
{
    return a == MS_EXP_ADV_DONTNEED || a == MS_EXP_ADV_FREE;
}

typedef struct {
    int err;                 /* errno of the failed call, 0 on success */
    const char *why;         /* a failure that has no errno */
    uint64_t addr, size;     /* the block this step concerns, for region and pages */
    bool has_block, placement;
    pid_t child;             /* fork: alive until the parent has measured */
    int go_fd;
    json_t *extra;           /* op-specific facts */
} outcome;

/* A mapping aligned to 2 MiB, so a huge page can back its first 2 MiB (a THP needs an aligned
 * 2 MiB inside one VMA). */
static void *mmap_aligned(uint64_t size, int prot, int flags)
{
    uint64_t len = size + HPAGE;
    unsigned char *p = mmap(NULL, len, prot, flags, -1, 0);
    if (p == MAP_FAILED)
        return p;
    uint64_t a = ((uint64_t)(uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1);
    uint64_t head = a - (uint64_t)(uintptr_t)p, tail = len - head - pceil(size);
    if (head)
        munmap(p, head);
    if (tail)
        munmap((unsigned char *)(uintptr_t)(a + pceil(size)), tail);
    return (void *)(uintptr_t)a;
}

static void run_fork_child(long i, uint64_t start, uint64_t len, int ready_w, int go_r)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(g_procfd);
    g_procfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    measure a, b;
    take(&a);
    uint64_t t0 = now_ns();
    uint64_t n = do_touch(i, start, len, MS_EXP_TOUCH_WRITE, MS_EXP_ORDER_SEQUENTIAL, 1, 0);
    uint64_t t1 = now_ns();
    take(&b);
    json_t *line = json_object();
    json_object_set_new(line, "type", json_string("child"));
    json_object_set_new(line, "step", json_integer(i));
    json_object_set_new(line, "pid", json_integer(getpid()));
    json_object_set_new(line, "ppid", json_integer(getppid()));
    json_object_set_new(line, "wrote_pages", json_integer((json_int_t)n));
    json_object_set_new(line, "range", json_pack("{s:o,s:I}", "start", hexj(start), "length", (json_int_t)len));
    json_object_set_new(line, "duration_ns", json_integer((json_int_t)(t1 - t0)));
    json_object_set_new(line, "status", status_json(&b));
    json_object_set_new(line, "delta", delta_json(&a, &b));
    json_object_set_new(line, "faults", json_pack("{s:I,s:I}", "minor", (json_int_t)(b.minflt - a.minflt),
                                                 "major", (json_int_t)(b.majflt - a.majflt)));
    describe_block(line, start, len, false);
    emit(line);
    char c = 1;
    if (write(ready_w, &c, 1) != 1)
        _exit(4);
    while (read(go_r, &c, 1) < 0 && errno == EINTR)   /* EOF when the parent has measured */
        ;
    _exit(0);
}

static void run_step(long i, const ms_exp_step *st, outcome *oc)
{
    block *b = st->ptr[0] ? find_block(st->ptr) : NULL;
    uint64_t start = 0, len = 0;
    memset(oc, 0, sizeof *oc);
    oc->go_fd = -1;
    oc->extra = json_object();
    if (st->ptr[0] && !b) {
        oc->why = "the named block is not available (the step that made it failed)";
        return;
    }
    if (b) {
        part_range(st, b, &start, &len);
        oc->addr = b->addr;
        oc->size = b->size;
        oc->has_block = true;
    }
    errno = 0;
    switch (st->op) {
    case MS_EXP_OP_MALLOC: case MS_EXP_OP_CALLOC: case MS_EXP_OP_REALLOC: {
        void *p;
        uint64_t sz = st->op == MS_EXP_OP_CALLOC ? st->size * st->count : st->size;
        if (st->op == MS_EXP_OP_MALLOC)
            p = malloc(st->size);
        else if (st->op == MS_EXP_OP_CALLOC)
            p = calloc(st->count, st->size);
        else
            p = realloc((void *)(uintptr_t)b->addr, st->size);
        if (!p) {
            oc->err = errno ? errno : ENOMEM;
            return;
        }
        if (b) {
            b->live = false;    /* realloc: the old block is gone; the name follows the new one */
            bind_block(b->name, (uint64_t)(uintptr_t)p, sz, BLK_MALLOC);
        }
        if (st->as[0] && !(b && strcmp(st->as, b->name) == 0))
            bind_block(st->as, (uint64_t)(uintptr_t)p, sz, BLK_MALLOC);
        oc->addr = (uint64_t)(uintptr_t)p;
        oc->size = sz;
        oc->has_block = oc->placement = true;
        return;
    }
    case MS_EXP_OP_FREE:
        if (b->kind != BLK_MALLOC) {
            oc->why = "free() is for malloc'd blocks; use munmap for a mapping";
            return;
        }
        free((void *)(uintptr_t)b->addr);
        b->live = false;
        oc->placement = true;
        return;
    case MS_EXP_OP_MMAP: {
        int prot = PROT_READ | PROT_WRITE;
        int flags = (st->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
        void *p;
        if (st->huge == MS_EXP_ADV_HUGEPAGE)
            p = mmap_aligned(st->size, prot, flags);
        else
            p = mmap(NULL, st->size, prot, flags | (st->populate && st->huge == MS_EXP_ADV_NONE ? MAP_POPULATE : 0), -1, 0);
        if (p == MAP_FAILED) {
            oc->err = errno;
            return;
        }
        if (st->huge != MS_EXP_ADV_NONE && madvise(p, pceil(st->size), madv_of(st->huge)) != 0) {
            oc->err = errno;
            munmap(p, st->size);
            return;
        }
        if (st->populate && st->huge != MS_EXP_ADV_NONE && madvise(p, pceil(st->size), MADV_POPULATE_WRITE) != 0) {
            oc->err = errno;
            munmap(p, st->size);
            return;
        }
        if (st->as[0])
            bind_block(st->as, (uint64_t)(uintptr_t)p, st->size, BLK_MMAP);
        oc->addr = (uint64_t)(uintptr_t)p;
        oc->size = st->size;
        oc->has_block = oc->placement = true;
        return;
    }
    case MS_EXP_OP_MUNMAP:
        if (b->kind != BLK_MMAP) {
            oc->why = "munmap is for blocks made by mmap; use free for malloc'd ones";
            return;
        }
        if (munmap((void *)(uintptr_t)b->addr, b->size) != 0) {
            oc->err = errno;
            return;
        }
        b->live = false;
        oc->placement = true;
        return;
    case MS_EXP_OP_TOUCH: {
        uint64_t n = do_touch(i, start, len, st->mode, st->order, st->stride, st->seed);
        json_object_set_new(oc->extra, "touched_pages", json_integer((json_int_t)n));
        json_object_set_new(oc->extra, "range", json_pack("{s:o,s:I}", "start", hexj(start), "length", (json_int_t)len));
        if (g_term)
            oc->why = "stopped by SIGTERM";
        return;
    }
    case MS_EXP_OP_MADVISE: case MS_EXP_OP_MLOCK: case MS_EXP_OP_MUNLOCK: {
        uint64_t a = pfloor(start), e = pceil(start + len);
        if (st->op == MS_EXP_OP_MADVISE && destructive(st->advice)) {
            a = pceil(start);
            e = pfloor(start + len);
        }
        json_object_set_new(oc->extra, "range", json_pack("{s:o,s:I}", "start", hexj(a), "length",
                                                          (json_int_t)(e > a ? e - a : 0)));
        if (e <= a)
            return;      /* no whole page inside: nothing to do, and that is not an error */
        int r = st->op == MS_EXP_OP_MADVISE ? madvise((void *)(uintptr_t)a, e - a, madv_of(st->advice)) :
                st->op == MS_EXP_OP_MLOCK ? mlock((void *)(uintptr_t)a, e - a) : munlock((void *)(uintptr_t)a, e - a);
        if (r != 0)
            oc->err = errno;
        return;
    }
    case MS_EXP_OP_MALLOPT:
        if (mallopt(st->param == MS_EXP_MALLOPT_MMAP_THRESHOLD ? M_MMAP_THRESHOLD : M_TRIM_THRESHOLD, (int)st->value) != 1)
            oc->why = "mallopt refused the value";
        return;
    case MS_EXP_OP_MALLOC_TRIM:
        json_object_set_new(oc->extra, "released", json_boolean(malloc_trim(st->pad) == 1));
        return;
    case MS_EXP_OP_SBRK: {
        void *old = sbrk((intptr_t)st->increment);
        if (old == (void *)-1) {
            oc->err = errno;
            return;
        }
        if (st->as[0])
            bind_block(st->as, (uint64_t)(uintptr_t)old, (uint64_t)st->increment, BLK_SBRK);
        oc->addr = (uint64_t)(uintptr_t)old;
        oc->size = st->increment > 0 ? (uint64_t)st->increment : 0;
        oc->has_block = oc->placement = st->increment > 0;
        return;
    }
    case MS_EXP_OP_FORK: {
        int ready[2], go[2];
        if (pipe2(ready, O_CLOEXEC) != 0) {
            oc->err = errno;
            return;
        }
        if (pipe2(go, O_CLOEXEC) != 0) {
            oc->err = errno;
            close(ready[0]);
            close(ready[1]);
            return;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            run_fork_child(i, start, len, ready[1], go[0]);
        }
        close(ready[1]);
        close(go[0]);
        if (pid < 0) {
            oc->err = errno;
            close(ready[0]);
            close(go[1]);
            return;
        }
        char c;
        ssize_t r;
        while ((r = read(ready[0], &c, 1)) < 0 && errno == EINTR)
            ;
        close(ready[0]);
        oc->child = pid;
        oc->go_fd = go[1];
        if (r != 1)
            oc->why = "the child died before it had written";
        json_object_set_new(oc->extra, "child_pid", json_integer(pid));
        json_object_set_new(oc->extra, "range", json_pack("{s:o,s:I}", "start", hexj(start), "length", (json_int_t)len));
        return;
    }
    case MS_EXP_OP_ACCESS_UNMAPPED: {
        ms_maps mp;
        ms_maps_init(&mp);
        ms_err rc = ms_maps_read(g_procfd, &mp);
        uint64_t target = st->addr;
        if (rc != MS_OK) {
            oc->why = "cannot read /proc/self/maps";
            ms_maps_free(&mp);
            return;
        }
        long below = -1;
        if (!target) {
            /* just past the heap's end if the gap there is wide enough, else the first wide gap */
            for (size_t j = 0; j + 1 < mp.nregions && !target; j++) {
                if (mp.regions[j].kind == MS_KIND_HEAP && mp.regions[j + 1].start - mp.regions[j].end >= 32 * g_page)
                    target = mp.regions[j].end + 16 * g_page;
            }
            for (size_t j = 0; j + 1 < mp.nregions && !target; j++)
                if (mp.regions[j + 1].start - mp.regions[j].end >= 32 * g_page)
                    target = mp.regions[j].end + 16 * g_page;
        }
        if (ms_maps_find(mp.regions, mp.nregions, target) >= 0) {
            oc->why = "that address lies inside a mapped region";
            ms_maps_free(&mp);
            return;
        }
        for (size_t j = 0; j < mp.nregions; j++)
            if (mp.regions[j].end <= target)
                below = (long)j;
        json_t *a = json_object();
        json_object_set_new(a, "type", json_string("access"));
        json_object_set_new(a, "step", json_integer(i));
        json_object_set_new(a, "addr", hexj(target));
        json_object_set_new(a, "page", hexj(pfloor(target)));
        json_object_set_new(a, "offset_in_page", json_integer((json_int_t)(target & (g_page - 1))));
        if (below >= 0)
            json_object_set_new(a, "gap_start", hexj(mp.regions[below].end));
        if ((size_t)(below + 1) < mp.nregions)
            json_object_set_new(a, "gap_end", hexj(mp.regions[below + 1].start));
        json_object_set_new(a, "region_below",
                            below >= 0 ? json_stringn(mp.regions[below].path, mp.regions[below].path_len) : json_null());
        ms_maps_free(&mp);
        emit(a);
        *(volatile unsigned char *)(uintptr_t)target = 1;   /* the kernel has no page to give: SIGSEGV */
        oc->why = "the access did not fault";
        return;
    }
    case MS_EXP_OP_SLEEP: {
        struct timespec ts = { (time_t)(st->ms / 1000), (long)(st->ms % 1000) * 1000000L };
        while (!g_term && nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return;
    }
    case MS_EXP_OP__COUNT:
        break;
    }
    oc->why = "unknown op";
}

/* --- the run --- */

static json_t *start_line(const ms_exp_spec *spec, const ms_exp_limits *lim, uint64_t peak, int64_t rlimit_as,
                          const char *rlimit_note, const measure *m)
{
    json_t *o = json_object(), *steps = json_array();
    char thp[64] = "";
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char b[128];
        ssize_t n = read(fd, b, sizeof b - 1);
        close(fd);
        if (n > 0) {
            b[n] = 0;
            char *l = strchr(b, '['), *r = l ? strchr(l, ']') : NULL;
            if (l && r && (size_t)(r - l) < sizeof thp)
                memcpy(thp, l + 1, (size_t)(r - l - 1));
        }
    }
    for (size_t i = 0; i < spec->nsteps; i++)
        json_array_append_new(steps, ms_spec_step_json(&spec->steps[i]));
    json_object_set_new(o, "type", json_string("start"));
    json_object_set_new(o, "pid", json_integer(getpid()));
    json_object_set_new(o, "ppid", json_integer(getppid()));
    json_object_set_new(o, "pgid", json_integer(getpgid(0)));
    json_object_set_new(o, "page_size", json_integer((json_int_t)g_page));
    json_object_set_new(o, "thp_enabled", json_string(thp));
    json_object_set_new(o, "preset", spec->preset[0] ? json_string(spec->preset) : json_null());
    json_object_set_new(o, "hold_s", json_integer((json_int_t)spec->hold_s));
    json_object_set_new(o, "budget_bytes", json_integer((json_int_t)lim->max_bytes));
    json_object_set_new(o, "peak_bytes", json_integer((json_int_t)peak));
    json_object_set_new(o, "rlimit_as", rlimit_as >= 0 ? json_integer(rlimit_as) : json_null());
    if (rlimit_note)
        json_object_set_new(o, "rlimit_as_note", json_string(rlimit_note));
    json_object_set_new(o, "budget_enforced", json_boolean(!LAB_ASAN));
    json_object_set_new(o, "budget_slack_bytes", json_integer((json_int_t)LAB_SLACK));
    json_object_set_new(o, "brk", hexj(m->brk));
    json_object_set_new(o, "status", status_json(m));
    json_object_set_new(o, "steps", steps);
    return o;
}

static bool allocates(ms_exp_op op)
{
    return op == MS_EXP_OP_MALLOC || op == MS_EXP_OP_CALLOC || op == MS_EXP_OP_REALLOC || op == MS_EXP_OP_MMAP ||
           op == MS_EXP_OP_SBRK || op == MS_EXP_OP_FORK;
}

static uint64_t requested(const ms_exp_step *st)
{
    if (st->op == MS_EXP_OP_SBRK)
        return st->increment > 0 ? (uint64_t)st->increment : 0;
    return st->op == MS_EXP_OP_CALLOC ? st->size * st->count : st->size;
}

/* After step i: over the budget if VmSize or VmRSS grew by more than budget + slack since the first
 * step, or if the step's allocation was refused by the address-space limit (the budget's own
 * limit).  Then says so, once, as the last line: the lab stops instead of holding more. */
static bool over_budget(long i, const ms_exp_step *st, const outcome *oc, const measure *m0, const measure *b,
                        const ms_exp_limits *lim)
{
    uint64_t cap = lim->max_bytes + LAB_SLACK;
    int64_t vm = (int64_t)(b->v[MS_STATUS_MEM_VM_SIZE] - m0->v[MS_STATUS_MEM_VM_SIZE]), rss = (int64_t)(b->v[MS_STATUS_MEM_VM_RSS] - m0->v[MS_STATUS_MEM_VM_RSS]);
    const char *why = NULL;
    if (b->ok && vm > (int64_t)cap)
        why = "the address space grew past it";
    else if (b->ok && rss > (int64_t)cap)
        why = "resident memory grew past it";
    else if (oc->err == ENOMEM && allocates(st->op) && (uint64_t)(vm > 0 ? vm : 0) + requested(st) > lim->max_bytes)
        why = "the step's allocation was refused by the address-space limit the budget sets";
    if (!why)
        return false;
    char msg[200];
    snprintf(msg, sizeof msg, "budget exceeded after step %ld: %s", i, why);
    emit(json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:I}", "type", "budget", "step", (json_int_t)i, "message", msg,
                   "vm_growth", (json_int_t)vm, "rss_growth", (json_int_t)rss, "budget_bytes", (json_int_t)lim->max_bytes,
                   "slack_bytes", (json_int_t)LAB_SLACK));
    fprintf(stderr, "memscope-lab: %s (VmSize +%lld, VmRSS +%lld bytes; budget %llu + %llu bytes of slack)\n", msg,
            (long long)vm, (long long)rss, (unsigned long long)lim->max_bytes, (unsigned long long)LAB_SLACK);
    return true;
}

static int run(const ms_exp_spec *spec, const ms_exp_limits *lim)
{
    uint64_t peak = 0;
    int64_t rlimit_as = -1;
    const char *note = NULL;
    measure m0;
    ms_exp_spec_peak_bytes(spec, &peak);
    g_blocks = calloc(spec->nsteps * 2 + 1, sizeof *g_blocks);
    if (!g_blocks)
        return 3;
    take(&m0);
    if (LAB_ASAN) {
        note = "not set, and the budget is not enforced while running: an AddressSanitizer build reserves "
               "terabytes of shadow memory and keeps freed blocks resident (quarantine)";
    } else {
        struct rlimit rl;
        rlimit_as = (int64_t)(m0.v[MS_STATUS_MEM_VM_SIZE] + lim->max_bytes + LAB_SLACK);
        rl.rlim_cur = rl.rlim_max = (rlim_t)rlimit_as;
        if (setrlimit(RLIMIT_AS, &rl) != 0) {
            note = "setrlimit failed";
            rlimit_as = -1;
        }
    }
    emit(start_line(spec, lim, peak, rlimit_as, note, &m0));

    size_t done = 0;
    for (size_t k = 0; k < spec->nsteps && !g_term; k++) {
        const ms_exp_step *st = &spec->steps[k];
        long i = (long)k;
        outcome oc;
        measure a, b;
        g_step = (sig_atomic_t)i;
        take(&a);
        uint64_t t0 = now_ns();
        run_step(i, st, &oc);
        uint64_t t1 = now_ns();
        take(&b);

        json_t *line = json_object();
        json_object_set_new(line, "type", json_string("step"));
        json_object_set_new(line, "step", json_integer(i));
        json_object_set_new(line, "op", json_string(ms_exp_op_name(st->op)));
        json_object_set_new(line, "args", ms_spec_step_json(st));
        bool ok = !oc.err && !oc.why;
        json_object_set_new(line, "ok", json_boolean(ok));
        if (oc.err) {
            const char *nm = strerrorname_np(oc.err);
            json_object_set_new(line, "error", json_string(strerror(oc.err)));
            json_object_set_new(line, "errno", json_string(nm ? nm : "?"));
        } else if (oc.why) {
            json_object_set_new(line, "error", json_string(oc.why));
        }
        json_object_set_new(line, "duration_ns", json_integer((json_int_t)(t1 - t0)));
        if (oc.has_block || oc.placement) {
            json_object_set_new(line, "addr", hexj(oc.addr));
            json_object_set_new(line, "size", json_integer((json_int_t)oc.size));
            json_object_set_new(line, "page_offset", json_integer((json_int_t)(oc.addr & (g_page - 1))));
        }
        json_object_set_new(line, "brk_before", hexj(a.brk));
        json_object_set_new(line, "brk_after", hexj(b.brk));
        json_object_set_new(line, "brk_delta", json_integer((json_int_t)(b.brk - a.brk)));
        json_object_set_new(line, "status", status_json(&b));
        json_object_set_new(line, "delta", delta_json(&a, &b));
        json_object_set_new(line, "faults", json_pack("{s:I,s:I}", "minor", (json_int_t)(b.minflt - a.minflt),
                                                     "major", (json_int_t)(b.majflt - a.majflt)));
        json_object_update(line, oc.extra);
        json_decref(oc.extra);
        if (oc.has_block || oc.placement)
            describe_block(line, oc.addr, oc.size, oc.placement);
        if (oc.child > 0) {
            int ws = 0;
            close(oc.go_fd);
            while (waitpid(oc.child, &ws, 0) < 0 && errno == EINTR)
                ;
            json_object_set_new(line, "child_exit", WIFSIGNALED(ws) ? json_pack("{s:s}", "signal", sigabbrev_np(WTERMSIG(ws)))
                                                                    : json_pack("{s:i}", "code", WEXITSTATUS(ws)));
        }
        emit(line);
        done++;
        if (!LAB_ASAN && over_budget(i, st, &oc, &m0, &b, lim)) {
            free(g_blocks);
            return EXIT_BUDGET;
        }
    }
    g_step = -1;

    if (!g_term && spec->hold_s) {
        json_t *h = json_pack("{s:s,s:I,s:I}", "type", "hold", "hold_s", (json_int_t)spec->hold_s, "pid", (json_int_t)getpid());
        emit(h);
        uint64_t end = now_ns() + spec->hold_s * 1000000000ULL;
        for (;;) {
            uint64_t t = now_ns();
            if (g_term || t >= end)
                break;
            struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
            uint64_t left_ms = (end - t) / 1000000 + 1;
            int r = poll(&pfd, 1, left_ms > 1000 ? 1000 : (int)left_ms);
            if (r > 0) {
                char buf[256];
                ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                if (n <= 0 && !(n < 0 && errno == EINTR))
                    break;   /* stdin closed: whoever holds us is done */
            }
        }
    }
    measure mz;
    take(&mz);
    emit(json_pack("{s:s,s:I,s:b,s:o}", "type", "end", "steps_run", (json_int_t)done, "terminated", (int)g_term,
                   "status", status_json(&mz)));
    free(g_blocks);
    return 0;
}

/* --- command line --- */

static void usage(FILE *f)
{
    fputs(
"usage: memscope-lab (--preset NAME | --spec FILE | --spec-fd N) [options]\n"
"       memscope-lab --list-presets\n"
"\n"
"Runs one memory experiment in this fresh process and prints one JSON line per event on stdout.\n"
"\n"
"  --preset NAME     run a named experiment (see --list-presets)\n"
"  --spec FILE       read the spec from FILE ('-' for stdin): {\"steps\":[...],\"hold_s\":N} or {\"preset\":\"NAME\"}\n"
"  --spec-fd N       read the spec from descriptor N until EOF (how memscoped passes it)\n"
"  --hold S          stay alive, idle, S seconds after the last step (overrides hold_s); ends early\n"
"                    when stdin closes or on SIGTERM\n"
"  --max-bytes SIZE  budget: peak bytes allocated at once (default min(2GiB, MemAvailable/2))\n"
"  --max-steps N     (default 256)        --max-hold S   (default 600)\n"
"  --list-presets    print the presets with their lessons as one JSON array, and exit\n"
"  --help\n"
"\n"
"Lines: {\"type\":\"start\",...} first (pid, page size, THP mode, budget, the normalised steps),\n"
"then per step {\"type\":\"step\",\"step\":i,\"op\",\"args\",\"ok\",\"error\",\"errno\",\"duration_ns\",\"addr\",\n"
"\"size\",\"placement\":\"heap\"|\"mapping\"|\"unmapped\",\"brk_before\",\"brk_after\",\"brk_delta\",\"status\":{vm_size,...},\n"
"\"delta\":{...},\"faults\":{minor,major},\"region\":{start,end,perms,path,kind,rss,pss,...},\n"
"\"pages\":{pages,present,zero_page,huge,swapped,...}}; {\"type\":\"progress\"} during long touches;\n"
"{\"type\":\"child\"} from a fork's child; {\"type\":\"access\"} then {\"type\":\"signal\"} when a step faults;\n"
"{\"type\":\"hold\"} while held; {\"type\":\"end\"} last; {\"type\":\"error\",\"step\",\"field\",\"message\"} for a\n"
"refused spec (exit 2).  Sizes in bytes, addresses as \"0x...\" strings.\n"
"\n"
"Containment: core dumps off, RLIMIT_AS = VmSize + budget + 16 MiB of slack for the lab's own\n"
"bookkeeping, own process group, PR_SET_PDEATHSIG(SIGKILL).  After every step VmSize and VmRSS growth\n"
"since the start are checked against the same: over it, {\"type\":\"budget\",\"message\":\"budget exceeded\n"
"after step N: ...\"} is the last line and the lab exits 4 (not enforced in an AddressSanitizer build).\n", f);
}

static int refuse_spec(const ms_exp_err *e)
{
    emit(json_pack("{s:s,s:s,s:I,s:s,s:s}", "type", "error", "code", ms_errcode(e->code), "step", (json_int_t)e->step,
                   "field", e->field, "message", e->message));
    fprintf(stderr, "memscope-lab: %s%ld%s%s: %s\n", e->step >= 0 ? "step " : "", e->step >= 0 ? e->step : 0L,
            e->step >= 0 ? ", " : "", e->field, e->message);
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "preset", required_argument, NULL, 'p' }, { "spec", required_argument, NULL, 's' },
        { "spec-fd", required_argument, NULL, 'f' }, { "hold", required_argument, NULL, 'H' },
        { "max-bytes", required_argument, NULL, 'b' }, { "max-steps", required_argument, NULL, 'n' },
        { "max-hold", required_argument, NULL, 'm' }, { "list-presets", no_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *preset = NULL, *spec_path = NULL;
    int spec_fd = -1, c;
    bool hold_set = false;
    uint64_t hold = 0, v;
    ms_exp_limits lim;
    ms_exp_limits_default(&lim, NULL);

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': preset = optarg; break;
        case 's': spec_path = optarg; break;
        case 'f':
            if (!ms_parse_u64(optarg, INT32_MAX, &v)) { usage(stderr); return 2; }
            spec_fd = (int)v;
            break;
        case 'H':
            if (!ms_parse_u64(optarg, UINT32_MAX, &hold)) { usage(stderr); return 2; }
            hold_set = true;
            break;
        case 'b': if (!ms_parse_size(optarg, &lim.max_bytes)) { usage(stderr); return 2; } break;
        case 'n': if (!ms_parse_u64(optarg, MS_EXP_STEPS_HARD_MAX, &lim.max_steps)) { usage(stderr); return 2; } break;
        case 'm': if (!ms_parse_u64(optarg, UINT32_MAX, &lim.max_hold_s)) { usage(stderr); return 2; } break;
        case 'l': {
            json_t *a = ms_presets_json();
            emit(a);
            return 0;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || (!!preset + !!spec_path + (spec_fd >= 0)) != 1) {
        usage(stderr);
        return 2;
    }

    /* containment first, before any experiment memory exists */
    struct rlimit core0 = { 0, 0 };
    setrlimit(RLIMIT_CORE, &core0);
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)      /* the parent died before the line above took effect */
        return 3;
    if (getpgid(0) != getpid())
        setpgid(0, 0);            /* memscoped spawns us as a group leader already; stand-alone we make one */
    signal(SIGPIPE, SIG_DFL);
    install_signals();
    g_page = (uint64_t)sysconf(_SC_PAGESIZE);
    g_procfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_procfd < 0) {
        perror("memscope-lab: /proc/self");
        return 3;
    }

    ms_exp_spec spec;
    ms_exp_err err;
    ms_err rc;
    memset(&err, 0, sizeof err);
    if (preset) {
        json_t *o = json_pack("{s:s}", "preset", preset);
        rc = ms_spec_parse_json(o, &lim, &spec, &err);
        json_decref(o);
    } else {
        ms_buf b;
        ms_buf_init(&b, MS_SPEC_MAX_TEXT);
        if (spec_fd >= 0)
            rc = ms_read_fd(spec_fd, &b);
        else if (strcmp(spec_path, "-") == 0)
            rc = ms_read_fd(STDIN_FILENO, &b);
        else
            rc = ms_read_file_at(AT_FDCWD, spec_path, &b);
        if (rc != MS_OK) {
            fprintf(stderr, "memscope-lab: cannot read the spec: %s\n", ms_strerror(rc));
            ms_buf_free(&b);
            return 2;
        }
        if (spec_fd >= 0)
            close(spec_fd);
        rc = ms_spec_parse_text(b.data ? b.data : "", b.len, &lim, &spec, &err);
        ms_buf_free(&b);
    }
    if (rc != MS_OK)
        return refuse_spec(&err);
    if (hold_set) {
        if (hold > lim.max_hold_s) {
            err.code = MS_ERR_TOOBIG;
            err.step = -1;
            snprintf(err.field, sizeof err.field, "hold_s");
            snprintf(err.message, sizeof err.message, "hold %llu s is over the limit of %llu s",
                     (unsigned long long)hold, (unsigned long long)lim.max_hold_s);
            ms_exp_spec_free(&spec);
            return refuse_spec(&err);
        }
        spec.hold_s = hold;
    }
    int ret = run(&spec, &lim);
    ms_exp_spec_free(&spec);
    close(g_procfd);
    return ret;
}
