/*
 * Execution: f8_run runs the planned ops over the arena, one thread's share at a time.
 *
 * With threads = T > 1, when the batch splits evenly (batch a multiple of T, or at least 4T
 * images) each thread takes its share of the images and runs each of them through the whole
 * model (image-major: one image's activations stay in cache, no synchronisation), except for
 * batched ops (f8_plan_batch), which run for all of the thread's images at once: DENSE (each
 * weight tile read once per 6 images) and convolutions whose weights outweigh the images'
 * inputs (64 output channels at a time for every image: ResNet's last stage). Otherwise
 * (batch 1 on 2 threads...) every op's work (images × output rows, or images for scalar
 * kernels) is cut into T equal ranges, the caller's thread included, with a barrier between
 * ops (pool.c). The same image-major order is used with one thread. f8_run allocates nothing.
 */
#include <string.h>
#include <time.h>

#include "runner.h"

/* An output value of fewer than 8 bits (4-bit activations, docs/FORMAT.md §2.2): the kernels
 * clamp to the dtype's 8-bit range, and clamping that again to the narrower range gives
 * exactly the clamp to the narrower range (clamps to nested intervals compose), so every
 * path computes the narrow epilogue with its 8-bit kernels and this pass over what they
 * wrote: n bytes at y. Nothing to do for 8-bit and s32 values. */
static void narrow(const f8_value_desc *v, uint8_t *y, size_t n)
{
    if (!v->bits || v->bits >= 8 || v->dtype == F8_DTYPE_S32)
        return;
    if (v->dtype == F8_DTYPE_U8) {
        const uint8_t hi = (uint8_t)((1u << v->bits) - 1);
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > hi ? hi : y[i];
    } else {
        const int8_t hi = (int8_t)((1 << (v->bits - 1)) - 1);
        int8_t *q = (int8_t *)y;
        for (size_t i = 0; i < n; i++)
            q[i] = q[i] > hi ? hi : q[i] < -hi ? (int8_t)-hi : q[i];
    }
}

/* narrow() over images [b0, b1) of a value whose images lie `stride` bytes apart. */
static void narrow_images(const f8_value_desc *v, uint8_t *y, size_t stride, uint32_t b0,
                          uint32_t b1)
{
    for (uint32_t b = b0; b < b1; b++)
        narrow(v, y + b * stride, f8_value_elems(v));
}

static uint32_t op_items(const f8_op_plan *pl, uint32_t batch)
{
    switch (pl->kind) {
    case F8_RUN_FUSED: return 0;
    case F8_RUN_SCALAR: return batch;
    case F8_RUN_DENSE: return batch;
    default: return batch * pl->rows;
    }
}

/* A GEMM's kernel on rows [row0, row1) of one image; with a fused ADD (pl->fused) x1 is
 * the image's other operand and y the ADD's output. */
static void run_conv(const f8_op_plan *pl, const void *x, const void *x1, void *y,
                     uint32_t row0, uint32_t row1)
{
    if (!pl->fused) {
        pl->conv(&pl->geom, x, y, row0, row1);
        return;
    }
    f8_conv_geom g = pl->geom;
    g.add.x1 = x1;
    pl->conv(&g, x, y, row0, row1);
}

/* The output value's descriptor of a planned op (a fused GEMM writes the ADD's). */
static const f8_value_desc *out_desc(const f8_op_impl *op, const f8_op_plan *pl)
{
    return pl->fused ? &pl->add_epi.out : &op->args.out;
}

/* Runs work items [lo, hi) of one op on a batch whose images lie *_bytes apart (in1: ADD's
 * second input, or a fused GEMM's other operand). */
