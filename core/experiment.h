/* experiment.h - the model of an experiment (a list of memory operations) and its validation.
 *
 * An experiment is what memscope-lab runs in its own address space, one step after another.  This
 * header holds the parsed form only: no JSON here (core links no jansson).  lab/spec.c turns JSON
 * into this model; ms_xspec_validate() then checks it against the limits, as a pure function, before
 * anything runs, so a bad spec is refused naming the step and the field. */
#ifndef MEMSCOPE_EXPERIMENT_H
#define MEMSCOPE_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum {
    MS_XOP_MALLOC, MS_XOP_CALLOC, MS_XOP_REALLOC, MS_XOP_FREE,
    MS_XOP_MMAP, MS_XOP_MUNMAP, MS_XOP_TOUCH, MS_XOP_MADVISE,
    MS_XOP_MLOCK, MS_XOP_MUNLOCK, MS_XOP_MALLOPT, MS_XOP_MALLOC_TRIM,
    MS_XOP_SBRK, MS_XOP_FORK, MS_XOP_ACCESS_UNMAPPED, MS_XOP_SLEEP,
    MS_XOP__COUNT
} ms_xop;

typedef enum { MS_XTOUCH_WRITE, MS_XTOUCH_READ } ms_xtouch_mode;
typedef enum { MS_XORDER_SEQUENTIAL, MS_XORDER_STRIDED, MS_XORDER_RANDOM } ms_xorder;
/* The part of a block a step works on: exactly one of fraction, pages, length (or none: all). */
typedef enum { MS_XPART_ALL, MS_XPART_FRACTION, MS_XPART_PAGES, MS_XPART_LENGTH } ms_xpart_kind;
typedef enum {
    MS_XADV_NONE, MS_XADV_DONTNEED, MS_XADV_FREE, MS_XADV_PAGEOUT, MS_XADV_COLD,
    MS_XADV_WILLNEED, MS_XADV_HUGEPAGE, MS_XADV_NOHUGEPAGE, MS_XADV__COUNT
} ms_xadvice;
typedef enum { MS_XMALLOPT_MMAP_THRESHOLD, MS_XMALLOPT_TRIM_THRESHOLD, MS_XMALLOPT__COUNT } ms_xmallopt;

#define MS_XNAME_MAX 32          /* a result name, NUL included */
#define MS_XSTEPS_HARD_MAX 4096  /* no limit setting goes past this */

typedef struct {
    ms_xop op;
    char as[MS_XNAME_MAX];       /* names this step's result ("" none): malloc, calloc, realloc, mmap, sbrk */
    char ptr[MS_XNAME_MAX];      /* the named result this step works on ("" none) */
    bool has_size;
    uint64_t size;               /* bytes: malloc, realloc, mmap, calloc's element size */
    uint64_t count;              /* calloc: number of elements (default 1) */
    /* the part of the block: touch, madvise, mlock, munlock, munmap, fork */
    uint64_t offset;             /* bytes from the block's start */
    ms_xpart_kind part;
    double fraction;             /* [0,1] of the block, from offset */
    uint64_t pages, length;
    /* touch */
    ms_xtouch_mode mode;
    ms_xorder order;
    uint64_t stride;             /* strided order: pages between two touches (>= 1) */
    uint64_t seed;               /* random order */
    /* mmap */
    bool shared, populate;
    ms_xadvice huge;             /* MS_XADV_NONE, HUGEPAGE or NOHUGEPAGE: advice given at mmap */
    /* madvise */
    ms_xadvice advice;
    /* mallopt */
    ms_xmallopt param;
    int64_t value;
    /* malloc_trim pad (bytes), sbrk increment (signed bytes) */
    uint64_t pad;
    int64_t increment;
    /* sleep */
    uint64_t ms;
    /* access_unmapped: the address to touch; 0 means the lab picks one in a gap */
    uint64_t addr;
} ms_xstep;

typedef struct {
    char preset[MS_XNAME_MAX];   /* the preset it came from, or "" */
    ms_xstep *steps;             /* owned */
    size_t nsteps, cap;
    uint64_t hold_s;             /* how long the lab stays alive, idle, after the last step */
} ms_xspec;

/* Limits on one experiment, checked before anything runs. */
typedef struct {
    uint64_t max_bytes;          /* peak bytes allocated at once (see ms_xspec_peak_bytes) */
    uint64_t max_steps;
    uint64_t max_hold_s;
} ms_xlimits;

#define MS_XDEFAULT_MAX_BYTES  (2ULL << 30)
#define MS_XDEFAULT_MAX_STEPS  256
#define MS_XDEFAULT_MAX_HOLD_S 600

/* A refusal: which step (-1: the spec as a whole), which field, and why, in plain words. */
typedef struct {
    ms_err code;                 /* MS_ERR_INVAL (malformed) or MS_ERR_TOOBIG (over a limit) */
    long step;
    char field[MS_XNAME_MAX];
    char message[256];
} ms_xerr;

/* Fills a refusal and returns its code, so a check can `return ms_xerr_set(...)`. */
ms_err ms_xerr_set(ms_xerr *e, ms_err code, long step, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

void ms_xspec_init(ms_xspec *s);
void ms_xspec_free(ms_xspec *s);
/* Appends a step initialised with defaults (op MALLOC, count 1, stride 1, part ALL); *out points
 * into s->steps and stays valid until the next append. */
ms_err ms_xspec_add(ms_xspec *s, ms_xstep **out);
void ms_xstep_defaults(ms_xstep *st, ms_xop op);

/* Defaults: max_bytes = min(2 GiB, MemAvailable / 2) read from meminfo_path (NULL: /proc/meminfo);
 * if it cannot be read, 2 GiB and MS_ERR_IO is returned with the limits still filled in. */
ms_err ms_xlimits_default(ms_xlimits *l, const char *meminfo_path);

/* Checks the whole spec: references to results named by an earlier step, sizes, fractions, op
 * fields, step count, hold time, and the peak bytes against the limits.  On refusal fills *err and
 * returns its code. */
ms_err ms_xspec_validate(const ms_xspec *s, const ms_xlimits *l, ms_xerr *err);
/* The most bytes the spec can hold allocated at one time, counted without running it: every
 * allocation's size until it is freed (free/realloc of a malloc block, munmap of a mapping: a
 * release of the wrong kind is refused), a realloc's old and new size together, positive sbrk
 * increments (a negative one lowers nothing, and one below the experiment's start is refused), and
 * what a fork's child writes (its private copies).  madvise releases nothing here.  The allocator's
 * own slack (a freed heap block kept resident) is not in it: the lab enforces the budget on its
 * real growth while it runs.  false if a sum overflows. */
bool ms_xspec_peak_bytes(const ms_xspec *s, uint64_t *out);

/* Names as they appear in specs and in the lab's output. */
const char *ms_xop_name(ms_xop op);
bool ms_xop_from_name(const char *name, ms_xop *out);
const char *ms_xadvice_name(ms_xadvice a);
bool ms_xadvice_from_name(const char *name, ms_xadvice *out);
const char *ms_xorder_name(ms_xorder o);
bool ms_xorder_from_name(const char *name, ms_xorder *out);
const char *ms_xmallopt_name(ms_xmallopt p);
bool ms_xmallopt_from_name(const char *name, ms_xmallopt *out);
/* Which fields an op takes: used by the parser to refuse a field the op does not know. */
bool ms_xop_takes(ms_xop op, const char *field);
/* Whether an op produces a result (may carry "as") and whether it needs "ptr". */
bool ms_xop_produces(ms_xop op);
bool ms_xop_needs_ptr(ms_xop op);

#endif
