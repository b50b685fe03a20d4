/* local.c - the subcommands that read /proc themselves: ps, maps, smaps, pagemap, translate.
 *
 * Each reads through core/ and, with --json, writes through server/encode.h, as the matching route
 * does; the checks on its arguments are the route's, with the same limits, so a command line and
 * a request that ask the same thing get the same answer or the same refusal. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/features.h"
#include "core/kpage.h"
#include "core/num.h"
#include "core/proc.h"
#include "core/proclist.h"
#include "core/rstream.h"
#include "core/smaps.h"
#include "core/system.h"
#include "core/translate.h"
#include "encode.h"
#include "jw.h"
#include "table.h"

/* The route's caps on /processes' limit and q. */
#define PS_MAX_LIMIT 100000
#define PS_MAX_QUERY 256

static int parse_pid(const cli_cmd *c, const char *s, int *pid)
{
    if (!ms_parse_pid(s, pid))
        return cli_usage(c, "PID must be a positive decimal number, got '%.32s'", s);
    return CLI_OK;
}

static int open_pid(int pid, int *dirfd)
{
    ms_err rc = ms_pid_open(pid, dirfd);
    return rc == MS_OK ? CLI_OK : cli_fail(rc, "opening /proc/%d", pid);
}

/* Writes a finished document; the writer's error (a cap, memory) fails the command. */
static int put_doc(jw *w, ms_buf *b)
{
    ms_err rc = jw_finish(w);
    int ret = rc == MS_OK ? cli_put_json(b) : cli_fail(rc, "encoding the answer");
    ms_buf_free(b);
    return ret;
}

