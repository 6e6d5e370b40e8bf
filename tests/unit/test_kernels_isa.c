/*
 * Every SIMD path this CPU supports (AVX2, AVX-512 VNNI) against the scalar reference, bit for
 * bit: single ops on random shapes (odd channel counts, strides, asymmetric padding, groups,
 * depthwise, s8/u8/s32 inputs, ReLU on/off, every output dtype, extreme shifts and biases),
 * every named kernel variant called by name (the kernel table's rows and the AVX-512 GEMM's
 * register tiles), then whole random models through runners with 1-3 threads and batches 1-5.
 * Paths the CPU lacks are skipped (and say so).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/src/f8_internal.h"
#include "../../engine/src/plan.h"
#include "model_builder.h"
#include "unit.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int32_t rnd_in(int32_t lo, int32_t hi) /* inclusive */
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static const f8_isa simd[] = {F8_ISA_AVX2, F8_ISA_AVX512VNNI};
#define NSIMD 2

static int extreme_fill; /* inputs near the ends of their range (saturation paths) */
static int fill_byte = -1; /* >= 0: every u8 input byte is this */

static void fill(void *p, f8_dtype t, size_t n)
{
    if (fill_byte >= 0 && t == F8_DTYPE_U8) {
        memset(p, fill_byte, n);
        return;
    }
    static const int8_t s8x[] = {-127, -126, -100, -1, 0, 1, 100, 126, 127};
    static const uint8_t u8x[] = {0, 1, 2, 127, 128, 200, 253, 254, 255};
    for (size_t i = 0; i < n && extreme_fill && t != F8_DTYPE_S32; i++) {
        if (t == F8_DTYPE_U8)
            ((uint8_t *)p)[i] = u8x[rnd() % sizeof u8x];
        else
            ((int8_t *)p)[i] = s8x[rnd() % sizeof s8x];
    }
    if (extreme_fill && t != F8_DTYPE_S32)
        return;
    for (size_t i = 0; i < n; i++) {
        if (t == F8_DTYPE_U8)
            ((uint8_t *)p)[i] = (uint8_t)rnd();
        else if (t == F8_DTYPE_S8)
            ((int8_t *)p)[i] = (int8_t)rnd_in(-127, 127);
        else
            ((int32_t *)p)[i] = rnd() % 4 ? rnd_in(-100000, 100000) : (int32_t)rnd();
    }
}

static f8_dtype rnd_dtype(int allow_s32)
{
    return (f8_dtype)rnd_in(1, allow_s32 ? 3 : 2);
}

/* Shift n for an output channel: mostly moderate right shifts, some left, some extreme. */
static int right_shifts_only; /* set by tests of the right-shift-only epilogues */

static int rnd_shift(void)
{
    if (right_shifts_only)
        return rnd() % 8 ? rnd_in(0, 14) : rnd_in(0, 31);
    switch (rnd() % 4) {
    case 0:
    case 1: return rnd_in(0, 14);
    case 2: return rnd_in(-6, -1);
    default: return rnd_in(-31, 31);
    }
}

static size_t bytes(const f8_value_desc *v)
{
    return f8_value_elems(v) * f8_dtype_size(v->dtype);
}

static unsigned mismatches;

/* Runs op on `batch` random images with the scalar kernels and with every supported SIMD
 * path; fails on the first byte that differs. */
static void compare_op(f8_op_impl *op, uint32_t batch, const char *what)
{
    f8_kernel_args *a = &op->args;
    CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op->desc.type, &op->pk), F8_OK);
    const size_t nx0 = bytes(&a->in0) * batch, ny = bytes(&a->out) * batch;
    const size_t nx1 = op->desc.type == F8_OP_ADD ? bytes(&a->in1) * batch : 0;
    uint8_t *x0 = malloc(nx0), *x1 = nx1 ? malloc(nx1) : NULL;
    uint8_t *want = malloc(ny), *got = malloc(ny);
    uint8_t *zero = calloc(1, op->pk.seg4 + 64);
    fill(x0, a->in0.dtype, nx0 / f8_dtype_size(a->in0.dtype));
    if (x1)
        fill(x1, a->in1.dtype, nx1 / f8_dtype_size(a->in1.dtype));
    f8_op_exec(op, F8_ISA_SCALAR, zero, batch, x0, x1, want);
    for (int s = 0; s < NSIMD; s++) {
        if (!f8_isa_supported(simd[s]))
            continue;
        memset(got, 0xA5, ny);
        f8_op_exec(op, simd[s], zero, batch, x0, x1, got);
        if (memcmp(got, want, ny) != 0) {
            size_t i = 0;
            while (got[i] == want[i])
                i++;
            if (mismatches++ < 5)
                fprintf(stderr,
                        "\n%s on %s: byte %zu differs (got %u want %u); in %ux%ux%u %s fl %d -> "
                        "out %ux%ux%u %s fl %d, k %ux%u s %ux%u pad %u,%u,%u,%u groups %u relu %d\n",
                        what, f8_isa_name(simd[s]), i, got[i], want[i], a->in0.h, a->in0.w,
                        a->in0.c, f8_dtype_name(a->in0.dtype), a->in0.fl, a->out.h, a->out.w,
                        a->out.c, f8_dtype_name(a->out.dtype), a->out.fl, a->kernel_h,
                        a->kernel_w, a->stride_h, a->stride_w, a->pad_top, a->pad_left,
                        a->pad_bottom, a->pad_right, a->groups, a->relu);
            CU_FAIL("SIMD output differs from the scalar reference");
        }
    }
    f8_pack_free(&op->pk);
    free(x0);
    free(x1);
    free(want);
    free(got);
    free(zero);
}

/* Weights, bias and FL_w for cout channels of `per` weights each; shifts as rnd_shift. */
typedef struct {
    int8_t *w;
    int32_t *bias;
    int8_t *flw;
} weights_t;

static weights_t rnd_weights(uint32_t cout, size_t per, int fl_in, int fl_out)
{
    weights_t t;
    t.w = malloc(cout * per + 1);
    t.bias = malloc(cout * sizeof *t.bias);
    t.flw = malloc(cout);
    const int big_bias = rnd() % 5 == 0;
    for (size_t i = 0; i < cout * per; i++)
        t.w[i] = (int8_t)rnd_in(-127, 127);
    for (uint32_t o = 0; o < cout; o++) {
        t.bias[o] = big_bias ? (int32_t)rnd() : rnd_in(-(1 << 20), 1 << 20);
        int flw = rnd_shift() - fl_in + fl_out;
        t.flw[o] = (int8_t)(flw < -32 ? -32 : flw > 32 ? 32 : flw);
    }
    return t;
}

static void free_weights(weights_t *t)
{
    free(t->w);
    free(t->bias);
    free(t->flw);
}

static uint32_t out_dim(uint32_t in, uint32_t p0, uint32_t p1, uint32_t k, uint32_t s)
{
    return (in + p0 + p1 - k) / s + 1;
}

static void random_conv(int kind /* 0 dense-ish groups 1, 1 depthwise, 2 grouped,
                                     3 depthwise 3x3 mostly stride 1 and u8 inputs */)
{
    f8_op_impl op;
    memset(&op, 0, sizeof op);
    f8_kernel_args *a = &op.args;
    op.desc.type = F8_OP_CONV2D;
    const uint32_t k = kind == 3 ? 3 : (uint32_t)rnd_in(1, 5);
    a->kernel_h = k;
    a->kernel_w = kind == 3 || rnd() % 4 ? k : (uint32_t)rnd_in(1, 5);
    a->stride_h = kind == 3 && rnd() % 4 ? 1 : (uint32_t)rnd_in(1, 3);
    a->stride_w = kind == 3 && rnd() % 4 ? a->stride_h
                  : rnd() % 3             ? a->stride_h
                                          : (uint32_t)rnd_in(1, 3);
    a->pad_top = (uint32_t)rnd_in(0, (int32_t)a->kernel_h - 1);
    a->pad_bottom = (uint32_t)rnd_in(0, (int32_t)a->kernel_h - 1);
    a->pad_left = (uint32_t)rnd_in(0, (int32_t)a->kernel_w - 1);
    a->pad_right = (uint32_t)rnd_in(0, (int32_t)a->kernel_w - 1);
    uint32_t cin, cout, g;
    if (kind == 1 || kind == 3) {
        cin = cout = g = (uint32_t)rnd_in(1, 70);
    } else if (kind == 2) {
        g = (uint32_t)rnd_in(2, 4);
        cin = g * (uint32_t)rnd_in(1, 5);
        cout = g * (uint32_t)rnd_in(1, 5);
    } else {
        g = 1;
        cin = rnd() % 3 ? (uint32_t)rnd_in(1, 80) : (uint32_t)rnd_in(1, 4);
        cout = rnd() % 3 ? (uint32_t)rnd_in(1, 140) : 64 * (uint32_t)rnd_in(1, 2);
        if (right_shifts_only && rnd() % 2)
            cout = 64 * (uint32_t)rnd_in(1, 2);
    }
    a->groups = g;
    const uint32_t H = (uint32_t)rnd_in((int32_t)a->kernel_h, 13);
    const uint32_t W = (uint32_t)rnd_in((int32_t)a->kernel_w, 17);
    a->in0 = (f8_value_desc){H, W, cin, kind == 3 && rnd() % 4 ? F8_DTYPE_U8 : rnd_dtype(0),
                             rnd_in(-4, 8), 0};
    a->out = (f8_value_desc){out_dim(H, a->pad_top, a->pad_bottom, a->kernel_h, a->stride_h),
                             out_dim(W, a->pad_left, a->pad_right, a->kernel_w, a->stride_w),
                             cout, rnd_dtype(1), rnd_in(-4, 8), 0};
    a->relu = (int)(rnd() & 1);
    weights_t t = rnd_weights(cout, (size_t)a->kernel_h * a->kernel_w * (cin / g), a->in0.fl,
                              a->out.fl);
    a->weights = t.w;
    a->bias = t.bias;
    a->fl_w = t.flw;
    compare_op(&op, (uint32_t)rnd_in(1, 3), kind == 1 || kind == 3 ? "depthwise conv" : "conv");
    free_weights(&t);
}

