/*
 * CONV2D (groups 1) and DENSE, AVX-512 VNNI: a register tile of 6 output pixels × 64 output
 * channels (24 zmm accumulators), reduced 4 input channels at a time by vpdpbusd
 * (u8 × s8 → s32, wrapping like docs/FORMAT.md §1.2).
 *
 * Weights: pack.c's [block of 16 outputs][tap][cin4/4][16][4]. Activations: NHWC as the
 * model stores them; s8 inputs are flipped to u8 (x ^ 0x80 = x + 128) on load and the bias
 * carries −128·Σw. Padding taps read the model's zero pixel (which the flip turns into 128,
 * i.e. the real 0, so the correction holds at the borders too). A tile narrower than 6
 * pixels repeats its last pixel and stores only the real ones. Input channels not a
 * multiple of 4 end with a tail step read byte by byte (never past the tensor).
 */
#include <string.h>

#include "simd_avx512.h"

#define MR 6

F8_INLINE __m512i bcast4(const uint8_t *p, __m512i flip)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_xor_si512(_mm512_set1_epi32(v), flip);
}

F8_INLINE __m512i bcast_tail(const uint8_t *p, uint32_t n, __m512i flip)
{
    int32_t v = 0;
    memcpy(&v, p, n);
    return _mm512_xor_si512(_mm512_set1_epi32(v), flip);
}

F8_INLINE void conv_tile(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                         uint32_t ox0, uint32_t mr, uint32_t b0, const int nb)
{
    const f8_packed *pk = g->pk;
    const uint32_t Cin = g->Cin, W = g->W, kw = g->kw;
    const uint32_t cin4 = pk->cin4, cmain = Cin & ~3u, ctail = Cin & 3u;
    const size_t blk_stride = (size_t)g->kh * kw * cin4 * 16;
    const int8_t *wb = pk->w + (size_t)b0 * blk_stride;
    const __m512i flip = _mm512_set1_epi8(g->in_s8 ? (char)0x80 : 0);

    __m512i acc[MR][4];
    for (int j = 0; j < nb; j++) {
        const __m512i b = _mm512_load_si512(pk->bias + (size_t)(b0 + j) * 16);
        for (int m = 0; m < MR; m++)
            acc[m][j] = b;
    }

    const int64_t iy0 = (int64_t)oy * g->sh - g->pt;
    int64_t ixm[MR];
    for (int m = 0; m < MR; m++)
        ixm[m] = (int64_t)(ox0 + ((uint32_t)m < mr ? (uint32_t)m : mr - 1)) * g->sw - g->pl;
    const int interior = iy0 >= 0 && iy0 + g->kh <= g->H && ixm[0] >= 0 &&
                         ixm[MR - 1] + kw <= W;

    for (uint32_t ky = 0; ky < g->kh; ky++) {
        const int64_t iy = iy0 + ky;
        const int row_ok = iy >= 0 && iy < (int64_t)g->H;
        for (uint32_t kx = 0; kx < kw; kx++) {
            const uint8_t *p[MR];
            for (int m = 0; m < MR; m++) {
                const int64_t ix = ixm[m] + kx;
                p[m] = interior || (row_ok && ix >= 0 && ix < (int64_t)W)
                           ? x + ((size_t)iy * W + (size_t)ix) * Cin
                           : g->zero;
            }
            const int8_t *wt = wb + (size_t)(ky * kw + kx) * cin4 * 16;
            uint32_t c = 0;
            for (; c < cmain; c += 4) {
                __m512i w[4];
                for (int j = 0; j < nb; j++)
                    w[j] = _mm512_load_si512(wt + (size_t)j * blk_stride + (size_t)c * 16);
                for (int m = 0; m < MR; m++) {
                    const __m512i b = bcast4(p[m] + c, flip);
                    for (int j = 0; j < nb; j++)
                        acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], b, w[j]);
                }
            }
            if (ctail) {
                __m512i w[4];
                for (int j = 0; j < nb; j++)
                    w[j] = _mm512_load_si512(wt + (size_t)j * blk_stride + (size_t)c * 16);
                for (int m = 0; m < MR; m++) {
                    const __m512i b = bcast_tail(p[m] + c, ctail, flip);
                    for (int j = 0; j < nb; j++)
                        acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], b, w[j]);
                }
            }
        }
    }

    for (int j = 0; j < nb; j++) {
        const uint32_t ch = (b0 + (uint32_t)j) * 16;
        const f8_epi_zmm e = f8_epi_zmm_load(&pk->ep, ch, g->relu);
        const __mmask16 k = f8_mask16(g->Cout - ch);
        for (int m = 0; m < MR; m++) {
            if ((uint32_t)m >= mr)
                break;
            const size_t yi = ((size_t)oy * g->Wo + ox0 + (uint32_t)m) * g->Cout + ch;
            f8_store16(y, g->out_dtype, yi, f8_epi_zmm_apply(&e, acc[m][j]), k);
        }
    }
}

void f8_conv2d_nhwc_6x64c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                      uint32_t row0, uint32_t row1)
{
    const uint32_t nblk = g->pk->nblk;
    for (uint32_t oy = row0; oy < row1; oy++)
        for (uint32_t b0 = 0; b0 < nblk; b0 += 4) {
            const uint32_t nb = nblk - b0 < 4 ? nblk - b0 : 4;
            for (uint32_t ox = 0; ox < g->Wo; ox += MR) {
                const uint32_t mr = g->Wo - ox < MR ? g->Wo - ox : MR;
                switch (nb) {
                case 4: conv_tile(g, x, y, oy, ox, mr, b0, 4); break;
                case 3: conv_tile(g, x, y, oy, ox, mr, b0, 3); break;
                case 2: conv_tile(g, x, y, oy, ox, mr, b0, 2); break;
                default: conv_tile(g, x, y, oy, ox, mr, b0, 1); break;
                }
            }
        }
}