static int put_table(tbl *t)
{
    ms_err rc = tbl_print(t, stdout);
    tbl_free(t);
    if (rc != MS_OK)
        return cli_fail(rc, "making the table");
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static uint64_t field_of(const ms_smaps_field *f, size_t nf, ms_smaps_field_id id)
{
    for (size_t k = 0; k < nf; k++)
        if (f[k].id == id && f[k].is_number)
            return f[k].value;
    return 0;
}

/* ---- ps ---- */

typedef struct {
    const ms_procinfo *p;
    bool has_roll;            /* smaps_rollup was read: pss and uss are known */
    uint64_t pss, uss;
} ps_row;

static int ps_sort_key;       /* qsort has no context: 0 rss, 1 pss, 2 uss, 3 swap */

static uint64_t ps_key(const ps_row *r)
{
    switch (ps_sort_key) {
    case 1: return r->pss;
    case 2: return r->uss;
    case 3: return r->p->vm_swap;
    default: return r->p->vm_rss;
    }
}

/* Biggest first; a process whose PSS could not be read goes last; ties by pid. */
static int ps_cmp(const void *a, const void *b)
{
    const ps_row *x = a, *y = b;
    bool need_roll = ps_sort_key == 1 || ps_sort_key == 2;
    if (need_roll && x->has_roll != y->has_roll)
        return x->has_roll ? -1 : 1;
    uint64_t kx = ps_key(x), ky = ps_key(y);
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return (x->p->pid > y->p->pid) - (x->p->pid < y->p->pid);
}

static void ps_read_rollup(ps_row *r)
{
    int dirfd;
    if (ms_pid_open(r->p->pid, &dirfd) != MS_OK)
        return;
    ms_smaps roll;
    ms_smaps_init(&roll);
    if (ms_smaps_rollup_read(dirfd, &roll) == MS_OK && roll.maps.nregions == 1) {
        ms_smaps_totals t;
        ms_smaps_totals_of(&roll, 0, 1, &t);
        r->has_roll = true;
        r->pss = t.v[MS_SF_PSS];
        r->uss = ms_smaps_uss(&t);
    }
    ms_smaps_free(&roll);
    close(dirfd);
}

static int ps_table(const ms_proclist *l, size_t limit, bool roll)
{
    ps_row *rows = calloc(l->n ? l->n : 1, sizeof *rows);
    if (!rows)
        return cli_fail(MS_ERR_NOMEM, "listing processes");
    for (size_t i = 0; i < l->n; i++) {
        rows[i].p = &l->p[i];
        if (roll)
            ps_read_rollup(&rows[i]);
    }
    qsort(rows, l->n, sizeof *rows, ps_cmp);
    static const char *const head_roll[] = {"PID", "USER", "S", "THR", "VIRT", "RSS", "PSS", "USS", "SWAP", "COMMAND"};
    static const char *const head[] = {"PID", "USER", "S", "THR", "VIRT", "RSS", "SWAP", "COMMAND"};
    tbl t;
    if (roll)
        tbl_init(&t, 10, head_roll, "rllrrrrrrl");
    else
        tbl_init(&t, 8, head, "rllrrrrl");
    enc_user_cache uc = {.n = 0};
    size_t n = l->n < limit ? l->n : limit;
    for (size_t i = 0; i < n; i++) {
        const ms_procinfo *p = rows[i].p;
        char pid[24], thr[24], virt[24], rss[24], pss[24], uss[24], swap[24], state[2] = {p->state, 0};
        char cmd[128];
        const char *command = p->cmdline && *p->cmdline ? p->cmdline : cmd;
        snprintf(cmd, sizeof cmd, "[%s]", p->name);
        snprintf(pid, sizeof pid, "%d", p->pid);
        const char *user = enc_cached_user(&uc, p->uid);
        tbl_u64(p->threads, thr);
        tbl_size(p->vm_size, virt);
        tbl_size(p->vm_rss, rss);
        tbl_size(p->vm_swap, swap);
        if (roll) {
            const char *cells[] = {pid, user, state, thr, virt, rss,
                                   rows[i].has_roll ? tbl_size(rows[i].pss, pss) : "-",
                                   rows[i].has_roll ? tbl_size(rows[i].uss, uss) : "-", swap, command};
            tbl_row(&t, cells);
        } else {
            const char *cells[] = {pid, user, state, thr, virt, rss, swap, command};
            tbl_row(&t, cells);
        }
    }
    free(rows);
    return put_table(&t);
}

int cmd_ps(const cli_cmd *c, cli_opts *o)
{
    static const char *const keys[] = {"rss", "pss", "uss", "swap"};
    ps_sort_key = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(o->sort ? o->sort : "rss", keys[i]))
            ps_sort_key = i;
    if (ps_sort_key < 0)
        return cli_usage(c, "--sort must be rss, pss, uss or swap, got '%.32s'", o->sort);
    uint64_t limit = PS_MAX_LIMIT;
    if (o->limit && (!ms_parse_u64(o->limit, PS_MAX_LIMIT, &limit) || limit == 0))
        return cli_usage(c, "--limit must be an integer from 1 to %d, got '%.32s'", PS_MAX_LIMIT, o->limit);
    if (o->name && strlen(o->name) > PS_MAX_QUERY)
        return cli_usage(c, "--name is longer than %d bytes", PS_MAX_QUERY);
    bool roll = ps_sort_key == 1 || ps_sort_key == 2;
    if (o->json && roll)
        return cli_usage(c, "--json lists by rss or swap only: the API's process list has no PSS or USS");
    ms_proclist l;
    ms_err rc = ms_proclist_read(NULL, o->name && *o->name ? o->name : NULL, &l);
    if (rc != MS_OK)
        return cli_fail(rc, "listing /proc");
    int ret;
    if (o->json) {
        ms_proclist_sort(&l, ps_sort_key == 3 ? MS_PSORT_VM_SWAP : MS_PSORT_VM_RSS, true);
        ms_buf b;
        ms_buf_init(&b, 0);
        jw w;
        jw_init(&w, &b);
        enc_processes(&w, &l, l.n < limit ? l.n : (size_t)limit, 0);
        ret = put_doc(&w, &b);
    } else {
        ret = ps_table(&l, (size_t)limit, roll);
    }
    ms_proclist_free(&l);
    return ret;
}

