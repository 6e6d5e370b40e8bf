/*
 * The runner: activation buffers for one model and one maximum batch, the kernel chosen for
 * every op, an optional thread pool, and the op loop.
 *
 * Planning (f8_runner_create) gives every value a region of one image's part of the arena
 * (the arena holds max_batch such parts, so each image's activations are contiguous and
 * independent of the others'), reusing memory by liveness: a value lives from the op that writes it to the last op that reads it, and a
 * region whose value is dead is handed to the next value that fits (best fit; otherwise the
 * largest free region grows). An op's output never shares a region with its inputs, because
 * it is placed before they are released. Value 0 (the input) is read straight from the
 * caller's images and the output value is written straight into the caller's logits, so
 * neither needs a region. Values that live only between two DENSE ops ("local") take their
 * regions from a pool of their own: an image-major thread keeps them in the part of its first
 * image for all its images, so only that part's local regions are ever touched (ResNet-50
 * batch 16 on one thread: peak RSS 93 → 58 MB; MobileNet-V2 45 → 16.5 MB).
 *
 * Dispatch: the path (scalar, AVX2, AVX-512 VNNI) is resolved once here; each op gets a
 * plan saying which kernel runs it. Ops the SIMD kernels do not cover (grouped but not
 * depthwise convolutions, s32 inputs to convolutions, ADDs whose alignment would not fit in
 * 32 bits...) run the scalar reference kernel on every path.
 *
 * Threads: with threads = T > 1 the runner owns T - 1 pthreads, and f8_run wakes them once.
 * When the batch splits evenly (batch a multiple of T, or at least 4T images) each thread
 * takes its share of the images and runs each of them through the whole model (image-major:
 * one image's activations stay in cache, no synchronisation), except for "batched" ops, which
 * run for all of the thread's images at once: DENSE (each weight tile read once per 6 images)
 * and convolutions whose weights outweigh the images' inputs (64 output channels at a time
 * for every image: ResNet's last stage). Otherwise (batch 1 on 2
 * threads...) every op's work (images × output rows, or images for scalar kernels) is cut
 * into T equal ranges, the caller's thread included, with a spinning barrier between ops.
 * The same image-major order is used with one thread. f8_run allocates nothing.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "f8_internal.h"

#define NO_SLOT UINT32_MAX

typedef enum {
    RUN_SCALAR = 0, /* the reference kernel, one image per work item */
    RUN_GEMM,       /* conv2d kernel, items = images × output rows */
    RUN_DENSE,      /* conv2d kernel on a 1 × images "image" of K channels */
    RUN_DW,
    RUN_ADD,
    RUN_MAXPOOL,
    RUN_AVGPOOL
} run_kind;

typedef void (*conv_fn)(const f8_conv_geom *, const void *, void *, uint32_t, uint32_t);
typedef void (*add_fn)(const f8_kernel_args *, const f8_epi *, const void *, const void *,
                       void *, uint32_t, uint32_t);
typedef void (*pool_fn)(const f8_kernel_args *, const f8_epi *, const void *, void *, uint32_t,
                        uint32_t);

typedef struct {
    run_kind kind;
    uint32_t rows;    /* output rows of one image */
    f8_conv_geom geom;
    conv_fn conv;
    add_fn add;
    pool_fn pool;
    f8_epi16 epi;     /* ADD / pools */
    int batched;      /* image-major threads run it for all their images at once
                         (run_dense_batch, run_gemm_batch) rather than image after image */
} op_plan;

typedef struct {
    pthread_t *threads;
    uint32_t n;        /* worker threads (the caller is thread 0, not counted here) */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    uint64_t gen;
    uint32_t finished;
    int stop;
    uint32_t batch;    /* the job */
    atomic_uint bar_count, bar_gen;
} pool;

typedef struct {
    struct f8_runner *r;
    uint32_t tid;
} worker_arg;

