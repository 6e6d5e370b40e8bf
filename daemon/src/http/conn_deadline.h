/*
 * f8d connection deadlines: slow clients (slowloris) cannot hold a connection slot by
 * trickling a request. MHD's own timeout (`timeout`) only measures idleness, so a client
 * sending one byte every few seconds is never idle; these deadlines measure progress:
 *
 *   head   the request line and headers must be complete `header_timeout` seconds after the
 *          connection opened (nginx's client_header_timeout). After a request on a kept-alive
 *          connection, the next head gets `timeout` + `header_timeout`: f8d cannot tell an idle
 *          connection from one whose next head is trickling in (MHD keeps the bytes), and an
 *          idle one is MHD's to close after `timeout`.
 *   body   `body_timeout` seconds from the end of the head, plus one second for every
 *          `body_min_rate` bytes received (Apache's mod_reqtimeout body=...,MinRate=...).
 *
 * While f8d works on a request or MHD sends the answer, no deadline runs. A client found
 * to have closed its side before its request was complete (see client_close.h) is cut at the
 * next sweep too, which covers an abandoned head that f8d's handler never sees.
 *
 * A uv_timer sweeps the connections a few times per shortest deadline. A connection past its
 * deadline gets shutdown(2) on its socket: MHD sees the hang-up on its next run and closes the
 * connection itself (a closed fd would be reused under MHD's feet).
 *
 * Wiring (http_loop.c): one object per server, created before the MHD daemons start and
 * closed after they stop, and passed to each daemon as
 *   MHD_OPTION_NOTIFY_CONNECTION, f8d_deadlines_notify, deadlines,
 * dispatch.c reports each access-handler call and each completed request.
 */
#ifndef F8D_CONN_DEADLINE_H
#define F8D_CONN_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>
#include <uv.h>

#include "core/options.h"

struct f8d_deadlines;

/* Starts the sweep timer on `loop` (unreferenced: it never keeps the loop running) with the
 * deadlines of `opts` (read now). Returns NULL when out of memory. */
struct f8d_deadlines *f8d_deadlines_start(uv_loop_t *loop, const struct f8d_options *opts);

/* Stops the timer and frees the object once libuv has closed it; *d becomes NULL (so a
 * second call does nothing). Call after MHD_stop_daemon: MHD tells it of every close. */
void f8d_deadlines_close(struct f8d_deadlines **d);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the f8d_deadlines. */
void f8d_deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* dispatch.c, on every call of the access handler: `first` on the first call of a request
 * (its head is complete), else `upload_size` body bytes arrived (0: the body is complete).
 * Does nothing on a connection that is not tracked (deadlines not wired). */
void f8d_deadlines_request_call(struct MHD_Connection *conn, bool first, size_t upload_size);

/* dispatch.c, when a request ends (MHD's "request completed"): the next head's deadline
 * starts. */
void f8d_deadlines_request_ended(struct MHD_Connection *conn);

#endif /* F8D_CONN_DEADLINE_H */
