/* spec.c - JSON specs into core's experiment model (ms_exp_spec), field by field, naming what is wrong.
 *
 * The parser's job is shape: each field has the type its op expects, sizes may carry units, a field
 * the op does not know is refused (a typo must not run a default).  Meaning - references, ranges,
 * budget - is checked afterwards by core's ms_exp_spec_validate, so the server and the lab refuse the
 * same specs with the same words. */
#include "spec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/num.h"


/* A size: a non-negative integer, or a string with an optional unit ("64KiB"). */
static ms_err get_size(const json_t *v, long i, const char *field, ms_exp_err *e, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0)
            return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must not be negative", field);
        *out = (uint64_t)n;
        return MS_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (s[0] == '-')
            return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must not be negative", field);
        if (ms_parse_size(s, out))
            return MS_OK;
        return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s \"%.40s\" is not a size (e.g. 4096, \"64KiB\", \"1GiB\")",
                      field, s);
    }
    return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must be a number of bytes or a string like \"64KiB\"", field);
}

/* A signed size (sbrk increment): an integer or "-64KiB". */
static ms_err get_ssize(const json_t *v, long i, const char *field, ms_exp_err *e, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return MS_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        bool neg = s[0] == '-';
        uint64_t m;
        if (ms_parse_size(s + neg, &m) && m <= INT64_MAX) {
            *out = neg ? -(int64_t)m : (int64_t)m;
            return MS_OK;
        }
    }
    return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must be a signed number of bytes (e.g. \"-64KiB\")", field);
}

static ms_err get_uint(const json_t *v, long i, const char *field, ms_exp_err *e, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must be a non-negative integer", field);
    *out = (uint64_t)json_integer_value(v);
    return MS_OK;
}

static ms_err get_bool(const json_t *v, long i, const char *field, ms_exp_err *e, bool *out)
{
    if (!json_is_boolean(v))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must be true or false", field);
    *out = json_is_true(v);
    return MS_OK;
}

static ms_err get_name(const json_t *v, long i, const char *field, ms_exp_err *e, char *out)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= MS_EXP_NAME_MAX)
        return ms_exp_err_set(e, MS_ERR_INVAL, i, field, "%s must be a name of 1 to %d characters", field,
                      MS_EXP_NAME_MAX - 1);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return MS_OK;
}

