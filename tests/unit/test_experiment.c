/* test_experiment.c - spec parsing and validation: each bad spec is refused naming its step and field.
 *
 * Runs the same parser the server and the lab use (lab/spec.c over core's ms_exp_spec_validate), on
 * literal specs, and checks the error code, the step index and the field for every way a spec can
 * break, plus that every preset parses and the peak-bytes count is what the steps imply. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/experiment.h"
#include "lab/spec.h"

static ms_exp_limits lim = { 2ULL << 30, 256, 600 };

static void refused(const char *spec, ms_err code, long step, const char *field, const char *msg_part)
{
    ms_exp_spec s;
    ms_exp_err e;
    memset(&e, 0, sizeof e);
    ms_err rc = ms_spec_parse_text(spec, strlen(spec), &lim, &s, &e);
    if (rc != code || e.step != step || strcmp(e.field, field) != 0)
        fprintf(stderr, "spec %s\n  got rc=%d step=%ld field=%s msg=%s\n", spec, rc, e.step, e.field, e.message);
    CHECK_EQ_U64(rc, code);
    CHECK_EQ_U64(e.code, code);
    CHECK_EQ_U64((uint64_t)e.step, (uint64_t)step);
    CHECK_STR(e.field, field);
    if (msg_part)
        CHECK(strstr(e.message, msg_part) != NULL);
    CHECK_EQ_U64(s.nsteps, 0);     /* nothing is handed back on refusal */
}

static void accepted(const char *spec, size_t nsteps, uint64_t peak)
{
    ms_exp_spec s;
    ms_exp_err e;
    memset(&e, 0, sizeof e);
    ms_err rc = ms_spec_parse_text(spec, strlen(spec), &lim, &s, &e);
    if (rc != MS_OK)
        fprintf(stderr, "spec %s\n  refused: step %ld field %s: %s\n", spec, e.step, e.field, e.message);
    CHECK_EQ_U64(rc, MS_OK);
    CHECK_EQ_U64(s.nsteps, nsteps);
    uint64_t p = 0;
    CHECK(ms_exp_spec_peak_bytes(&s, &p));
    CHECK_EQ_U64(p, peak);
    ms_exp_spec_free(&s);
}