/* ---- maps and smaps ---- */

/* The whole /maps or /smaps document, written as it is read, as the route streams it. */
static int regions_json(int pid, int dirfd, bool smaps)
{
    ms_sysinfo si;
    ms_err rc = ms_sysinfo_read(&si);
    enc_regions *x;
    if (rc == MS_OK)
        rc = enc_regions_open(dirfd, pid, smaps, (uint64_t)si.page_size, &x);
    if (rc != MS_OK)
        return cli_fail(rc, "reading %s of %d", smaps ? "smaps" : "maps", pid);
    ms_buf b;
    ms_buf_init(&b, 0);
    bool done = false;
    while (!done && rc == MS_OK) {
        ms_buf_reset(&b);
        rc = enc_regions_fill(x, &b, 64 * 1024, &done);
        if (b.len)
            fwrite(b.data, 1, b.len, stdout);
    }
    enc_regions_close(x);
    ms_buf_free(&b);   /* empty now: cli_put_json adds just the newline */
    if (rc != MS_OK) {
        fputc('\n', stdout);
        fflush(stdout);
        return cli_fail(rc, "reading %s of %d", smaps ? "smaps" : "maps", pid);
    }
    return cli_put_json(&b);
}

/* The accounting columns of a smaps table, from summed fields; private is the USS. */
typedef struct {
    char rss[24], pss[24], priv[24], shared[24], swap[24];
} acct_cells;

static const acct_cells *acct_of(const ms_smaps_totals *t, acct_cells *c)
{
    tbl_size(t->v[MS_SF_RSS], c->rss);
    tbl_size(t->v[MS_SF_PSS], c->pss);
    tbl_size(ms_smaps_uss(t), c->priv);
    tbl_size(t->v[MS_SF_SHARED_CLEAN] + t->v[MS_SF_SHARED_DIRTY] + t->v[MS_SF_SHARED_HUGETLB], c->shared);
    tbl_size(t->v[MS_SF_SWAP], c->swap);
    return c;
}

/* The table of regions.  smaps: also RSS, PSS, private, shared, swap (full) or RSS and dirty
 * (pmap -x's columns: full false). */
