/* experiment.h - the model of an experiment (a list of memory operations) and its validation.
 *
 * An experiment is what memscope-lab runs in its own address space, one step after another.  This
 * header holds the parsed form only: no JSON here (core links no jansson).  lab/spec.c turns JSON
 * into this model; ms_exp_spec_validate() then checks it against the limits, as a pure function, before
 * anything runs, so a bad spec is refused naming the step and the field. */
#ifndef MEMSCOPE_EXPERIMENT_H
#define MEMSCOPE_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum {
    MS_EXP_OP_MALLOC, MS_EXP_OP_CALLOC, MS_EXP_OP_REALLOC, MS_EXP_OP_FREE,
    MS_EXP_OP_MMAP, MS_EXP_OP_MUNMAP, MS_EXP_OP_TOUCH, MS_EXP_OP_MADVISE,
    MS_EXP_OP_MLOCK, MS_EXP_OP_MUNLOCK, MS_EXP_OP_MALLOPT, MS_EXP_OP_MALLOC_TRIM,
    MS_EXP_OP_SBRK, MS_EXP_OP_FORK, MS_EXP_OP_ACCESS_UNMAPPED, MS_EXP_OP_SLEEP,
    MS_EXP_OP__COUNT
} ms_exp_op;

typedef enum { MS_EXP_TOUCH_WRITE, MS_EXP_TOUCH_READ } ms_exp_touch_mode;
typedef enum { MS_EXP_ORDER_SEQUENTIAL, MS_EXP_ORDER_STRIDED, MS_EXP_ORDER_RANDOM } ms_exp_order;
/* The part of a block a step works on: exactly one of fraction, pages, length (or none: all). */
typedef enum { MS_EXP_PART_ALL, MS_EXP_PART_FRACTION, MS_EXP_PART_PAGES, MS_EXP_PART_LENGTH } ms_exp_part_kind;
typedef enum {
    MS_EXP_ADV_NONE, MS_EXP_ADV_DONTNEED, MS_EXP_ADV_FREE, MS_EXP_ADV_PAGEOUT, MS_EXP_ADV_COLD,
    MS_EXP_ADV_WILLNEED, MS_EXP_ADV_HUGEPAGE, MS_EXP_ADV_NOHUGEPAGE, MS_EXP_ADV__COUNT
} ms_exp_advice;
typedef enum { MS_EXP_MALLOPT_MMAP_THRESHOLD, MS_EXP_MALLOPT_TRIM_THRESHOLD, MS_EXP_MALLOPT__COUNT } ms_exp_mallopt;

#define MS_EXP_NAME_MAX 32          /* a result name, NUL included */
#define MS_EXP_STEPS_HARD_MAX 4096  /* no limit setting goes past this */

typedef struct {
    ms_exp_op op;
    char as[MS_EXP_NAME_MAX];       /* names this step's result ("" none): malloc, calloc, realloc, mmap, sbrk */
    char ptr[MS_EXP_NAME_MAX];      /* the named result this step works on ("" none) */
    bool has_size;
    uint64_t size;               /* bytes: malloc, realloc, mmap, calloc's element size */
    uint64_t count;              /* calloc: number of elements (default 1) */
    /* the part of the block: touch, madvise, mlock, munlock, munmap, fork */
    uint64_t offset;             /* bytes from the block's start */
    ms_exp_part_kind part;
    double fraction;             /* [0,1] of the block, from offset */
    uint64_t pages, length;
    /* touch */
    ms_exp_touch_mode mode;
    ms_exp_order order;
    uint64_t stride;             /* strided order: pages between two touches (>= 1) */
    uint64_t seed;               /* random order */
    /* mmap */
    bool shared, populate;
    ms_exp_advice huge;             /* MS_EXP_ADV_NONE, HUGEPAGE or NOHUGEPAGE: advice given at mmap */
    /* madvise */
    ms_exp_advice advice;
    /* mallopt */
    ms_exp_mallopt param;
    int64_t value;
    /* malloc_trim pad (bytes), sbrk increment (signed bytes) */
    uint64_t pad;
    int64_t increment;
    /* sleep */
    uint64_t ms;
    /* access_unmapped: the address to touch; 0 means the lab picks one in a gap */
    uint64_t addr;
} ms_exp_step;