static void test_conv_random(void)
{
    for (int i = 0; i < 300; i++)
        random_conv(0);
}

static void test_dwconv_random(void)
{
    for (int i = 0; i < 200; i++)
        random_conv(1);
}

/* 3x3 depthwise, mostly stride 1 with u8 inputs (the two-row vpdpbusd kernel): 1-2 rows and
 * columns of padding on any side, images down to 3x1, channel counts off 16 */
static void test_dwconv3x3_random(void)
{
    for (int i = 0; i < 300; i++)
        random_conv(3);
}

static void test_grouped_random(void)
{
    for (int i = 0; i < 40; i++)
        random_conv(2);
}

/* ResNet-like layers: 3x3 and 1x1 with 64 channels and more (the fast tiles), stem 7x7/2. */
static void test_conv_resnet_shapes(void)
{
    static const uint32_t shapes[][7] = {
        /* H, Cin, Cout, k, stride, pad, dtype_in */
        {14, 64, 64, 3, 1, 1, 1},  {9, 64, 128, 3, 2, 1, 1}, {7, 256, 64, 1, 1, 0, 1},
        {8, 64, 256, 1, 1, 0, 2},  {11, 128, 128, 1, 2, 0, 1}, {23, 3, 64, 7, 2, 3, 1},
        {12, 1, 32, 3, 1, 1, 1},   {10, 96, 192, 3, 1, 1, 2},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const uint32_t *sh = shapes[s];
        f8_op_impl op;
        memset(&op, 0, sizeof op);
        f8_kernel_args *a = &op.args;
        op.desc.type = F8_OP_CONV2D;
        a->kernel_h = a->kernel_w = sh[3];
        a->stride_h = a->stride_w = sh[4];
        a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = sh[5];
        a->groups = 1;
        a->in0 = (f8_value_desc){sh[0], sh[0], sh[1], (f8_dtype)sh[6], 4, 0};
        const uint32_t ho = out_dim(sh[0], sh[5], sh[5], sh[3], sh[4]);
        a->out = (f8_value_desc){ho, ho, sh[2], (f8_dtype)(1 + s % 3), 2, 0};
        a->relu = (int)(s & 1);
        weights_t t = rnd_weights(sh[2], (size_t)sh[3] * sh[3] * sh[1], 4, 2);
        a->weights = t.w;
        a->bias = t.bias;
        a->fl_w = t.flw;
        compare_op(&op, 2, "resnet-shaped conv");
        free_weights(&t);
    }
}

/* Only right shifts: the u8/s8 fast epilogues and the 6x64 tile's register epilogue. */
static void test_conv_right_shifts(void)
{
    right_shifts_only = 1;
    for (int i = 0; i < 300; i++)
        random_conv(i % 3 == 2 ? 1 : 0);
    right_shifts_only = 0;
}

/* The packing epilogue (pk->sums_fit) adds the rounding's half - 1 to the bias up front and
 * lets no sum leave s32: 1x1 convolutions whose largest possible sums (all inputs 255, all
 * weights ±127, a bias of ±|b|) land exactly on that bound and one past it (the other
 * epilogues then), for u8/s8 outputs with and without ReLU, against the scalar kernel. */
static void test_conv_sum_bounds(void)
{
    enum { CIN = 64, COUT = 128 };
    static int8_t w[COUT * CIN], flw[COUT];
    static int32_t bias[COUT];
    const int sr = 30;
    const int64_t hm1 = ((int64_t)1 << (sr - 1)) - 1;
    const int64_t edge = INT32_MAX - 255 * 127 * CIN - hm1 - 1; /* the largest |b| that fits */
    fill_byte = 255;
    for (int past = 0; past <= 1; past++)
        for (int variant = 0; variant < 4; variant++) {
            f8_op_impl op;
            memset(&op, 0, sizeof op);
            f8_kernel_args *a = &op.args;
            op.desc.type = F8_OP_CONV2D;
            a->kernel_h = a->kernel_w = a->stride_h = a->stride_w = 1;
            a->groups = 1;
            a->in0 = (f8_value_desc){2, 7, CIN, F8_DTYPE_U8, 0, 0};
            a->out = (f8_value_desc){2, 7, COUT, variant & 1 ? F8_DTYPE_S8 : F8_DTYPE_U8, 0, 0};
            a->relu = variant >> 1;
            for (uint32_t o = 0; o < COUT; o++) {
                const int neg = o % 2;
                memset(w + o * CIN, neg ? -127 : 127, CIN);
                bias[o] = (int32_t)((neg ? -1 : 1) * (edge + past));
                flw[o] = (int8_t)sr;
            }
            a->weights = w;
            a->bias = bias;
            a->fl_w = flw;
            CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op.desc.type, &op.pk), F8_OK);
            CU_ASSERT_EQUAL(op.pk.sums_fit, !past);
            f8_pack_free(&op.pk);
            compare_op(&op, 2, past ? "conv just past the sum bound" : "conv at the sum bound");
        }
    fill_byte = -1;
}

/* A k x k convolution cin -> cout (stride st, padding pd) on an H x W input with right shifts
 * of at most 20 bits and moderate biases, so that pack.c picks the packing epilogue (checked),
 * u8 or s8 input and output and ReLU from bits 0, 1 and 2 of `variant`, against the scalar
 * kernel on every path. Bit 3 keeps every shift <= 7, where the kernels round on saturated
 * signed words (f8_gemm_packing_words; the sums of random inputs often pass ±2^15 there); with
 * bit 4 as well, the shifts are 1-8 and channel 0's is 8: signed words for s8 outputs,
 * unsigned ones for u8. Returns the packed seg4. */
static uint32_t compare_packing_conv(uint32_t k, uint32_t st, uint32_t pd, uint32_t H, uint32_t W,
                                     uint32_t cin, uint32_t cout, int variant, const char *what)
{
    f8_op_impl op;
    memset(&op, 0, sizeof op);
    f8_kernel_args *a = &op.args;
    op.desc.type = F8_OP_CONV2D;
    a->kernel_h = a->kernel_w = k;
    a->stride_h = a->stride_w = st;
    a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = pd;
    a->groups = 1;
    a->in0 = (f8_value_desc){H, W, cin, variant & 1 ? F8_DTYPE_S8 : F8_DTYPE_U8, rnd_in(0, 8), 0};
    a->out = (f8_value_desc){out_dim(H, pd, pd, k, st), out_dim(W, pd, pd, k, st), cout,
                             variant & 2 ? F8_DTYPE_S8 : F8_DTYPE_U8, rnd_in(0, 6), 0};
    a->relu = (variant >> 2) & 1;
    weights_t t = rnd_weights(cout, (size_t)k * k * cin, a->in0.fl, a->out.fl);
    const int to8 = (variant & 24) == 24;
    for (uint32_t o = 0; o < cout; o++) {
        t.bias[o] = rnd_in(-(1 << 14), 1 << 14);
        const int n = to8 ? (o == 0 ? 8 : rnd_in(1, 8)) : rnd_in(0, variant & 8 ? 7 : 20);
        t.flw[o] = (int8_t)(n - a->in0.fl + a->out.fl);
    }
    a->weights = t.w;
    a->bias = t.bias;
    a->fl_w = t.flw;
    CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op.desc.type, &op.pk), F8_OK);
    CU_ASSERT(op.pk.sums_fit);
    if (variant & 8)
        CU_ASSERT(op.pk.ep.max_sr == (to8 ? 8 : op.pk.ep.max_sr) && op.pk.ep.max_sr <= 8 &&
                  op.pk.ep.min_sr >= to8);
    const uint32_t seg4 = op.pk.seg4;
    f8_pack_free(&op.pk);
    compare_op(&op, (uint32_t)rnd_in(1, 3), what);
    free_weights(&t);
    return seg4;
}

/* 1x1 stride-1 convolutions from 4-32 channels (a multiple of 4) with the packing epilogue run
 * a kernel of their own (weights held in registers, one pixel at a time): every input width,
 * 1-4 blocks in the last group (3 from 28 channels on, groups straddling pack.c's tiles),
 * partial blocks, u8/s8 in and out, ReLU on/off. */
static void test_conv_small_k(void)
{
    static const uint32_t couts[] = {16, 24, 40, 64, 80, 96, 144, 200};
    static const int words_bits[] = {0, 8, 24}; /* dwords, shifts <= 7, shifts 1-8 */
    for (int words = 0; words < 3; words++)
        for (uint32_t cin = 4; cin <= 32; cin += 4)
            for (size_t c = 0; c < sizeof couts / sizeof couts[0]; c++)
                compare_packing_conv(1, 1, 0, (uint32_t)rnd_in(1, 9), (uint32_t)rnd_in(1, 13),
                                     cin, couts[c], (int)((cin / 4 + c) % 8) | words_bits[words],
                                     "1x1 conv with few input channels");
}

/* The intrinsics tiles' packing epilogue (channel tiles of 1-3 blocks, short pixel tiles)
 * on signed words (every shift <= 7; s8 outputs also <= 8), on unsigned words (u8 outputs,
 * shifts 1-8) and on dwords: 1x1 and 3x3 layers past the small-K kernel. */
