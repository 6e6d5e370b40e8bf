/*
 * Depthwise CONV2D (groups = Cin = Cout), AVX-512: 16 channels per zmm, 4 output pixels at
 * a time. Each tap widens 16 input bytes to s32 lanes (zero- or sign-extended) and multiplies
 * them with vpmaddwd against lanes that hold the s8 weight in their low 16 bits and 0 above
 * (pack.c), so each lane gets exactly x·w (an 8-bit × 8-bit product; the upper halves
 * contribute 0). Sums wrap in 32 bits like the reference. Padding taps are skipped.
 */
#include "simd_avx512.h"

#define MR 4

F8_INLINE __m512i load_x(const uint8_t *p, int s8, __mmask16 k)
{
    const __m128i v = _mm_maskz_loadu_epi8(k, p);
    return s8 ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

void f8_dwconv2d_nhwc_16c_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                     uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W, kh = g->kh, kw = g->kw, taps = kh * kw;
    const int s8 = g->in_s8;
    for (uint32_t oy = row0; oy < row1; oy++) {
        const int64_t iy0 = (int64_t)oy * g->sh - g->pt;
        for (uint32_t blk = 0; blk < pk->nblk; blk++) {
            const uint32_t ch = blk * 16;
            const __mmask16 k = f8_mask16(C - ch);
            const f8_epi_zmm e = f8_epi_zmm_load(&pk->ep, ch, g->relu);
            const __m512i bias = _mm512_load_si512(pk->bias + ch);
            const int32_t *wb = pk->wdw + (size_t)blk * taps * 16;
            for (uint32_t ox0 = 0; ox0 < g->Wo; ox0 += MR) {
                const uint32_t mr = g->Wo - ox0 < MR ? g->Wo - ox0 : MR;
                __m512i acc[MR];
                for (int m = 0; m < MR; m++)
                    acc[m] = bias;
                for (uint32_t ky = 0; ky < kh; ky++) {
                    const int64_t iy = iy0 + ky;
                    if (iy < 0 || iy >= (int64_t)g->H)
                        continue;
                    const uint8_t *row = x + (size_t)iy * W * C + ch;
                    for (uint32_t kx = 0; kx < kw; kx++) {
                        const __m512i w = _mm512_load_si512(wb + (size_t)(ky * kw + kx) * 16);
                        for (int m = 0; m < MR; m++) {
                            if ((uint32_t)m >= mr)
                                break;
                            const int64_t ix = (int64_t)(ox0 + (uint32_t)m) * g->sw - g->pl + kx;
                            if (ix < 0 || ix >= (int64_t)W)
                                continue;
                            acc[m] = _mm512_add_epi32(
                                acc[m], _mm512_madd_epi16(load_x(row + (size_t)ix * C, s8, k), w));
                        }
                    }
                }
                for (int m = 0; m < MR; m++) {
                    if ((uint32_t)m >= mr)
                        break;
                    const size_t yi = ((size_t)oy * g->Wo + ox0 + (uint32_t)m) * C + ch;
                    f8_store16(y, g->out_dtype, yi, f8_epi_zmm_apply(&e, acc[m]), k);
                }
            }
        }
    }
}