static void run_items(const f8_op_impl *op, const f8_op_plan *pl, uint32_t batch, uint32_t lo,
                      uint32_t hi, const uint8_t *in0, size_t in0_bytes, const uint8_t *in1,
                      size_t in1_bytes, uint8_t *out, size_t out_bytes)
{
    const f8_op_desc *d = &op->desc;

    if (pl->kind == F8_RUN_SCALAR) {
        for (uint32_t b = lo; b < hi; b++) {
            const void *x = in0 + b * in0_bytes;
            void *y = out + b * out_bytes;
            switch (d->type) {
            case F8_OP_CONV2D: f8_conv2d_scalar(&op->args, x, y); break;
            case F8_OP_DENSE: f8_dense_scalar(&op->args, x, y); break;
            case F8_OP_ADD: f8_add_scalar(&op->args, x, in1 + b * in1_bytes, y); break;
            case F8_OP_MAXPOOL: f8_maxpool_scalar(&op->args, x, y); break;
            case F8_OP_AVGPOOL: f8_avgpool_scalar(&op->args, x, y); break;
            }
        }
        narrow_images(&op->args.out, out, out_bytes, lo, hi);
        return;
    }
    if (pl->kind == F8_RUN_DENSE) {
        /* images [lo, hi): one 1 x n "image" when they lie back to back, else one by one */
        f8_conv_geom g = pl->geom;
        const size_t k_bytes = g.Cin; /* u8/s8 input */
        const size_t o_bytes = (size_t)g.Cout * f8_dtype_size(g.out_dtype);
        if (in0_bytes == k_bytes && out_bytes == o_bytes) {
            g.W = g.Wo = hi - lo;
            pl->conv(&g, in0 + lo * in0_bytes, out + lo * out_bytes, 0, 1);
        } else {
            g.W = g.Wo = 1;
            for (uint32_t b = lo; b < hi; b++)
                pl->conv(&g, in0 + b * in0_bytes, out + b * out_bytes, 0, 1);
        }
        narrow_images(&op->args.out, out, out_bytes, lo, hi);
        return;
    }
    const uint32_t rows = pl->rows;
    for (uint32_t it = lo; it < hi;) {
        const uint32_t b = it / rows, row0 = it % rows;
        const uint32_t row1 = hi - it < rows - row0 ? row0 + (hi - it) : rows;
        const void *x = in0 + b * in0_bytes;
        void *y = out + b * out_bytes;
        switch (pl->kind) {
        case F8_RUN_GEMM: run_conv(pl, x, in1 ? in1 + b * in1_bytes : NULL, y, row0, row1); break;
        case F8_RUN_DW: pl->conv(&pl->geom, x, y, row0, row1); break;
        case F8_RUN_ADD: pl->add(&op->args, &pl->epi.ep, x, in1 + b * in1_bytes, y, row0, row1); break;
        case F8_RUN_MAXPOOL:
        case F8_RUN_AVGPOOL: pl->pool(&op->args, &pl->epi.ep, x, y, row0, row1); break;
        default: break;
        }
        const f8_value_desc *od = out_desc(op, pl);
        const size_t row_bytes = (size_t)od->w * od->c; /* u8/s8 if narrow */
        narrow(od, (uint8_t *)y + row0 * row_bytes, (row1 - row0) * row_bytes);
        it += row1 - row0;
    }
}

/* Profiling clock: with one thread, the thread's CPU time (a busy host's preemptions do not
 * count against the op that was running); with more, wall time (thread 0 waits for all). */
