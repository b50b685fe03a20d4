/* fuzz_spec.c - libFuzzer harness for the experiment spec parser: JSON text -> ms_exp_spec (lab/spec.c)
 * and core's validation (ms_exp_spec_validate, ms_exp_spec_peak_bytes), the path every POST body takes.
 *
 * Beyond "no crash, no leak": an accepted spec must stay within the limits it was checked against,
 * and its normalised form (what the lab echoes, ms_spec_step_json) must be accepted again - the lab
 * and the server must never disagree about a spec one of them produced.  Seeded with the presets
 * and bad specs from tests/fuzz/spec-seeds (run.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Fixed limits, not the machine's MemAvailable: a run must not depend on the host. */
    const ms_exp_limits l = {.max_bytes = 2ULL << 30, .max_steps = 256, .max_hold_s = 600};
    ms_exp_spec s;
    ms_exp_err e;
    memset(&e, 0, sizeof e);
    ms_err rc = ms_spec_parse_text((const char *)data, size, &l, &s, &e);
    if (rc != MS_OK) {
        /* a refusal names a field and says why, in a terminated string, and holds nothing */
        if (!e.message[0] || memchr(e.field, '\0', sizeof e.field) == NULL || s.steps != NULL)
            __builtin_trap();
        return 0;
    }
    uint64_t peak = 0;
    if (s.nsteps == 0 || s.nsteps > l.max_steps || s.hold_s > l.max_hold_s ||
        !ms_exp_spec_peak_bytes(&s, &peak) || peak > l.max_bytes)
        __builtin_trap();
    json_t *steps = json_array();
    for (size_t i = 0; i < s.nsteps; i++) {
        json_t *o = ms_spec_step_json(&s.steps[i]);
        if (!o)
            __builtin_trap();
        json_array_append_new(steps, o);
    }
    json_t *root = json_pack("{s:o,s:I}", "steps", steps, "hold_s", (json_int_t)s.hold_s);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    if (!text)
        __builtin_trap();
    ms_exp_spec again;
    ms_exp_err e2;
    memset(&e2, 0, sizeof e2);
    if (ms_spec_parse_text(text, strlen(text), &l, &again, &e2) != MS_OK) {
        fprintf(stderr, "normalised spec refused: step %ld field %s: %s\n%s\n", e2.step, e2.field, e2.message, text);
        __builtin_trap();
    }
    if (again.nsteps != s.nsteps)
        __builtin_trap();
    ms_exp_spec_free(&again);
    free(text);
    json_decref(root);
    ms_exp_spec_free(&s);
    return 0;
}
