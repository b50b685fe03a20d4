/* experiment.c - the experiment model, its names, and the validation that runs before anything does.
 *
 * Validation is a pure function of the spec and the limits: it walks the steps once, keeping the
 * names bound so far and the bytes each holds, so a reference to a result no earlier step named, a
 * range past a block's end, or a peak over the budget is refused with the step and field, before a
 * lab is even started.  The only I/O here is reading MemAvailable for the default budget. */
#include "experiment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "system.h"

static const char *const op_names[MS_EXP_OP__COUNT] = {
    "malloc", "calloc", "realloc", "free", "mmap", "munmap", "touch", "madvise",
    "mlock", "munlock", "mallopt", "malloc_trim", "sbrk", "fork", "access_unmapped", "sleep",
};

static const char *const adv_names[MS_EXP_ADV__COUNT] = {
    "none", "dontneed", "free", "pageout", "cold", "willneed", "hugepage", "nohugepage",
};

static const char *const order_names[] = { "sequential", "strided", "random" };
static const char *const mallopt_names[MS_EXP_MALLOPT__COUNT] = { "mmap_threshold", "trim_threshold" };

/* Fields each op accepts besides "op" and "note".  A field outside its op's list is refused by the
 * parser: a typo ("fracton") must not silently run the default. */
#define PART "offset", "fraction", "pages", "length"
static const char *const *const op_fields[MS_EXP_OP__COUNT] = {
    [MS_EXP_OP_MALLOC] = (const char *const[]){ "size", "as", NULL },
    [MS_EXP_OP_CALLOC] = (const char *const[]){ "size", "count", "as", NULL },
    [MS_EXP_OP_REALLOC] = (const char *const[]){ "ptr", "size", "as", NULL },
    [MS_EXP_OP_FREE] = (const char *const[]){ "ptr", NULL },
    [MS_EXP_OP_MMAP] = (const char *const[]){ "size", "shared", "populate", "huge", "as", NULL },
    [MS_EXP_OP_MUNMAP] = (const char *const[]){ "ptr", NULL },
    [MS_EXP_OP_TOUCH] = (const char *const[]){ "ptr", PART, "mode", "order", "stride", "seed", NULL },
    [MS_EXP_OP_MADVISE] = (const char *const[]){ "ptr", "advice", PART, NULL },
    [MS_EXP_OP_MLOCK] = (const char *const[]){ "ptr", PART, NULL },
    [MS_EXP_OP_MUNLOCK] = (const char *const[]){ "ptr", PART, NULL },
    [MS_EXP_OP_MALLOPT] = (const char *const[]){ "param", "value", NULL },
    [MS_EXP_OP_MALLOC_TRIM] = (const char *const[]){ "pad", NULL },
    [MS_EXP_OP_SBRK] = (const char *const[]){ "increment", "as", NULL },
    [MS_EXP_OP_FORK] = (const char *const[]){ "ptr", PART, NULL },
    [MS_EXP_OP_ACCESS_UNMAPPED] = (const char *const[]){ "addr", NULL },
    [MS_EXP_OP_SLEEP] = (const char *const[]){ "ms", NULL },
};
#undef PART

const char *ms_exp_op_name(ms_exp_op op)
{
    return (unsigned)op < MS_EXP_OP__COUNT ? op_names[op] : "?";
}

bool ms_exp_op_from_name(const char *name, ms_exp_op *out)
{
    for (unsigned i = 0; i < MS_EXP_OP__COUNT; i++)
        if (strcmp(name, op_names[i]) == 0) {
            *out = (ms_exp_op)i;
            return true;
        }
    return false;
}

const char *ms_exp_advice_name(ms_exp_advice a)
{
    return (unsigned)a < MS_EXP_ADV__COUNT ? adv_names[a] : "?";
}

bool ms_exp_advice_from_name(const char *name, ms_exp_advice *out)
{
    for (unsigned i = 1; i < MS_EXP_ADV__COUNT; i++)   /* "none" is not something one asks for */
        if (strcmp(name, adv_names[i]) == 0) {
            *out = (ms_exp_advice)i;
            return true;
        }
    return false;
}

const char *ms_exp_order_name(ms_exp_order o)
{
    return (unsigned)o < 3 ? order_names[o] : "?";
}

bool ms_exp_order_from_name(const char *name, ms_exp_order *out)
{
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(name, order_names[i]) == 0) {
            *out = (ms_exp_order)i;
            return true;
        }
    return false;
}

