/*
 * The scalar reference kernels on tiny hand-computed examples (docs/FORMAT.md §3), then whole
 * in-memory models through f8_model_open_buffer + f8_run.
 */
#include <stdint.h>
#include <string.h>

#include "../../engine/src/kernels/kernels.h"
#include "model_builder.h"
#include "unit.h"

static f8_value_desc val(uint32_t h, uint32_t w, uint32_t c, f8_dtype t, int fl)
{
    return (f8_value_desc){h, w, c, t, fl, 0};
}

static f8_kernel_args window(f8_value_desc in, f8_value_desc out, uint32_t k, uint32_t stride,
                             uint32_t pad)
{
    f8_kernel_args a;
    memset(&a, 0, sizeof a);
    a.in0 = in;
    a.out = out;
    a.kernel_h = a.kernel_w = k;
    a.stride_h = a.stride_w = stride;
    a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = pad;
    a.groups = 1;
    return a;
}

/* 3x3 input 1..9, 3x3 kernel of ones, pad 1, stride 2 -> 2x2: the four corner windows. */
static void test_conv_pad_stride(void)
{
    const uint8_t x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int8_t w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int32_t bias[1] = {1};
    int8_t flw[1] = {0};
    f8_kernel_args a = window(val(3, 3, 1, F8_DTYPE_U8, 0), val(2, 2, 1, F8_DTYPE_S32, 0), 3, 2, 1);
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    int32_t y[4];
    f8_conv2d_scalar(&a, x, y);
    /* 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9, plus the bias */
    CU_ASSERT_EQUAL(y[0], 13);
    CU_ASSERT_EQUAL(y[1], 17);
    CU_ASSERT_EQUAL(y[2], 25);
    CU_ASSERT_EQUAL(y[3], 29);

    /* FL_w = 1: F_int = 1, output fl 0 -> shift 1, ties to even: 6.5 8.5 12.5 14.5 */
    flw[0] = 1;
    f8_conv2d_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 6);
    CU_ASSERT_EQUAL(y[1], 8);
    CU_ASSERT_EQUAL(y[2], 12);
    CU_ASSERT_EQUAL(y[3], 14);

    /* u8 output at FL 2 (shift -1: left shift by 1): 26 34 50 58 */
    a.out = val(2, 2, 1, F8_DTYPE_U8, 2);
    uint8_t yu[4];
    f8_conv2d_scalar(&a, x, yu);
    CU_ASSERT_EQUAL(yu[0], 26);
    CU_ASSERT_EQUAL(yu[3], 58);
}

/* Stride 1, asymmetric padding (top 1 only), 2 output channels, 2 input channels, s8 input. */
static void test_conv_multichannel_asym_pad(void)
{
    /* input 2x2x2 (NHWC): pixel (y,x) = [c0, c1] */
    const int8_t x[8] = {1, -1, 2, -2, 3, -3, 4, -4};
    /* weights [o][ky][kx][i], kernel 2x2 */
    const int8_t w[16] = {
        1, 0, 1, 0, 1, 0, 1, 0, /* o0: sum of c0 over the window */
        0, 1, 0, 0, 0, 0, 0, 2, /* o1: c1 at (ky,kx)=(0,0) + 2*c1 at (1,1) */
    };
    const int32_t bias[2] = {0, 10};
    const int8_t flw[2] = {0, 0};
    f8_kernel_args a = window(val(2, 2, 2, F8_DTYPE_S8, 0), val(2, 1, 2, F8_DTYPE_S32, 0), 2, 1, 0);
    a.pad_top = 1; /* Ho = (2+1-2)/1+1 = 2, Wo = (2-2)/1+1 = 1 */
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    int32_t y[4];
    f8_conv2d_scalar(&a, x, y);
    /* oy=0: window rows -1..0 -> only row 0 real: ky=1 sees row 0 */
    CU_ASSERT_EQUAL(y[0], 1 + 2);                /* o0: c0 of (0,0),(0,1) */
    CU_ASSERT_EQUAL(y[1], 10 + 2 * -2);          /* o1: ky=0 is padding; (1,1) -> row 0 col 1 */
    CU_ASSERT_EQUAL(y[2], 1 + 2 + 3 + 4);        /* oy=1: rows 0..1 */
    CU_ASSERT_EQUAL(y[3], 10 + -1 + 2 * -4);
}

