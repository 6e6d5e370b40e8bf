/*
 * ADD, MAXPOOL and AVGPOOL on u8/s8 inputs, AVX-512 F/BW/VL (no VNNI instruction: hence the
 * _avx512bw suffix; the avx512vnni path runs them): 16 channels per zmm of s32 lanes, the
 * vector epilogue of simd_avx512.h. The planner uses them only where every intermediate fits
 * in 32 bits (f8_eltwise_fits_s32 in plan.c): ADD alignment shifts <= 22, pooling
 * windows of at most 2^23 elements; the *_wide_* kernels take the rest.
 */
#include "simd_avx512.h"

F8_INLINE __m512i load32x16(const void *x, f8_dtype dtype, size_t i, __mmask32 k)
{
    const __m256i v = _mm256_maskz_loadu_epi8(k, (const uint8_t *)x + i);
    return dtype == F8_DTYPE_U8 ? _mm512_cvtepu8_epi16(v) : _mm512_cvtepi8_epi16(v);
}

/* ADD of two 8-bit inputs into an 8-bit output with a right shift, in 16-bit lanes (32
 * elements per zmm) where everything fits: |a·2^sa| + |b·2^sb| <= 2·255·2^max(sa,sb) < 2^15;
 * u8 out: max 0, unsigned rounding shift (sum < 2^16 for sr <= 15), saturating narrow;
 * s8 out: pre-clamp to ±128·2^sr (sr <= 7), arithmetic rounding shift, max −127, saturating
 * narrow (the 32-bit forms of simd_avx512.h, same argument). */
static int add16_ok(const f8_kernel_args *a, const f8_epi *ep)
{
    const int fa = a->in0.fl, fb = a->in1.fl, f = fa > fb ? fa : fb;
    const int sh = f - fa > f - fb ? f - fa : f - fb;
    if (a->in0.dtype == F8_DTYPE_S32 || a->in1.dtype == F8_DTYPE_S32 || ep->any_left || sh > 6)
        return 0;
    if (a->out.dtype == F8_DTYPE_U8)
        return ep->max_sr <= 15;
    return a->out.dtype == F8_DTYPE_S8 && ep->max_sr <= 7;
}

static void add16(const f8_kernel_args *a, const f8_epi *ep, const void *x0, const void *x1,
                  void *y, size_t i0, size_t end)
{
    const int fa = a->in0.fl, fb = a->in1.fl, f = fa > fb ? fa : fb;
    const __m512i sa = _mm512_set1_epi16((short)(f - fa)), sb = _mm512_set1_epi16((short)(f - fb));
    const int sr = ep->sr[0];
    const __m512i vsr = _mm512_set1_epi16((short)sr), hm1 = _mm512_set1_epi16((short)ep->hm1[0]);
    const __m512i one = _mm512_set1_epi16((short)ep->one[0]);
    const int u8 = a->out.dtype == F8_DTYPE_U8;
    const __m512i hi = _mm512_set1_epi16((short)(128 << sr));
    const __m512i lo = a->relu ? _mm512_setzero_si512() : _mm512_set1_epi16((short)-(128 << sr));
    const __m512i m127 = _mm512_set1_epi16(-127);
    for (size_t i = i0; i < end; i += 32) {
        const size_t n = end - i < 32 ? end - i : 32;
        const __mmask32 k = n == 32 ? ~(__mmask32)0 : (((__mmask32)1 << n) - 1);
        __m512i v = _mm512_add_epi16(_mm512_sllv_epi16(load32x16(x0, a->in0.dtype, i, k), sa),
                                     _mm512_sllv_epi16(load32x16(x1, a->in1.dtype, i, k), sb));
        if (u8) {
            v = _mm512_max_epi16(v, _mm512_setzero_si512());
            const __m512i bit = _mm512_and_si512(_mm512_srlv_epi16(v, vsr), one);
            v = _mm512_srlv_epi16(_mm512_add_epi16(_mm512_add_epi16(v, hm1), bit), vsr);
            _mm256_mask_storeu_epi8((uint8_t *)y + i, k, _mm512_cvtusepi16_epi8(v));
        } else {
            v = _mm512_min_epi16(_mm512_max_epi16(v, lo), hi);
            const __m512i bit = _mm512_and_si512(_mm512_srav_epi16(v, vsr), one);
            v = _mm512_srav_epi16(_mm512_add_epi16(_mm512_add_epi16(v, hm1), bit), vsr);
            v = _mm512_max_epi16(v, m127);
            _mm256_mask_storeu_epi8((uint8_t *)y + i, k, _mm512_cvtsepi16_epi8(v));
        }
    }
}

