/*
 * The runner's thread pool and the barrier between ops (pool.h). Workers sleep on a condition
 * variable between runs (a runner may sit idle for long); inside a run the barrier spins,
 * because ops take microseconds and a futex round trip per op would cost more than that.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "f8.h"
#include "pool.h"

static void *worker_main(void *arg)
{
    const f8_pool_worker *w = arg;
    f8_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->stop)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->gen;
        const uint32_t batch = p->batch;
        pthread_mutex_unlock(&p->mu);
        p->job(p->ctx, batch, w->tid);
        pthread_mutex_lock(&p->mu);
        p->finished++;
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int f8_pool_start(f8_pool *p, uint32_t workers, f8_pool_job job, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->job = job;
    p->ctx = ctx;
    p->threads = calloc(workers ? workers : 1, sizeof *p->threads);
    p->workers = calloc(workers ? workers : 1, sizeof *p->workers);
    if (!p->threads || !p->workers)
        return F8_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL))
        return F8_ENOMEM;
    if (pthread_cond_init(&p->start, NULL)) {
        pthread_mutex_destroy(&p->mu);
        return F8_ENOMEM;
    }
    if (pthread_cond_init(&p->done, NULL)) {
        pthread_cond_destroy(&p->start);
        pthread_mutex_destroy(&p->mu);
        return F8_ENOMEM;
    }
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_gen, 0);
    p->started = 1;
    for (uint32_t t = 0; t < workers; t++) {
        p->workers[t].pool = p;
        p->workers[t].tid = t + 1;
        if (pthread_create(&p->threads[t], NULL, worker_main, &p->workers[t]) != 0)
            return F8_ENOMEM; /* f8_pool_stop joins the t that started */
        p->n = t + 1;
    }
    return F8_OK;
}

void f8_pool_wake(f8_pool *p, uint32_t batch)
{
    pthread_mutex_lock(&p->mu);
    p->batch = batch;
    p->finished = 0;
    p->gen++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
}

void f8_pool_wait(f8_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->finished < p->n)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void f8_pool_barrier(f8_pool *p)
{
    const unsigned gen = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_gen, 1, memory_order_release);
        return;
    }
    for (unsigned spins = 0; atomic_load_explicit(&p->bar_gen, memory_order_acquire) == gen;
         spins++) {
        if (spins > 2000)
            sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else
            __builtin_ia32_pause();
#endif
    }
}

void f8_pool_stop(f8_pool *p)
{
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->mu);
        for (uint32_t t = 0; t < p->n; t++)
            pthread_join(p->threads[t], NULL);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->start);
        pthread_mutex_destroy(&p->mu);
        p->started = 0;
    }
    free(p->threads);
    free(p->workers);
    p->threads = NULL;
    p->workers = NULL;
}
