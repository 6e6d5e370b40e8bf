/* f8d batcher: one model's bounded queue, its delay timer, and taking batches from it. */
#include "batcher.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "metrics.h"
#include "models.h"
#include "pool.h"
#include "request.h"

int f8d_batcher_init(struct f8d_batcher *b, struct f8d_model *m, unsigned max_queue,
                     unsigned max_batch, unsigned max_running, uint64_t max_delay_ns)
{
    assert(max_queue > 0 && max_batch > 0 && max_running > 0);
    *b = (struct f8d_batcher){.model = m, .cap = max_queue, .max_batch = max_batch,
                              .max_running = max_running, .max_delay_ns = max_delay_ns};
    b->queue = calloc(max_queue, sizeof(*b->queue));
    return b->queue ? F8D_OK : F8D_ENOMEM;
}

void f8d_batcher_free(struct f8d_batcher *b)
{
    assert(b->len == 0 && b->running == 0);
    free(b->queue);
    b->queue = NULL;
}

void f8d_batcher_attach(struct f8d_batcher *b, struct f8d_pool *pool, uv_loop_t *loop)
{
    assert(!b->attached);
    b->pool = pool;
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    b->attached = true;
    f8d_pool_add_batcher(pool, b);
}

void f8d_batcher_detach(struct f8d_batcher *b, uv_close_cb closed)
{
    assert(b->attached && b->len == 0 && b->running == 0);
    f8d_pool_remove_batcher(b->pool, b);
    b->attached = false;
    uv_timer_stop(&b->timer);
    uv_close((uv_handle_t *)&b->timer, closed);
}

static struct f8d_item **slot(struct f8d_batcher *b, unsigned i)
{
    return &b->queue[(b->head + i) % b->cap];
}

int f8d_batcher_submit(struct f8d_batcher *b, struct f8d_item *items, unsigned n)
{
    assert(b->attached);
    F8D_ASSERT_LOOP_THREAD(b->pool);
    if (n > b->cap - b->len)
        return F8D_EOVERLOAD;
    uint64_t now = uv_hrtime();
    for (unsigned i = 0; i < n; i++) {
        items[i].enqueue_ns = now;
        items[i].err = F8D_OK;
        *slot(b, b->len++) = &items[i];
    }
    uint64_t deadline = items[0].req->deadline_ns;
    if (deadline != 0 && (b->earliest_deadline == 0 || deadline < b->earliest_deadline))
        b->earliest_deadline = deadline;
    f8d_pool_pump(b->pool);
    return F8D_OK;
}

static void drop(struct f8d_item *it, int code, const char *msg)
{
    it->err = code;
    snprintf(it->message, sizeof(it->message), "%s", msg);
    f8d_request_item_done(it);
}

static bool expired(const struct f8d_item *it, uint64_t now)
{
    return it->req->deadline_ns != 0 && now >= it->req->deadline_ns;
}

/* Drops the queued items whose request was cancelled or whose deadline has passed, and
 * recomputes the earliest deadline of those left. */
static void drop_gone(struct f8d_batcher *b)
{
    F8D_ASSERT_LOOP_THREAD(b->pool);
    /* Compact the ring first, then tell the dropped items' requests: telling may complete a
     * request, whose owner may free it. */
    uint64_t now = uv_hrtime();
    struct f8d_item *dropped_head = NULL;
    unsigned kept = 0, n = b->len;
    b->earliest_deadline = 0;
    for (unsigned i = 0; i < n; i++) {
        struct f8d_item *it = *slot(b, i);
        if (it->req->cancelled || expired(it, now)) {
            it->next = dropped_head;
            dropped_head = it;
            continue;
        }
        *slot(b, kept++) = it;
        uint64_t d = it->req->deadline_ns;
        if (d != 0 && (b->earliest_deadline == 0 || d < b->earliest_deadline))
            b->earliest_deadline = d;
    }
    b->len = kept;
    if (b->released > kept)
        b->released = kept;
    while (dropped_head != NULL) {
        struct f8d_item *it = dropped_head;
        dropped_head = it->next;
        it->next = NULL;
        /* A gRPC call is cancelled by its library when its deadline passes: that is an
         * expired request, counted and answered as such. */
        bool late = expired(it, now);
        if (b->model->metrics != NULL) {
            if (late)
                b->model->metrics->dropped_deadline++;
            else
                b->model->metrics->dropped_cancelled++;
        }
        if (late)
            drop(it, F8D_EDEADLINE, "the deadline passed while the request was queued");
        else
            drop(it, F8D_ECANCELED, "the request was cancelled");
    }
    if (b->len == 0)
        uv_timer_stop(&b->timer);
}

