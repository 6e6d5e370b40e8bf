/*
 * The op table of a .f8 model (docs/FORMAT.md §2.3, §3, §6): one validator per op type.
 *
 * f8_op_validate (called by loader.c for each entry of the op table, in order) does the part
 * common to every op: it reads the 128-byte entry into f8_op_desc and f8_kernel_args, checks
 * the type, flags, reserved bytes and value ids, looks the type up in `kinds` and hands the op
 * to that type's validator. A validator checks exactly what §3 says of its op, as one list of
 * small checks read top to bottom, and fills in what only it knows (tensor pointers, macs).
 * All size arithmetic is 64-bit and saturating, so no later code can be led outside the
 * file's bytes. Every failure is F8_EFORMAT with a message "op <index> (<TYPE>): ...".
 */
#include "op_validate.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_SHIFT 31

typedef struct {
    const char *name;
    uint64_t offset, size;
} tensor_ref;

typedef struct op_kind op_kind;

/* One op being validated. */
typedef struct {
    const f8_model *m;
    const f8_op_table *t;
    uint32_t i;           /* its index in the op table */
    const op_kind *kind;  /* its type */
    f8_op_desc *d;        /* the op's fields, as read */
    f8_kernel_args *a;    /* what the kernels get */
    const f8_value_desc *x, *x1, *y; /* input0, input1 (ADD only, else NULL), output */
    tensor_ref tensor[3]; /* weight, bias, fl_w */
    tensor_ref alpha;     /* ternary ops: alpha (its size is a u32 field) */
    char *err;
    size_t errlen;
} op_check;

struct op_kind {
    f8_op_type type;
    const char *name; /* as f8_op_type_name() says it */
    uint32_t inputs;  /* value ids read: 1, or 2 (input1 is F8_NO_VALUE otherwise) */
    int (*validate)(op_check *c);
};

/* "op 3 (CONV2D): " + message ("op 3: " while the type is unknown). */
__attribute__((format(printf, 2, 3))) static int op_fail(const op_check *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        const int n = c->kind ? snprintf(c->err, c->errlen, "op %" PRIu32 " (%s): ", c->i,
                                         c->kind->name)
                              : snprintf(c->err, c->errlen, "op %" PRIu32 ": ", c->i);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return F8_EFORMAT;
}

/* a*b, saturating at UINT64_MAX. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* Output size along one axis: (in + pad0 + pad1 - k) / stride + 1, or 0 if the padded input
 * is smaller than the kernel. */
static uint64_t out_dim(uint32_t in, uint32_t pad0, uint32_t pad1, uint32_t k, uint32_t stride)
{
    const uint64_t padded = (uint64_t)in + pad0 + pad1;
    return padded < k ? 0 : (padded - k) / stride + 1;
}

/* ---- checks the validators are made of ------------------------------------------------ */

/* A window op: kernel and stride at least 1 (pads are the op's own business). */
static int window(const op_check *c)
{
    const f8_op_desc *d = c->d;
    if (d->kernel_h == 0 || d->kernel_w == 0 || d->stride_h == 0 || d->stride_w == 0)
        return op_fail(c, "kernel %" PRIu32 "x%" PRIu32 " and stride %" PRIu32 "x%" PRIu32
                       " must be at least 1", d->kernel_h, d->kernel_w, d->stride_h, d->stride_w);
    return F8_OK;
}

/* Not a window op: kernel, stride and pad fields all 0. */
static int no_window(const op_check *c)
{
    const f8_op_desc *d = c->d;
    if (d->kernel_h | d->kernel_w | d->stride_h | d->stride_w | d->pad_top | d->pad_left |
        d->pad_bottom | d->pad_right)
        return op_fail(c, "kernel/stride/pad fields must be 0");
    return F8_OK;
}

static int groups_one(const op_check *c)
{
    if (c->d->groups != 1)
        return op_fail(c, "groups is %" PRIu32 ", must be 1", c->d->groups);
    return F8_OK;
}

static int no_avg_shift(const op_check *c)
{
    if (c->d->avg_shift != 0)
        return op_fail(c, "avg_shift is %" PRIu32 ", must be 0", c->d->avg_shift);
    return F8_OK;
}

/* An op with weights: 8-bit or ternary weights, an 8-bit input (products are u8|s8 x s8,
 * §1; a ternary weight is an s8 once expanded, §2.5). */
