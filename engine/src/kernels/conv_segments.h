/*
 * Shared by the GEMM convolution kernels (any ISA; plain C): where the input row segments of
 * one tile of output pixels lie. In NHWC the kw taps × Cin channels of a kernel row are
 * kw·Cin contiguous bytes, which pack.c's weights follow (rounded up to seg4, a multiple of 4,
 * with zero weights past kw·Cin). A segment wholly inside the image whose seg4 bytes stay
 * inside the tensor is read in place (the 0-3 bytes past it meet zero weights); a kernel row
 * in the top/bottom padding reads the model's zero buffer; any other segment is copied,
 * zero-filled, into the caller's scratch (FORMAT.md: padding is the real 0; s8 kernels flip
 * those zeros to 128 like every other byte, so the −128·Σw bias correction stays exact).
 */
#ifndef F8_CONV_SEGMENTS_H
#define F8_CONV_SEGMENTS_H

#include <string.h>

#include "kernels.h"

#define F8_MR_MAX 6                       /* widest pixel tile of any GEMM kernel */
#define F8_SCRATCH_BYTES (48 * 1024)      /* kh · F8_MR_MAX · seg4 must fit (pack.c checks) */
#define F8_PATCH_MAX_BYTES 1024           /* a gathered window (pk->patch) at most */
#define F8_PATCH_STRIDE(seg4) ((size_t)(seg4) + 32)

/* One kernel row of a gathered window: the kw·Cin bytes of input row iy from column ix0 (zeros
 * where they lie outside the image), written as 32 bytes at dst (past kw·Cin: whatever the
 * row holds there, or zeros; the next row or the tail overwrites them, and zero weights meet
 * them). inside_x: columns [ix0, ix0 + kw) are all inside the image. */
static inline __attribute__((always_inline)) void
f8_row_piece(const f8_conv_geom *g, const uint8_t *x, int64_t iy, int64_t ix0, int inside_x,
             uint8_t *dst)
{
    const uint32_t Cin = g->Cin, W = g->W, kw = g->kw;
    if (iy < 0 || iy >= (int64_t)g->H) {
        memset(dst, 0, 32);
        return;
    }
    const uint8_t *src = x + (size_t)iy * W * Cin;
    if (inside_x && ((size_t)iy * W + (size_t)ix0) * Cin + 32 <= (size_t)g->H * W * Cin) {
        memcpy(dst, src + (size_t)ix0 * Cin, 32);
        return;
    }
    /* bytes [lo, hi) of the row lie inside the image: a byte loop, no library calls */
    const int64_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int64_t kx_hi = ix0 + kw > W ? (int64_t)W - ix0 : (int64_t)kw;
    const uint32_t lo = (uint32_t)kx_lo * Cin;
    const uint32_t hi = kx_hi > kx_lo ? (uint32_t)kx_hi * Cin : lo;
    for (uint32_t k = 0; k < 32; k++)
        dst[k] = k >= lo && k < hi ? src[(size_t)((int64_t)ix0 * Cin + (int64_t)k)] : 0;
}

/* pk->patch: ptrs[m] for m < MR, the whole window of output pixel pix0 + min(m, mr - 1)
 * gathered into scratch (kh rows of kw·Cin <= 32 bytes each, back to back, zeros where the
 * window leaves the image and up to seg4). A row wholly inside the tensor is copied as 32
 * bytes (one vector move; the bytes past it are overwritten by the next row, or by the zero
 * tail written last); each pixel's patch is F8_PATCH_STRIDE(seg4) bytes from the previous
 * one, so the overshoot of its last row never reaches the next pixel. */
