/*
 * libf8 internal: an op's plan, the answer of the kernel table (plan.c) to "which kernel runs
 * this op, on this path, with which geometry". The runner keeps one per op; exec.c runs them.
 */
#ifndef F8_PLAN_H
#define F8_PLAN_H

#include "f8_internal.h"

typedef enum {
    F8_RUN_SCALAR = 0, /* the reference kernel, one image per work item */
    F8_RUN_GEMM,       /* conv kernel, items = images × output rows */
    F8_RUN_DENSE,      /* conv kernel on a 1 × images "image" of K channels */
    F8_RUN_DW,
    F8_RUN_ADD,
    F8_RUN_MAXPOOL,
    F8_RUN_AVGPOOL
} f8_run_kind;

typedef struct {
    f8_run_kind kind;
    const char *kernel; /* the chosen kernel's function name (the table row), never NULL */
    const char *tile_kernel; /* AVX-512 GEMM: the full register tile's name, else NULL */
    uint32_t rows;      /* output rows of one image */
    f8_conv_geom geom;  /* GEMM / DENSE / DW */
    f8_conv_fn conv;
    f8_add_fn add;
    f8_pool_fn pool;
    f8_epi16 epi;       /* ADD / pools */
    int batched;        /* image-major threads run it for all their images at once
                           (exec.c: run_dense_batch, run_gemm_batch), see f8_plan_batch */
} f8_op_plan;

/* Fills *pl for op on path isa (never AUTO) from the kernel table. `zero`: the model's zero
 * bytes (f8_model.zero). pl->batched is left 0: f8_plan_batch decides it. */
void f8_plan_op(const f8_op_impl *op, f8_isa isa, const uint8_t *zero, f8_op_plan *pl);

/* Sets pl->batched for a runner whose image-major threads take up to `per_thread` images,
 * the op's input being in_bytes per image: DENSE always, a GEMM when its weights outweigh
 * its images' inputs. */
void f8_plan_batch(f8_op_plan *pl, size_t in_bytes, uint32_t per_thread);

/* Runs op with plan pl (f8_plan_op's, or one whose kernel a test replaced by a named
 * variant) on `batch` images back to back, unbatched, as one thread (exec.c). */
void f8_plan_exec(const f8_op_impl *op, const f8_op_plan *pl, uint32_t batch, const void *x0,
                  const void *x1, void *y);

/* A batched GEMM runs the inputs of at most this many bytes of images together. */
#define F8_BATCH_INPUT_BYTES (512 * 1024)

/* ADD / pools fit the 32-bit SIMD kernels: u8/s8 inputs and sums within 32 bits. */
int f8_eltwise_fits_s32(const f8_op_impl *op);

#endif /* F8_PLAN_H */