void f8d_batcher_drop_cancelled(struct f8d_batcher *b)
{
    drop_gone(b);
}

bool f8d_batcher_ready(const struct f8d_batcher *b, uint64_t now, bool flush)
{
    if (b->len == 0 || b->running >= b->max_running)
        return false;
    if (flush || b->len >= b->max_batch || b->released > 0)
        return true;
    return now - (*slot((struct f8d_batcher *)b, 0))->enqueue_ns >= b->max_delay_ns;
}

unsigned f8d_batcher_take(struct f8d_batcher *b, struct f8d_item **out, uint64_t now,
                          unsigned parts)
{
    assert(parts > 0);
    const unsigned batch = b->len < b->max_batch ? b->len : b->max_batch;
    const unsigned share_of_queue = (b->len + parts - 1) / parts;
    const unsigned share = share_of_queue < batch ? share_of_queue : batch;
    b->released = batch - share;
    unsigned n = 0, taken = 0;
    while (b->len > 0 && taken < share) {
        taken++;
        struct f8d_item *it = *slot(b, 0);
        b->head = (b->head + 1) % b->cap;
        b->len--;
        uint64_t deadline = it->req->deadline_ns;
        if (deadline != 0 && now >= deadline) {
            if (b->model->metrics != NULL)
                b->model->metrics->dropped_deadline++;
            drop(it, F8D_EDEADLINE, "the deadline passed while the request was queued");
            continue;
        }
        out[n++] = it;
    }
    return n;
}

bool f8d_batcher_one_request(const struct f8d_batcher *b)
{
    if (b->len == 0 || b->len > b->max_batch)
        return false;
    const struct f8d_request *first = (*slot((struct f8d_batcher *)b, 0))->req;
    for (unsigned i = 1; i < b->len; i++)
        if ((*slot((struct f8d_batcher *)b, i))->req != first)
            return false;
    return true;
}

static void on_timer(uv_timer_t *t)
{
    struct f8d_batcher *b = t->data;
    if (b->earliest_deadline != 0 && uv_hrtime() >= b->earliest_deadline)
        drop_gone(b); /* answered at their deadline, not when a batch would have left */
    f8d_pool_pump(b->pool);
}

void f8d_batcher_arm(struct f8d_batcher *b, uint64_t now)
{
    uint64_t wake = UINT64_MAX;
    uint64_t waited = b->len ? now - (*slot(b, 0))->enqueue_ns : 0;
    /* Not when empty, nor when ready and waiting for a worker: a batch coming back pumps the
     * pool. (A 0 ms timer here would fire again and again inside one libuv timer run.) */
    if (b->len > 0 && b->len < b->max_batch && b->released == 0 && waited < b->max_delay_ns)
        wake = now + (b->max_delay_ns - waited);
    if (b->len > 0 && b->earliest_deadline != 0 && b->earliest_deadline < wake)
        wake = b->earliest_deadline > now ? b->earliest_deadline : now + 1;
    if (wake == UINT64_MAX) {
        uv_timer_stop(&b->timer);
        return;
    }
    uv_timer_start(&b->timer, on_timer, (wake - now + 999999) / 1000000, 0);
}
