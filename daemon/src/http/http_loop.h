/*
 * f8d HTTP on the libuv loop: libmicrohttpd with no threads of its own. MHD binds one socket
 * per daemon, so each listening address (the `host` list) gets its own MHD daemon, all on the
 * same loop. Each runs in external-epoll mode: its epoll fd is watched with uv_poll and a
 * uv_timer re-armed from MHD_get_timeout covers connection timeouts; both only wake the loop.
 * MHD runs in one place, a uv_prepare hook, once per loop turn before the loop blocks, so
 * whatever a callback did (a batch answered, a reload done, a signal) reaches the sockets on
 * the same turn without anyone calling MHD.
 */
#ifndef F8D_HTTP_LOOP_H
#define F8D_HTTP_LOOP_H

#include <stddef.h>
#include <uv.h>

#include "core/frontend.h"

struct f8d_server;

/* Binds every address of opts.host (separated by commas or blanks; "ADDR:PORT" or
 * "[V6]:PORT" gives an address its own port) on opts.port and starts watching them. With port
 * 0 the first address without its own port picks a free port and the others use it.
 * Returns 0, or -1 with a message (listeners already started are stopped by
 * f8d_http_stop). */
int f8d_http_start(struct f8d_server *s, char *err, size_t errlen);

/* Stops accepting connections on every address (open ones are still served). */
void f8d_http_quiesce(struct f8d_server *s);

/* Stops every MHD daemon (closing every connection) and closes their poll and timer handles
 * and the hook. */
void f8d_http_stop(struct f8d_server *s);

/* Frees the HTTP request structs kept for reuse (dispatch.c). */
void f8d_http_free_requests(struct f8d_server *s);

/* The HTTP front end, as the server runs it (core/frontend.h): start, quiesce, stop and
 * release are the functions above. */
extern const struct f8d_frontend f8d_http_frontend;

#endif /* F8D_HTTP_LOOP_H */
