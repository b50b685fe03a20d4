/* smaps.h - /proc/<pid>/smaps and smaps_rollup: per-region memory accounting.
 *
 * Every "Key: value [kB]" line is kept in the order the kernel printed it, known or not, so a field
 * a future kernel adds passes through instead of being dropped.  Values in kB are stored in bytes.
 * One exception: the VmFlags line is not a field; it is kept beside the region (ms_smaps_extra). */
#ifndef MEMSCOPE_SMAPS_H
#define MEMSCOPE_SMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps.h"

/* The fields this code knows by name (for totals, uss, and the rollup answer).  Unknown fields get
 * MS_SF_UNKNOWN and keep their kernel name. */
typedef enum {
    MS_SF_UNKNOWN = -1,
    MS_SF_SIZE = 0, MS_SF_KERNEL_PAGE_SIZE, MS_SF_MMU_PAGE_SIZE, MS_SF_RSS, MS_SF_PSS,
    MS_SF_PSS_DIRTY, MS_SF_PSS_ANON, MS_SF_PSS_FILE, MS_SF_PSS_SHMEM, MS_SF_SHARED_CLEAN,
    MS_SF_SHARED_DIRTY, MS_SF_PRIVATE_CLEAN, MS_SF_PRIVATE_DIRTY, MS_SF_REFERENCED,
    MS_SF_ANONYMOUS, MS_SF_KSM, MS_SF_LAZYFREE, MS_SF_ANON_HUGE_PAGES, MS_SF_SHMEM_PMD_MAPPED,
    MS_SF_FILE_PMD_MAPPED, MS_SF_SHARED_HUGETLB, MS_SF_PRIVATE_HUGETLB, MS_SF_SWAP,
    MS_SF_SWAP_PSS, MS_SF_LOCKED, MS_SF_THP_ELIGIBLE, MS_SF_PROTECTION_KEY,
    MS_SF__COUNT
} ms_smaps_field_id;

typedef struct {
    const char *name;         /* the kernel's key ("Pss_Anon"), into the parse buffer */
    uint32_t name_len;
    int16_t id;               /* ms_smaps_field_id */
    bool is_bytes;            /* the kernel printed "kB": value is in bytes */
    bool is_number;           /* false: value is not a number; use raw */
    uint64_t value;
    const char *raw;          /* the value text as printed (trimmed, unit included: "64 kB"), into
                               * the parse buffer */
    uint32_t raw_len;
} ms_smaps_field;

/* What smaps says of a region beyond its maps line, kept beside it so that readers of maps carry
 * none of it: its fields, a slice of the reader's array, and its VmFlags. */
typedef struct {
    uint32_t field_first, field_count;   /* fields[field_first .. +field_count) */
    const char *vmflags;      /* the VmFlags value, e.g. "rd wr mr mw me ac", or NULL */
    size_t vmflags_len;
} ms_smaps_extra;

typedef struct {
    ms_maps maps;             /* regions; maps.buf also holds the fields' and VmFlags' text */
    ms_smaps_extra *extra;    /* extra[i] belongs to maps.regions[i] */
    size_t extra_cap;         /* >= maps.nregions */
    ms_smaps_field *fields;
    size_t nfields, fields_cap;
} ms_smaps;

void ms_smaps_init(ms_smaps *s);
void ms_smaps_free(ms_smaps *s);
/* Parses smaps (or smaps_rollup: one region) text already in s->maps.buf. */
ms_err ms_smaps_parse(ms_smaps *s);
ms_err ms_smaps_read(int dirfd, ms_smaps *s);
/* smaps_rollup: the same shape, one pseudo-region.  MS_ERR_UNSUPPORTED if the kernel lacks it. */
ms_err ms_smaps_rollup_read(int dirfd, ms_smaps *s);
/* What s says of r beyond maps (r one of s->maps.regions), and r's fields (*n of them). */
const ms_smaps_extra *ms_smaps_extra_of(const ms_smaps *s, const ms_region *r);
const ms_smaps_field *ms_smaps_fields_of(const ms_smaps *s, const ms_region *r, size_t *n);