struct f8_runner {
    const f8_model *model;
    uint32_t max_batch;
    uint8_t *arena;          /* the runner's own, or the one lent by f8_runner_set_arena */
    size_t arena_size;
    int arena_lent;          /* 1: created with lend_arena; the arena is not ours to free */
    size_t *value_offset;    /* [num_values], offset of the value's region in image 0's part */
    size_t *image_bytes;     /* [num_values], bytes of one image of the value */
    size_t *stride;          /* [num_values], bytes from one image of the value to the next */
    uint8_t *local;          /* [num_values], 1: written and read only between two DENSE ops,
                                so an image-major thread keeps it in its first image's part for
                                all its images (the same cache lines, image after image) */
    size_t image_arena;      /* bytes of one image's part of the arena */
    const uint8_t **value_ptr; /* [num_values], filled by f8_run */
    f8_isa isa;
    uint32_t nthreads;
    op_plan *plans;            /* [num_ops] */
    pool pool;
    int pool_started;
    worker_arg *args;
    uint8_t *stage;            /* DENSE staging, per thread: inputs, then outputs */
    size_t stage_in, stage_thread; /* bytes of the input part / of one thread's part */
};

typedef struct {
    size_t size;
    int busy;
} slot;

static size_t round64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Picks a free slot for `need` bytes: the smallest free one that fits, or else the largest
 * free one (grown), or else a new one. */
static uint32_t take_slot(slot *slots, uint32_t *num_slots, size_t need)
{
    uint32_t fit = NO_SLOT, largest = NO_SLOT;
    for (uint32_t s = 0; s < *num_slots; s++) {
        if (slots[s].busy)
            continue;
        if (slots[s].size >= need && (fit == NO_SLOT || slots[s].size < slots[fit].size))
            fit = s;
        if (largest == NO_SLOT || slots[s].size > slots[largest].size)
            largest = s;
    }
    uint32_t s = fit != NO_SLOT ? fit : largest;
    if (s == NO_SLOT)
        s = (*num_slots)++;
    if (slots[s].size < need)
        slots[s].size = need;
    slots[s].busy = 1;
    return s;
}

/* ---- per-op plans ------------------------------------------------------------------ */

/* ADD / pools on the SIMD paths need u8/s8 inputs and sums that fit in 32 bits. */
static int eltwise_simd_ok(const f8_op_impl *op)
{
    const f8_kernel_args *a = &op->args;
    if (a->in0.dtype == F8_DTYPE_S32)
        return 0;
    switch (op->desc.type) {
    case F8_OP_ADD: {
        if (a->in1.dtype == F8_DTYPE_S32)
            return 0;
        const int f = a->in0.fl > a->in1.fl ? a->in0.fl : a->in1.fl;
        return f - a->in0.fl <= 22 && f - a->in1.fl <= 22;
    }
    case F8_OP_MAXPOOL: return 1;
    case F8_OP_AVGPOOL: return (uint64_t)a->kernel_h * a->kernel_w <= ((uint64_t)1 << 23);
    default: return 0;
    }
}

