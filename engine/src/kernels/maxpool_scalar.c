/*
 * MAXPOOL, scalar reference (docs/FORMAT.md §3): v = the maximum over the window positions
 * that fall inside the image (padding positions are skipped, never compared);
 * F_int = FL_in. Channels are pooled independently.
 *
 * The loader guarantees every window holds at least one image position (each pad is smaller
 * than the kernel on its axis).
 */
#include "kernels.h"

void f8_maxpool_scalar(const f8_kernel_args *a, const void *x, void *y)
{
    const uint32_t H = a->in0.h, W = a->in0.w, C = a->in0.c;
    const uint32_t Ho = a->out.h, Wo = a->out.w;
    const int n = a->in0.fl - a->out.fl;

    for (uint32_t oy = 0; oy < Ho; oy++) {
        for (uint32_t ox = 0; ox < Wo; ox++) {
            for (uint32_t c = 0; c < C; c++) {
                int64_t v = 0;
                int seen = 0;
                for (uint32_t ky = 0; ky < a->kernel_h; ky++) {
                    const int64_t iy = (int64_t)oy * a->stride_h + ky - a->pad_top;
                    if (iy < 0 || iy >= (int64_t)H)
                        continue;
                    for (uint32_t kx = 0; kx < a->kernel_w; kx++) {
                        const int64_t ix = (int64_t)ox * a->stride_w + kx - a->pad_left;
                        if (ix < 0 || ix >= (int64_t)W)
                            continue;
                        const int64_t e =
                            f8_load(x, a->in0.dtype, ((size_t)iy * W + (size_t)ix) * C + c);
                        if (!seen || e > v)
                            v = e;
                        seen = 1;
                    }
                }
                const size_t yi = ((size_t)oy * Wo + ox) * C + c;
                f8_store(y, a->out.dtype, yi, f8_epilogue(v, a->relu, n, a->out.dtype));
            }
        }
    }
}