static ms_err parse_step(const json_t *o, long i, ms_exp_step *st, ms_exp_err *e)
{
    ms_err rc = MS_OK;
    const char *key;
    const json_t *v;
    bool has_part = false;
    if (!json_is_object(o))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "op", "a step must be an object like {\"op\":\"malloc\",\"size\":\"1GiB\"}");
    const json_t *opv = json_object_get(o, "op");
    if (!opv)
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "op", "missing \"op\"");
    ms_exp_op op;
    if (!json_is_string(opv) || !ms_exp_op_from_name(json_string_value(opv), &op))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "op", "unknown op \"%.40s\" (malloc, calloc, realloc, free, mmap, munmap, "
                      "touch, madvise, mlock, munlock, mallopt, malloc_trim, sbrk, fork, access_unmapped, sleep)",
                      json_is_string(opv) ? json_string_value(opv) : "(not a string)");
    ms_exp_step_defaults(st, op);

    json_object_foreach((json_t *)o, key, v) {
        if (!ms_exp_op_takes(op, key))
            return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "%s takes no field \"%.40s\"", ms_exp_op_name(op), key);
        if (strcmp(key, "op") == 0 || strcmp(key, "note") == 0) {
            continue;
        } else if (strcmp(key, "as") == 0) {
            rc = get_name(v, i, key, e, st->as);
        } else if (strcmp(key, "ptr") == 0) {
            rc = get_name(v, i, key, e, st->ptr);
        } else if (strcmp(key, "size") == 0) {
            rc = get_size(v, i, key, e, &st->size);
            st->has_size = true;
        } else if (strcmp(key, "count") == 0) {
            rc = get_uint(v, i, key, e, &st->count);
        } else if (strcmp(key, "offset") == 0) {
            rc = get_size(v, i, key, e, &st->offset);
        } else if (strcmp(key, "fraction") == 0 || strcmp(key, "pages") == 0 || strcmp(key, "length") == 0) {
            if (has_part)
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "give only one of fraction, pages, length");
            has_part = true;
            if (key[0] == 'f') {
                st->part = MS_EXP_PART_FRACTION;
                if (!json_is_number(v))
                    return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "fraction must be a number within [0, 1]");
                st->fraction = json_number_value(v);
                if (!(st->fraction >= 0.0 && st->fraction <= 1.0))
                    return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "fraction must be within [0, 1]");
            } else if (key[0] == 'p') {
                st->part = MS_EXP_PART_PAGES;
                rc = get_uint(v, i, key, e, &st->pages);
            } else {
                st->part = MS_EXP_PART_LENGTH;
                rc = get_size(v, i, key, e, &st->length);
            }
        } else if (strcmp(key, "mode") == 0) {
            const char *s = json_is_string(v) ? json_string_value(v) : "";
            if (strcmp(s, "read") == 0)
                st->mode = MS_EXP_TOUCH_READ;
            else if (strcmp(s, "write") == 0)
                st->mode = MS_EXP_TOUCH_WRITE;
            else
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "mode is \"read\" or \"write\"");
        } else if (strcmp(key, "order") == 0) {
            if (!json_is_string(v) || !ms_exp_order_from_name(json_string_value(v), &st->order))
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "order is \"sequential\", \"strided\" or \"random\"");
        } else if (strcmp(key, "stride") == 0) {
            rc = get_uint(v, i, key, e, &st->stride);
        } else if (strcmp(key, "seed") == 0) {
            rc = get_uint(v, i, key, e, &st->seed);
        } else if (strcmp(key, "shared") == 0) {
            rc = get_bool(v, i, key, e, &st->shared);
        } else if (strcmp(key, "populate") == 0) {
            rc = get_bool(v, i, key, e, &st->populate);
        } else if (strcmp(key, "huge") == 0 || strcmp(key, "advice") == 0) {
            ms_exp_advice a;
            if (!json_is_string(v) || !ms_exp_advice_from_name(json_string_value(v), &a))
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "%s is one of dontneed, free, pageout, cold, willneed, "
                              "hugepage, nohugepage", key);
            if (key[0] == 'h')
                st->huge = a;
            else
                st->advice = a;
        } else if (strcmp(key, "param") == 0) {
            if (!json_is_string(v) || !ms_exp_mallopt_from_name(json_string_value(v), &st->param))
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "param is \"mmap_threshold\" or \"trim_threshold\"");
        } else if (strcmp(key, "value") == 0) {
            uint64_t u;
            rc = get_size(v, i, key, e, &u);
            if (rc == MS_OK && u > INT32_MAX)
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "value must be at most 2147483647");
            st->value = (int64_t)u;
        } else if (strcmp(key, "pad") == 0) {
            rc = get_size(v, i, key, e, &st->pad);
        } else if (strcmp(key, "increment") == 0) {
            rc = get_ssize(v, i, key, e, &st->increment);
        } else if (strcmp(key, "ms") == 0) {
            rc = get_uint(v, i, key, e, &st->ms);
        } else if (strcmp(key, "addr") == 0) {
            if (!json_is_string(v) || !ms_parse_addr(json_string_value(v), &st->addr))
                return ms_exp_err_set(e, MS_ERR_INVAL, i, key, "addr must be a hex string like \"0x1000\"");
        }
        if (rc != MS_OK)
            return rc;
    }
    if (op == MS_EXP_OP_MALLOPT && !json_object_get(o, "param"))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "param", "mallopt needs \"param\": mmap_threshold or trim_threshold");
    if (op == MS_EXP_OP_MALLOPT && !json_object_get(o, "value"))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "value", "mallopt needs \"value\"");
    if (op == MS_EXP_OP_SBRK && !json_object_get(o, "increment"))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "increment", "sbrk needs \"increment\"");
    if (op == MS_EXP_OP_SLEEP && !json_object_get(o, "ms"))
        return ms_exp_err_set(e, MS_ERR_INVAL, i, "ms", "sleep needs \"ms\"");
    return MS_OK;
}

