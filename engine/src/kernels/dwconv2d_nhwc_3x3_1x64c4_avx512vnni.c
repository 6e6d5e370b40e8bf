/*
 * Depthwise 3x3 CONV2D, AVX-512 VNNI, 64 channels per step, 4 taps per vpdpbusd lane:
 * u8 input, stride 1 or 2 horizontally (any vertically), u8/s8 output through the packing
 * epilogue (pack.c's dwq: right shifts only, sums that stay inside s32).
 *
 * The window is padded to 12 taps: one input column (3 rows of 64 channels at one x) becomes
 * four vpdpbusd operands whose dword lanes hold (r0, r1, r2, 0) of one channel, transposed by
 * 8 unpacks (bytes of rows 0/1 and 2/zero, then their words); each column is built once and
 * serves the 3 output pixels whose windows contain it (stride 1; 1-2 with stride 2). The
 * 12 weight vectors (pk->wdw64c4: (w[0][kx], w[1][kx], w[2][kx], 0), in the unpacks' lane
 * order) stay in registers along the output row; rows in the top/bottom padding get zero
 * weight bytes (and read a row inside the image), columns in the left/right padding are zero.
 * The unpacks leave channel 16L + 4j + i in dword 4L + i of vector j; packssdw and
 * packsswb/packuswb work per 128-bit lane and restore the natural order, so the 64 output
 * bytes are one store. u8 × s8 products summed in 32 bits wrap like the reference (and the
 * dwq bound says the sums never wrap).
 */
#include <assert.h>

#include "simd_avx512.h"

/* One input column of 64 channels as four (r0, r1, r2, 0) dword vectors; unless `checked`,
 * the column (both of a pair) lies inside the image. */
F8_INLINE void column64(const uint8_t *const row[3], int64_t ix, uint32_t W, uint32_t C,
                        __mmask64 k, const int full, const int pair, const int checked,
                        __m512i c[4])
{
    __m512i r[3];
    if (pair) { /* C = 32: pixels ix and ix + 1, either of them may be padding */
        const int lo = !checked || (uint64_t)ix < W, hi = !checked || (uint64_t)(ix + 1) < W;
        if (!lo && !hi) {
            c[0] = c[1] = c[2] = c[3] = _mm512_setzero_si512();
            return;
        }
        for (int i = 0; i < 3; i++) {
            const uint8_t *p = row[i] + (size_t)(ix + !lo) * 32;
            const __m256i h = _mm256_loadu_si256((const __m256i *)p);
            r[i] = lo && hi ? _mm512_loadu_si512(p)
                   : lo     ? _mm512_zextsi256_si512(h)
                            : _mm512_inserti64x4(_mm512_setzero_si512(), h, 1);
        }
    } else {
        if (checked && (uint64_t)ix >= W) {
            c[0] = c[1] = c[2] = c[3] = _mm512_setzero_si512();
            return;
        }
        for (int i = 0; i < 3; i++) {
            const uint8_t *p = row[i] + (size_t)ix * C;
            r[i] = full ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(k, p);
        }
    }
    const __m512i z = _mm512_setzero_si512();
    const __m512i lo01 = _mm512_unpacklo_epi8(r[0], r[1]), hi01 = _mm512_unpackhi_epi8(r[0], r[1]);
    const __m512i lo2 = _mm512_unpacklo_epi8(r[2], z), hi2 = _mm512_unpackhi_epi8(r[2], z);
    c[0] = _mm512_unpacklo_epi16(lo01, lo2);
    c[1] = _mm512_unpackhi_epi16(lo01, lo2);
    c[2] = _mm512_unpacklo_epi16(hi01, hi2);
    c[3] = _mm512_unpackhi_epi16(hi01, hi2);
}

/* Output pixel i of a row (with pair, pixels 2i and 2i + 1) from columns c0 and c1 (kept from
 * the previous pixel) and the new ones, loaded at ix + 1 (step2) and ix + 2; columns c1/c2
 * move down for the next pixel. */
typedef struct {
    const uint8_t *row[3];
    uint32_t W, C, Wo;
    __mmask64 k;
    const int32_t *bias, *sr, *bit;
    const int16_t *srw, *bitw;
    __m512i lo8;
    int u8;
} dw64_row;

