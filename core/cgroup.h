/* cgroup.h - memory cgroups: which cgroup a process is in, what a cgroup's memory files say, which
 * container a cgroup path belongs to, and where the memory hierarchy is mounted.
 *
 * cgroup v1 (a "memory" controller hierarchy of its own) and v2 (the unified hierarchy) name the
 * same facts differently: memory.usage_in_bytes / memory.current, memory.limit_in_bytes /
 * memory.max.  One struct holds either; each value keeps the kernel's file name beside it and the
 * struct says its version, so nothing is renamed on the way to the user.  Every read works from a
 * directory descriptor of the cgroup (as the /proc readers do from /proc/<pid>), so a test passes
 * a recorded tree instead of /sys/fs/cgroup. */
#ifndef MEMSCOPE_CGROUP_H
#define MEMSCOPE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* A cgroup path as the kernel prints it ("/system.slice/foo.service"), NUL-terminated. */
#define MS_CG_PATH_MAX 1024

/* ---- /proc/<pid>/cgroup ---- */

typedef struct {
    bool has_v1_memory;               /* a "N:...memory...:/path" line */
    bool has_v2;                      /* the "0::/path" line */
    char v1_memory[MS_CG_PATH_MAX];
    char v2[MS_CG_PATH_MAX];
} ms_cg_membership;

/* Parses the text of /proc/<pid>/cgroup.  MS_ERR_PARSE for a line without two ':', MS_ERR_TOOBIG
 * for a path longer than MS_CG_PATH_MAX - 1. */
ms_err ms_cg_membership_parse(const char *text, size_t len, ms_cg_membership *out);
ms_err ms_cg_membership_read(int pid_dirfd, ms_cg_membership *out);

/* ---- the hierarchy ---- */

typedef struct {
    int version;                      /* 1 or 2 */
    char root[MS_CG_PATH_MAX];        /* the directory of the root memory cgroup */
    bool hybrid;                      /* v1 memory controller beside a v2 hierarchy without it */
} ms_cg_hier;

/* Finds the hierarchy that has the memory controller.  root_dir NULL: from /proc/self/mountinfo
 * (a "cgroup" mount whose options name memory, else a "cgroup2" mount whose cgroup.controllers
 * lists memory).  root_dir given (--cgroup-root): that directory if it is itself a memory
 * hierarchy (memory.usage_in_bytes: v1; cgroup.controllers with memory: v2), else its memory/
 * (v1) or unified/ (v2) child.  MS_ERR_UNSUPPORTED when no memory controller is found. */
ms_err ms_cg_hier_find(const char *root_dir, ms_cg_hier *out);
/* mountinfo text -> the memory hierarchy's mount point (as ms_cg_hier_find without root_dir). */
ms_err ms_cg_hier_from_mountinfo(const char *text, size_t len, ms_cg_hier *out);

/* Checks a cgroup path given by a user and normalises it to "/a/b" ("/" for the root):
 * MS_ERR_INVAL for "." or ".." components, empty components other than leading/trailing '/',
 * control characters, or more than MS_CG_PATH_MAX - 1 bytes. */
ms_err ms_cg_path_normalize(const char *in, char *out, size_t cap);
/* Opens a normalised cgroup path below root_fd one component at a time without following symlinks,
 * so the answer never leaves the hierarchy.  MS_ERR_NOENT when there is no such cgroup. */
ms_err ms_cg_open(int root_fd, const char *path, int *out_fd);

/* ---- a cgroup's memory files ---- */

/* The single-value files.  Each has one kernel name per version; NULL where that version has no
 * such file (v1 has no memory.high, v2 no failcnt). */
