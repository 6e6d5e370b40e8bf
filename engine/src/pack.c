/*
 * Weight packing at load (docs/ENGINE.md "Weight packing"): the layouts the SIMD kernels
 * read, the input-dtype bias correction and the per-channel epilogue constants. Done once per
 * model in f8_model_open*; the packed arrays are shared by every runner and every path.
 */
#include <stdlib.h>
#include <string.h>

#include "f8_internal.h"
#include "kernels/conv_segments.h"

static int32_t wrap_add(int32_t a, int64_t b)
{
    return f8_wrap32((int64_t)a + b);
}

/* Epilogue constants for shift n into lane i (see kernels.h). */
static void epi_lane(int32_t *sr, int32_t *mask, int32_t *hm1, int32_t *one, int32_t *sl,
                     int32_t *lo_pre, int32_t *hi_pre, size_t i, int n, int32_t lo, int32_t hi)
{
    if (n > 0) {
        sr[i] = n;
        mask[i] = (int32_t)(((uint32_t)1 << n) - 1);
        hm1[i] = (int32_t)(((uint32_t)1 << (n - 1)) - 1);
        one[i] = 1;
        sl[i] = 0;
        lo_pre[i] = lo;
        hi_pre[i] = hi;
    } else {
        const int s = -n;
        sr[i] = mask[i] = hm1[i] = one[i] = 0;
        sl[i] = s;
        /* floor(hi / 2^s) for hi >= 0; ceil(lo / 2^s) = -floor(-lo / 2^s) for lo <= 0 */
        hi_pre[i] = (int32_t)((int64_t)hi >> s);
        lo_pre[i] = (int32_t)(-((-(int64_t)lo) >> s));
    }
}

static void dtype_range(f8_dtype d, int32_t *lo, int32_t *hi)
{
    *lo = (int32_t)f8_clamp(INT64_MIN / 2, d);
    *hi = (int32_t)f8_clamp(INT64_MAX / 2, d);
}

void f8_epi16_init(f8_epi16 *e, int n, f8_dtype out)
{
    int32_t lo, hi;
    dtype_range(out, &lo, &hi);
    for (size_t i = 0; i < 16; i++)
        epi_lane(e->sr, e->mask, e->hm1, e->one, e->sl, e->lo_pre, e->hi_pre, i, n, lo, hi);
    e->ep.sr = e->sr;
    e->ep.mask = e->mask;
    e->ep.hm1 = e->hm1;
    e->ep.one = e->one;
    e->ep.sl = e->sl;
    e->ep.lo_pre = e->lo_pre;
    e->ep.hi_pre = e->hi_pre;
    e->ep.lo = lo;
    e->ep.hi = hi;
    e->ep.any_left = n < 0;
    e->ep.max_sr = e->ep.min_sr = n > 0 ? n : 0;
}

void f8_pack_free(f8_packed *pk)
{
    if (pk) {
        free(pk->mem);
        memset(pk, 0, sizeof *pk);
    }
}

/* Whether a convolution's window goes in as one gathered segment per pixel (conv_segments.h,
 * f8_patches) rather than one segment per kernel row: when its rows of kw·cin bytes are not a
 * multiple of 4 (each row then wastes up to 3 bytes of every vpdpbusd step, 3 in 24 for a
 * 7×7×3 stem) and the whole window, rounded up to 4 once, is fewer bytes. Each row is copied
 * as 32 bytes, so rows must be at most 32 bytes; the window at most F8_PATCH_MAX_BYTES. Below
 * 64 bytes (a 3×3×3 stem: 7 steps) the gathering costs what the saved steps gain. */
static int patch_pays(uint32_t kh, uint32_t kw, uint32_t cin)
{
    const uint64_t row = (uint64_t)kw * cin, window = row * kh;
    return kh > 1 && row % 4 != 0 && row <= 32 && window >= 64 && window <= F8_PATCH_MAX_BYTES &&
           ((window + 3) & ~3ull) < kh * ((row + 3) & ~3ull);
}

