/*
 * CONV2D (groups 1) and DENSE, AVX-512 VNNI: a register tile of 6 output pixels × 64 output
 * channels (24 zmm accumulators), reduced 4 input bytes at a time by vpdpbusd (u8 × s8 → s32,
 * wrapping like docs/FORMAT.md §1.2), one kernel row (kw·Cin contiguous bytes, see
 * conv_segments.h) after the other.
 *
 * Weights: pack.c's [block of 16 outputs][ky][seg4/4][16][4]. Activations: NHWC as the model
 * stores them; s8 inputs are flipped to u8 (x ^ 0x80 = x + 128) on load and the bias carries
 * −128·Σw. A tile narrower than 6 pixels repeats its last pixel and stores only the real
 * ones. A segment length not a multiple of 4 ends with a tail step read byte by byte (never
 * past the tensor).
 */
#include "conv_segments.h"
#include "simd_avx512.h"

#define MR 6

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
    const uint32_t seg = g->kw * g->Cin, seg4 = pk->seg4, smain = seg & ~3u, stail = seg & 3u;
    const size_t blk_stride = (size_t)g->kh * seg4 * 16;
    const int8_t *wb = pk->w + (size_t)b0 * blk_stride;
    const __m512i flip = _mm512_set1_epi8(g->in_s8 ? (char)0x80 : 0);
    uint8_t scratch[MR][F8_SEG_MAX];

    __m512i acc[MR][4];
#pragma GCC unroll 4
    for (int j = 0; j < nb; j++) {
        const __m512i b = _mm512_load_si512(pk->bias + (size_t)(b0 + j) * 16);
#pragma GCC unroll 8
        for (int m = 0; m < MR; m++)
            acc[m][j] = b;
    }
    int64_t ix0[MR];
    for (int m = 0; m < MR; m++)
        ix0[m] = (int64_t)(ox0 + ((uint32_t)m < mr ? (uint32_t)m : mr - 1)) * g->sw - g->pl;
    const int64_t iy0 = (int64_t)oy * g->sh - g->pt;

    for (uint32_t ky = 0; ky < g->kh; ky++) {
        const uint8_t *p[MR];
#pragma GCC unroll 8
        for (int m = 0; m < MR; m++)
            p[m] = f8_segment(g, x, iy0 + ky, ix0[m], scratch[m]);
        const int8_t *wt = wb + (size_t)ky * seg4 * 16;
        for (uint32_t c = 0; c < smain; c += 4) {
            __m512i w[4];
#pragma GCC unroll 4
            for (int j = 0; j < nb; j++)
                w[j] = _mm512_load_si512(wt + (size_t)j * blk_stride + (size_t)c * 16);
#pragma GCC unroll 8
            for (int m = 0; m < MR; m++) {
                int32_t v;
                memcpy(&v, p[m] + c, 4);
                const __m512i b = _mm512_xor_si512(_mm512_set1_epi32(v), flip);
#pragma GCC unroll 4
                for (int j = 0; j < nb; j++)
                    acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], b, w[j]);
            }
        }
        if (stail) {
            __m512i w[4];
#pragma GCC unroll 4
            for (int j = 0; j < nb; j++)
                w[j] = _mm512_load_si512(wt + (size_t)j * blk_stride + (size_t)smain * 16);
#pragma GCC unroll 8
            for (int m = 0; m < MR; m++) {
                const __m512i b = bcast_tail(p[m] + smain, stail, flip);
#pragma GCC unroll 4
                for (int j = 0; j < nb; j++)
                    acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], b, w[j]);
            }
        }
    }

#pragma GCC unroll 4
    for (int j = 0; j < nb; j++) {
        const uint32_t ch = (b0 + (uint32_t)j) * 16;
        const f8_epi_zmm e = f8_epi_zmm_load(&pk->ep, ch, g->relu);
        const __mmask16 k = f8_mask16(g->Cout - ch);
#pragma GCC unroll 8
        for (int m = 0; m < MR; m++) {
            if ((uint32_t)m < mr) {
                const size_t yi = ((size_t)oy * g->Wo + ox0 + (uint32_t)m) * g->Cout + ch;
                f8_store16(y, g->out_dtype, yi, f8_epi_zmm_apply(&e, acc[m][j]), k);
            }
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
