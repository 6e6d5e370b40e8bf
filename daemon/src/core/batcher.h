/*
 * f8d batcher: one model's queue of images waiting for the engine (dynamic batching).
 *
 * Each image of a request is one item. Items wait in a bounded ring (max_queue pointers,
 * allocated when the model is loaded). A batch may leave when max_batch items are queued, or
 * the oldest has waited max_delay_ns, or the server is stopping (flush); it leaves when the
 * inference pool has an idle worker and picks this model (pool.h: round-robin across models)
 * and fewer than max_running batches of the model are out. Taking a batch drops items whose
 * request's deadline has passed (F8D_EDEADLINE); cancelling a request drops its queued items
 * at once (F8D_ECANCELED). A uv_timer wakes the pool for the oldest item's delay, and drops
 * the items whose deadline passes while they wait (so that they are answered then).
 *
 * A ready batch is shared out (guided self-scheduling): the worker that takes it gets
 * 1/parts of the queue, rounded up and at most max_batch, and the items of that batch it
 * leaves are released, ready for the next worker at once, which again takes 1/parts of what
 * is left. The pool asks for twice as many parts as workers (8 queued, 2 workers: 2 and 2,
 * then 1 at a time as they come back). With 64 connections and 2 workers (wrk, Fashion,
 * interleaved runs on 2 Zen 5 vCPUs): the first worker taking everything queued (up to 64)
 * left the other idle and the next clients behind a long batch, 20.3-22.4k req/s, p99
 * 5.6-6.4 ms; halves, 24.6-26.3k, p99 4.3-5.1; quarters, 24.7-28.3k, p99 3.5-4.3. ResNet-18
 * (batches of 8 at 64 connections either way) did not move.
 *
 * Loop thread only (init and free are safe anywhere: they touch no handle).
 */
#ifndef F8D_BATCHER_H
#define F8D_BATCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct f8d_item;
struct f8d_model;
struct f8d_pool;

struct f8d_batcher {
    struct f8d_model *model;
    struct f8d_pool *pool;       /* set by attach */
    struct f8d_item **queue;     /* ring of cap items */
    unsigned head, len, cap;
    unsigned max_batch, max_running;
    uint64_t max_delay_ns;
    unsigned running;            /* batches out on workers */
    unsigned released;           /* items at the head left over from a shared-out ready
                                  * batch: ready without waiting for company */
    uv_timer_t timer;            /* the oldest item's delay, or the earliest deadline */
    uint64_t earliest_deadline;  /* of the queued items' requests (0: none); may be stale
                                  * early after a take, which costs one spare wake-up */
    bool attached;
    struct f8d_batcher *prev, *next; /* the pool's ring of batchers */
};

/* Allocates the queue. Returns F8D_OK or F8D_ENOMEM. */
int f8d_batcher_init(struct f8d_batcher *b, struct f8d_model *m, unsigned max_queue,
                     unsigned max_batch, unsigned max_running, uint64_t max_delay_ns);
/* Frees the queue (after detach's close callback, or when never attached). */
void f8d_batcher_free(struct f8d_batcher *b);

/* Loop thread: joins the pool's ring and starts the timer. */
void f8d_batcher_attach(struct f8d_batcher *b, struct f8d_pool *pool, uv_loop_t *loop);
/* Loop thread: leaves the ring and closes the timer; `closed` runs once it is closed (its
 * handle's data is the batcher). Nothing may be queued or running. */
void f8d_batcher_detach(struct f8d_batcher *b, uv_close_cb closed);

/* Queues n items, all or none: F8D_OK, or F8D_EOVERLOAD when the queue has no room. Wakes the
 * pool. */
int f8d_batcher_submit(struct f8d_batcher *b, struct f8d_item *items, unsigned n);

/* Drops the queued items of cancelled requests (each told with F8D_ECANCELED) and of
 * expired ones (F8D_EDEADLINE). */
void f8d_batcher_drop_cancelled(struct f8d_batcher *b);

/* Whether a batch may leave now (it still needs a worker and max_running room). */
bool f8d_batcher_ready(const struct f8d_batcher *b, uint64_t now, bool flush);

/* Moves this worker's share of a ready batch into out[] (cap >= max_batch): the queue split
 * over `parts` workers (rounded up), at most max_batch; the rest of the batch (up to
 * max_batch) is released for the next worker. Items past their deadline are told
 * F8D_EDEADLINE instead. Returns how many were moved. */
unsigned f8d_batcher_take(struct f8d_batcher *b, struct f8d_item **out, uint64_t now,
                          unsigned parts);

/* Arms the timer for the oldest item's delay (stops it when the queue is empty). */
void f8d_batcher_arm(struct f8d_batcher *b, uint64_t now);

static inline unsigned f8d_batcher_queued(const struct f8d_batcher *b)
{
    return b->len;
}

/* Whether the queue holds one batch (at most max_batch items), all of one request: a lone
 * request, not images that load gathered from several clients. */
bool f8d_batcher_one_request(const struct f8d_batcher *b);

/* Items that may still be queued now. */
static inline unsigned f8d_batcher_room(const struct f8d_batcher *b)
{
    return b->cap - b->len;
}

#endif /* F8D_BATCHER_H */