const char *ms_exp_mallopt_name(ms_exp_mallopt p)
{
    return (unsigned)p < MS_EXP_MALLOPT__COUNT ? mallopt_names[p] : "?";
}

bool ms_exp_mallopt_from_name(const char *name, ms_exp_mallopt *out)
{
    for (unsigned i = 0; i < MS_EXP_MALLOPT__COUNT; i++)
        if (strcmp(name, mallopt_names[i]) == 0) {
            *out = (ms_exp_mallopt)i;
            return true;
        }
    return false;
}

bool ms_exp_op_takes(ms_exp_op op, const char *field)
{
    if (strcmp(field, "op") == 0 || strcmp(field, "note") == 0)
        return true;
    if ((unsigned)op >= MS_EXP_OP__COUNT)
        return false;
    for (const char *const *f = op_fields[op]; *f; f++)
        if (strcmp(*f, field) == 0)
            return true;
    return false;
}

bool ms_exp_op_produces(ms_exp_op op)
{
    return ms_exp_op_takes(op, "as");
}

bool ms_exp_op_needs_ptr(ms_exp_op op)
{
    return ms_exp_op_takes(op, "ptr");
}

void ms_exp_spec_init(ms_exp_spec *s)
{
    memset(s, 0, sizeof *s);
}

void ms_exp_spec_free(ms_exp_spec *s)
{
    free(s->steps);
    memset(s, 0, sizeof *s);
}

void ms_exp_step_defaults(ms_exp_step *st, ms_exp_op op)
{
    memset(st, 0, sizeof *st);
    st->op = op;
    st->count = 1;
    st->stride = 1;
    st->part = MS_EXP_PART_ALL;
    st->mode = MS_EXP_TOUCH_WRITE;
    st->order = MS_EXP_ORDER_SEQUENTIAL;
}

ms_err ms_exp_spec_add(ms_exp_spec *s, ms_exp_step **out)
{
    if (s->nsteps == s->cap) {
        ms_err rc = ms_grow((void **)&s->steps, &s->cap, s->nsteps + 1, sizeof *s->steps, 16,
                            MS_EXP_STEPS_HARD_MAX + 1);
        if (rc != MS_OK)
            return rc;
    }
    *out = &s->steps[s->nsteps++];
    ms_exp_step_defaults(*out, MS_EXP_OP_MALLOC);
    return MS_OK;
}

ms_err ms_exp_limits_default(ms_exp_limits *l, const char *meminfo_path)
{
    ms_err rc = MS_OK;
    ms_meminfo mi;
    ms_meminfo_init(&mi);
    l->max_bytes = MS_EXP_DEFAULT_MAX_BYTES;
    l->max_steps = MS_EXP_DEFAULT_MAX_STEPS;
    l->max_hold_s = MS_EXP_DEFAULT_MAX_HOLD_S;

    rc = ms_meminfo_read(meminfo_path, &mi);
    if (rc != MS_OK)
        goto out;
    uint64_t avail;           /* bytes: meminfo prints kB */
    if (!ms_meminfo_get(&mi, "MemAvailable", &avail)) {
        rc = MS_ERR_PARSE;
        goto out;
    }
    if (avail / 2 < l->max_bytes)
        l->max_bytes = avail / 2;
    if (l->max_bytes == 0)
        l->max_bytes = 1;   /* a machine with nothing available allows nothing, but 0 means "unset" nowhere */
out:
    ms_meminfo_free(&mi);
    return rc == MS_OK ? MS_OK : MS_ERR_IO;
}

/* --- validation --- */

/* What made a block decides what may give it back: free and realloc take malloc's blocks, munmap
 * takes mmap's, and nothing but a negative sbrk takes back an sbrk block (and that is never
 * counted as given back: see walk()). */
typedef enum { BK_MALLOC, BK_MMAP, BK_SBRK } block_kind;
static const char *const kind_op[] = { "malloc", "mmap", "sbrk" };

typedef struct {
    char name[MS_EXP_NAME_MAX];
    block_kind kind;
    uint64_t size;      /* bytes the block spans */
    long step;          /* where it was named */
    bool live;
    long freed_at;
} binding;

typedef struct {
    binding *b;
    size_t n;
} bindings;

