/* main.c - memscoped: options, start-up checks, the daemon, and a clean stop on SIGINT/SIGTERM.
 *
 * The main thread only parses options, starts libmicrohttpd's thread pool and then waits in
 * sigwait(); all request work happens in the pool. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/features.h"
#include "core/num.h"
#include "experiments.h"
#include "history.h"
#include "oomhist.h"
#include "listcache.h"
#include "oomwatch.h"
#include "routes_exp.h"
#include "routes_fast.h"
#include "http.h"
#include "log.h"
#include "metrics_select.h"

#define MAX_ALLOW_HOSTS 16

typedef struct {
    char addr[INET6_ADDRSTRLEN];
    unsigned port;
    unsigned threads;
    unsigned max_conns, max_per_ip, idle_timeout, request_timeout;
    const char *allow_hosts[MAX_ALLOW_HOSTS];
    size_t nallow_hosts;
    const char *web_dir;
    const char *token_file;
    bool insecure_no_auth;
    bool allow_clear_refs;
    const char *cors_origin;
    uint64_t max_body;
    int experiments;            /* -1: default (on for loopback, off beyond) */
    unsigned list_cache_ms;
    unsigned metrics_top;
    experiments_config xcfg;
    const char *cgroup_root;    /* NULL: from /proc/self/mountinfo */
    oom_source oom;
    unsigned metrics_cgroups;
    unsigned metrics_max_series;
    metrics_select msel;
} options;

static void metrics_usage(FILE *f);

static void usage(FILE *f)
{
    fputs("Usage: memscoped [OPTIONS]\n"
          "Serves where each process's memory is (regions, resident pages, frames) as JSON over HTTP,\n"
          "and a dashboard at /.\n"
          "\n"
          "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080; [::1]:8080 for IPv6;\n"
          "                         port 0 picks a free port, which is logged)\n"
          "  --threads N            worker threads (default: number of CPUs, 1..64)\n"
          "  --log-level LEVEL      error, warn, info (default) or debug (one line per request)\n"
          "  --web-dir DIR          dashboard files (default: the installed or source web/ directory)\n"
          "  --token-file FILE      require 'Authorization: Bearer <token>' (token = the file's first line);\n"
          "                         the MEMSCOPE_TOKEN environment variable works too, and so does\n"
          "                         $CREDENTIALS_DIRECTORY/token (systemd's LoadCredential=token:FILE)\n"
          "  --insecure-no-auth     allow listening beyond loopback without a token\n"
          "  --cors-origin ORIGIN   allow cross-origin requests from ORIGIN (default: none)\n"
          "  --allow-host NAME      also answer requests whose Host is NAME (any port), e.g. the name a\n"
          "                         reverse proxy forwards; repeatable.  Otherwise only Host localhost,\n"
          "                         127.0.0.0/8, [::1] and the address connected to are answered\n"
          "                         (421 for any other name: a DNS-rebinding page)\n"
          "  --experiments on|off   allow experiments (default: on for loopback, off otherwise)\n"
          "  --lab PATH             the memscope-lab executable (default: next to memscoped)\n"
          "  --max-experiments N    experiments alive at once (default 2)\n"
          "  --experiment-budget SIZE  bytes one experiment may allocate (default: the smaller of 2GiB\n"
          "                         and half of MemAvailable)\n"
          "  --experiment-steps N   steps per experiment (default 256)\n"
          "  --experiment-timeout S wall-clock seconds for an experiment's steps (default 120)\n"
          "  --experiment-hold S    longest a finished lab may be held for inspection (default 600)\n"
          "  --list-cache-ms MS     /processes answers from a list at most this old (default 1000,\n"
          "                         0 re-reads /proc on every request; ?fresh=1 does for one)\n"
          "  --max-body BYTES       request body cap (default 64KiB)\n"
          "  --max-connections N    connections at once (default 256)\n"
          "  --max-per-ip N         connections at once from one client (default 64)\n"
          "  --idle-timeout SECONDS close idle connections after this long (default 30)\n"
          "  --request-timeout SECONDS  a request must arrive whole (headers and body) within this\n"
          "                         long of the connection's start (default 10)\n"
          "  --allow-clear-refs     let /wss clear a process's page-referenced bits (it changes what the\n"
          "                         kernel reclaims from it first); off by default: /wss answers 403\n"
          "  --metrics-top N        processes with memory gauges on /metrics, biggest RSS first\n"
          "                         (default 20, 0..200; 0: only those --metrics-match pins)\n"
          "  --cgroup-root DIR      the cgroup filesystem (default: found in /proc/self/mountinfo, where\n"
          "                         /sys/fs/cgroup usually is); v1, v2 and hybrid layouts are recognised\n"
          "  --oom-source SRC       how OOM kills are seen: auto (the kernel log /dev/kmsg, else the\n"
          "                         cgroups' oom_kill counters), counters, or off (default auto)\n"
          "  --metrics-cgroups N    cgroups with memory gauges on /metrics, biggest usage first\n"
          "                         (default 20, 0..500)\n"
          "  --help, --version\n"
          "\n"
          "Binding an address other than loopback needs a token or --insecure-no-auth.  Requests that\n"
          "change state (POST, PUT, PATCH, DELETE) need 'Content-Type: application/json' (a DELETE\n"
          "without a body excepted) and no Origin but this server's own or --cors-origin.\n",
          f);    history_usage(f);
    metrics_usage(f);
}

