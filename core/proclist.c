/* proclist.c - the process list: one entry per /proc/<pid> from status, stat and cmdline only
 * (and cgroup, for the container); the cheap mode from status and stat alone.
 *
 * It must stay cheap with thousands of processes, so a walk reuses one buffer (and one kv array)
 * for every file of every process and allocates only each kept process's cmdline string.  smaps is
 * never read here.  Processes come and go during a walk: one that vanishes is left out silently,
 * one that cannot be read for another reason is left out and counted. */
#include "proclist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "stat.h"
#include "status.h"

/* The process's memory cgroup and container.  A cgroup file that cannot be read or parsed leaves
 * them unknown: the rest of the entry stands. */
static ms_err cgroup_fill(int dirfd, ms_status *scratch, ms_procinfo *out)
{
    ms_cg_membership m;
    const char *path;
    if (ms_read_file_at(dirfd, "cgroup", &scratch->buf) != MS_OK ||
        ms_cg_membership_parse(scratch->buf.data ? scratch->buf.data : "", scratch->buf.len, &m) != MS_OK ||
        !ms_cg_membership_memory(&m, &path, &out->container))
        return MS_OK;
    out->cgroup = strdup(path);
    return out->cgroup ? MS_OK : MS_ERR_NOMEM;
}

/* Fills *out from the files under dirfd, reading each into scratch->buf in turn.  *keep is false
 * when q is given and matches neither the name nor the cmdline (nothing is then allocated).  The
 * cheap mode stops after stat: status and stat hold every figure, cmdline and cgroup only names. */
static ms_err procinfo_fill(int dirfd, int pid, const char *q, bool cheap, ms_status *scratch,
                            ms_procinfo *out, bool *keep)
{
    ms_err rc;
    ms_stat st;

    memset(out, 0, sizeof *out);
    *keep = false;
    rc = ms_status_read(dirfd, scratch);
    if (rc != MS_OK)
        goto out;
    out->ppid = scratch->ppid;
    out->uid = scratch->uid_real;
    out->state = scratch->state;
    out->threads = scratch->threads;
    out->vm_size = scratch->vm_size;
    out->vm_rss = scratch->vm_rss;
    out->rss_anon = scratch->rss_anon;
    out->rss_file = scratch->rss_file;
    out->rss_shmem = scratch->rss_shmem;
    out->vm_swap = scratch->vm_swap;

    rc = ms_read_file_at(dirfd, "stat", &scratch->buf);
    if (rc != MS_OK)
        goto out;
    rc = ms_stat_parse(scratch->buf.data, scratch->buf.len, &st);
    if (rc != MS_OK)
        goto out;
    out->pid = pid > 0 ? pid : st.pid;
    /* stat's comm is the name unescaped (status escapes '\n' and '\\'); the JSON layer escapes. */
    memcpy(out->name, st.comm, sizeof out->name);
    out->kernel_thread = ms_stat_is_kthread(&st);
    out->minflt = st.minflt;
    out->majflt = st.majflt;
    out->starttime = st.starttime;
    if (cheap) {
        *keep = true;
        goto out;
    }

    ms_buf_reset(&scratch->buf);
    rc = ms_buf_reserve(&scratch->buf, MS_CMDLINE_MAX + 1);
    if (rc != MS_OK)
        goto out;
    rc = ms_cmdline_read(dirfd, scratch->buf.data, MS_CMDLINE_MAX + 1, &out->cmdline_truncated);
    if (rc != MS_OK)
        goto out;
    if (q && !strstr(out->name, q) && !strstr(scratch->buf.data, q))
        goto out;
    out->cmdline = strdup(scratch->buf.data);
    if (!out->cmdline) {
        rc = MS_ERR_NOMEM;
        goto out;
    }
    rc = cgroup_fill(dirfd, scratch, out);
    if (rc != MS_OK) {
        ms_procinfo_free(out);   /* a failed entry owns nothing */
        goto out;
    }
    *keep = true;
out:
    return rc;
}

static ms_err procinfo_read(int dirfd, int pid, bool cheap, ms_procinfo *out)
{
    ms_status scratch;
    bool keep;
    ms_status_init(&scratch);
    ms_err rc = procinfo_fill(dirfd, pid, NULL, cheap, &scratch, out, &keep);
    ms_status_free(&scratch);
    return rc;
}

ms_err ms_procinfo_read(int dirfd, int pid, ms_procinfo *out)
{
    return procinfo_read(dirfd, pid, false, out);
}

ms_err ms_procinfo_read_cheap(int dirfd, int pid, ms_procinfo *out)
{
    return procinfo_read(dirfd, pid, true, out);
}

void ms_procinfo_free(ms_procinfo *p)
{
    free(p->cmdline);
    p->cmdline = NULL;
    free(p->cgroup);
    p->cgroup = NULL;
}

void ms_proclist_free(ms_proclist *l)
{
    for (size_t i = 0; i < l->n; i++)
        ms_procinfo_free(&l->p[i]);
    free(l->p);
    l->p = NULL;
    l->n = l->cap = 0;
}

/* A /proc entry name that is a pid: all digits, no leading zero, fits an int. */
static bool pid_name(const char *s, int *pid)
{
    uint64_t v = 0;
    if (s[0] < '1' || s[0] > '9')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > INT32_MAX)
            return false;
    }
    *pid = (int)v;
    return true;
}

