/*
 * The loader (docs/FORMAT.md §2, §6): a valid in-memory model reads back exactly, then each
 * check is provoked by one corruption (with the CRCs recomputed, so that the check under test
 * is what fires) and must give F8_EFORMAT with a message naming the problem. Finally every
 * truncation and a few thousand random mutations must fail cleanly or load and run without a
 * sanitizer report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_builder.h"
#include "unit.h"

/* The reference model: every op type.
 *   v0 6x6x1 u8 FL8 -> op0 CONV 3x3 p1 +ReLU -> v1 6x6x4 u8 FL6
 *   v1 -> op1 depthwise CONV 3x3 p1 G4       -> v2 6x6x4 s8 FL5
 *   op2 ADD(v1, v2) +ReLU                     -> v3 6x6x4 s32 FL6
 *   op3 MAXPOOL 2x2 s2                        -> v4 3x3x4 s32 FL6
 *   op4 AVGPOOL 3x3 s1 avg_shift 3            -> v5 1x1x4 s8 FL4
 *   op5 DENSE                                 -> v6 1x1x3 s32 FL4 (logits) */
static int8_t w0[36], w1[36], w5[12];
static int32_t b0[4], b1[4], b5[3];
static int8_t f0[4], f1[4], f5[3];

static void good_model(mb_model *m)
{
    for (int i = 0; i < 36; i++) {
        w0[i] = (int8_t)((i * 37) % 61 - 30);
        w1[i] = (int8_t)((i * 53) % 41 - 20);
    }
    for (int i = 0; i < 12; i++)
        w5[i] = (int8_t)(i * 9 - 50);
    for (int i = 0; i < 4; i++) {
        b0[i] = 1000 * i - 1500;
        b1[i] = 200 - 100 * i;
        f0[i] = 7;
        f1[i] = (int8_t)(6 + (i & 1));
    }
    for (int i = 0; i < 3; i++) {
        b5[i] = 50 * i;
        f5[i] = 6;
    }
    mb_init(m, 6, 6, 1, 8, 3);
    const uint32_t v1 = mb_value(m, 6, 6, 4, F8_DTYPE_U8, 6);
    const uint32_t v2 = mb_value(m, 6, 6, 4, F8_DTYPE_S8, 5);
    const uint32_t v3 = mb_value(m, 6, 6, 4, F8_DTYPE_S32, 6);
    const uint32_t v4 = mb_value(m, 3, 3, 4, F8_DTYPE_S32, 6);
    const uint32_t v5 = mb_value(m, 1, 1, 4, F8_DTYPE_S8, 4);
    const uint32_t v6 = mb_value(m, 1, 1, 3, F8_DTYPE_S32, 4);
    m->output_value = v6;
    mb_conv(m, 0, v1, 3, 3, 1, 1, 1, 1, w0, b0, f0);
    mb_conv(m, v1, v2, 3, 3, 1, 1, 4, 0, w1, b1, f1);
    mb_add(m, v1, v2, v3, 1);
    mb_pool(m, F8_OP_MAXPOOL, v3, v4, 2, 2, 0, 0, 0);
    mb_pool(m, F8_OP_AVGPOOL, v4, v5, 3, 1, 0, 3, 0);
    mb_dense(m, v5, v6, 0, w5, b5, f5);
    mb_meta(m, "description", "loader test model");
    mb_meta(m, "accuracy.int", "12.5");
}

static uint8_t *good_bytes(size_t *size)
{
    mb_model m;
    good_model(&m);
    return mb_build(&m, size);
}

/* Opens b (taking ownership) and expects F8_EFORMAT with `word` in the message. */
static void expect_format_(uint8_t *b, size_t size, const char *word, int line)
{
    char err[F8_ERRMSG_SIZE] = "";
    f8_model *model = NULL;
    const int rc = f8_model_open_buffer(b, size, &model, err, sizeof err);
    free(b);
    if (rc != F8_EFORMAT || !strstr(err, word))
        fprintf(stderr, "\n    line %d: rc %d, message \"%s\", wanted \"%s\"\n", line, rc, err,
                word);
    CU_ASSERT_EQUAL(rc, F8_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, word));
    CU_ASSERT_PTR_NULL(model);
    f8_model_close(model);
}
#define expect_format(b, size, word) expect_format_((b), (size), (word), __LINE__)

/* Writes a u32 (or u64) at `off`, fixes both CRCs, expects the failure. */
static void corrupt32(size_t off, uint32_t v, const char *word, int line)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    mb_put32(b + off, v);
    mb_fix_crc(b, size);
    expect_format_(b, size, word, line);
}
#define CORRUPT32(off, v, word) corrupt32((off), (v), (word), __LINE__)

static void corrupt64(size_t off, uint64_t v, const char *word, int line)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    mb_put64(b + off, v);
    mb_fix_crc(b, size);
    expect_format_(b, size, word, line);
}
#define CORRUPT64(off, v, word) corrupt64((off), (v), (word), __LINE__)

/* Offsets inside the built good model. */
static size_t op_at(uint32_t i)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    const size_t o = mb_op_at(b, i);
    free(b);
    return o;
}

static size_t value_at(uint32_t i)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    const size_t o = mb_value_at(b, i);
    free(b);
    return o;
}

/* Op field offsets (docs/FORMAT.md §2.3). */
enum {
    OP_TYPE = 0, OP_FLAGS = 4, OP_IN0 = 8, OP_IN1 = 12, OP_OUT = 16, OP_KH = 20, OP_SH = 28,
    OP_PT = 36, OP_PB = 44, OP_GROUPS = 52, OP_WBITS = 56, OP_AVG = 60, OP_WOFF = 64,
    OP_WSIZE = 72, OP_BOFF = 80, OP_FOFF = 96
};

/* ---- the valid model ------------------------------------------------------------------- */

