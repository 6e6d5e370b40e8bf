/*
 * Requantization, docs/FORMAT.md §1.1: the only place a value changes fractional length.
 * Everything is computed on int64 without undefined behaviour: no shift of a negative
 * number, no signed overflow.
 */
#include "kernels.h"

int64_t f8_clamp(int64_t q, f8_dtype dtype)
{
    int64_t lo, hi;
    switch (dtype) {
    case F8_DTYPE_U8: lo = 0; hi = 255; break;
    case F8_DTYPE_S8: lo = -127; hi = 127; break;
    default: lo = -(int64_t)INT32_MAX; hi = INT32_MAX; break;
    }
    return q < lo ? lo : q > hi ? hi : q;
}

int64_t f8_requant(int64_t v, int n, f8_dtype dtype)
{
    int64_t q;
    if (n > 0) {
        /* q = floor(v / 2^n), r = v - q*2^n in [0, 2^n). (uint64_t)v is v mod 2^64, so its
         * low n bits are v mod 2^n; v - r is an exact multiple of 2^n (and >= INT64_MIN,
         * itself a multiple of 2^n), so the division is exact. */
        const uint64_t mask = ((uint64_t)1 << n) - 1;
        const uint64_t r = (uint64_t)v & mask;
        const uint64_t half = (uint64_t)1 << (n - 1);
        q = (v - (int64_t)r) / ((int64_t)1 << n);
        if (r > half || (r == half && ((uint64_t)q & 1u)))
            q += 1;
    } else {
        /* q = v · 2^s, "a left shift, in 64 bits": done on uint64 so that it wraps modulo
         * 2^64 like the trainer's simulator (numpy's int64 left_shift) instead of being
         * undefined. Only an ADD or AVGPOOL of extreme s32 values followed by a left shift can
         * reach 2^63; conv/dense accumulators (< 2^31) shifted by <= 31 never do. */
        q = (int64_t)((uint64_t)v << -n);
    }
    return f8_clamp(q, dtype);
}
