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
#include <assert.h>

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

/* Stride 1, u8 inputs, 3x3 (pk->wdw3): output rows oy and oy + 1 (if two) together. One
 * input column of 16 channels and 4 rows (iy0 .. iy0 + 3) is one vpdpbusd operand, lane i
 * holding the bytes (r0[i], r1[i], r2[i], r3[i]); row oy takes it with the weight bytes
 * (w0, w1, w2, 0) of a kernel column, row oy + 1 with (0, w0, w1, w2). Each column is built
 * once (4 loads, 4 vpshufb: row r's 16 bytes broadcast to the four 128-bit lanes, channel
 * 4L + j of lane L moved into byte r of dword j under a mask) and serves 3 output pixels of
 * both rows: 6 vpdpbusd per 2 outputs instead of 18 vpdpwssd on widened inputs. Weight bytes
 * of rows in the top/bottom padding are zeroed (those rows read a valid row instead); columns
 * in the left/right padding are zero vectors, so every pixel of the rows runs here. u8 × s8
 * products summed in 32 bits wrap like the reference. */
F8_INLINE __m512i dw_column4(const uint8_t *const row[4], size_t off, __mmask16 k, int full,
                             __m512i ctl)
{
    __m128i v[4];
    for (int r = 0; r < 4; r++)
        v[r] = full ? _mm_loadu_si128((const __m128i *)(row[r] + off))
                    : _mm_maskz_loadu_epi8(k, row[r] + off);
    __m512i c = _mm512_maskz_shuffle_epi8(0x1111111111111111ull, _mm512_broadcast_i32x4(v[0]), ctl);
    c = _mm512_mask_shuffle_epi8(c, 0x2222222222222222ull, _mm512_broadcast_i32x4(v[1]), ctl);
    c = _mm512_mask_shuffle_epi8(c, 0x4444444444444444ull, _mm512_broadcast_i32x4(v[2]), ctl);
    return _mm512_mask_shuffle_epi8(c, 0x8888888888888888ull, _mm512_broadcast_i32x4(v[3]), ctl);
}

F8_INLINE void dw3x3_rows2_u8(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                              int two, uint32_t ox_lo, uint32_t ox_hi, uint32_t blk,
                              const int full)
{
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W;
    const uint32_t ch = blk * 16;
    const __mmask16 k = f8_mask16(C - ch);
    if (ox_lo >= ox_hi)
        return;
    const uint8_t *row[4];
    const uint32_t in = f8_dw_rows(g, x, oy, ch, 4, row); /* bit r: row oy - pt + r inside */
    uint32_t keep_a = 0, keep_b = 0; /* byte masks of the weights of rows oy and oy + 1 */
    for (int r = 0; r < 3; r++) {
        keep_a |= (in >> r) & 1 ? 0xFFu << (8 * r) : 0;
        keep_b |= two && (in >> (r + 1)) & 1 ? 0xFFu << (8 * (r + 1)) : 0;
    }
    const __m512i ka = _mm512_set1_epi32((int32_t)keep_a), kb = _mm512_set1_epi32((int32_t)keep_b);
    const int8_t *wb = pk->wdw3 + (size_t)blk * 3 * 64;
    __m512i wa[3], wbv[3];
    for (int kx = 0; kx < 3; kx++) {
        const __m512i w = _mm512_load_si512(wb + kx * 64);
        wa[kx] = _mm512_and_si512(w, ka);
        wbv[kx] = _mm512_and_si512(_mm512_slli_epi32(w, 8), kb);
    }
    /* byte b of 128-bit lane L: channel 4L + b/4 */
    const __m512i ctl = _mm512_set_epi32(
        0x0f0f0f0f, 0x0e0e0e0e, 0x0d0d0d0d, 0x0c0c0c0c, 0x0b0b0b0b, 0x0a0a0a0a, 0x09090909,
        0x08080808, 0x07070707, 0x06060606, 0x05050505, 0x04040404, 0x03030303, 0x02020202,
        0x01010101, 0x00000000);
    const __m512i bias = _mm512_load_si512(pk->bias + ch);
    const f8_epi_zmm e = f8_epi_zmm_load(&pk->ep, ch, g->relu);
    /* columns left or right of the image are zero (padding) */
#define COLUMN(ix)                                                                             \
    ((ix) >= 0 && (ix) < (int64_t)W ? dw_column4(row, (size_t)(ix) * C, k, full, ctl)         \
                                    : _mm512_setzero_si512())
    int64_t ix = (int64_t)ox_lo - g->pl;
    __m512i c0 = COLUMN(ix);
    __m512i c1 = COLUMN(ix + 1);
    size_t yi = ((size_t)oy * g->Wo + ox_lo) * C + ch;
    const size_t next_row = (size_t)g->Wo * C;
    for (uint32_t ox = ox_lo; ox < ox_hi; ox++, ix++, yi += C) {
        const __m512i c2 = COLUMN(ix + 2);
#undef COLUMN
        __m512i a = _mm512_dpbusd_epi32(bias, c0, wa[0]);
        a = _mm512_dpbusd_epi32(a, c1, wa[1]);
        a = _mm512_dpbusd_epi32(a, c2, wa[2]);
        f8_store16(y, g->out_dtype, yi, f8_epi_zmm_apply(&e, a), k);
        if (two) {
            __m512i b = _mm512_dpbusd_epi32(bias, c0, wbv[0]);
            b = _mm512_dpbusd_epi32(b, c1, wbv[1]);
            b = _mm512_dpbusd_epi32(b, c2, wbv[2]);
            f8_store16(y, g->out_dtype, yi + next_row, f8_epi_zmm_apply(&e, b), k);
        }
        c0 = c1;
        c1 = c2;
    }
}