static void test_valid_model(void)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    char err[F8_ERRMSG_SIZE] = "x";
    f8_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_model_open_buffer(b, size, &m, err, sizeof err), F8_OK);
    free(b); /* the model holds its own copy */
    CU_ASSERT_STRING_EQUAL(err, "");

    const f8_model_info *mi = f8_model_get_info(m);
    CU_ASSERT_STRING_EQUAL(mi->name, "test");
    CU_ASSERT_EQUAL(mi->input_h, 6);
    CU_ASSERT_EQUAL(mi->input_w, 6);
    CU_ASSERT_EQUAL(mi->input_c, 1);
    CU_ASSERT_EQUAL(mi->input_fl, 8);
    CU_ASSERT_EQUAL(mi->preprocess, F8_PREPROCESS_DIRECT);
    CU_ASSERT_EQUAL(mi->num_classes, 3);
    CU_ASSERT_EQUAL(mi->output_fl, 4);
    CU_ASSERT_EQUAL(mi->num_ops, 6);
    CU_ASSERT_EQUAL(mi->num_values, 7);
    CU_ASSERT_EQUAL(mi->file_size, size);

    CU_ASSERT_STRING_EQUAL(f8_model_label(m, 0), "class0");
    CU_ASSERT_STRING_EQUAL(f8_model_label(m, 2), "class2");
    CU_ASSERT_PTR_NULL(f8_model_label(m, 3));

    CU_ASSERT_EQUAL(f8_model_meta_count(m), 4);
    const char *k = NULL, *v = NULL;
    CU_ASSERT_EQUAL(f8_model_meta_get(m, 1, &k, &v), F8_OK);
    CU_ASSERT_STRING_EQUAL(k, "labels");
    CU_ASSERT_STRING_EQUAL(v, "class0\nclass1\nclass2");
    CU_ASSERT_EQUAL(f8_model_meta_get(m, 3, &k, &v), F8_OK);
    CU_ASSERT_STRING_EQUAL(k, "accuracy.int");
    CU_ASSERT_STRING_EQUAL(v, "12.5");
    CU_ASSERT_EQUAL(f8_model_meta_get(m, 4, &k, &v), F8_ERANGE);
    CU_ASSERT_STRING_EQUAL(f8_model_meta_find(m, "description"), "loader test model");
    CU_ASSERT_PTR_NULL(f8_model_meta_find(m, "nope"));

    f8_value_desc vd;
    CU_ASSERT_EQUAL(f8_model_value(m, 2, &vd), F8_OK);
    CU_ASSERT_EQUAL(vd.h, 6);
    CU_ASSERT_EQUAL(vd.c, 4);
    CU_ASSERT_EQUAL(vd.dtype, F8_DTYPE_S8);
    CU_ASSERT_EQUAL(vd.fl, 5);
    CU_ASSERT_EQUAL(f8_model_value(m, 7, &vd), F8_ERANGE);

    f8_op_desc od;
    CU_ASSERT_EQUAL(f8_model_op(m, 0, &od), F8_OK);
    CU_ASSERT_EQUAL(od.type, F8_OP_CONV2D);
    CU_ASSERT_EQUAL(od.relu, 1);
    CU_ASSERT_EQUAL(od.kernel_h, 3);
    CU_ASSERT_EQUAL(od.pad_bottom, 1);
    CU_ASSERT_EQUAL(od.weight_bits, 8);
    CU_ASSERT_EQUAL(od.input1, UINT32_MAX);
    CU_ASSERT_EQUAL(od.macs, 6 * 6 * 4 * 3 * 3 * 1);
    CU_ASSERT_EQUAL(f8_model_op(m, 1, &od), F8_OK);
    CU_ASSERT_EQUAL(od.groups, 4);
    CU_ASSERT_EQUAL(od.macs, 6 * 6 * 4 * 3 * 3 * 1);
    CU_ASSERT_EQUAL(f8_model_op(m, 2, &od), F8_OK);
    CU_ASSERT_EQUAL(od.type, F8_OP_ADD);
    CU_ASSERT_EQUAL(od.input0, 1);
    CU_ASSERT_EQUAL(od.input1, 2);
    CU_ASSERT_EQUAL(od.macs, 0);
    CU_ASSERT_EQUAL(f8_model_op(m, 4, &od), F8_OK);
    CU_ASSERT_EQUAL(od.avg_shift, 3);
    CU_ASSERT_EQUAL(f8_model_op(m, 5, &od), F8_OK);
    CU_ASSERT_EQUAL(od.type, F8_OP_DENSE);
    CU_ASSERT_EQUAL(od.macs, 4 * 3);
    CU_ASSERT_EQUAL(f8_model_op(m, 6, &od), F8_ERANGE);
    CU_ASSERT_EQUAL(f8_model_op(NULL, 0, &od), F8_EINVAL);
    f8_model_close(m);
}

static void test_open_file(void)
{
    char path[4096];
    unit_tmp_template(path, sizeof path, "f8_test_loader");
    const int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    size_t size;
    uint8_t *b = good_bytes(&size);
    CU_ASSERT_EQUAL(write(fd, b, size), (ssize_t)size);
    free(b);
    close(fd);

    char err[F8_ERRMSG_SIZE];
    f8_model *m = NULL;
    CU_ASSERT_EQUAL(f8_model_open(path, &m, err, sizeof err), F8_OK);
    CU_ASSERT_PTR_NOT_NULL(m);
    if (m)
        CU_ASSERT_STRING_EQUAL(f8_model_get_info(m)->name, "test");
    f8_model_close(m);

    /* a truncated file on disk */
    CU_ASSERT_EQUAL(truncate(path, (off_t)size - 10), 0);
    CU_ASSERT_EQUAL(f8_model_open(path, &m, err, sizeof err), F8_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated"));
    CU_ASSERT_PTR_NULL(m);
    /* tiny and empty files */
    CU_ASSERT_EQUAL(truncate(path, 5), 0);
    CU_ASSERT_EQUAL(f8_model_open(path, &m, err, sizeof err), F8_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "magic"));
    CU_ASSERT_EQUAL(truncate(path, 0), 0);
    CU_ASSERT_EQUAL(f8_model_open(path, &m, err, sizeof err), F8_EFORMAT);
    unlink(path);

    CU_ASSERT_EQUAL(f8_model_open("/nonexistent/model.f8", &m, err, sizeof err), F8_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/model.f8"));
    CU_ASSERT_EQUAL(f8_model_open("/tmp", &m, err, sizeof err), F8_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
    CU_ASSERT_EQUAL(f8_model_open(NULL, &m, err, sizeof err), F8_EINVAL);
    /* a NULL or empty message buffer is allowed */
    CU_ASSERT_EQUAL(f8_model_open("/nonexistent", &m, NULL, 0), F8_EIO);
}

/* ---- the header ------------------------------------------------------------------------ */

static void test_bad_header(void)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    b[0] = 'X';
    expect_format(b, size, "magic");

    CORRUPT32(8, 0, "unsupported format version 0 (this engine reads versions 1 to 2)");
    CORRUPT32(8, 3, "unsupported format version 3");
    CORRUPT32(20, 1, "flags");
    CORRUPT32(48, 2, "input_c");
    CORRUPT32(40, 7, "value 0"); /* input_h no longer matches value 0 */
    CORRUPT32(52, 7, "preprocess");
    CORRUPT32(56, 0, "num_classes");
    CORRUPT32(60, 1, "num_values");
    CORRUPT32(60, 0xFFFFFFFFu, "value table");
    CORRUPT32(64, 0, "num_ops");
    CORRUPT32(64, 0x10000000u, "op table");
    CORRUPT64(72, 130, "value table");   /* not a multiple of 8 */
    CORRUPT64(80, 1u << 20, "op table"); /* past the header region */
    CORRUPT64(80, 128, "overlap");       /* op table on top of the value table */
    CORRUPT64(88, 2, "metadata");
    CORRUPT32(68, 0xFFFFFFFFu, "num_meta");
    CORRUPT32(96, 7, "output_value");
    CORRUPT32(96, 5, "output value"); /* v5 is 1x1x4 s8 */
    CORRUPT32(110, 1, "reserved");

    /* payload_offset: misaligned, past the file, inside the header */
    b = good_bytes(&size);
    const uint64_t po = mb_get64(b + 32);
    free(b);
    CORRUPT64(32, po + 8, "payload_offset");
    CORRUPT64(32, 64, "payload_offset");
    CORRUPT64(32, (uint64_t)size + 64, "payload_offset");
}

static void test_crc(void)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    b[value_at(3) + 4] ^= 1; /* a byte of the header region, CRC not fixed */
    expect_format(b, size, "header CRC");

    b = good_bytes(&size);
    b[size - 1] ^= 0x40; /* a byte of the last tensor */
    expect_format(b, size, "payload CRC");

    b = good_bytes(&size);
    b[12] ^= 0xFF; /* the stored CRC itself */
    expect_format(b, size, "CRC");
}

static void test_truncated(void)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    expect_format(b, size - 1, "truncated");
    b = good_bytes(&size);
    expect_format(b, 100, "truncated");
    b = good_bytes(&size);
    expect_format(b, 0, "magic");

    /* cut inside the last tensor, with file_size and the CRCs made consistent again */
    b = good_bytes(&size);
    mb_put64(b + 24, size - 4);
    mb_fix_crc(b, size - 4);
    expect_format(b, size - 4, "outside the payload");

    /* a bigger file than file_size says */
    b = good_bytes(&size);
    uint8_t *big = calloc(1, size + 64);
    memcpy(big, b, size);
    free(b);
    expect_format(big, size + 64, "file_size");
}