F8_INLINE void pixel64(const dw64_row *r, const __m512i w[3][4], int64_t ix, uint32_t i,
                       uint8_t *out, __m512i c0[4], __m512i c1[4], __m512i c2[4],
                       const int full, const int step2, const int wd, const int pair,
                       const int checked)
{
    if (step2)
        column64(r->row, ix + 1, r->W, r->C, r->k, full, pair, checked, c1);
    column64(r->row, ix + 2, r->W, r->C, r->k, full, pair, checked, c2);
    __m512i q[4];
    for (int j = 0; j < 4; j++) {
        __m512i a = _mm512_dpbusd_epi32(_mm512_load_si512(r->bias + 16 * j), c0[j], w[0][j]);
        a = _mm512_dpbusd_epi32(a, c1[j], w[1][j]);
        q[j] = _mm512_dpbusd_epi32(a, c2[j], w[2][j]);
        if (!wd)
            q[j] = f8_round_shift32(q[j], _mm512_load_si512(r->sr + 16 * j),
                               _mm512_load_si512(r->bit + 16 * j));
    }
    __m512i p01 = _mm512_packs_epi32(q[0], q[1]), p23 = _mm512_packs_epi32(q[2], q[3]);
    if (wd) {
        p01 = f8_round_shift16(p01, _mm512_load_si512(r->srw), _mm512_load_si512(r->bitw));
        p23 = f8_round_shift16(p23, _mm512_load_si512(r->srw + 32), _mm512_load_si512(r->bitw + 32));
    }
    const __m512i b = r->u8 ? _mm512_packus_epi16(p01, p23)
                            : _mm512_max_epi8(_mm512_packs_epi16(p01, p23), r->lo8);
    if (pair && 2 * i + 1 == r->Wo)
        _mm256_storeu_si256((__m256i *)out, _mm512_castsi512_si256(b));
    else if (full)
        _mm512_storeu_si512(out, b);
    else
        _mm512_mask_storeu_epi8(out, r->k, b);
    for (int j = 0; j < 4; j++) {
        c0[j] = step2 ? c2[j] : c1[j];
        if (!step2)
            c1[j] = c2[j];
    }
}

/* One output row, channel group t. The pixels whose new columns lie inside the image (all
 * but the first and last one or two) run without the padding tests: with pair, their three
 * variants of loads per column made a loop of branches and spills. */
F8_INLINE void row64(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                     uint32_t t, const int full, const int s2, const int wd, const int pair)
{
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W, ch = t * 64;
    dw64_row r;
    r.W = W;
    r.C = C;
    r.Wo = g->Wo;
    r.k = C - ch >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (C - ch)) - 1);
    const uint32_t in = f8_dw_rows(g, x, oy, ch, 3, r.row);
    /* weight bytes of the rows inside the image */
    const uint32_t keep = (in & 1 ? 0xFFu : 0) | (in & 2 ? 0xFF00u : 0) | (in & 4 ? 0xFF0000u : 0);
    const __m512i km = _mm512_set1_epi32((int32_t)keep);
    const int8_t *wp = pk->wdw64c4 + (size_t)t * 3 * 4 * 64;
    __m512i w[3][4];
    for (int kx = 0; kx < 3; kx++)
        for (int j = 0; j < 4; j++)
            w[kx][j] = _mm512_and_si512(_mm512_load_si512(wp + (kx * 4 + j) * 64), km);
    r.bias = pk->dwq64_bias + (size_t)t * 64;
    r.sr = pk->dwq64_sr + (size_t)t * 64;
    r.bit = pk->dwq64_bit + (size_t)t * 64;
    r.srw = pk->dwq64_srw + (size_t)t * 64;
    r.bitw = pk->dwq64_bitw + (size_t)t * 64;
    r.u8 = g->out_dtype == F8_DTYPE_U8;
    r.lo8 = _mm512_set1_epi8(g->relu ? 0 : -127);

    int64_t ix = -(int64_t)g->pl;
    uint8_t *out = (uint8_t *)y + (size_t)oy * g->Wo * C + ch;
    /* with pair, lanes 32-63 are the next output pixel: columns step by 2 as with stride 2 */
    const int step2 = s2 || pair;
    const int64_t adv = step2 ? 2 : 1, first = step2 ? 1 : 2, last = pair ? 3 : 2;
    const size_t out_adv = pair ? 64 : C;
    const uint32_t n = pair ? (g->Wo + 1) / 2 : g->Wo;
    __m512i c0[4], c1[4], c2[4];
    column64(r.row, ix, W, C, r.k, full, pair, 1, c0);
    if (!step2)
        column64(r.row, ix + 1, W, C, r.k, full, pair, 1, c1);
    uint32_t i = 0;
    for (; i < n && ix + first < 0; i++, ix += adv, out += out_adv)
        pixel64(&r, w, ix, i, out, c0, c1, c2, full, step2, wd, pair, 1);
    for (; i < n && ix + last < (int64_t)W; i++, ix += adv, out += out_adv)
        pixel64(&r, w, ix, i, out, c0, c1, c2, full, step2, wd, pair, 0);
    for (; i < n; i++, ix += adv, out += out_adv)
        pixel64(&r, w, ix, i, out, c0, c1, c2, full, step2, wd, pair, 1);
}