static int regions_table(int pid, int dirfd, bool smaps, bool full)
{
    ms_sysinfo si;
    ms_rstream *rs;
    ms_err rc = ms_sysinfo_read(&si);
    if (rc == MS_OK)
        rc = ms_rstream_open(dirfd, smaps ? "smaps" : "maps", (uint64_t)si.page_size, 0, &rs);
    if (rc != MS_OK) {
        close(dirfd);
        return cli_fail(rc, "reading %s of %d", smaps ? "smaps" : "maps", pid);
    }
    static const char *const h_maps[] = {"ADDRESS", "SIZE", "PERM", "KIND", "PATH"};
    static const char *const h_rss[] = {"ADDRESS", "SIZE", "RSS", "DIRTY", "PERM", "KIND", "PATH"};
    static const char *const h_full[] = {"ADDRESS", "SIZE", "RSS", "PSS", "PRIVATE", "SHARED", "SWAP", "KIND", "PATH"};
    tbl t;
    if (!smaps)
        tbl_init(&t, 5, h_maps, "lrlll");
    else if (!full)
        tbl_init(&t, 7, h_rss, "lrrrlll");
    else
        tbl_init(&t, 9, h_full, "lrrrrrrll");
    ms_smaps_totals all = {0};
    uint64_t size = 0;
    for (;;) {
        const ms_region *g;
        const ms_smaps_field *fl;
        size_t nf;
        rc = ms_rstream_next(rs, &g, &fl, &nf);
        if (rc != MS_OK || !g)
            break;
        char addr[24], sz[24], a[24], b[24], path[4200];
        snprintf(path, sizeof path, "%.*s", (int)(g->path_len < 4096 ? g->path_len : 4096), g->path);
        tbl_hex(g->start, addr);
        tbl_size(g->end - g->start, sz);
        size += g->end - g->start;
        const char *kind = ms_region_kind_name(g->kind);
        if (!smaps) {
            const char *cells[] = {addr, sz, g->perms, kind, path};
            tbl_row(&t, cells);
            continue;
        }
        ms_smaps_totals one = {0};
        ms_smaps_totals_add(&one, fl, nf);
        ms_smaps_totals_add(&all, fl, nf);
        tbl_size(field_of(fl, nf, MS_SF_RSS), a);
        if (!full) {
            tbl_size(field_of(fl, nf, MS_SF_SHARED_DIRTY) + field_of(fl, nf, MS_SF_PRIVATE_DIRTY), b);
            const char *cells[] = {addr, sz, a, b, g->perms, kind, path};
            tbl_row(&t, cells);
            continue;
        }
        acct_cells x;
        acct_of(&one, &x);
        const char *cells[] = {addr, sz, x.rss, x.pss, x.priv, x.shared, x.swap, kind, path};
        tbl_row(&t, cells);
    }
    size_t count = ms_rstream_count(rs);
    ms_rstream_close(rs);
    close(dirfd);
    if (rc != MS_OK) {
        tbl_free(&t);
        return cli_fail(rc, "reading %s of %d", smaps ? "smaps" : "maps", pid);
    }
    char sz[24], a[24], b[24], nreg[40];
    snprintf(nreg, sizeof nreg, "%zu regions", count);
    tbl_size(size, sz);
    if (!smaps) {
        const char *cells[] = {"total", sz, "", "", nreg};
        tbl_row(&t, cells);
    } else if (!full) {
        tbl_size(all.v[MS_SF_RSS], a);
        tbl_size(all.v[MS_SF_SHARED_DIRTY] + all.v[MS_SF_PRIVATE_DIRTY], b);
        const char *cells[] = {"total", sz, a, b, "", "", nreg};
        tbl_row(&t, cells);
    } else {
        acct_cells x;
        acct_of(&all, &x);
        char label[96];
        snprintf(label, sizeof label, "%s (USS: the PRIVATE total)", nreg);
        const char *cells[] = {"total", sz, x.rss, x.pss, x.priv, x.shared, x.swap, "", label};
        tbl_row(&t, cells);
    }
    return put_table(&t);
}

int cmd_maps(const cli_cmd *c, cli_opts *o)
{
    int pid, dirfd, rc;
    if ((rc = parse_pid(c, o->pos[0], &pid)) != CLI_OK)
        return rc;
    if (o->json && o->rss)
        return cli_usage(c, "--rss has no --json: memscope smaps PID --json has every smaps figure "
                            "(the API's /maps?rss=1 has resident bytes alone)");
    if ((rc = open_pid(pid, &dirfd)) != CLI_OK)
        return rc;
    if (o->json)
        return regions_json(pid, dirfd, false);
    return regions_table(pid, dirfd, o->rss, false);
}

static const ms_smaps_group *group_base;

/* Groups by RSS, biggest first; ties in the order the files first appear. */
static int group_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    uint64_t rx = group_base[*x].totals.v[MS_SF_RSS], ry = group_base[*y].totals.v[MS_SF_RSS];
    if (rx != ry)
        return rx > ry ? -1 : 1;
    return (*x > *y) - (*x < *y);
}