typedef enum {
    MS_CGV_USAGE,          /* memory.usage_in_bytes     | memory.current */
    MS_CGV_PEAK,           /* memory.max_usage_in_bytes | memory.peak */
    MS_CGV_LIMIT,          /* memory.limit_in_bytes     | memory.max */
    MS_CGV_HIGH,           /* -                         | memory.high */
    MS_CGV_LOW,            /* -                         | memory.low */
    MS_CGV_MIN,            /* -                         | memory.min */
    MS_CGV_SOFT_LIMIT,     /* memory.soft_limit_in_bytes| - */
    MS_CGV_SWAP_USAGE,     /* -                         | memory.swap.current */
    MS_CGV_SWAP_PEAK,      /* -                         | memory.swap.peak */
    MS_CGV_SWAP_LIMIT,     /* -                         | memory.swap.max */
    MS_CGV_MEMSW_USAGE,    /* memory.memsw.usage_in_bytes (memory + swap) | - */
    MS_CGV_MEMSW_PEAK,     /* memory.memsw.max_usage_in_bytes | - */
    MS_CGV_MEMSW_LIMIT,    /* memory.memsw.limit_in_bytes | - */
    MS_CGV_MEMSW_FAILCNT,  /* memory.memsw.failcnt | - */
    MS_CGV_FAILCNT,        /* memory.failcnt | - */
    MS_CGV_KMEM_USAGE,     /* memory.kmem.usage_in_bytes | - (v2 has it in memory.stat "kernel") */
    MS_CGV_KMEM_TCP_USAGE, /* memory.kmem.tcp.usage_in_bytes | - (v2: memory.stat "sock") */
    MS_CGV__COUNT
} ms_cgv_id;

typedef struct {
    bool present;             /* the file exists and was read */
    bool is_max;              /* v2 printed "max": no limit */
    uint64_t value;           /* bytes or a count; 0 when is_max */
} ms_cg_value;

/* One "name value" line of memory.stat, memory.events or memory.oom_control, kept as printed. */
typedef struct {
    char name[64];
    uint64_t value;
} ms_cg_field;

typedef struct {
    ms_cg_field *f;
    size_t n, cap;
    size_t skipped;           /* lines with a name of 64 bytes or more, or without a number */
} ms_cg_fields;

/* One line of memory.pressure: averages in hundredths of a percent, total in microseconds. */
typedef struct {
    bool present;
    uint32_t avg10, avg60, avg300;
    uint64_t total_us;
} ms_cg_psi;

typedef struct {
    int version;
    bool root;                /* the hierarchy's root (v1: has cgroup.sane_behavior; v2: no
                               * memory.current), whose usage the kernel counts differently */
    ms_cg_value v[MS_CGV__COUNT];
    ms_cg_fields stat;        /* memory.stat, every line in order */
    ms_cg_fields events;      /* v2 memory.events; v1 memory.oom_control */
    ms_cg_psi psi_some, psi_full;   /* v2 memory.pressure */
    uint32_t nprocs;          /* lines of cgroup.procs: processes directly in this cgroup */
} ms_cg_mem;

void ms_cg_mem_init(ms_cg_mem *m);
void ms_cg_mem_free(ms_cg_mem *m);
/* Reads every memory file of the cgroup at dirfd.  A file the kernel does not offer (memory.peak
 * before 5.19, memsw without swap accounting, anything at the root cgroup) stays !present.
 * MS_ERR_NOENT when the cgroup went away; the usage file is required otherwise (MS_ERR_PARSE). */
ms_err ms_cg_mem_read(int dirfd, int version, ms_cg_mem *m);
/* The same, reading of the one-number files only those in want (MS_CGV_BIT of each); the others
 * stay !present.  memory.stat, the events and the pressure are always read. */
#define MS_CGV_BIT(id) (1u << (id))
#define MS_CGV_ALL ((1u << MS_CGV__COUNT) - 1)
/* What ms_cg_split_of, ms_cg_limit and a cgroup's usage and peak need. */
#define MS_CGV_SUMMARY                                                                          \
    (MS_CGV_BIT(MS_CGV_USAGE) | MS_CGV_BIT(MS_CGV_PEAK) | MS_CGV_BIT(MS_CGV_LIMIT) |           \
     MS_CGV_BIT(MS_CGV_KMEM_USAGE))
