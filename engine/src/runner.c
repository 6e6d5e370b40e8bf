/*
 * The runner object: f8_runner_create plans every op's kernel (plan.c), lays out the
 * activation arena (arena.c), allocates the DENSE staging buffers and starts the thread pool
 * (pool.c); exec.c runs it. Everything here is allocated at create and freed at destroy.
 */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static size_t round64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Per-thread staging for batched DENSE ops: the images' inputs back to back, then their
 * outputs (exec.c: run_dense_batch). */
static int alloc_stage(f8_runner *r)
{
    const f8_model *model = r->model;
    size_t kmax = 0, omax = 0;
    for (uint32_t i = 0; i < model->info.num_ops; i++) {
        if (r->plans[i].kind == F8_RUN_DENSE) {
            const f8_op_desc *d = &model->ops[i].desc;
            const size_t k = r->layout.image_bytes[d->input0], o = r->layout.image_bytes[d->output];
            kmax = k > kmax ? k : kmax;
            omax = o > omax ? o : omax;
        }
    }
    if (!kmax)
        return F8_OK;
    if (kmax > SIZE_MAX / 2 / r->max_batch || omax > SIZE_MAX / 2 / r->max_batch)
        return F8_ENOMEM;
    r->stage_in = round64(kmax * r->max_batch);
    r->stage_thread = r->stage_in + round64(omax * r->max_batch);
    if (r->stage_thread > SIZE_MAX / r->nthreads ||
        posix_memalign((void **)&r->stage, 64, r->stage_thread * r->nthreads) != 0) {
        r->stage = NULL;
        return F8_ENOMEM;
    }
    return F8_OK;
}

int f8_runner_create(const f8_model *model, uint32_t max_batch, f8_runner **out)
{
    return f8_runner_create_opts(model, max_batch, NULL, out);
}

int f8_runner_create_opts(const f8_model *model, uint32_t max_batch,
                          const f8_runner_options *opts, f8_runner **out)
{
    if (out)
        *out = NULL;
    if (!model || !out || max_batch == 0)
        return F8_EINVAL;
    f8_isa isa;
    if (f8_isa_resolve(opts ? opts->isa : F8_ISA_AUTO, &isa) != F8_OK)
        return F8_EINVAL;
    const uint32_t nthreads = opts && opts->threads > 1 ? opts->threads : 1;
    if (nthreads > 1024)
        return F8_EINVAL;

    const uint32_t nv = model->info.num_values, nops = model->info.num_ops;
    f8_runner *r = calloc(1, sizeof *r);
    if (!r)
        return F8_ENOMEM;
    int rc = F8_ENOMEM;
    r->model = model;
    r->max_batch = max_batch;
    r->isa = isa;
    r->nthreads = nthreads;
    r->plans = calloc(nops ? nops : 1, sizeof *r->plans);
    r->value_ptr = calloc(nv, sizeof *r->value_ptr);
    if (!r->plans || !r->value_ptr)
        goto fail;

    const uint32_t per_thread = (max_batch + nthreads - 1) / nthreads;
    for (uint32_t i = 0; i < nops; i++) {
        const f8_op_impl *op = &model->ops[i];
        const size_t in_bytes =
            f8_value_elems(&model->values[op->desc.input0]) *
            f8_dtype_size(model->values[op->desc.input0].dtype);
        f8_plan_op(op, isa, model->zero, &r->plans[i]);
        f8_plan_batch(&r->plans[i], in_bytes, per_thread);
    }
    f8_plan_fuse(model, r->plans);
    if ((rc = f8_arena_plan(model, r->plans, max_batch, &r->layout)) != F8_OK)
        goto fail;
    rc = F8_ENOMEM;
    r->arena_lent = opts && opts->lend_arena;
    if (r->layout.arena_size && !r->arena_lent &&
        posix_memalign((void **)&r->arena, 64, r->layout.arena_size) != 0) {
        r->arena = NULL;
        goto fail;
    }
    if ((rc = alloc_stage(r)) != F8_OK)
        goto fail;
    if (nthreads > 1 && (rc = f8_pool_start(&r->pool, nthreads - 1, f8_exec_thread, r)) != F8_OK)
        goto fail;
    *out = r;
    return F8_OK;
fail:
    f8_runner_destroy(r);
    return rc;
}

void f8_runner_destroy(f8_runner *runner)
{
    if (!runner)
        return;
    f8_pool_stop(&runner->pool);
    if (!runner->arena_lent)
        free(runner->arena);
    f8_arena_layout_free(&runner->layout);
    free(runner->value_ptr);
    free(runner->plans);
    free(runner->stage);
    free(runner);
}

f8_isa f8_runner_isa(const f8_runner *runner)
{
    return runner ? runner->isa : F8_ISA_AUTO;
}

uint32_t f8_runner_threads(const f8_runner *runner)
{
    return runner ? runner->nthreads : 0;
}

size_t f8_runner_arena_bytes(const f8_runner *runner)
{
    return runner ? runner->layout.arena_size : 0;
}

int f8_runner_set_arena(f8_runner *runner, void *arena, size_t size)
{
    if (!runner || !runner->arena_lent || (runner->layout.arena_size && !arena) ||
        size < runner->layout.arena_size || ((uintptr_t)arena & 63) != 0)
        return F8_EINVAL;
    runner->arena = arena;
    return F8_OK;
}

int f8_runner_op_kernel(const f8_runner *runner, uint32_t op, const char **kernel,
                        const char **tile)
{
    if (!runner || !kernel)
        return F8_EINVAL;
    if (op >= runner->model->info.num_ops)
        return F8_ERANGE;
    *kernel = runner->plans[op].kernel;
    if (tile)
        *tile = runner->plans[op].tile_kernel;
    return F8_OK;
}
