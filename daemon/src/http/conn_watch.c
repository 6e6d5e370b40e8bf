/* f8d connection watch: a libuv UV_DISCONNECT poll per connection (see conn_watch.h). */
#include "conn_watch.h"

#include <assert.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/log.h"
#include "core/server.h"
#include "http_request.h"

struct conn_watch {
    uv_poll_t poll;
    int fd;
    struct f8d_http_request *req; /* the connection's current request, or NULL */
};

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_disconnect(uv_poll_t *h, int status, int events)
{
    struct conn_watch *w = h->data;
    (void)status;
    (void)events;
    uv_poll_stop(h); /* level-triggered: once is enough */
    struct f8d_http_request *req = w->req;
    if (req != NULL && req->status != 0)
        return; /* an answer is on its way: MHD finds out when it writes or reads next */
    /* Give MHD the hang-up edge it missed: it closes the connection on its next run. A
     * suspended one (waiting for a worker) is closed once it is resumed. */
    shutdown(w->fd, SHUT_RDWR);
    if (req != NULL && req->suspended)
        f8d_request_cancel(&req->core); /* may complete it now: last, as it may be freed */
}

void f8d_conn_watch_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode code)
{
    struct f8d_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn_watch *w = *socket_context;
        *socket_context = NULL;
        if (w != NULL) {
            uv_poll_stop(&w->poll);
            uv_close((uv_handle_t *)&w->poll, on_closed); /* before MHD closes the fd */
        }
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct conn_watch *w = info ? calloc(1, sizeof(*w)) : NULL;
    if (w == NULL)
        return; /* unwatched: MHD's idle timeout still closes it */
    w->fd = info->connect_fd;
    int rc = uv_poll_init_socket(&s->loop, &w->poll, w->fd);
    if (rc != 0) {
        f8d_log("cannot watch a connection for hang-ups: %s", uv_strerror(rc));
        free(w);
        return;
    }
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_DISCONNECT, on_disconnect);
    *socket_context = w;
}

void f8d_conn_watch_set_request(struct MHD_Connection *conn, struct f8d_http_request *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_watch *w = info ? info->socket_context : NULL;
    if (w != NULL)
        w->req = req;
}