/* ---- values and ops -------------------------------------------------------------------- */

static void test_bad_values(void)
{
    CORRUPT32(value_at(3) + 12, 9, "dtype");          /* byte 12 = 9 */
    CORRUPT32(value_at(0) + 12, F8_DTYPE_S8, "value 0");
    CORRUPT32(value_at(2) + 12, (uint32_t)40 << 8 | F8_DTYPE_S8, "fl 40");
    CORRUPT32(value_at(4), 0, "empty shape");
    CORRUPT32(value_at(4), 0xFFFFFFFFu, "2^31");       /* h*w*c too large */
    CORRUPT32(value_at(4) + 12, 0x01000000u | (6u << 8) | F8_DTYPE_S32, "reserved byte 15");
    /* bits (byte 14): 2-8 for u8/s8 values, 0 for s32 values and the input */
    CORRUPT32(value_at(4) + 12, 0x00040000u | (6u << 8) | F8_DTYPE_S32,
              "value 4: bits 4 not allowed");
    CORRUPT32(value_at(1) + 12, 0x00010000u | (6u << 8) | F8_DTYPE_U8,
              "value 1: bits 1 not allowed");
    CORRUPT32(value_at(1) + 12, 0x00090000u | (6u << 8) | F8_DTYPE_U8,
              "value 1: bits 9 not allowed");
    CORRUPT32(value_at(0) + 12, 0x00040000u | (8u << 8) | F8_DTYPE_U8, "value 0 (the input)");
}

static void test_tensors(void)
{
    size_t size;
    uint8_t *b = good_bytes(&size);
    const size_t op0 = mb_op_at(b, 0), op5 = mb_op_at(b, 5);
    const uint64_t woff = mb_get64(b + op0 + OP_WOFF);
    free(b);

    /* the exact message format */
    b = good_bytes(&size);
    mb_put64(b + op0 + OP_WSIZE, 72);
    mb_fix_crc(b, size);
    char err[F8_ERRMSG_SIZE];
    f8_model *m = NULL;
    CU_ASSERT_EQUAL(f8_model_open_buffer(b, size, &m, err, sizeof err), F8_EFORMAT);
    CU_ASSERT_STRING_EQUAL(err, "op 0 (CONV2D): weight tensor size 72, expected 36");
    free(b);

    CORRUPT64(op5 + OP_WSIZE, 11, "op 5 (DENSE): weight tensor size 11, expected 12");
    CORRUPT64(op0 + OP_BOFF + 8, 8, "bias tensor size");
    CORRUPT64(op0 + OP_FOFF + 8, 3, "fl_w tensor size");
    CORRUPT64(op0 + OP_WOFF, woff + 1, "misaligned");
    CORRUPT64(op0 + OP_WOFF, woff + 64 * 1000, "outside the payload");
    CORRUPT64(op0 + OP_WOFF, 0, "outside the payload");        /* in the header region */
    CORRUPT64(op0 + OP_WOFF, UINT64_MAX - 63, "outside the payload"); /* overflow bait */
    CORRUPT64(op0 + OP_WSIZE, UINT64_MAX, "weight tensor size");
    /* a pool with a tensor */
    CORRUPT64(op_at(3) + OP_WOFF, woff, "no weights");
    /* per-channel FL_w out of range: patch the payload byte, fix the CRCs */
    b = good_bytes(&size);
    const uint64_t foff = mb_get64(b + op0 + OP_FOFF);
    b[foff + 2] = 100;
    mb_fix_crc(b, size);
    expect_format(b, size, "fl_w[2]");
}

static void test_bad_ops(void)
{
    CORRUPT32(op_at(0) + OP_TYPE, 9, "op 0: unknown type 9");
    CORRUPT32(op_at(0) + OP_FLAGS, 2, "flags");
    CORRUPT32(op_at(1) + OP_IN0, 99, "op 1 (CONV2D): input0 value id 99 out of range");
    CORRUPT32(op_at(2) + OP_IN1, 7, "input1 value id 7 out of range");
    CORRUPT32(op_at(3) + OP_OUT, 70, "output value id 70 out of range");
    CORRUPT32(op_at(0) + OP_IN1, 0, "input1");              /* not ADD: must be 0xFFFFFFFF */
    CORRUPT32(op_at(0) + OP_IN0, 3, "before");              /* v3 is written by op 2 */
    CORRUPT32(op_at(2) + OP_IN1, 4, "before");
    CORRUPT32(op_at(3) + OP_OUT, 1, "already written by op 0");
    CORRUPT32(op_at(0) + OP_OUT, 0, "value 0");
    CORRUPT32(op_at(0) + OP_GROUPS, 3, "groups");
    CORRUPT32(op_at(2) + OP_GROUPS, 0, "groups");           /* must be 1 off CONV2D */
    CORRUPT32(op_at(0) + OP_WBITS, 4, "weight_bits");
    CORRUPT32(op_at(2) + OP_WBITS, 8, "weight_bits");
    CORRUPT32(op_at(0) + OP_SH, 0, "stride");
    CORRUPT32(op_at(0) + OP_KH, 0, "kernel");
    CORRUPT32(op_at(0) + OP_AVG, 1, "avg_shift");
    CORRUPT32(op_at(4) + OP_AVG, 40, "avg_shift");
    CORRUPT32(op_at(5) + OP_KH, 1, "kernel/stride/pad");    /* DENSE has no window */
    CORRUPT32(op_at(2) + OP_PT, 1, "kernel/stride/pad");
    CORRUPT32(op_at(3) + OP_PT, 2, "padding");              /* MAXPOOL pad >= kernel */
    CORRUPT32(op_at(4) + OP_PB, 1, "padding must be 0");    /* AVGPOOL */
    CORRUPT32(op_at(2) + OP_IN1, 0, "differ");              /* ADD of 6x6x4 and 6x6x1 */
    CORRUPT32(op_at(1) + 112, 1, "op 1 (CONV2D): packing and group_size/alpha fields (byte 57, "
                                 "bytes 112-127) must be 0 unless weight_bits is 2");
    CORRUPT32(op_at(3) + 124, 1, "op 3 (MAXPOOL): packing and group_size/alpha fields");
    CORRUPT32(op_at(1) + OP_WBITS, 8 | 1u << 8, "op 1 (CONV2D): packing and group_size/alpha");
    CORRUPT32(op_at(1) + OP_WBITS, 8 | 1u << 16, "op 1 (CONV2D): reserved bytes 58-59");
    CORRUPT32(op_at(3) + OP_WBITS, 1u << 24, "op 3 (MAXPOOL): reserved bytes 58-59");
    /* DENSE reading an s32 value */
    CORRUPT32(op_at(5) + OP_IN0, 4, "dtype s32");
}

static void test_shapes_and_shifts(void)
{
    /* the maxpool's output declared 2x3x4 instead of 3x3x4 */
    CORRUPT32(value_at(4), 2, "op 3 (MAXPOOL): output shape 2x3x4");
    /* conv output channels no longer match the weights: Cout 2 (also v2 reads it...) */
    CORRUPT32(value_at(1) + 4, 5, "op 0 (CONV2D): output shape 6x5x4");
    /* the avgpool output declared 2x1x4 instead of 1x1x4 */
    CORRUPT32(value_at(5), 2, "op 4 (AVGPOOL): output shape");
    /* a kernel bigger than the padded input */
    CORRUPT32(op_at(0) + OP_KH, 9, "kernel larger");
    /* shifts: conv FL_w 7 + FL_x 8 - FL_out (-20) = 35 */
    CORRUPT32(value_at(1) + 12, (uint32_t)(uint8_t)-20 << 8 | F8_DTYPE_U8, "shift 35");
    /* ADD's output shift: max(6, 5) - (-32) = 38 */
    CORRUPT32(value_at(3) + 12, (uint32_t)(uint8_t)-32 << 8 | F8_DTYPE_S32, "shift 38");
    /* MAXPOOL: 6 - (-30) */
    CORRUPT32(value_at(4) + 12, (uint32_t)(uint8_t)-30 << 8 | F8_DTYPE_S32, "shift");
}

