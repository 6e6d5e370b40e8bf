/*
 * f8d inference pool: T worker threads that run batches, and the loop side that feeds them.
 *
 * T comes from the CPUs this process may use (affinity, cgroup quota; the `threads` key). The
 * pool is the only place inference runs: JSON parsing and model reloads use the background
 * pool (background.h), so neither can hold up a batch.
 *
 * Loop side: f8d_pool_pump hands batches to idle workers. A batch is formed only when a worker
 * is idle, so under load images keep gathering into fuller batches; the models with a ready
 * batch (batcher.h) are served round-robin, one batch each in turn, so no model starves
 * another. Worker side: each worker waits on a condition variable for a batch, runs it
 * (batch.h) and pushes it on the done list; a uv_async brings the loop back to tell the
 * requests, record metrics and pump again.
 *
 * Threads: everything here is loop-thread only, except the two lists under `mu` and the
 * workers' own state.
 */
#ifndef F8D_POOL_H
#define F8D_POOL_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "batch.h"

struct f8d_batcher;
struct f8d_model_metrics;

struct f8d_worker {
    struct f8d_pool *pool;
    pthread_t thread;
    bool started;
    struct f8d_worker_state state;
};

/* Called on the loop thread for each finished batch, before its items are told. */
typedef void (*f8d_pool_batch_cb)(struct f8d_batch *b, void *arg);

struct f8d_pool {
    uv_loop_t *loop;
    pthread_t loop_thread;        /* the thread that runs the loop: the only one here but mu's */
    unsigned n_workers;
    struct f8d_worker *workers;
    struct f8d_batch *batches;    /* n_workers of them: at most one per worker is out */
    struct f8d_batch *free_batches;
    unsigned busy;                /* batches out (loop's count) */
    bool flush;                   /* stopping: batches leave without waiting */
    struct f8d_batcher *ring;     /* batchers, round-robin */
    struct f8d_batcher *last;     /* the batcher served last */
    f8d_pool_batch_cb on_batch;
    void *on_batch_arg;
    /* The server's count of requests open (every front end's): `execution = auto` runs a
     * batch wide only for a lone request, one with no other request anywhere in the server
     * (being received, parsed or queued). NULL: not known (the batch's own test only). */
    const unsigned *requests_open;
    /* The server's background pool (background.h): where models are freed and large JPEGs
     * decoded. NULL (a test's core without one): models are freed on the loop, and the
     * workers decode every JPEG. */
    struct f8d_background *background;

    uv_async_t done_async;
    bool async_open;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct f8d_batch *todo_head, *todo_tail; /* under mu */
    struct f8d_batch *done;                  /* under mu */
    bool quit;                               /* under mu */
};

/* Invariant of every loop-side function: it runs on the loop's thread. */
#define F8D_ASSERT_LOOP_THREAD(pool) assert(pthread_equal(pthread_self(), (pool)->loop_thread))

/* Starts n_workers threads (each with its decoder) and the done handle on `loop`; the calling
 * thread is the loop's. Returns 0,
 * or -1 with a message (what was started is stopped by f8d_pool_close). */
int f8d_pool_start(struct f8d_pool *pool, uv_loop_t *loop, unsigned n_workers,
                   f8d_pool_batch_cb on_batch, void *arg, char *err, size_t errlen);

/* Hands ready batches to idle workers. Cheap when there is nothing to do. */
void f8d_pool_pump(struct f8d_pool *pool);

/* Stopping: every queued image leaves without waiting for company. */
void f8d_pool_flush(struct f8d_pool *pool);

/* Batchers join and leave the round-robin ring (batcher attach/detach). */
void f8d_pool_add_batcher(struct f8d_pool *pool, struct f8d_batcher *b);
void f8d_pool_remove_batcher(struct f8d_pool *pool, struct f8d_batcher *b);

/* Joins the workers (none may hold a batch) and closes the done handle; `closed` runs when it
 * is closed (the handle's data is the pool). Safe after a failed start. */
void f8d_pool_close(struct f8d_pool *pool, uv_close_cb closed);

#endif /* F8D_POOL_H */