static int weighted(const op_check *c)
{
    if (c->d->weight_bits != 8 && c->d->weight_bits != F8_TERNARY_BITS)
        return op_fail(c, "weight_bits %" PRIu32 ": only 8 and 2 (ternary) are supported",
                       c->d->weight_bits);
    if (c->x->dtype != F8_DTYPE_U8 && c->x->dtype != F8_DTYPE_S8)
        return op_fail(c, "input dtype %s not allowed (u8 or s8)", f8_dtype_name(c->x->dtype));
    return F8_OK;
}

/* An op without weights: weight_bits and every tensor offset/size 0. */
static int no_weights(const op_check *c)
{
    if (c->d->weight_bits != 0)
        return op_fail(c, "weight_bits is %" PRIu32 ", must be 0 (no weights)", c->d->weight_bits);
    for (int k = 0; k < 3; k++)
        if (c->tensor[k].offset || c->tensor[k].size)
            return op_fail(c, "%s_offset/%s_size must be 0 (no weights)", c->tensor[k].name,
                           c->tensor[k].name);
    return F8_OK;
}

/* The output value declares exactly the shape the op implies (§3), which is not empty. */
static int shape(const op_check *c, uint64_t h, uint64_t w, uint64_t ch)
{
    const f8_value_desc *y = c->y;
    if (h == 0 || w == 0)
        return op_fail(c, "kernel larger than the padded input: output shape would be empty");
    if (y->h != h || y->w != w || y->c != ch)
        return op_fail(c, "output shape %" PRIu32 "x%" PRIu32 "x%" PRIu32 " does not match the "
                       "shape the op implies, %" PRIu64 "x%" PRIu64 "x%" PRIu64, y->h, y->w, y->c,
                       h, w, ch);
    return F8_OK;
}

/* A requantization shift must stay within ±31 (§1). */
static int shift(const op_check *c, const char *what, int64_t n)
{
    if (n > MAX_SHIFT || n < -MAX_SHIFT)
        return op_fail(c, "%s shift %" PRId64 " exceeds 31 bits", what, n);
    return F8_OK;
}

/* A tensor the op uses: exact size, 64-aligned, inside the payload. */
static int tensor(const op_check *c, const tensor_ref *r, uint64_t expected)
{
    if (r->size != expected)
        return op_fail(c, "%s tensor size %" PRIu64 ", expected %" PRIu64, r->name, r->size,
                       expected);
    if (r->offset % 64)
        return op_fail(c, "%s tensor offset %" PRIu64 " is misaligned (not a multiple of 64)",
                       r->name, r->offset);
    if (!in_range(r->offset, r->size, c->t->payload_offset, c->t->file_size))
        return op_fail(c, "%s tensor [%" PRIu64 ", +%" PRIu64 ") lies outside the payload [%"
                       PRIu64 ", %" PRIu64 ")", r->name, r->offset, r->size,
                       c->t->payload_offset, c->t->file_size);
    return F8_OK;
}

/* A ternary op's codes in the 2-bit packing (§2.5): ceil(n/4) bytes, every code defined, the
 * last byte's unused bits zero. */
static int codes_2bit(const op_check *c, const uint8_t *codes, uint64_t n)
{
    for (uint64_t j = 0; j < n; j++)
        if ((codes[j / 4] >> (2 * (j % 4)) & 3u) == 2)
            return op_fail(c, "ternary code 0b10 at weight %" PRIu64 " (only 00 = 0, 01 = +1, "
                           "11 = -1 are defined)", j);
    if (n % 4 && codes[n / 4] >> (2 * (n % 4)))
        return op_fail(c, "unused bits of the last code byte must be zero");
    return F8_OK;
}

/* ... in the dense packing: ceil(n/5) bytes, each below 243 (five base-3 digits), the last
 * one's unused digits zero (below 3^r for its r = n mod 5 weights). */
static int codes_dense(const op_check *c, const uint8_t *codes, uint64_t n)
{
    const uint64_t bytes = (n + 4) / 5;
    for (uint64_t b = 0; b < bytes; b++)
        if (codes[b] >= 243)
            return op_fail(c, "dense code byte %" PRIu64 " is %u, not below 243 (five base-3 "
                           "digits)", b, codes[b]);
    static const unsigned pow3[5] = {1, 3, 9, 27, 81};
    if (n % 5 && codes[bytes - 1] >= pow3[n % 5])
        return op_fail(c, "unused digits of the last dense code byte must be zero (byte %u, "
                       "%" PRIu64 " weights in it)", codes[bytes - 1], n % 5);
    return F8_OK;
}