static void test_never_written(void)
{
    mb_model m;
    good_model(&m);
    mb_value(&m, 2, 2, 2, F8_DTYPE_U8, 0); /* v7: no op writes it */
    size_t size;
    uint8_t *b = mb_build(&m, &size);
    expect_format(b, size, "value 7 is never written");
}

/* ---- one validator per op type: an accepting and refusing cases for each ---------------- */

/* Builds m and expects it to load; returns the model (close it) or NULL. */
static f8_model *expect_loads_(const mb_model *mm, int line)
{
    char err[F8_ERRMSG_SIZE] = "";
    int rc;
    f8_model *m = mb_open(mm, err, sizeof err, &rc);
    if (rc != F8_OK)
        fprintf(stderr, "\n    line %d: rc %d, message \"%s\", wanted F8_OK\n", line, rc, err);
    CU_ASSERT_EQUAL(rc, F8_OK);
    return m;
}
#define expect_loads(mm) expect_loads_((mm), __LINE__)

static void expect_model_format_(const mb_model *mm, const char *word, int line)
{
    size_t size;
    uint8_t *b = mb_build(mm, &size);
    expect_format_(b, size, word, line);
}
#define expect_model_format(mm, word) expect_model_format_((mm), (word), __LINE__)

static int8_t tw[512], tf[8];
static int32_t tb[8];

/* Weights of 1 (FL_w 6), zero bias, enough for any small op below. */
static void test_tensors_init(void)
{
    for (size_t i = 0; i < sizeof tw; i++)
        tw[i] = 1;
    for (int i = 0; i < 8; i++) {
        tb[i] = 0;
        tf[i] = 6;
    }
}

/* v0 6x6x1 u8 FL8 -> `body` writes v1 .. -> DENSE to 1x1x3 s32 logits. */
static uint32_t logits_from(mb_model *m, uint32_t v)
{
    const uint32_t out = mb_value(m, 1, 1, 3, F8_DTYPE_S32, 6);
    m->output_value = out;
    mb_dense(m, v, out, 0, tw, tb, tf);
    return out;
}

static void test_validate_conv2d(void)
{
    test_tensors_init();
    /* accepted: a grouped (not depthwise) conv, stride 2, over an s8 input:
     * v0 6x6x1 -> 1x1 conv -> v1 6x6x4 s8 -> 3x3 s2 p1 G2 -> v2 3x3x2 u8 */
    mb_model mm;
    mb_init(&mm, 6, 6, 1, 8, 3);
    uint32_t v1 = mb_value(&mm, 6, 6, 4, F8_DTYPE_S8, 6);
    uint32_t v2 = mb_value(&mm, 3, 3, 2, F8_DTYPE_U8, 6);
    mb_conv(&mm, 0, v1, 1, 1, 1, 0, 1, 0, tw, tb, tf);
    mb_conv(&mm, v1, v2, 3, 3, 2, 1, 2, 1, tw, tb, tf);
    logits_from(&mm, v2);
    f8_model *m = expect_loads(&mm);
    f8_op_desc od;
    if (m) {
        CU_ASSERT_EQUAL(f8_model_op(m, 1, &od), F8_OK);
        CU_ASSERT_EQUAL(od.groups, 2);
        CU_ASSERT_EQUAL(od.macs, 3 * 3 * 2 * 3 * 3 * 2); /* Ho*Wo * Cout*kh*kw*(Cin/G) */
    }
    f8_model_close(m);

    /* refused: G divides Cin 4 but not Cout 2 */
    mm.ops[1].groups = 4;
    expect_model_format(&mm, "op 1 (CONV2D): groups 4 must divide Cin 4 and Cout 2");
    /* refused: groups 0 (no division by zero) */
    CORRUPT32(op_at(1) + OP_GROUPS, 0, "op 1 (CONV2D): groups 0 must divide Cin 4 and Cout 4");
    /* refused: an s32 input (v1 made s32: op 0 may write it, op 1 may not read it) */
    CORRUPT32(value_at(1) + 12, 6u << 8 | F8_DTYPE_S32,
              "op 1 (CONV2D): input dtype s32 not allowed (u8 or s8)");
    CORRUPT32(op_at(0) + OP_WBITS, 0, "op 0 (CONV2D): weight_bits 0: only 8 and 2 (ternary) are "
                                     "supported");
    CORRUPT32(op_at(1) + OP_SH + 4, 0, "op 1 (CONV2D): kernel 3x3 and stride 1x0 must be at least 1");
    CORRUPT32(op_at(1) + OP_AVG, 3, "op 1 (CONV2D): avg_shift is 3, must be 0");
}

static void test_validate_dense(void)
{
    test_tensors_init();
    /* accepted: DENSE straight from a 3x3x2 value (K = 18), with ReLU */
    mb_model mm;
    mb_init(&mm, 6, 6, 1, 8, 3);
    uint32_t v1 = mb_value(&mm, 3, 3, 2, F8_DTYPE_U8, 6);
    mb_conv(&mm, 0, v1, 2, 2, 2, 0, 1, 1, tw, tb, tf);
    uint32_t out = logits_from(&mm, v1);
    mm.ops[1].flags = 1;
    f8_model *m = expect_loads(&mm);
    f8_op_desc od;
    if (m) {
        CU_ASSERT_EQUAL(f8_model_op(m, 1, &od), F8_OK);
        CU_ASSERT_EQUAL(od.type, F8_OP_DENSE);
        CU_ASSERT_EQUAL(od.relu, 1);
        CU_ASSERT_EQUAL(od.macs, 18 * 3);
    }
    f8_model_close(m);

    /* refused: per-channel output shift FL_w 6 + FL_x 6 - FL_out (-20) = 32 */
    mm.values[out].fl = -20;
    expect_model_format(&mm, "op 1 (DENSE): output channel 0: shift 32 (FL_w 6 + FL_x 6 - "
                             "FL_out -20) exceeds 31 bits");
    mm.values[out].fl = 6;
    /* refused: an output that is not 1x1 (a DENSE into a 1x2x4 value, then one to the logits) */
    mb_model m2;
    mb_init(&m2, 6, 6, 1, 8, 3);
    uint32_t d1 = mb_value(&m2, 1, 2, 4, F8_DTYPE_S8, 6);
    mb_dense(&m2, 0, d1, 0, tw, tb, tf);
    logits_from(&m2, d1);
    expect_model_format(&m2, "op 0 (DENSE): output shape 1x2x4 does not match the shape the op "
                             "implies, 1x1x4");
    CORRUPT32(op_at(5) + OP_GROUPS, 2, "op 5 (DENSE): groups is 2, must be 1");
    CORRUPT32(op_at(5) + OP_AVG, 1, "op 5 (DENSE): avg_shift is 1, must be 0");
    CORRUPT32(op_at(5) + OP_WBITS, 4, "op 5 (DENSE): weight_bits 4: only 8 and 2 (ternary) are "
                                   "supported");
    CORRUPT32(op_at(5) + OP_PB, 1, "op 5 (DENSE): kernel/stride/pad fields must be 0");
}