/* ---- depthwise 3x3 with the packing epilogue (dwq) ------------------------------------
 * For u8 inputs, u8/s8 outputs and sums that cannot leave s32 (the GEMM's sums_fit bound: only
 * right shifts, sr <= 30, |bias| + 255·Σ|w| + hm1 < 2^31), the 3x3 depthwise kernels of
 * dwconv2d_nhwc_3x3_*.c read their weights and constants in the lane order of their unpack
 * transposes (kernels.h, docs/ENGINE.md §5): the bias with hm1 added, sr, and 2^sr where
 * sr > 0 (0 where sr = 0): the bit of the sum that is the quotient's lowest; with every
 * sr <= 7 also sr and 2^sr as words, for the epilogue on packssdw's saturated words. */
static size_t dwq_size(uint32_t cout)
{
    const size_t g64 = (cout + 63) / 64, g32 = (cout + 31) / 32;
    return g64 * 3 * 4 * 64 + g32 * 3 * 2 * 2 * 32 * 2 + (g64 * 64 + g32 * 32) * 3 * 4 +
           g64 * 64 * 4 * 2;
}

/* Position of channel c in a group of 16·nvec channels whose vector j holds, in dword 4L + i,
 * channel 4·nvec·L + 4j + i (nvec = 4: 64c4, nvec = 2: 32c2). */
static size_t dwq_lane(uint32_t c, uint32_t nvec, uint32_t *t, uint32_t *j)
{
    const uint32_t g = 16 * nvec, r = c % g, L = r / (4 * nvec);
    *t = c / g;
    *j = r % (4 * nvec) / 4;
    return 4 * L + r % 4;
}

static void pack_dwq(const f8_kernel_args *a, uint32_t cout, const int32_t *hm1,
                     const int32_t *sr, const int32_t *one, uint8_t *mem, f8_packed *pk)
{
    const size_t g64 = (cout + 63) / 64, g32 = (cout + 31) / 32;
    int8_t *w64 = (int8_t *)mem;
    int16_t *w32 = (int16_t *)(void *)(mem + g64 * 768);
    int32_t *q64 = (int32_t *)(void *)(mem + g64 * 768 + g32 * 768), *q32 = q64 + g64 * 64 * 3;
    int16_t *srw = (int16_t *)(q32 + g32 * 32 * 3), *bitw = srw + g64 * 64;
    int16_t *srn = bitw + g64 * 64, *bitn = srn + g64 * 64;
    int words = 1;
    /* 32 channels fill lanes 32-63 again: the kernel's next output pixel */
    const uint32_t lanes = cout == 32 ? 64 : cout;
    for (uint32_t l = 0; l < lanes; l++) {
        const uint32_t c = l % cout;
        /* the words of packssdw(q0, q1), packssdw(q2, q3) of the 64c4 order: channel
         * 16L + 8h + i of the group at word 32h + 8L + i */
        const uint32_t r = l % 64, L = r / 16, h = r % 16 / 8;
        srw[l / 64 * 64 + 32 * h + 8 * L + r % 8] = (int16_t)sr[c];
        bitw[l / 64 * 64 + 32 * h + 8 * L + r % 8] = (int16_t)(sr[c] ? 1 << sr[c] : 0);
        uint32_t t, j;
        const size_t p = dwq_lane(l, 4, &t, &j), i64 = (size_t)t * 64 + j * 16 + p;
        q64[i64] = wrap_add(a->bias[c], hm1[c]);
        q64[g64 * 64 + i64] = sr[c];
        q64[2 * g64 * 64 + i64] = one[c] ? (int32_t)(1u << sr[c]) : 0;
        for (uint32_t kx = 0; kx < 3; kx++)
            for (uint32_t ky = 0; ky < 3; ky++)
                w64[(((size_t)t * 3 + kx) * 4 + j) * 64 + p * 4 + ky] =
                    f8_weight(a, (size_t)c * 9 + ky * 3 + kx);
    }
    for (uint32_t c = 0; c < cout; c++) {
        srn[c] = (int16_t)sr[c]; /* the same in channel order */
        bitn[c] = (int16_t)(sr[c] ? 1 << sr[c] : 0);
        words &= sr[c] <= 7;
        uint32_t t, j;
        const size_t p = dwq_lane(c, 2, &t, &j);
        const size_t i32 = (size_t)t * 32 + j * 16 + p;
        q32[i32] = wrap_add(a->bias[c], hm1[c]);
        q32[g32 * 32 + i32] = sr[c];
        q32[2 * g32 * 32 + i32] = one[c] ? (int32_t)(1u << sr[c]) : 0;
        for (uint32_t kx = 0; kx < 3; kx++)
            for (uint32_t ky = 0; ky < 3; ky++)
                w32[((((size_t)t * 3 + kx) * 2 + ky / 2) * 2 + j) * 32 + p * 2 + ky % 2] =
                    f8_weight(a, (size_t)c * 9 + ky * 3 + kx);
    }
    pk->wdw64c4 = w64;
    pk->wdw32c2 = w32;
    pk->dwq64_bias = q64;
    pk->dwq64_sr = q64 + g64 * 64;
    pk->dwq64_bit = q64 + 2 * g64 * 64;
    pk->dwq32_bias = q32;
    pk->dwq32_sr = q32 + g32 * 32;
    pk->dwq32_bit = q32 + 2 * g32 * 32;
    pk->dwq_words = words;
    pk->dwq64_srw = srw;
    pk->dwq64_bitw = bitw;
    pk->dwq_srn = srn;
    pk->dwq_bitn = bitn;
}

