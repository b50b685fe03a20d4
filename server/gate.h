/* gate.h - the checks a request passes on its headers alone, before memscoped reads a byte of its
 * body or routes it: framing that cannot be read two ways, a Host that names this server, and for
 * a request that changes state, no foreign Origin and a JSON Content-Type.
 *
 * Why each exists: two Content-Length values, or one beside a Transfer-Encoding, let a proxy and
 * memscoped split a stream into different requests (smuggling); a Host that is not ours is what a
 * DNS-rebinding page sends; and a cross-site page can POST text/plain without a preflight, but
 * never application/json. */
#ifndef MEMSCOPE_GATE_H
#define MEMSCOPE_GATE_H

#include <microhttpd.h>
#include <stdbool.h>

#include "server.h"

typedef struct {
    unsigned status;            /* 0: the request may go on */
    const char *code;           /* the JSON error code */
    char msg[320];
} gate_refusal;

/* Fills *out with the first refusal of this request's framing, Host or Origin, or out->status = 0. */
void gate_check(const server_ctx *srv, struct MHD_Connection *conn, const char *method, bool http10,
                gate_refusal *out);
/* The same for its Content-Type; after routing, so an unknown route or method is a 404 or 405. */
void gate_content_type(struct MHD_Connection *conn, const char *method, gate_refusal *out);

#endif
