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

/* v[oy][ox][o] of FORMAT.md §3, wrapped to 32 bits (§1.2). */
static int32_t conv_sum(const f8_kernel_args *a, const void *x, uint32_t oy, uint32_t ox,
                        uint32_t o)
{
    const uint32_t H = a->in0.h, W = a->in0.w, Cin = a->in0.c;
    const uint32_t kh = a->kernel_h, kw = a->kernel_w;
    const uint32_t cin_g = Cin / a->groups, cout_g = a->out.c / a->groups;
    const int u8_in = a->in0.dtype == F8_DTYPE_U8;
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
                    acc += f8_load(x, a->in0.dtype, xi + i) * f8_weight(a, j_o + j_k + i);
            else
                acc += u8_in ? dot_u8((const uint8_t *)x + xi, w_o + j_k, cin_g)
                             : dot_s8((const int8_t *)x + xi, w_o + j_k, cin_g);
        }
    }
    return f8_wrap32(acc);
}

/* The convolution's own epilogue: its output value (the value c of a fused ADD). */
static int64_t conv_out(const f8_kernel_args *a, const void *x, uint32_t oy, uint32_t ox,
                        uint32_t o)
{
    const int n = a->fl_w[o] + a->in0.fl - a->out.fl;
    return f8_epilogue(conv_sum(a, x, oy, ox, o), a->relu, n, a->out.dtype);
}

void f8_conv2d_scalar(const f8_kernel_args *a, const void *x, void *y)
{
    const uint32_t Wo = a->out.w, Cout = a->out.c;
    for (uint32_t oy = 0; oy < a->out.h; oy++)
        for (uint32_t ox = 0; ox < Wo; ox++)
            for (uint32_t o = 0; o < Cout; o++)
                f8_store(y, a->out.dtype, ((size_t)oy * Wo + ox) * Cout + o, conv_out(a, x, oy, ox, o));
}

/* The fused ADD (kernels.h, f8_add_epi): c as the convolution stores it, then FORMAT.md's
 * ADD of c and x1, as f8_add_scalar computes it. */
void f8_conv2d_add_scalar(const f8_kernel_args *a, const f8_add_epi *e, const void *x,
                          const void *x1, void *y)
{
    const uint32_t Wo = a->out.w, Cout = a->out.c;
    for (uint32_t oy = 0; oy < a->out.h; oy++)
        for (uint32_t ox = 0; ox < Wo; ox++)
            for (uint32_t o = 0; o < Cout; o++) {
                const size_t i = ((size_t)oy * Wo + ox) * Cout + o;
                const int64_t v = conv_out(a, x, oy, ox, o) * ((int64_t)1 << e->sc) +
                                  (int64_t)f8_load(x1, e->x1.dtype, i) * ((int64_t)1 << e->s1);
                f8_store(y, e->out.dtype, i, f8_epilogue(v, e->relu, e->n, e->out.dtype));
            }
}