static void test_conv_packing_words(void)
{
    static const uint32_t couts[] = {16, 24, 40, 96, 136};
    static const int words_bits[] = {0, 8, 24};
    for (int words = 0; words < 3; words++)
        for (size_t c = 0; c < sizeof couts / sizeof couts[0]; c++)
            for (uint32_t k = 1; k <= 3; k += 2)
                compare_packing_conv(k, 1, k / 2, (uint32_t)rnd_in(1, 9), (uint32_t)rnd_in(1, 13),
                                     36 + 12 * (uint32_t)c, couts[c],
                                     (int)(c + k) % 8 | words_bits[words],
                                     "conv, packing epilogue, shifts <= 7, 1-8 or <= 20");
}

/* 3x3 convolutions from 3 or 4 channels (MobileNet's stems) with the packing epilogue stream
 * their inside pixels (stem3_row) and send the border ones through the tiles: strides 1-2,
 * padding 0-2, odd sizes (the last window ending at the tensor's last byte), 1-3 blocks of
 * 16 channels and a partial one, u8/s8 in and out, ReLU on/off. */
static void test_conv_stem3(void)
{
    static const uint32_t couts[] = {16, 24, 32, 40, 64};
    int n = 0;
    for (uint32_t cin = 3; cin <= 4; cin++)
        for (uint32_t st = 1; st <= 2; st++)
            for (uint32_t pd = 0; pd <= 2; pd++)
                for (size_t c = 0; c < sizeof couts / sizeof couts[0]; c++, n++)
                    CU_ASSERT_EQUAL(compare_packing_conv(3, st, pd, (uint32_t)rnd_in(3, 12),
                                                         (uint32_t)rnd_in(3, 17), cin, couts[c],
                                                         n, "3x3 stem"),
                                    12);
}

/* ---- every kernel variant by name -------------------------------------------------------
 * Each variant runs in place of the planner's choice (f8_plan_op, then the plan's function
 * replaced) on a shape it accepts, against the scalar kernel; where the shape is the one the
 * variant exists for, the planner must also have chosen it. */
typedef struct {
    f8_isa isa;
    f8_conv_fn conv;          /* an op-level conv kernel, or NULL: the planner's */
    f8_gemm_tile_fn full;     /* the full 6x64 tile (and the last one, when whole) */
    f8_gemm_tile_fn narrow;   /* the last channel tile, 1-3 blocks */
    f8_gemm_tile_fn shorter;  /* the tile of mr pixels (the other short tiles: NULL) */
    uint32_t mr;
    f8_add_fn add;
    f8_pool_fn pool;
} variant;

static void compare_variant(f8_op_impl *op, const variant *v, const char *name, int planned)
{
    if (!f8_isa_supported(v->isa)) {
        printf("(%s: path %s unsupported, skipped) ", name, f8_isa_name(v->isa));
        return;
    }
    f8_kernel_args *a = &op->args;
    CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op->desc.type, &op->pk), F8_OK);
    const size_t nx0 = bytes(&a->in0), ny = bytes(&a->out);
    const size_t nx1 = op->desc.type == F8_OP_ADD ? bytes(&a->in1) : 0;
    uint8_t *x0 = malloc(nx0), *x1 = nx1 ? malloc(nx1) : NULL;
    uint8_t *want = malloc(ny), *got = malloc(ny);
    uint8_t *zero = calloc(1, op->pk.seg4 + 64);
    fill(x0, a->in0.dtype, nx0 / f8_dtype_size(a->in0.dtype));
    if (x1)
        fill(x1, a->in1.dtype, nx1 / f8_dtype_size(a->in1.dtype));
    f8_op_exec(op, F8_ISA_SCALAR, zero, 1, x0, x1, want);

    f8_op_plan pl;
    f8_plan_op(op, v->isa, zero, &pl);
    CU_ASSERT_NOT_EQUAL(pl.kind, F8_RUN_SCALAR);
    if (planned && strcmp(pl.kernel, name) != 0 &&
        (!pl.tile_kernel || strcmp(pl.tile_kernel, name) != 0)) {
        fprintf(stderr, "\nthe planner chose %s (%s), not %s\n", pl.kernel,
                pl.tile_kernel ? pl.tile_kernel : "-", name);
        CU_FAIL("the planner did not choose the variant made for this shape");
    }
    f8_gemm_tiles *t = &pl.geom.tiles;
    if (v->conv)
        pl.conv = v->conv;
    if (v->full) {
        t->full = v->full;
        if (!t->last_narrow)
            t->last = v->full;
    }
    if (v->narrow) {
        CU_ASSERT(t->last_narrow);
        t->last = v->narrow;
    }
    if (v->shorter) {
        memset(t->shorter, 0, sizeof t->shorter); /* any other tile would crash */
        t->shorter[v->mr] = v->shorter;
    }
    if (v->add)
        pl.add = v->add;
    if (v->pool)
        pl.pool = v->pool;
    memset(got, 0xA5, ny);
    f8_plan_exec(op, &pl, 1, x0, x1, got);
    if (memcmp(got, want, ny) != 0) {
        fprintf(stderr, "\n%s differs from the scalar reference\n", name);
        CU_FAIL("named variant differs from the scalar reference");
    }
    f8_pack_free(&op->pk);
    free(x0);
    free(x1);
    free(want);
    free(got);
    free(zero);
}

/* A k x k convolution (groups 1, or depthwise with dw) cin -> cout on H x W. packing: small
 * biases and right shifts <= 20 (pk->sums_fit); else right shifts <= 20 with biases too
 * large for it (or, with left, shifts of either sign). */
typedef struct {
    uint32_t k, st, pd, H, W, cin, cout;
    int dw, in_s8, out_dtype, relu, packing, left;
    int words; /* 1: every shift <= 7 (the packing epilogue on signed words); 2: shifts 1-8,
                  channel 0's 8 (s8: signed words, u8: unsigned words) */
} conv_shape;

static void named_conv(const conv_shape *c, const variant *v, const char *name, int planned)
{
    f8_op_impl op;
    memset(&op, 0, sizeof op);
    f8_kernel_args *a = &op.args;
    op.desc.type = F8_OP_CONV2D;
    a->kernel_h = a->kernel_w = c->k;
    a->stride_h = a->stride_w = c->st;
    a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = c->pd;
    a->groups = c->dw ? c->cin : 1;
    a->in0 = (f8_value_desc){c->H, c->W, c->cin, c->in_s8 ? F8_DTYPE_S8 : F8_DTYPE_U8, 4, 0};
    a->out = (f8_value_desc){out_dim(c->H, c->pd, c->pd, c->k, c->st),
                             out_dim(c->W, c->pd, c->pd, c->k, c->st), c->cout,
                             (f8_dtype)c->out_dtype, 2, 0};
    a->relu = c->relu;
    const size_t per = (size_t)c->k * c->k * (c->dw ? 1 : c->cin);
    weights_t t = rnd_weights(c->cout, per, a->in0.fl, a->out.fl);
    for (uint32_t o = 0; o < c->cout; o++) {
        t.bias[o] = c->packing ? rnd_in(-(1 << 14), 1 << 14)
                               : (o & 1 ? 1 : -1) * rnd_in(INT32_MAX - (1 << 20), INT32_MAX - 1);
        const int n = c->left         ? rnd_in(-6, 20)
                      : c->words == 2 ? (o == 0 ? 8 : rnd_in(1, 8))
                                      : rnd_in(0, c->words ? 7 : 20);
        t.flw[o] = (int8_t)(n - a->in0.fl + a->out.fl);
    }
    a->weights = t.w;
    a->bias = t.bias;
    a->fl_w = t.flw;
    compare_variant(&op, v, name, planned);
    free_weights(&t);
}

