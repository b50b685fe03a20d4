/* conns.h - every open connection with the time by which its current request must have arrived
 * whole, and a watchdog thread that closes those that miss it.
 *
 * libmicrohttpd's own timeout is an idle timeout: a client sending one header byte every few
 * seconds keeps a connection forever, and a handful of such clients take every slot.  Here a
 * request must arrive whole (headers and body) within --request-timeout of the connection's accept;
 * a kept-alive connection's next one within --idle-timeout plus --request-timeout of the previous
 * answer (its first byte cannot be seen), or --request-timeout of its request line.  And slow
 * clients never hold more than half the slots: past that, the oldest connection still sending a
 * request after a second is closed, so a client that sends its request at once finds room. */
#ifndef MEMSCOPE_CONNS_H
#define MEMSCOPE_CONNS_H

#include <microhttpd.h>

#include "core/error.h"

/* Starts the watchdog (request_s, idle_s: the timeouts; max_conns: the connection limit). */
ms_err conns_start(unsigned request_s, unsigned idle_s, unsigned max_conns);
/* Stops it; after MHD_stop_daemon, which has closed every connection. */
void conns_stop(void);

/* MHD_OPTION_NOTIFY_CONNECTION: tracks a connection from accept to close. */
void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);
/* A request line arrived (MHD_OPTION_URI_LOG_CALLBACK). */
void conns_request_line(struct MHD_Connection *c);
/* The request arrived whole (or was refused on its headers): no deadline until it is answered. */
void conns_request_whole(struct MHD_Connection *c);
/* The answer is over; the connection may wait for another request. */
void conns_request_done(struct MHD_Connection *c);

#endif
