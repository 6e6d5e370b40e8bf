/* f8d connection deadlines for the request head and body (see the header). */
#include "conn_deadline.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "client_close.h"
#include "core/log.h"

enum phase {
    WAIT_HEAD,  /* the request line and headers are arriving */
    WAIT_BODY,  /* the body is arriving */
    ANSWERING   /* f8d works on the request or MHD sends the answer: no deadline */
};

struct tracked {
    struct tracked *prev, *next;
    struct f8d_deadlines *owner;
    struct MHD_Connection *conn;
    int fd;
    enum phase phase;
    uint64_t head_deadline_ms;   /* WAIT_HEAD */
    uint64_t body_start_ms;      /* WAIT_BODY */
    uint64_t body_bytes;
    bool cut;                    /* shut down already: MHD will close it */
};

struct f8d_deadlines {
    uv_timer_t timer;
    struct tracked *head;        /* every open connection */
    uint64_t header_ms, keepalive_head_ms, body_ms;
    uint64_t body_min_rate;      /* bytes per extra second; 0 = none */
};

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* The body's deadline: body_timeout from its start, a second more per body_min_rate bytes. */
static uint64_t body_deadline(const struct f8d_deadlines *d, const struct tracked *t)
{
    uint64_t extra = d->body_min_rate ? t->body_bytes * 1000u / d->body_min_rate : 0;
    return t->body_start_ms + d->body_ms + extra;
}

/* Makes MHD close the connection on its next run: the peer sees a FIN, MHD a hang-up. */
static void cut(struct tracked *t, const char *why)
{
    t->cut = true;
    f8d_log("closing a connection: %s", why);
    shutdown(t->fd, SHUT_RDWR);
}

static void sweep(uv_timer_t *timer)
{
    struct f8d_deadlines *d = timer->data;
    uint64_t now = now_ms();
    for (struct tracked *t = d->head; t != NULL; t = t->next) {
        if (t->cut || t->phase == ANSWERING)
            continue;
        if (t->phase == WAIT_HEAD && now > t->head_deadline_ms)
            cut(t, "its request head was not complete in time (header_timeout)");
        else if (t->phase == WAIT_BODY && now > body_deadline(d, t))
            cut(t, "its request body came too slowly (body_timeout, body_min_rate)");
        else if (f8d_client_closed(t->conn))
            cut(t, "the client closed it in the middle of a request");
    }
}

struct f8d_deadlines *f8d_deadlines_start(uv_loop_t *loop, const struct f8d_options *opts)
{
    struct f8d_deadlines *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->header_ms = (uint64_t)opts->header_timeout_s * 1000u;
    d->keepalive_head_ms = d->header_ms + (uint64_t)opts->timeout_s * 1000u;
    d->body_ms = (uint64_t)opts->body_timeout_s * 1000u;
    d->body_min_rate = opts->body_min_rate;
    /* Sweep five times per shortest deadline: a connection is cut at most 20% late. */
    uint64_t shortest = d->header_ms < d->body_ms ? d->header_ms : d->body_ms;
    uint64_t period = shortest / 5;
    period = period < 100 ? 100 : period > 1000 ? 1000 : period;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, sweep, period, period);
    uv_unref((uv_handle_t *)&d->timer);
    return d;
}

static void free_after_close(uv_handle_t *handle)
{
    free(handle->data);
}

void f8d_deadlines_close(struct f8d_deadlines **dp)
{
    struct f8d_deadlines *d = *dp;
    if (d == NULL)
        return;
    *dp = NULL;
    while (d->head != NULL) { /* only if MHD was not stopped first: forget, never touch */
        struct tracked *t = d->head;
        d->head = t->next;
        t->owner = NULL;
        t->prev = t->next = NULL;
    }
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, free_after_close);
}

static void unlink_tracked(struct tracked *t)
{
    struct f8d_deadlines *d = t->owner;
    if (d == NULL)
        return;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        d->head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
}

void f8d_deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct f8d_deadlines *d = cls;
    if (d == NULL)
        return; /* f8d_deadlines_start ran out of memory: MHD's idle timeout only */
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct tracked *t = *socket_context;
        if (t != NULL) {
            unlink_tracked(t);
            free(t);
            *socket_context = NULL;
        }
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct tracked *t = info ? calloc(1, sizeof(*t)) : NULL;
    if (t == NULL)
        return; /* out of memory: this connection has only MHD's idle timeout */
    t->owner = d;
    t->conn = conn;
    t->fd = info->connect_fd;
    t->phase = WAIT_HEAD;
    t->head_deadline_ms = now_ms() + d->header_ms;
    t->next = d->head;
    if (d->head != NULL)
        d->head->prev = t;
    d->head = t;
    *socket_context = t;
}

static struct tracked *tracked_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct tracked *t = info ? info->socket_context : NULL;
    return t != NULL && t->owner != NULL ? t : NULL;
}

/* Whether the head announced a body (MHD has refused malformed lengths already). */
static bool body_expected(struct MHD_Connection *conn)
{
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return te != NULL || (cl != NULL && strtoull(cl, NULL, 10) > 0);
}

void f8d_deadlines_request_call(struct MHD_Connection *conn, bool first, size_t upload_size)
{
    struct tracked *t = tracked_of(conn);
    if (t == NULL)
        return;
    if (first) {
        t->phase = body_expected(conn) ? WAIT_BODY : ANSWERING;
        t->body_start_ms = now_ms();
        t->body_bytes = 0;
    } else if (upload_size > 0) {
        t->body_bytes += upload_size;
    } else {
        t->phase = ANSWERING;
    }
}

void f8d_deadlines_request_ended(struct MHD_Connection *conn)
{
    struct tracked *t = tracked_of(conn);
    if (t == NULL)
        return;
    t->phase = WAIT_HEAD;
    t->head_deadline_ms = now_ms() + t->owner->keepalive_head_ms;
}
