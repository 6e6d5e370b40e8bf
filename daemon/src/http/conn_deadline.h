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
 * While f8d works on a request or MHD sends the answer, no deadline runs. (A client that
 * closes its side in the middle of a request is conn_watch.h's business.)
 *
 * A uv_timer sweeps the connections a few times per shortest deadline. A connection past its
 * deadline gets shutdown(2) on its socket: MHD sees the hang-up on its next run and closes the
 * connection itself (a closed fd would be reused under MHD's feet).
 *
 * Wiring: one object per server (http_loop.c starts it before the MHD daemons and closes it
 * after they stop); each connection's entry lives in its conn_watch state, which tracks and
 * untracks it; dispatch.c reports each access-handler call and each completed request.
 */
#ifndef F8D_CONN_DEADLINE_H
#define F8D_CONN_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>
#include <uv.h>

#include "core/options.h"

struct f8d_deadlines;

enum f8d_deadline_phase {
    F8D_WAIT_HEAD,  /* the request line and headers are arriving */
    F8D_WAIT_BODY,  /* the body is arriving */
    F8D_ANSWERING   /* f8d works on the request or MHD sends the answer: no deadline */
};

/* One connection's deadlines (a field of its conn_watch state). */
struct f8d_deadline_entry {
    struct f8d_deadline_entry *prev, *next;
    struct f8d_deadlines *owner;   /* NULL: not tracked */
    int fd;
    enum f8d_deadline_phase phase;
    uint64_t head_deadline_ms;     /* F8D_WAIT_HEAD */
    uint64_t body_start_ms;        /* F8D_WAIT_BODY */
    uint64_t body_bytes;
    bool cut;                      /* shut down already: MHD will close it */
};

/* Starts the sweep timer on `loop` (unreferenced: it never keeps the loop running) with the
 * deadlines of `opts` (read now). Returns NULL when out of memory. */
struct f8d_deadlines *f8d_deadlines_start(uv_loop_t *loop, const struct f8d_options *opts);

/* Stops the timer and frees the object once libuv has closed it; *d becomes NULL (so a
 * second call does nothing). Call after MHD_stop_daemon: MHD tells it of every close. */
void f8d_deadlines_close(struct f8d_deadlines **d);

/* A connection MHD accepted (its socket fd) / closed. d may be NULL (out of memory at start):
 * the entry is then not tracked and MHD's idle timeout is all there is. */
void f8d_deadlines_track(struct f8d_deadlines *d, struct f8d_deadline_entry *e, int fd);
void f8d_deadlines_untrack(struct f8d_deadline_entry *e);

/* dispatch.c, on every call of the access handler: `first` on the first call of a request
 * (its head is complete; `conn` tells whether a body is announced), else `upload_size` body
 * bytes arrived (0: the body is complete). Does nothing on an entry not tracked. */
void f8d_deadlines_request_call(struct f8d_deadline_entry *e, struct MHD_Connection *conn,
                                bool first, size_t upload_size);

/* dispatch.c, when a request ends (MHD's "request completed"): the next head's deadline
 * starts. */
void f8d_deadlines_request_ended(struct f8d_deadline_entry *e);

#endif /* F8D_CONN_DEADLINE_H */
