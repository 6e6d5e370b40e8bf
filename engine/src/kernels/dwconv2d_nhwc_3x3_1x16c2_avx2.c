/*
 * Depthwise 3x3 CONV2D, AVX2: 16 channels per step, 2 taps per vpmaddwd word pair, u8 input,
 * horizontal stride 1 or 2, u8/s8 output through the packing epilogue (pack.c's dwq) — the
 * AVX2 form of the 64c4 kernel's 32c2 tail (dwconv2d_nhwc_3x3_1x64c4_avx512vnni.c).
 *
 * One input column (3 rows of 16 channels at one x) is zero-extended to words and
 * interleaved into (r0, r1) and (r2, 0) pairs, each dword lane of vpmaddwd adding two exact
 * 8-bit products (at most 2·255·127: no saturation). A column is built once and serves the
 * output pixels whose windows hold it. Weights are pk->wdw32c2's ymm halves (its lane order
 * is 16t' + 8L + 4j + i for the halves t' of a group of 32); input rows outside the image
 * read as zero, as do columns in the left/right padding. packssdw restores the natural
 * channel order, packuswb/packsswb narrow. Bit-identical to the AVX-512 kernels: the same
 * exact sums (the dwq bound keeps them inside s32) and the same rounding.
 */
#include <assert.h>
#include <string.h>

#include "simd_avx2.h"

/* 16 bytes of a row at p: all of them, or the first n (copied: AVX2 has no byte masks). */
F8_INLINE __m256i load16w(const uint8_t *p, uint32_t n, const int full)
{
    if (full)
        return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p));
    uint8_t b[16] = {0};
    memcpy(b, p, n);
    return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)b));
}

/* The column at x = ix: (r0, r1) pairs j = 0, 1, then (r2, 0) j = 0, 1. */
F8_INLINE void column16(const uint8_t *const row[3], const int in[3], int64_t ix, uint32_t W,
                        uint32_t C, uint32_t n, const int full, __m256i c[4])
{
    const __m256i z = _mm256_setzero_si256();
    if ((uint64_t)ix >= W) {
        c[0] = c[1] = c[2] = c[3] = z;
        return;
    }
    __m256i r[3];
    for (int i = 0; i < 3; i++)
        r[i] = in[i] ? load16w(row[i] + (size_t)ix * C, n, full) : z;
    c[0] = _mm256_unpacklo_epi16(r[0], r[1]);
    c[1] = _mm256_unpackhi_epi16(r[0], r[1]);
    c[2] = _mm256_unpacklo_epi16(r[2], z);
    c[3] = _mm256_unpackhi_epi16(r[2], z);
}

/* requant of a sum v holding hm1: (v + the quotient's lowest bit) >> sr (bit = 2^sr, or 0). */
F8_INLINE __m256i round_shift8(__m256i v, __m256i sr, __m256i bit)
{
    const __m256i odd = _mm256_min_epu32(_mm256_and_si256(v, bit), _mm256_set1_epi32(1));
    return _mm256_srav_epi32(_mm256_add_epi32(v, odd), sr);
}

F8_INLINE void row16(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                     uint32_t ch, const int full, const int s2)
{
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W, n = C - ch < 16 ? C - ch : 16;
    const uint8_t *row[3];
    const uint32_t rows_in = f8_dw_rows(g, x, oy, ch, 3, row);
    const int in[3] = {rows_in & 1, rows_in >> 1 & 1, rows_in >> 2 & 1};
    /* the ymm half h of group t of pk->wdw32c2 and pk->dwq32_* */
    const size_t t = ch / 32, h = ch / 16 % 2;
    const int16_t *wp = pk->wdw32c2 + t * 3 * 4 * 32 + h * 16;
    const int32_t *bias = pk->dwq32_bias + t * 32 + h * 8, *sr = pk->dwq32_sr + t * 32 + h * 8;
    const int32_t *bit = pk->dwq32_bit + t * 32 + h * 8;
    const int u8 = g->out_dtype == F8_DTYPE_U8;
    const __m128i lo8 = _mm_set1_epi8(g->relu ? 0 : -127);
#define W16(kx, sj) _mm256_load_si256((const __m256i *)(wp + ((kx) * 4 + (sj)) * 32))
#define C32(p) _mm256_load_si256((const __m256i *)(p))

    int64_t ix = -(int64_t)g->pl;
    uint8_t *out = (uint8_t *)y + (size_t)oy * g->Wo * C + ch;
    __m256i c0[4], c1[4], c2[4];
    column16(row, in, ix, W, C, n, full, c0);
    if (!s2)
        column16(row, in, ix + 1, W, C, n, full, c1);
    for (uint32_t ox = 0; ox < g->Wo; ox++, ix += s2 ? 2 : 1, out += C) {
        if (s2)
            column16(row, in, ix + 1, W, C, n, full, c1);
        column16(row, in, ix + 2, W, C, n, full, c2);
        __m256i q[2];
        for (int j = 0; j < 2; j++) {
            __m256i a = _mm256_add_epi32(C32(bias + 16 * j), _mm256_madd_epi16(c0[j], W16(0, j)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(c0[2 + j], W16(0, 2 + j)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(c1[j], W16(1, j)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(c1[2 + j], W16(1, 2 + j)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(c2[j], W16(2, j)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(c2[2 + j], W16(2, 2 + j)));
            q[j] = round_shift8(a, C32(sr + 16 * j), C32(bit + 16 * j));
        }
        const __m256i p = _mm256_packs_epi32(q[0], q[1]);
        const __m128i p0 = _mm256_castsi256_si128(p), p1 = _mm256_extracti128_si256(p, 1);
        const __m128i b = u8 ? _mm_packus_epi16(p0, p1) : _mm_max_epi8(_mm_packs_epi16(p0, p1), lo8);
        if (full) {
            _mm_storeu_si128((__m128i *)out, b);
        } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, b);
            memcpy(out, tmp, n);
        }
        for (int j = 0; j < 4; j++) {
            c0[j] = s2 ? c2[j] : c1[j];
            if (!s2)
                c1[j] = c2[j];
        }
    }
#undef W16
#undef C32
}

void f8_dwconv2d_nhwc_3x3_1x16c2_avx2(const f8_conv_geom *g, const void *xv, void *y,
                                      uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    const uint32_t C = g->Cout, whole = C / 16 * 16;
    assert(!g->in_s8 && g->pk->wdw32c2 && g->kh == 3 && g->kw == 3 && (g->sw == 1 || g->sw == 2));
    for (uint32_t oy = row0; oy < row1; oy++) {
        for (uint32_t ch = 0; ch < whole; ch += 16)
            g->sw == 2 ? row16(g, x, y, oy, ch, 1, 1) : row16(g, x, y, oy, ch, 1, 0);
        if (whole < C)
            g->sw == 2 ? row16(g, x, y, oy, whole, 0, 1) : row16(g, x, y, oy, whole, 0, 0);
    }
}
