/*
 * f8d: noticing a client that closed its side in the middle of a request.
 *
 * libmicrohttpd 0.9.75 in epoll mode registers each connection edge-triggered, without
 * EPOLLRDHUP, and takes a recv() shorter than its buffer to mean "drained": it clears the
 * connection's read-ready flag and waits for the next edge. A FIN that arrived together with
 * the last data (the same segment, or before MHD collected the event) makes no new edge, so
 * MHD never reads the EOF, and a client that sent part of a request and closed keeps its
 * connection slot until the idle timeout (30 s by default). f8d sees the connection on every
 * call of its access handler, so it looks for the EOF there (recv with MSG_PEEK).
 */
#ifndef F8D_CLIENT_CLOSE_H
#define F8D_CLIENT_CLOSE_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

/* True when the client has closed its sending side (or reset the connection) and no byte of
 * it is left unread in the socket. */
bool f8d_client_closed(struct MHD_Connection *conn);

/* On a body chunk: true when the client announced Content-Length, has sent only `received`
 * body bytes of it, and has closed: the request can never complete, so the caller returns
 * MHD_NO and MHD closes the connection at once. False for chunked bodies (their end is
 * MHD's to find). */
bool f8d_upload_abandoned(struct MHD_Connection *conn, uint64_t received);

/* On the first call (the headers): when a body is announced and the client has already
 * closed, MHD may hold the whole body in its buffer (a client that half-closes after a
 * complete request is answered) or none of it (then no further call comes). f8d cannot tell
 * which, so it shortens this connection's idle timeout to one second: a complete request is
 * answered in this same run of MHD, an abandoned one is closed a second later. */
void f8d_upload_watch_close(struct MHD_Connection *conn);

#endif /* F8D_CLIENT_CLOSE_H */