/* The options of /metrics' names, pins and cap (after history's in --help). */
static void metrics_usage(FILE *f)
{
    fputs("\nMetrics (GET /metrics; also --metrics-top, --metrics-cgroups above):\n"
          "  --metrics-group TEMPLATE  the name processes are summed under in memscope_namegroup_* and\n"
          "                         the name label of process series (default {comm}); fields {comm},\n"
          "                         {exe}, {cmdline}, {cmdline[N]}, {cmdline[N..M]}, {cmdline[N..]}, each\n"
          "                         optionally FIELD:basename, e.g. '{comm}:{cmdline[1]:basename}'\n"
          "  --metrics-match [FIELD=]REGEX  also export the processes whose comm or command line matches\n"
          "                         the POSIX extended REGEX, whatever their rank; FIELD comm, exe or\n"
          "                         cmdline matches that one only, cgroup pins memory cgroups by path\n"
          "                         (repeatable, up to 32)\n"
          "  --metrics-max-series N per-process and name group series per scrape (default 2000,\n"
          "                         20..1000000); the rest are summed into name=\"other\"\n",
          f);
}

static bool parse_listen(const char *s, options *o)
{
    const char *colon;
    size_t alen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        alen = (size_t)(close - s - 1);
        if (alen == 0 || alen >= sizeof o->addr)
            return false;
        memcpy(o->addr, s + 1, alen);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        alen = (size_t)(colon - s);
        if (alen == 0 || alen >= sizeof o->addr)
            return false;
        memcpy(o->addr, s, alen);
    }
    o->addr[alen] = '\0';
    uint64_t port;
    if (!ms_parse_u64(colon + 1, 65535, &port))
        return false;
    o->port = (unsigned)port;
    unsigned char tmp[16];
    return inet_pton(AF_INET, o->addr, tmp) == 1 || inet_pton(AF_INET6, o->addr, tmp) == 1;
}

static bool is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static bool uint_opt(const char *name, const char *v, uint64_t lo, uint64_t hi, unsigned *out)
{
    uint64_t x;
    if (!v || !ms_parse_u64(v, hi, &x) || x < lo) {
        fprintf(stderr, "memscoped: %s takes a whole number from %llu to %llu\n", name,
                (unsigned long long)lo, (unsigned long long)hi);
        return false;
    }
    *out = (unsigned)x;
    return true;
}

/* --metrics-group, --metrics-match, --metrics-max-series: 1 taken, 0 not one of them, -1 bad
 * (said on stderr). */
static int metrics_option(const char *a, const char *v, options *o)
{
    char why[256];
    if (!strcmp(a, "--metrics-group")) {
        if (!metrics_tpl_parse(v, &o->msel.tpl, why, sizeof why)) {
            fprintf(stderr, "memscoped: --metrics-group: %s\n", why);
            return -1;
        }
    } else if (!strcmp(a, "--metrics-match")) {
        if (!metrics_select_add_match(&o->msel, v, why, sizeof why)) {
            fprintf(stderr, "memscoped: --metrics-match: %s\n", why);
            return -1;
        }
    } else if (!strcmp(a, "--metrics-max-series")) {
        return uint_opt(a, v, 20, 1000000, &o->metrics_max_series) ? 1 : -1;
    } else {
        return 0;
    }
    return 1;
}