/* A ternary op's weights (§2.5): codes for weight_elems weights and one alpha <= 127 per group
 * of group_size weights of an output channel (K weights, the last group shorter when N does
 * not divide K), in the op's packing: 0, 2-bit codes and u8 alphas; 1 (dense, format version
 * 2), base-3 codes five per byte and 7-bit alphas. Every code and alpha is checked here; the
 * kernels then read the weights in the file's form through f8_weight(): the SIMD paths once,
 * at load, into their packed int8 layout (pack.c), the scalar kernels as they go
 * (docs/ENGINE.md, "Ternary weights"). No int8 copy of the weights is kept besides the
 * packing, and no decoded copy of a dense op's codes. */
static int ternary_weights(const op_check *c, uint64_t weight_elems)
{
    const uint32_t cout = c->y->c, n = c->d->group_size, packing = c->d->packing;
    const uint64_t k = weight_elems / cout; /* weight_elems = Cout·K, Cout >= 1 */
    int rc;
    if (packing != F8_PACKING_2BIT && packing != F8_PACKING_DENSE)
        return op_fail(c, "packing %" PRIu32 " unknown (0 2-bit codes, 1 dense)", packing);
    if (packing == F8_PACKING_DENSE && c->t->version < F8_DENSE_VERSION)
        return op_fail(c, "packing 1 (dense) in a format version %" PRIu32 " file (it needs "
                       "version %u)", c->t->version, F8_DENSE_VERSION);
    if (n == 0 || n > k)
        return op_fail(c, "group_size %" PRIu32 " outside [1, K = %" PRIu64 "] (the weights of "
                       "one output channel)", n, k);
    const uint64_t groups = (k + n - 1) / n, alphas = mul_sat(cout, groups);
    const int dense = packing == F8_PACKING_DENSE;
    /* ceil(weight_elems / 5 or 4) code bytes, ceil(7·alphas / 8) bytes of 7-bit alphas,
     * computed without overflow (the sizes may have saturated) */
    const unsigned per_byte = dense ? 5 : 4;
    if ((rc = tensor(c, &c->tensor[0],
                     weight_elems / per_byte + (weight_elems % per_byte != 0))))
        return rc;
    const uint64_t alpha_bytes = dense ? alphas / 8 * 7 + (alphas % 8 * 7 + 7) / 8 : alphas;
    if (c->alpha.size != alpha_bytes)
        return op_fail(c, "alpha tensor size %" PRIu64 ", expected %" PRIu64 " (Cout %" PRIu32
                       " x %" PRIu64 " groups of %" PRIu32 "%s)", c->alpha.size, alpha_bytes,
                       cout, groups, n, dense ? ", 7 bits each" : "");
    if ((rc = tensor(c, &c->alpha, c->alpha.size)))
        return rc;
    const uint8_t *codes = c->m->data + c->tensor[0].offset;
    const uint8_t *alpha = c->m->data + c->alpha.offset;
    if (dense) { /* every alpha is 7 bits: only the last byte's padding can be wrong */
        if (alphas % 8 && alpha[alpha_bytes - 1] >> (alphas % 8 * 7 % 8))
            return op_fail(c, "unused bits of the last alpha byte must be zero");
    } else {
        for (uint64_t g = 0; g < alphas; g++)
            if (alpha[g] > 127)
                return op_fail(c, "alpha[%" PRIu64 "] = %u exceeds 127 (t·alpha must be an s8)",
                               g, alpha[g]);
    }
    if ((rc = dense ? codes_dense(c, codes, weight_elems) : codes_2bit(c, codes, weight_elems)))
        return rc;
    /* f8_kernel_args holds K and the group count in 32 bits */
    if (k > UINT32_MAX || groups > UINT32_MAX)
        return op_fail(c, "K = %" PRIu64 " weights per output channel is too large", k);
    c->a->weights = NULL;
    c->a->codes = codes;
    c->a->alpha = alpha;
    c->a->group_size = n;
    c->a->k = (uint32_t)k;
    c->a->alpha_groups = (uint32_t)groups;
    c->a->packing = packing;
    return F8_OK;
}