static ms_err parse_steps(const json_t *steps, const ms_exp_limits *l, ms_exp_spec *out, ms_exp_err *e)
{
    if (!json_is_array(steps))
        return ms_exp_err_set(e, MS_ERR_INVAL, -1, "steps", "\"steps\" must be an array of step objects");
    size_t n = json_array_size(steps);
    if (n > l->max_steps || n > MS_EXP_STEPS_HARD_MAX)
        return ms_exp_err_set(e, MS_ERR_TOOBIG, -1, "steps", "%zu steps is over the limit of %llu per experiment",
                      n, (unsigned long long)(l->max_steps < MS_EXP_STEPS_HARD_MAX ? l->max_steps : MS_EXP_STEPS_HARD_MAX));
    for (size_t k = 0; k < n; k++) {
        ms_exp_step *st;
        if (ms_exp_spec_add(out, &st) != MS_OK)
            return ms_exp_err_set(e, MS_ERR_NOMEM, (long)k, "steps", "out of memory");
        ms_err rc = parse_step(json_array_get(steps, k), (long)k, st, e);
        if (rc != MS_OK)
            return rc;
    }
    return MS_OK;
}

ms_err ms_spec_parse_json(const json_t *root, const ms_exp_limits *l, ms_exp_spec *out, ms_exp_err *e)
{
    ms_err rc = MS_OK;
    const char *key;
    const json_t *v;
    json_t *preset_root = NULL;
    ms_exp_spec_init(out);
    if (!json_is_object(root)) {
        rc = ms_exp_err_set(e, MS_ERR_INVAL, -1, "body", "a spec is an object: {\"steps\":[...]} or {\"preset\":\"NAME\"}");
        goto out;
    }
    json_object_foreach((json_t *)root, key, v) {
        if (strcmp(key, "steps") != 0 && strcmp(key, "preset") != 0 && strcmp(key, "hold_s") != 0 &&
            strcmp(key, "note") != 0) {
            rc = ms_exp_err_set(e, MS_ERR_INVAL, -1, key, "unknown field \"%.40s\" (steps, preset, hold_s, note)", key);
            goto out;
        }
    }
    const json_t *preset = json_object_get(root, "preset");
    const json_t *steps = json_object_get(root, "steps");
    if (preset && steps) {
        rc = ms_exp_err_set(e, MS_ERR_INVAL, -1, "preset", "give either \"preset\" or \"steps\", not both");
        goto out;
    }
    if (preset) {
        const ms_preset *p = json_is_string(preset) ? ms_preset_find(json_string_value(preset)) : NULL;
        if (!p) {
            rc = ms_exp_err_set(e, MS_ERR_INVAL, -1, "preset", "no preset named \"%.40s\" (GET /api/v1/experiments/presets)",
                        json_is_string(preset) ? json_string_value(preset) : "(not a string)");
            goto out;
        }
        json_error_t je;
        preset_root = json_loads(p->spec, 0, &je);
        if (!preset_root) {   /* a preset is our own data: this is a bug, said plainly */
            rc = ms_exp_err_set(e, MS_ERR_PARSE, -1, "preset", "preset %s does not parse: %s", p->name, je.text);
            goto out;
        }
        rc = parse_steps(json_object_get(preset_root, "steps"), l, out, e);
        if (rc != MS_OK)
            goto out;
        snprintf(out->preset, sizeof out->preset, "%s", p->name);
        const json_t *ph = json_object_get(preset_root, "hold_s");
        if (ph)
            out->hold_s = (uint64_t)json_integer_value(ph);
    } else if (steps) {
        rc = parse_steps(steps, l, out, e);
        if (rc != MS_OK)
            goto out;
    } else {
        rc = ms_exp_err_set(e, MS_ERR_INVAL, -1, "steps", "missing \"steps\" (or \"preset\")");
        goto out;
    }
    const json_t *hold = json_object_get(root, "hold_s");
    if (hold) {
        rc = get_uint(hold, -1, "hold_s", e, &out->hold_s);
        if (rc != MS_OK)
            goto out;
    }
    rc = ms_exp_spec_validate(out, l, e);
out:
    json_decref(preset_root);
    if (rc != MS_OK)
        ms_exp_spec_free(out);
    return rc;
}