static void test_conv_grouped(void)
{
    /* 1x1 input with 4 channels, 2 groups, 2 outputs: o0 reads c0,c1; o1 reads c2,c3 */
    const int8_t x[4] = {1, 2, 3, 4};
    const int8_t w[4] = {1, 1, 1, -1};
    const int32_t bias[2] = {0, 0};
    const int8_t flw[2] = {0, 0};
    f8_kernel_args a = window(val(1, 1, 4, F8_DTYPE_S8, 0), val(1, 1, 2, F8_DTYPE_S8, 0), 1, 1, 0);
    a.groups = 2;
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    int8_t y[2];
    f8_conv2d_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 3);
    CU_ASSERT_EQUAL(y[1], -1);

    /* 4 groups of 1 input channel feeding 2 outputs each would need Cout 8; instead check a
     * grouped conv with 2 outputs per group: Cin 2, Cout 4, G 2 */
    const int8_t x2[2] = {5, 7};
    const int8_t w2[4] = {1, 2, 3, -1}; /* o0,o1 read c0; o2,o3 read c1 */
    const int32_t b2[4] = {0, 0, 0, 0};
    const int8_t f2[4] = {0, 0, 0, 0};
    a = window(val(1, 1, 2, F8_DTYPE_S8, 0), val(1, 1, 4, F8_DTYPE_S32, 0), 1, 1, 0);
    a.groups = 2;
    a.weights = w2;
    a.bias = b2;
    a.fl_w = f2;
    int32_t y2[4];
    f8_conv2d_scalar(&a, x2, y2);
    CU_ASSERT_EQUAL(y2[0], 5);
    CU_ASSERT_EQUAL(y2[1], 10);
    CU_ASSERT_EQUAL(y2[2], 21);
    CU_ASSERT_EQUAL(y2[3], -7);
}

static void test_conv_depthwise(void)
{
    /* 2x2x2 u8, depthwise 2x2 (G = Cin = Cout = 2): pixel (y,x) = [c0, c1] */
    const uint8_t x[8] = {10, 1, 20, 2, 30, 3, 40, 4};
    const int8_t w[8] = {1, 1, 1, 1, /* o0 over c0 */ 2, 0, 0, -1 /* o1 over c1 */};
    const int32_t bias[2] = {0, 0};
    const int8_t flw[2] = {0, 0};
    f8_kernel_args a = window(val(2, 2, 2, F8_DTYPE_U8, 0), val(1, 1, 2, F8_DTYPE_S32, 0), 2, 1, 0);
    a.groups = 2;
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    int32_t y[2];
    f8_conv2d_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 100);
    CU_ASSERT_EQUAL(y[1], 2 * 1 - 4);
}

static void test_conv_relu_and_u8_clamp(void)
{
    const uint8_t x[2] = {200, 100};
    const int8_t w[4] = {1, 1, -1, 0}; /* 1x1 conv, 2 in, 2 out */
    const int32_t bias[2] = {0, 0};
    const int8_t flw[2] = {0, 0};
    f8_kernel_args a = window(val(1, 1, 2, F8_DTYPE_U8, 0), val(1, 1, 2, F8_DTYPE_S32, 0), 1, 1, 0);
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    a.relu = 1;
    int32_t y[2];
    f8_conv2d_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 300);
    CU_ASSERT_EQUAL(y[1], 0); /* -200 -> ReLU */
    a.relu = 0;
    f8_conv2d_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[1], -200);
    a.out.dtype = F8_DTYPE_U8;
    uint8_t yu[2];
    f8_conv2d_scalar(&a, x, yu);
    CU_ASSERT_EQUAL(yu[0], 255);
    CU_ASSERT_EQUAL(yu[1], 0);
}