int f8_pack_op(const f8_kernel_args *a, f8_op_type type, f8_packed *pk)
{
    memset(pk, 0, sizeof *pk);
    uint32_t taps, cin, cout = a->out.c;
    int dw = 0;
    if (type == F8_OP_CONV2D) {
        taps = a->kernel_h * a->kernel_w;
        if (a->groups == 1) {
            cin = a->in0.c;
        } else if (a->groups == a->in0.c && a->groups == cout) {
            cin = 1;
            dw = 1;
        } else {
            return F8_OK; /* other groupings: scalar kernel */
        }
    } else if (type == F8_OP_DENSE) {
        taps = 1;
        cin = (uint32_t)f8_value_elems(&a->in0);
    } else {
        return F8_OK;
    }
    if (a->in0.dtype == F8_DTYPE_S32)
        return F8_OK;
    if (!dw && (uint64_t)(type == F8_OP_CONV2D ? a->kernel_h : 1) * F8_MR_MAX *
                       (((uint64_t)taps / (type == F8_OP_CONV2D ? a->kernel_h : 1) * cin + 3) & ~3ull) >
                   F8_SCRATCH_BYTES)
        return F8_OK; /* kernel rows too long for the kernels' scratch: scalar kernel */
    if (!dw && type == F8_OP_CONV2D && a->kernel_h > 64)
        return F8_OK; /* more rows than the kernels' pointer tables hold */

    const uint32_t nblk = (cout + 15) / 16, c16 = nblk * 16;
    /* GEMM: one kernel row (kw taps × cin) is one contiguous segment of NHWC input; or, with
     * patch, the whole window is one segment that the kernel gathers per pixel */
    const int patch = !dw && type == F8_OP_CONV2D && patch_pays(a->kernel_h, a->kernel_w, cin);
    const uint32_t kh = type == F8_OP_CONV2D && !patch ? a->kernel_h : 1;
    const uint32_t seg = taps / kh * cin;
    const uint32_t seg4 = (seg + 3) & ~3u;
    const size_t wbytes = dw ? (size_t)nblk * taps * 16 * 4 : (size_t)nblk * kh * seg4 * 16;
    const size_t ints = (size_t)c16 * 9; /* bias + 7 epilogue arrays + bias_r */
    const size_t wdw3_bytes = dw && kh == 3 && a->kernel_w == 3 ? (size_t)nblk * 3 * 64 : 0;
    const size_t wpad = ((wbytes + 63) & ~(size_t)63) + wdw3_bytes;
    const size_t dwq_bytes = wdw3_bytes && a->in0.dtype == F8_DTYPE_U8 &&
                                     (a->out.dtype == F8_DTYPE_U8 || a->out.dtype == F8_DTYPE_S8)
                                 ? dwq_size(cout)
                                 : 0;
    uint8_t *mem = NULL;
    if (posix_memalign((void **)&mem, 64, wpad + ints * 4 + dwq_bytes) != 0)
        return F8_ENOMEM;
    memset(mem, 0, wpad + ints * 4 + dwq_bytes);
    int32_t *bias = (int32_t *)(void *)(mem + wpad);
    int32_t *sr = bias + c16, *mask = sr + c16, *hm1 = mask + c16, *one = hm1 + c16;
    int32_t *sl = one + c16, *lo_pre = sl + c16, *hi_pre = lo_pre + c16;
    int32_t *bias_r = hi_pre + c16;
    int sums_fit = 1; /* GEMM: pk->sums_fit; depthwise: the dwq packing */
    int32_t lo, hi;
    dtype_range(a->out.dtype, &lo, &hi);

    const int flip = !dw && a->in0.dtype == F8_DTYPE_S8;
    for (uint32_t o = 0; o < c16; o++) {
        if (o >= cout) {
            epi_lane(sr, mask, hm1, one, sl, lo_pre, hi_pre, o, 0, lo, hi);
            continue;
        }
        const size_t j_o = (size_t)o * taps * cin; /* flat index of the channel's weight 0 */
        int64_t sum = 0, sum_abs = 0;
        for (uint32_t t = 0; t < taps; t++)
            for (uint32_t i = 0; i < cin; i++) {
                const int8_t w = f8_weight(a, j_o + (size_t)t * cin + i);
                sum += w;
                sum_abs += w < 0 ? -w : w;
                if (dw) {
                    int32_t *d = (int32_t *)(void *)mem;
                    d[((size_t)(o / 16) * taps + t) * 16 + o % 16] = (int32_t)(uint16_t)(int16_t)w;
                    if (wdw3_bytes) { /* tap t = 3·ky + kx: byte ky of lane o % 16, column kx */
                        int8_t *d3 = (int8_t *)(mem + wpad - wdw3_bytes);
                        d3[((size_t)(o / 16) * 3 + t % 3) * 64 + (o % 16) * 4 + t / 3] = w;
                    }
                } else { /* tap t = ky·kw + kx: row ky, byte kx·cin + i of its segment */
                    int8_t *d = (int8_t *)mem;
                    const uint32_t ky = t / (taps / kh), k = (t % (taps / kh)) * cin + i;
                    const uint32_t b = o / 16, tile = b / 4;
                    const uint32_t nbt = nblk - tile * 4 < 4 ? nblk - tile * 4 : 4;
                    d[(size_t)tile * 4 * kh * seg4 * 16 +
                      (((size_t)ky * (seg4 / 4) + k / 4) * nbt + b % 4) * 64 + (o % 16) * 4 +
                      k % 4] = w;
                }
            }
        /* s8 input x is read as u8 x + 128: subtract 128·Σw (exact modulo 2^32) */
        bias[o] = flip ? wrap_add(a->bias[o], -128 * sum) : a->bias[o];
        epi_lane(sr, mask, hm1, one, sl, lo_pre, hi_pre, o, a->fl_w[o] + a->in0.fl - a->out.fl,
                 lo, hi);
        /* every input byte the kernel multiplies lies in [0, 255] */
        const int64_t b = (int64_t)a->bias[o] - (flip ? 128 * sum : 0);
        const int64_t bound = (b < 0 ? -b : b) + 255 * sum_abs + hm1[o] + 1;
        sums_fit &= sl[o] == 0 && sr[o] <= 30 && bound <= INT32_MAX;
        bias_r[o] = wrap_add(bias[o], hm1[o]); /* used only when sums_fit */
    }
    for (uint32_t o = cout; o < c16; o++)
        bias_r[o] = bias[o]; /* padding channels: bias and hm1 are 0 */
    int any_left = 0, max_sr = 0, min_sr = cout ? 31 : 0;
    for (uint32_t o = 0; o < c16; o++) {
        any_left |= sl[o] > 0;
        max_sr = sr[o] > max_sr ? sr[o] : max_sr;
        min_sr = o < cout && sr[o] < min_sr ? sr[o] : min_sr;
    }

    if (dwq_bytes && sums_fit)
        pack_dwq(a, cout, hm1, sr, one, mem + wpad + ints * 4, pk);

    pk->kind = dw ? F8_PACK_DW : F8_PACK_GEMM;
    pk->seg4 = dw ? 0 : seg4;
    pk->patch = patch;
    pk->nblk = nblk;
    pk->w = dw ? NULL : (const int8_t *)mem;
    pk->wdw = dw ? (const int32_t *)(const void *)mem : NULL;
    pk->wdw3 = wdw3_bytes ? (const int8_t *)(mem + wpad - wdw3_bytes) : NULL;
    pk->bias = bias;
    pk->bias_r = bias_r;
    pk->sums_fit = !dw && sums_fit;
    pk->ep = (f8_epi){sr, mask, hm1, one, sl, lo_pre, hi_pre, lo, hi, any_left, max_sr, min_sr};
    pk->mem = mem;
    return F8_OK;
}
