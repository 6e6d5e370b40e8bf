/*
 * f8d connection watch: notices clients that hang up, which libmicrohttpd 0.9.75 can miss.
 *
 * MHD adds each socket to its epoll set edge-triggered and takes a read shorter than its
 * buffer to mean the socket is drained. When the request's bytes and the client's FIN arrive
 * together (a client that sends part of a request and closes, or one accepted from the listen
 * queue after it closed), the one edge is spent on the data, the FIN raises no other, and the
 * connection holds its slot until the idle timeout: a few such clients at the connection limit
 * stopped f8d from accepting at all. MHD also never looks at a suspended connection, so a
 * client that hangs up while its images wait for the engine went unnoticed.
 *
 * So every connection also gets a libuv poll for UV_DISCONNECT (EPOLLRDHUP, level-triggered) on
 * the loop. When its client hangs up: a request waiting for a worker is marked cancelled (its
 * images are dropped before they are decoded or run); any other connection that is not sending
 * an answer is shut down, which gives MHD the hang-up edge it missed, and MHD closes it.
 *
 * Loop thread only (MHD runs there).
 */
#ifndef F8D_CONN_WATCH_H
#define F8D_CONN_WATCH_H

#include <microhttpd.h>

struct f8d_http_request;

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the f8d_server): starts watching a connection
 * when MHD accepts it and stops when MHD closes it. */
void f8d_conn_watch_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode code);

/* Ties the connection's current request to its watch (NULL: none any more). */
void f8d_conn_watch_set_request(struct MHD_Connection *conn, struct f8d_http_request *req);

#endif /* F8D_CONN_WATCH_H */
