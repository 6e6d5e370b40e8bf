/* f8d inference pool: worker threads, round-robin dispatch across models, completions. */
#include "pool.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "errors.h"
#include "models.h"
#include "request.h"

static void *worker_main(void *arg)
{
    struct f8d_worker *w = arg;
    struct f8d_pool *pool = w->pool;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (pool->todo_head == NULL && !pool->quit)
            pthread_cond_wait(&pool->wake, &pool->mu);
        struct f8d_batch *b = pool->todo_head;
        if (b == NULL) { /* quit, and nothing left to run */
            pthread_mutex_unlock(&pool->mu);
            return NULL;
        }
        pool->todo_head = b->next;
        if (pool->todo_head == NULL)
            pool->todo_tail = NULL;
        pthread_mutex_unlock(&pool->mu);

        f8d_batch_run(b, &w->state);

        pthread_mutex_lock(&pool->mu);
        b->next = pool->done;
        pool->done = b;
        pthread_mutex_unlock(&pool->mu);
        uv_async_send(&pool->done_async);
    }
}

/* Loop: a batch is back. */
static void batch_back(struct f8d_pool *pool, struct f8d_batch *b)
{
    F8D_ASSERT_LOOP_THREAD(pool);
    struct f8d_model *m = b->model;
    assert(pool->busy >= b->width && m->batcher.running > 0);
    pool->busy -= b->width;
    m->batcher.running--;
    if (pool->on_batch != NULL)
        pool->on_batch(b, pool->on_batch_arg);
    for (unsigned i = 0; i < b->n; i++) {
        struct f8d_item *it = b->items[i];
        b->items[i] = NULL;
        f8d_request_item_done(it);
    }
    b->n = 0;
    b->model = NULL;
    b->next = pool->free_batches;
    pool->free_batches = b;
    f8d_model_unref(m); /* may free the model (a reload replaced it) */
}

static void on_done(uv_async_t *h)
{
    struct f8d_pool *pool = h->data;
    pthread_mutex_lock(&pool->mu);
    struct f8d_batch *done = pool->done;
    pool->done = NULL;
    pthread_mutex_unlock(&pool->mu);
    while (done != NULL) {
        struct f8d_batch *b = done;
        done = b->next;
        batch_back(pool, b);
    }
    f8d_pool_pump(pool);
}

int f8d_pool_start(struct f8d_pool *pool, uv_loop_t *loop, unsigned n_workers,
                   f8d_pool_batch_cb on_batch, void *arg, char *err, size_t errlen)
{
    assert(n_workers > 0);
    memset(pool, 0, sizeof(*pool));
    pool->loop = loop;
    pool->loop_thread = pthread_self();
    pool->on_batch = on_batch;
    pool->on_batch_arg = arg;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    int rc = uv_async_init(loop, &pool->done_async, on_done);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the pool's wake-up handle: %s", uv_strerror(rc));
        return -1;
    }
    pool->async_open = true;
    pool->done_async.data = pool;
    pool->workers = calloc(n_workers, sizeof(*pool->workers));
    pool->batches = calloc(n_workers, sizeof(*pool->batches));
    if (pool->workers == NULL || pool->batches == NULL) {
        snprintf(err, errlen, "out of memory for %u workers", n_workers);
        return -1;
    }
    pool->n_workers = n_workers;
    for (unsigned i = 0; i < n_workers; i++) {
        pool->batches[i].next = pool->free_batches;
        pool->free_batches = &pool->batches[i];
    }
    for (unsigned i = 0; i < n_workers; i++) {
        struct f8d_worker *w = &pool->workers[i];
        w->pool = pool;
        if (f8d_worker_state_init(&w->state, i) != F8D_OK) {
            snprintf(err, errlen, "out of memory for worker %u's decoder", i);
            return -1;
        }
        rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread %u: %s", i, strerror(rc));
            return -1;
        }
        w->started = true;
    }
    return 0;
}

void f8d_pool_add_batcher(struct f8d_pool *pool, struct f8d_batcher *b)
{
    if (pool->ring == NULL) {
        b->prev = b->next = b;
        pool->ring = b;
        return;
    }
    struct f8d_batcher *tail = pool->ring->prev;
    b->prev = tail;
    b->next = pool->ring;
    tail->next = b;
    pool->ring->prev = b;
}

void f8d_pool_remove_batcher(struct f8d_pool *pool, struct f8d_batcher *b)
{
    if (b->next == b) {
        pool->ring = NULL;
        pool->last = NULL;
    } else {
        b->prev->next = b->next;
        b->next->prev = b->prev;
        if (pool->ring == b)
            pool->ring = b->next;
        if (pool->last == b)
            pool->last = b->prev;
    }
    b->prev = b->next = NULL;
}

/* The next batcher after the one served last with a batch ready, or NULL. */
static struct f8d_batcher *next_ready(struct f8d_pool *pool, uint64_t now)
{
    if (pool->ring == NULL)
        return NULL;
    struct f8d_batcher *start = pool->last ? pool->last->next : pool->ring;
    struct f8d_batcher *b = start;
    do {
        /* `execution = latency`: a batch leaves only when it can have every worker */
        bool waits = b->model->cfg.execution == F8D_EXECUTION_LATENCY && pool->busy > 0 &&
                     b->model->cfg.engine_threads <= 1;
        if (!waits && f8d_batcher_ready(b, now, pool->flush))
            return b;
        b = b->next;
    } while (b != start);
    return NULL;
}

