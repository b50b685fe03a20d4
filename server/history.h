/* history.h - memscoped's history options and start-up: the store, the sampler, their routes.
 *
 * Kept out of main.c so that main only forwards the options it does not know and calls start and
 * stop.  Everything here runs on the main thread. */
#ifndef MEMSCOPE_HISTORY_H
#define MEMSCOPE_HISTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sampler.h"
#include "store/store.h"

typedef struct {
    const char *data_dir;        /* NULL: the default; "none": in memory */
    ms_store_config store;
    ms_sampler_config sampler;
    ms_store *st;                /* owned; made by history_start, freed by history_stop */
    ms_sampler *smp;             /* owned; likewise (NULL when the interval is 0) */
} history_opts;

void history_opts_default(history_opts *o);
/* The history options' lines of --help. */
void history_usage(FILE *f);
/* 1: the option was a history one (and its value good), 0: not a history option, -1: a bad value
 * (the message is printed). */
int history_option(history_opts *o, const char *name, const char *value);
/* Opens the store (an unusable one is logged and reported by /health, never fatal), starts the
 * sampler and hands both to the routes.  false only when out of memory. */
bool history_start(history_opts *o);
/* Stops the sampler (the set in progress is finished first), then closes the store. */
void history_stop(history_opts *o);

#endif