/* ---- 32 channels per step, 2 taps per vpdpwssd word pair (the scheme of XNNPACK's
 * vpmaddwd depthwise kernels): the last <= 32 channels ------------------------------------
 * One input column (3 rows of 32 channels at one x) is zero-extended to words and
 * interleaved into (r0, r1) and (r2, 0) word pairs: four vpdpwssd operands per column, each
 * channel's lane adding two exact 8-bit products (at most 2·255·127: no saturation, vpdpwssd
 * adds in 32 bits). Weights pk->wdw32c2, constants pk->dwq32_*; packssdw restores the natural
 * channel order of the unpacked dwords, vpmov[u]swb narrows to bytes. As a whole kernel
 * (every channel by 32) it ran at 0.55-0.7x the speed of the groups of 64 (docs/ENGINE.md). */

/* One input column of 32 channels as the word-pair vectors (r0, r1) j = 0, 1, (r2, 0) j = 0, 1. */
F8_INLINE void column32(const uint8_t *const row[3], int64_t ix, uint32_t W, uint32_t C,
                      __mmask32 k, const int full, __m512i c[4])
{
    if ((uint64_t)ix >= W) {
        c[0] = c[1] = c[2] = c[3] = _mm512_setzero_si512();
        return;
    }
    __m512i r[3];
    for (int i = 0; i < 3; i++) {
        const uint8_t *p = row[i] + (size_t)ix * C;
        r[i] = _mm512_cvtepu8_epi16(full ? _mm256_loadu_si256((const __m256i *)p)
                                         : _mm256_maskz_loadu_epi8(k, p));
    }
    const __m512i z = _mm512_setzero_si512();
    c[0] = _mm512_unpacklo_epi16(r[0], r[1]);
    c[1] = _mm512_unpackhi_epi16(r[0], r[1]);
    c[2] = _mm512_unpacklo_epi16(r[2], z);
    c[3] = _mm512_unpackhi_epi16(r[2], z);
}