static void test_conv_accumulator_wraps(void)
{
    /* 1x1 conv: 255*127 + bias near INT32_MAX wraps in 32 bits before the epilogue */
    const uint8_t x[1] = {255};
    const int8_t w[1] = {127};
    const int32_t bias[1] = {INT32_MAX - 100};
    const int8_t flw[1] = {0};
    f8_kernel_args a = window(val(1, 1, 1, F8_DTYPE_U8, 0), val(1, 1, 1, F8_DTYPE_S32, 0), 1, 1, 0);
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    int32_t y[1];
    f8_conv2d_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], (int32_t)((int64_t)INT32_MAX - 100 + 255 * 127 - ((int64_t)1 << 32)));
}

static void test_dense(void)
{
    /* 1x2x2 input read as K = 4; per-channel FL_w */
    const uint8_t x[4] = {1, 2, 3, 4};
    const int8_t w[12] = {1, 1, 1, 1, -1, 0, 0, 0, 127, 127, 127, 127};
    const int32_t bias[3] = {0, 0, 5};
    const int8_t flw[3] = {0, 0, 2};
    f8_kernel_args a = window(val(1, 2, 2, F8_DTYPE_U8, 0), val(1, 1, 3, F8_DTYPE_S32, 0), 0, 0, 0);
    a.weights = w;
    a.bias = bias;
    a.fl_w = flw;
    int32_t y[3];
    f8_dense_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 10);
    CU_ASSERT_EQUAL(y[1], -1);
    CU_ASSERT_EQUAL(y[2], 319); /* 1275 / 4 = 318.75 */
    a.relu = 1;
    f8_dense_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[1], 0);
    /* s8 input, s8 output with clamp */
    const int8_t xs[4] = {-1, -2, -3, -4};
    a.relu = 0;
    a.in0.dtype = F8_DTYPE_S8;
    a.out.dtype = F8_DTYPE_S8;
    int8_t ys[3];
    f8_dense_scalar(&a, xs, ys);
    CU_ASSERT_EQUAL(ys[0], -10);
    CU_ASSERT_EQUAL(ys[1], 1);
    CU_ASSERT_EQUAL(ys[2], -127); /* (5 - 1270) / 4 = -316.25 -> clamp */
}

static void test_add_alignment(void)
{
    /* a: s8 at FL 2, b: s32 at FL 4 -> F_int 4, v = a*4 + b; output s8 FL 3 (shift 1) */
    const int8_t xa[3] = {4, -3, 127};
    const int32_t xb[3] = {8, 5, -1000};
    f8_kernel_args a;
    memset(&a, 0, sizeof a);
    a.in0 = val(1, 1, 3, F8_DTYPE_S8, 2);
    a.in1 = val(1, 1, 3, F8_DTYPE_S32, 4);
    a.out = val(1, 1, 3, F8_DTYPE_S8, 3);
    int8_t y[3];
    f8_add_scalar(&a, xa, xb, y);
    CU_ASSERT_EQUAL(y[0], 12);   /* 24 / 2 */
    CU_ASSERT_EQUAL(y[1], -4);   /* -7 / 2 = -3.5 -> -4 */
    CU_ASSERT_EQUAL(y[2], -127); /* -492 / 2 -> clamp */
    a.relu = 1;
    f8_add_scalar(&a, xa, xb, y);
    CU_ASSERT_EQUAL(y[0], 12);
    CU_ASSERT_EQUAL(y[1], 0);
    CU_ASSERT_EQUAL(y[2], 0);
    /* order of operands does not matter; output s32 at a higher FL (left shift 2) */
    a.relu = 0;
    a.in0 = val(1, 1, 3, F8_DTYPE_S32, 4);
    a.in1 = val(1, 1, 3, F8_DTYPE_S8, 2);
    a.out = val(1, 1, 3, F8_DTYPE_S32, 6);
    int32_t y32[3];
    f8_add_scalar(&a, xb, xa, y32);
    CU_ASSERT_EQUAL(y32[0], 96);
    CU_ASSERT_EQUAL(y32[1], -28);
    CU_ASSERT_EQUAL(y32[2], -1968);
    /* u8 + u8 at the same FL */
    const uint8_t u0[2] = {200, 10}, u1[2] = {100, 20};
    a.in0 = val(1, 1, 2, F8_DTYPE_U8, 5);
    a.in1 = val(1, 1, 2, F8_DTYPE_U8, 5);
    a.out = val(1, 1, 2, F8_DTYPE_U8, 5);
    uint8_t yu[2];
    f8_add_scalar(&a, u0, u1, yu);
    CU_ASSERT_EQUAL(yu[0], 255);
    CU_ASSERT_EQUAL(yu[1], 30);
}