/* ---- the op-level kernels (conv_fn), chosen by plan.c ---------------------------- */

/* 3x3, stride 1, u8 input, pk->wdw3: two output rows at a time, vpdpbusd on 4-row columns. */
void f8_dwconv2d_nhwc_3x3s1_2x16c4_u8_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                                  uint32_t row0, uint32_t row1)
{
    f8_dwconv2d_3x3s1_2x16c4_u8_blocks_avx512vnni(g, xv, y, row0, row1, 0);
}

/* ... its blocks of 16 channels from blk0 on (the 64c4 kernel's last 16 channels) */
void f8_dwconv2d_3x3s1_2x16c4_u8_blocks_avx512vnni(const f8_conv_geom *g, const void *xv,
                                                   void *y, uint32_t row0, uint32_t row1,
                                                   uint32_t blk0)
{
    const uint8_t *x = xv;
    const uint32_t nblk = g->pk->nblk, full_blocks = g->Cout / 16;
    assert(!g->in_s8 && g->pk->wdw3 && g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1);
    for (uint32_t oy = row0; oy < row1; oy += 2) {
        const int two = oy + 1 < row1;
        for (uint32_t blk = blk0; blk < nblk; blk++)
            blk < full_blocks ? dw3x3_rows2_u8(g, x, y, oy, two, 0, g->Wo, blk, 1)
                              : dw3x3_rows2_u8(g, x, y, oy, two, 0, g->Wo, blk, 0);
    }
}

/* 3x3, any stride and input dtype: each row's inside pixels streamed (dw3x3_row), its border
 * pixels one at a time through dw_tile. */
void f8_dwconv2d_nhwc_3x3_16c_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                         uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    const uint32_t nblk = g->pk->nblk, full_blocks = g->Cout / 16;
    const int s8 = g->in_s8;
    assert(g->kh == 3 && g->kw == 3);
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
}

/* Any window: tiles of 4 output pixels × 16 channels. */
void f8_dwconv2d_nhwc_4x16c_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                       uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    const uint32_t nblk = g->pk->nblk, full_blocks = g->Cout / 16;
    const int s8 = g->in_s8;
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
