/*
 * DENSE, scalar reference (docs/FORMAT.md §3): the input (any H×W×Cin, u8 or s8) is read as a
 * vector of K = H·W·Cin in NHWC order;
 *
 *   v[o] = bias[o] + Σ_k x[k]·w[o][k],   F_int[o] = FL_w[o] + FL_x.
 *
 * Same s32 wrap-around accumulator as CONV2D.
 */
#include "kernels.h"

void f8_dense_scalar(const f8_kernel_args *a, const void *x, void *y)
{
    const size_t K = f8_value_elems(&a->in0);
    const uint32_t Cout = a->out.c;

    for (uint32_t o = 0; o < Cout; o++) {
        const int8_t *w_o = a->weights ? a->weights + (size_t)o * K : NULL;
        int64_t acc = a->bias[o];
        if (!w_o) { /* ternary: each weight decoded (f8_weight) */
            for (size_t k = 0; k < K; k++)
                acc += f8_load(x, a->in0.dtype, k) * f8_weight(a, (size_t)o * K + k);
        } else if (a->in0.dtype == F8_DTYPE_U8) {
            const uint8_t *xu = x;
            for (size_t k = 0; k < K; k++)
                acc += (int32_t)xu[k] * w_o[k];
        } else {
            const int8_t *xs = x;
            for (size_t k = 0; k < K; k++)
                acc += (int32_t)xs[k] * w_o[k];
        }
        const int n = a->fl_w[o] + a->in0.fl - a->out.fl;
        f8_store(y, a->out.dtype, o, f8_epilogue(f8_wrap32(acc), a->relu, n, a->out.dtype));
    }
}