void f8_add_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                            const void *x1, void *y, uint32_t row0, uint32_t row1)
{
    const size_t row = (size_t)a->out.w * a->out.c;
    if (add16_ok(a, ep)) {
        add16(a, ep, x0, x1, y, row0 * row, row1 * row);
        return;
    }
    const int fa = a->in0.fl, fb = a->in1.fl, f = fa > fb ? fa : fb;
    const __m512i sa = _mm512_set1_epi32(f - fa), sb = _mm512_set1_epi32(f - fb);
    const f8_epi_zmm e = f8_epi_zmm_load(ep, 0, a->relu);
    const size_t end = row1 * row;
    for (size_t i = row0 * row; i < end; i += 16) {
        const __mmask16 k = f8_mask16((uint32_t)(end - i < 16 ? end - i : 16));
        const __m512i va = _mm512_sllv_epi32(f8_load16(x0, a->in0.dtype, i, k), sa);
        const __m512i vb = _mm512_sllv_epi32(f8_load16(x1, a->in1.dtype, i, k), sb);
        f8_store16(y, a->out.dtype, i, f8_epi_zmm_apply(&e, _mm512_add_epi32(va, vb)), k);
    }
}

F8_INLINE __m512i load8x64(const void *x, f8_dtype dtype, size_t i, __mmask8 k)
{
    switch (dtype) {
    case F8_DTYPE_U8:
        return _mm512_cvtepu8_epi64(_mm_maskz_loadu_epi8((__mmask16)k, (const uint8_t *)x + i));
    case F8_DTYPE_S8:
        return _mm512_cvtepi8_epi64(_mm_maskz_loadu_epi8((__mmask16)k, (const int8_t *)x + i));
    default: return _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, (const int32_t *)x + i));
    }
}

/* The epilogue of FORMAT.md in 64-bit lanes, exactly the scalar reference's arithmetic: ReLU,
 * requant by n (n > 0 rounds half to even with (v + 2^(n−1) − 1 + bit n of v) >> n,
 * arithmetic, which cannot overflow for |v| < 2^62 + 2^31; n <= 0 shifts left wrapping modulo
 * 2^64), clamp to the output dtype. */
typedef struct {
    __m512i sr, sl, hm1, one, lo, hi;
    int relu;
    f8_dtype out;
} epi64;

F8_INLINE epi64 epi64_init(int n, int relu, f8_dtype out)
{
    epi64 e;
    e.sr = _mm512_set1_epi64(n > 0 ? n : 0);
    e.sl = _mm512_set1_epi64(n < 0 ? -n : 0);
    e.hm1 = _mm512_set1_epi64(n > 0 ? ((int64_t)1 << (n - 1)) - 1 : 0);
    e.one = _mm512_set1_epi64(n > 0 ? 1 : 0);
    e.lo = _mm512_set1_epi64(out == F8_DTYPE_U8 ? 0 : out == F8_DTYPE_S8 ? -127 : -INT32_MAX);
    e.hi = _mm512_set1_epi64(out == F8_DTYPE_U8 ? 255 : out == F8_DTYPE_S8 ? 127 : INT32_MAX);
    e.relu = relu;
    e.out = out;
    return e;
}

/* Requantizes 8 values and stores them as elements i.. of y (mask k). */
F8_INLINE void epi64_store(const epi64 *e, __m512i v, void *y, size_t i, __mmask8 k)
{
    if (e->relu)
        v = _mm512_max_epi64(v, _mm512_setzero_si512());
    const __m512i bit = _mm512_and_si512(_mm512_srav_epi64(v, e->sr), e->one);
    v = _mm512_srav_epi64(_mm512_add_epi64(_mm512_add_epi64(v, e->hm1), bit), e->sr);
    v = _mm512_min_epi64(_mm512_max_epi64(_mm512_sllv_epi64(v, e->sl), e->lo), e->hi);
    if (e->out == F8_DTYPE_S32)
        _mm256_mask_storeu_epi32((int32_t *)y + i, k, _mm512_cvtepi64_epi32(v));
    else
        _mm_mask_storeu_epi8((uint8_t *)y + i, (__mmask16)k, _mm512_cvtepi64_epi8(v));
}