static binding *find_binding(bindings *bs, const char *name)
{
    for (size_t i = bs->n; i-- > 0;)   /* newest first: a name may be reused after a free */
        if (strcmp(bs->b[i].name, name) == 0)
            return &bs->b[i];
    return NULL;
}

ms_err ms_exp_err_set(ms_exp_err *e, ms_err code, long step, const char *field, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    e->step = step;
    snprintf(e->field, sizeof e->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return code;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

/* The byte length of a step's part of a block of `size` bytes, after checking it fits. */
static ms_err part_length(const ms_exp_step *st, uint64_t size, long i, ms_exp_err *e, uint64_t *len)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (st->offset > size)
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "offset", "offset %llu is past the end of '%s' (%llu bytes)",
                      (unsigned long long)st->offset, st->ptr, (unsigned long long)size);
    uint64_t room = size - st->offset;
    switch (st->part) {
    case MS_EXP_PART_ALL:
        *len = room;
        break;
    case MS_EXP_PART_FRACTION:
        if (!(st->fraction >= 0.0 && st->fraction <= 1.0))   /* also refuses NaN */
            return ms_exp_err_set(e, MS_ERR_INVAL, i, "fraction", "fraction must be within [0, 1]");
        *len = (uint64_t)((double)room * st->fraction);
        break;
    case MS_EXP_PART_PAGES:
        if (st->pages > room / page)
            return ms_exp_err_set(e, MS_ERR_INVAL, i, "pages", "%llu pages from offset %llu go past the end of "
                          "'%s' (%llu bytes)", (unsigned long long)st->pages,
                          (unsigned long long)st->offset, st->ptr, (unsigned long long)size);
        *len = st->pages * page;
        break;
    case MS_EXP_PART_LENGTH:
        if (st->length > room)
            return ms_exp_err_set(e, MS_ERR_INVAL, i, "length", "%llu bytes from offset %llu go past the end "
                          "of '%s' (%llu bytes)", (unsigned long long)st->length,
                          (unsigned long long)st->offset, st->ptr, (unsigned long long)size);
        *len = st->length;
        break;
    }
    return MS_OK;
}

/* A release (free, realloc, munmap) of a block of the wrong kind: the lab refuses it and the block
 * stays, so it cannot be counted as released; the spec is refused instead, naming the step. */
static ms_err check_release_kind(const ms_exp_step *st, const binding *t, long i, ms_exp_err *e)
{
    block_kind want = st->op == MS_EXP_OP_MUNMAP ? BK_MMAP : BK_MALLOC;
    if (t->kind == want)
        return MS_OK;
    return ms_exp_err_set(e, MS_ERR_INVAL, i, "ptr", "%s cannot release '%s': it was made by %s at step %ld (%s)",
                          ms_exp_op_name(st->op), t->name, kind_op[t->kind], t->step,
                          t->kind == BK_MMAP ? "use munmap" : t->kind == BK_MALLOC ? "use free" :
                          "an sbrk block is not released, only a negative sbrk moves the break back");
}

/* One walk does both jobs: validation (when e is non-NULL) and the peak count.  The peak is a sound
 * upper bound of the bytes the steps hold at once: a release counts only where the lab really
 * releases (free/realloc of a malloc block, munmap of a mapping, a fork child's copies when it
 * exits); madvise and a negative sbrk release nothing here; what cannot be bounded is refused. */