/* Weights s8[weight_elems] (or ternary, §2.5), bias s32[Cout], FL_w i8[Cout] (Cout: the
 * output's channels), each FL_w[o] in [-32, 32] and each output shift FL_w[o] + FL_x - FL_out
 * within ±31. */
static int weight_tensors(const op_check *c, uint64_t weight_elems)
{
    const uint32_t cout = c->y->c;
    const int fl_x = c->x->fl, fl_out = c->y->fl;
    f8_kernel_args *a = c->a;
    int rc;
    if (c->d->weight_bits == F8_TERNARY_BITS)
        rc = ternary_weights(c, weight_elems);
    else if ((rc = tensor(c, &c->tensor[0], weight_elems)) == F8_OK)
        a->weights = (const int8_t *)(c->m->data + c->tensor[0].offset);
    if (rc || (rc = tensor(c, &c->tensor[1], (uint64_t)cout * 4)) ||
        (rc = tensor(c, &c->tensor[2], cout)))
        return rc;
    a->bias = (const int32_t *)(const void *)(c->m->data + c->tensor[1].offset);
    a->fl_w = (const int8_t *)(c->m->data + c->tensor[2].offset);
    for (uint32_t o = 0; o < cout; o++) {
        const int flw = a->fl_w[o];
        if (flw < F8_MIN_FL || flw > F8_MAX_FL)
            return op_fail(c, "fl_w[%" PRIu32 "] = %d outside [-32, 32]", o, flw);
        const int64_t n = (int64_t)flw + fl_x - fl_out;
        if (n > MAX_SHIFT || n < -MAX_SHIFT)
            return op_fail(c, "output channel %" PRIu32 ": shift %" PRId64 " (FL_w %d + FL_x %d"
                           " - FL_out %d) exceeds 31 bits", o, n, flw, fl_x, fl_out);
    }
    return F8_OK;
}

/* ---- one validator per op type (§3) -------------------------------------------------- */

/* CONV2D, depthwise included (groups = Cin = Cout): a u8/s8 input, groups dividing Cin and
 * Cout, the windowed output shape with Cout channels, weights [Cout][kh][kw][Cin/G]. */
static int validate_conv2d(op_check *c)
{
    const f8_op_desc *d = c->d;
    const f8_value_desc *x = c->x, *y = c->y;
    const uint32_t g = d->groups;
    int rc;
    if ((rc = window(c)) || (rc = no_avg_shift(c)) || (rc = weighted(c)))
        return rc;
    if (g == 0 || x->c % g || y->c % g)
        return op_fail(c, "groups %" PRIu32 " must divide Cin %" PRIu32 " and Cout %" PRIu32, g,
                       x->c, y->c);
    if ((rc = shape(c, out_dim(x->h, d->pad_top, d->pad_bottom, d->kernel_h, d->stride_h),
                    out_dim(x->w, d->pad_left, d->pad_right, d->kernel_w, d->stride_w), y->c)))
        return rc;
    const uint64_t weight_elems =
        mul_sat(mul_sat(mul_sat(y->c, d->kernel_h), d->kernel_w), x->c / g);
    c->d->macs = mul_sat((uint64_t)y->h * y->w, weight_elems);
    return weight_tensors(c, weight_elems);
}

/* DENSE: no window, a u8/s8 input of any shape read as K = H*W*Cin, output 1x1xCout,
 * weights [Cout][K]. */
static int validate_dense(op_check *c)
{
    int rc;
    if ((rc = no_window(c)) || (rc = groups_one(c)) || (rc = no_avg_shift(c)) ||
        (rc = weighted(c)) || (rc = shape(c, 1, 1, c->y->c)))
        return rc;
    const uint64_t weight_elems = mul_sat(c->y->c, f8_value_elems(c->x));
    c->d->macs = weight_elems;
    return weight_tensors(c, weight_elems);
}

/* ADD: no window, no weights, two inputs of one shape (any dtypes), the output of that
 * shape; both alignment shifts and the output shift from F_int = max(Fa, Fb) within ±31. */
