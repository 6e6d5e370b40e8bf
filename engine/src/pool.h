/*
 * libf8 internal: a runner's thread pool. f8_pool_wake wakes the workers once per f8_run; each
 * runs the job with its thread id (the caller is thread 0 and runs its share itself), and op-major
 * splits wait for each other at f8_pool_barrier between ops.
 */
#ifndef F8_POOL_H
#define F8_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* One run of the job on thread `tid` (0 .. workers) for `batch` images. */
typedef void (*f8_pool_job)(void *ctx, uint32_t batch, uint32_t tid);

typedef struct f8_pool f8_pool;

typedef struct {
    f8_pool *pool;
    uint32_t tid;
} f8_pool_worker;

struct f8_pool {
    f8_pool_job job;
    void *ctx;
    pthread_t *threads;
    f8_pool_worker *workers;
    uint32_t n;        /* worker threads (the caller is thread 0, not counted here) */
    int started;       /* the mutex and conditions exist (f8_pool_stop destroys them) */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    uint64_t gen;
    uint32_t finished;
    int stop;
    uint32_t batch;    /* the job's argument */
    atomic_uint bar_count, bar_gen;
};

/* Starts `workers` threads waiting for f8_pool_run. F8_ENOMEM if any cannot start (the pool
 * must still be stopped with f8_pool_stop, which joins the ones that did). *p zeroed first. */
int f8_pool_start(f8_pool *p, uint32_t workers, f8_pool_job job, void *ctx);
/* Starts job(ctx, batch, tid) on every worker (tids 1 .. n); the caller then runs its own
 * share (tid 0, with whatever extra it needs, such as profiling) and calls f8_pool_wait. */
void f8_pool_wake(f8_pool *p, uint32_t batch);
/* Returns when every worker has finished the job f8_pool_wake started. */
void f8_pool_wait(f8_pool *p);
/* Waits until all n + 1 threads have reached it (spinning, then yielding). */
void f8_pool_barrier(f8_pool *p);
/* Joins the workers and frees the pool's memory. Safe on a zeroed pool. */
void f8_pool_stop(f8_pool *p);

#endif /* F8_POOL_H */
