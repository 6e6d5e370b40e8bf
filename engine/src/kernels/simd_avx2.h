/*
 * Inline helpers of the AVX2 kernels: the vector epilogue (kernels.h, docs/ENGINE.md) on 8
 * s32 lanes, loads and stores of 8 elements. Partial vectors go through a small stack copy
 * (AVX2 has no byte masks). Included only by *_avx2.c files, compiled with -mavx2.
 */
#ifndef F8_SIMD_AVX2_H
#define F8_SIMD_AVX2_H

#include <immintrin.h>
#include <string.h>

#include "kernels.h"

#define F8_INLINE static inline __attribute__((always_inline))

typedef struct {
    __m256i sr, mask, hm1, one, sl, lo_pre, hi_pre, lo, hi;
    int any_left, relu;
} f8_epi_ymm;

F8_INLINE f8_epi_ymm f8_epi_ymm_load(const f8_epi *e, size_t ch, int relu)
{
    f8_epi_ymm z;
    z.sr = _mm256_loadu_si256((const __m256i *)(e->sr + ch));
    z.mask = _mm256_loadu_si256((const __m256i *)(e->mask + ch));
    z.hm1 = _mm256_loadu_si256((const __m256i *)(e->hm1 + ch));
    z.one = _mm256_loadu_si256((const __m256i *)(e->one + ch));
    z.sl = _mm256_loadu_si256((const __m256i *)(e->sl + ch));
    z.lo_pre = _mm256_loadu_si256((const __m256i *)(e->lo_pre + ch));
    z.hi_pre = _mm256_loadu_si256((const __m256i *)(e->hi_pre + ch));
    z.lo = _mm256_set1_epi32(e->lo);
    z.hi = _mm256_set1_epi32(e->hi);
    z.any_left = e->any_left;
    z.relu = relu;
    return z;
}

F8_INLINE __m256i f8_epi_ymm_apply(const f8_epi_ymm *z, __m256i v)
{
    if (z->relu)
        v = _mm256_max_epi32(v, _mm256_setzero_si256());
    __m256i q = _mm256_srav_epi32(v, z->sr);
    const __m256i r = _mm256_and_si256(v, z->mask);
    const __m256i bit = _mm256_and_si256(q, z->one);
    q = _mm256_add_epi32(
        q, _mm256_srlv_epi32(_mm256_add_epi32(_mm256_add_epi32(r, z->hm1), bit), z->sr));
    if (!z->any_left)
        return _mm256_min_epi32(_mm256_max_epi32(q, z->lo), z->hi);
    const __m256i lt = _mm256_cmpgt_epi32(z->lo_pre, q);
    const __m256i gt = _mm256_cmpgt_epi32(q, z->hi_pre);
    q = _mm256_sllv_epi32(q, z->sl);
    q = _mm256_blendv_epi8(q, z->hi, gt);
    return _mm256_blendv_epi8(q, z->lo, lt);
}

/* Stores the first n (<= 8) lanes of q (clamped to dtype's range) at element index i. */
F8_INLINE void f8_store8(void *y, f8_dtype dtype, size_t i, __m256i q, uint32_t n)
{
    if (dtype == F8_DTYPE_S32) {
        if (n >= 8) {
            _mm256_storeu_si256((__m256i *)((int32_t *)y + i), q);
        } else {
            int32_t t[8];
            _mm256_storeu_si256((__m256i *)t, q);
            memcpy((int32_t *)y + i, t, n * 4);
        }
        return;
    }
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1, -1);
    const __m256i b = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(q, pick),
                                                  _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    const __m128i lo = _mm256_castsi256_si128(b);
    if (n >= 8) {
        _mm_storel_epi64((__m128i *)((uint8_t *)y + i), lo);
    } else {
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)t, lo);
        memcpy((uint8_t *)y + i, t, n);
    }
}

/* Loads n (<= 8) elements of a u8/s8/s32 tensor as s32 lanes (the rest 0). */
F8_INLINE __m256i f8_load8(const void *x, f8_dtype dtype, size_t i, uint32_t n)
{
    const size_t sz = f8_dtype_size(dtype);
    uint8_t t[32] = {0};
    const uint8_t *p = (const uint8_t *)x + i * sz;
    if (n < 8) {
        memcpy(t, p, n * sz);
        p = t;
    }
    switch (dtype) {
    case F8_DTYPE_U8: return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    case F8_DTYPE_S8: return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p));
    default: return _mm256_loadu_si256((const __m256i *)p);
    }
}

#endif /* F8_SIMD_AVX2_H */