static void plan_op(const f8_op_impl *op, f8_isa isa, const uint8_t *zero, op_plan *pl)
{
    const f8_kernel_args *a = &op->args;
    memset(pl, 0, sizeof *pl);
    pl->kind = RUN_SCALAR;
    pl->rows = a->out.h;
    if (isa == F8_ISA_SCALAR)
        return;
    const int avx512 = isa == F8_ISA_AVX512VNNI;
    if (op->pk.kind != F8_PACK_NONE) {
        f8_conv_geom *g = &pl->geom;
        g->H = a->in0.h;
        g->W = a->in0.w;
        g->Cin = a->in0.c;
        g->Ho = a->out.h;
        g->Wo = a->out.w;
        g->Cout = a->out.c;
        g->kh = a->kernel_h;
        g->kw = a->kernel_w;
        g->sh = a->stride_h;
        g->sw = a->stride_w;
        g->pt = a->pad_top;
        g->pl = a->pad_left;
        g->in_s8 = a->in0.dtype == F8_DTYPE_S8;
        g->out_dtype = a->out.dtype;
        g->relu = a->relu;
        g->pk = &op->pk;
        g->krows = op->pk.patch ? 1 : g->kh;
        g->zero = zero;
        g->blk0 = 0;
        g->blk1 = op->pk.nblk;
        if (op->pk.kind == F8_PACK_DW) {
            pl->kind = RUN_DW;
            pl->conv = avx512 ? f8_dwconv2d_nhwc_16c_avx512vnni : f8_dwconv2d_nhwc_8c_avx2;
        } else {
            pl->kind = op->desc.type == F8_OP_DENSE ? RUN_DENSE : RUN_GEMM;
            pl->conv = avx512 ? f8_conv2d_nhwc_6x64c4_avx512vnni : f8_conv2d_nhwc_4x16c4_avx2;
            if (pl->kind == RUN_DENSE) { /* a 1 x batch image of K channels, 1x1 kernel */
                g->H = g->Ho = 1;
                g->Cin = (uint32_t)f8_value_elems(&a->in0);
                g->kh = g->kw = g->sh = g->sw = g->krows = 1;
                g->pt = g->pl = 0;
            }
        }
        return;
    }
    if (avx512 && !eltwise_simd_ok(op)) {
        /* s32 inputs, long alignment shifts, huge windows: 64-bit lanes, any dtypes */
        if (op->desc.type == F8_OP_ADD) {
            pl->kind = RUN_ADD;
            pl->add = f8_add_wide_nhwc_avx512vnni;
        } else if (op->desc.type == F8_OP_AVGPOOL) {
            pl->kind = RUN_AVGPOOL;
            pl->pool = f8_avgpool_wide_nhwc_avx512vnni;
        }
        return;
    }
    if (!eltwise_simd_ok(op))
        return;
    switch (op->desc.type) {
    case F8_OP_ADD: {
        const int f = a->in0.fl > a->in1.fl ? a->in0.fl : a->in1.fl;
        f8_epi16_init(&pl->epi, f - a->out.fl, a->out.dtype);
        pl->kind = RUN_ADD;
        pl->add = avx512 ? f8_add_nhwc_avx512vnni : f8_add_nhwc_avx2;
        break;
    }
    case F8_OP_MAXPOOL:
        f8_epi16_init(&pl->epi, a->in0.fl - a->out.fl, a->out.dtype);
        pl->kind = RUN_MAXPOOL;
        pl->pool = avx512 ? f8_maxpool_nhwc_avx512vnni : f8_maxpool_nhwc_avx2;
        break;
    case F8_OP_AVGPOOL:
        f8_epi16_init(&pl->epi, a->in0.fl + (int)a->avg_shift - a->out.fl, a->out.dtype);
        pl->kind = RUN_AVGPOOL;
        pl->pool = avx512 ? f8_avgpool_nhwc_avx512vnni : f8_avgpool_nhwc_avx2;
        break;
    default: break;
    }
}

/* A GEMM runs batched (run_gemm_batch) when its packed weights would not stay in a 1 MB L2
 * cache next to the activations from one image to the next (F8_BATCH_WEIGHTS_BYTES) and
 * outweigh the inputs of a thread's images: then reading the inputs once per 64 output
 * channels costs less than reading all the weights once per image. ResNet-18's last stage
 * (1.2-2.4 MB of weights, 25-50 KB of input per image) spends 7% less time so at batch 16;
 * MobileNet-V2's last 1x1 (410 KB) was slower batched, its output no longer in cache for the
 * pooling after it. */
#define F8_BATCH_WEIGHTS_BYTES (768 * 1024)
#define F8_BATCH_INPUT_BYTES (512 * 1024) /* inputs of the images run together at most */
static int weights_outweigh_inputs(const op_plan *pl, size_t in_bytes, uint32_t images)
{
    const f8_packed *pk = pl->geom.pk;
    const size_t w = (size_t)pk->nblk * 16 * pl->geom.krows * pk->seg4;
    return w >= F8_BATCH_WEIGHTS_BYTES && w > images * in_bytes;
}

/* ---- execution ---------------------------------------------------------------------- */