static void test_validate_add(void)
{
    test_tensors_init();
    /* accepted: the model input added to itself (input1 may be value 0, and equal input0) */
    mb_model mm;
    mb_init(&mm, 6, 6, 1, 8, 3);
    uint32_t v1 = mb_value(&mm, 6, 6, 1, F8_DTYPE_S32, 9);
    mb_add(&mm, 0, 0, v1, 0);
    uint32_t v2 = mb_value(&mm, 3, 3, 1, F8_DTYPE_U8, 9);
    mb_pool(&mm, F8_OP_MAXPOOL, v1, v2, 2, 2, 0, 0, 0);
    logits_from(&mm, v2);
    f8_model *m = expect_loads(&mm);
    f8_op_desc od;
    if (m) {
        CU_ASSERT_EQUAL(f8_model_op(m, 0, &od), F8_OK);
        CU_ASSERT_EQUAL(od.input0, 0);
        CU_ASSERT_EQUAL(od.input1, 0);
        CU_ASSERT_EQUAL(od.macs, 0);
    }
    f8_model_close(m);

    /* refused: operands 32 bits apart. v0 FL 8 -> MAXPOOL -> v1 FL -20 -> MAXPOOL -> v2 FL -24
     * (each shift <= 31), then ADD(v0, v2): input1 needs a left shift of 8 - (-24) = 32. */
    mb_model m2;
    mb_init(&m2, 6, 6, 1, 8, 3);
    uint32_t a1 = mb_value(&m2, 6, 6, 1, F8_DTYPE_U8, -20);
    uint32_t a2 = mb_value(&m2, 6, 6, 1, F8_DTYPE_U8, -24);
    uint32_t a3 = mb_value(&m2, 6, 6, 1, F8_DTYPE_S32, 8);
    mb_pool(&m2, F8_OP_MAXPOOL, 0, a1, 1, 1, 0, 0, 0);
    mb_pool(&m2, F8_OP_MAXPOOL, a1, a2, 1, 1, 0, 0, 0);
    mb_add(&m2, 0, a2, a3, 0);
    logits_from(&m2, a3);
    expect_model_format(&m2, "op 2 (ADD): input1 alignment shift 32 exceeds 31 bits");
    m2.ops[2].in0 = a2;
    m2.ops[2].in1 = 0;
    expect_model_format(&m2, "op 2 (ADD): input0 alignment shift 32 exceeds 31 bits");

    CORRUPT32(value_at(3) + 8, 2, "op 2 (ADD): output shape 6x6x2 does not match the shape the "
                                  "op implies, 6x6x4");
    CORRUPT32(op_at(2) + OP_AVG, 1, "op 2 (ADD): avg_shift is 1, must be 0");
    CORRUPT64(op_at(2) + OP_BOFF + 8, 16, "op 2 (ADD): bias_offset/bias_size must be 0 (no weights)");
}

static void test_validate_maxpool(void)
{
    test_tensors_init();
    /* accepted: padding up to kernel - 1 on every side: 6x6, k3 s1 p2 -> 8x8 */
    mb_model mm;
    mb_init(&mm, 6, 6, 1, 8, 3);
    uint32_t v1 = mb_value(&mm, 8, 8, 1, F8_DTYPE_U8, 8);
    mb_pool(&mm, F8_OP_MAXPOOL, 0, v1, 3, 1, 2, 0, 1);
    logits_from(&mm, v1);
    f8_model *m = expect_loads(&mm);
    f8_op_desc od;
    if (m) {
        CU_ASSERT_EQUAL(f8_model_op(m, 0, &od), F8_OK);
        CU_ASSERT_EQUAL(od.pad_left, 2);
        CU_ASSERT_EQUAL(od.weight_bits, 0);
    }
    f8_model_close(m);
    /* refused: one pad equal to the kernel */
    mm.ops[0].pr = 3;
    expect_model_format(&mm, "op 0 (MAXPOOL): padding (2,2,2,3) must be smaller than the "
                             "kernel 3x3");

    CORRUPT32(op_at(3) + OP_KH, 0, "op 3 (MAXPOOL): kernel 0x2 and stride 2x2 must be at least 1");
    CORRUPT32(op_at(3) + OP_GROUPS, 2, "op 3 (MAXPOOL): groups is 2, must be 1");
    CORRUPT32(op_at(3) + OP_AVG, 1, "op 3 (MAXPOOL): avg_shift is 1, must be 0");
    CORRUPT32(op_at(3) + OP_WBITS, 8, "op 3 (MAXPOOL): weight_bits is 8, must be 0 (no weights)");
    CORRUPT64(op_at(3) + OP_FOFF + 8, 4,
              "op 3 (MAXPOOL): fl_w_offset/fl_w_size must be 0 (no weights)");
}

static void test_validate_avgpool(void)
{
    test_tensors_init();
    /* accepted: avg_shift 31, the largest, with an output shift of exactly 31:
     * 6x6x1 FL8, k2 s2 -> 3x3x1 s32 FL 8 (F_int 8 + 31) */
    mb_model mm;
    mb_init(&mm, 6, 6, 1, 8, 3);
    uint32_t v1 = mb_value(&mm, 3, 3, 1, F8_DTYPE_S32, 8);
    uint32_t v2 = mb_value(&mm, 3, 3, 1, F8_DTYPE_S8, 8);
    mb_pool(&mm, F8_OP_AVGPOOL, 0, v1, 2, 2, 0, 31, 0);
    mb_pool(&mm, F8_OP_MAXPOOL, v1, v2, 1, 1, 0, 0, 0);
    logits_from(&mm, v2);
    f8_model *m = expect_loads(&mm);
    f8_op_desc od;
    if (m) {
        CU_ASSERT_EQUAL(f8_model_op(m, 0, &od), F8_OK);
        CU_ASSERT_EQUAL(od.avg_shift, 31);
        CU_ASSERT_EQUAL(od.stride_h, 2);
    }
    f8_model_close(m);
    /* refused: the same with avg_shift 32 */
    mm.ops[0].avg_shift = 32;
    expect_model_format(&mm, "op 0 (AVGPOOL): avg_shift 32 exceeds 31");
    /* refused: output shift FL_in 6 + avg_shift 3 - FL_out (-26) = 35 */
    CORRUPT32(value_at(5) + 12, (uint32_t)(uint8_t)-26 << 8 | F8_DTYPE_S8,
              "op 4 (AVGPOOL): output shift 35 exceeds 31 bits");
    CORRUPT32(op_at(4) + OP_SH, 0, "op 4 (AVGPOOL): kernel 3x3 and stride 0x1 must be at least 1");
    CORRUPT32(op_at(4) + OP_KH, 4, "op 4 (AVGPOOL): kernel larger than the padded input");
    CORRUPT32(op_at(4) + OP_GROUPS, 0, "op 4 (AVGPOOL): groups is 0, must be 1");
    CORRUPT32(op_at(4) + OP_WBITS, 8, "op 4 (AVGPOOL): weight_bits is 8, must be 0 (no weights)");
    CORRUPT32(op_at(4) + OP_PT, 1, "op 4 (AVGPOOL): padding must be 0");
}

static void test_op_common(void)
{
    /* type 0 and one past the last are unknown: no type name in the message */
    CORRUPT32(op_at(0) + OP_TYPE, 0, "op 0: unknown type 0");
    CORRUPT32(op_at(3) + OP_TYPE, 6, "op 3: unknown type 6");
    /* the second input of ADD, read before written, names the op and its type */
    CORRUPT32(op_at(2) + OP_IN1, 5, "op 2 (ADD): input1 reads value 5 before any op writes it");
    CORRUPT32(op_at(4) + OP_IN1, 1, "op 4 (AVGPOOL): input1 is 1, must be 0xFFFFFFFF (only ADD "
                                    "has two inputs)");
}

/* ---- metadata -------------------------------------------------------------------------- */

static uint8_t *with_meta(size_t *size, const char *k0, const char *v0, const char *k1,
                          const char *v1)
{
    mb_model m;
    good_model(&m);
    m.num_meta = 0;
    if (k0)
        mb_meta(&m, k0, v0);
    if (k1)
        mb_meta(&m, k1, v1);
    return mb_build(&m, size);
}

