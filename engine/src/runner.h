/*
 * libf8 internal: the runner object, shared by runner.c (create, destroy, accessors) and
 * exec.c (f8_run). Its parts are planned by plan.c (kernels), arena.c (activation memory)
 * and pool.c (threads).
 */
#ifndef F8_RUNNER_H
#define F8_RUNNER_H

#include "arena.h"
#include "plan.h"
#include "pool.h"

struct f8_runner {
    const f8_model *model;
    uint32_t max_batch;
    f8_isa isa;
    uint32_t nthreads;
    f8_op_plan *plans;         /* [num_ops] */
    f8_arena_layout layout;
    uint8_t *arena;            /* the runner's own, or the one lent by f8_runner_set_arena */
    int arena_lent;            /* 1: created with lend_arena; the arena is not ours to free */
    const uint8_t **value_ptr; /* [num_values], filled by f8_run */
    f8_pool pool;              /* nthreads - 1 workers (none with one thread) */
    uint8_t *stage;            /* DENSE staging, per thread: inputs, then outputs */
    size_t stage_in, stage_thread; /* bytes of the input part / of one thread's part */
};

/* Runs the model on `batch` images as thread tid of r->nthreads (exec.c); op_ns: NULL, or
 * per-op nanoseconds to add to (thread 0 only). */
void f8_exec(f8_runner *r, uint32_t batch, uint32_t tid, uint64_t *op_ns);

/* f8_exec for a pool worker (f8_pool_job; ctx is the runner): no profiling. */
void f8_exec_thread(void *runner, uint32_t batch, uint32_t tid);

#endif /* F8_RUNNER_H */