static void barrier(f8_runner *r)
{
    pool *p = &r->pool;
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

static uint32_t op_items(const op_plan *pl, uint32_t batch)
{
    switch (pl->kind) {
    case RUN_SCALAR: return batch;
    case RUN_DENSE: return batch;
    default: return batch * pl->rows;
    }
}

/* Runs work items [lo, hi) of one op on a batch whose images lie *_bytes apart. */
static void run_items(const f8_op_impl *op, const op_plan *pl, uint32_t batch, uint32_t lo,
                      uint32_t hi, const uint8_t *in0, size_t in0_bytes, const uint8_t *in1,
                      size_t in1_bytes, uint8_t *out, size_t out_bytes)
{
    const f8_op_desc *d = &op->desc;

    if (pl->kind == RUN_SCALAR) {
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
        return;
    }
    if (pl->kind == RUN_DENSE) {
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
        return;
    }
    const uint32_t rows = pl->rows;
    for (uint32_t it = lo; it < hi;) {
        const uint32_t b = it / rows, row0 = it % rows;
        const uint32_t row1 = hi - it < rows - row0 ? row0 + (hi - it) : rows;
        const void *x = in0 + b * in0_bytes;
        void *y = out + b * out_bytes;
        switch (pl->kind) {
        case RUN_GEMM:
        case RUN_DW: pl->conv(&pl->geom, x, y, row0, row1); break;
        case RUN_ADD: pl->add(&op->args, &pl->epi.ep, x, in1 + b * in1_bytes, y, row0, row1); break;
        case RUN_MAXPOOL:
        case RUN_AVGPOOL: pl->pool(&op->args, &pl->epi.ep, x, y, row0, row1); break;
        default: break;
        }
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
    const op_plan *pl = &r->plans[i];
    const size_t k = r->image_bytes[d->input0], so = r->image_bytes[d->output];
    uint8_t *sin = r->stage + (size_t)tid * r->stage_thread, *sout = sin + r->stage_in;
    for (uint32_t b = b0; b < b1; b++)
        memcpy(sin + (size_t)(b - b0) * k, r->value_ptr[d->input0] + b * r->stride[d->input0], k);
    uint8_t *out = (uint8_t *)(uintptr_t)r->value_ptr[d->output];
    const int direct = r->stride[d->output] == so;
    f8_conv_geom g = pl->geom;
    g.W = g.Wo = b1 - b0;
    pl->conv(&g, sin, direct ? out + b0 * so : sout, 0, 1);
    if (!direct)
        for (uint32_t b = b0; b < b1; b++)
            memcpy(out + b * r->stride[d->output], sout + (size_t)(b - b0) * so, so);
}

/* A GEMM convolution whose weights outweigh its images' inputs, on images [b0, b1): one
 * kernel tile of 64 output channels at a time for every image, so each weight byte comes
 * from memory once per F8_BATCH_INPUT_BYTES of input rather than once per image. */
static void run_gemm_batch(f8_runner *r, uint32_t i, uint32_t b0, uint32_t b1)
{
    const f8_op_desc *d = &r->model->ops[i].desc;
    const op_plan *pl = &r->plans[i];
    const size_t si = r->stride[d->input0], so = r->stride[d->output];
    const uint8_t *in = r->value_ptr[d->input0];
    uint8_t *out = (uint8_t *)(uintptr_t)r->value_ptr[d->output];
    const size_t fit = F8_BATCH_INPUT_BYTES / r->image_bytes[d->input0]; /* images */
    const uint32_t chunk = fit < 1 ? 1 : fit > b1 - b0 ? b1 - b0 : (uint32_t)fit;
    f8_conv_geom g = pl->geom;
    for (uint32_t c0 = b0; c0 < b1; c0 += chunk) {
        const uint32_t c1 = b1 - c0 < chunk ? b1 : c0 + chunk;
        for (uint32_t blk = 0; blk < pl->geom.blk1; blk += 4) {
            g.blk0 = blk;
            g.blk1 = pl->geom.blk1 - blk < 4 ? pl->geom.blk1 : blk + 4;
            for (uint32_t b = c0; b < c1; b++)
                pl->conv(&g, in + b * si, out + b * so, 0, pl->rows);
        }
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
                const f8_op_desc *d = &op->desc;
                const op_plan *pl = &r->plans[o];
                const int add = d->type == F8_OP_ADD;
                /* image b's value: in part b, or in part b0 when local (see `local`) */
                const size_t s0 = r->stride[d->input0], s1 = add ? r->stride[d->input1] : 0;
                const size_t so = r->stride[d->output];
                const uint32_t i0 = r->local[d->input0] ? b0 : b;
                const uint32_t i1 = add && r->local[d->input1] ? b0 : b;
                const uint32_t io = r->local[d->output] ? b0 : b;
                run_items(op, pl, 1, 0, op_items(pl, 1), r->value_ptr[d->input0] + i0 * s0, s0,
                          add ? r->value_ptr[d->input1] + i1 * s1 : NULL, s1,
                          (uint8_t *)(uintptr_t)r->value_ptr[d->output] + io * so, so);
                if (op_ns) {
                    const uint64_t t1 = now_ns(r);
                    op_ns[o] += t1 - t0;
                    t0 = t1;
                }
            }
        }
        if (e < nops) {
            const uint64_t t0 = op_ns ? now_ns(r) : 0;
            if (b0 < b1 && r->plans[e].kind == RUN_DENSE)
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

static void run_ops(f8_runner *r, uint32_t batch, uint32_t tid, uint64_t *op_ns)
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
        const f8_op_desc *d = &op->desc;
        const op_plan *pl = &r->plans[i];
        const uint32_t items = op_items(pl, batch);
        const uint32_t lo = (uint32_t)((uint64_t)items * tid / T);
        const uint32_t hi = (uint32_t)((uint64_t)items * (tid + 1) / T);
        const int add = d->type == F8_OP_ADD;
        /* Output regions are never const: value 0 cannot be an op's output. */
        if (lo < hi && pl->kind == RUN_DENSE)
            run_dense_batch(r, i, lo, hi, tid);
        else if (lo < hi)
            run_items(op, pl, batch, lo, hi, r->value_ptr[d->input0], r->stride[d->input0],
                      add ? r->value_ptr[d->input1] : NULL, add ? r->stride[d->input1] : 0,
                      (uint8_t *)(uintptr_t)r->value_ptr[d->output], r->stride[d->output]);
        if (T > 1)
            barrier(r);
        if (op_ns) {
            const uint64_t t1 = now_ns(r);
            op_ns[i] += t1 - t0;
            t0 = t1;
        }
    }
}

void f8_op_exec(const f8_op_impl *op, f8_isa isa, const uint8_t *zero, uint32_t batch,
                const void *x0, const void *x1, void *y)
{
    op_plan pl;
    plan_op(op, isa, zero, &pl);
    const f8_kernel_args *a = &op->args;
    run_items(op, &pl, batch, 0, op_items(&pl, batch), x0,
              f8_value_elems(&a->in0) * f8_dtype_size(a->in0.dtype), x1,
              f8_value_elems(&a->in1) * f8_dtype_size(a->in1.dtype), y,
              f8_value_elems(&a->out) * f8_dtype_size(a->out.dtype));
}

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    f8_runner *r = w->r;
    pool *p = &r->pool;
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
        run_ops(r, batch, w->tid, NULL);
        pthread_mutex_lock(&p->mu);
        p->finished++;
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static int pool_start(f8_runner *r)
{
    pool *p = &r->pool;
    p->n = r->nthreads - 1;
    p->threads = calloc(p->n, sizeof *p->threads);
    r->args = calloc(p->n, sizeof *r->args);
    if (!p->threads || !r->args)
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
    r->pool_started = 1;
    for (uint32_t t = 0; t < p->n; t++) {
        r->args[t].r = r;
        r->args[t].tid = t + 1;
        if (pthread_create(&p->threads[t], NULL, worker_main, &r->args[t]) != 0) {
            p->n = t; /* pool_stop joins the ones that started */
            return F8_ENOMEM;
        }
    }
    return F8_OK;
}

static void pool_stop(f8_runner *r)
{
    pool *p = &r->pool;
    if (r->pool_started) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->mu);
        for (uint32_t t = 0; t < p->n; t++)
            pthread_join(p->threads[t], NULL);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->start);
        pthread_mutex_destroy(&p->mu);
    }
    free(p->threads);
    free(r->args);
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
    const uint32_t output = model->output_value;
    f8_runner *r = calloc(1, sizeof *r);
    uint32_t *last_use = malloc(nv * sizeof *last_use);
    uint32_t *slot_of = malloc(nv * sizeof *slot_of);
    slot *slots = calloc(nv, sizeof *slots); /* at most one slot per value */
    slot *pslots = calloc(nv, sizeof *pslots); /* the slots of values that are not local */
    uint32_t *stretch_of = calloc(nv, sizeof *stretch_of); /* of each value's writer */
    size_t *slot_offset = NULL;
    int rc = F8_ENOMEM;
    if (!r || !last_use || !slot_of || !slots || !pslots || !stretch_of)
        goto out;
    r->model = model;
    r->max_batch = max_batch;
    r->isa = isa;
    r->nthreads = nthreads;
    r->plans = calloc(nops ? nops : 1, sizeof *r->plans);
    if (!r->plans)
        goto out;
    r->value_offset = calloc(nv, sizeof *r->value_offset);
    r->image_bytes = calloc(nv, sizeof *r->image_bytes);
    r->stride = calloc(nv, sizeof *r->stride);
    r->value_ptr = calloc(nv, sizeof *r->value_ptr);
    r->local = calloc(nv, 1);
    if (!r->value_offset || !r->image_bytes || !r->value_ptr || !r->stride || !r->local)
        goto out;

    for (uint32_t v = 0; v < nv; v++) {
        r->image_bytes[v] = f8_value_elems(&model->values[v]) * f8_dtype_size(model->values[v].dtype);
        last_use[v] = 0;
        slot_of[v] = NO_SLOT;
    }
    for (uint32_t i = 0; i < nops; i++) {
        const f8_op_desc *d = &model->ops[i].desc;
        last_use[d->output] = i; /* a value nobody reads dies where it is written */
        last_use[d->input0] = i;
        if (d->type == F8_OP_ADD)
            last_use[d->input1] = i;
    }

    const uint32_t per_thread = (max_batch + nthreads - 1) / nthreads;
    for (uint32_t i = 0; i < nops; i++) {
        op_plan *pl = &r->plans[i];
        plan_op(&model->ops[i], isa, model->zero, pl);
        pl->batched = pl->kind == RUN_DENSE ||
                      (pl->kind == RUN_GEMM && per_thread > 1 &&
                       weights_outweigh_inputs(pl, r->image_bytes[model->ops[i].desc.input0],
                                               per_thread));
    }

    /* Local values: written by an op that is not batched and read only by such ops with no
     * batched op in between (the stretch an image-major thread runs image by image). The
     * others (inputs and outputs of batched ops, anything alive across one) are per image.
     * The two kinds get slots from separate pools, so a local value of one image never lands
     * on a per-image value of another. */
    for (uint32_t i = 0, stretch = 0; i < nops; i++) { /* stretch: batched ops before op i */
        const f8_op_desc *d = &model->ops[i].desc;
        const int batched = r->plans[i].batched;
        const uint32_t ins[2] = {d->input0, d->type == F8_OP_ADD ? d->input1 : 0};
        for (int k = 0; k < 2; k++) /* read by a batched op, or written in an earlier stretch */
            if (ins[k] != 0 && (batched || stretch_of[ins[k]] != stretch))
                r->local[ins[k]] = 0;
        r->local[d->output] = !batched && d->output != output;
        stretch_of[d->output] = stretch;
        stretch += batched;
    }

    uint32_t num_slots = 0, num_pslots = 0;
    for (uint32_t i = 0; i < nops; i++) {
        const f8_op_desc *d = &model->ops[i].desc;
        const uint32_t v = d->output;
        if (v != output) /* values are at most 2^33 bytes per image: no overflow */
            slot_of[v] = r->local[v] ? take_slot(slots, &num_slots, round64(r->image_bytes[v]))
                                     : take_slot(pslots, &num_pslots, round64(r->image_bytes[v]));
        const uint32_t ins[3] = {d->input0, d->type == F8_OP_ADD ? d->input1 : 0, v};
        for (int k = 0; k < 3; k++)
            if (ins[k] != 0 && slot_of[ins[k]] != NO_SLOT && last_use[ins[k]] == i)
                (r->local[ins[k]] ? slots : pslots)[slot_of[ins[k]]].busy = 0;
    }

    /* One image's part: the local slots, then the per-image ones. */
    size_t total = 0;
    slot_offset = malloc((num_slots + num_pslots ? num_slots + num_pslots : 1) *
                         sizeof *slot_offset);
    if (!slot_offset)
        goto out;
    for (uint32_t s = 0; s < num_slots + num_pslots; s++) {
        const size_t size = s < num_slots ? slots[s].size : pslots[s - num_slots].size;
        slot_offset[s] = total;
        if (size > SIZE_MAX - total) {
            rc = F8_ENOMEM;
            goto out;
        }
        total += size;
    }
    /* The arena is max_batch copies of one image's regions: every image has its own, so
     * images may run through the ops independently (image-major threads). */
    for (uint32_t v = 0; v < nv; v++) {
        const uint32_t s = slot_of[v] == NO_SLOT ? NO_SLOT
                           : r->local[v]        ? slot_of[v]
                                                : num_slots + slot_of[v];
        r->value_offset[v] = s == NO_SLOT ? 0 : slot_offset[s];
        r->stride[v] = s == NO_SLOT ? r->image_bytes[v] : total;
    }
    r->image_arena = total;
    if (total > SIZE_MAX / max_batch) {
        rc = F8_ENOMEM;
        goto out;
    }
    total *= max_batch;
    r->arena_size = total;
    r->arena_lent = opts && opts->lend_arena;
    if (total && !r->arena_lent && posix_memalign((void **)&r->arena, 64, total) != 0) {
        r->arena = NULL;
        goto out;
    }
    size_t kmax = 0, omax = 0;
    for (uint32_t i = 0; i < nops; i++) {
        if (r->plans[i].kind == RUN_DENSE) {
            const f8_op_desc *d = &model->ops[i].desc;
            kmax = r->image_bytes[d->input0] > kmax ? r->image_bytes[d->input0] : kmax;
            omax = r->image_bytes[d->output] > omax ? r->image_bytes[d->output] : omax;
        }
    }
    if (kmax) {
        if (kmax > SIZE_MAX / 2 / max_batch || omax > SIZE_MAX / 2 / max_batch) {
            rc = F8_ENOMEM;
            goto out;
        }
        r->stage_in = round64(kmax * max_batch);
        r->stage_thread = r->stage_in + round64(omax * max_batch);
        if (r->stage_thread > SIZE_MAX / nthreads ||
            posix_memalign((void **)&r->stage, 64, r->stage_thread * nthreads) != 0) {
            r->stage = NULL;
            rc = F8_ENOMEM;
            goto out;
        }
    }
    if (nthreads > 1 && (rc = pool_start(r)) != F8_OK)
        goto out;
    rc = F8_OK;