static void test_metadata(void)
{
    size_t size;
    uint8_t *b = with_meta(&size, "name", "n", NULL, NULL);
    expect_format(b, size, "\"labels\" is missing");
    b = with_meta(&size, "labels", "a\nb\nc", NULL, NULL);
    expect_format(b, size, "\"name\" is missing");
    b = with_meta(&size, "name", "n", "labels", "a\nb");
    expect_format(b, size, "labels");
    b = with_meta(&size, "name", "n", "labels", "a\nb\nc\n"); /* trailing newline: 4 labels */
    expect_format(b, size, "4 labels");
    b = with_meta(&size, "name", "bad\xff", "labels", "a\nb\nc");
    expect_format(b, size, "UTF-8");
    b = with_meta(&size, "name", "\xc0\xaf", "labels", "a\nb\nc"); /* overlong '/' */
    expect_format(b, size, "UTF-8");

    /* a NUL inside a value, and a length that runs past the header region */
    b = with_meta(&size, "name", "nXme", "labels", "a\nb\nc");
    size_t at = mb_get64(b + 88);
    b[at + 8 + 4 + 1] = 0;
    mb_fix_crc(b, size);
    expect_format(b, size, "NUL");
    b = with_meta(&size, "name", "n", "labels", "a\nb\nc");
    mb_put32(b + mb_get64(b + 88) + 4, 0xFFFFFFF0u);
    mb_fix_crc(b, size);
    expect_format(b, size, "metadata entry 0");

    /* UTF-8 labels, empty labels and unknown keys are fine */
    b = with_meta(&size, "name", "caf\xc3\xa9", "labels", "\xe2\x9c\x93\n\nz");
    f8_model *m = NULL;
    char err[F8_ERRMSG_SIZE];
    CU_ASSERT_EQUAL(f8_model_open_buffer(b, size, &m, err, sizeof err), F8_OK);
    free(b);
    if (m) {
        CU_ASSERT_STRING_EQUAL(f8_model_get_info(m)->name, "caf\xc3\xa9");
        CU_ASSERT_STRING_EQUAL(f8_model_label(m, 0), "\xe2\x9c\x93");
        CU_ASSERT_STRING_EQUAL(f8_model_label(m, 1), "");
        CU_ASSERT_STRING_EQUAL(f8_model_label(m, 2), "z");
    }
    f8_model_close(m);
}

/* ---- hostile files --------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Opens (and, if it loads, runs) a mutated file: it must fail cleanly or work. */
static int try_hostile(const uint8_t *b, size_t size, int *loaded)
{
    char err[F8_ERRMSG_SIZE] = "";
    f8_model *m = NULL;
    const int rc = f8_model_open_buffer(b, size, &m, err, sizeof err);
    if (rc == F8_OK) {
        *loaded += 1;
        f8_runner *r = NULL;
        const f8_model_info *mi = f8_model_get_info(m);
        const size_t img = (size_t)mi->input_h * mi->input_w * mi->input_c;
        uint8_t *images = malloc(2 * img);
        int32_t *logits = malloc(2 * mi->num_classes * sizeof *logits);
        if (images && logits && f8_runner_create(m, 2, &r) == F8_OK) {
            for (size_t i = 0; i < 2 * img; i++)
                images[i] = (uint8_t)rng();
            f8_run(r, images, 2, logits);
        }
        f8_runner_destroy(r);
        free(images);
        free(logits);
        f8_model_close(m);
        return 1;
    }
    return rc == F8_EFORMAT && err[0] != '\0';
}

static void test_every_truncation(void)
{
    size_t size;
    uint8_t *good = good_bytes(&size);
    int ok = 1, loaded = 0;
    for (size_t len = 0; len < size; len++) {
        uint8_t *b = malloc(len ? len : 1);
        memcpy(b, good, len);
        if (len >= 32)
            mb_put64(b + 24, len); /* make file_size agree so deeper checks run */
        if (len >= 40)
            mb_fix_crc(b, len);
        char err[F8_ERRMSG_SIZE] = "";
        f8_model *m = NULL;
        const int rc = f8_model_open_buffer(b, len, &m, err, sizeof err);
        if (rc != F8_EFORMAT || !err[0]) {
            fprintf(stderr, "\n    truncation to %zu: rc %d (%s)\n", len, rc, err);
            ok = 0;
        }
        f8_model_close(m);
        free(b);
    }
    free(good);
    CU_ASSERT(ok);
    (void)loaded;
}

static void test_random_mutations(void)
{
    size_t size;
    uint8_t *good = good_bytes(&size);
    const uint64_t po = mb_get64(good + 32);
    static const uint32_t interesting[] = {0,          1,          2,          3,
                                           7,          8,          31,         32,
                                           63,         64,         128,        255,
                                           0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE};
    int ok = 1, loaded = 0;
    uint8_t *b = malloc(size);
    for (int iter = 0; iter < 4000; iter++) {
        memcpy(b, good, size);
        const int edits = 1 + (int)(rng() % 3);
        for (int e = 0; e < edits; e++) {
            /* mostly the header region (where the structure is), sometimes the payload */
            const size_t limit = rng() % 8 ? (size_t)po : size;
            if (rng() % 2) {
                const size_t at = (size_t)(rng() % (limit / 4)) * 4;
                mb_put32(b + at, interesting[rng() % 16]);
            } else {
                b[rng() % limit] = (uint8_t)rng();
            }
        }
        if (rng() % 16)
            mb_fix_crc(b, size);
        if (!try_hostile(b, size, &loaded)) {
            fprintf(stderr, "\n    mutation %d did not fail cleanly\n", iter);
            ok = 0;
        }
    }
    free(b);
    free(good);
    CU_ASSERT(ok);
    /* some mutations are harmless (a label byte, a weight): those must load and run */
    CU_ASSERT(loaded > 0);
}

/* ---- FGQ ternary ops and narrow values (docs/FORMAT.md §2.2, §2.5) -------------------- */

/* v0 6x6x1 u8 FL8 -> op0 CONV 3x3 p1 ternary (Cout 2, K 9, N 4: groups of 4, 4, 1) + ReLU
 * -> v1 6x6x2 u8 FL5, 4 bits -> op1 DENSE (8-bit) -> v2 1x1x3 s32 logits. */
static uint8_t t_codes[5], t_alpha[6];
static int8_t t_code_of[18];

static void ternary_model(mb_model *m)
{
    test_tensors_init();
    memset(t_codes, 0, sizeof t_codes);
    for (int j = 0; j < 18; j++) {
        t_code_of[j] = (int8_t)(j % 3 - 1);                  /* -1, 0, +1, -1, ... */
        const unsigned code = t_code_of[j] < 0 ? 3u : (unsigned)t_code_of[j];
        t_codes[j / 4] |= (uint8_t)(code << (2 * (j % 4)));
    }
    for (int g = 0; g < 6; g++)
        t_alpha[g] = (uint8_t)(10 * (g + 1));
    mb_init(m, 6, 6, 1, 8, 3);
    const uint32_t v1 = mb_value(m, 6, 6, 2, F8_DTYPE_U8, 5);
    m->values[v1].bits = 4;
    mb_op_t *op = mb_conv(m, 0, v1, 3, 3, 1, 1, 1, 1, tw, tb, tf);
    mb_ternary(op, t_codes, sizeof t_codes, t_alpha, sizeof t_alpha, 4);
    logits_from(m, v1);
}

