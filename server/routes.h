/* routes.h - what routes.c offers the other route files (the route table itself is declared in
 * http.h). */
#ifndef MEMSCOPE_ROUTES_H
#define MEMSCOPE_ROUTES_H

#include <stdbool.h>

#include "http.h"

/* Opens /proc/<pid> for a handler, pid from the path; replies and returns false on failure. */
bool routes_open_pid(http_req *r, int *pid, int *dirfd);

#endif