typedef struct {
    char preset[MS_EXP_NAME_MAX];   /* the preset it came from, or "" */
    ms_exp_step *steps;             /* owned */
    size_t nsteps, cap;
    uint64_t hold_s;             /* how long the lab stays alive, idle, after the last step */
} ms_exp_spec;

/* Limits on one experiment, checked before anything runs. */
typedef struct {
    uint64_t max_bytes;          /* peak bytes allocated at once (see ms_exp_spec_peak_bytes) */
    uint64_t max_steps;
    uint64_t max_hold_s;
} ms_exp_limits;

#define MS_EXP_DEFAULT_MAX_BYTES  (2ULL << 30)
#define MS_EXP_DEFAULT_MAX_STEPS  256
#define MS_EXP_DEFAULT_MAX_HOLD_S 600

/* A refusal: which step (-1: the spec as a whole), which field, and why, in plain words. */
typedef struct {
    ms_err code;                 /* MS_ERR_INVAL (malformed) or MS_ERR_TOOBIG (over a limit) */
    long step;
    char field[MS_EXP_NAME_MAX];
    char message[256];
} ms_exp_err;

/* Fills a refusal and returns its code, so a check can `return ms_exp_err_set(...)`. */
ms_err ms_exp_err_set(ms_exp_err *e, ms_err code, long step, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

void ms_exp_spec_init(ms_exp_spec *s);
void ms_exp_spec_free(ms_exp_spec *s);
/* Appends a step initialised with defaults (op MALLOC, count 1, stride 1, part ALL); *out points
 * into s->steps and stays valid until the next append. */
ms_err ms_exp_spec_add(ms_exp_spec *s, ms_exp_step **out);
void ms_exp_step_defaults(ms_exp_step *st, ms_exp_op op);

/* Defaults: max_bytes = min(2 GiB, MemAvailable / 2) read from meminfo_path (NULL: /proc/meminfo);
 * if it cannot be read, 2 GiB and MS_ERR_IO is returned with the limits still filled in. */
ms_err ms_exp_limits_default(ms_exp_limits *l, const char *meminfo_path);

/* Checks the whole spec: references to results named by an earlier step, sizes, fractions, op
 * fields, step count, hold time, and the peak bytes against the limits.  On refusal fills *err and
 * returns its code. */
ms_err ms_exp_spec_validate(const ms_exp_spec *s, const ms_exp_limits *l, ms_exp_err *err);
/* The most bytes the spec can hold allocated at one time, counted without running it: every
 * allocation's size until it is freed (free/realloc of a malloc block, munmap of a mapping: a
 * release of the wrong kind is refused), a realloc's old and new size together, positive sbrk
 * increments (a negative one lowers nothing, and one below the experiment's start is refused), and
 * what a fork's child writes (its private copies).  madvise releases nothing here.  The allocator's
 * own slack (a freed heap block kept resident) is not in it: the lab enforces the budget on its
 * real growth while it runs.  false if a sum overflows. */
bool ms_exp_spec_peak_bytes(const ms_exp_spec *s, uint64_t *out);

/* Names as they appear in specs and in the lab's output. */
const char *ms_exp_op_name(ms_exp_op op);
bool ms_exp_op_from_name(const char *name, ms_exp_op *out);
const char *ms_exp_advice_name(ms_exp_advice a);
bool ms_exp_advice_from_name(const char *name, ms_exp_advice *out);
const char *ms_exp_order_name(ms_exp_order o);
bool ms_exp_order_from_name(const char *name, ms_exp_order *out);
const char *ms_exp_mallopt_name(ms_exp_mallopt p);
bool ms_exp_mallopt_from_name(const char *name, ms_exp_mallopt *out);
/* Which fields an op takes: used by the parser to refuse a field the op does not know. */
bool ms_exp_op_takes(ms_exp_op op, const char *field);
/* Whether an op produces a result (may carry "as") and whether it needs "ptr". */
bool ms_exp_op_produces(ms_exp_op op);
bool ms_exp_op_needs_ptr(ms_exp_op op);

#endif
