/*
 * libf8 internal: the kernel interface and the scalar reference kernels.
 *
 * A kernel computes one operation of docs/FORMAT.md §3 for ONE image: it reads the input
 * value(s) (NHWC, element type given by the value's dtype) and writes the output value,
 * including the epilogue (ReLU, requantization, clamp). Kernels allocate nothing and keep no
 * state. The *_scalar kernels are the reference: plain loops that follow the text of
 * FORMAT.md line by line; faster variants (AVX-512 VNNI, ...) must match them bit for bit.
 *
 * Preconditions (all established by the loader, docs/FORMAT.md §6): shapes are consistent
 * with the op, every requantization shift n satisfies |n| <= 31, FLs are in [-32, 32].
 */
#ifndef F8_KERNELS_H
#define F8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "f8.h"

/* Everything a kernel needs to run one op on one image. */
typedef struct {
    f8_value_desc in0;     /* first input (the only one except for ADD) */
    f8_value_desc in1;     /* ADD's second input */
    f8_value_desc out;
    uint32_t kernel_h, kernel_w, stride_h, stride_w;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    uint32_t groups;       /* CONV2D */
    uint32_t avg_shift;    /* AVGPOOL */
    int relu;
    const int8_t *weights; /* CONV2D: s8[Cout][kh][kw][Cin/G]; DENSE: s8[Cout][K] */
    const int32_t *bias;   /* s32[Cout] */
    const int8_t *fl_w;    /* i8[Cout] */
} f8_kernel_args;

/* ---- requantization (requant_scalar.c), docs/FORMAT.md §1.1 ---------------------------- */

/* Clamps q to the range of dtype: u8 [0,255], s8 [-127,127], s32 [-(2^31-1), 2^31-1]. */
int64_t f8_clamp(int64_t q, f8_dtype dtype);

/* requant(v, n, dtype): n > 0 divides by 2^n rounding half to even (floor division, then
 * round up when the remainder is over half, or exactly half and the quotient odd); n <= 0
 * shifts left by -n in 64 bits (wrapping modulo 2^64, as the trainer's simulator does);
 * then clamps. Defined for -62 <= n <= 62. */
int64_t f8_requant(int64_t v, int n, f8_dtype dtype);

/* The epilogue of every op (docs/FORMAT.md §3): optional ReLU, then requant. */
static inline int64_t f8_epilogue(int64_t v, int relu, int n, f8_dtype dtype)
{
    if (relu && v < 0)
        v = 0;
    return f8_requant(v, n, dtype);
}

/* Wraps an exactly computed sum to 32-bit two's complement (docs/FORMAT.md §1.2). */
static inline int32_t f8_wrap32(int64_t v)
{
    uint32_t u = (uint32_t)(uint64_t)v;
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static inline size_t f8_dtype_size(f8_dtype dtype)
{
    return dtype == F8_DTYPE_S32 ? 4 : 1;
}

static inline size_t f8_value_elems(const f8_value_desc *v)
{
    return (size_t)v->h * v->w * v->c;
}

/* Element i of a tensor of the given dtype. */
static inline int32_t f8_load(const void *p, f8_dtype dtype, size_t i)
{
    switch (dtype) {
    case F8_DTYPE_U8: return ((const uint8_t *)p)[i];
    case F8_DTYPE_S8: return ((const int8_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

/* Stores q (already clamped to dtype's range) as element i. */
static inline void f8_store(void *p, f8_dtype dtype, size_t i, int64_t q)
{
    switch (dtype) {
    case F8_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)q; break;
    case F8_DTYPE_S8: ((int8_t *)p)[i] = (int8_t)q; break;
    default: ((int32_t *)p)[i] = (int32_t)q; break;
    }
}

/* ---- scalar reference kernels, one file each ----------------------------------------- */

void f8_conv2d_scalar(const f8_kernel_args *a, const void *x, void *y);
void f8_dense_scalar(const f8_kernel_args *a, const void *x, void *y);
void f8_add_scalar(const f8_kernel_args *a, const void *x0, const void *x1, void *y);
void f8_maxpool_scalar(const f8_kernel_args *a, const void *x, void *y);
void f8_avgpool_scalar(const f8_kernel_args *a, const void *x, void *y);

#endif /* F8_KERNELS_H */
