/*
 * CONV2D, scalar reference (docs/FORMAT.md §3):
 *
 *   v[y][x][o] = bias[o] + Σ_{ky,kx,i} in(y·stride_h + ky − pad_top, x·stride_w + kx − pad_left,
 *                                         g·(Cin/G) + i) · w[o][ky][kx][i]
 *   F_int[o]   = FL_w[o] + FL_x,  g = o / (Cout/G),  in(·) = 0 outside the image.
 *
 * The accumulator is s32 with wrap-around (§1.2): the exact sum is formed in int64 (it cannot
 * overflow 64 bits for any valid file) and wrapped to 32 bits once at the end, which equals
 * 32-bit wrapping accumulation term by term.
 */
#include "kernels.h"

/* Σ x[i]·w[i] for u8 and s8 activations. */
static int64_t dot_u8(const uint8_t *x, const int8_t *w, uint32_t n)
{
    int64_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += (int32_t)x[i] * w[i];
    return s;
}

static int64_t dot_s8(const int8_t *x, const int8_t *w, uint32_t n)
{
    int64_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += (int32_t)x[i] * w[i];
    return s;
}

void f8_conv2d_scalar(const f8_kernel_args *a, const void *x, void *y)
{
    const uint32_t H = a->in0.h, W = a->in0.w, Cin = a->in0.c;
    const uint32_t Ho = a->out.h, Wo = a->out.w, Cout = a->out.c;
    const uint32_t kh = a->kernel_h, kw = a->kernel_w;
    const uint32_t cin_g = Cin / a->groups, cout_g = Cout / a->groups;
    const int u8_in = a->in0.dtype == F8_DTYPE_U8;

    for (uint32_t oy = 0; oy < Ho; oy++) {
        for (uint32_t ox = 0; ox < Wo; ox++) {
            for (uint32_t o = 0; o < Cout; o++) {
                const uint32_t g = o / cout_g;
                const size_t j_o = (size_t)o * kh * kw * cin_g; /* flat index of w[o][0][0][0] */
                const int8_t *w_o = a->weights ? a->weights + j_o : NULL;
                int64_t acc = a->bias[o];
                for (uint32_t ky = 0; ky < kh; ky++) {
                    const int64_t iy = (int64_t)oy * a->stride_h + ky - a->pad_top;
                    if (iy < 0 || iy >= (int64_t)H)
                        continue; /* padding row: contributes 0 */
                    for (uint32_t kx = 0; kx < kw; kx++) {
                        const int64_t ix = (int64_t)ox * a->stride_w + kx - a->pad_left;
                        if (ix < 0 || ix >= (int64_t)W)
                            continue;
                        const size_t xi = ((size_t)iy * W + (size_t)ix) * Cin + (size_t)g * cin_g;
                        const size_t j_k = ((size_t)ky * kw + kx) * cin_g;
                        if (!w_o) /* ternary: each weight decoded (f8_weight) */
                            for (uint32_t i = 0; i < cin_g; i++)
                                acc += f8_load(x, a->in0.dtype, xi + i) *
                                       f8_weight(a, j_o + j_k + i);
                        else
                            acc += u8_in ? dot_u8((const uint8_t *)x + xi, w_o + j_k, cin_g)
                                         : dot_s8((const int8_t *)x + xi, w_o + j_k, cin_g);
                    }
                }
                const int n = a->fl_w[o] + a->in0.fl - a->out.fl;
                const size_t yi = ((size_t)oy * Wo + ox) * Cout + o;
                f8_store(y, a->out.dtype, yi, f8_epilogue(f8_wrap32(acc), a->relu, n, a->out.dtype));
            }
        }
    }
}
