/*
 * A small .f8 writer for the C tests (#included by test_*.c; docs/FORMAT.md §2): describe
 * values, ops and metadata, get the file's bytes with both CRCs filled in. The tests then
 * corrupt those bytes on purpose and call mb_fix_crc so that the check under test, not the
 * CRC, is what fails.
 *
 * Tensor data is referenced, not copied: keep the arrays alive until mb_build.
 */
#ifndef F8_MODEL_BUILDER_H
#define F8_MODEL_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/src/f8_internal.h" /* f8_crc32 */
#include "f8.h"

#define MB_FN static __attribute__((unused))
#define MB_MAX_VALUES 64
#define MB_MAX_OPS 64
#define MB_MAX_META 16
#define MB_NONE 0xFFFFFFFFu

typedef struct {
    uint32_t h, w, c;
    uint8_t dtype;
    int8_t fl;
    uint8_t bits; /* word length (byte 14), 0 = the dtype's */
} mb_value_t;

typedef struct {
    uint32_t type, flags, in0, in1, out;
    uint32_t kh, kw, sh, sw, pt, pl, pb, pr, groups, weight_bits, avg_shift;
    const void *tensor[4]; /* weights (ternary: packed codes), bias, fl_w, alpha */
    uint64_t tensor_size[4];
    uint32_t group_size;   /* ternary ops */
    uint8_t packing;       /* ternary ops: 0 2-bit codes, 1 dense (byte 57) */
} mb_op_t;

typedef struct {
    uint32_t input_h, input_w, input_c, num_classes, output_value, preprocess;
    mb_value_t values[MB_MAX_VALUES];
    uint32_t num_values;
    mb_op_t ops[MB_MAX_OPS];
    uint32_t num_ops;
    char meta_key[MB_MAX_META][32];
    char meta_value[MB_MAX_META][512];
    uint32_t num_meta;
} mb_model;

MB_FN void mb_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

MB_FN void mb_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

MB_FN uint32_t mb_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

MB_FN uint64_t mb_get64(const uint8_t *p)
{
    return (uint64_t)mb_get32(p) | (uint64_t)mb_get32(p + 4) << 32;
}

MB_FN uint32_t mb_value(mb_model *m, uint32_t h, uint32_t w, uint32_t c, f8_dtype dtype, int fl)
{
    m->values[m->num_values] = (mb_value_t){h, w, c, (uint8_t)dtype, (int8_t)fl, 0};
    return m->num_values++;
}

MB_FN void mb_meta(mb_model *m, const char *key, const char *value)
{
    snprintf(m->meta_key[m->num_meta], sizeof m->meta_key[0], "%s", key);
    snprintf(m->meta_value[m->num_meta], sizeof m->meta_value[0], "%s", value);
    m->num_meta++;
}

/* A model whose value 0 is h x w x c u8 at input_fl, with "name" = "test" and labels
 * "class0\nclass1..." for num_classes classes. */
MB_FN void mb_init(mb_model *m, uint32_t h, uint32_t w, uint32_t c, int input_fl,
                   uint32_t num_classes)
{
    memset(m, 0, sizeof *m);
    m->input_h = h;
    m->input_w = w;
    m->input_c = c;
    m->num_classes = num_classes;
    m->preprocess = F8_PREPROCESS_DIRECT;
    mb_value(m, h, w, c, F8_DTYPE_U8, input_fl);
    char labels[512] = "";
    size_t n = 0;
    for (uint32_t i = 0; i < num_classes && n < sizeof labels - 16; i++)
        n += (size_t)snprintf(labels + n, sizeof labels - n, i ? "\nclass%u" : "class%u", i);
    mb_meta(m, "name", "test");
    mb_meta(m, "labels", labels);
}

MB_FN mb_op_t *mb_op(mb_model *m, f8_op_type type, uint32_t in0, uint32_t in1, uint32_t out,
                     int relu)
{
    mb_op_t *op = &m->ops[m->num_ops++];
    memset(op, 0, sizeof *op);
    op->type = type;
    op->flags = relu ? 1u : 0u;
    op->in0 = in0;
    op->in1 = in1;
    op->out = out;
    op->groups = 1;
    return op;
}

