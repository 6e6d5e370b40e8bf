/*
 * f8d connection state: what f8d keeps for one client connection, from MHD's accept to its
 * close (MHD's socket_context): the current request, the request deadlines' entry
 * (conn_deadline.h), and a watch for the client hanging up, which libmicrohttpd 0.9.75 can
 * miss.
 *
 * MHD adds each socket to its epoll set edge-triggered and takes a read shorter than its
 * buffer to mean the socket is drained. When the request's bytes and the client's FIN arrive
 * together (a client that sends part of a request and closes, or one accepted from the listen
 * queue after it closed), the one edge is spent on the data, the FIN raises no other, and the
 * connection holds its slot until the idle timeout: a few such clients at the connection limit
 * stopped f8d from accepting at all. MHD also never looks at a suspended connection, so a
 * client that hangs up while its images wait for the engine went unnoticed.
 *
 * So every connection also gets a libuv poll for UV_DISCONNECT (EPOLLRDHUP). A hang-up is
 * acted on after MHD has run (f8d_conns_after_run, from the loop's hook), once MHD has read
 * what came with the FIN:
 *   - the request waits for a worker (queued, being parsed): it is cancelled, its images
 *     dropped before they are decoded or run, as nginx (499) and Go's server do; the socket is
 *     shut down, so MHD closes it once it is resumed;
 *   - an answer is queued: nothing (MHD finds out when it writes or reads next), so a client
 *     that half-closes after a request answered at once still reads its answer;
 *   - no request yet, or its body incomplete, and nothing left unread (or less than the body
 *     still needs): the socket is shut down, which gives MHD the hang-up edge it missed, and
 *     MHD closes the connection.
 *
 * Loop thread only (MHD runs there).
 */
#ifndef F8D_CONN_WATCH_H
#define F8D_CONN_WATCH_H

#include <stdbool.h>
#include <microhttpd.h>
#include <uv.h>

#include "conn_deadline.h"

struct f8d_http_request;
struct f8d_server;
struct f8d_tls_cred;

struct f8d_conn {
    struct f8d_server *server;
    int fd;
    struct f8d_http_request *req;      /* the current request, or NULL */
    struct f8d_deadline_entry deadline;
    uv_poll_t hangup;
    bool hung_up;                      /* on the server's list of hang-ups to act on */
    struct f8d_tls_cred *tls_cred;     /* the certificate its TLS handshake used (tls.h) */
    struct f8d_conn *prev_hung_up, *next_hung_up;
};

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the f8d_server): makes the state when MHD
 * accepts a connection and frees it when MHD closes it. */
void f8d_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code);

/* The state of an MHD connection, or NULL (none could be made: out of memory). */
struct f8d_conn *f8d_conn_of(struct MHD_Connection *conn);

/* Acts on the hang-ups seen since the last call (see above). After every MHD run. */
void f8d_conns_after_run(struct f8d_server *s);

#endif /* F8D_CONN_WATCH_H */
