/* f8d connection deadlines for the request head and body (see the header). */
#include "conn_deadline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"


struct f8d_deadlines {
    uv_timer_t timer;
    struct f8d_deadline_entry *head; /* every open connection */
    uint64_t header_ms, keepalive_head_ms, body_ms;
    uint64_t body_min_rate;      /* bytes per extra second; 0 = none */
};

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* The body's deadline: body_timeout from its start, a second more per body_min_rate bytes. */
static uint64_t body_deadline(const struct f8d_deadlines *d,
                              const struct f8d_deadline_entry *t)
{
    uint64_t extra = d->body_min_rate ? t->body_bytes * 1000u / d->body_min_rate : 0;
    return t->body_start_ms + d->body_ms + extra;
}

/* Makes MHD close the connection on its next run: the peer sees a FIN, MHD a hang-up. */
static void cut(struct f8d_deadline_entry *t, const char *why)
{
    t->cut = true;
    f8d_log("closing a connection: %s", why);
    shutdown(t->fd, SHUT_RDWR);
}

static void sweep(uv_timer_t *timer)
{
    struct f8d_deadlines *d = timer->data;
    uint64_t now = now_ms();
    for (struct f8d_deadline_entry *t = d->head; t != NULL; t = t->next) {
        if (t->cut || t->phase == F8D_ANSWERING)
            continue;
        if (t->phase == F8D_WAIT_HEAD && now > t->head_deadline_ms)
            cut(t, "its request head was not complete in time (header_timeout)");
        else if (t->phase == F8D_WAIT_BODY && now > body_deadline(d, t))
            cut(t, "its request body came too slowly (body_timeout, body_min_rate)");
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
        struct f8d_deadline_entry *t = d->head;
        d->head = t->next;
        t->owner = NULL;
        t->prev = t->next = NULL;
    }
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, free_after_close);
}

static void unlink_tracked(struct f8d_deadline_entry *t)
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

void f8d_deadlines_track(struct f8d_deadlines *d, struct f8d_deadline_entry *t, int fd)
{
    memset(t, 0, sizeof(*t));
    if (d == NULL)
        return; /* f8d_deadlines_start ran out of memory: MHD's idle timeout only */
    t->owner = d;
    t->fd = fd;
    t->phase = F8D_WAIT_HEAD;
    t->head_deadline_ms = now_ms() + d->header_ms;
    t->next = d->head;
    if (d->head != NULL)
        d->head->prev = t;
    d->head = t;
}

void f8d_deadlines_untrack(struct f8d_deadline_entry *t)
{
    unlink_tracked(t);
    t->owner = NULL;
    t->prev = t->next = NULL;
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

void f8d_deadlines_request_call(struct f8d_deadline_entry *t, struct MHD_Connection *conn,
                                bool first, size_t upload_size)
{
    if (t == NULL || t->owner == NULL)
        return;
    if (first) {
        t->phase = body_expected(conn) ? F8D_WAIT_BODY : F8D_ANSWERING;
        t->body_start_ms = now_ms();
        t->body_bytes = 0;
    } else if (upload_size > 0) {
        t->body_bytes += upload_size;
    } else {
        t->phase = F8D_ANSWERING;
    }
}

void f8d_deadlines_request_ended(struct f8d_deadline_entry *t)
{
    if (t == NULL || t->owner == NULL)
        return;
    t->phase = F8D_WAIT_HEAD;
    t->head_deadline_ms = now_ms() + t->owner->keepalive_head_ms;
}
