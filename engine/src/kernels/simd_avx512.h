/*
 * Inline helpers of the AVX-512 kernels: the vector epilogue (kernels.h, docs/ENGINE.md) and
 * stores of 16 s32 lanes as u8/s8/s32. Included only by *_avx512vnni.c and *_avx512bw.c files,
 * which are compiled with the AVX-512 -m flags (nothing here needs VNNI).
 */
#ifndef F8_SIMD_AVX512_H
#define F8_SIMD_AVX512_H

#include <immintrin.h>

#include "kernels.h"

#define F8_INLINE static inline __attribute__((always_inline))

/* The epilogue constants of one block of 16 channels, loaded once and applied to many
 * accumulators. */
typedef struct {
    __m512i sr, mask, hm1, one, sl, lo_pre, hi_pre, lo, hi;
    int any_left, relu;
    int u8fast; /* u8 output, right shifts only: see f8_epi_zmm_apply */
    int s8fast; /* s8 output, right shifts of at most 23 bits only */
    __m512i c_lo, c_hi; /* s8fast: the pre-clamp bounds */
} f8_epi_zmm;

F8_INLINE f8_epi_zmm f8_epi_zmm_load(const f8_epi *e, size_t ch, int relu)
{
    f8_epi_zmm z;
    z.sr = _mm512_loadu_si512(e->sr + ch);
    z.mask = _mm512_loadu_si512(e->mask + ch);
    z.hm1 = _mm512_loadu_si512(e->hm1 + ch);
    z.one = _mm512_loadu_si512(e->one + ch);
    z.lo = _mm512_set1_epi32(e->lo);
    z.hi = _mm512_set1_epi32(e->hi);
    z.any_left = e->any_left;
    if (e->any_left) {
        z.sl = _mm512_loadu_si512(e->sl + ch);
        z.lo_pre = _mm512_loadu_si512(e->lo_pre + ch);
        z.hi_pre = _mm512_loadu_si512(e->hi_pre + ch);
    } else {
        z.sl = z.lo_pre = z.hi_pre = _mm512_setzero_si512();
    }
    z.relu = relu;
    z.u8fast = !e->any_left && e->lo == 0 && e->hi == 255;
    z.s8fast = !e->any_left && e->lo == -127 && e->hi == 127 && e->max_sr <= 23;
    z.c_hi = _mm512_sllv_epi32(_mm512_set1_epi32(128), z.sr);
    z.c_lo = relu ? _mm512_setzero_si512() : _mm512_sub_epi32(_mm512_setzero_si512(), z.c_hi);
    return z;
}

F8_INLINE __m512i f8_epi_zmm_apply(const f8_epi_zmm *z, __m512i v)
{
    if (z->u8fast) {
        /* u8 output: requant(v) <= 0 for v < 0 and requant(0) = 0, so max(v, 0) first changes
         * nothing (ReLU or not). For 0 <= v < 2^31, v + (2^(sr-1) - 1) + (q & 1) < 2^32:
         * one unsigned shift rounds half to even, q = floor(v / 2^sr) + round. The clamp at
         * 255 is the saturating store (f8_store16's vpmovusdb). */
        v = _mm512_max_epi32(v, _mm512_setzero_si512());
        const __m512i bit = _mm512_and_si512(_mm512_srlv_epi32(v, z->sr), z->one);
        return _mm512_srlv_epi32(_mm512_add_epi32(_mm512_add_epi32(v, z->hm1), bit), z->sr);
    }
    if (z->s8fast) {
        /* s8 output, sr <= 23: clamping v to ±128·2^sr first changes no result (both ends
         * still round beyond ±127) and keeps v + 2^(sr-1) - 1 + (q & 1) inside 31 bits, so
         * one arithmetic shift rounds half to even; ReLU is the lower bound 0. The upper
         * clamp at 127 is the saturating store (vpmovsdb). */
        v = _mm512_min_epi32(_mm512_max_epi32(v, z->c_lo), z->c_hi);
        const __m512i bit = _mm512_and_si512(_mm512_srav_epi32(v, z->sr), z->one);
        const __m512i q = _mm512_srav_epi32(_mm512_add_epi32(_mm512_add_epi32(v, z->hm1), bit), z->sr);
        return _mm512_max_epi32(q, z->lo);
    }
    if (z->relu)
        v = _mm512_max_epi32(v, _mm512_setzero_si512());
    __m512i q = _mm512_srav_epi32(v, z->sr);
    const __m512i r = _mm512_and_si512(v, z->mask);
    const __m512i bit = _mm512_and_si512(q, z->one);
    q = _mm512_add_epi32(
        q, _mm512_srlv_epi32(_mm512_add_epi32(_mm512_add_epi32(r, z->hm1), bit), z->sr));
    if (!z->any_left)
        return _mm512_min_epi32(_mm512_max_epi32(q, z->lo), z->hi);
    const __mmask16 lt = _mm512_cmplt_epi32_mask(q, z->lo_pre);
    const __mmask16 gt = _mm512_cmpgt_epi32_mask(q, z->hi_pre);
    q = _mm512_sllv_epi32(q, z->sl);
    q = _mm512_mask_mov_epi32(q, gt, z->hi);
    return _mm512_mask_mov_epi32(q, lt, z->lo);
}