F8_INLINE __mmask8 mask8(size_t n)
{
    return n < 8 ? (__mmask8)((1u << n) - 1) : (__mmask8)0xff;
}

/* ADD with an s32 input (an s32 conv output meeting the block's input, as in the Fashion
 * network) or alignment shifts too long for 32 bits: v = a·2^sa + b·2^sb in 64-bit lanes
 * (|v| < 2^62 + 2^31, no overflow), 8 elements per zmm. */
void f8_add_wide_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                                 const void *x1, void *y, uint32_t row0, uint32_t row1)
{
    (void)ep;
    const int fa = a->in0.fl, fb = a->in1.fl, f = fa > fb ? fa : fb;
    const __m512i sa = _mm512_set1_epi64(f - fa), sb = _mm512_set1_epi64(f - fb);
    const epi64 e = epi64_init(f - a->out.fl, a->relu, a->out.dtype);
    const size_t row = (size_t)a->out.w * a->out.c, end = row1 * row;
    for (size_t i = row0 * row; i < end; i += 8) {
        const __mmask8 k = mask8(end - i);
        const __m512i v = _mm512_add_epi64(_mm512_sllv_epi64(load8x64(x0, a->in0.dtype, i, k), sa),
                                           _mm512_sllv_epi64(load8x64(x1, a->in1.dtype, i, k), sb));
        epi64_store(&e, v, y, i, k);
    }
}

/* AVGPOOL of an s32 input (or windows too large for 32-bit sums): 64-bit sums of 8
 * channels, |sum| < 2^31 · 2^32 for any window the format allows. */
void f8_avgpool_wide_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x,
                                     void *y, uint32_t row0, uint32_t row1)
{
    (void)ep;
    const uint32_t W = a->in0.w, C = a->in0.c, Wo = a->out.w;
    const epi64 e = epi64_init(a->in0.fl + (int)a->avg_shift - a->out.fl, a->relu, a->out.dtype);
    for (uint32_t oy = row0; oy < row1; oy++)
        for (uint32_t ox = 0; ox < Wo; ox++)
            for (uint32_t c = 0; c < C; c += 8) {
                const __mmask8 k = mask8(C - c);
                __m512i v = _mm512_setzero_si512();
                for (uint32_t ky = 0; ky < a->kernel_h; ky++) {
                    const size_t iy = (size_t)oy * a->stride_h + ky;
                    for (uint32_t kx = 0; kx < a->kernel_w; kx++) {
                        const size_t ix = (size_t)ox * a->stride_w + kx;
                        v = _mm512_add_epi64(v, load8x64(x, a->in0.dtype, (iy * W + ix) * C + c, k));
                    }
                }
                epi64_store(&e, v, y, ((size_t)oy * Wo + ox) * C + c, k);
            }
}

/* MAXPOOL whose epilogue is the identity (same 8-bit dtype in and out, shift 0): the max of
 * bytes is the max of the values, 64 channels per zmm; ReLU is a max with 0 (a no-op on u8). */