/* The token: its file's first line, or MEMSCOPE_TOKEN.  Returns a malloc'ed string or NULL. */
static char *load_token(const char *file, bool *bad)
{
    *bad = false;
    char *tok = NULL;
    if (file) {
        FILE *f = fopen(file, "re");
        char line[512];
        if (!f || !fgets(line, sizeof line, f)) {
            fprintf(stderr, "memscoped: cannot read token file %s: %s\n", file, f ? "empty" : strerror(errno));
            if (f)
                fclose(f);
            *bad = true;
            return NULL;
        }
        fclose(f);
        size_t n = strcspn(line, "\r\n");
        if (!line[n] && n == sizeof line - 1) {   /* fgets stopped short of the line's end */
            fprintf(stderr, "memscoped: the token in %s is longer than %zu bytes\n", file, sizeof line - 2);
            *bad = true;
            return NULL;
        }
        line[n] = '\0';
        tok = strdup(line);
    } else if (getenv("MEMSCOPE_TOKEN") && *getenv("MEMSCOPE_TOKEN")) {
        tok = strdup(getenv("MEMSCOPE_TOKEN"));
    }
    if (tok && strlen(tok) < 16) {
        fprintf(stderr, "memscoped: the token must be at least 16 characters\n");
        free(tok);
        *bad = true;
        return NULL;
    }
    return tok;
}

/* The dashboard directory: installed next to the binary (../share/memscope/web), else the source
 * tree's web/ for a build that was never installed. */
static const char *default_web_dir(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            int n2 = snprintf(buf, cap, "%.3800s/../share/memscope/web", exe);
            if (n2 > 0 && (size_t)n2 < cap && access(buf, R_OK | X_OK) == 0)
                return buf;
        }
    }
#ifdef MEMSCOPE_SOURCE_WEB_DIR
    if (access(MEMSCOPE_SOURCE_WEB_DIR, R_OK | X_OK) == 0)
        return MEMSCOPE_SOURCE_WEB_DIR;
#endif
    return NULL;
}

/* Descriptors open now. */
static unsigned fds_open(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 16;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* --max-connections, lowered to what the descriptor limit can hold.  Each connection takes its
 * socket and may hold one file open while it is answered (a dashboard file, a streamed smaps);
 * besides those, each worker thread opens a few /proc files at a time and has its epoll and wake-up
 * descriptors, and each experiment's lab has pipes and a pidfd.  Past the limit, accept() fails
 * with EMFILE, and libmicrohttpd retries it at once, over and over: a worker with no connection
 * of its own spins at 100% CPU and logs each failure. */
static unsigned clamp_connections(unsigned want, unsigned threads, unsigned experiments)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return want;
    unsigned long long reserve = fds_open() + 16ULL + threads * 12ULL + experiments * 8ULL;
    unsigned long long fit = rl.rlim_cur > reserve ? (rl.rlim_cur - reserve) / 2 : 0;
    if (fit >= want)
        return want;
    unsigned got = fit ? (unsigned)fit : 1;
    log_warn("--max-connections %u lowered to %u: the descriptor limit (RLIMIT_NOFILE %llu) holds no more "
             "(raise it with ulimit -n or LimitNOFILE=)", want, got, (unsigned long long)rl.rlim_cur);
    return got;
}

/* The memory cgroup hierarchy and the OOM watcher.  No hierarchy is no error: the cgroup routes
 * then say why (501), and OOM kills are still read from the kernel log. */