static uint64_t now_ns(const f8_runner *r)
{
    struct timespec ts;
    clock_gettime(r->nthreads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* DENSE on images [b0, b1) at once: their inputs are copied back to back into the thread's
 * staging buffer so that the kernel reads each weight tile once per 6 images (as a 1 x n
 * image), and the outputs go straight to the value when it is laid out back to back (the
 * logits) or through the staging buffer. */
static void run_dense_batch(f8_runner *r, uint32_t i, uint32_t b0, uint32_t b1, uint32_t tid)
{
    const f8_op_desc *d = &r->model->ops[i].desc;
    const f8_op_plan *pl = &r->plans[i];
    const size_t k = r->layout.image_bytes[d->input0], so = r->layout.image_bytes[d->output];
    uint8_t *sin = r->stage + (size_t)tid * r->stage_thread, *sout = sin + r->stage_in;
    for (uint32_t b = b0; b < b1; b++)
        memcpy(sin + (size_t)(b - b0) * k, r->value_ptr[d->input0] + b * r->layout.stride[d->input0], k);
    uint8_t *out = (uint8_t *)(uintptr_t)r->value_ptr[d->output];
    const int direct = r->layout.stride[d->output] == so;
    f8_conv_geom g = pl->geom;
    g.W = g.Wo = b1 - b0;
    pl->conv(&g, sin, direct ? out + b0 * so : sout, 0, 1);
    if (!direct)
        for (uint32_t b = b0; b < b1; b++)
            memcpy(out + b * r->layout.stride[d->output], sout + (size_t)(b - b0) * so, so);
    narrow_images(&r->model->ops[i].args.out, out, r->layout.stride[d->output], b0, b1);
}

/* A GEMM convolution whose weights outweigh its images' inputs, on images [b0, b1): one
 * kernel tile of 64 output channels at a time for every image, so each weight byte comes
 * from memory once per F8_BATCH_INPUT_BYTES of input rather than once per image. */
static void run_gemm_batch(f8_runner *r, uint32_t i, uint32_t b0, uint32_t b1)
{
    const f8_op_plan *pl = &r->plans[i];
    uint32_t v[2], vo;
    f8_plan_values(r->model, r->plans, i, v, &vo);
    const size_t si = r->layout.stride[v[0]], so = r->layout.stride[vo];
    const size_t s1 = pl->fused ? r->layout.stride[v[1]] : 0;
    const uint8_t *in = r->value_ptr[v[0]], *in1 = pl->fused ? r->value_ptr[v[1]] : NULL;
    uint8_t *out = (uint8_t *)(uintptr_t)r->value_ptr[vo];
    const size_t fit = F8_BATCH_INPUT_BYTES / r->layout.image_bytes[v[0]]; /* images */
    const uint32_t chunk = fit < 1 ? 1 : fit > b1 - b0 ? b1 - b0 : (uint32_t)fit;
    f8_conv_geom g = pl->geom;
    for (uint32_t c0 = b0; c0 < b1; c0 += chunk) {
        const uint32_t c1 = b1 - c0 < chunk ? b1 : c0 + chunk;
        for (uint32_t blk = 0; blk < pl->geom.blk1; blk += 4) {
            g.blk0 = blk;
            g.blk1 = pl->geom.blk1 - blk < 4 ? pl->geom.blk1 : blk + 4;
            for (uint32_t b = c0; b < c1; b++) {
                g.add.x1 = in1 ? in1 + b * s1 : NULL;
                pl->conv(&g, in + b * si, out + b * so, 0, pl->rows);
            }
        }
        narrow_images(out_desc(&r->model->ops[i], pl), out, so, c0, c1);
    }
}

/* Image-major: this thread's images one after the other, each through every op (its
 * activations stay in cache; no barriers) up to a batched op (DENSE, or a GEMM with large
 * weights), which runs for all of them at once; then the same for the ops after it. Used
 * when the images split evenly enough. */
static void run_images(f8_runner *r, uint32_t batch, uint32_t tid, uint64_t *op_ns)
{
    const uint32_t T = r->nthreads, nops = r->model->info.num_ops;
    const uint32_t b0 = (uint32_t)((uint64_t)batch * tid / T);
    const uint32_t b1 = (uint32_t)((uint64_t)batch * (tid + 1) / T);
    for (uint32_t i = 0; i < nops;) {
        uint32_t e = i;
        while (e < nops && !r->plans[e].batched)
            e++;
        for (uint32_t b = b0; b < b1; b++) {
            uint64_t t0 = op_ns ? now_ns(r) : 0;
            for (uint32_t o = i; o < e; o++) {
                const f8_op_impl *op = &r->model->ops[o];
                const f8_op_plan *pl = &r->plans[o];
                uint32_t v[2], vo;
                f8_plan_values(r->model, r->plans, o, v, &vo);
                if (vo == F8_NO_VALUE)
                    continue; /* a fused ADD */
                const int two = v[1] != F8_NO_VALUE;
                /* image b's value: in part b, or in part b0 when local (see `local`) */
                const size_t s0 = r->layout.stride[v[0]], s1 = two ? r->layout.stride[v[1]] : 0;
                const size_t so = r->layout.stride[vo];
                const uint32_t i0 = r->layout.local[v[0]] ? b0 : b;
                const uint32_t i1 = two && r->layout.local[v[1]] ? b0 : b;
                const uint32_t io = r->layout.local[vo] ? b0 : b;
                run_items(op, pl, 1, 0, op_items(pl, 1), r->value_ptr[v[0]] + i0 * s0, s0,
                          two ? r->value_ptr[v[1]] + i1 * s1 : NULL, s1,
                          (uint8_t *)(uintptr_t)r->value_ptr[vo] + io * so, so);
                if (op_ns) {
                    const uint64_t t1 = now_ns(r);
                    op_ns[o] += t1 - t0;
                    t0 = t1;
                }
            }
        }
        if (e < nops) {
            const uint64_t t0 = op_ns ? now_ns(r) : 0;
            if (b0 < b1 && r->plans[e].kind == F8_RUN_DENSE)
                run_dense_batch(r, e, b0, b1, tid);
            else if (b0 < b1)
                run_gemm_batch(r, e, b0, b1);
            if (op_ns)
                op_ns[e] += now_ns(r) - t0;
            e++;
        }
        i = e;
    }
}

void f8_exec(f8_runner *r, uint32_t batch, uint32_t tid, uint64_t *op_ns)
{
    const uint32_t T = r->nthreads;
    if (batch % T == 0 || batch >= 4 * T) {
        run_images(r, batch, tid, op_ns);
        return;
    }
    /* Op-major: every op's work (images × rows) split across the threads, barrier after. */
    uint64_t t0 = op_ns ? now_ns(r) : 0;
    for (uint32_t i = 0; i < r->model->info.num_ops; i++) {
        const f8_op_impl *op = &r->model->ops[i];
        const f8_op_plan *pl = &r->plans[i];
        const uint32_t items = op_items(pl, batch);
        const uint32_t lo = (uint32_t)((uint64_t)items * tid / T);
        const uint32_t hi = (uint32_t)((uint64_t)items * (tid + 1) / T);
        uint32_t v[2], vo;
        f8_plan_values(r->model, r->plans, i, v, &vo);
        if (vo == F8_NO_VALUE)
            continue; /* a fused ADD: every thread skips it, barrier included */
        const int two = v[1] != F8_NO_VALUE;
        /* Output regions are never const: value 0 cannot be an op's output. */
        if (lo < hi && pl->kind == F8_RUN_DENSE)
            run_dense_batch(r, i, lo, hi, tid);
        else if (lo < hi)
            run_items(op, pl, batch, lo, hi, r->value_ptr[v[0]], r->layout.stride[v[0]],
                      two ? r->value_ptr[v[1]] : NULL, two ? r->layout.stride[v[1]] : 0,
                      (uint8_t *)(uintptr_t)r->value_ptr[vo], r->layout.stride[vo]);
        if (T > 1)
            f8_pool_barrier(&r->pool);
        if (op_ns) {
            const uint64_t t1 = now_ns(r);
            op_ns[i] += t1 - t0;
            t0 = t1;
        }
    }
}

void f8_plan_exec(const f8_op_impl *op, const f8_op_plan *pl, uint32_t batch, const void *x0,
                  const void *x1, void *y)
{
    const f8_kernel_args *a = &op->args;
    const f8_value_desc *in1 = pl->fused ? &pl->add_epi.x1 : &a->in1, *out = out_desc(op, pl);
    run_items(op, pl, batch, 0, op_items(pl, batch), x0,
              f8_value_elems(&a->in0) * f8_dtype_size(a->in0.dtype), x1,
              f8_value_elems(in1) * f8_dtype_size(in1->dtype), y,
              f8_value_elems(out) * f8_dtype_size(out->dtype));
}

void f8_op_exec(const f8_op_impl *op, f8_isa isa, const uint8_t *zero, uint32_t batch,
                const void *x0, const void *x1, void *y)
{
    f8_op_plan pl;
    f8_plan_op(op, isa, zero, &pl);
    f8_plan_exec(op, &pl, batch, x0, x1, y);
}

/* The pool's job (runner.c starts the pool with it): one thread's share, unprofiled. */
void f8_exec_thread(void *runner, uint32_t batch, uint32_t tid)
{
    f8_exec(runner, batch, tid, NULL);
}

int f8_run(f8_runner *runner, const uint8_t *images, uint32_t batch, int32_t *logits)
{
    return f8_run_profiled(runner, images, batch, logits, NULL);
}

int f8_runner_time_image(f8_runner *runner, const uint8_t *image, int32_t *logits,
                         uint64_t *ns)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 2; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        const int rc = f8_run(runner, image, 1, logits);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc != F8_OK)
            return rc;
        const uint64_t t = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
                           (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
        best = t < best ? t : best;
    }
    *ns = best;
    return F8_OK;
}

int f8_run_profiled(f8_runner *runner, const uint8_t *images, uint32_t batch, int32_t *logits,
                    uint64_t *op_ns)
{
    if (!runner || batch > runner->max_batch)
        return F8_EINVAL;
    if (batch == 0)
        return F8_OK;
    if (!images || !logits)
        return F8_EINVAL;

    if (runner->layout.arena_size && !runner->arena)
        return F8_EINVAL; /* lend_arena, and no arena lent yet */

    const f8_model *m = runner->model;
    const uint32_t nv = m->info.num_values;
    for (uint32_t v = 0; v < nv; v++) /* no arena (a model with no activations): no offset */
        runner->value_ptr[v] = runner->arena ? runner->arena + runner->layout.value_offset[v] : NULL;
    runner->value_ptr[0] = images;
    runner->value_ptr[m->output_value] = (const uint8_t *)logits;

    if (runner->nthreads > 1)
        f8_pool_wake(&runner->pool, batch); /* the workers run f8_exec_thread */
    f8_exec(runner, batch, 0, op_ns);
    if (runner->nthreads > 1)
        f8_pool_wait(&runner->pool);
    return F8_OK;
}
