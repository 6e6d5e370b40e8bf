/*
 * CONV2D (groups 1) and DENSE, AVX2 without VNNI: a register tile of 4 output pixels × 16
 * output channels (8 ymm accumulators), 4 input bytes per step, one kernel row segment
 * after the other (conv_segments.h), the same packed weights as the AVX-512 kernel.
 *
 * vpmaddubsw adds two u8×s8 products into a saturating s16, and 255·127·2 does not fit. So
 * each broadcast group of 4 input bytes is split into its even bytes (x0, 0, x2, 0) and odd
 * bytes (0, x1, 0, x3): every vpmaddubsw pair then holds one real product (|x·w| <= 32385,
 * never saturating) and vpmaddwd with 1s widens to s32 before anything is added. Exact, at
 * the price of twice the multiplies. s8 inputs use the same x ^ 0x80 flip as AVX-512.
 */
#include "conv_segments.h"
#include "simd_avx2.h"

#define MR 4

F8_INLINE void conv_tile(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y, uint32_t pix0,
                         uint32_t mr, uint32_t blk, uint32_t ky0, uint32_t ky1)
{
    const f8_packed *pk = g->pk;
    size_t step;
    const uint32_t steps = pk->seg4 / 4;
    const int8_t *w = f8_gemm_block(pk, g->krows, blk, &step) + (size_t)ky0 * steps * step;
    const __m256i flip = _mm256_set1_epi8(g->in_s8 ? (char)0x80 : 0);
    const __m256i even = _mm256_set1_epi32(0x00FF00FF), odd = _mm256_set1_epi32((int)0xFF00FF00u);
    const __m256i ones = _mm256_set1_epi16(1);

    __m256i acc[MR][2];
    const __m256i b0 = _mm256_load_si256((const __m256i *)(pk->bias + (size_t)blk * 16));
    const __m256i b1 = _mm256_load_si256((const __m256i *)(pk->bias + (size_t)blk * 16 + 8));
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++) {
        acc[m][0] = b0;
        acc[m][1] = b1;
    }
    for (uint32_t ky = ky0; ky < ky1; ky++) {
        const uint8_t *const *p = ptrs + ky * MR;
        for (uint32_t c = 0; c < steps; c++, w += step) {
            const __m256i w0 = _mm256_load_si256((const __m256i *)w);
            const __m256i w1 = _mm256_load_si256((const __m256i *)(w + 32));
#pragma GCC unroll 4
            for (int m = 0; m < MR; m++) {
                int32_t v;
                memcpy(&v, p[m] + (size_t)c * 4, 4);
                const __m256i b = _mm256_xor_si256(_mm256_set1_epi32(v), flip);
                const __m256i be = _mm256_and_si256(b, even), bo = _mm256_and_si256(b, odd);
                acc[m][0] = _mm256_add_epi32(
                    acc[m][0], _mm256_madd_epi16(_mm256_maddubs_epi16(be, w0), ones));
                acc[m][0] = _mm256_add_epi32(
                    acc[m][0], _mm256_madd_epi16(_mm256_maddubs_epi16(bo, w0), ones));
                acc[m][1] = _mm256_add_epi32(
                    acc[m][1], _mm256_madd_epi16(_mm256_maddubs_epi16(be, w1), ones));
                acc[m][1] = _mm256_add_epi32(
                    acc[m][1], _mm256_madd_epi16(_mm256_maddubs_epi16(bo, w1), ones));
            }
        }
    }
    for (int h = 0; h < 2; h++) {
        const uint32_t ch = blk * 16 + (uint32_t)h * 8;
        if (ch >= g->Cout)
            break;
        const uint32_t n = g->Cout - ch < 8 ? g->Cout - ch : 8;
        const f8_epi_ymm e = f8_epi_ymm_load(&pk->ep, ch, g->relu);
        for (int m = 0; m < MR; m++) {
            if ((uint32_t)m >= mr)
                break;
            const size_t yi = ((size_t)pix0 + (uint32_t)m) * g->Cout + ch;
            f8_store8(y, g->out_dtype, yi, f8_epi_ymm_apply(&e, acc[m][h]), n);
        }
    }
}

void f8_conv2d_nhwc_4x16c4_avx2(const f8_conv_geom *g, const void *x, void *y,
                                uint32_t row0, uint32_t row1)
{
    uint8_t scratch[F8_SCRATCH_BYTES];
    const uint8_t *ptrs[64 * MR];
    const uint32_t p0 = row0 * g->Wo, p1 = row1 * g->Wo;
    for (uint32_t pix = p0; pix < p1; pix += MR) {
        const uint32_t mr = p1 - pix < MR ? p1 - pix : MR;
        uint32_t ky0, ky1;
        f8_segments(g, x, pix, mr, MR, ptrs, scratch);
        f8_live_rows(g, pix, mr, &ky0, &ky1);
        for (uint32_t blk = g->blk0; blk < g->blk1; blk++)
            conv_tile(g, ptrs, y, pix, mr, blk, ky0, ky1);
    }
}