static void test_maxpool_skips_padding(void)
{
    /* all-negative 2x2 input, 2x2 window, stride 1, pad 1: zero padding would win everywhere */
    const int8_t x[4] = {-5, -6, -7, -8};
    f8_kernel_args a = window(val(2, 2, 1, F8_DTYPE_S8, 0), val(3, 3, 1, F8_DTYPE_S8, 0), 2, 1, 1);
    int8_t y[9];
    f8_maxpool_scalar(&a, x, y);
    const int8_t want[9] = {-5, -5, -6, -5, -5, -6, -7, -7, -8};
    CU_ASSERT_EQUAL(memcmp(y, want, 9), 0);
    /* with ReLU everything becomes 0 */
    a.relu = 1;
    f8_maxpool_scalar(&a, x, y);
    for (int i = 0; i < 9; i++)
        CU_ASSERT_EQUAL(y[i], 0);
}

static void test_maxpool_stride_channels_requant(void)
{
    /* 4x4x2 s32, 2x2 stride 2, output u8 at FL-1 (shift 1) */
    int32_t x[32];
    for (int i = 0; i < 16; i++) {
        x[2 * i] = i * 10 + 1;  /* channel 0 increases */
        x[2 * i + 1] = -i;      /* channel 1 decreases */
    }
    f8_kernel_args a = window(val(4, 4, 2, F8_DTYPE_S32, 1), val(2, 2, 2, F8_DTYPE_U8, 0), 2, 2, 0);
    uint8_t y[8];
    f8_maxpool_scalar(&a, x, y);
    /* window (0,0) covers pixels 0,1,4,5 -> ch0 max 51 -> 25.5 -> 26; ch1 max 0 */
    CU_ASSERT_EQUAL(y[0], 26);
    CU_ASSERT_EQUAL(y[1], 0);
    CU_ASSERT_EQUAL(y[2], 36);  /* pixels 2,3,6,7: 71 / 2 = 35.5 -> 36 */
    CU_ASSERT_EQUAL(y[3], 0);   /* ch1: max(-2,-3,-6,-7) = -2 -> -1 -> u8 clamp 0 */
    CU_ASSERT_EQUAL(y[4], 66);  /* pixels 8,9,12,13: 131 / 2 = 65.5 -> 66 */
    CU_ASSERT_EQUAL(y[6], 76);  /* pixels 10,11,14,15: 151 / 2 = 75.5 -> 76 */
}

static void test_avgpool_shift(void)
{
    const uint8_t x[4] = {1, 2, 3, 5};
    f8_kernel_args a = window(val(2, 2, 1, F8_DTYPE_U8, 0), val(1, 1, 1, F8_DTYPE_U8, 0), 2, 2, 0);
    a.avg_shift = 2;
    uint8_t y[1];
    f8_avgpool_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 3); /* 11 / 4 = 2.75 */
    a.out.fl = 1;             /* shift 1: 5.5 -> 6 */
    f8_avgpool_scalar(&a, x, y);
    CU_ASSERT_EQUAL(y[0], 6);
    a.out = val(1, 1, 1, F8_DTYPE_S32, 4); /* shift -2: the sum times 4 */
    int32_t y32[1];
    f8_avgpool_scalar(&a, x, y32);
    CU_ASSERT_EQUAL(y32[0], 44);

    /* 3x3 window (area 9, avg_shift 3), stride 1 over 3x4x1 s8: two outputs, sum / 8 */
    const int8_t xs[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -12};
    a = window(val(3, 4, 1, F8_DTYPE_S8, 0), val(1, 2, 1, F8_DTYPE_S8, 0), 3, 1, 0);
    a.avg_shift = 3;
    int8_t ys[2];
    f8_avgpool_scalar(&a, xs, ys);
    CU_ASSERT_EQUAL(ys[0], 7); /* 1+2+3+5+6+7+9+10+11 = 54 -> 6.75 */
    CU_ASSERT_EQUAL(ys[1], 5); /* 2+3+4+6+7+8+10+11-12 = 39 -> 4.875 */
    a.relu = 1;
    const int8_t neg[12] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    f8_avgpool_scalar(&a, neg, ys);
    CU_ASSERT_EQUAL(ys[0], 0);
}