static int validate_add(op_check *c)
{
    const f8_value_desc *x = c->x, *x1 = c->x1;
    int rc;
    if ((rc = no_window(c)) || (rc = groups_one(c)) || (rc = no_avg_shift(c)) ||
        (rc = no_weights(c)))
        return rc;
    if (x1->h != x->h || x1->w != x->w || x1->c != x->c)
        return op_fail(c, "input shapes %" PRIu32 "x%" PRIu32 "x%" PRIu32 " and %" PRIu32 "x%"
                       PRIu32 "x%" PRIu32 " differ", x->h, x->w, x->c, x1->h, x1->w, x1->c);
    const int f_int = x->fl > x1->fl ? x->fl : x1->fl;
    if ((rc = shape(c, x->h, x->w, x->c)) ||
        (rc = shift(c, "input0 alignment", f_int - x->fl)) ||
        (rc = shift(c, "input1 alignment", f_int - x1->fl)) ||
        (rc = shift(c, "output", f_int - c->y->fl)))
        return rc;
    c->d->macs = 0;
    return F8_OK;
}

/* MAXPOOL: a window, each pad smaller than the kernel on its axis, no weights, any dtype,
 * the windowed output shape with Cin channels, output shift FL_in - FL_out within ±31. */
static int validate_maxpool(op_check *c)
{
    const f8_op_desc *d = c->d;
    const f8_value_desc *x = c->x;
    int rc;
    if ((rc = window(c)) || (rc = groups_one(c)) || (rc = no_avg_shift(c)) ||
        (rc = no_weights(c)))
        return rc;
    if (d->pad_top >= d->kernel_h || d->pad_bottom >= d->kernel_h ||
        d->pad_left >= d->kernel_w || d->pad_right >= d->kernel_w)
        return op_fail(c, "padding (%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ") must be "
                       "smaller than the kernel %" PRIu32 "x%" PRIu32, d->pad_top, d->pad_left,
                       d->pad_bottom, d->pad_right, d->kernel_h, d->kernel_w);
    if ((rc = shape(c, out_dim(x->h, d->pad_top, d->pad_bottom, d->kernel_h, d->stride_h),
                    out_dim(x->w, d->pad_left, d->pad_right, d->kernel_w, d->stride_w), x->c)) ||
        (rc = shift(c, "output", (int64_t)x->fl - c->y->fl)))
        return rc;
    c->d->macs = 0;
    return F8_OK;
}

/* AVGPOOL: a window, no padding, no weights, any dtype, avg_shift <= 31, the windowed output
 * shape with Cin channels, output shift FL_in + avg_shift - FL_out within ±31. */
static int validate_avgpool(op_check *c)
{
    const f8_op_desc *d = c->d;
    const f8_value_desc *x = c->x;
    int rc;
    if ((rc = window(c)) || (rc = groups_one(c)) || (rc = no_weights(c)))
        return rc;
    if (d->pad_top | d->pad_left | d->pad_bottom | d->pad_right)
        return op_fail(c, "padding must be 0");
    if (d->avg_shift > MAX_SHIFT)
        return op_fail(c, "avg_shift %" PRIu32 " exceeds 31", d->avg_shift);
    if ((rc = shape(c, out_dim(x->h, 0, 0, d->kernel_h, d->stride_h),
                    out_dim(x->w, 0, 0, d->kernel_w, d->stride_w), x->c)) ||
        (rc = shift(c, "output", (int64_t)x->fl + d->avg_shift - c->y->fl)))
        return rc;
    c->d->macs = 0;
    return F8_OK;
}

static const op_kind kinds[] = {
    {F8_OP_CONV2D, "CONV2D", 1, validate_conv2d},
    {F8_OP_DENSE, "DENSE", 1, validate_dense},
    {F8_OP_ADD, "ADD", 2, validate_add},
    {F8_OP_MAXPOOL, "MAXPOOL", 1, validate_maxpool},
    {F8_OP_AVGPOOL, "AVGPOOL", 1, validate_avgpool},
};

/* ---- the common part ------------------------------------------------------------------ */

static const op_kind *find_kind(uint32_t type)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if ((uint32_t)kinds[k].type == type)
            return &kinds[k];
    return NULL;
}