static ms_err proclist_walk(const char *procroot, const char *q, bool cheap, ms_proclist *out)
{
    ms_err rc = MS_OK;
    ms_status scratch;
    DIR *d = NULL;
    ms_procinfo pi;

    memset(out, 0, sizeof *out);
    memset(&pi, 0, sizeof pi);
    ms_status_init(&scratch);
    d = opendir(procroot ? procroot : "/proc");
    if (!d) {
        rc = ms_err_from_errno(errno);
        goto out;
    }
    int rootfd = dirfd(d);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                rc = ms_err_from_errno(errno);
                goto out;
            }
            break;
        }
        int pid;
        if (!pid_name(de->d_name, &pid))
            continue;
        /* openat from the /proc descriptor is ms_pid_open without re-resolving "/proc" per process,
         * and lets tests walk a fixture directory laid out like /proc. */
        int fd = openat(rootfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ms_err one = fd < 0 ? ms_err_from_errno(errno) : MS_OK;
        bool keep = false;
        if (one == MS_OK) {
            one = procinfo_fill(fd, pid, q, cheap, &scratch, &pi, &keep);
            close(fd);
        }
        if (one == MS_ERR_NOMEM) {
            rc = one;
            goto out;
        }
        if (one == MS_ERR_NOENT) {
            out->vanished++;
            continue;
        }
        if (one != MS_OK) {
            out->skipped++;
            out->last_skip_err = one;
            continue;
        }
        if (!keep)
            continue;
        if ((rc = ms_grow((void **)&out->p, &out->cap, out->n + 1, sizeof *out->p, 256, 0)) != MS_OK)
            goto out;
        out->p[out->n++] = pi;
        pi.cmdline = NULL;   /* now owned by the list */
        pi.cgroup = NULL;
    }
out:
    ms_procinfo_free(&pi);
    if (d)
        closedir(d);
    ms_status_free(&scratch);
    if (rc != MS_OK)
        ms_proclist_free(out);
    return rc;
}

ms_err ms_proclist_read(const char *procroot, const char *q, ms_proclist *out)
{
    return proclist_walk(procroot, q, false, out);
}

ms_err ms_proclist_read_cheap(const char *procroot, ms_proclist *out)
{
    return proclist_walk(procroot, NULL, true, out);
}

typedef struct {
    ms_psort key;
    bool desc;
} sort_ctx;

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int proc_cmp(const void *va, const void *vb, void *vctx)
{
    const ms_procinfo *a = va, *b = vb;
    const sort_ctx *c = vctx;
    int r = 0;
    switch (c->key) {
    case MS_PSORT_PID: r = CMP(a->pid, b->pid); break;
    case MS_PSORT_PPID: r = CMP(a->ppid, b->ppid); break;
    case MS_PSORT_NAME: r = strcmp(a->name, b->name); r = CMP(r, 0); break;
    case MS_PSORT_UID: r = CMP(a->uid, b->uid); break;
    case MS_PSORT_STATE: r = CMP((unsigned char)a->state, (unsigned char)b->state); break;
    case MS_PSORT_THREADS: r = CMP(a->threads, b->threads); break;
    case MS_PSORT_VM_SIZE: r = CMP(a->vm_size, b->vm_size); break;
    case MS_PSORT_VM_RSS: r = CMP(a->vm_rss, b->vm_rss); break;
    case MS_PSORT_RSS_ANON: r = CMP(a->rss_anon, b->rss_anon); break;
    case MS_PSORT_RSS_FILE: r = CMP(a->rss_file, b->rss_file); break;
    case MS_PSORT_RSS_SHMEM: r = CMP(a->rss_shmem, b->rss_shmem); break;
    case MS_PSORT_VM_SWAP: r = CMP(a->vm_swap, b->vm_swap); break;
    case MS_PSORT_MINFLT: r = CMP(a->minflt, b->minflt); break;
    case MS_PSORT_MAJFLT: r = CMP(a->majflt, b->majflt); break;
    }
    if (c->desc)
        r = -r;
    /* Ties always go by ascending pid, whatever the order: pids are unique, so the order is total
     * and the result is the same as a stable sort of a pid-ordered list. */
    if (r == 0)
        r = CMP(a->pid, b->pid);
    return r;
}

void ms_proclist_sort(ms_proclist *l, ms_psort key, bool desc)
{
    sort_ctx c = {key, desc};
    if (l->n > 1)
        qsort_r(l->p, l->n, sizeof *l->p, proc_cmp, &c);
}

bool ms_psort_from_name(const char *name, ms_psort *out)
{
    static const struct { const char *name; ms_psort key; } names[] = {
        {"pid", MS_PSORT_PID},           {"ppid", MS_PSORT_PPID},
        {"name", MS_PSORT_NAME},         {"uid", MS_PSORT_UID},
        {"state", MS_PSORT_STATE},       {"threads", MS_PSORT_THREADS},
        {"vm_size", MS_PSORT_VM_SIZE},   {"vm_rss", MS_PSORT_VM_RSS},
        {"rss_anon", MS_PSORT_RSS_ANON}, {"rss_file", MS_PSORT_RSS_FILE},
        {"rss_shmem", MS_PSORT_RSS_SHMEM}, {"vm_swap", MS_PSORT_VM_SWAP},
        {"minflt", MS_PSORT_MINFLT},     {"majflt", MS_PSORT_MAJFLT},
    };
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].key;
            return true;
        }
    }
    return false;
}
