/* routes_cgroup.h - cgroups, OOM events, and a process's cgroup (routes_cgroup.c). */
#ifndef MEMSCOPE_ROUTES_CGROUP_H
#define MEMSCOPE_ROUTES_CGROUP_H

#include <stdbool.h>

#include "core/proclist.h"
#include "http.h"
#include "jw.h"

enum MHD_Result h_cgroups(http_req *r);
enum MHD_Result h_cgroup(http_req *r);
enum MHD_Result h_events(http_req *r);
/* Writes the "cgroup" and "container" members of the process at pid_dirfd (null when unknown). */
void routes_cgroup_write_proc(jw *w, int pid_dirfd);
/* Keeps the processes that ?cgroup=PATH (that cgroup or below) and ?container=ID name; replies 400
 * and returns false on a bad value.  owned: l owns its entries' cmdlines (dropped ones are freed). */
bool routes_cgroup_filter(http_req *r, ms_proclist *l, bool owned);

#endif