static int groups_table(size_t count, const ms_smaps_totals *all, const ms_smaps_group *g, size_t ng)
{
    size_t *order = malloc((ng ? ng : 1) * sizeof *order);
    if (!order)
        return cli_fail(MS_ERR_NOMEM, "grouping");
    for (size_t i = 0; i < ng; i++)
        order[i] = i;
    group_base = g;
    qsort(order, ng, sizeof *order, group_cmp);
    static const char *const head[] = {"REGIONS", "SIZE", "RSS", "PSS", "PRIVATE", "SWAP", "PATH"};
    tbl t;
    tbl_init(&t, 7, head, "rrrrrrl");
    for (size_t k = 0; k < ng; k++) {
        const ms_smaps_group *x = &g[order[k]];
        char n[24], sz[24], path[4200];
        acct_cells ac;
        acct_of(&x->totals, &ac);
        if (x->path_len)
            snprintf(path, sizeof path, "%.*s", (int)(x->path_len < 4096 ? x->path_len : 4096), x->path);
        else
            snprintf(path, sizeof path, "[anonymous]");
        const char *cells[] = {tbl_u64(x->nregions, n), tbl_size(x->size, sz), ac.rss, ac.pss, ac.priv, ac.swap, path};
        tbl_row(&t, cells);
    }
    free(order);
    uint64_t size = 0;
    for (size_t i = 0; i < ng; i++)
        size += g[i].size;
    char n[24], sz[24], label[64];
    acct_cells ac;
    acct_of(all, &ac);
    snprintf(label, sizeof label, "total, %zu files (USS: the PRIVATE total)", ng);
    const char *cells[] = {tbl_u64(count, n), tbl_size(size, sz), ac.rss, ac.pss, ac.priv, ac.swap, label};
    tbl_row(&t, cells);
    return put_table(&t);
}

int cmd_smaps(const cli_cmd *c, cli_opts *o)
{
    int pid, dirfd, rc;
    if ((rc = parse_pid(c, o->pos[0], &pid)) != CLI_OK)
        return rc;
    if (o->group && strcmp(o->group, "path") != 0)
        return cli_usage(c, "--group must be 'path', got '%.32s'", o->group);
    if ((rc = open_pid(pid, &dirfd)) != CLI_OK)
        return rc;
    if (!o->group)
        return o->json ? regions_json(pid, dirfd, true) : regions_table(pid, dirfd, true, true);
    /* Summed per path while the file streams by, as the route does. */
    ms_sysinfo si;
    ms_smaps_grouper *g = NULL;
    size_t count, ng;
    ms_smaps_totals t;
    ms_err err = ms_sysinfo_read(&si);
    if (err == MS_OK)
        err = ms_rstream_group_by_path(dirfd, (uint64_t)si.page_size, &g, &count, &t);
    if (err != MS_OK) {
        close(dirfd);
        return cli_fail(err, "reading smaps of %d", pid);
    }
    ms_mm_state mm = count ? MS_MM_PRESENT : ms_pid_mm_state(dirfd);
    close(dirfd);
    const ms_smaps_group *groups = ms_smaps_grouper_groups(g, &ng);
    if (o->json) {
        ms_buf b;
        ms_buf_init(&b, 0);
        jw w;
        jw_init(&w, &b);
        enc_smaps_grouped(&w, pid, count, &t, &mm, groups, ng);
        rc = put_doc(&w, &b);
    } else {
        rc = groups_table(count, &t, groups, ng);
    }
    ms_smaps_grouper_free(&g);
    return rc;
}

/* ---- pagemap and translate ---- */

static int parse_addr(const cli_cmd *c, const char *what, const char *s, uint64_t *out)
{
    if (!ms_parse_addr(s, out))
        return cli_usage(c, "%s must be a hex address like 0x7f0000000000, got '%.40s'", what, s);
    return CLI_OK;
}

static void pagemap_print(const ms_pm_summary *sum, uint64_t start, uint64_t end, uint64_t ps)
{
    char a[24], b[24];
    printf("range      %s-%s (%s, %" PRIu64 " pages of %" PRIu64 " bytes), read with %s\n",
           tbl_hex(start, a), tbl_hex(end, b), tbl_size(end - start, b), sum->pages, ps,
           sum->used == MS_PM_SCAN ? "PAGEMAP_SCAN" : "pread");
    struct { const char *name; bool known; uint64_t v; const char *why; } rows[] = {
        {"present", true, sum->present, NULL},
        {"swapped", true, sum->swapped, NULL},
        {"zero page", sum->has_zero_page, sum->zero_page, "needs frame numbers on the pread path"},
        {"file/shared", true, sum->file_or_shared, NULL},
        {"exclusive", sum->has_exclusive, sum->exclusive, "PAGEMAP_SCAN cannot tell: --method pread"},
        {"huge", sum->has_huge, sum->huge, "needs /proc/kpageflags on the pread path"},
        {"soft-dirty", sum->has_soft_dirty, sum->soft_dirty, "this kernel does not track it"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].known)
            printf("%-10s %" PRIu64 " pages (%s)\n", rows[i].name, rows[i].v, tbl_size(rows[i].v * ps, a));
        else
            printf("%-10s unknown: %s\n", rows[i].name, rows[i].why);
    }
    putchar('\n');
}

