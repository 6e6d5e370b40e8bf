/*
 * AVGPOOL, scalar reference (docs/FORMAT.md §3): no padding; v = the SUM over the
 * kernel_h × kernel_w window, F_int = FL_in + avg_shift (the division is the requant shift).
 * The sum of at most 2^31 s32 terms fits in int64.
 */
#include "kernels.h"

void f8_avgpool_scalar(const f8_kernel_args *a, const void *x, void *y)
{
    const uint32_t W = a->in0.w, C = a->in0.c;
    const uint32_t Ho = a->out.h, Wo = a->out.w;
    const int n = a->in0.fl + (int)a->avg_shift - a->out.fl;

    for (uint32_t oy = 0; oy < Ho; oy++) {
        for (uint32_t ox = 0; ox < Wo; ox++) {
            for (uint32_t c = 0; c < C; c++) {
                int64_t v = 0;
                for (uint32_t ky = 0; ky < a->kernel_h; ky++) {
                    const size_t iy = (size_t)oy * a->stride_h + ky;
                    for (uint32_t kx = 0; kx < a->kernel_w; kx++) {
                        const size_t ix = (size_t)ox * a->stride_w + kx;
                        v += f8_load(x, a->in0.dtype, (iy * W + ix) * C + c);
                    }
                }
                const size_t yi = ((size_t)oy * Wo + ox) * C + c;
                f8_store(y, a->out.dtype, yi, f8_epilogue(v, a->relu, n, a->out.dtype));
            }
        }
    }
}