/* Room for the model's largest batch in a batch's item array. */
static int fit_items(struct f8d_batch *batch, unsigned n)
{
    if (batch->cap >= n)
        return 0;
    struct f8d_item **grown = realloc(batch->items, n * sizeof(*grown));
    if (grown == NULL)
        return -1;
    batch->items = grown;
    batch->cap = n;
    return 0;
}

/* Whether a batcher other than `bt` has a batch ready. */
static bool others_ready(struct f8d_pool *pool, const struct f8d_batcher *bt, uint64_t now)
{
    for (struct f8d_batcher *b = bt->next; b != bt; b = b->next)
        if (f8d_batcher_ready(b, now, pool->flush))
            return true;
    return false;
}

/* How many workers the next batch taken from bt occupies (`execution`): all of them when it
 * has the pool to itself (latency: always, waiting for that; auto: a lone request, the only
 * one open in the server, with every worker idle and all its images in one batch), else one.
 * Under load other requests are always on their way, so auto runs batches side by side, one
 * per worker. A wide batch runs on one worker's runner whose threads use the other workers'
 * CPUs; those workers take nothing meanwhile, so the CPUs are never oversubscribed, and they
 * are back for the next batch as soon as this one is done. Decided before the batch is taken:
 * a wide batch is not shared out (batcher.h). */
static unsigned width_for(struct f8d_pool *pool, const struct f8d_batcher *bt, uint64_t now)
{
    const struct f8d_model_settings *cfg = &bt->model->cfg;
    if (pool->n_workers < 2 || pool->busy > 0 || cfg->engine_threads > 1 ||
        cfg->execution == F8D_EXECUTION_THROUGHPUT)
        return 1;
    /* auto: only models whose image takes F8_SPLIT_MIN_IMAGE_NS on one thread (f8.h; `f8 info
     * --plan` says which side of it a model falls on) */
    if (cfg->execution == F8D_EXECUTION_AUTO &&
        (bt->model->image_ns < F8_SPLIT_MIN_IMAGE_NS || !f8d_batcher_one_request(bt) ||
         others_ready(pool, bt, now) ||
         (pool->requests_open != NULL && *pool->requests_open > 1)))
        return 1;
    return pool->n_workers;
}

/* Hands the batcher's next batch to a worker. Returns 0, or -1 when out of memory for the
 * batch's item array (the items wait: the next completion or delay retries). */
static int dispatch(struct f8d_pool *pool, struct f8d_batcher *bt, uint64_t now)
{
    struct f8d_batch *batch = pool->free_batches;
    assert(batch != NULL && pool->busy < pool->n_workers);
    if (fit_items(batch, bt->max_batch) != 0)
        return -1;
    const unsigned width = width_for(pool, bt, now);
    /* shared out in twice as many parts as the workers that may run this model's batches at
     * once (batcher.h); not at all when one runs them all */
    const unsigned runs = bt->max_running < pool->n_workers ? bt->max_running : pool->n_workers;
    const unsigned parts = width > 1 || runs < 2 ? 1 : 2 * runs;
    unsigned n = f8d_batcher_take(bt, batch->items, now, parts);
    if (n == 0)
        return 0; /* every item had missed its deadline */
    pool->free_batches = batch->next;
    batch->next = NULL;
    batch->n = n;
    batch->model = bt->model;
    batch->width = width;
    f8d_model_ref(bt->model);
    bt->running++;
    pool->busy += batch->width;
    pthread_mutex_lock(&pool->mu);
    if (pool->todo_tail != NULL)
        pool->todo_tail->next = batch;
    else
        pool->todo_head = batch;
    pool->todo_tail = batch;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    return 0;
}

void f8d_pool_pump(struct f8d_pool *pool)
{
    F8D_ASSERT_LOOP_THREAD(pool);
    uint64_t now = uv_hrtime();
    while (pool->busy < pool->n_workers) {
        struct f8d_batcher *b = next_ready(pool, now);
        if (b == NULL)
            break;
        pool->last = b;
        if (dispatch(pool, b, now) != 0)
            break;
    }
    /* Delay timers for the queues that are waiting for company, not for a worker. */
    struct f8d_batcher *b = pool->ring;
    if (b == NULL)
        return;
    do {
        f8d_batcher_arm(b, now);
        b = b->next;
    } while (b != pool->ring);
}

void f8d_pool_flush(struct f8d_pool *pool)
{
    pool->flush = true;
    f8d_pool_pump(pool);
}

void f8d_pool_close(struct f8d_pool *pool, uv_close_cb closed)
{
    if (pool->loop == NULL)
        return; /* never started */
    F8D_ASSERT_LOOP_THREAD(pool);
    assert(pool->busy == 0);
    pthread_mutex_lock(&pool->mu);
    pool->quit = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (unsigned i = 0; i < pool->n_workers; i++) {
        struct f8d_worker *w = &pool->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        w->started = false;
        f8d_worker_state_free(&w->state);
    }
    for (unsigned i = 0; pool->batches != NULL && i < pool->n_workers; i++)
        free(pool->batches[i].items);
    free(pool->batches);
    free(pool->workers);
    pool->batches = NULL;
    pool->workers = NULL;
    pool->free_batches = NULL;
    pool->n_workers = 0;
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    if (pool->async_open) {
        pool->async_open = false;
        uv_close((uv_handle_t *)&pool->done_async, closed);
    }
    pool->loop = NULL;
}