int cmd_pagemap(const cli_cmd *c, cli_opts *o)
{
    int pid, dirfd, rc;
    uint64_t start, end;
    if ((rc = parse_pid(c, o->pos[0], &pid)) != CLI_OK || (rc = parse_addr(c, "START", o->pos[1], &start)) != CLI_OK ||
        (rc = parse_addr(c, "END", o->pos[2], &end)) != CLI_OK)
        return rc;
    ms_features f;
    ms_features_probe(&f);
    ms_sysinfo si;
    ms_err err = ms_sysinfo_read(&si);
    if (err != MS_OK)
        return cli_fail(err, "reading system settings");
    uint64_t ps = (uint64_t)si.page_size;
    if (start >= end)
        return cli_usage(c, "START must be below END");
    if (start % ps || end % ps)
        return cli_usage(c, "START and END must be multiples of the page size (%" PRIu64 ")", ps);
    if (end > si.user_space_top)
        return cli_usage(c, "END is above the top of the user address space (0x%" PRIx64 ")", si.user_space_top);
    ms_pm_opts po = {.method = MS_PM_AUTO, .max_runs = PAGEMAP_MAX_RUNS + 1};
    if (o->method) {
        if (!strcmp(o->method, "scan")) po.method = MS_PM_SCAN;
        else if (!strcmp(o->method, "pread")) po.method = MS_PM_PREAD;
        else if (strcmp(o->method, "auto") != 0)
            return cli_usage(c, "--method must be auto, scan or pread");
    }
    bool will_pread = po.method == MS_PM_PREAD || (po.method == MS_PM_AUTO && !f.pagemap_scan);
    if (will_pread && (end - start) / ps * 8 > PAGEMAP_PREAD_MAX_BYTES / 4096 * 8)
        return cli_usage(c, "reading pagemap entry by entry is capped at %" PRIu64 " GiB at once; "
                            "ask for a smaller range or use --method scan", PAGEMAP_PREAD_MAX_BYTES >> 30);
    if ((rc = open_pid(pid, &dirfd)) != CLI_OK)
        return rc;
    ms_pm_summary sum;
    err = ms_pm_summarize(dirfd, start, end, &po, &sum);
    close(dirfd);
    if (err != MS_OK)
        return cli_fail(err, "reading pagemap of %d", pid);
    if (sum.runs_truncated || sum.nruns > PAGEMAP_MAX_RUNS) {
        ms_pm_summary_free(&sum);
        return cli_usage(c, "this range has more than %d runs; ask for a smaller range", PAGEMAP_MAX_RUNS);
    }
    if (o->json) {
        ms_buf b;
        ms_buf_init(&b, 0);
        jw w;
        jw_init(&w, &b);
        enc_pagemap_doc d = {.pid = pid, .start = start, .end = end, .page_size = ps, .sum = &sum,
                             .runs = true};
        enc_pagemap(&w, &d);
        rc = put_doc(&w, &b);
    } else {
        pagemap_print(&sum, start, end, ps);
        static const char *const head[] = {"START", "END", "SIZE", "PAGES", "STATE"};
        tbl t;
        tbl_init(&t, 5, head, "llrrl");
        for (size_t i = 0; i < sum.nruns; i++) {
            const ms_pm_run *r = &sum.runs[i];
            char a[24], b[24], sz[24], n[24];
            const char *cells[] = {tbl_hex(r->start, a), tbl_hex(r->end, b), tbl_size(r->end - r->start, sz),
                                   tbl_u64((r->end - r->start) / ps, n), ms_pm_state_name((ms_pm_state)r->state)};
            tbl_row(&t, cells);
        }
        rc = put_table(&t);
    }
    ms_pm_summary_free(&sum);
    return rc;
}