/* The op's 18 weights as the kernels read them: w[o][k] = t·alpha[o][k / 4]. */
static void expect_t_weights(const f8_kernel_args *a)
{
    for (int j = 0; j < 18; j++)
        CU_ASSERT_EQUAL(f8_weight(a, (size_t)j), t_code_of[j] * t_alpha[(j / 9) * 3 + (j % 9) / 4]);
}

static void test_ternary(void)
{
    mb_model mm;
    ternary_model(&mm);
    f8_model *m = expect_loads(&mm);
    if (m) {
        f8_op_desc od;
        f8_value_desc vd;
        CU_ASSERT_EQUAL(f8_model_op(m, 0, &od), F8_OK);
        CU_ASSERT_EQUAL(od.weight_bits, 2);
        CU_ASSERT_EQUAL(od.group_size, 4);
        CU_ASSERT_EQUAL(f8_model_op(m, 1, &od), F8_OK);
        CU_ASSERT_EQUAL(od.weight_bits, 8);
        CU_ASSERT_EQUAL(od.group_size, 0);
        CU_ASSERT_EQUAL(f8_model_value(m, 1, &vd), F8_OK);
        CU_ASSERT_EQUAL(vd.bits, 4);
        CU_ASSERT_EQUAL(f8_model_value(m, 0, &vd), F8_OK);
        CU_ASSERT_EQUAL(vd.bits, 0);
        /* the weights the kernels read, in their 2-bit form: w[o][k] = t·alpha[o][k / 4] */
        const f8_kernel_args *a = &m->ops[0].args;
        CU_ASSERT_PTR_NULL(a->weights);
        CU_ASSERT_EQUAL(a->k, 9);
        CU_ASSERT_EQUAL(a->alpha_groups, 3);
        expect_t_weights(a);
        CU_ASSERT_EQUAL(f8_weight(a, 8), 10 * 3 * 1); /* o 0, k 8: +1 · alpha[0][2] = 30 */
        CU_ASSERT_EQUAL(f8_weight(a, 9), -40);        /* o 1, k 0: -1 · alpha[1][0] */
    }
    f8_model_close(m);

    /* each new field malformed, one at a time */
    mm.ops[0].group_size = 0;
    expect_model_format(&mm, "op 0 (CONV2D): group_size 0 outside [1, K = 9]");
    mm.ops[0].group_size = 10;
    expect_model_format(&mm, "op 0 (CONV2D): group_size 10 outside [1, K = 9]");
    mm.ops[0].group_size = 3; /* 3 groups of 3: alpha still 6 bytes, consistent */
    f8_model_close(expect_loads(&mm));
    mm.ops[0].group_size = 2; /* 5 groups per channel: 10 alphas */
    expect_model_format(&mm, "op 0 (CONV2D): alpha tensor size 6, expected 10 (Cout 2 x 5 "
                             "groups of 2)");
    mm.ops[0].group_size = 4;
    mm.ops[0].tensor_size[0] = 4;
    expect_model_format(&mm, "op 0 (CONV2D): weight tensor size 4, expected 5");
    mm.ops[0].tensor_size[0] = 5;
    mm.ops[0].tensor_size[3] = 5;
    expect_model_format(&mm, "op 0 (CONV2D): alpha tensor size 5, expected 6");
    mm.ops[0].tensor_size[3] = 6;
    t_alpha[4] = 128;
    expect_model_format(&mm, "op 0 (CONV2D): alpha[4] = 128 exceeds 127");
    t_alpha[4] = 50;
    t_codes[2] = (uint8_t)(t_codes[2] & ~(3u << 4)) | (uint8_t)(2u << 4); /* weight 10 */
    expect_model_format(&mm, "op 0 (CONV2D): ternary code 0b10 at weight 10");
    ternary_model(&mm);
    t_codes[4] |= 0x40; /* weights 16, 17 use bits 0-3 of byte 4: bits 6-7 are padding */
    expect_model_format(&mm, "op 0 (CONV2D): unused bits of the last code byte must be zero");
    ternary_model(&mm);
    mm.ops[0].weight_bits = 8; /* 8-bit op with the ternary fields set */
    expect_model_format(&mm, "op 0 (CONV2D): packing and group_size/alpha fields");
    ternary_model(&mm);
    mm.ops[0].tensor_size[3] = 0; /* alpha missing */
    expect_model_format(&mm, "op 0 (CONV2D): alpha tensor size 0, expected 6");

    /* alpha offset misaligned / outside the payload: patch the built bytes */
    ternary_model(&mm);
    size_t size;
    uint8_t *b = mb_build(&mm, &size);
    const size_t op0 = mb_op_at(b, 0);
    const uint64_t aoff = mb_get64(b + op0 + 120);
    mb_put64(b + op0 + 120, aoff + 1);
    mb_fix_crc(b, size);
    expect_format(b, size, "op 0 (CONV2D): alpha tensor offset");
    b = mb_build(&mm, &size);
    mb_put64(b + op0 + 120, aoff + 64 * 100);
    mb_fix_crc(b, size);
    expect_format(b, size, "op 0 (CONV2D): alpha tensor [");
    b = mb_build(&mm, &size);
    mb_put32(b + op0 + 116, 0xFFFFFFFFu);
    mb_fix_crc(b, size);
    expect_format(b, size, "op 0 (CONV2D): alpha tensor size 4294967295, expected 6");

    /* ternary weights on an op without weights */
    ternary_model(&mm);
    const uint32_t v3 = mb_value(&mm, 6, 6, 2, F8_DTYPE_U8, 5);
    mb_op_t *pool = mb_pool(&mm, F8_OP_MAXPOOL, 1, v3, 1, 1, 0, 0, 0);
    pool->weight_bits = 2;
    expect_model_format(&mm, "op 2 (MAXPOOL): weight_bits is 2, must be 0");
}

/* The same op in the dense packing (§2.5): the 18 codes as base-3 digits, five per byte (4
 * bytes, the last holding weights 15-17: below 27), the 6 alphas at 7 bits (42 bits: 6
 * bytes, 6 padding bits). */
static uint8_t d_codes[8], d_alpha[8]; /* 4 and 6 used; room for the oversized cases */

static void ternary_dense_model(mb_model *m)
{
    ternary_model(m);
    memset(d_codes, 0, sizeof d_codes);
    memset(d_alpha, 0, sizeof d_alpha);
    static const unsigned pow3[5] = {1, 3, 9, 27, 81};
    for (int j = 0; j < 18; j++) /* digit 0 = 0, 1 = +1, 2 = -1 */
        d_codes[j / 5] += (uint8_t)((t_code_of[j] < 0 ? 2u : (unsigned)t_code_of[j]) * pow3[j % 5]);
    for (int g = 0; g < 6; g++)
        for (int b = 0; b < 7; b++)
            d_alpha[(7 * g + b) / 8] |= (uint8_t)((t_alpha[g] >> b & 1u) << ((7 * g + b) % 8));
    mb_ternary(&m->ops[0], d_codes, 4, d_alpha, 6, 4);
    m->ops[0].packing = 1;
}

/* Logits of the two images of `img` (2 x 36 bytes) on one path, or 0 if it is unsupported. */
static int logits_on(const f8_model *m, f8_isa isa, const uint8_t *img, int32_t *logits)
{
    if (!f8_isa_supported(isa))
        return 0;
    f8_runner_options o = {1, isa, 0};
    f8_runner *r = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_runner_create_opts(m, 2, &o, &r), F8_OK);
    CU_ASSERT_EQUAL(f8_run(r, img, 2, logits), F8_OK);
    f8_runner_destroy(r);
    return 1;
}