MB_FN void mb_weights(mb_op_t *op, const int8_t *w, uint64_t w_size, const int32_t *bias,
                      const int8_t *fl_w, uint32_t cout)
{
    op->weight_bits = 8;
    op->tensor[0] = w;
    op->tensor_size[0] = w_size;
    op->tensor[1] = bias;
    op->tensor_size[1] = (uint64_t)cout * 4;
    op->tensor[2] = fl_w;
    op->tensor_size[2] = cout;
}

/* Makes a weighted op ternary (docs/FORMAT.md §2.5): codes packed 2 bits per weight
 * (codes_size bytes), alpha u8[alpha_size], N = group_size; for the dense packing set
 * op->packing = 1 after it (mb_build then writes format version 2). */
MB_FN void mb_ternary(mb_op_t *op, const uint8_t *codes, uint64_t codes_size,
                      const uint8_t *alpha, uint64_t alpha_size, uint32_t group_size)
{
    op->weight_bits = 2;
    op->tensor[0] = codes;
    op->tensor_size[0] = codes_size;
    op->tensor[3] = alpha;
    op->tensor_size[3] = alpha_size;
    op->group_size = group_size;
}

/* CONV2D with the output value's shape taken from m->values[out]. */
MB_FN mb_op_t *mb_conv(mb_model *m, uint32_t in, uint32_t out, uint32_t kh, uint32_t kw,
                       uint32_t stride, uint32_t pad, uint32_t groups, int relu, const int8_t *w,
                       const int32_t *bias, const int8_t *fl_w)
{
    mb_op_t *op = mb_op(m, F8_OP_CONV2D, in, MB_NONE, out, relu);
    const uint32_t cout = m->values[out].c, cin = m->values[in].c;
    op->kh = kh;
    op->kw = kw;
    op->sh = op->sw = stride;
    op->pt = op->pl = op->pb = op->pr = pad;
    op->groups = groups;
    mb_weights(op, w, (uint64_t)cout * kh * kw * (cin / groups), bias, fl_w, cout);
    return op;
}

MB_FN mb_op_t *mb_dense(mb_model *m, uint32_t in, uint32_t out, int relu, const int8_t *w,
                        const int32_t *bias, const int8_t *fl_w)
{
    mb_op_t *op = mb_op(m, F8_OP_DENSE, in, MB_NONE, out, relu);
    const mb_value_t *x = &m->values[in];
    const uint32_t cout = m->values[out].c;
    mb_weights(op, w, (uint64_t)cout * x->h * x->w * x->c, bias, fl_w, cout);
    return op;
}

MB_FN mb_op_t *mb_add(mb_model *m, uint32_t a, uint32_t b, uint32_t out, int relu)
{
    return mb_op(m, F8_OP_ADD, a, b, out, relu);
}

MB_FN mb_op_t *mb_pool(mb_model *m, f8_op_type type, uint32_t in, uint32_t out, uint32_t k,
                       uint32_t stride, uint32_t pad, uint32_t avg_shift, int relu)
{
    mb_op_t *op = mb_op(m, type, in, MB_NONE, out, relu);
    op->kh = op->kw = k;
    op->sh = op->sw = stride;
    op->pt = op->pl = op->pb = op->pr = pad;
    op->avg_shift = avg_shift;
    return op;
}