static void translate_print(const ms_translation *t)
{
    char a[24], b[24], c[24];
    const ms_pm_frame *fr = &t->frame;
    printf("address     %s\n", tbl_hex(t->addr, a));
    printf("page        number %" PRIu64 " (%s), offset %" PRIu64 " (%s), page size %s\n", t->page_number,
           tbl_hex(t->page_number, a), t->page_offset, tbl_hex(t->page_offset, b), tbl_size(t->page_size, c));
    if (t->in_region)
        printf("region      %s-%s %s %s %.*s\n", tbl_hex(t->region.start, a), tbl_hex(t->region.end, b),
               t->region.perms, ms_region_kind_name(t->region.kind),
               (int)(t->region.path_len < 4096 ? t->region.path_len : 4096), t->region.path);
    else
        printf("region      none\n");
    printf("page state  %s%s%s%s\n", fr->present ? "present" : fr->swapped ? "swapped" : "not present",
           fr->file_or_shared ? ", file or shared" : "", fr->exclusive ? ", mapped once" : "",
           fr->soft_dirty ? ", soft-dirty" : "");
    if (fr->pfn_known)
        printf("frame       %" PRIu64 " (%s)\n", fr->pfn, tbl_hex(fr->pfn, a));
    else if (fr->pfn_hidden_reason)
        printf("frame       hidden: %s\n", fr->pfn_hidden_reason);
    if (fr->swapped)
        printf("swap        type %" PRIu64 ", offset %" PRIu64 "\n", fr->swap_type, fr->swap_offset);
    if (fr->kflags_known) {
        printf("flags      ");
        for (unsigned bit = 0; bit < 64; bit++)
            if (fr->kflags & (1ULL << bit)) {
                const char *n = ms_kpageflag_name(bit);
                if (n)
                    printf(" %s", n);
                else
                    printf(" bit%u", bit);
            }
        putchar('\n');
    }
    if (fr->mapcount_known)
        printf("mapcount    %" PRIu64 "\n", fr->mapcount);
    if (t->phys_known)
        printf("physical    %s\n", tbl_hex(t->phys_addr, a));
    printf("\n%s\n", enc_translation_explain(t));
}

int cmd_translate(const cli_cmd *c, cli_opts *o)
{
    int pid, dirfd, rc;
    uint64_t addr;
    if ((rc = parse_pid(c, o->pos[0], &pid)) != CLI_OK || (rc = parse_addr(c, "ADDR", o->pos[1], &addr)) != CLI_OK)
        return rc;
    ms_sysinfo si;
    ms_err err = ms_sysinfo_read(&si);
    if (err != MS_OK)
        return cli_fail(err, "reading system settings");
    if (addr >= si.user_space_top)
        return cli_usage(c, "ADDR is above the top of the user address space (0x%" PRIx64 "): kernel space",
                         si.user_space_top);
    if ((rc = open_pid(pid, &dirfd)) != CLI_OK)
        return rc;
    ms_translation *t = malloc(sizeof *t);
    if (!t) {
        close(dirfd);
        return cli_fail(MS_ERR_NOMEM, "translating");
    }
    err = ms_translate(dirfd, addr, t);
    close(dirfd);
    if (err != MS_OK) {
        rc = cli_fail(err, "translating 0x%" PRIx64 " in %d", addr, pid);
    } else if (o->json) {
        ms_buf b;
        ms_buf_init(&b, 0);
        jw w;
        jw_init(&w, &b);
        enc_translation(&w, pid, addr, t);
        rc = put_doc(&w, &b);
    } else {
        translate_print(t);
        rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
    free(t);
    return rc;
}