#define V_AVX512 .isa = F8_ISA_AVX512VNNI
static void test_named_conv_kernels(void)
{
    const int U8 = F8_DTYPE_U8, S8 = F8_DTYPE_S8, S32 = F8_DTYPE_S32;
    for (int rep = 0; rep < 3; rep++) {
        /* op-level kernels of the AVX-512 GEMM */
        /* (words: dwords, signed words, unsigned words (u8 out) by rep) */
        const conv_shape smallk = {1, 1, 0, 5, 7, 16, 40, 0, rep & 1, U8, 1, 1, 0, rep};
        const conv_shape stem = {3, 2, 1, 11, 13, 3, 40, 0, rep & 1, rep == 2 ? U8 : S8, 1, 1,
                                 0, rep};
        const conv_shape general = {3, 1, 1, 8, 9, 24, 72, 0, rep & 1, U8, 0, 1, 0, 0};
        variant v = {V_AVX512, .conv = f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni};
        named_conv(&smallk, &v, "f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni", 1);
        v.conv = f8_conv2d_nhwc_3x3_1x32c4_stem_avx512vnni;
        named_conv(&stem, &v, "f8_conv2d_nhwc_3x3_1x32c4_stem_avx512vnni", 1);
        /* 24 outputs: pixel pairs (5x7 = 35 pixels: 4 steps of 4 pairs, a pair, a lone pixel;
         * 4x8: steps only), dwords (rep 1) and shifts 1-8 (signed words for s8 out, rep 0;
         * unsigned words for u8, rep 2), u8/s8 in and out */
        const conv_shape pair24 = {1, 1, 0, rep == 1 ? 4 : 5, rep == 1 ? 8 : 7, 96 + 48 * (rep & 1),
                                   24, 0, rep != 1, rep == 0 ? S8 : U8, rep != 2, 1, 0,
                                   rep == 1 ? 0 : 2};
        v.conv = f8_conv2d_nhwc_1x1_8x24c4_avx512vnni;
        named_conv(&pair24, &v, "f8_conv2d_nhwc_1x1_8x24c4_avx512vnni", 1);
        conv_shape pair32 = pair24;
        pair32.cout = 32;
        v.conv = f8_conv2d_nhwc_1x1_8x32c4_avx512vnni;
        named_conv(&pair32, &v, "f8_conv2d_nhwc_1x1_8x32c4_avx512vnni", 1);
        v.conv = f8_conv2d_nhwc_6x64c4_avx512vnni;
        named_conv(&general, &v, "f8_conv2d_nhwc_6x64c4_avx512vnni", 1);
        named_conv(&smallk, &v, "f8_conv2d_nhwc_6x64c4_avx512vnni (on a small-K shape)", 0);
        named_conv(&pair24, &v, "f8_conv2d_nhwc_6x64c4_avx512vnni (on a 24-channel 1x1 shape)", 0);
        named_conv(&pair32, &v, "f8_conv2d_nhwc_6x64c4_avx512vnni (on a 32-channel 1x1 shape)", 0);
        named_conv(&stem, &v, "f8_conv2d_nhwc_6x64c4_avx512vnni (on a stem shape)", 0);
        v.conv = f8_conv2d_nhwc_6x64c4_coldw_avx512vnni;
        named_conv(&general, &v, "f8_conv2d_nhwc_6x64c4_coldw_avx512vnni", 0);
        /* 7x7/2 from 3 channels (gathered windows): column tiles of one strip (13 output rows:
         * bands of 6, 6 and 1), and the row-major gathering of the general kernel */
        const conv_shape stem7 = {7, 2, 3, 25, 21, 3, rep == 1 ? 72 : 64, 0, rep & 1, U8, 1,
                                  rep != 2, 0, 0};
        v.conv = f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni;
        named_conv(&stem7, &v, "f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni", 1);
        v.conv = f8_conv2d_nhwc_6x64c4_avx512vnni;
        named_conv(&stem7, &v, "f8_conv2d_nhwc_6x64c4_avx512vnni (on a 7x7/2 stem)", 0);

        /* the full 6x64 tile, by epilogue (56 pixels: 9 full tiles and a short one) */
        conv_shape full = {3, 1, 1, 7, 8, 20, 128, 0, rep & 1, U8, rep == 2, 1, 0, 0};
        v = (variant){V_AVX512, .full = f8_gemm_tile_6x64c4_packu8_avx512vnni};
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_packu8_avx512vnni", 1);
        full.out_dtype = S8;
        v.full = f8_gemm_tile_6x64c4_packs8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_packs8_avx512vnni", 1);
        full.words = 1; /* (sums of 180 products: words saturate often) */
        v.full = f8_gemm_tile_6x64c4_packws8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_packws8_avx512vnni", 1);
        full.out_dtype = U8;
        v.full = f8_gemm_tile_6x64c4_packwu8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_packwu8_avx512vnni", 1);
        full.words = 2; /* shifts 1-8: unsigned words for u8, signed words for s8 */
        v.full = f8_gemm_tile_6x64c4_packuwu8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_packuwu8_avx512vnni", 1);
        full.out_dtype = S8;
        v.full = f8_gemm_tile_6x64c4_packws8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_packws8_avx512vnni", 1); /* (shifts to 8) */
        full.words = 0;
        full.packing = 0;
        full.relu = 0;
        v.full = f8_gemm_tile_6x64c4_s8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_s8_avx512vnni", 1);
        full.relu = 1;
        v.full = f8_gemm_tile_6x64c4_s8relu_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_s8relu_avx512vnni", 1);
        full.out_dtype = U8;
        v.full = f8_gemm_tile_6x64c4_u8_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_u8_avx512vnni", 1);
        full.left = 1;
        full.out_dtype = rep == 0 ? S32 : rep == 1 ? S8 : U8;
        v.full = f8_gemm_tile_6x64c4_avx512vnni;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_avx512vnni", 1);
        full.left = 0;
        full.packing = 1;
        full.out_dtype = U8;
        named_conv(&full, &v, "f8_gemm_tile_6x64c4_avx512vnni (packing epilogue)", 0);

        /* narrow last tiles: Cout = 64 + 16·blocks (and a partial block) */
        static const f8_gemm_tile_fn narrow[3] = {f8_gemm_tile_6x16c4_avx512vnni,
                                                  f8_gemm_tile_6x32c4_avx512vnni,
                                                  f8_gemm_tile_6x48c4_avx512vnni};
        static const char *const narrow_names[3] = {"f8_gemm_tile_6x16c4_avx512vnni",
                                                    "f8_gemm_tile_6x32c4_avx512vnni",
                                                    "f8_gemm_tile_6x48c4_avx512vnni"};
        for (uint32_t nb = 1; nb <= 3; nb++) {
            const conv_shape c = {3, 1, 1, 5, 7, 12, 64 + 16 * nb - (rep == 1 ? 5 : 0), 0,
                                  rep & 1, rep == 2 ? S32 : U8, 1, rep != 2, 0, 0};
            v = (variant){V_AVX512, .narrow = narrow[nb - 1]};
            named_conv(&c, &v, narrow_names[nb - 1], 0);
        }
        /* short tiles: 6 + mr output pixels in one row */
        static const f8_gemm_tile_fn shorter[6] = {
            NULL, f8_gemm_tile_1x64c4_avx512vnni, f8_gemm_tile_2x64c4_avx512vnni,
            f8_gemm_tile_3x64c4_avx512vnni, f8_gemm_tile_4x64c4_avx512vnni,
            f8_gemm_tile_5x64c4_avx512vnni};
        static const char *const short_names[6] = {
            NULL, "f8_gemm_tile_1x64c4_avx512vnni", "f8_gemm_tile_2x64c4_avx512vnni",
            "f8_gemm_tile_3x64c4_avx512vnni", "f8_gemm_tile_4x64c4_avx512vnni",
            "f8_gemm_tile_5x64c4_avx512vnni"};
        for (uint32_t mr = 1; mr <= 5; mr++) {
            const conv_shape c = {3, 1, 1, 1, 6 + mr, 36, 64 * (1 + (rep & 1)), 0, rep == 2,
                                  rep == 1 ? S8 : U8, 1, rep != 1, 0, 0};
            v = (variant){V_AVX512, .shorter = shorter[mr], .mr = mr};
            named_conv(&c, &v, short_names[mr], 0);
        }

        /* depthwise */
        const conv_shape dw3s1 = {3, 1, 1, 9, 11, 40, 40, 1, 0, U8, 1, 0, 0, 0};
        const conv_shape dw3s2 = {3, 2, 1, 9, 11, 40, 40, 1, 1, S8, 0, 0, 0, 0};
        const conv_shape dw5 = {5, 1, 2, 9, 11, 24, 24, 1, rep & 1, U8, 1, 0, rep == 2, 0};
        v = (variant){V_AVX512, .conv = f8_dwconv2d_nhwc_3x3s1_2x16c4_u8_avx512vnni};
        named_conv(&dw3s1, &v, "f8_dwconv2d_nhwc_3x3s1_2x16c4_u8_avx512vnni", 1);
        v.conv = f8_dwconv2d_nhwc_3x3_16c_avx512vnni;
        named_conv(&dw3s2, &v, "f8_dwconv2d_nhwc_3x3_16c_avx512vnni", 1);
        named_conv(&dw3s1, &v, "f8_dwconv2d_nhwc_3x3_16c_avx512vnni (stride 1, u8)", 0);
        v.conv = f8_dwconv2d_nhwc_4x16c_avx512vnni;
        named_conv(&dw5, &v, "f8_dwconv2d_nhwc_4x16c_avx512vnni", 1);
        named_conv(&dw3s2, &v, "f8_dwconv2d_nhwc_4x16c_avx512vnni (3x3)", 0);

        /* AVX2 */
        v = (variant){.isa = F8_ISA_AVX2, .conv = f8_conv2d_nhwc_4x16c4_avx2};
        named_conv(&general, &v, "f8_conv2d_nhwc_4x16c4_avx2", 1);
        v.conv = f8_dwconv2d_nhwc_8c_avx2;
        named_conv(&dw5, &v, "f8_dwconv2d_nhwc_8c_avx2", 1);
    }
}

/* The depthwise 3x3 kernels of the dwq packing, each by name, on random shapes: images down
 * to 1x1, 0-2 rows/columns of padding on any side, vertical strides 1-3, horizontal 1-2,
 * channel counts off 16/32/64 (2-200, often 32), u8/s8 out, ReLU or not, right shifts 0-30 (or all
 * 0-7: the word epilogue), biases from small to the dwq bound, inputs often at the ends of
 * their range. The planner picks each kernel on its path where dwq holds and never a dwq
 * kernel where it does not. */
static const struct {
    f8_isa isa;
    f8_conv_fn fn;
    const char *name;
} dwq_kernels[] = {
    {F8_ISA_AVX512VNNI, f8_dwconv2d_nhwc_3x3_1x64c4_avx512vnni, "f8_dwconv2d_nhwc_3x3_1x64c4_avx512vnni"},
    {F8_ISA_AVX2, f8_dwconv2d_nhwc_3x3_1x16c2_avx2, "f8_dwconv2d_nhwc_3x3_1x16c2_avx2"},
};