ms_err ms_spec_parse_text(const char *text, size_t len, const ms_exp_limits *l, ms_exp_spec *out, ms_exp_err *e)
{
    ms_exp_spec_init(out);
    if (len > MS_SPEC_MAX_TEXT)
        return ms_exp_err_set(e, MS_ERR_TOOBIG, -1, "body", "a spec is at most %u bytes", MS_SPEC_MAX_TEXT);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ms_exp_err_set(e, MS_ERR_INVAL, -1, "body", "JSON does not parse: line %d column %d: %s",
                      je.line, je.column, je.text);
    ms_err rc = ms_spec_parse_json(root, l, out, e);
    json_decref(root);
    return rc;
}

static json_t *hex(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return json_string(b);
}

json_t *ms_spec_step_json(const ms_exp_step *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "op", json_string(ms_exp_op_name(st->op)));
    if (st->as[0])
        json_object_set_new(o, "as", json_string(st->as));
    if (st->ptr[0])
        json_object_set_new(o, "ptr", json_string(st->ptr));
    if (st->has_size)
        json_object_set_new(o, "size", json_integer((json_int_t)st->size));
    if (st->op == MS_EXP_OP_CALLOC)
        json_object_set_new(o, "count", json_integer((json_int_t)st->count));
    if (ms_exp_op_takes(st->op, "fraction")) {
        json_object_set_new(o, "offset", json_integer((json_int_t)st->offset));
        switch (st->part) {
        case MS_EXP_PART_ALL: break;
        case MS_EXP_PART_FRACTION: json_object_set_new(o, "fraction", json_real(st->fraction)); break;
        case MS_EXP_PART_PAGES: json_object_set_new(o, "pages", json_integer((json_int_t)st->pages)); break;
        case MS_EXP_PART_LENGTH: json_object_set_new(o, "length", json_integer((json_int_t)st->length)); break;
        }
    }
    switch (st->op) {
    case MS_EXP_OP_TOUCH:
        json_object_set_new(o, "mode", json_string(st->mode == MS_EXP_TOUCH_READ ? "read" : "write"));
        json_object_set_new(o, "order", json_string(ms_exp_order_name(st->order)));
        if (st->order == MS_EXP_ORDER_STRIDED)
            json_object_set_new(o, "stride", json_integer((json_int_t)st->stride));
        if (st->order == MS_EXP_ORDER_RANDOM)
            json_object_set_new(o, "seed", json_integer((json_int_t)st->seed));
        break;
    case MS_EXP_OP_MMAP:
        json_object_set_new(o, "shared", json_boolean(st->shared));
        json_object_set_new(o, "populate", json_boolean(st->populate));
        if (st->huge != MS_EXP_ADV_NONE)
            json_object_set_new(o, "huge", json_string(ms_exp_advice_name(st->huge)));
        break;
    case MS_EXP_OP_MADVISE:
        json_object_set_new(o, "advice", json_string(ms_exp_advice_name(st->advice)));
        break;
    case MS_EXP_OP_MALLOPT:
        json_object_set_new(o, "param", json_string(ms_exp_mallopt_name(st->param)));
        json_object_set_new(o, "value", json_integer((json_int_t)st->value));
        break;
    case MS_EXP_OP_MALLOC_TRIM:
        json_object_set_new(o, "pad", json_integer((json_int_t)st->pad));
        break;
    case MS_EXP_OP_SBRK:
        json_object_set_new(o, "increment", json_integer((json_int_t)st->increment));
        break;
    case MS_EXP_OP_SLEEP:
        json_object_set_new(o, "ms", json_integer((json_int_t)st->ms));
        break;
    case MS_EXP_OP_ACCESS_UNMAPPED:
        if (st->addr)
            json_object_set_new(o, "addr", hex(st->addr));
        break;
    default:
        break;
    }
    return o;
}
