/*
 * Shared by the GEMM convolution kernels (any ISA; plain C): where the input row segment of
 * one output pixel and one kernel row lies. In NHWC the kw taps × Cin channels of a kernel
 * row are kw·Cin contiguous bytes, which pack.c's weights follow, so a segment wholly inside
 * the image is read in place. A kernel row in the top/bottom padding reads the model's zero
 * buffer; one that crosses the left/right padding is copied, zero-filled, into the caller's
 * scratch row (FORMAT.md: padding is the real 0; s8 kernels flip those zeros to 128 like
 * every other byte, so the −128·Σw bias correction stays exact).
 */
#ifndef F8_CONV_SEGMENTS_H
#define F8_CONV_SEGMENTS_H

#include <string.h>

#include "kernels.h"

/* Longest kernel row (kw·Cin bytes) the SIMD kernels take; pack.c leaves longer ones with
 * horizontal padding to the scalar kernel. */
#define F8_SEG_MAX 4096

static inline __attribute__((always_inline)) const uint8_t *
f8_segment(const f8_conv_geom *g, const uint8_t *x, int64_t iy, int64_t ix0, uint8_t *scratch)
{
    if (iy < 0 || iy >= (int64_t)g->H)
        return g->zero;
    const uint32_t Cin = g->Cin, W = g->W, kw = g->kw;
    const uint8_t *row = x + (size_t)iy * W * Cin;
    if (ix0 >= 0 && ix0 + kw <= W)
        return row + (size_t)ix0 * Cin;
    for (uint32_t kx = 0; kx < kw; kx++) {
        const int64_t ix = ix0 + kx;
        if (ix >= 0 && ix < (int64_t)W)
            memcpy(scratch + (size_t)kx * Cin, row + (size_t)ix * Cin, Cin);
        else
            memset(scratch + (size_t)kx * Cin, 0, Cin);
    }
    return scratch;
}

#endif /* F8_CONV_SEGMENTS_H */