MB_FN uint64_t mb_align(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Recomputes both CRCs from payload_offset as the header states it. */
MB_FN void mb_fix_crc(uint8_t *buf, size_t size)
{
    uint64_t po = mb_get64(buf + 32);
    if (po > size)
        po = size;
    /* payload first: header_crc32 covers the payload_crc32 field */
    mb_put32(buf + 16, f8_crc32(0, buf + po, size - (size_t)po));
    mb_put32(buf + 12, 0);
    mb_put32(buf + 12, f8_crc32(0, buf, (size_t)po));
}

/* The file's bytes (malloc'ed; free them), and its size in *size. */
MB_FN uint8_t *mb_build(const mb_model *m, size_t *size)
{
    const uint64_t values_off = 128;
    const uint64_t ops_off = values_off + 16ull * m->num_values;
    const uint64_t meta_off = ops_off + 128ull * m->num_ops;
    uint64_t end = meta_off;
    for (uint32_t i = 0; i < m->num_meta; i++)
        end = mb_align(end + 8 + strlen(m->meta_key[i]) + strlen(m->meta_value[i]), 4);
    const uint64_t payload_off = mb_align(end, 64);
    uint64_t file_size = payload_off;
    uint64_t tensor_off[MB_MAX_OPS][4];
    for (uint32_t i = 0; i < m->num_ops; i++)
        for (int t = 0; t < 4; t++) {
            tensor_off[i][t] = 0;
            if (m->ops[i].tensor_size[t]) {
                tensor_off[i][t] = mb_align(file_size, 64);
                file_size = tensor_off[i][t] + m->ops[i].tensor_size[t];
            }
        }

    uint8_t *b = calloc(1, (size_t)file_size);
    if (!b)
        abort();
    memcpy(b, "F8MODEL\0", 8);
    uint32_t version = 1; /* the lowest that holds the file: 2 with a dense op */
    for (uint32_t i = 0; i < m->num_ops; i++)
        if (m->ops[i].packing)
            version = 2;
    mb_put32(b + 8, version);
    mb_put64(b + 24, file_size);
    mb_put64(b + 32, payload_off);
    mb_put32(b + 40, m->input_h);
    mb_put32(b + 44, m->input_w);
    mb_put32(b + 48, m->input_c);
    mb_put32(b + 52, m->preprocess);
    mb_put32(b + 56, m->num_classes);
    mb_put32(b + 60, m->num_values);
    mb_put32(b + 64, m->num_ops);
    mb_put32(b + 68, m->num_meta);
    mb_put64(b + 72, values_off);
    mb_put64(b + 80, ops_off);
    mb_put64(b + 88, meta_off);
    mb_put32(b + 96, m->output_value);
    for (uint32_t i = 0; i < m->num_values; i++) {
        uint8_t *p = b + values_off + 16ull * i;
        mb_put32(p, m->values[i].h);
        mb_put32(p + 4, m->values[i].w);
        mb_put32(p + 8, m->values[i].c);
        p[12] = m->values[i].dtype;
        p[13] = (uint8_t)m->values[i].fl;
        p[14] = m->values[i].bits;
    }
    for (uint32_t i = 0; i < m->num_ops; i++) {
        const mb_op_t *o = &m->ops[i];
        uint8_t *p = b + ops_off + 128ull * i;
        const uint32_t f[] = {o->type, o->flags, o->in0, o->in1, o->out, o->kh, o->kw, o->sh,
                              o->sw, o->pt, o->pl, o->pb, o->pr, o->groups, o->weight_bits,
                              o->avg_shift};
        for (int k = 0; k < 16; k++)
            mb_put32(p + 4 * k, f[k]);
        p[57] = o->packing; /* weight_bits is the byte 56 */
        for (int t = 0; t < 3; t++) {
            mb_put64(p + 64 + 16 * t, tensor_off[i][t]);
            mb_put64(p + 72 + 16 * t, o->tensor_size[t]);
            if (o->tensor_size[t])
                memcpy(b + tensor_off[i][t], o->tensor[t], (size_t)o->tensor_size[t]);
        }
        mb_put32(p + 112, o->group_size);
        mb_put32(p + 116, (uint32_t)o->tensor_size[3]);
        mb_put64(p + 120, tensor_off[i][3]);
        if (o->tensor_size[3])
            memcpy(b + tensor_off[i][3], o->tensor[3], (size_t)o->tensor_size[3]);
    }
    uint64_t pos = meta_off;
    for (uint32_t i = 0; i < m->num_meta; i++) {
        const size_t kl = strlen(m->meta_key[i]), vl = strlen(m->meta_value[i]);
        mb_put32(b + pos, (uint32_t)kl);
        mb_put32(b + pos + 4, (uint32_t)vl);
        memcpy(b + pos + 8, m->meta_key[i], kl);
        memcpy(b + pos + 8 + kl, m->meta_value[i], vl);
        pos = mb_align(pos + 8 + kl + vl, 4);
    }
    mb_fix_crc(b, (size_t)file_size);
    *size = (size_t)file_size;
    return b;
}

/* The weights of mb_every_op's five weighted layers, in order: conv3x3 (8x3), conv1x1 (8x8),
 * conv3x3 stride 2 (8x8), depthwise 3x3 (8), dense (classes x 8). */
typedef struct {
    const int8_t *w[5];
    const int32_t *bias[5];
    const int8_t *fl[5];
} mb_every_op_weights;

/* A small graph with every op kind, on an 8x8x3 input (mb_init(m, 8, 8, 3, 8, classes) first):
 *  v0 -> conv3x3 p1 +ReLU -> v1 8x8x8 u8;  v1 -> conv1x1 -> v2 s8;  v2 -> conv3x3 p1 s2 -> v3
 *  4x4x8 s8;  v1 -> maxpool3x3 s2 p1 -> v4 4x4x8 u8 (v1 live across three ops);  add(v3, v4)
 *  -> v5 s32;  v4 -> depthwise -> v6 (never read);  v5 -> avgpool 4x4 shift 4 -> v7 1x1x8 s8
 *  -> dense -> v8, the logits, the model's output. Returns v8. */
MB_FN uint32_t mb_every_op(mb_model *m, uint32_t classes, const mb_every_op_weights *k)
{
    const uint32_t v1 = mb_value(m, 8, 8, 8, F8_DTYPE_U8, 5);
    const uint32_t v2 = mb_value(m, 8, 8, 8, F8_DTYPE_S8, 4);
    const uint32_t v3 = mb_value(m, 4, 4, 8, F8_DTYPE_S8, 4);
    const uint32_t v4 = mb_value(m, 4, 4, 8, F8_DTYPE_U8, 5);
    const uint32_t v5 = mb_value(m, 4, 4, 8, F8_DTYPE_S32, 5);
    const uint32_t v6 = mb_value(m, 4, 4, 8, F8_DTYPE_S8, 3);
    const uint32_t v7 = mb_value(m, 1, 1, 8, F8_DTYPE_S8, 4);
    const uint32_t v8 = mb_value(m, 1, 1, classes, F8_DTYPE_S32, 4);
    m->output_value = v8;
    mb_conv(m, 0, v1, 3, 3, 1, 1, 1, 1, k->w[0], k->bias[0], k->fl[0]);
    mb_conv(m, v1, v2, 1, 1, 1, 0, 1, 0, k->w[1], k->bias[1], k->fl[1]);
    mb_conv(m, v2, v3, 3, 3, 2, 1, 1, 0, k->w[2], k->bias[2], k->fl[2]);
    mb_pool(m, F8_OP_MAXPOOL, v1, v4, 3, 2, 1, 0, 0);
    mb_add(m, v3, v4, v5, 0);
    mb_conv(m, v4, v6, 3, 3, 1, 1, 8, 0, k->w[3], k->bias[3], k->fl[3]);
    mb_pool(m, F8_OP_AVGPOOL, v5, v7, 4, 1, 0, 4, 0);
    mb_dense(m, v7, v8, 0, k->w[4], k->bias[4], k->fl[4]);
    return v8;
}

/* Byte offsets of table entries in a built file, read from its header. */
MB_FN size_t mb_op_at(const uint8_t *b, uint32_t i)
{
    return (size_t)mb_get64(b + 80) + 128u * i;
}

MB_FN size_t mb_value_at(const uint8_t *b, uint32_t i)
{
    return (size_t)mb_get64(b + 72) + 16u * i;
}

MB_FN f8_model *mb_open(const mb_model *m, char *err, size_t errlen, int *rc)
{
    size_t size = 0;
    uint8_t *b = mb_build(m, &size);
    f8_model *model = NULL;
    *rc = f8_model_open_buffer(b, size, &model, err, errlen);
    free(b);
    return model;
}

#endif /* F8_MODEL_BUILDER_H */