/* The packing epilogue's requant of a sum v that holds hm1 (pack.c): (v + the quotient's
 * lowest bit) >> sr rounds half to even; bit = 2^sr selects that bit (0 for sr = 0, which
 * rounds nothing). vptestmd, a masked add and vpsravd. */
F8_INLINE __m512i f8_round_shift32(__m512i v, __m512i sr, __m512i bit)
{
    const __mmask16 odd = _mm512_test_epi32_mask(v, bit);
    return _mm512_srav_epi32(_mm512_mask_add_epi32(v, odd, v, _mm512_set1_epi32(1)), sr);
}

/* The same on the words of packssdw(v, ...) when every sr <= 7 (f8_gemm_packing_words,
 * pk->dwq_words): for u8 and s8 outputs, saturating v to [-2^15, 2^15 - 1] changes no result
 * (2^15 / 2^7 = 256: a saturated sum still rounds past 255, or below -127), and the
 * saturating add keeps 2^15 - 1 there ((2^15 - 1) >> 7 = 255). For s8 outputs sr = 8 as well:
 * 2^15 - 1 and -2^15 round to 127 and -128, at or beyond the s8 range, as every sum beyond
 * them does. One test, add and shift per 32 channels instead of 16; sr and bit as words in
 * packssdw's order. */
F8_INLINE __m512i f8_round_shift16(__m512i v, __m512i sr, __m512i bit)
{
    const __mmask32 odd = _mm512_test_epi16_mask(v, bit);
    return _mm512_srav_epi16(_mm512_mask_adds_epi16(v, odd, v, _mm512_set1_epi16(1)), sr);
}

/* The same on the words of packusdw(v, ...) for u8 outputs when every sr is 1..8
 * (F8_WORDS_UNSIGNED): saturating v to [0, 2^16 - 1] changes no result (a negative sum
 * rounds to at most 0, and (2^16 - 1) >> 8 = 255: a saturated sum still rounds to 255 or
 * more), the saturating add keeps 2^16 - 1 there, and with sr >= 1 the shifted words are at
 * most 2^15 - 1, which packuswb (signed words) narrows to 255. */
F8_INLINE __m512i f8_round_shift16u(__m512i v, __m512i sr, __m512i bit)
{
    const __mmask32 odd = _mm512_test_epi16_mask(v, bit);
    return _mm512_srlv_epi16(_mm512_mask_adds_epu16(v, odd, v, _mm512_set1_epi16(1)), sr);
}

/* Stores the lanes of mask k of q at element index i: q is clamped to dtype's range, except
 * that u8 values may exceed 255 (never be negative) and s8 values 127: they saturate here. */
F8_INLINE void f8_store16(void *y, f8_dtype dtype, size_t i, __m512i q, __mmask16 k)
{
    if (dtype == F8_DTYPE_S32)
        _mm512_mask_storeu_epi32((int32_t *)y + i, k, q);
    else if (dtype == F8_DTYPE_U8)
        _mm_mask_storeu_epi8((uint8_t *)y + i, k, _mm512_cvtusepi32_epi8(q));
    else
        _mm_mask_storeu_epi8((uint8_t *)y + i, k, _mm512_cvtsepi32_epi8(q));
}

/* Loads up to 16 elements (mask k) of a u8/s8/s32 tensor as s32 lanes. */
F8_INLINE __m512i f8_load16(const void *x, f8_dtype dtype, size_t i, __mmask16 k)
{
    switch (dtype) {
    case F8_DTYPE_U8: return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, (const uint8_t *)x + i));
    case F8_DTYPE_S8: return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, (const int8_t *)x + i));
    default: return _mm512_maskz_loadu_epi32(k, (const int32_t *)x + i);
    }
}

F8_INLINE __mmask16 f8_mask16(uint32_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

#endif /* F8_SIMD_AVX512_H */