static void maxpool_bytes(const f8_kernel_args *a, const uint8_t *x, uint8_t *y, uint32_t row0,
                          uint32_t row1)
{
    const uint32_t W = a->in0.w, C = a->in0.c, Wo = a->out.w;
    const int s8 = a->in0.dtype == F8_DTYPE_S8;
    for (uint32_t oy = row0; oy < row1; oy++) {
        for (uint32_t ox = 0; ox < Wo; ox++) {
            const f8_window win = f8_pool_window(a, oy, ox);
            const int64_t iy0 = win.iy0, ix0 = win.ix0;
            const uint32_t ky0 = win.ky0, ky1 = win.ky1, kx0 = win.kx0, kx1 = win.kx1;
            if (!s8 && C % 64 == 0 && ky1 - ky0 == 3 && kx1 - kx0 == 3) {
                /* a whole 3×3 window of u8 (ResNet's max pool but at the borders): nine
                 * loads at fixed offsets, no loop bounds */
                const uint8_t *p = x + ((size_t)(iy0 + ky0) * W + (size_t)(ix0 + kx0)) * C;
                const size_t r = (size_t)W * C;
                uint8_t *q = y + ((size_t)oy * Wo + ox) * C;
                for (uint32_t c = 0; c < C; c += 64, p += 64) {
                    __m512i v = _mm512_max_epu8(_mm512_loadu_si512(p), _mm512_loadu_si512(p + C));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + 2 * C));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + r));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + r + C));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + r + 2 * C));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + 2 * r));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + 2 * r + C));
                    v = _mm512_max_epu8(v, _mm512_loadu_si512(p + 2 * r + 2 * C));
                    _mm512_storeu_si512(q + c, v);
                }
                continue;
            }
            for (uint32_t c = 0; c < C; c += 64) {
                const __mmask64 k = C - c >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (C - c)) - 1);
                __m512i v = _mm512_set1_epi8(s8 ? (char)-128 : 0);
                for (uint32_t ky = ky0; ky < ky1; ky++)
                    for (uint32_t kx = kx0; kx < kx1; kx++) {
                        const __m512i e = _mm512_maskz_loadu_epi8(
                            k, x + ((size_t)(iy0 + ky) * W + (size_t)(ix0 + kx)) * C + c);
                        v = s8 ? _mm512_max_epi8(v, e) : _mm512_max_epu8(v, e);
                    }
                if (s8 && a->relu)
                    v = _mm512_max_epi8(v, _mm512_setzero_si512());
                _mm512_mask_storeu_epi8(y + ((size_t)oy * Wo + ox) * C + c, k, v);
            }
        }
    }
}

void f8_maxpool_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x,
                                void *y, uint32_t row0, uint32_t row1)
{
    const uint32_t W = a->in0.w, C = a->in0.c, Wo = a->out.w;
    if (a->in0.dtype == a->out.dtype && a->in0.dtype != F8_DTYPE_S32 && a->in0.fl == a->out.fl) {
        maxpool_bytes(a, x, y, row0, row1);
        return;
    }
    const f8_epi_zmm e = f8_epi_zmm_load(ep, 0, a->relu);
    for (uint32_t oy = row0; oy < row1; oy++) {
        for (uint32_t ox = 0; ox < Wo; ox++) {
            const f8_window win = f8_pool_window(a, oy, ox);
            const int64_t iy0 = win.iy0, ix0 = win.ix0;
            const uint32_t ky0 = win.ky0, ky1 = win.ky1, kx0 = win.kx0, kx1 = win.kx1;
            for (uint32_t c = 0; c < C; c += 16) {
                const __mmask16 k = f8_mask16(C - c);
                __m512i v = _mm512_set1_epi32(INT32_MIN);
                for (uint32_t ky = ky0; ky < ky1; ky++)
                    for (uint32_t kx = kx0; kx < kx1; kx++) {
                        const size_t i = ((size_t)(iy0 + ky) * W + (size_t)(ix0 + kx)) * C + c;
                        v = _mm512_max_epi32(v, f8_load16(x, a->in0.dtype, i, k));
                    }
                const size_t yi = ((size_t)oy * Wo + ox) * C + c;
                f8_store16(y, a->out.dtype, yi, f8_epi_zmm_apply(&e, v), k);
            }
        }
    }
}

void f8_avgpool_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x,
                                void *y, uint32_t row0, uint32_t row1)
{
    const uint32_t W = a->in0.w, C = a->in0.c, Wo = a->out.w;
    const f8_epi_zmm e = f8_epi_zmm_load(ep, 0, a->relu);
    for (uint32_t oy = row0; oy < row1; oy++)
        for (uint32_t ox = 0; ox < Wo; ox++)
            for (uint32_t c = 0; c < C; c += 16) {
                const __mmask16 k = f8_mask16(C - c);
                __m512i v = _mm512_setzero_si512();
                for (uint32_t ky = 0; ky < a->kernel_h; ky++)
                    for (uint32_t kx = 0; kx < a->kernel_w; kx++) {
                        const size_t iy = (size_t)oy * a->stride_h + ky;
                        const size_t ix = (size_t)ox * a->stride_w + kx;
                        v = _mm512_add_epi32(v, f8_load16(x, a->in0.dtype, (iy * W + ix) * C + c, k));
                    }
                f8_store16(y, a->out.dtype, ((size_t)oy * Wo + ox) * C + c, f8_epi_zmm_apply(&e, v), k);
            }
}
