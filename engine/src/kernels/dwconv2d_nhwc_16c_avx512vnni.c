/*
 * Depthwise CONV2D (groups = Cin = Cout), AVX-512 VNNI: 16 channels per zmm, tiles of 4
 * output pixels. Each tap widens 16 input bytes to s32 lanes (zero- or sign-extended) and
 * vpdpwssd multiplies them with lanes that hold the s8 weight in their low 16 bits and 0
 * above (pack.c), accumulating in place: each lane gets exactly x·w (an 8-bit × 8-bit
 * product; the upper halves contribute 0·0), wrapping in 32 bits like the reference.
 *
 * Taps in the top/bottom padding are skipped per row; a tile whose windows lie inside the
 * image horizontally runs without per-tap checks, others skip padding taps one by one.
 * A tile narrower than 4 pixels repeats its last pixel and stores only the real ones.
 */
#include "simd_avx512.h"

#define MR 4

F8_INLINE __m512i load_x(const uint8_t *p, int s8, __mmask16 k, int full)
{
    const __m128i v = full ? _mm_loadu_si128((const __m128i *)p) : _mm_maskz_loadu_epi8(k, p);
    return s8 ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

F8_INLINE void dw_tile(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                       uint32_t ox0, uint32_t mr, uint32_t blk, const int s8, const int full)
{
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W, kh = g->kh, kw = g->kw;
    const uint32_t ch = blk * 16;
    const __mmask16 k = f8_mask16(C - ch);
    const int32_t *wb = pk->wdw + (size_t)blk * kh * kw * 16;
    int64_t ix0[MR];
    for (int m = 0; m < MR; m++)
        ix0[m] = (int64_t)(ox0 + ((uint32_t)m < mr ? (uint32_t)m : mr - 1)) * g->sw - g->pl;
    const int inside = ix0[0] >= 0 && ix0[MR - 1] + kw <= W;
    const int64_t iy0 = (int64_t)oy * g->sh - g->pt;

    __m512i acc[MR];
    const __m512i bias = _mm512_load_si512(pk->bias + ch);
    for (int m = 0; m < MR; m++)
        acc[m] = bias;
    for (uint32_t ky = 0; ky < kh; ky++) {
        const int64_t iy = iy0 + ky;
        if (iy < 0 || iy >= (int64_t)g->H)
            continue;
        const uint8_t *row = x + (size_t)iy * W * C + ch;
        const int32_t *wr = wb + (size_t)ky * kw * 16;
        if (inside) {
            for (uint32_t kx = 0; kx < kw; kx++) {
                const __m512i w = _mm512_load_si512(wr + (size_t)kx * 16);
#pragma GCC unroll 4
                for (int m = 0; m < MR; m++)
                    acc[m] = _mm512_dpwssd_epi32(
                        acc[m], load_x(row + (size_t)(ix0[m] + kx) * C, s8, k, full), w);
            }
        } else {
            for (uint32_t kx = 0; kx < kw; kx++) {
                const __m512i w = _mm512_load_si512(wr + (size_t)kx * 16);
#pragma GCC unroll 4
                for (int m = 0; m < MR; m++) {
                    const int64_t ix = ix0[m] + kx;
                    if (ix >= 0 && ix < (int64_t)W)
                        acc[m] = _mm512_dpwssd_epi32(
                            acc[m], load_x(row + (size_t)ix * C, s8, k, full), w);
                }
            }
        }
    }
    const f8_epi_zmm e = f8_epi_zmm_load(&pk->ep, ch, g->relu);
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
        if ((uint32_t)m < mr)
            f8_store16(y, g->out_dtype, ((size_t)oy * g->Wo + ox0 + (uint32_t)m) * C + ch,
                       f8_epi_zmm_apply(&e, acc[m]), k);
}

/* 3×3 kernels, output pixels [ox_lo, ox_hi) whose windows lie inside the image horizontally:
 * the 9 weights, bias and epilogue constants of the block stay in registers while the pixels
 * stream by; kernel rows in the top/bottom padding get zero weights (and read a valid row). */
F8_INLINE void dw3x3_row(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                         uint32_t ox_lo, uint32_t ox_hi, uint32_t blk, const int s8,
                         const int full)
{
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W;
    const uint32_t ch = blk * 16;
    const __mmask16 k = f8_mask16(C - ch);
    const int32_t *wb = pk->wdw + (size_t)blk * 9 * 16;
    const int64_t iy0 = (int64_t)oy * g->sh - g->pt;
    __m512i w[9];
    const uint8_t *row[3];
    for (int ky = 0; ky < 3; ky++) {
        const int64_t iy = iy0 + ky;
        const int ok = iy >= 0 && iy < (int64_t)g->H;
        const int64_t use = ok ? iy : (iy0 + 1 >= 0 && iy0 + 1 < (int64_t)g->H ? iy0 + 1 : iy0 + 2 < (int64_t)g->H && iy0 + 2 >= 0 ? iy0 + 2 : 0);
        row[ky] = x + (size_t)use * W * C + ch;
        for (int kx = 0; kx < 3; kx++)
            w[ky * 3 + kx] = ok ? _mm512_load_si512(wb + (ky * 3 + kx) * 16) : _mm512_setzero_si512();
    }
    const __m512i bias = _mm512_load_si512(pk->bias + ch);
    const f8_epi_zmm e = f8_epi_zmm_load(&pk->ep, ch, g->relu);
    const size_t sC = (size_t)g->sw * C;
    size_t off = ((size_t)ox_lo * g->sw - g->pl) * C;
    if (ox_lo >= ox_hi)
        return;
    if (g->sw <= 2) {
        /* sliding window: each input pixel is widened once per kernel row (stride 1), or
         * the shared column of neighbouring windows is kept (stride 2) */
        __m512i c0[3], c1[3];
        for (int ky = 0; ky < 3; ky++) {
            c0[ky] = load_x(row[ky] + off, s8, k, full);
            c1[ky] = g->sw == 1 ? load_x(row[ky] + off + C, s8, k, full) : _mm512_setzero_si512();
        }
        for (uint32_t ox = ox_lo; ox < ox_hi; ox++, off += sC) {
            __m512i a0 = bias, a1 = _mm512_setzero_si512();
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++) {
                const uint8_t *p = row[ky] + off;
                if (g->sw == 2)
                    c1[ky] = load_x(p + C, s8, k, full);
                const __m512i c2 = load_x(p + 2 * C, s8, k, full);
                a0 = _mm512_dpwssd_epi32(a0, c0[ky], w[ky * 3]);
                a1 = _mm512_dpwssd_epi32(a1, c1[ky], w[ky * 3 + 1]);
                a0 = _mm512_dpwssd_epi32(a0, c2, w[ky * 3 + 2]);
                if (g->sw == 1) {
                    c0[ky] = c1[ky];
                    c1[ky] = c2;
                } else {
                    c0[ky] = c2;
                }
            }
            f8_store16(y, g->out_dtype, ((size_t)oy * g->Wo + ox) * C + ch,
                       f8_epi_zmm_apply(&e, _mm512_add_epi32(a0, a1)), k);
        }
        return;
    }
    for (uint32_t ox = ox_lo; ox < ox_hi; ox++, off += sC) {
        __m512i a0 = bias, a1 = _mm512_setzero_si512();
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            const uint8_t *p = row[ky] + off;
            a0 = _mm512_dpwssd_epi32(a0, load_x(p, s8, k, full), w[ky * 3]);
            a1 = _mm512_dpwssd_epi32(a1, load_x(p + C, s8, k, full), w[ky * 3 + 1]);
            a0 = _mm512_dpwssd_epi32(a0, load_x(p + 2 * C, s8, k, full), w[ky * 3 + 2]);
        }
        f8_store16(y, g->out_dtype, ((size_t)oy * g->Wo + ox) * C + ch,
                   f8_epi_zmm_apply(&e, _mm512_add_epi32(a0, a1)), k);
    }
}