static void test_dwconv3x3_dwq_named(void)
{
    for (int i = 0; i < 400; i++) {
        f8_op_impl op;
        memset(&op, 0, sizeof op);
        f8_kernel_args *a = &op.args;
        op.desc.type = F8_OP_CONV2D;
        a->kernel_h = a->kernel_w = 3;
        a->stride_h = (uint32_t)(rnd() % 3 ? rnd_in(1, 2) : 3);
        a->stride_w = rnd() % 4 && a->stride_h <= 2 ? a->stride_h : (uint32_t)rnd_in(1, 2);
        a->pad_top = (uint32_t)rnd_in(0, 2);
        a->pad_bottom = (uint32_t)rnd_in(0, 2);
        a->pad_left = (uint32_t)rnd_in(0, 2);
        a->pad_right = (uint32_t)rnd_in(0, 2);
        /* (one channel is a groups-1 convolution: the GEMM's; 32 pairs output pixels) */
        const uint32_t c = rnd() % 3   ? (uint32_t)rnd_in(2, 200)
                           : rnd() % 2 ? 32
                                       : 16 * (uint32_t)rnd_in(1, 10);
        a->groups = c;
        const uint32_t H = (uint32_t)rnd_in(1, 12), W = (uint32_t)rnd_in(1, 17);
        if (H + a->pad_top + a->pad_bottom < 3 || W + a->pad_left + a->pad_right < 3)
            continue;
        a->in0 = (f8_value_desc){H, W, c, F8_DTYPE_U8, rnd_in(-4, 8), 0};
        a->out = (f8_value_desc){out_dim(H, a->pad_top, a->pad_bottom, 3, a->stride_h),
                                 out_dim(W, a->pad_left, a->pad_right, 3, a->stride_w), c,
                                 rnd() % 2 ? F8_DTYPE_U8 : F8_DTYPE_S8, rnd_in(-4, 8), 0};
        a->relu = (int)(rnd() & 1);
        weights_t t = rnd_weights(c, 9, a->in0.fl, a->out.fl);
        const int fits = rnd() % 8 != 0;
        const int big = rnd() % 4 == 0;
        const int words = rnd() % 2; /* every shift <= 7: the epilogue on words */
        for (uint32_t o = 0; o < c; o++) {
            const int n = words ? rnd_in(0, 7) : rnd() % 6 ? rnd_in(0, 14) : rnd_in(0, 30);
            t.flw[o] = (int8_t)(n - a->in0.fl + a->out.fl);
            int64_t sum_abs = 0;
            for (int j = 0; j < 9; j++)
                sum_abs += abs(t.w[o * 9 + j]);
            /* big: exactly on pack.c's bound |bias| + 255·Σ|w| + hm1 + 1 <= 2^31 - 1, or near */
            const int64_t bound = INT32_MAX - 255 * sum_abs - (n > 0 ? (1 << (n - 1)) - 1 : 0) - 1;
            t.bias[o] = big ? (int32_t)((o & 1 ? 1 : -1) * (bound - (rnd() % 2 ? 0 : rnd_in(0, 1000))))
                            : rnd_in(-(1 << 16), 1 << 16);
        }
        if (!fits)
            t.bias[rnd() % c] = INT32_MAX - 5; /* past the bound: no dwq packing */
        a->weights = t.w;
        a->bias = t.bias;
        a->fl_w = t.flw;
        extreme_fill = rnd() % 3 == 0;
        CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op.desc.type, &op.pk), F8_OK);
        const int dwq = op.pk.wdw64c4 != NULL;
        if (dwq && words)
            CU_ASSERT(op.pk.dwq_words);
        f8_pack_free(&op.pk);
        CU_ASSERT_EQUAL(dwq, fits);
        for (size_t k = 0; k < sizeof dwq_kernels / sizeof dwq_kernels[0]; k++) {
            if (!f8_isa_supported(dwq_kernels[k].isa))
                continue;
            if (dwq) {
                const variant v = {.isa = dwq_kernels[k].isa, .conv = dwq_kernels[k].fn};
                compare_variant(&op, &v, dwq_kernels[k].name, 1);
            } else { /* the planner must take another kernel */
                CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op.desc.type, &op.pk), F8_OK);
                f8_op_plan pl;
                f8_plan_op(&op, dwq_kernels[k].isa, NULL, &pl);
                CU_ASSERT(pl.conv != dwq_kernels[k].fn);
                f8_pack_free(&op.pk);
            }
        }
        extreme_fill = 0;
        free_weights(&t);
    }
}

/* ADD and pools on u8/s8 (the 32-bit kernels' domain; the wide ones take any dtypes). */
static void named_eltwise(f8_op_type type, const variant *v, const char *name, int planned)
{
    f8_op_impl op;
    memset(&op, 0, sizeof op);
    f8_kernel_args *a = &op.args;
    op.desc.type = type;
    a->in0 = (f8_value_desc){7, 9, 40, rnd() & 1 ? F8_DTYPE_S8 : F8_DTYPE_U8, rnd_in(0, 8), 0};
    if (type == F8_OP_ADD) {
        a->in1 = (f8_value_desc){7, 9, 40, rnd() & 1 ? F8_DTYPE_S8 : F8_DTYPE_U8, rnd_in(0, 8), 0};
        a->out = (f8_value_desc){7, 9, 40, rnd_dtype(1), rnd_in(0, 8), 0};
    } else {
        a->kernel_h = a->kernel_w = 3;
        a->stride_h = a->stride_w = 2;
        const uint32_t pd = type == F8_OP_MAXPOOL; /* (AVGPOOL has no padding) */
        a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = pd;
        a->avg_shift = 3;
        a->out = (f8_value_desc){3 + pd, 4 + pd, 40, rnd_dtype(1), rnd_in(0, 8), 0};
    }
    a->relu = (int)(rnd() & 1);
    compare_variant(&op, v, name, planned);
}