static inline __attribute__((always_inline)) void
f8_patches(const f8_conv_geom *g, const uint8_t *x, uint32_t pix0, uint32_t mr, const int MR,
           const uint8_t **ptrs, uint8_t *scratch)
{
    const uint32_t Cin = g->Cin, W = g->W, kw = g->kw, row = kw * Cin, seg4 = g->pk->seg4;
    const size_t total = (size_t)g->H * W * Cin;
    uint32_t oy = pix0 / g->Wo, ox = pix0 % g->Wo;
    {
        /* Fast path: the tile lies in one output row, all its windows inside the image
         * horizontally, and the last pixel's rows can be read as 32 bytes: row by row, one
         * 32-byte move per pixel. */
        const int64_t ixa = (int64_t)ox * g->sw - g->pl;
        const int64_t ixb = (int64_t)(ox + mr - 1) * g->sw - g->pl;
        const int64_t iy_last = (int64_t)oy * g->sh - g->pt + g->kh - 1;
        const int64_t iy_end = iy_last < (int64_t)g->H ? iy_last : (int64_t)g->H - 1;
        if (ox + mr <= g->Wo && ixa >= 0 && ixb + kw <= W &&
            (iy_end < 0 || ((size_t)iy_end * W + (size_t)ixb) * Cin + 32 <= total)) {
            const size_t step = (size_t)g->sw * Cin;
            for (int m = 0; m < MR; m++)
                ptrs[m] = scratch + (size_t)m * F8_PATCH_STRIDE(seg4);
            for (uint32_t ky = 0; ky < g->kh; ky++) {
                const int64_t iy = (int64_t)oy * g->sh - g->pt + ky;
                uint8_t *dst = scratch + (size_t)ky * row;
                if (iy < 0 || iy >= (int64_t)g->H) {
                    for (int m = 0; m < MR; m++)
                        memset(dst + (size_t)m * F8_PATCH_STRIDE(seg4), 0, 32);
                    continue;
                }
                const uint8_t *src = x + ((size_t)iy * W + (size_t)ixa) * Cin;
                if (mr == (uint32_t)MR) /* (a full tile: no per-pixel clamp of m) */
                    for (int m = 0; m < MR; m++)
                        memcpy(dst + (size_t)m * F8_PATCH_STRIDE(seg4), src + (size_t)m * step, 32);
                else
                    for (int m = 0; m < MR; m++)
                        memcpy(dst + (size_t)m * F8_PATCH_STRIDE(seg4),
                               src + ((uint32_t)m < mr ? (uint32_t)m : mr - 1) * step, 32);
            }
            for (int m = 0; m < MR; m++)
                memset(scratch + (size_t)m * F8_PATCH_STRIDE(seg4) + (size_t)g->kh * row, 0, 4);
            return;
        }
    }
    for (int m = 0; m < MR; m++) {
        if (m > 0 && (uint32_t)m < mr && ++ox == g->Wo) {
            ox = 0;
            oy++;
        }
        uint8_t *dst = scratch + (size_t)m * F8_PATCH_STRIDE(seg4);
        ptrs[m] = dst;
        const int64_t ix0 = (int64_t)ox * g->sw - g->pl;
        const int inside_x = ix0 >= 0 && ix0 + kw <= W;
        for (uint32_t ky = 0; ky < g->kh; ky++, dst += row)
            f8_row_piece(g, x, (int64_t)oy * g->sh - g->pt + ky, ix0, inside_x, dst);
        memset(dst, 0, 4); /* the tail up to seg4 (the last row's copy may have filled it) */
    }
}

/* conv_patch_columns' strip for output column ox from output row oy: the row pieces of input
 * rows oy·sh − pt + r, r < nrows, back to back (window m of the column starts m·sh rows in).
 * Up to 32 bytes past the last piece are overwritten. */
static inline __attribute__((always_inline)) void
f8_strip(const f8_conv_geom *g, const uint8_t *x, uint32_t oy, uint32_t ox, uint32_t nrows,
         uint8_t *strip)
{
    const uint32_t row = g->kw * g->Cin;
    const int64_t ix0 = (int64_t)ox * g->sw - g->pl, iy0 = (int64_t)oy * g->sh - g->pt;
    const int inside_x = ix0 >= 0 && ix0 + g->kw <= g->W;
    for (uint32_t r = 0; r < nrows; r++)
        f8_row_piece(g, x, iy0 + r, ix0, inside_x, strip + (size_t)r * row);
}

/* ptrs[ky * MR + m] for ky < kh, m < MR: the segments of output pixel pix0 + min(m, mr - 1),
 * pixels numbered row-major over the output image (a tile may span output rows). */
