/*
 * Depthwise CONV2D, AVX2: 8 channels per ymm, the same scheme as the AVX-512 kernel
 * (widen x to s32 lanes, vpmaddwd against (uint16_t)w lanes: one exact 8-bit product per
 * lane). Padding taps are skipped.
 */
#include "simd_avx2.h"

void f8_dwconv2d_nhwc_8c_avx2(const f8_conv_geom *g, const void *xv, void *y, uint32_t row0,
                              uint32_t row1)
{
    const uint8_t *x = xv;
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W, kh = g->kh, kw = g->kw, taps = kh * kw;
    const f8_dtype in = g->in_s8 ? F8_DTYPE_S8 : F8_DTYPE_U8;
    for (uint32_t oy = row0; oy < row1; oy++) {
        const int64_t iy0 = (int64_t)oy * g->sh - g->pt;
        for (uint32_t ch = 0; ch < C; ch += 8) {
            const uint32_t n = C - ch < 8 ? C - ch : 8;
            const f8_epi_ymm e = f8_epi_ymm_load(&pk->ep, ch, g->relu);
            const __m256i bias = _mm256_loadu_si256((const __m256i *)(pk->bias + ch));
            const int32_t *wb = pk->wdw + (size_t)(ch / 16) * taps * 16 + ch % 16;
            for (uint32_t ox = 0; ox < g->Wo; ox++) {
                __m256i acc = bias;
                for (uint32_t ky = 0; ky < kh; ky++) {
                    const int64_t iy = iy0 + ky;
                    if (iy < 0 || iy >= (int64_t)g->H)
                        continue;
                    for (uint32_t kx = 0; kx < kw; kx++) {
                        const int64_t ix = (int64_t)ox * g->sw - g->pl + kx;
                        if (ix < 0 || ix >= (int64_t)W)
                            continue;
                        const __m256i w =
                            _mm256_loadu_si256((const __m256i *)(wb + (size_t)(ky * kw + kx) * 16));
                        const __m256i xv8 = f8_load8(x, in, ((size_t)iy * W + (size_t)ix) * C + ch, n);
                        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv8, w));
                    }
                }
                f8_store8(y, g->out_dtype, ((size_t)oy * g->Wo + ox) * C + ch,
                          f8_epi_ymm_apply(&e, acc), n);
            }
        }
    }
}
