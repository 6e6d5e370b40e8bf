/* f8d connection state: the per-connection struct and the hang-up watch (see the header). */
#include "conn_watch.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/server.h"
#include "handlers.h"
#include "http_request.h"
#include "tls.h"

static void hung_up_unlink(struct f8d_server *s, struct f8d_conn *c)
{
    if (!c->hung_up)
        return;
    if (c->prev_hung_up != NULL)
        c->prev_hung_up->next_hung_up = c->next_hung_up;
    else
        s->hung_up = c->next_hung_up;
    if (c->next_hung_up != NULL)
        c->next_hung_up->prev_hung_up = c->prev_hung_up;
    c->prev_hung_up = c->next_hung_up = NULL;
    c->hung_up = false;
}

static void on_hangup(uv_poll_t *h, int status, int events)
{
    struct f8d_conn *c = h->data;
    struct f8d_server *s = c->server;
    (void)status;
    (void)events;
    uv_poll_stop(h); /* level-triggered: once is enough */
    if (c->hung_up)
        return;
    c->hung_up = true;
    c->next_hung_up = s->hung_up;
    if (s->hung_up != NULL)
        s->hung_up->prev_hung_up = c;
    s->hung_up = c;
}

/* Bytes the client sent that are still unread in the socket (MHD will read them). */
static size_t unread_bytes(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

/* MHD reads a body into a buffer of this order before handing it to f8d (its memory pool is
 * 32 KiB by default): bytes it holds that f8d has not seen yet. */
#define MHD_BUFFER_SLACK (64u * 1024u)

/* Whether the request's body can no longer arrive in full: fewer bytes are left to read
 * than it still needs (so the rest is not worth reading first). */
static bool body_cannot_complete(const struct f8d_http_request *req, size_t unread)
{
    if (req == NULL || req->phase != F8D_PHASE_BODY || req->conn == NULL)
        return false;
    long long len = f8d_http_content_length(req);
    return len > 0 && (uint64_t)len > req->body_received + unread + MHD_BUFFER_SLACK;
}

void f8d_conns_after_run(struct f8d_server *s)
{
    struct f8d_conn *next;
    for (struct f8d_conn *c = s->hung_up; c != NULL; c = next) {
        next = c->next_hung_up;
        struct f8d_http_request *req = c->req;
        if (req != NULL && req->status != 0) {
            hung_up_unlink(s, c); /* an answer is on its way */
            continue;
        }
        if (req != NULL && req->suspended) {
            hung_up_unlink(s, c);
            shutdown(c->fd, SHUT_RDWR);      /* MHD closes it once it is resumed */
            f8d_request_cancel(&req->core);  /* may complete (and resume) it now */
            continue;
        }
        size_t unread = unread_bytes(c->fd);
        if (unread > 0 && !body_cannot_complete(req, unread))
            continue; /* MHD has not read all that came with the FIN yet: after its next run */
        hung_up_unlink(s, c);
        shutdown(c->fd, SHUT_RDWR); /* the edge MHD missed: it closes the connection */
    }
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void f8d_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code)
{
    struct f8d_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct f8d_conn *c = *socket_context;
        *socket_context = NULL;
        if (c == NULL)
            return;
        hung_up_unlink(s, c);
        f8d_deadlines_untrack(&c->deadline);
        f8d_tls_cred_release(c->tls_cred);
        c->tls_cred = NULL;
        uv_poll_stop(&c->hangup);
        uv_close((uv_handle_t *)&c->hangup, on_closed); /* before MHD closes the fd */
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct f8d_conn *c = info ? calloc(1, sizeof(*c)) : NULL;
    if (c == NULL)
        return; /* unwatched: MHD's idle timeout still closes it */
    c->server = s;
    c->fd = info->connect_fd;
    int rc = uv_poll_init_socket(&s->loop, &c->hangup, c->fd);
    if (rc != 0) {
        f8d_log("cannot watch a connection for hang-ups: %s", uv_strerror(rc));
        free(c);
        return;
    }
    c->hangup.data = c;
    uv_poll_start(&c->hangup, UV_DISCONNECT, on_hangup);
    f8d_deadlines_track(s->deadlines, &c->deadline, c->fd);
    *socket_context = c;
}

struct f8d_conn *f8d_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}
