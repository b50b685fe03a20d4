/* rstream_agree.h - the streaming reader against the whole-file readers on the same file, region by
 * region and field by field.  Shared by unit.rstream (fixtures, a live process) and fuzz.proc. */
#ifndef MEMSCOPE_TEST_RSTREAM_AGREE_H
#define MEMSCOPE_TEST_RSTREAM_AGREE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/rstream.h"
#include "core/smaps.h"

typedef struct {
    ms_err got, want;      /* the stream's verdict, and ms_maps_read's / ms_smaps_read's */
    size_t regions;        /* handed out by the stream (counted only when want is MS_OK) */
    size_t whole_regions;
    size_t count;          /* ms_rstream_count at the end */
    size_t differ;         /* regions that differ */
    bool ahead;            /* the stream read ahead on its own thread */
    size_t past_horizon;   /* regions handed out with an end beyond ms_rstream_horizon (for smaps:
                            * times it was not 0) */
} rs_agreement;

typedef struct {
    bool kinds;            /* compare kinds: not on fuzzed text, where the hugetlb rule's base page
                            * differs by design (the smallest in the file vs the system's) */
    bool file_fields;      /* compare file regions' fields: not live, where another process mapping
                            * the same file moves Pss and Shared/Private_Clean */
    const char *label;     /* print the first differences under this name; NULL: silent */
    bool ahead_now;        /* hand the file to the reader thread right after open */
} rs_agree_opts;

static inline bool rs_span_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static inline bool rs_same_region(const ms_region *a, const ms_region *b, bool kinds)
{
    return a->start == b->start && a->end == b->end && a->offset == b->offset &&
           a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
           strcmp(a->perms, b->perms) == 0 && a->deleted == b->deleted && (!kinds || a->kind == b->kind) &&
           rs_span_eq(a->path, a->path_len, b->path, b->path_len) &&
           a->kernel_page_size == b->kernel_page_size;
}

/* VmFlags as the stream handed them out (a, an) against the whole file's extra (b: NULL for maps). */
static inline bool rs_same_vmflags(const char *a, size_t an, const ms_smaps_extra *b)
{
    const char *bv = b ? b->vmflags : NULL;
    return (a == NULL) == (bv == NULL) && (!a || rs_span_eq(a, an, bv, b->vmflags_len));
}

static inline bool rs_same_field(const ms_smaps_field *a, const ms_smaps_field *b)
{
    return a->id == b->id && a->is_bytes == b->is_bytes && a->is_number == b->is_number &&
           a->value == b->value && rs_span_eq(a->name, a->name_len, b->name, b->name_len) &&
           rs_span_eq(a->raw, a->raw_len, b->raw, b->raw_len);
}

/* Reads <dirfd>/name ("maps" or "smaps") both ways, the stream in blocks of `block`. */
static inline rs_agreement rs_agree(int dirfd, const char *name, size_t block, rs_agree_opts o)
{
    rs_agreement a = {.got = MS_OK};
    bool smaps = strcmp(name, "smaps") == 0;
    ms_smaps whole;
    ms_smaps_init(&whole);
    a.want = smaps ? ms_smaps_read(dirfd, &whole) : ms_maps_read(dirfd, &whole.maps);
    a.whole_regions = whole.maps.nregions;
    ms_rstream *s = NULL;
    a.got = ms_rstream_open(dirfd, name, 4096, block, &s);
    if (a.got == MS_OK && o.ahead_now)
        ms_rstream_read_ahead(s);
    while (a.got == MS_OK) {
        const ms_region *r;
        const ms_smaps_field *f;
        size_t nf;
        a.got = ms_rstream_next(s, &r, &f, &nf);
        if (a.got != MS_OK || !r)
            break;
        uint64_t h = ms_rstream_horizon(s);
        a.past_horizon += smaps ? h != 0 : r->end > h;
        if (a.want != MS_OK)    /* a failing file fails the stream too, when it gets there */
            continue;
        if (a.regions >= whole.maps.nregions) {
            a.differ++;
            break;
        }
        const ms_region *w = &whole.maps.regions[a.regions];
        const ms_smaps_extra *wx = smaps ? ms_smaps_extra_of(&whole, w) : NULL;
        size_t vl;
        const char *vf = ms_rstream_vmflags(s, &vl);
        bool ok = rs_same_region(r, w, o.kinds) && rs_same_vmflags(vf, vl, wx) &&
                  (smaps ? nf == wx->field_count : nf == 0 && f == NULL);
        size_t k = 0;
        while (ok && (o.file_fields || !w->inode) && k < nf &&
               (ok = rs_same_field(&f[k], &whole.fields[wx->field_first + k])))
            k++;
        if (!ok && a.differ++ < 3 && o.label)
            fprintf(stderr, "  %s/%s block %zu: region %zu (%#llx %.*s, kinds %s %s) differs at field %zu\n",
                    o.label, name, block, a.regions, (unsigned long long)w->start, (int)w->path_len, w->path,
                    ms_region_kind_name(r->kind), ms_region_kind_name(w->kind), k);
        a.regions++;
    }
    if (s) {
        a.count = ms_rstream_count(s);
        a.ahead = ms_rstream_reading_ahead(s);
    }
    ms_rstream_close(s);
    ms_smaps_free(&whole);
    return a;
}

/* Both readers said the same, and when that is "fine", gave the same regions. */
static inline bool rs_agreed(const rs_agreement *a)
{
    return a->got == a->want && a->differ == 0 && (a->want != MS_OK || a->regions == a->whole_regions);
}

#endif
