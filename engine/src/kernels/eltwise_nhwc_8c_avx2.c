/*
 * ADD, MAXPOOL and AVGPOOL on u8/s8 inputs, AVX2: 8 channels per ymm of s32 lanes, the
 * vector epilogue of simd_avx2.h; same conditions as the AVX-512 versions.
 */
#include "simd_avx2.h"

void f8_add_nhwc_avx2(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                      const void *x1, void *y, uint32_t row0, uint32_t row1)
{
    const size_t row = (size_t)a->out.w * a->out.c;
    const int fa = a->in0.fl, fb = a->in1.fl, f = fa > fb ? fa : fb;
    const __m256i sa = _mm256_set1_epi32(f - fa), sb = _mm256_set1_epi32(f - fb);
    const f8_epi_ymm e = f8_epi_ymm_load(ep, 0, a->relu);
    const size_t end = row1 * row;
    for (size_t i = row0 * row; i < end; i += 8) {
        const uint32_t n = (uint32_t)(end - i < 8 ? end - i : 8);
        const __m256i va = _mm256_sllv_epi32(f8_load8(x0, a->in0.dtype, i, n), sa);
        const __m256i vb = _mm256_sllv_epi32(f8_load8(x1, a->in1.dtype, i, n), sb);
        f8_store8(y, a->out.dtype, i, f8_epi_ymm_apply(&e, _mm256_add_epi32(va, vb)), n);
    }
}

void f8_maxpool_nhwc_avx2(const f8_kernel_args *a, const f8_epi *ep, const void *x, void *y,
                          uint32_t row0, uint32_t row1)
{
    const uint32_t W = a->in0.w, C = a->in0.c, Wo = a->out.w;
    const f8_epi_ymm e = f8_epi_ymm_load(ep, 0, a->relu);
    for (uint32_t oy = row0; oy < row1; oy++) {
        for (uint32_t ox = 0; ox < Wo; ox++) {
            const f8_window win = f8_pool_window(a, oy, ox);
            const int64_t iy0 = win.iy0, ix0 = win.ix0;
            const uint32_t ky0 = win.ky0, ky1 = win.ky1, kx0 = win.kx0, kx1 = win.kx1;
            for (uint32_t c = 0; c < C; c += 8) {
                const uint32_t n = C - c < 8 ? C - c : 8;
                __m256i v = _mm256_set1_epi32(INT32_MIN);
                for (uint32_t ky = ky0; ky < ky1; ky++)
                    for (uint32_t kx = kx0; kx < kx1; kx++) {
                        const size_t i = ((size_t)(iy0 + ky) * W + (size_t)(ix0 + kx)) * C + c;
                        v = _mm256_max_epi32(v, f8_load8(x, a->in0.dtype, i, n));
                    }
                f8_store8(y, a->out.dtype, ((size_t)oy * Wo + ox) * C + c, f8_epi_ymm_apply(&e, v), n);
            }
        }
    }
}

void f8_avgpool_nhwc_avx2(const f8_kernel_args *a, const f8_epi *ep, const void *x, void *y,
                          uint32_t row0, uint32_t row1)
{
    const uint32_t W = a->in0.w, C = a->in0.c, Wo = a->out.w;
    const f8_epi_ymm e = f8_epi_ymm_load(ep, 0, a->relu);
    for (uint32_t oy = row0; oy < row1; oy++)
        for (uint32_t ox = 0; ox < Wo; ox++)
            for (uint32_t c = 0; c < C; c += 8) {
                const uint32_t n = C - c < 8 ? C - c : 8;
                __m256i v = _mm256_setzero_si256();
                for (uint32_t ky = 0; ky < a->kernel_h; ky++)
                    for (uint32_t kx = 0; kx < a->kernel_w; kx++) {
                        const size_t iy = (size_t)oy * a->stride_h + ky;
                        const size_t ix = (size_t)ox * a->stride_w + kx;
                        v = _mm256_add_epi32(v, f8_load8(x, a->in0.dtype, (iy * W + ix) * C + c, n));
                    }
                f8_store8(y, a->out.dtype, ((size_t)oy * Wo + ox) * C + c, f8_epi_ymm_apply(&e, v), n);
            }
}