/* ---- whole models -------------------------------------------------------------------- */

/* input 2x2x1 u8 FL 8 -> conv 1x1 (w 64 = 1.0 at FL_w 6) + ReLU, u8 FL 8 (identity)
 * -> avgpool 2x2 (avg_shift 2) to s8 FL 5 -> dense (K 1, Cout 2) -> s32 logits FL 5. */
static void test_model_hand_computed(void)
{
    mb_model m;
    mb_init(&m, 2, 2, 1, 8, 2);
    const uint32_t v1 = mb_value(&m, 2, 2, 1, F8_DTYPE_U8, 8);
    const uint32_t v2 = mb_value(&m, 1, 1, 1, F8_DTYPE_S8, 5);
    const uint32_t v3 = mb_value(&m, 1, 1, 2, F8_DTYPE_S32, 5);
    m.output_value = v3;
    const int8_t cw[1] = {64}, cf[1] = {6}, dw[2] = {1, -2}, df[2] = {0, 0};
    const int32_t cb[1] = {0}, db[2] = {3, 0};
    mb_conv(&m, 0, v1, 1, 1, 1, 0, 1, 1, cw, cb, cf);
    mb_pool(&m, F8_OP_AVGPOOL, v1, v2, 2, 2, 0, 2, 0);
    mb_dense(&m, v2, v3, 0, dw, db, df);

    char err[F8_ERRMSG_SIZE];
    int rc;
    f8_model *model = mb_open(&m, err, sizeof err, &rc);
    if (rc != F8_OK)
        fprintf(stderr, "load: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, F8_OK);
    f8_runner *r = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(model, 2, &r), F8_OK);
    /* image 0: sum 639 at FL 10 -> 639/32 = 19.97 -> 20: logits 23, -40
     * image 1: all 255: sum 1020 -> 31.875 -> 32: logits 35, -64 */
    const uint8_t img[8] = {64, 128, 192, 255, 255, 255, 255, 255};
    int32_t logits[4] = {0};
    CU_ASSERT_EQUAL(f8_run(r, img, 2, logits), F8_OK);
    CU_ASSERT_EQUAL(logits[0], 23);
    CU_ASSERT_EQUAL(logits[1], -40);
    CU_ASSERT_EQUAL(logits[2], 35);
    CU_ASSERT_EQUAL(logits[3], -64);
    CU_ASSERT_EQUAL(f8_model_get_info(model)->output_fl, 5);
    f8_runner_destroy(r);
    f8_model_close(model);
}

/* A residual block: x -> conv 3x3 pad 1 (s8) -> add(x as u8 FL 8, conv FL 7) -> ReLU
 * -> maxpool 2x2 s2 -> dense. Checked against the kernels called by hand. */
