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
    F8_RUN_AVGPOOL,
    F8_RUN_FUSED       /* an ADD run by the CONV2D before it (f8_plan_fuse): nothing to do */
} f8_run_kind;

#define F8_NO_VALUE UINT32_MAX

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
    /* A GEMM with the next op, an ADD, fused into its epilogue (f8_plan_fuse): it writes
     * the ADD's output (add_out) from its own sums and the other operand (add_in1);
     * geom.add and epi hold the ADD's arithmetic, add_epi the same for the scalar twin. */
    int fused;
    uint32_t add_in1, add_out;
    f8_add_epi add_epi;
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

/* Fuses the ADD `add` into the plan of the CONV2D `conv` that writes one of its operands
 * (the other: x1 = add's input1 when c_is_in0, else its input0), if the kernels can: an
 * AVX-512 GEMM run by the 6x64 tiles, u8/s8 output of full width, an ADD the 32-bit kernels
 * hold (f8_eltwise_fits_s32) with an output of full width. Returns 1 if fused. The plan must
 * not move afterwards (geom.add.ep points into it). Graph conditions are the caller's. */
int f8_plan_fuse_add(f8_op_plan *pl, const f8_op_impl *conv, const f8_op_impl *add,
                     int c_is_in0);

/* For every ADD right after the CONV2D that writes one of its operands, when no other op
 * reads that value and it is not the model's output: fuses them (f8_plan_fuse_add) and marks
 * the ADD F8_RUN_FUSED. Run after f8_plan_batch. */
void f8_plan_fuse(const f8_model *model, f8_op_plan *plans);

/* The values op i reads and writes as planned: in[0], in[1] (F8_NO_VALUE if none) and out
 * (F8_NO_VALUE for a fused ADD, which runs nothing): the op's own, except that a fused
 * CONV2D reads the ADD's other operand and writes the ADD's output. */
void f8_plan_values(const f8_model *model, const f8_op_plan *plans, uint32_t i,
                    uint32_t in[2], uint32_t *out);

/* A batched GEMM runs the inputs of at most this many bytes of images together. */
#define F8_BATCH_INPUT_BYTES (512 * 1024)

/* ADD / pools fit the 32-bit SIMD kernels: u8/s8 inputs and sums within 32 bits. */
int f8_eltwise_fits_s32(const f8_op_impl *op);

#endif /* F8_PLAN_H */