out:
    free(slot_offset);
    free(last_use);
    free(slot_of);
    free(slots);
    free(pslots);
    free(stretch_of);
    if (rc != F8_OK) {
        f8_runner_destroy(r);
        return rc;
    }
    *out = r;
    return F8_OK;
}

void f8_runner_destroy(f8_runner *runner)
{
    if (!runner)
        return;
    pool_stop(runner);
    if (!runner->arena_lent)
        free(runner->arena);
    free(runner->value_offset);
    free(runner->image_bytes);
    free(runner->stride);
    free(runner->local);
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
    return runner ? runner->arena_size : 0;
}

int f8_runner_set_arena(f8_runner *runner, void *arena, size_t size)
{
    if (!runner || !runner->arena_lent || (runner->arena_size && !arena) ||
        size < runner->arena_size || ((uintptr_t)arena & 63) != 0)
        return F8_EINVAL;
    runner->arena = arena;
    return F8_OK;
}

int f8_run(f8_runner *runner, const uint8_t *images, uint32_t batch, int32_t *logits)
{
    return f8_run_profiled(runner, images, batch, logits, NULL);
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

    if (runner->arena_size && !runner->arena)
        return F8_EINVAL; /* lend_arena, and no arena lent yet */

    const f8_model *m = runner->model;
    const uint32_t nv = m->info.num_values;
    for (uint32_t v = 0; v < nv; v++) /* no arena (a model with no activations): no offset */
        runner->value_ptr[v] = runner->arena ? runner->arena + runner->value_offset[v] : NULL;
    runner->value_ptr[0] = images;
    runner->value_ptr[m->output_value] = (const uint8_t *)logits;

    if (runner->nthreads == 1) {
        run_ops(runner, batch, 0, op_ns);
        return F8_OK;
    }
    pool *p = &runner->pool;
    pthread_mutex_lock(&p->mu);
    p->batch = batch;
    p->finished = 0;
    p->gen++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    run_ops(runner, batch, 0, op_ns);
    pthread_mutex_lock(&p->mu);
    while (p->finished < p->n)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return F8_OK;
}