static void test_ternary_dense(void)
{
    mb_model mm;
    ternary_dense_model(&mm);
    size_t size;
    uint8_t *b = mb_build(&mm, &size);
    CU_ASSERT_EQUAL(mb_get32(b + 8), 2); /* the dense packing needs format version 2 */
    free(b);
    f8_model *m = expect_loads(&mm);
    mb_model m2;
    ternary_model(&m2);
    f8_model *m2bit = expect_loads(&m2);
    if (m && m2bit) {
        f8_op_desc od;
        CU_ASSERT_EQUAL(f8_model_op(m, 0, &od), F8_OK);
        CU_ASSERT_EQUAL(od.weight_bits, 2);
        CU_ASSERT_EQUAL(od.packing, 1);
        CU_ASSERT_EQUAL(f8_model_op(m2bit, 0, &od), F8_OK);
        CU_ASSERT_EQUAL(od.packing, 0);
        /* the kernels read the file's dense bytes: the same weights as the 2-bit form */
        const f8_kernel_args *a = &m->ops[0].args;
        CU_ASSERT_PTR_NULL(a->weights);
        CU_ASSERT_EQUAL(a->packing, F8_PACKING_DENSE);
        expect_t_weights(a);
        /* and the two files compute the same logits on every path */
        uint8_t img[72];
        for (int i = 0; i < 72; i++)
            img[i] = (uint8_t)(i * 37 % 256);
        for (int isa = F8_ISA_SCALAR; isa <= F8_ISA_AVX512VNNI; isa++) {
            int32_t want[6], got[6];
            if (logits_on(m2bit, (f8_isa)isa, img, want) && logits_on(m, (f8_isa)isa, img, got))
                CU_ASSERT_EQUAL(memcmp(want, got, sizeof want), 0);
        }
    }
    f8_model_close(m);
    f8_model_close(m2bit);
    /* every 7-bit alpha value decodes, at every bit offset */
    static uint8_t bits[112];
    for (int g = 0; g < 128; g++)
        for (int k = 0; k < 7; k++)
            bits[(7 * g + k) / 8] |= (uint8_t)(((unsigned)g >> k & 1u) << ((7 * g + k) % 8));
    for (int g = 0; g < 128; g++)
        CU_ASSERT_EQUAL(f8_alpha7(bits, (size_t)g), (unsigned)g);

    /* each new field malformed, one at a time (an alpha above 127 cannot be written in 7
     * bits: the 2-bit packing's u8 alphas are the ones test_ternary checks) */
    mm.ops[0].packing = 2;
    expect_model_format(&mm, "op 0 (CONV2D): packing 2 unknown (0 2-bit codes, 1 dense)");
    ternary_dense_model(&mm);
    b = mb_build(&mm, &size); /* dense in a version 1 file */
    mb_put32(b + 8, 1);
    mb_fix_crc(b, size);
    expect_format(b, size, "op 0 (CONV2D): packing 1 (dense) in a format version 1 file");
    d_codes[1] = 243;
    expect_model_format(&mm, "op 0 (CONV2D): dense code byte 1 is 243, not below 243");
    d_codes[1] = 255;
    expect_model_format(&mm, "op 0 (CONV2D): dense code byte 1 is 255");
    ternary_dense_model(&mm);
    d_codes[3] = (uint8_t)(d_codes[3] + 27); /* weights 15-17 and a digit for weight 18 */
    expect_model_format(&mm, "op 0 (CONV2D): unused digits of the last dense code byte must be "
                             "zero");
    ternary_dense_model(&mm);
    d_alpha[5] |= 0x04; /* bits 40-41 hold alpha 5's last two bits: bit 42 is padding */
    expect_model_format(&mm, "op 0 (CONV2D): unused bits of the last alpha byte must be zero");
    ternary_dense_model(&mm);
    mm.ops[0].tensor_size[0] = 5; /* the 2-bit size */
    expect_model_format(&mm, "op 0 (CONV2D): weight tensor size 5, expected 4");
    ternary_dense_model(&mm);
    mm.ops[0].tensor_size[3] = 5;
    expect_model_format(&mm, "op 0 (CONV2D): alpha tensor size 5, expected 6 (Cout 2 x 3 groups "
                             "of 4, 7 bits each)");
    ternary_dense_model(&mm);
    mm.ops[0].group_size = 2; /* 10 alphas: 70 bits, 9 bytes */
    expect_model_format(&mm, "op 0 (CONV2D): alpha tensor size 6, expected 9");
    ternary_dense_model(&mm);
    mm.ops[0].group_size = 3; /* 6 alphas again: consistent, loads */
    f8_model_close(expect_loads(&mm));
}

/* A 4-bit value on every path: the input through an identity DENSE into a u8 value of 4
 * bits (FL 0), then an identity DENSE into the logits: values above 15 come out as 15. */
static void test_narrow_values(void)
{
    static int8_t eye[16];
    static int32_t zb[4];
    static int8_t zf[4];
    for (int i = 0; i < 4; i++)
        eye[i * 5] = 1;
    for (uint32_t bits = 2; bits <= 8; bits += 2) {
        mb_model mm;
        mb_init(&mm, 1, 1, 1, 0, 4);
        mm.input_w = 4;
        mm.values[0].w = 4;
        const uint32_t v1 = mb_value(&mm, 1, 1, 4, F8_DTYPE_U8, 0);
        mm.values[v1].bits = (uint8_t)bits;
        const uint32_t v2 = mb_value(&mm, 1, 1, 4, F8_DTYPE_S32, 0);
        mm.output_value = v2;
        mb_dense(&mm, 0, v1, 0, eye, zb, zf);
        mb_dense(&mm, v1, v2, 0, eye, zb, zf);
        f8_model *m = expect_loads(&mm);
        if (!m)
            continue;
        const uint8_t img[4] = {0, 3, 15, 200};
        const int32_t hi = (int32_t)((1u << bits) - 1);
        for (int isa = F8_ISA_SCALAR; isa <= F8_ISA_AVX512VNNI; isa++) {
            if (!f8_isa_supported((f8_isa)isa))
                continue;
            f8_runner_options o = {1, (f8_isa)isa, 0};
            f8_runner *r = NULL;
            CU_ASSERT_EQUAL(f8_runner_create_opts(m, 2, &o, &r), F8_OK);
            int32_t logits[8];
            uint8_t two[8];
            memcpy(two, img, 4);
            memcpy(two + 4, img, 4);
            CU_ASSERT_EQUAL(f8_run(r, two, 2, logits), F8_OK);
            for (int i = 0; i < 8; i++)
                CU_ASSERT_EQUAL(logits[i], img[i % 4] > hi ? hi : img[i % 4]);
            f8_runner_destroy(r);
        }
        f8_model_close(m);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"valid model: info, labels, metadata, values, ops", test_valid_model},
        {"open from a file; I/O errors", test_open_file},
        {"header fields", test_bad_header},
        {"CRCs", test_crc},
        {"truncated and padded files", test_truncated},
        {"value table", test_bad_values},
        {"tensor offsets, sizes, alignment", test_tensors},
        {"op fields, value ids, write-before-read", test_bad_ops},
        {"shapes and shifts", test_shapes_and_shifts},
        {"a value never written", test_never_written},
        {"op table: the common part", test_op_common},
        {"CONV2D validator (grouped, depthwise)", test_validate_conv2d},
        {"DENSE validator", test_validate_dense},
        {"ADD validator", test_validate_add},
        {"MAXPOOL validator", test_validate_maxpool},
        {"AVGPOOL validator", test_validate_avgpool},
        {"metadata", test_metadata},
        {"FGQ ternary ops: expansion, every malformed field", test_ternary},
        {"FGQ dense packing: same weights and logits, every malformed field", test_ternary_dense},
        {"narrow (4-bit) values clamp on every path", test_narrow_values},
        {"every truncation fails cleanly", test_every_truncation},
        {"random mutations fail cleanly or run", test_random_mutations},
        CU_TEST_INFO_NULL,
    };
    return unit_run("loader", tests);
}