#define NAMED_ELT(type, field, fn, isa_, planned)                                             \
    do {                                                                                       \
        const variant v_ = {.isa = isa_, .field = fn};                                         \
        named_eltwise(type, &v_, #fn, planned);                                                \
    } while (0)

static void test_named_eltwise_kernels(void)
{
    for (int rep = 0; rep < 4; rep++) {
        NAMED_ELT(F8_OP_ADD, add, f8_add_nhwc_avx512bw, F8_ISA_AVX512VNNI, 1);
        NAMED_ELT(F8_OP_ADD, add, f8_add_wide_nhwc_avx512bw, F8_ISA_AVX512VNNI, 0);
        NAMED_ELT(F8_OP_MAXPOOL, pool, f8_maxpool_nhwc_avx512bw, F8_ISA_AVX512VNNI, 1);
        NAMED_ELT(F8_OP_AVGPOOL, pool, f8_avgpool_nhwc_avx512bw, F8_ISA_AVX512VNNI, 1);
        NAMED_ELT(F8_OP_AVGPOOL, pool, f8_avgpool_wide_nhwc_avx512bw, F8_ISA_AVX512VNNI, 0);
        NAMED_ELT(F8_OP_ADD, add, f8_add_nhwc_avx2, F8_ISA_AVX2, 1);
        NAMED_ELT(F8_OP_MAXPOOL, pool, f8_maxpool_nhwc_avx2, F8_ISA_AVX2, 1);
        NAMED_ELT(F8_OP_AVGPOOL, pool, f8_avgpool_nhwc_avx2, F8_ISA_AVX2, 1);
    }
}

static void test_dense_random(void)
{
    for (int i = 0; i < 60; i++) {
        f8_op_impl op;
        memset(&op, 0, sizeof op);
        f8_kernel_args *a = &op.args;
        op.desc.type = F8_OP_DENSE;
        a->groups = 1;
        a->in0 = (f8_value_desc){(uint32_t)rnd_in(1, 3), (uint32_t)rnd_in(1, 3),
                                 (uint32_t)rnd_in(1, 90), rnd_dtype(0), rnd_in(-4, 8), 0};
        a->out = (f8_value_desc){1, 1, (uint32_t)rnd_in(1, 100), rnd_dtype(1), rnd_in(-4, 8), 0};
        a->relu = (int)(rnd() & 1);
        weights_t t = rnd_weights(a->out.c, f8_value_elems(&a->in0), a->in0.fl, a->out.fl);
        a->weights = t.w;
        a->bias = t.bias;
        a->fl_w = t.flw;
        compare_op(&op, (uint32_t)rnd_in(1, 17), "dense");
        free_weights(&t);
    }
}

static void test_add_random(void)
{
    for (int i = 0; i < 200; i++) {
        f8_op_impl op;
        memset(&op, 0, sizeof op);
        f8_kernel_args *a = &op.args;
        op.desc.type = F8_OP_ADD;
        a->groups = 1;
        const uint32_t H = (uint32_t)rnd_in(1, 9), W = (uint32_t)rnd_in(1, 9),
                       C = (uint32_t)rnd_in(1, 70);
        const int fa = rnd_in(-4, 12);
        const int fb = rnd() % 4 ? rnd_in(-4, 12) : fa + rnd_in(-27, 27);
        const int f = fa > fb ? fa : fb;
        a->in0 = (f8_value_desc){H, W, C, rnd_dtype(rnd() % 4 == 0), fa, 0};
        a->in1 = (f8_value_desc){H, W, C, rnd_dtype(rnd() % 4 == 0), fb, 0};
        a->out = (f8_value_desc){H, W, C, rnd_dtype(1), f - rnd_shift(), 0};
        a->relu = (int)(rnd() & 1);
        compare_op(&op, (uint32_t)rnd_in(1, 3), "add");
    }
}

/* 8-bit inputs, small alignments, right shifts <= 7, values at the ends of their ranges: the
 * 16-bit ADD path and its clamps. */
static void test_add_extremes(void)
{
    extreme_fill = 1;
    for (int i = 0; i < 200; i++) {
        f8_op_impl op;
        memset(&op, 0, sizeof op);
        f8_kernel_args *a = &op.args;
        op.desc.type = F8_OP_ADD;
        a->groups = 1;
        const uint32_t H = (uint32_t)rnd_in(1, 5), W = (uint32_t)rnd_in(1, 9),
                       C = (uint32_t)rnd_in(1, 70);
        const int fa = rnd_in(-4, 8), fb = fa + rnd_in(-6, 6), f = fa > fb ? fa : fb;
        a->in0 = (f8_value_desc){H, W, C, rnd_dtype(0), fa, 0};
        a->in1 = (f8_value_desc){H, W, C, rnd_dtype(0), fb, 0};
        a->out = (f8_value_desc){H, W, C, rnd_dtype(0), f - rnd_in(0, 7), 0};
        a->relu = (int)(rnd() & 1);
        compare_op(&op, (uint32_t)rnd_in(1, 2), "add (8-bit extremes)");
    }
    extreme_fill = 0;
}

static void test_pool_random(void)
{
    for (int i = 0; i < 200; i++) {
        f8_op_impl op;
        memset(&op, 0, sizeof op);
        f8_kernel_args *a = &op.args;
        const int max = (int)(rnd() & 1);
        op.desc.type = max ? F8_OP_MAXPOOL : F8_OP_AVGPOOL;
        a->groups = 1;
        a->kernel_h = (uint32_t)rnd_in(1, 4);
        a->kernel_w = (uint32_t)rnd_in(1, 4);
        a->stride_h = (uint32_t)rnd_in(1, 3);
        a->stride_w = (uint32_t)rnd_in(1, 3);
        if (max) {
            a->pad_top = (uint32_t)rnd_in(0, (int32_t)a->kernel_h - 1);
            a->pad_bottom = (uint32_t)rnd_in(0, (int32_t)a->kernel_h - 1);
            a->pad_left = (uint32_t)rnd_in(0, (int32_t)a->kernel_w - 1);
            a->pad_right = (uint32_t)rnd_in(0, (int32_t)a->kernel_w - 1);
        } else {
            a->avg_shift = (uint32_t)rnd_in(0, 5);
        }
        const uint32_t H = (uint32_t)rnd_in((int32_t)a->kernel_h, 11);
        const uint32_t W = (uint32_t)rnd_in((int32_t)a->kernel_w, 11);
        const int fl = rnd_in(-4, 12);
        a->in0 = (f8_value_desc){H, W, (uint32_t)rnd_in(1, 70), rnd_dtype(rnd() % 4 == 0), fl, 0};
        a->out = (f8_value_desc){out_dim(H, a->pad_top, a->pad_bottom, a->kernel_h, a->stride_h),
                                 out_dim(W, a->pad_left, a->pad_right, a->kernel_w, a->stride_w),
                                 a->in0.c, rnd_dtype(1),
                                 fl + (int)a->avg_shift - rnd_shift(), 0};
        a->relu = (int)(rnd() & 1);
        compare_op(&op, (uint32_t)rnd_in(1, 3), max ? "maxpool" : "avgpool");
    }
}

/* Max pools whose epilogue is the identity (same 8-bit dtype and FL in and out): the
 * byte-max kernels, including their whole-3×3-window path (C a multiple of 64), at the
 * borders and inside, with ResNet's 3×3/2 pad 1 and other windows. */
static void test_maxpool_bytes(void)
{
    static const uint32_t shapes[][6] = {
        /* H, W, C, k, stride, pad */
        {12, 11, 64, 3, 2, 1}, {9, 9, 128, 3, 1, 1}, {10, 7, 64, 3, 2, 0},
        {8, 8, 70, 3, 2, 1},   {7, 9, 64, 2, 2, 0},  {13, 12, 192, 3, 2, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int dt = 0; dt < 2; dt++) {
            f8_op_impl op;
            memset(&op, 0, sizeof op);
            f8_kernel_args *a = &op.args;
            op.desc.type = F8_OP_MAXPOOL;
            a->groups = 1;
            a->kernel_h = a->kernel_w = shapes[i][3];
            a->stride_h = a->stride_w = shapes[i][4];
            a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = shapes[i][5];
            const f8_dtype d = dt ? F8_DTYPE_S8 : F8_DTYPE_U8;
            const uint32_t H = shapes[i][0], W = shapes[i][1], C = shapes[i][2], k = shapes[i][3],
                           s = shapes[i][4], p = shapes[i][5];
            a->in0 = (f8_value_desc){H, W, C, d, 5, 0};
            a->out = (f8_value_desc){out_dim(H, p, p, k, s), out_dim(W, p, p, k, s), C, d, 5, 0};
            a->relu = (int)(i & 1);
            compare_op(&op, 2, "maxpool (byte max)");
        }
}

/* ---- a residual ADD fused into the convolution that writes one of its operands --------
 * A CONV2D writing c (u8/s8) and an ADD of c and x1: the unfused scalar reference (the conv
 * into a tensor, then f8_add_scalar) against the scalar twin f8_conv2d_add_scalar called by
 * name, and against the AVX-512 plan that f8_plan_fuse_add makes: the 16-bit assembly tile
 * (f8_gemm_tile_6x64c4_packadd_avx512vnni) where it fits, and then the same in intrinsics in the
 * narrow and short tiles (store_tile_add16), the 32-bit intrinsics epilogue in every other case. Random shapes, both operand orders, alignments in and out of the 16-bit
 * form's bounds, left and right shifts, values at the ends of their ranges. */
static unsigned fused_regs, fused_intrin, fused_pairs;

/* pairs: a 1x1 stride-1 convolution to 24 or 32 channels (the pixel-pair kernels), in the
 * 16-bit form's bounds; byte_add: one of the ResNets' adds, an f8_addb_form (c s8, u8 sum;
 * SUM: x1 u8 at c's FL or one more, the sum at x1's FL; HALF: x1 u8 at c's FL + 1, the sum at
 * c's FL; DOUBLE: x1 s8 at c's FL, the sum at FL + 1): the full tile's byte forms */
static unsigned fused_bytes[4];

static void fused_add_case(int regs_shape, int pairs, int byte_add)
{
    f8_op_impl op, add;
    memset(&op, 0, sizeof op);
    memset(&add, 0, sizeof add);
    f8_kernel_args *a = &op.args, *e = &add.args;
    op.desc.type = F8_OP_CONV2D;
    add.desc.type = F8_OP_ADD;
    regs_shape |= pairs | byte_add;
    const uint32_t k = pairs ? 1 : (uint32_t)rnd_in(1, 3);
    a->kernel_h = a->kernel_w = k;
    a->stride_h = a->stride_w = pairs ? 1 : (uint32_t)rnd_in(1, 2);
    a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = (uint32_t)rnd_in(0, (int32_t)k - 1);
    a->groups = 1;
    const uint32_t cin = pairs ? 4 * (uint32_t)rnd_in(9, 40) : (uint32_t)rnd_in(1, 80);
    /* with the 16-bit form, also narrow last tiles (the intrinsics' 16-bit epilogue) */
    static const uint32_t narrow[] = {24, 32, 96, 160};
    const uint32_t cout = pairs                             ? 24 + 8 * (rnd() & 1)
                          : regs_shape && !byte_add && rnd() % 3 == 0 ? narrow[rnd() % 4]
                          : regs_shape || rnd() % 2      ? 64 * (uint32_t)rnd_in(1, 2)
                                                         : (uint32_t)rnd_in(1, 140);
    const uint32_t H = (uint32_t)rnd_in((int32_t)k + 2, 13), W = (uint32_t)rnd_in((int32_t)k + 5, 17);
    a->in0 = (f8_value_desc){H, W, cin, rnd_dtype(0), rnd_in(-4, 8), 0};
    const uint32_t Ho = out_dim(H, a->pad_top, a->pad_bottom, k, a->stride_h);
    const uint32_t Wo = out_dim(W, a->pad_left, a->pad_right, k, a->stride_w);
    a->out = (f8_value_desc){Ho, Wo, cout, byte_add ? F8_DTYPE_S8 : rnd_dtype(0), rnd_in(-4, 8), 0};
    a->relu = (int)(rnd() & 1);
    weights_t t = rnd_weights(cout, (size_t)k * k * cin, a->in0.fl, a->out.fl);
    const int packing = regs_shape || rnd() % 2;
    for (uint32_t o = 0; o < cout && packing; o++) { /* small sums, right shifts: sums_fit */
        t.bias[o] = rnd_in(-(1 << 14), 1 << 14);
        t.flw[o] = (int8_t)(rnd_in(0, 20) - a->in0.fl + a->out.fl);
    }
    a->weights = t.w;
    a->bias = t.bias;
    a->fl_w = t.flw;

    const int c_is_in0 = (int)(rnd() & 1);
    const int fc = a->out.fl;
    const int fx = byte_add == F8_ADDB_SUM    ? fc + rnd_in(0, 1)
                   : byte_add == F8_ADDB_HALF ? fc + 1
                   : byte_add                 ? fc
                   : regs_shape || rnd() % 2  ? fc + rnd_in(-3, 3)
                                              : fc + rnd_in(-22, 22);
    const int f = fc > fx ? fc : fx;
    const f8_dtype x1_dtype = byte_add == F8_ADDB_DOUBLE ? F8_DTYPE_S8
                              : byte_add               ? F8_DTYPE_U8
                                                       : rnd_dtype(0);
    const f8_value_desc x1d = {Ho, Wo, cout, x1_dtype, fx, 0};
    e->in0 = c_is_in0 ? a->out : x1d;
    e->in1 = c_is_in0 ? x1d : a->out;
    e->out = (f8_value_desc){Ho, Wo, cout, byte_add ? F8_DTYPE_U8 : regs_shape ? rnd_dtype(0) : rnd_dtype(1),
                             byte_add == F8_ADDB_SUM      ? f
                             : byte_add == F8_ADDB_HALF   ? f - 1
                             : byte_add == F8_ADDB_DOUBLE ? f + 1
                             : f - (regs_shape || rnd() % 2 ? rnd_in(-1, 3) : rnd_in(-6, 15)), 0};
    e->relu = (int)(rnd() & 1);
    const f8_add_epi ep = {x1d, e->out, f - fc, f - fx, f - e->out.fl, e->relu};

    const uint32_t batch = (uint32_t)rnd_in(1, 2);
    const size_t nx = bytes(&a->in0) * batch, nc = bytes(&a->out) * batch;
    const size_t n1 = bytes(&x1d) * batch, ny = bytes(&e->out) * batch;
    uint8_t *x = malloc(nx), *x1 = malloc(n1), *c = malloc(nc), *want = malloc(ny), *got = malloc(ny);
    fill(x, a->in0.dtype, nx);
    fill(x1, x1d.dtype, n1);
    for (uint32_t b = 0; b < batch; b++) { /* unfused: conv into c, then ADD */
        uint8_t *cb = c + b * bytes(&a->out), *x1b = x1 + b * bytes(&x1d);
        f8_conv2d_scalar(a, x + b * bytes(&a->in0), cb);
        f8_add_scalar(e, c_is_in0 ? cb : x1b, c_is_in0 ? x1b : cb, want + b * bytes(&e->out));
        f8_conv2d_add_scalar(a, &ep, x + b * bytes(&a->in0), x1b, got + b * bytes(&e->out));
    }
    if (memcmp(got, want, ny) != 0)
        CU_FAIL("f8_conv2d_add_scalar differs from the conv and ADD scalar kernels");

    CU_ASSERT_EQUAL_FATAL(f8_pack_op(a, op.desc.type, &op.pk), F8_OK);
    uint8_t *zero = calloc(1, op.pk.seg4 + 64);
    if (f8_isa_supported(F8_ISA_AVX512VNNI)) {
        f8_op_plan pl;
        f8_plan_op(&op, F8_ISA_AVX512VNNI, zero, &pl);
        const int on_pairs = pl.conv == f8_conv2d_nhwc_1x1_8x24c4_avx512vnni ||
                             pl.conv == f8_conv2d_nhwc_1x1_8x32c4_avx512vnni;
        const int fused = f8_plan_fuse_add(&pl, &op, &add, c_is_in0);
        /* every AVX-512 GEMM the 6x64 tiles run fuses an ADD the 32-bit kernels hold; the pair
         * kernels one in the 16-bit form's bounds */
        if (on_pairs) {
            CU_ASSERT(!fused || pl.geom.add.regs);
        } else {
            CU_ASSERT_EQUAL(fused, pl.conv != f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni &&
                                       pl.conv != f8_conv2d_nhwc_3x3_1x32c4_stem_avx512vnni &&
                                       f8_eltwise_fits_s32(&add));
        }
        if (pairs && pl.geom.pk->sums_fit)
            CU_ASSERT(on_pairs && fused);
        fused_pairs += on_pairs && fused;
        if (fused) {
            CU_ASSERT(pl.add_epi.sc == ep.sc && pl.add_epi.s1 == ep.s1 && pl.add_epi.n == ep.n);
            const int on_bytes = !on_pairs && pl.geom.tiles.full == f8_gemm_tile_6x64c4_packaddb_avx512vnni;
            const int regs = on_pairs || on_bytes ||
                             strcmp(pl.tile_kernel, "f8_gemm_tile_6x64c4_packadd_avx512vnni") == 0;
            if (byte_add && pl.geom.pk->sums_fit && !on_pairs) { /* the shapes the byte forms exist for */
                CU_ASSERT(on_bytes);
                CU_ASSERT_EQUAL(f8_addb_form_of(&pl.geom.add, a->out.dtype), (f8_addb_form)byte_add);
            }
            if (on_bytes)
                fused_bytes[f8_addb_form_of(&pl.geom.add, a->out.dtype)]++;
            if (regs_shape && packing && pl.geom.pk->sums_fit)
                CU_ASSERT(regs); /* the shape the assembly tile exists for */
            fused_regs += !on_pairs && regs && pl.geom.tiles.full == f8_gemm_tile_6x64c4_packadd_avx512vnni;
            fused_intrin += !regs;
            memset(got, 0xA5, ny);
            f8_plan_exec(&op, &pl, batch, x, x1, got);
            if (memcmp(got, want, ny) != 0) {
                size_t i = 0;
                while (got[i] == want[i])
                    i++;
                if (mismatches++ < 5)
                    fprintf(stderr, "\nfused ADD (%s): byte %zu got %u want %u; conv %ux%u/%u "
                            "%ux%ux%u %s -> %u %s fl %d relu %d; x1 %s fl %d; out %s fl %d relu %d\n",
                            on_pairs ? pl.kernel : pl.tile_kernel, i, got[i], want[i], k, k, a->stride_h, H, W, cin,
                            f8_dtype_name(a->in0.dtype), cout, f8_dtype_name(a->out.dtype), fc,
                            a->relu, f8_dtype_name(x1d.dtype), fx, f8_dtype_name(e->out.dtype),
                            e->out.fl, e->relu);
                CU_FAIL("the fused AVX-512 epilogue differs from the unfused scalar reference");
            }
        }
    }
    f8_pack_free(&op.pk);
    free_weights(&t);
    free(zero);
    free(x);
    free(x1);
    free(c);
    free(want);
    free(got);
}

static void test_conv_add_fused(void)
{
    for (int i = 0; i < 660; i++) { /* the byte forms: 60 cases each from 480 */
        extreme_fill = i % 3 == 0;
        fused_add_case(i % 2, i >= 400 && i < 480, i >= 480 ? 1 + (i - 480) / 60 : 0);
    }
    extreme_fill = 0;
    if (f8_isa_supported(F8_ISA_AVX512VNNI)) {
        printf("(%u with the 16-bit assembly tile, %u/%u/%u on bytes (sum/half/double), %u with "
               "the pair kernels, %u in 32-bit lanes) ", fused_regs, fused_bytes[F8_ADDB_SUM],
               fused_bytes[F8_ADDB_HALF], fused_bytes[F8_ADDB_DOUBLE], fused_pairs, fused_intrin);
        CU_ASSERT(fused_regs >= 50 && fused_pairs >= 50 && fused_intrin >= 50);
        CU_ASSERT(fused_bytes[F8_ADDB_SUM] >= 30 && fused_bytes[F8_ADDB_HALF] >= 30 &&
                  fused_bytes[F8_ADDB_DOUBLE] >= 30);
        CU_ASSERT_EQUAL(fused_bytes[F8_ADDB_NONE], 0);
    }
}

/* ---- whole models --------------------------------------------------------------------- */

#define MAXB 5

typedef struct {
    int8_t w[8][20000];
    int32_t b[8][256];
    int8_t f[8][256];
} model_weights;

static model_weights mw;

/* Weights for op slot s: cout channels of `per` weights, shift about log2 of the typical sum. */
static void slot_weights(int s, uint32_t cout, uint32_t per, int shift, int fl_in, int fl_out)
{
    for (uint32_t i = 0; i < cout * per; i++)
        mw.w[s][i] = (int8_t)rnd_in(-127, 127);
    for (uint32_t o = 0; o < cout; o++) {
        mw.b[s][o] = rnd_in(-5000, 5000);
        mw.f[s][o] = (int8_t)(shift + rnd_in(-1, 1) - fl_in + fl_out);
    }
}

/* Opens a built model; on failure says which one and why. */
static f8_model *open_model(mb_model *m, const char *what)
{
    char err[F8_ERRMSG_SIZE];
    int rc;
    f8_model *model = mb_open(m, err, sizeof err, &rc);
    if (!model)
        fprintf(stderr, "%s: %s\n", what, err);
    return model;
}

/* stem 3x3/2 (Cin 3) -> maxpool 3x3/2 -> 1x1 (s8 out) -> depthwise 3x3 -> 3x3 -> add ->
 * 1x1/2 -> avgpool -> dense. */
static f8_model *random_model(uint32_t C1 /* 16: the ADD fused in 32-bit lanes, 64: in
                                             the 16-bit assembly tile */)
{
    mb_model m;
    const uint32_t H = 29, W = 27, C2 = 24, C3 = 40, K = 10;
    mb_init(&m, H, W, 3, 8, K);
    const uint32_t h1 = (H + 2 - 3) / 2 + 1, w1 = (W + 2 - 3) / 2 + 1;
    const uint32_t h2 = (h1 + 2 - 3) / 2 + 1, w2 = (w1 + 2 - 3) / 2 + 1;
    const uint32_t h3 = (h2 - 1) / 2 + 1, w3 = (w2 - 1) / 2 + 1;
    uint32_t v1 = mb_value(&m, h1, w1, C1, F8_DTYPE_U8, 4);
    uint32_t v2 = mb_value(&m, h2, w2, C1, F8_DTYPE_U8, 4);
    uint32_t v3 = mb_value(&m, h2, w2, C2, F8_DTYPE_S8, 3);
    uint32_t v4 = mb_value(&m, h2, w2, C2, F8_DTYPE_U8, 4);
    uint32_t v5 = mb_value(&m, h2, w2, C1, F8_DTYPE_U8, 5);
    uint32_t v6 = mb_value(&m, h2, w2, C1, F8_DTYPE_U8, 4);
    uint32_t v7 = mb_value(&m, h3, w3, C3, F8_DTYPE_S8, 4);
    uint32_t v8 = mb_value(&m, 1, 1, C3, F8_DTYPE_S8, 4);
    uint32_t v9 = mb_value(&m, 1, 1, K, F8_DTYPE_S32, 6);
    m.output_value = v9;
    slot_weights(0, C1, 27, 7, 8, 4);
    mb_conv(&m, 0, v1, 3, 3, 2, 1, 1, 1, mw.w[0], mw.b[0], mw.f[0]);
    mb_pool(&m, F8_OP_MAXPOOL, v1, v2, 3, 2, 1, 0, 0);
    slot_weights(1, C2, C1, 7, 4, 3);
    mb_conv(&m, v2, v3, 1, 1, 1, 0, 1, 0, mw.w[1], mw.b[1], mw.f[1]);
    slot_weights(2, C2, 9, 5, 3, 4);
    mb_conv(&m, v3, v4, 3, 3, 1, 1, C2, 1, mw.w[2], mw.b[2], mw.f[2]);
    slot_weights(3, C1, 9 * C2, 9, 4, 5);
    mb_conv(&m, v4, v5, 3, 3, 1, 1, 1, 1, mw.w[3], mw.b[3], mw.f[3]);
    mb_add(&m, v5, v2, v6, 1);
    slot_weights(4, C3, C1, 7, 4, 4);
    mb_conv(&m, v6, v7, 1, 1, 2, 0, 1, 0, mw.w[4], mw.b[4], mw.f[4]);
    mb_pool(&m, F8_OP_AVGPOOL, v7, v8, h3 < w3 ? h3 : w3, 1, 0, 4, 0)->kw = w3;
    m.ops[m.num_ops - 1].kh = h3;
    slot_weights(5, K, C3, 2, 4, 6);
    mb_dense(&m, v8, v9, 0, mw.w[5], mw.b[5], mw.f[5]);
    return open_model(&m, "random model");
}

/* conv -> DENSE (u8, an activation in the arena) -> DENSE (the logits): the runner's batched
 * DENSE with outputs staged and copied back. */
static f8_model *dense_chain_model(void)
{
    mb_model m;
    const uint32_t H = 6, W = 5, C1 = 7, D = 37, K = 10;
    mb_init(&m, H, W, 3, 8, K);
    uint32_t v1 = mb_value(&m, H, W, C1, F8_DTYPE_S8, 4);
    uint32_t v2 = mb_value(&m, 1, 1, D, F8_DTYPE_U8, 4);
    uint32_t v3 = mb_value(&m, 1, 1, K, F8_DTYPE_S32, 6);
    m.output_value = v3;
    slot_weights(0, C1, 27, 7, 8, 4);
    mb_conv(&m, 0, v1, 3, 3, 1, 1, 1, 0, mw.w[0], mw.b[0], mw.f[0]);
    slot_weights(1, D, H * W * C1, 9, 4, 4);
    mb_dense(&m, v1, v2, 1, mw.w[1], mw.b[1], mw.f[1]);
    slot_weights(2, K, D, 7, 4, 6);
    mb_dense(&m, v2, v3, 0, mw.w[2], mw.b[2], mw.f[2]);
    return open_model(&m, "dense chain model");
}

/* A 3x3 convolution with 811 KB of weights on a 3x3x256 input: the runner runs it batched
 * (64 output channels at a time over all of a thread's images; 352 channels, so the last
 * group is 2 blocks of 16), and its first and last output rows skip a padding row. */
static struct {
    int8_t w[352 * 9 * 256];
    int32_t b[352];
    int8_t f[352];
} wide;

static f8_model *wide_conv_model(void)
{
    mb_model m;
    const uint32_t H = 3, C1 = 256, C2 = 352, K = 10;
    mb_init(&m, H, H, 3, 8, K);
    uint32_t v1 = mb_value(&m, H, H, C1, F8_DTYPE_U8, 4);
    uint32_t v2 = mb_value(&m, H, H, C2, F8_DTYPE_S8, 3);
    uint32_t v3 = mb_value(&m, 1, 1, C2, F8_DTYPE_S8, 3);
    uint32_t v4 = mb_value(&m, 1, 1, K, F8_DTYPE_S32, 6);
    m.output_value = v4;
    slot_weights(0, C1, 27, 7, 8, 4);
    mb_conv(&m, 0, v1, 3, 3, 1, 1, 1, 1, mw.w[0], mw.b[0], mw.f[0]);
    for (size_t i = 0; i < sizeof wide.w; i++)
        wide.w[i] = (int8_t)rnd_in(-127, 127);
    for (uint32_t o = 0; o < C2; o++) {
        wide.b[o] = rnd_in(-50000, 50000);
        wide.f[o] = (int8_t)(rnd_in(15, 17) - 4 + 3);
    }
    mb_conv(&m, v1, v2, 3, 3, 1, 1, 1, 0, wide.w, wide.b, wide.f);
    mb_pool(&m, F8_OP_AVGPOOL, v2, v3, H, 1, 0, 3, 0);
    slot_weights(1, K, C2, 7, 3, 6);
    mb_dense(&m, v3, v4, 0, mw.w[1], mw.b[1], mw.f[1]);
    return open_model(&m, "wide conv model");
}

static void test_models_all_paths(void)
{
    for (int trial = 0; trial < 5; trial++) {
        f8_model *m = trial == 4   ? wide_conv_model()
                      : trial == 3 ? dense_chain_model()
                                   : random_model(trial == 1 ? 64 : 16);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        const f8_model_info *info = f8_model_get_info(m);
        const size_t img = (size_t)info->input_h * info->input_w * info->input_c;
        const uint32_t K = info->num_classes;
        uint8_t *images = malloc(img * MAXB);
        int32_t want[MAXB * 10], got[MAXB * 10];
        for (size_t i = 0; i < img * MAXB; i++)
            images[i] = (uint8_t)rnd();
        f8_runner *ref = NULL;
        f8_runner_options o = {.threads = 1, .isa = F8_ISA_SCALAR};
        CU_ASSERT_EQUAL_FATAL(f8_runner_create_opts(m, MAXB, &o, &ref), F8_OK);
        CU_ASSERT_EQUAL(f8_run(ref, images, MAXB, want), F8_OK);
        int distinct = 0;
        for (uint32_t i = 1; i < MAXB * K; i++)
            distinct |= want[i] != want[0];
        CU_ASSERT(distinct);
        const f8_isa isas[] = {F8_ISA_SCALAR, F8_ISA_AVX2, F8_ISA_AVX512VNNI};
        for (int s = 0; s < 3; s++) {
            if (!f8_isa_supported(isas[s]))
                continue;
            for (uint32_t threads = 1; threads <= 3; threads++) {
                f8_runner *r = NULL;
                f8_runner_options op = {.threads = threads, .isa = isas[s]};
                CU_ASSERT_EQUAL_FATAL(f8_runner_create_opts(m, MAXB, &op, &r), F8_OK);
                CU_ASSERT_EQUAL(f8_runner_isa(r), isas[s]);
                CU_ASSERT_EQUAL(f8_runner_threads(r), threads);
                for (uint32_t batch = 1; batch <= MAXB; batch++) {
                    memset(got, 0, sizeof got);
                    CU_ASSERT_EQUAL(f8_run(r, images, batch, got), F8_OK);
                    if (memcmp(got, want, batch * K * sizeof *got) != 0) {
                        fprintf(stderr, "\nmodel on %s, %u threads, batch %u differs\n",
                                f8_isa_name(isas[s]), threads, batch);
                        CU_FAIL("model logits differ from the scalar path");
                    }
                }
                f8_runner_destroy(r);
            }
        }
        f8_runner_destroy(ref);
        free(images);
        f8_model_close(m);
    }
}

static void test_isa_api(void)
{
    CU_ASSERT(f8_isa_supported(F8_ISA_SCALAR));
    CU_ASSERT(f8_isa_supported(f8_isa_best()));
    CU_ASSERT_FALSE(f8_isa_supported(F8_ISA_AUTO));
    f8_isa isa;
    CU_ASSERT_EQUAL(f8_isa_parse("avx2", &isa), F8_OK);
    CU_ASSERT_EQUAL(isa, F8_ISA_AVX2);
    CU_ASSERT_EQUAL(f8_isa_parse("sse9", &isa), F8_EINVAL);
    CU_ASSERT_STRING_EQUAL(f8_isa_name(F8_ISA_AVX512VNNI), "avx512vnni");
    printf("\n  paths on this CPU:%s%s%s (best %s)\n", " scalar",
           f8_isa_supported(F8_ISA_AVX2) ? " avx2" : "",
           f8_isa_supported(F8_ISA_AVX512VNNI) ? " avx512vnni" : "", f8_isa_name(f8_isa_best()));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"isa: detection, names", test_isa_api},
        {"conv2d: random shapes, every path", test_conv_random},
        {"conv2d: ResNet-like shapes and stems", test_conv_resnet_shapes},
        {"conv2d: depthwise random shapes", test_dwconv_random},
        {"conv2d: depthwise 3x3 random shapes (stride 1, u8)", test_dwconv3x3_random},
        {"conv2d: right shifts only (fast epilogues)", test_conv_right_shifts},
        {"conv2d: sums at the bound of the packing epilogue", test_conv_sum_bounds},
        {"conv2d: 1x1 from 4-32 channels (weights in registers)", test_conv_small_k},
        {"conv2d: packing epilogue on signed words, unsigned words and dwords", test_conv_packing_words},
        {"conv2d: 3x3 from 3-4 channels (stems, streamed rows)", test_conv_stem3},
        {"conv2d: grouped (scalar fallback) random", test_grouped_random},
        {"kernel variants by name: conv, depthwise, GEMM tiles", test_named_conv_kernels},
        {"kernel variants by name: add, pools", test_named_eltwise_kernels},
        {"depthwise 3x3 dwq kernels by name: random shapes, extremes", test_dwconv3x3_dwq_named},
        {"dense: random shapes and batches", test_dense_random},
        {"add: random dtypes and alignments", test_add_random},
        {"add: 8-bit extremes, small shifts", test_add_extremes},
        {"conv2d + add: fused epilogue vs the unfused reference", test_conv_add_fused},
        {"pools: random windows, padding, dtypes", test_pool_random},
        {"maxpool: identity epilogue (byte max, whole 3x3 windows)", test_maxpool_bytes},
        {"models: every path x threads x batches", test_models_all_paths},
        CU_TEST_INFO_NULL,
    };
    return unit_run("kernels_isa", tests);
}