/* Shared with the streaming reader (rstream.c): parses the field line at *pp, which belongs to
 * region r, into f, leaving *pp past the line.  guess is the field at the same position in the
 * previous region (or NULL): the kernel prints the same keys in the same order, so it is usually
 * right and saves the key lookup.  KernelPageSize is also set on r.  VmFlags is not a field: it
 * is set on x and *stored is false. */
ms_err ms_smaps_parse_field(const char **pp, const char *end, const ms_smaps_field *guess,
                            ms_smaps_field *f, ms_region *r, ms_smaps_extra *x, bool *stored);
/* Whether the line at p (p < end) starts a region ("hex-hex ") rather than a field ("Key:"). */
bool ms_smaps_is_region_line(const char *p, const char *end);

/* The JSON-facing name of a kernel key: the known table ("Pss_Anon" -> "pss_anon",
 * "AnonHugePages" -> "anon_huge_pages", "THPeligible" -> "thp_eligible"), else a generic
 * snake_case of the key.  Writes at most cap-1 bytes + NUL to out and returns out. */
const char *ms_smaps_json_name(const char *name, size_t len, char *out, size_t cap);
/* The id of a kernel key ("Pss_Anon"), MS_SF_UNKNOWN for one this code does not know: for readers
 * that rebuild fields from a stored copy rather than from the kernel's text. */
ms_smaps_field_id ms_smaps_field_lookup(const char *name, size_t len);
/* The JSON name of a known id; NULL for MS_SF_UNKNOWN or out of range. */
const char *ms_smaps_field_name(ms_smaps_field_id id);

/* Totals over regions [first_region, first_region + nregions) (clamped to what exists) for the
 * known byte fields, indexed by ms_smaps_field_id, and whether each was seen at all.  Summed and
 * marked seen: every known "kB" field except KernelPageSize and MMUPageSize (a sum of page sizes
 * means nothing); THPeligible, ProtectionKey and unknown fields are not summed either. */
typedef struct {
    uint64_t v[MS_SF__COUNT];
    bool seen[MS_SF__COUNT];
} ms_smaps_totals;
/* Adds one region's fields to t (t starts zeroed). */
void ms_smaps_totals_add(ms_smaps_totals *t, const ms_smaps_field *f, size_t n);
/* Whether totals sum the field with this id when it is in bytes (as ms_smaps_totals_add does). */
bool ms_smaps_field_summed(int id);
void ms_smaps_totals_of(const ms_smaps *s, size_t first_region, size_t nregions, ms_smaps_totals *t);
/* uss as psutil defines it: the sum of the Private_* lines (Private_Clean + Private_Dirty +
 * Private_Hugetlb). */
uint64_t ms_smaps_uss(const ms_smaps_totals *t);

/* Regions summed per path, as pmap's and psutil's grouped views do.  Regions with no path form one
 * group with path "" (anonymous).  Groups come in order of first appearance. */
typedef struct {
    const char *path;         /* into the parse buffer, or the grouper's copy */
    size_t path_len;
    size_t nregions;
    uint64_t size;            /* sum of end - start */
    ms_smaps_totals totals;
} ms_smaps_group;
/* *out is allocated; the caller free()s it (NULL with *n == 0 when there are no regions). */
ms_err ms_smaps_group_by_path(const ms_smaps *s, ms_smaps_group **out, size_t *n);

/* The same, a region at a time (as ms_rstream hands them out), so that grouping a whole smaps
 * costs memory in proportion to its distinct paths, not its regions.  copy_paths: keep a copy of
 * each group's path, for regions whose text does not outlive the call (a stream's); else paths
 * point into the caller's buffer, which must outlive the grouper. */
typedef struct ms_smaps_grouper ms_smaps_grouper;
ms_err ms_smaps_grouper_new(bool copy_paths, ms_smaps_grouper **out);
ms_err ms_smaps_grouper_add(ms_smaps_grouper *g, const ms_region *r, const ms_smaps_field *f, size_t nf);
/* The groups so far, in order of first appearance; valid until the next add or the free. */
const ms_smaps_group *ms_smaps_grouper_groups(const ms_smaps_grouper *g, size_t *n);
void ms_smaps_grouper_free(ms_smaps_grouper **g);

#endif