static inline __attribute__((always_inline)) void
f8_segments(const f8_conv_geom *g, const uint8_t *x, uint32_t pix0, uint32_t mr, const int MR,
            const uint8_t **ptrs, uint8_t *scratch)
{
    if (g->pk->patch) {
        f8_patches(g, x, pix0, mr, MR, ptrs, scratch);
        return;
    }
    const uint32_t Cin = g->Cin, W = g->W, kw = g->kw, seg4 = g->pk->seg4;
    const size_t total = (size_t)g->H * W * Cin;
    uint32_t oy = pix0 / g->Wo, ox = pix0 % g->Wo; /* of pixel pix0 + m, kept incrementally */
    {
        /* Fast path: the tile lies in one output row and all its windows inside the image
         * horizontally, and the last segment's seg4 bytes stay inside the tensor. */
        const int64_t ixa = (int64_t)ox * g->sw - g->pl;
        const int64_t ixb = (int64_t)(ox + mr - 1) * g->sw - g->pl;
        const int64_t iy_last = (int64_t)oy * g->sh - g->pt + g->kh - 1;
        const int64_t iy_end = iy_last < (int64_t)g->H ? iy_last : (int64_t)g->H - 1;
        if (ox + mr <= g->Wo && ixa >= 0 && ixb + kw <= W &&
            (iy_end < 0 || ((size_t)iy_end * W + (size_t)ixb) * Cin + seg4 <= total)) {
            const size_t step = (size_t)g->sw * Cin;
            for (uint32_t ky = 0; ky < g->kh; ky++) {
                const int64_t iy = (int64_t)oy * g->sh - g->pt + ky;
                const uint8_t **p = &ptrs[ky * (uint32_t)MR];
                if (iy < 0 || iy >= (int64_t)g->H) {
                    for (int m = 0; m < MR; m++)
                        p[m] = g->zero;
                    continue;
                }
                const uint8_t *base = x + ((size_t)iy * W + (size_t)ixa) * Cin;
                for (int m = 0; m < MR; m++)
                    p[m] = base + ((uint32_t)m < mr ? (uint32_t)m : mr - 1) * step;
            }
            return;
        }
    }
    for (int m = 0; m < MR; m++) {
        if (m > 0 && (uint32_t)m < mr && ++ox == g->Wo) {
            ox = 0;
            oy++;
        }
        const int64_t ix0 = (int64_t)ox * g->sw - g->pl;
        for (uint32_t ky = 0; ky < g->kh; ky++) {
            const int64_t iy = (int64_t)oy * g->sh - g->pt + ky;
            const uint8_t **p = &ptrs[ky * (uint32_t)MR + (uint32_t)m];
            if (iy < 0 || iy >= (int64_t)g->H) {
                *p = g->zero;
                continue;
            }
            const uint8_t *row = x + (size_t)iy * W * Cin;
            if (ix0 >= 0 && ix0 + kw <= W &&
                ((size_t)iy * W + (size_t)ix0) * Cin + seg4 <= total) {
                *p = row + (size_t)ix0 * Cin;
                continue;
            }
            uint8_t *s = scratch + (size_t)(ky * (uint32_t)MR + (uint32_t)m) * seg4;
            /* bytes [lo, hi) of the segment lie inside the image, the rest is padding */
            const int64_t kx_lo = ix0 < 0 ? -ix0 : 0;
            const int64_t kx_hi = ix0 + kw > W ? (int64_t)W - ix0 : (int64_t)kw;
            const size_t lo = (size_t)kx_lo * Cin, hi = kx_hi > kx_lo ? (size_t)kx_hi * Cin : lo;
            if (seg4 <= 64) { /* a few bytes (a stem with 1-3 channels): no library calls */
                for (size_t k = 0; k < seg4; k++)
                    s[k] = k >= lo && k < hi ? row[(size_t)((int64_t)ix0 * Cin + (int64_t)k)] : 0;
            } else {
                memset(s, 0, lo);
                memcpy(s + lo, row + (size_t)((int64_t)ix0 * Cin + (int64_t)lo), hi - lo);
                memset(s + hi, 0, seg4 - hi);
            }
            *p = s;
        }
    }
}

/* Kernel rows [*ky0, *ky1) of a tile of mr pixels from pix0: the rows that lie in the top or
 * bottom padding for every pixel of the tile are left out. With u8 inputs such a row adds
 * 0 (the padding is the real 0), so skipping it changes nothing; that is a third of the
 * work of the first and last output rows of a 3×3 layer (18% of all taps on a 7×7 map).
 * s8 inputs keep every row: the kernels flip the padding to 128 like any byte and the bias
 * subtracts 128·Σw over all rows. */
static inline __attribute__((always_inline)) void
f8_live_rows(const f8_conv_geom *g, uint32_t pix0, uint32_t mr, uint32_t *ky0, uint32_t *ky1)
{
    *ky0 = 0;
    *ky1 = g->krows;
    if (g->in_s8 || g->krows == 1) /* (1x1 layers: no divisions in their short tiles) */
        return;
    const int64_t oy_first = pix0 / g->Wo, oy_last = (pix0 + mr - 1) / g->Wo;
    const int64_t top = (int64_t)g->pt - oy_last * g->sh;              /* rows below: padding */
    const int64_t bottom = (int64_t)g->H + g->pt - oy_first * g->sh;   /* rows from: padding */
    const uint32_t lo = top > 0 ? (uint32_t)top : 0;
    const uint32_t hi = bottom < (int64_t)g->krows ? (uint32_t)(bottom > 0 ? bottom : 0) : g->krows;
    if (lo < hi) { /* (a tile wholly in the padding keeps its rows: never empty) */
        *ky0 = lo;
        *ky1 = hi;
    }
}

/* Weights of block b (16 output channels): the first 64 bytes of its reduction step 0; the
 * next step is *step bytes further (pack.c's tile layout). */
static inline __attribute__((always_inline)) const int8_t *
f8_gemm_block(const f8_packed *pk, uint32_t kh, uint32_t b, size_t *step)
{
    const uint32_t tile = b / 4, nbt = pk->nblk - tile * 4 < 4 ? pk->nblk - tile * 4 : 4;
    *step = (size_t)nbt * 64;
    return pk->w + (size_t)tile * 4 * kh * pk->seg4 * 16 + (size_t)(b % 4) * 64;
}

#endif /* F8_CONV_SEGMENTS_H */
