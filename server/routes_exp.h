/* routes_exp.h - the experiment routes (routes_exp.c). */
#ifndef MEMSCOPE_ROUTES_EXP_H
#define MEMSCOPE_ROUTES_EXP_H

#include "http.h"

enum MHD_Result h_exp_start(http_req *r);
enum MHD_Result h_exp_list(http_req *r);
enum MHD_Result h_exp_presets(http_req *r);
enum MHD_Result h_exp_get(http_req *r);
enum MHD_Result h_exp_delete(http_req *r);
enum MHD_Result h_exp_events(http_req *r);
/* The waker that resumes parked event streams; stop it before stopping the daemon. */
void routes_exp_start(void);
void routes_exp_stop(void);

#endif