/* Value ids: in range, read only after being written, each written once, never value 0. */
static int value_ids(const op_check *c, uint32_t *writer)
{
    const f8_op_desc *d = c->d;
    const uint32_t nv = c->t->num_values, in0 = d->input0, in1 = d->input1, out = d->output;
    const int two = c->kind->inputs == 2;
    if (in0 >= nv)
        return op_fail(c, "input0 value id %" PRIu32 " out of range (num_values %" PRIu32 ")",
                       in0, nv);
    if (two) {
        if (in1 >= nv)
            return op_fail(c, "input1 value id %" PRIu32 " out of range (num_values %" PRIu32
                           ")", in1, nv);
    } else if (in1 != F8_NO_VALUE) {
        return op_fail(c, "input1 is %" PRIu32 ", must be 0xFFFFFFFF (only ADD has two inputs)",
                       in1);
    }
    if (out >= nv)
        return op_fail(c, "output value id %" PRIu32 " out of range (num_values %" PRIu32 ")",
                       out, nv);
    if (in0 != 0 && writer[in0] == F8_NO_VALUE)
        return op_fail(c, "input0 reads value %" PRIu32 " before any op writes it", in0);
    if (two && in1 != 0 && writer[in1] == F8_NO_VALUE)
        return op_fail(c, "input1 reads value %" PRIu32 " before any op writes it", in1);
    if (out == 0)
        return op_fail(c, "writes value 0, the model input");
    if (writer[out] != F8_NO_VALUE)
        return op_fail(c, "writes value %" PRIu32 ", already written by op %" PRIu32, out,
                       writer[out]);
    writer[out] = c->i;
    return F8_OK;
}

int f8_op_validate(f8_model *m, const f8_op_table *t, uint32_t i, uint32_t *writer, char *err,
                   size_t errlen)
{
    const uint8_t *p = m->data + t->ops_offset + (uint64_t)i * F8_OP_ENTRY_SIZE;
    f8_op_impl *op = &m->ops[i];
    f8_op_desc *d = &op->desc;
    f8_kernel_args *a = &op->args;
    const uint32_t type = rd32(p), flags = rd32(p + 4);
    op_check c = {.m = m, .t = t, .i = i, .kind = find_kind(type), .d = d, .a = a,
                  .tensor = {{"weight", rd64(p + 64), rd64(p + 72)},
                             {"bias", rd64(p + 80), rd64(p + 88)},
                             {"fl_w", rd64(p + 96), rd64(p + 104)}},
                  .alpha = {"alpha", rd64(p + 120), rd32(p + 116)},
                  .err = err, .errlen = errlen};
    int rc;

    if (!c.kind)
        return op_fail(&c, "unknown type %" PRIu32, type);
    d->type = (f8_op_type)type;
    if (flags & ~1u)
        return op_fail(&c, "flags 0x%" PRIx32 ": only bit 0 (RELU) is defined", flags);
    d->relu = (int)(flags & 1u);
    d->input0 = rd32(p + 8);
    d->input1 = rd32(p + 12);
    d->output = rd32(p + 16);
    d->kernel_h = rd32(p + 20);
    d->kernel_w = rd32(p + 24);
    d->stride_h = rd32(p + 28);
    d->stride_w = rd32(p + 32);
    d->pad_top = rd32(p + 36);
    d->pad_left = rd32(p + 40);
    d->pad_bottom = rd32(p + 44);
    d->pad_right = rd32(p + 48);
    d->groups = rd32(p + 52);
    d->weight_bits = p[56];
    d->packing = p[57];
    d->avg_shift = rd32(p + 60);
    d->group_size = rd32(p + 112);
    if (!all_zero(p + 58, 2))
        return op_fail(&c, "reserved bytes 58-59 (after weight_bits and packing) must be 0");
    if (d->weight_bits != F8_TERNARY_BITS && (d->packing || !all_zero(p + 112, 16)))
        return op_fail(&c, "packing and group_size/alpha fields (byte 57, bytes 112-127) must "
                       "be 0 unless weight_bits is 2 (ternary)");
    if ((rc = value_ids(&c, writer)))
        return rc;

    c.x = &m->values[d->input0];
    c.x1 = c.kind->inputs == 2 ? &m->values[d->input1] : NULL;
    c.y = &m->values[d->output];
    a->in0 = *c.x;
    a->in1 = c.x1 ? *c.x1 : (f8_value_desc){0, 0, 0, F8_DTYPE_U8, 0, 0};
    a->out = *c.y;
    a->kernel_h = d->kernel_h;
    a->kernel_w = d->kernel_w;
    a->stride_h = d->stride_h;
    a->stride_w = d->stride_w;
    a->pad_top = d->pad_top;
    a->pad_left = d->pad_left;
    a->pad_bottom = d->pad_bottom;
    a->pad_right = d->pad_right;
    a->groups = d->groups;
    a->avg_shift = d->avg_shift;
    a->relu = d->relu;
    return c.kind->validate(&c);
}
