/* test_experiments.c - the server's experiment manager with real labs: start, follow, get, list, delete,
 * refusals before anything runs, a lab killed mid-run, and no lab left behind after shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "experiments.h"

static bool alive(pid_t pid)
{
    /* a reaped lab is gone; kill(0) on a zombie would still succeed, so read its state */
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z';
}

static const char *state_of(experiments_mgr *m, uint64_t id, json_t **keep)
{
    json_t *o = NULL;
    if (experiments_get(m, id, &o) != MS_OK)
        return "(none)";
    *keep = o;
    return json_string_value(json_object_get(o, "state"));
}

/* Follows an experiment to its end; returns the number of lines seen. */
static size_t follow_to_end(experiments_mgr *m, uint64_t id, char **last)
{
    size_t from = 0, lines = 0;
    for (int i = 0; i < 600; i++) {
        experiments_chunk c;
        CHECK_EQ_U64(experiments_follow(m, id, from, 100, &c), MS_OK);
        for (size_t k = 0; k < c.len; k++)
            lines += c.text[k] == '\n';
        if (c.len && last) {
            free(*last);
            *last = strdup(c.text);
        }
        free(c.text);
        from = c.next;
        if (c.finished)
            return lines;
    }
    return lines;
}

int main(void)
{
    experiments_config cfg;
    experiments_config_default(&cfg);
    cfg.lab_path = getenv("MEMSCOPE_LAB");
    cfg.max_wall_s = 20;
    experiments_mgr *m = NULL;
    CHECK_EQ_U64(experiments_new(&cfg, &m), MS_OK);
    CHECK(experiments_lab_path(m)[0] != 0);
    ms_exp_err e;
    uint64_t id1 = 0, id2 = 0, id3 = 0;
    pid_t p1 = 0, p2 = 0, p3 = 0;

    /* a preset runs to its end; every line is handed out, the last one the exit record */
    const char *b1 = "{\"preset\":\"read-vs-write\"}";
    CHECK_EQ_U64(experiments_start(m, b1, strlen(b1), &e, &id1, &p1), MS_OK);
    CHECK(p1 > 0);
    char *last = NULL;
    size_t n = follow_to_end(m, id1, &last);
    CHECK_EQ_U64(n, 1 + 4 + 1 + 1);      /* start, 4 steps, end, exit */
    CHECK(last && strstr(last, "\"type\":\"exit\"") && strstr(last, "\"state\":\"done\""));
    free(last);
    json_t *g = NULL;
    CHECK_STR(state_of(m, id1, &g), "done");
    CHECK_EQ_U64(json_array_size(json_object_get(g, "lines")), 7);
    CHECK_EQ_U64(json_integer_value(json_object_get(g, "steps_done")), 4);
    CHECK_EQ_U64(json_integer_value(json_object_get(g, "exit_code")), 0);
    CHECK(!alive(p1));
    json_decref(g);

    /* refused before anything runs */
    const char *bad = "{\"steps\":[{\"op\":\"malloc\",\"size\":\"3GiB\"}]}";
    uint64_t idx = 0;
    pid_t px = 0;
    CHECK_EQ_U64(experiments_start(m, bad, strlen(bad), &e, &idx, &px), MS_ERR_TOOBIG);
    CHECK_EQ_U64((uint64_t)e.step, 0);
    CHECK_STR(e.field, "size");
    const char *bad2 = "{\"steps\":[{\"op\":\"touch\",\"ptr\":\"x\"}]}";
    CHECK_EQ_U64(experiments_start(m, bad2, strlen(bad2), &e, &idx, &px), MS_ERR_INVAL);
    CHECK_STR(e.field, "ptr");

    /* two held labs; a third is refused (limit 2 at once) */
    const char *held = "{\"preset\":\"seed-1gib\",\"hold_s\":60}";
    CHECK_EQ_U64(experiments_start(m, held, strlen(held), &e, &id2, &p2), MS_OK);
    CHECK_EQ_U64(experiments_start(m, held, strlen(held), &e, &id3, &p3), MS_OK);
    CHECK_EQ_U64(experiments_start(m, held, strlen(held), &e, &idx, &px), MS_ERR_LIMIT);
    for (int i = 0; i < 100; i++) {          /* wait for the hold line */
        g = NULL;
        const char *s = state_of(m, id2, &g);
        bool holding = strcmp(s, "holding") == 0;
        json_decref(g);
        if (holding)
            break;
        struct timespec ts = { 0, 50000000L };
        nanosleep(&ts, NULL);
    }
    g = NULL;
    CHECK_STR(state_of(m, id2, &g), "holding");
    json_decref(g);
    CHECK(alive(p2) && alive(p3));
    json_t *list = NULL;
    CHECK_EQ_U64(experiments_list(m, &list), MS_OK);
    CHECK_EQ_U64(json_array_size(list), 3);
    CHECK_EQ_U64(json_integer_value(json_object_get(json_array_get(list, 0), "id")), id3);   /* newest first */
    json_decref(list);

    /* a lab killed from outside mid-hold: reported with its signal and the step it got to */
    kill(p2, SIGKILL);
    follow_to_end(m, id2, NULL);
    g = NULL;
    CHECK_STR(state_of(m, id2, &g), "killed");
    CHECK_STR(json_string_value(json_object_get(g, "signal")), "SIGKILL");
    CHECK_EQ_U64(json_integer_value(json_object_get(g, "after_step")), 0);
    json_decref(g);
    CHECK(!alive(p2));

    /* delete a live one: reaped before delete returns, kept as killed; a second delete forgets it */
    bool removed = true;
    CHECK_EQ_U64(experiments_delete(m, id3, &removed), MS_OK);
    CHECK(!removed);
    CHECK(!alive(p3));
    g = NULL;
    CHECK_STR(state_of(m, id3, &g), "killed");
    CHECK_STR(json_string_value(json_object_get(g, "reason")), "deleted");
    json_decref(g);
    CHECK_EQ_U64(experiments_delete(m, id3, &removed), MS_OK);
    CHECK(removed);
    CHECK_EQ_U64(experiments_delete(m, id3, &removed), MS_ERR_NOENT);

    /* the segfault preset: killed by SIGSEGV with the faulting address; the manager carries on */
    const char *sf = "{\"preset\":\"segfault\"}";
    uint64_t id4 = 0;
    pid_t p4 = 0;
    CHECK_EQ_U64(experiments_start(m, sf, strlen(sf), &e, &id4, &p4), MS_OK);
    follow_to_end(m, id4, NULL);
    g = NULL;
    CHECK_STR(state_of(m, id4, &g), "killed");
    CHECK_STR(json_string_value(json_object_get(g, "signal")), "SIGSEGV");
    CHECK_EQ_U64(json_integer_value(json_object_get(g, "after_step")), 1);
    CHECK(json_string_value(json_object_get(g, "fault_addr")) != NULL);
    json_decref(g);

    /* shutdown with labs alive: none is left */
    uint64_t id5, id6;
    pid_t p5 = 0, p6 = 0;
    CHECK_EQ_U64(experiments_start(m, held, strlen(held), &e, &id5, &p5), MS_OK);
    CHECK_EQ_U64(experiments_start(m, held, strlen(held), &e, &id6, &p6), MS_OK);
    CHECK(alive(p5) && alive(p6));
    experiments_free(&m);
    CHECK(m == NULL);
    CHECK(!alive(p5) && !alive(p6));
    return check_done();
}