ms_err ms_cg_mem_read_some(int dirfd, int version, unsigned want, ms_cg_mem *m);
/* The kernel's file name of a value for a version, or NULL. */
const char *ms_cgv_file(ms_cgv_id id, int version);
/* The API's name of a value ("usage", "limit", ...). */
const char *ms_cgv_name(ms_cgv_id id);
/* A field by name; false when absent. */
bool ms_cg_field_get(const ms_cg_fields *fs, const char *name, uint64_t *out);
/* OOM kills counted by the kernel (v2 memory.events oom_kill, v1 memory.oom_control oom_kill). */
bool ms_cg_oom_kills(const ms_cg_mem *m, uint64_t *out);
/* The limit in force, false when there is none: v2 "max", v1's PAGE_COUNTER_MAX figure. */
bool ms_cg_limit(const ms_cg_mem *m, uint64_t *out);

/* Parsers, pure: "name value" lines; memory.pressure; a one-number file ("max" allowed). */
ms_err ms_cg_fields_parse(const char *text, size_t len, ms_cg_fields *out);
ms_err ms_cg_psi_parse(const char *text, size_t len, ms_cg_psi *some, ms_cg_psi *full);
ms_err ms_cg_value_parse(const char *text, size_t len, ms_cg_value *out);
/* Pids listed in cgroup.procs of the cgroup at dirfd (malloc'ed; free *pids).  At most max. */
ms_err ms_cg_procs_read(int dirfd, int **pids, size_t *n, size_t max);

/* ---- where usage goes ---- */

/* How usage splits, from memory.stat (v2: anon, file, shmem, slab, kernel_stack, pagetables,
 * percpu, vmalloc, sock, zswap; v1: total_rss, total_cache, total_shmem, kmem usage).  The parts
 * are disjoint: file excludes shmem, which both versions count inside file/cache.  rest is what
 * no part explains, negative when the parts exceed usage (the kernel's per-cpu counters lag). */
typedef struct {
    uint64_t usage;
    uint64_t anon, file, file_active, file_inactive, shmem;
    uint64_t kernel, slab, kernel_stack, pagetables, percpu_vmalloc_other;
    uint64_t sock, zswap;
    bool has_kernel, has_sock;          /* v1 without kmem files, v1 sock (not part of usage) */
    int64_t rest;
} ms_cg_split;

ms_err ms_cg_split_of(const ms_cg_mem *m, ms_cg_split *out);

/* ---- containers ---- */

typedef struct {
    char runtime[16];         /* docker, podman, containerd, crio, cri (kubepods cgroupfs: runtime
                               * not in the path); "" when the path names a pod only */
    char id[65];              /* hex container id, "" when none */
    char pod_uid[37];         /* Kubernetes pod uid with dashes, "" when none */
} ms_container;

/* Recognises the container (innermost) and pod of a cgroup path.  false when neither is named. */
bool ms_container_from_path(const char *path, ms_container *out);
/* A process's memory cgroup: its v1 memory line where it has one (the controller is there), else
 * its v2 line; and the container that path names or, failing that, the v2 path (systemd hosts name
 * the scope there).  false when the process lists neither. */
bool ms_cg_membership_memory(const ms_cg_membership *m, const char **path, ms_container *c);

/* ---- the tree ---- */

typedef struct {
    char *path;               /* malloc'ed, owned by the tree; shorter than MS_CG_PATH_MAX */
    int parent;               /* index of the parent, -1 for the root */
    int depth;
} ms_cg_node;

typedef struct {
    ms_cg_node *n;
    size_t count, cap;
    bool truncated;           /* more than max cgroups, or deeper than MS_CG_DEPTH_MAX */
} ms_cg_tree;

#define MS_CG_DEPTH_MAX 32

/* Every cgroup below root_fd, parents before children (root first, path "/"), at most max. */
ms_err ms_cg_tree_read(int root_fd, size_t max, ms_cg_tree *out);
/* The same, calling visit for every cgroup as it is added (parents first), with its directory
 * open as dirfd (valid during the call only) and i its index in t.  A visit's error stops the walk
 * and is returned, with t freed; t->n may move between visits, so keep indexes, not pointers. */
typedef ms_err (*ms_cg_visit)(void *ctx, int dirfd, const ms_cg_tree *t, size_t i);
ms_err ms_cg_tree_walk(int root_fd, size_t max, ms_cg_tree *out, ms_cg_visit visit, void *ctx);
void ms_cg_tree_free(ms_cg_tree *t);

#endif