int main(void)
{
    /* JSON that does not parse: the spec as a whole, with jansson's position */
    refused("{\"steps\":[{\"op\":\"malloc\",", MS_ERR_INVAL, -1, "body", "does not parse");
    refused("[1,2]", MS_ERR_INVAL, -1, "body", NULL);
    refused("{\"steps\":[]}", MS_ERR_INVAL, -1, "steps", "at least one step");
    refused("{\"stepz\":[]}", MS_ERR_INVAL, -1, "stepz", "unknown field");
    /* unknown op, at step 1 */
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":1},{\"op\":\"mallok\",\"size\":1}]}",
            MS_ERR_INVAL, 1, "op", "unknown op \"mallok\"");
    refused("{\"steps\":[{\"size\":1}]}", MS_ERR_INVAL, 0, "op", "missing");
    /* missing size, negative size (integer and string), junk size */
    refused("{\"steps\":[{\"op\":\"malloc\",\"as\":\"a\"}]}", MS_ERR_INVAL, 0, "size", "needs \"size\"");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":4096},{\"op\":\"malloc\",\"size\":-5}]}",
            MS_ERR_INVAL, 1, "size", "negative");
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":\"-1GiB\"}]}", MS_ERR_INVAL, 0, "size", "negative");
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":\"12 parsecs\"}]}", MS_ERR_INVAL, 0, "size", "not a size");
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":0}]}", MS_ERR_INVAL, 0, "size", "at least 1");
    /* a reference to a result no earlier step named, and one used after its free */
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"b\"}]}",
            MS_ERR_INVAL, 1, "ptr", "'b'");
    refused("{\"steps\":[{\"op\":\"touch\",\"ptr\":\"a\"},{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"}]}",
            MS_ERR_INVAL, 0, "ptr", NULL);
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":4096,\"as\":\"a\"},{\"op\":\"free\",\"ptr\":\"a\"},"
            "{\"op\":\"touch\",\"ptr\":\"a\"}]}", MS_ERR_INVAL, 2, "ptr", "released at step 1");
    refused("{\"steps\":[{\"op\":\"free\"}]}", MS_ERR_INVAL, 0, "ptr", "needs \"ptr\"");
    /* fraction outside [0,1] */
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"touch\",\"ptr\":\"m\",\"fraction\":1.5}]}",
            MS_ERR_INVAL, 1, "fraction", "[0, 1]");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"touch\",\"ptr\":\"m\",\"fraction\":-0.1}]}",
            MS_ERR_INVAL, 1, "fraction", "[0, 1]");
    /* a range past the block's end */
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"touch\",\"ptr\":\"m\",\"offset\":\"512KiB\",\"length\":\"1MiB\"}]}",
            MS_ERR_INVAL, 1, "length", "past the end");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"touch\",\"ptr\":\"m\",\"pages\":257}]}",
            MS_ERR_INVAL, 1, "pages", "past the end");
    /* a field the op does not take (a typo must not run a default) */
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"touch\",\"ptr\":\"m\",\"fracton\":0.5}]}",
            MS_ERR_INVAL, 1, "fracton", "takes no field");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"madvise\",\"ptr\":\"m\"}]}",
            MS_ERR_INVAL, 1, "advice", NULL);
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"madvise\",\"ptr\":\"m\",\"advice\":\"forget\"}]}",
            MS_ERR_INVAL, 1, "advice", NULL);
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":1,\"as\":\"a\"},{\"op\":\"malloc\",\"size\":1,\"as\":\"a\"}]}",
            MS_ERR_INVAL, 1, "as", "already names");
    refused("{\"steps\":[{\"op\":\"mallopt\",\"param\":\"mmap_threshold\",\"value\":\"64MiB\"}]}",
            MS_ERR_INVAL, 0, "value", NULL);
    refused("{\"preset\":\"no-such\"}", MS_ERR_INVAL, -1, "preset", "no preset");
    refused("{\"preset\":\"seed-1gib\",\"steps\":[]}", MS_ERR_INVAL, -1, "preset", NULL);
    /* too many steps */
    {
        char big[300 * 40];
        size_t o = (size_t)snprintf(big, sizeof big, "{\"steps\":[");
        for (int i = 0; i < 257; i++)
            o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"op\":\"sleep\",\"ms\":0}", i ? "," : "");
        snprintf(big + o, sizeof big - o, "]}");
        refused(big, MS_ERR_TOOBIG, -1, "steps", "257 steps");
    }
    /* over budget, computed before anything runs: one block, and the peak of several */
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":\"3GiB\"}]}", MS_ERR_TOOBIG, 0, "size", "budget");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1GiB\",\"as\":\"a\"},{\"op\":\"mmap\",\"size\":\"1GiB\",\"as\":\"b\"},"
            "{\"op\":\"malloc\",\"size\":1}]}", MS_ERR_TOOBIG, 2, "size", "would hold 2147483649");
    refused("{\"steps\":[{\"op\":\"calloc\",\"size\":\"1GiB\",\"count\":3}]}", MS_ERR_TOOBIG, 0, "size", "budget");
    refused("{\"steps\":[{\"op\":\"sleep\",\"ms\":1}],\"hold_s\":601}", MS_ERR_TOOBIG, -1, "hold_s", NULL);
    /* a fork whose child copies more than fits */
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1280MiB\",\"as\":\"a\"},{\"op\":\"fork\",\"ptr\":\"a\"}]}",
            MS_ERR_TOOBIG, 1, "size", "budget");

    /* accepted specs, and the peak the budget is checked against */
    accepted("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1GiB\",\"as\":\"a\"},{\"op\":\"munmap\",\"ptr\":\"a\"},"
             "{\"op\":\"mmap\",\"size\":\"1GiB\",\"as\":\"a\"},{\"op\":\"touch\",\"ptr\":\"a\",\"fraction\":0.5,"
             "\"order\":\"random\",\"seed\":7}]}", 4, 1ULL << 30);
    accepted("{\"steps\":[{\"op\":\"malloc\",\"size\":\"64KiB\",\"as\":\"a\"},{\"op\":\"realloc\",\"ptr\":\"a\",\"size\":\"1MiB\"},"
             "{\"op\":\"touch\",\"ptr\":\"a\",\"length\":\"1MiB\"},{\"op\":\"free\",\"ptr\":\"a\"},"
             "{\"op\":\"sbrk\",\"increment\":\"4KiB\"},{\"op\":\"sbrk\",\"increment\":\"-4KiB\"},"
             "{\"op\":\"malloc_trim\"}],\"hold_s\":3}", 7, (64 << 10) + (1 << 20));

    /* releases that release nothing are not counted as releases: a negative sbrk lowers nothing */
    refused("{\"steps\":[{\"op\":\"sbrk\",\"increment\":\"1280MiB\"},{\"op\":\"sbrk\",\"increment\":\"-1280MiB\"},"
            "{\"op\":\"sbrk\",\"increment\":\"1280MiB\"}]}", MS_ERR_TOOBIG, 2, "size", "would hold");
    /* and what the lab would refuse, or what cannot be bounded, is refused here, naming the step */
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":4096},{\"op\":\"sbrk\",\"increment\":\"-4KiB\"}]}",
            MS_ERR_INVAL, 1, "increment", "below where the experiment started");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"free\",\"ptr\":\"m\"}]}",
            MS_ERR_INVAL, 1, "ptr", "made by mmap at step 0 (use munmap)");
    refused("{\"steps\":[{\"op\":\"malloc\",\"size\":\"1MiB\",\"as\":\"b\"},{\"op\":\"munmap\",\"ptr\":\"b\"}]}",
            MS_ERR_INVAL, 1, "ptr", "made by malloc at step 0 (use free)");
    refused("{\"steps\":[{\"op\":\"mmap\",\"size\":\"1MiB\",\"as\":\"m\"},{\"op\":\"realloc\",\"ptr\":\"m\",\"size\":8}]}",
            MS_ERR_INVAL, 1, "ptr", "use munmap");
    refused("{\"steps\":[{\"op\":\"sbrk\",\"increment\":\"64KiB\",\"as\":\"s\"},{\"op\":\"free\",\"ptr\":\"s\"}]}",
            MS_ERR_INVAL, 1, "ptr", "made by sbrk");
    refused("{\"steps\":[{\"op\":\"calloc\",\"size\":\"1MiB\",\"as\":\"c\"},{\"op\":\"munmap\",\"ptr\":\"c\"}]}",
            MS_ERR_INVAL, 1, "ptr", "use free");
    accepted("{\"steps\":[{\"op\":\"mmap\",\"size\":\"64MiB\",\"as\":\"m\"},{\"op\":\"fork\",\"ptr\":\"m\",\"fraction\":0.25}]}",
             2, (64ULL << 20) + (16ULL << 20));

    /* every preset parses and passes validation under the default limits */
    for (size_t i = 0; i < ms_npresets; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"preset\":\"%s\",\"hold_s\":1}", ms_presets[i].name);
        ms_exp_spec s;
        ms_exp_err e;
        ms_err rc = ms_spec_parse_text(body, strlen(body), &lim, &s, &e);
        if (rc != MS_OK)
            fprintf(stderr, "preset %s: step %ld field %s: %s\n", ms_presets[i].name, e.step, e.field, e.message);
        CHECK_EQ_U64(rc, MS_OK);
        CHECK_STR(s.preset, ms_presets[i].name);
        CHECK_EQ_U64(s.hold_s, 1);
        CHECK(strlen(ms_presets[i].lesson) > 40);
        ms_exp_spec_free(&s);
    }
    static const char *const need[] = { "seed-1gib", "touch-quarter", "read-vs-write", "brk-vs-mmap",
                                        "free-returns", "dontneed", "thp", "fork-cow", "segfault" };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        CHECK(ms_preset_find(need[i]) != NULL);

    /* the default budget is min(2 GiB, MemAvailable / 2) */
    ms_exp_limits d;
    CHECK_EQ_U64(ms_exp_limits_default(&d, NULL), MS_OK);
    CHECK(d.max_bytes > 0 && d.max_bytes <= (2ULL << 30));
    CHECK_EQ_U64(d.max_steps, 256);
    return check_done();
}
