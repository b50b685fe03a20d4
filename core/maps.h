/* maps.h - /proc/<pid>/maps: the process's virtual memory areas, one per line.
 *
 * The parser is a pure function over a buffer; regions point into that buffer for their path, so a
 * 10,000-region answer costs two allocations, not 10,000. */
#ifndef MEMSCOPE_MAPS_H
#define MEMSCOPE_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* What a region is for, as the seed's picture names the areas.  The rules live in maps.c
 * (ms_maps_classify), written down there one by one. */
typedef enum {
    MS_KIND_TEXT,     /* executable file mapping: code */
    MS_KIND_RODATA,   /* read-only file mapping of an ELF (constants, relro) */
    MS_KIND_DATA,     /* writable private file mapping: initialised globals and statics */
    MS_KIND_BSS,      /* anonymous writable mapping right after a file's data: zeroed globals */
    MS_KIND_HEAP,     /* [heap]: between start_brk and brk */
    MS_KIND_STACK,    /* [stack] (and [stack:tid] on old kernels) */
    MS_KIND_VDSO,
    MS_KIND_VVAR,     /* [vvar], [vvar_vclock] */
    MS_KIND_VSYSCALL,
    MS_KIND_ANON,     /* private anonymous: large mallocs, thread stacks, arenas */
    MS_KIND_FILE,     /* any other file mapping (data files, fonts, caches) */
    MS_KIND_SHM,      /* shared memory: MAP_SHARED anonymous, /dev/shm, memfd:, SYSV */
    MS_KIND_GUARD,    /* no access at all (---p): guard pages, reservations */
    MS_KIND_HUGETLB,  /* hugetlbfs-backed */
    MS_KIND_OTHER,    /* any other [name] the kernel invents */
    MS_KIND__COUNT
} ms_region_kind;

typedef struct {
    uint64_t start, end;      /* [start, end) */
    uint64_t offset;          /* file offset */
    uint64_t inode;
    uint32_t dev_major, dev_minor;
    char perms[5];            /* "r-xp", NUL-terminated */
    bool deleted;             /* path ends with " (deleted)" */
    const char *path;         /* exactly as the kernel printed it, into the parse buffer; may be "" */
    size_t path_len;          /* not NUL-terminated: always use path_len */
    ms_region_kind kind;
    /* KernelPageSize in bytes, from smaps or PROCMAP_QUERY; 0 when unknown (maps).  Lets the
     * classifier tell hugetlb regions.  What else smaps says of a region is in ms_smaps_extra. */
    uint64_t kernel_page_size;
} ms_region;

typedef struct {
    ms_buf buf;               /* owns the file text that paths point into */
    ms_region *regions;
    size_t nregions;
    size_t cap;
} ms_maps;

void ms_maps_init(ms_maps *m);
void ms_maps_free(ms_maps *m);

/* Parses maps text already in m->buf into m->regions.  MS_ERR_PARSE on a malformed line (a
 * truncated last line without '\n' is accepted if complete).  Regions are classified. */
ms_err ms_maps_parse(ms_maps *m);
/* Reads <dirfd>/maps and parses it.  MS_ERR_NOENT if the process exited mid-read: the kernel ends
 * the file early, at a line boundary, once the mm is gone, so after the read ms_pid_alive(dirfd)
 * must still hold (a fixture directory therefore needs a "stat" file).  A live kernel thread's
 * empty maps gives 0 regions. */
ms_err ms_maps_read(int dirfd, ms_maps *m);

/* A process that maps and unmaps while its maps/smaps is read can give a torn file: the kernel
 * prints one page-sized chunk per read(), drops the mmap lock between chunks and resumes after the
 * last address it printed, so a region that changed meanwhile can overlap the one before it.
 * ms_maps_torn() tells (a region not strictly after its predecessor, or empty); the readers re-read
 * up to MS_MAPS_TORN_RETRIES times and then keep the consistent part with ms_maps_drop_torn(),
 * which removes every region that starts before the previous one ends and returns the new count.
 * also, when not NULL, is an array beside r (n elements of also_size bytes, smaps' extras) that
 * loses the same elements. */
#define MS_MAPS_TORN_RETRIES 8
bool ms_maps_torn(const ms_region *r, size_t n);
size_t ms_maps_drop_torn(ms_region *r, size_t n, void *also, size_t also_size);

/* Shared with the smaps parser: parses one region line ("start-end perms offset dev inode [path]") at *p, leaving *p just past its
 * '\n' (or at end for an unterminated last line).  Sets every field of *r; kind is left for
 * ms_maps_classify.  MS_ERR_PARSE if the line stops before the inode or has junk in a field. */
ms_err ms_maps_parse_line(const char **p, const char *end, ms_region *r);
/* The start and end addresses of the region line at p ("start-end ..."), read without the rest of
 * the line: false when p does not start with them. */
bool ms_maps_line_range(const char *p, const char *end, uint64_t *start, uint64_t *stop);
/* Makes room for `want` regions in m->regions (geometric growth). */
ms_err ms_maps_reserve(ms_maps *m, size_t want);

/* The kernel marks an unlinked file by appending " (deleted)" to its path, so a file really named
 * "x (deleted)" prints the same as a deleted "x".  For a region marked deleted, this looks the
 * printed path up in the process's own root (<dirfd>/root, its mount namespace) and in ours: if
 * that name is the mapped inode itself (same device and inode), the name is real and deleted is
 * cleared.  Where neither finds it (no ptrace access to root, a fixture directory) the mark stays
 * as the kernel's text says.  A file that is deleted and was named "x (deleted)" prints with the suffix
 * twice, and the lookup finds nothing: it stays deleted. */
void ms_region_check_deleted(int dirfd, ms_region *r);

const char *ms_region_kind_name(ms_region_kind k);
/* Classifies every region of m (needs neighbours: bss follows data). Called by the parsers. */
void ms_maps_classify(ms_region *r, size_t n);
/* Classifies r[i] alone: r[0..i) must be classified already (rule 7 looks at r[i-1]) and the rules
 * look at most MS_MAPS_CLASSIFY_REACH regions either way.  base_page is the smallest page size
 * (regions with a larger KernelPageSize are hugetlb); 0 when unknown. */
#define MS_MAPS_CLASSIFY_REACH 16
void ms_maps_classify_one(ms_region *r, size_t n, size_t i, uint64_t base_page);
/* Index of the region containing addr, or -1 (binary search: regions are sorted). */
long ms_maps_find(const ms_region *r, size_t n, uint64_t addr);

#endif