static void test_model_residual(void)
{
    mb_model m;
    mb_init(&m, 4, 4, 1, 8, 3);
    const uint32_t c1 = mb_value(&m, 4, 4, 1, F8_DTYPE_S8, 7);
    const uint32_t s = mb_value(&m, 4, 4, 1, F8_DTYPE_S32, 8);
    const uint32_t p = mb_value(&m, 2, 2, 1, F8_DTYPE_U8, 6);
    const uint32_t out = mb_value(&m, 1, 1, 3, F8_DTYPE_S32, 4);
    m.output_value = out;
    const int8_t cw[9] = {0, -32, 0, -32, 64, -32, 0, -32, 0}; /* Laplacian at FL_w 6 */
    const int32_t cb[1] = {0};
    const int8_t cf[1] = {6};
    const int8_t dw[12] = {10, -10, 20, -20, 1, 2, 3, 4, -5, 5, -5, 5};
    const int32_t db[3] = {100, -100, 0};
    const int8_t df[3] = {2, 3, 4};
    mb_conv(&m, 0, c1, 3, 3, 1, 1, 1, 0, cw, cb, cf);
    mb_add(&m, 0, c1, s, 1);
    mb_pool(&m, F8_OP_MAXPOOL, s, p, 2, 2, 0, 0, 0);
    mb_dense(&m, p, out, 0, dw, db, df);

    char err[F8_ERRMSG_SIZE];
    int rc;
    f8_model *model = mb_open(&m, err, sizeof err, &rc);
    if (rc != F8_OK)
        fprintf(stderr, "load: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, F8_OK);
    const uint8_t img[16] = {0, 50, 100, 150, 200, 250, 30, 60, 90, 120, 160, 190, 220, 5, 15, 25};

    /* by hand: the same kernels, one buffer per value */
    int8_t b1[16];
    int32_t b2[16];
    uint8_t b3[4];
    int32_t want[3];
    f8_kernel_args a = window(val(4, 4, 1, F8_DTYPE_U8, 8), val(4, 4, 1, F8_DTYPE_S8, 7), 3, 1, 1);
    a.weights = cw;
    a.bias = cb;
    a.fl_w = cf;
    f8_conv2d_scalar(&a, img, b1);
    memset(&a, 0, sizeof a);
    a.in0 = val(4, 4, 1, F8_DTYPE_U8, 8);
    a.in1 = val(4, 4, 1, F8_DTYPE_S8, 7);
    a.out = val(4, 4, 1, F8_DTYPE_S32, 8);
    a.relu = 1;
    f8_add_scalar(&a, img, b1, b2);
    a = window(val(4, 4, 1, F8_DTYPE_S32, 8), val(2, 2, 1, F8_DTYPE_U8, 6), 2, 2, 0);
    f8_maxpool_scalar(&a, b2, b3);
    a = window(val(2, 2, 1, F8_DTYPE_U8, 6), val(1, 1, 3, F8_DTYPE_S32, 4), 0, 0, 0);
    a.weights = dw;
    a.bias = db;
    a.fl_w = df;
    f8_dense_scalar(&a, b3, want);

    /* and a spot check of the first pixel by pencil: conv(0,0) = 64*0 - 32*(50 + 200) at
     * FL 14 -> FL 7: -8000/128 = -62.5 -> -62; add: 0*1 + (-62)*2 = -124 at FL 8 -> ReLU 0 */
    CU_ASSERT_EQUAL(b1[0], -62);
    CU_ASSERT_EQUAL(b2[0], 0);

    f8_runner *r = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(model, 1, &r), F8_OK);
    int32_t logits[3];
    CU_ASSERT_EQUAL(f8_run(r, img, 1, logits), F8_OK);
    CU_ASSERT_EQUAL(logits[0], want[0]);
    CU_ASSERT_EQUAL(logits[1], want[1]);
    CU_ASSERT_EQUAL(logits[2], want[2]);
    f8_runner_destroy(r);
    f8_model_close(model);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"conv2d: padding and stride, rounding, u8 output", test_conv_pad_stride},
        {"conv2d: 2 channels in/out, asymmetric padding", test_conv_multichannel_asym_pad},
        {"conv2d: grouped", test_conv_grouped},
        {"conv2d: depthwise", test_conv_depthwise},
        {"conv2d: ReLU and u8 clamp", test_conv_relu_and_u8_clamp},
        {"conv2d: s32 accumulator wraps", test_conv_accumulator_wraps},
        {"dense: per-channel FL_w, ReLU, s8", test_dense},
        {"add: alignment by left shifts", test_add_alignment},
        {"maxpool: padding skipped", test_maxpool_skips_padding},
        {"maxpool: stride, channels, requant", test_maxpool_stride_channels_requant},
        {"avgpool: sum and shift", test_avgpool_shift},
        {"model: hand-computed logits, batch 2", test_model_hand_computed},
        {"model: residual block vs kernels by hand", test_model_residual},
        CU_TEST_INFO_NULL,
    };
    return unit_run("kernels", tests);
}