F8_INLINE void row32(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t oy,
                     uint32_t t, const int full, const int s2, const int wd)
{
    const f8_packed *pk = g->pk;
    const uint32_t C = g->Cout, W = g->W, ch = t * 32;
    const __mmask32 k = C - ch >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (C - ch)) - 1);
    const uint8_t *row[3];
    const uint32_t in = f8_dw_rows(g, x, oy, ch, 3, row);
    /* word masks of the pairs (w0, w1) and (w2, 0): rows outside the image weigh 0 */
    const __m512i k01 = _mm512_set1_epi32((int32_t)((in & 1 ? 0xFFFFu : 0) | (in & 2 ? 0xFFFF0000u : 0)));
    const __m512i k2 = _mm512_set1_epi32(in & 4 ? 0xFFFF : 0);
    const int16_t *wp = pk->wdw32c2 + (size_t)t * 3 * 2 * 2 * 32;
    __m512i w[3][4]; /* [kx][s·2 + j] */
    for (int kx = 0; kx < 3; kx++)
        for (int sj = 0; sj < 4; sj++)
            w[kx][sj] = _mm512_and_si512(_mm512_load_si512(wp + (kx * 4 + sj) * 32), sj < 2 ? k01 : k2);
    const int32_t *bias = pk->dwq32_bias + (size_t)t * 32, *sr = pk->dwq32_sr + (size_t)t * 32;
    const int32_t *bit = pk->dwq32_bit + (size_t)t * 32;
    const int16_t *srn = pk->dwq_srn + ch, *bitn = pk->dwq_bitn + ch;
    const int u8 = g->out_dtype == F8_DTYPE_U8;
    const __m256i lo8 = _mm256_set1_epi8(g->relu ? 0 : -127);

    int64_t ix = -(int64_t)g->pl;
    uint8_t *out = (uint8_t *)y + (size_t)oy * g->Wo * C + ch;
    __m512i c0[4], c1[4], c2[4];
    column32(row, ix, W, C, k, full, c0);
    if (!s2)
        column32(row, ix + 1, W, C, k, full, c1);
    for (uint32_t ox = 0; ox < g->Wo; ox++, ix += s2 ? 2 : 1, out += C) {
        if (s2)
            column32(row, ix + 1, W, C, k, full, c1);
        column32(row, ix + 2, W, C, k, full, c2);
        __m512i q[2];
        for (int j = 0; j < 2; j++) {
            __m512i a = _mm512_dpwssd_epi32(_mm512_load_si512(bias + 16 * j), c0[j], w[0][j]);
            a = _mm512_dpwssd_epi32(a, c0[2 + j], w[0][2 + j]);
            a = _mm512_dpwssd_epi32(a, c1[j], w[1][j]);
            a = _mm512_dpwssd_epi32(a, c1[2 + j], w[1][2 + j]);
            a = _mm512_dpwssd_epi32(a, c2[j], w[2][j]);
            q[j] = _mm512_dpwssd_epi32(a, c2[2 + j], w[2][2 + j]);
            if (!wd)
                q[j] = f8_round_shift32(q[j], _mm512_load_si512(sr + 16 * j),
                                   _mm512_load_si512(bit + 16 * j));
        }
        __m512i p = _mm512_packs_epi32(q[0], q[1]);
        if (wd)
            p = f8_round_shift16(p, _mm512_loadu_si512(srn), _mm512_loadu_si512(bitn));
        const __m256i b = u8 ? _mm512_cvtusepi16_epi8(_mm512_max_epi16(p, _mm512_setzero_si512()))
                             : _mm256_max_epi8(_mm512_cvtsepi16_epi8(p), lo8);
        if (full)
            _mm256_storeu_si256((__m256i *)out, b);
        else
            _mm256_mask_storeu_epi8(out, k, b);
        for (int j = 0; j < 4; j++) {
            c0[j] = s2 ? c2[j] : c1[j];
            if (!s2)
                c1[j] = c2[j];
        }
    }
}

/* ---- the op-level kernels (conv_fn), chosen by plan.c ----------------------------------- */

/* Rows [row0, row1), stride s2 + 1, epilogue on words (wd) or dwords: one output row per
 * pass, by groups of 64 channels; the channels past the last whole group as one masked group
 * of 64 when they are more than 32, else as a group of 32 in word pairs (row32: half the work
 * of a group of 64 that would be at most half used). */
F8_INLINE void rows(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t row0,
                    uint32_t row1, const int s2, const int wd)
{
    const uint32_t t = g->Cout / 64, rest = g->Cout % 64;
    /* at most 16 channels left, stride 1: the 2x16c4 kernel's two-row columns for them */
    const int tail16 = rest && rest <= 16 && !s2 && g->sh == 1 && g->Cout != 32;
    if (tail16)
        f8_dwconv2d_3x3s1_2x16c4_u8_blocks_avx512vnni(g, x, y, row0, row1, t * 4);
    for (uint32_t oy = row0; oy < row1; oy++) {
        if (g->Cout == 32 && !s2) { /* two output pixels per group of 64 */
            row64(g, x, y, oy, 0, 1, 0, wd, 1);
            continue;
        }
        for (uint32_t b = 0; b < t; b++)
            row64(g, x, y, oy, b, 1, s2, wd, 0);
        if (tail16)
            continue;
        if (rest > 32)
            row64(g, x, y, oy, t, 0, s2, wd, 0);
        else if (rest == 32)
            row32(g, x, y, oy, 2 * t, 1, s2, wd);
        else if (rest)
            row32(g, x, y, oy, 2 * t, 0, s2, wd);
    }
}

/* 3x3, u8 input, any vertical stride, horizontal stride 1 or 2. */
void f8_dwconv2d_nhwc_3x3_1x64c4_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                            uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    assert(!g->in_s8 && g->pk->wdw64c4 && g->kh == 3 && g->kw == 3 && (g->sw == 1 || g->sw == 2));
    if (g->pk->dwq_words)
        g->sw == 2 ? rows(g, x, y, row0, row1, 1, 1) : rows(g, x, y, row0, row1, 0, 1);
    else
        g->sw == 2 ? rows(g, x, y, row0, row1, 1, 0) : rows(g, x, y, row0, row1, 0, 0);
}