static ms_err walk(const ms_exp_spec *s, const ms_exp_limits *l, ms_exp_err *e, uint64_t *peak_out)
{
    ms_err rc = MS_OK;
    ms_exp_err scratch;
    bindings bs = { calloc(s->nsteps ? s->nsteps : 1, sizeof(binding)), 0 };
    uint64_t live = 0, peak = 0;
    int64_t brk_net = 0;       /* the sum of the spec's sbrk increments: never below 0 */
    if (!e)
        e = &scratch;
    if (!bs.b)
        return ms_exp_err_set(e, MS_ERR_NOMEM, -1, "steps", "out of memory");

#define ADD_LIVE(n) do { \
        if ((n) > UINT64_MAX - live) { rc = ms_exp_err_set(e, MS_ERR_TOOBIG, i, "size", "sizes overflow"); goto out; } \
        live += (n); if (live > peak) peak = live; \
    } while (0)

    for (size_t k = 0; k < s->nsteps; k++) {
        const ms_exp_step *st = &s->steps[k];
        long i = (long)k;
        binding *target = NULL;
        if ((unsigned)st->op >= MS_EXP_OP__COUNT) {
            rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "op", "unknown op");
            goto out;
        }
        const char *opn = ms_exp_op_name(st->op);
        if (ms_exp_op_needs_ptr(st->op)) {
            if (!st->ptr[0]) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "ptr", "%s needs \"ptr\": the name of an earlier step's result", opn);
                goto out;
            }
            target = find_binding(&bs, st->ptr);
            if (!target) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "ptr", "no earlier step names a result '%s' (use \"as\":\"%s\" on it)",
                            st->ptr, st->ptr);
                goto out;
            }
            if (!target->live) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "ptr", "'%s' was already released at step %ld",
                            st->ptr, target->freed_at);
                goto out;
            }
        }
        if (st->as[0]) {
            if (!ms_exp_op_produces(st->op)) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "as", "%s gives no result to name", opn);
                goto out;
            }
            if (!valid_name(st->as)) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "as", "a name is 1 to %d letters, digits, '_' or '-'",
                            MS_EXP_NAME_MAX - 1);
                goto out;
            }
            binding *old = find_binding(&bs, st->as);
            if (old && old->live && !(st->op == MS_EXP_OP_REALLOC && old == target)) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "as", "'%s' already names the live result of step %ld",
                            st->as, old->step);
                goto out;
            }
        }
        bool sized = st->op == MS_EXP_OP_MALLOC || st->op == MS_EXP_OP_CALLOC || st->op == MS_EXP_OP_REALLOC ||
                     st->op == MS_EXP_OP_MMAP;
        if (sized && !st->has_size) {
            rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "size", "%s needs \"size\" (bytes, or with a unit: \"64KiB\")", opn);
            goto out;
        }
        if (sized && st->size == 0) {
            rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "size", "size must be at least 1 byte");
            goto out;
        }
        uint64_t bytes = st->size, len = 0;
        if (st->op == MS_EXP_OP_CALLOC) {
            if (st->count == 0) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "count", "count must be at least 1");
                goto out;
            }
            if (st->size > UINT64_MAX / st->count) {
                rc = ms_exp_err_set(e, MS_ERR_TOOBIG, i, "count", "count * size overflows");
                goto out;
            }
            bytes = st->size * st->count;
        }
        if (sized && bytes > l->max_bytes) {
            rc = ms_exp_err_set(e, MS_ERR_TOOBIG, i, "size", "%llu bytes is over the budget of %llu bytes per experiment",
                        (unsigned long long)bytes, (unsigned long long)l->max_bytes);
            goto out;
        }
        if (target && (st->op == MS_EXP_OP_FREE || st->op == MS_EXP_OP_REALLOC || st->op == MS_EXP_OP_MUNMAP)) {
            rc = check_release_kind(st, target, i, e);
            if (rc != MS_OK)
                goto out;
        }
        if (ms_exp_op_takes(st->op, "fraction") && target) {
            rc = part_length(st, target->size, i, e, &len);
            if (rc != MS_OK)
                goto out;
        }
        switch (st->op) {
        case MS_EXP_OP_TOUCH:
            if (st->order == MS_EXP_ORDER_STRIDED && st->stride == 0) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "stride", "stride must be at least 1 page");
                goto out;
            }
            break;
        case MS_EXP_OP_MADVISE:
            if (st->advice == MS_EXP_ADV_NONE) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "advice", "madvise needs \"advice\": dontneed, free, pageout, "
                            "cold, willneed, hugepage or nohugepage");
                goto out;
            }
            break;
        case MS_EXP_OP_MMAP:
            if (st->huge != MS_EXP_ADV_NONE && st->huge != MS_EXP_ADV_HUGEPAGE && st->huge != MS_EXP_ADV_NOHUGEPAGE) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "huge", "huge is \"hugepage\" or \"nohugepage\"");
                goto out;
            }
            break;
        case MS_EXP_OP_MALLOPT:
            if ((unsigned)st->param >= MS_EXP_MALLOPT__COUNT) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "param", "param is mmap_threshold or trim_threshold");
                goto out;
            }
            /* glibc refuses an mmap threshold above HEAP_MAX_SIZE/2 (32 MiB on 64-bit) */
            if (st->value < 0 || (st->param == MS_EXP_MALLOPT_MMAP_THRESHOLD && st->value > (32 << 20)) ||
                st->value > INT32_MAX) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "value", "value must be within [0, %s]",
                            st->param == MS_EXP_MALLOPT_MMAP_THRESHOLD ? "32MiB" : "2147483647");
                goto out;
            }
            break;
        case MS_EXP_OP_SLEEP:
            if (st->ms > 60000) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "ms", "a sleep step lasts at most 60000 ms");
                goto out;
            }
            break;
        case MS_EXP_OP_SBRK:
            if ((st->increment < 0 ? 0 - (uint64_t)st->increment : (uint64_t)st->increment) > l->max_bytes) {
                rc = ms_exp_err_set(e, MS_ERR_TOOBIG, i, "increment", "increment is over the budget of %llu bytes",
                            (unsigned long long)l->max_bytes);
                goto out;
            }
            if (st->increment < 0 && brk_net + st->increment < 0) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "increment", "sbrk %lld would move the break below where the "
                                    "experiment started (its sbrk steps add up to %lld): that memory is malloc's",
                                    (long long)st->increment, (long long)brk_net);
                goto out;
            }
            brk_net += st->increment;
            break;
        default:
            break;
        }

        /* bookkeeping for names and the peak */
        switch (st->op) {
        case MS_EXP_OP_MALLOC: case MS_EXP_OP_CALLOC: case MS_EXP_OP_MMAP:
            ADD_LIVE(bytes);
            break;
        case MS_EXP_OP_REALLOC:
            ADD_LIVE(bytes);          /* old and new may both exist while the data is copied */
            live -= target->size;
            target->live = false;
            target->freed_at = i;
            break;
        case MS_EXP_OP_FREE: case MS_EXP_OP_MUNMAP:
            live -= target->size;
            target->live = false;
            target->freed_at = i;
            break;
        case MS_EXP_OP_SBRK:
            if (st->increment > 0)
                ADD_LIVE((uint64_t)st->increment);   /* a negative one lowers nothing: see above */
            break;
        case MS_EXP_OP_FORK:
            /* the child's writes become private copies: counted while the child lives */
            ADD_LIVE(len);
            live -= len;
            break;
        default:
            break;
        }
        if (peak > l->max_bytes) {
            rc = ms_exp_err_set(e, MS_ERR_TOOBIG, i, "size", "at this step the experiment would hold %llu bytes, over the "
                        "budget of %llu bytes", (unsigned long long)peak, (unsigned long long)l->max_bytes);
            goto out;
        }
        const char *name = st->as[0] ? st->as : (st->op == MS_EXP_OP_REALLOC ? st->ptr : NULL);
        if (name) {
            binding *nb = &bs.b[bs.n++];
            snprintf(nb->name, sizeof nb->name, "%s", name);
            nb->size = st->op == MS_EXP_OP_SBRK ? (st->increment > 0 ? (uint64_t)st->increment : 0) : bytes;
            nb->kind = st->op == MS_EXP_OP_SBRK ? BK_SBRK : st->op == MS_EXP_OP_MMAP ? BK_MMAP : BK_MALLOC;
            nb->step = i;
            nb->live = true;
            if (st->op == MS_EXP_OP_SBRK && st->increment <= 0) {
                rc = ms_exp_err_set(e, MS_ERR_INVAL, i, "as", "only a positive sbrk increment gives a block to name");
                goto out;
            }
        }
    }
#undef ADD_LIVE
    if (peak_out)
        *peak_out = peak;
out:
    free(bs.b);
    return rc;
}

ms_err ms_exp_spec_validate(const ms_exp_spec *s, const ms_exp_limits *l, ms_exp_err *err)
{
    if (s->nsteps == 0)
        return ms_exp_err_set(err, MS_ERR_INVAL, -1, "steps", "an experiment needs at least one step");
    if (s->nsteps > l->max_steps)
        return ms_exp_err_set(err, MS_ERR_TOOBIG, -1, "steps", "%zu steps is over the limit of %llu per experiment",
                      s->nsteps, (unsigned long long)l->max_steps);
    if (s->hold_s > l->max_hold_s)
        return ms_exp_err_set(err, MS_ERR_TOOBIG, -1, "hold_s", "hold_s %llu is over the limit of %llu seconds",
                      (unsigned long long)s->hold_s, (unsigned long long)l->max_hold_s);
    return walk(s, l, err, NULL);
}

bool ms_exp_spec_peak_bytes(const ms_exp_spec *s, uint64_t *out)
{
    ms_exp_limits l = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
    return walk(s, &l, NULL, out) == MS_OK;
}
