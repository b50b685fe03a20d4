/* spec.h - experiment specs as JSON: parsing into core's model, and the preset table.
 *
 * Shared by memscope-lab and memscoped (both link jansson; core does not), so the server refuses a
 * bad spec with exactly the words the lab would use, before a lab is started. */
#ifndef MEMSCOPE_LAB_SPEC_H
#define MEMSCOPE_LAB_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "core/experiment.h"

#define MS_SPEC_MAX_TEXT (1u << 20)   /* a spec body larger than this is refused (MS_ERR_TOOBIG) */

/* Parses a spec object {"steps":[...], "hold_s":N} or {"preset":"NAME", "hold_s":N}, then
 * validates it against l.  On refusal fills *err (step -1 for the spec as a whole). */
ms_err ms_spec_parse_text(const char *text, size_t len, const ms_exp_limits *l, ms_exp_spec *out, ms_exp_err *err);
ms_err ms_spec_parse_json(const json_t *root, const ms_exp_limits *l, ms_exp_spec *out, ms_exp_err *err);

/* The spec as normalised JSON (sizes in bytes, defaults spelled out): what the lab echoes. */
json_t *ms_spec_step_json(const ms_exp_step *st);

typedef struct {
    const char *name;
    const char *title;
    const char *lesson;       /* one or two plain sentences */
    const char *spec;         /* the spec as JSON text */
} ms_preset;

extern const ms_preset ms_presets[];
extern const size_t ms_npresets;
const ms_preset *ms_preset_find(const char *name);
/* [{"name","title","lesson","spec":{...}}, ...] */
json_t *ms_presets_json(void);

#endif