static bool setup_cgroups(server_ctx *srv, const options *o)
{
    static char why[256];
    srv->cg_root_fd = -1;
    srv->metrics_cgroups = o->metrics_cgroups;
    ms_err rc = ms_cg_hier_find(o->cgroup_root, &srv->cg);
    if (rc == MS_OK) {
        srv->cg_root_fd = open(srv->cg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc = srv->cg_root_fd < 0 ? ms_err_from_errno(errno) : MS_OK;
    }
    srv->cg_ok = rc == MS_OK;
    if (srv->cg_ok) {
        log_info("memory cgroups: v%d at %s%s", srv->cg.version, srv->cg.root,
                 srv->cg.hybrid ? " (hybrid: v1 memory controller beside cgroup2)" : "");
    } else {
        snprintf(why, sizeof why, "no memory cgroup hierarchy %s%s: %s", o->cgroup_root ? "under " : "in /proc/self/mountinfo",
                 o->cgroup_root ? o->cgroup_root : "", ms_strerror(rc));
        srv->cg_why = why;
        if (o->cgroup_root) {
            fprintf(stderr, "memscoped: --cgroup-root: %s\n", why);
            return false;
        }
        log_warn("%s", why);
    }
    if (oomwatch_start(srv->cg_ok ? &srv->cg : NULL, o->oom, &srv->oom) != MS_OK) {
        fprintf(stderr, "memscoped: cannot start the OOM watcher\n");
        return false;
    }
    const char *note;
    const char *src = oomwatch_source(srv->oom, &note);
    log_info("OOM kills seen through: %s%s%s%s", src, note ? " (" : "", note ? note : "", note ? ")" : "");
    return true;
}

int main(int argc, char **argv)
{
    /* static: the server reads o.msel's compiled patterns until main returns. */
    static options o = {.addr = "127.0.0.1", .port = 8080, .max_conns = 256, .max_per_ip = 64,
                 .idle_timeout = 30, .request_timeout = 10, .max_body = 64 * 1024, .experiments = -1,
                 .metrics_top = 20, .list_cache_ms = 1000, .metrics_cgroups = 20,
                 .metrics_max_series = 2000};
    /* Fixed malloc thresholds.  glibc otherwise raises its mmap threshold to the largest block
     * freed, so after one big answer the multi-megabyte buffers of the next ones live in the heap:
     * realloc copies them and free keeps them resident (memscoped grew by a quarter over 100,000
     * requests).  Mapped on their own they grow by mremap and go back to the kernel when freed.
     * One arena: a request makes a handful of block-sized allocations (small ones go through
     * each thread's tcache without the arena lock), and every further arena is one more heap that
     * keeps its high-water mark resident: a second one held 320 KiB after a burst of two clients.
     * Free memory at the top of the heap is kept up to 8 MiB: heaptrim hands it back once no
     * request has begun for a second (heaptrim.h), and handing it back after every request (at
     * 128 KiB) made the next fault its pages in again and flushed the TLB of every CPU this
     * process ran on, ~0.3 ms of a 7.5 ms /maps?rss=1 of 10,000 regions. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_ARENA_MAX, 1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = ncpu > 0 ? (unsigned)(ncpu > 64 ? 64 : ncpu) : 2;
    experiments_config_default(&o.xcfg);
    static history_opts hist;
    history_opts_default(&hist);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("memscoped %s\n", MEMSCOPE_VERSION);
            return 0;
        } else if (!strcmp(a, "--insecure-no-auth")) {
            o.insecure_no_auth = true;
            continue;
        } else if (!strcmp(a, "--allow-clear-refs")) {
            o.allow_clear_refs = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "memscoped: unknown option or missing value: %s (see --help)\n", a);
            return 2;
        }
        i++;
        int hopt = history_option(&hist, a, v);
        if (hopt < 0)
            return 2;
        if (hopt > 0)
            continue;
        int mopt = metrics_option(a, v, &o);
        if (mopt < 0)
            return 2;
        if (mopt > 0)
            continue;
        if (!strcmp(a, "--listen")) {
            if (!parse_listen(v, &o)) {
                fprintf(stderr, "memscoped: --listen takes ADDR:PORT with an IP address, e.g. 127.0.0.1:8080 or [::1]:8080\n");
                return 2;
            }
        } else if (!strcmp(a, "--threads")) {
            if (!uint_opt(a, v, 1, 64, &o.threads)) return 2;
        } else if (!strcmp(a, "--log-level")) {
            int l = log_level_from_name(v);
            if (l < 0) {
                fprintf(stderr, "memscoped: --log-level takes error, warn, info or debug\n");
                return 2;
            }
            log_set_level((log_level)l);
        } else if (!strcmp(a, "--web-dir")) {
            o.web_dir = v;
        } else if (!strcmp(a, "--token-file")) {
            o.token_file = v;
        } else if (!strcmp(a, "--allow-host")) {
            if (o.nallow_hosts == MAX_ALLOW_HOSTS || !*v || strlen(v) > 253 || strpbrk(v, ":/ []")) {
                fprintf(stderr, "memscoped: --allow-host takes a host name without port (at most %d of them)\n",
                        MAX_ALLOW_HOSTS);
                return 2;
            }
            o.allow_hosts[o.nallow_hosts++] = v;
        } else if (!strcmp(a, "--cors-origin")) {
            o.cors_origin = v;
        } else if (!strcmp(a, "--experiments")) {
            if (strcmp(v, "on") && strcmp(v, "off")) {
                fprintf(stderr, "memscoped: --experiments takes on or off\n");
                return 2;
            }
            o.experiments = strcmp(v, "on") == 0;
        } else if (!strcmp(a, "--lab")) {
            o.xcfg.lab_path = v;
        } else if (!strcmp(a, "--max-experiments")) {
            if (!uint_opt(a, v, 1, 64, &o.xcfg.max_running)) return 2;
        } else if (!strcmp(a, "--experiment-budget")) {
            if (!ms_parse_size(v, &o.xcfg.limits.max_bytes) || o.xcfg.limits.max_bytes < 4096) {
                fprintf(stderr, "memscoped: --experiment-budget takes a size like 512MiB\n");
                return 2;
            }
        } else if (!strcmp(a, "--experiment-steps")) {
            unsigned n;
            if (!uint_opt(a, v, 1, 4096, &n)) return 2;
            o.xcfg.limits.max_steps = n;
        } else if (!strcmp(a, "--experiment-timeout")) {
            if (!uint_opt(a, v, 1, 86400, &o.xcfg.max_wall_s)) return 2;
        } else if (!strcmp(a, "--experiment-hold")) {
            unsigned n;
            if (!uint_opt(a, v, 0, 86400, &n)) return 2;
            o.xcfg.limits.max_hold_s = n;
        } else if (!strcmp(a, "--list-cache-ms")) {
            if (!uint_opt(a, v, 0, 1000, &o.list_cache_ms)) return 2;
        } else if (!strcmp(a, "--max-body")) {
            if (!ms_parse_size(v, &o.max_body) || o.max_body == 0 || o.max_body > (64u << 20)) {
                fprintf(stderr, "memscoped: --max-body takes a size from 1 to 64MiB\n");
                return 2;
            }
        } else if (!strcmp(a, "--max-connections")) {
            if (!uint_opt(a, v, 1, 100000, &o.max_conns)) return 2;
        } else if (!strcmp(a, "--max-per-ip")) {
            if (!uint_opt(a, v, 1, 100000, &o.max_per_ip)) return 2;
        } else if (!strcmp(a, "--idle-timeout")) {
            if (!uint_opt(a, v, 1, 86400, &o.idle_timeout)) return 2;
        } else if (!strcmp(a, "--request-timeout")) {
            if (!uint_opt(a, v, 1, 3600, &o.request_timeout)) return 2;
        } else if (!strcmp(a, "--cgroup-root")) {
            o.cgroup_root = v;
        } else if (!strcmp(a, "--oom-source")) {
            if (!strcmp(v, "auto")) o.oom = OOM_SOURCE_AUTO;
            else if (!strcmp(v, "counters")) o.oom = OOM_SOURCE_COUNTERS;
            else if (!strcmp(v, "off")) o.oom = OOM_SOURCE_OFF;
            else {
                fprintf(stderr, "memscoped: --oom-source takes auto, counters or off\n");
                return 2;
            }
        } else if (!strcmp(a, "--metrics-cgroups")) {
            if (!uint_opt(a, v, 0, 500, &o.metrics_cgroups)) return 2;
        } else if (!strcmp(a, "--metrics-top")) {
            if (!uint_opt(a, v, 0, 200, &o.metrics_top)) return 2;
        } else {
            fprintf(stderr, "memscoped: unknown option %s (see --help)\n", a);
            return 2;
        }
    }

    /* Block the stop signals before anything can start a thread (the experiment manager, the OOM
     * watcher, the sampler, the HTTP pool): a thread created earlier keeps SIGTERM unblocked, the
     * kernel may deliver the signal to it, and its default action ends the process uncleanly. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Under systemd, LoadCredential=token:FILE hands the token over as $CREDENTIALS_DIRECTORY/token
     * (readable by this service alone); --token-file still wins, MEMSCOPE_TOKEN comes after. */
    char cred_file[PATH_MAX];
    const char *cred_dir = getenv("CREDENTIALS_DIRECTORY");
    if (!o.token_file && cred_dir && *cred_dir &&
        snprintf(cred_file, sizeof cred_file, "%s/token", cred_dir) < (int)sizeof cred_file &&
        access(cred_file, F_OK) == 0)
        o.token_file = cred_file;
    bool bad_token;
    char *token = load_token(o.token_file, &bad_token);
    if (bad_token)
        return 2;
    bool loopback = is_loopback(o.addr);
    if (!loopback && !token && !o.insecure_no_auth) {
        fprintf(stderr, "memscoped: refusing to listen on %s without a token: anyone who can reach it could "
                        "read every process's memory layout. Give --token-file FILE (or MEMSCOPE_TOKEN), or "
                        "--insecure-no-auth if the network is already protected.\n", o.addr);
        return 2;
    }

    static server_ctx srv;
    srv.started = time(NULL);
    srv.token = token;
    srv.cors_origin = o.cors_origin;
    srv.max_body = (size_t)o.max_body;
    srv.list_cache_ms = o.list_cache_ms;
    srv.allow_clear_refs = o.allow_clear_refs;
    srv.metrics_top = o.metrics_top;
    srv.metrics_max_series = o.metrics_max_series;
    srv.metrics_sel = &o.msel;
    srv.experiments_enabled = o.experiments == -1 ? loopback : o.experiments == 1;
    srv.experiments_off_reason = o.experiments == 0 ? "experiments are disabled (--experiments off)"
                                                    : "experiments are off when listening beyond loopback; start with --experiments on to allow them";
    if (srv.experiments_enabled) {
        if (experiments_new(&o.xcfg, &srv.exp) != MS_OK) {
            fprintf(stderr, "memscoped: cannot set up experiments\n");
            return 1;
        }
        if (!experiments_lab_path(srv.exp)[0])
            log_warn("no memscope-lab executable found (give --lab PATH): experiments will fail with 501");
    }
    ms_features_probe(&srv.features);
    if (ms_sysinfo_read(&srv.sys) != MS_OK)
        log_warn("could not read all system settings");
    char wbuf[PATH_MAX];
    srv.web_dir = o.web_dir ? o.web_dir : default_web_dir(wbuf, sizeof wbuf);
    srv.web_fd = -1;
    if (srv.web_dir) {
        srv.web_fd = open(srv.web_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (srv.web_fd < 0) {
            fprintf(stderr, "memscoped: cannot open web directory %s: %s\n", srv.web_dir, strerror(errno));
            return 2;
        }
    }

    if (!setup_cgroups(&srv, &o))
        return 2;

    if (!history_start(&hist)) {
        fprintf(stderr, "memscoped: cannot set up history\n");
        return 1;
    }
    oomhist_attach(srv.oom, hist.st);
    routes_exp_start();
    snprintf(srv.listen_addr, sizeof srv.listen_addr, "%s", o.addr);
    srv.allow_hosts = o.allow_hosts;
    srv.nallow_hosts = o.nallow_hosts;
    srv.request_timeout_s = o.request_timeout;
    srv.idle_timeout_s = o.idle_timeout;
    srv.max_conns = clamp_connections(o.max_conns, o.threads, srv.experiments_enabled ? o.xcfg.max_running : 0);
    struct MHD_Daemon *d = http_start(&srv, o.port, o.threads, o.max_per_ip);
    if (!d) {   /* http_start said why */
        oomhist_detach(srv.oom);
        history_stop(&hist);
        routes_exp_stop();
        experiments_free(&srv.exp);
        oomwatch_stop(&srv.oom);
        return 1;
    }
    unsigned port = srv.port;
    bool v6 = strchr(o.addr, ':') != NULL;
    /* Who memscoped runs as decides which processes it may read (403s otherwise), so the start line
     * says so.  Looking the name up here also loads the name service once, before the first
     * /processes request needs it. */
    struct passwd pw, *pwr = NULL;
    char pwbuf[1024];
    uid_t uid = geteuid();
    if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &pwr) != 0)
        pwr = NULL;
    log_info("memscoped %s listening on http://%s%s%s:%u/ (as %s, uid %u; threads %u, dashboard %s, "
             "experiments %s, auth %s, pfn %s, pagemap_scan %s)",
             MEMSCOPE_VERSION, v6 ? "[" : "", o.addr, v6 ? "]" : "", port,
             pwr ? pw.pw_name : "?", (unsigned)uid, o.threads,
             srv.web_dir ? srv.web_dir : "none", srv.experiments_enabled ? "on" : "off",
             token ? "token" : "none", srv.features.pfn_readable ? "visible" : "hidden",
             srv.features.pagemap_scan ? "yes" : "no");

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Order matters: release parked event streams, close every connection, then end the labs. */
    routes_exp_stop();
    MHD_stop_daemon(d);
    http_stop();
    oomhist_detach(srv.oom);
    history_stop(&hist);
    experiments_free(&srv.exp);
    oomwatch_stop(&srv.oom);
    if (srv.cg_root_fd >= 0)
        close(srv.cg_root_fd);
    listcache_clear();
    routes_fast_clear();
    if (srv.web_fd >= 0)
        close(srv.web_fd);
    free(token);
    metrics_select_free(&o.msel);
    log_info("stopped");
    return 0;
}