void f8_dwconv2d_nhwc_16c_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                     uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    const uint32_t nblk = g->pk->nblk, full_blocks = g->Cout / 16;
    const int s8 = g->in_s8;
    if (g->kh == 3 && g->kw == 3 && g->H >= 1) {
        /* interior pixels: ox·sw − pl >= 0 and ox·sw − pl + 3 <= W */
        uint32_t lo = (g->pl + g->sw - 1) / g->sw;
        uint32_t hi = g->W + g->pl >= 3 ? (g->W + g->pl - 3) / g->sw + 1 : 0;
        if (hi > g->Wo)
            hi = g->Wo;
        if (lo > hi)
            lo = hi;
        for (uint32_t oy = row0; oy < row1; oy++)
            for (uint32_t blk = 0; blk < nblk; blk++) {
                const int full = blk < full_blocks;
                for (uint32_t ox = 0; ox < lo; ox++)
                    s8 ? (full ? dw_tile(g, x, y, oy, ox, 1, blk, 1, 1) : dw_tile(g, x, y, oy, ox, 1, blk, 1, 0))
                       : (full ? dw_tile(g, x, y, oy, ox, 1, blk, 0, 1) : dw_tile(g, x, y, oy, ox, 1, blk, 0, 0));
                if (s8)
                    full ? dw3x3_row(g, x, y, oy, lo, hi, blk, 1, 1) : dw3x3_row(g, x, y, oy, lo, hi, blk, 1, 0);
                else
                    full ? dw3x3_row(g, x, y, oy, lo, hi, blk, 0, 1) : dw3x3_row(g, x, y, oy, lo, hi, blk, 0, 0);
                for (uint32_t ox = hi; ox < g->Wo; ox++)
                    s8 ? (full ? dw_tile(g, x, y, oy, ox, 1, blk, 1, 1) : dw_tile(g, x, y, oy, ox, 1, blk, 1, 0))
                       : (full ? dw_tile(g, x, y, oy, ox, 1, blk, 0, 1) : dw_tile(g, x, y, oy, ox, 1, blk, 0, 0));
            }
        return;
    }
    for (uint32_t oy = row0; oy < row1; oy++)
        for (uint32_t ox = 0; ox < g->Wo; ox += MR) {
            const uint32_t mr = g->Wo - ox < MR ? g->Wo - ox : MR;
            for (uint32_t blk = 0; blk < nblk; blk++) {
                const int full = blk < full_blocks;
                if (s8)
                    full ? dw_tile(g, x, y, oy, ox, mr, blk, 1, 1)
                         : dw_tile(g, x, y, oy, ox, mr, blk, 1, 0);
                else
                    full ? dw_tile(g, x, y, oy, ox, mr, blk, 0, 1)
                         : dw_tile(g, x, y, oy, ox, mr, blk, 0, 0);
            }
        }
}
