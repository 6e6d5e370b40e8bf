/* f8d gRPC ModelInfer requests -> items, outputs, timeout (infer_parse.h). Pure: no gRPC. */
#include "infer_parse.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

static int fail(struct f8d_grpc_infer *in, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct f8d_grpc_infer *in, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->error, sizeof(in->error), fmt, ap);
    va_end(ap);
    in->code = code;
    return code;
}

/* The map entries of requests, outputs and inputs share one layout: key + InferParameter. */
struct param_entry {
    ProtobufCMessage base;
    char *key;
    Inference__InferParameter *value;
};

static const Inference__InferParameter *param(void *const *entries, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const struct param_entry *e = entries[i];
        if (e->key != NULL && strcmp(e->key, key) == 0)
            return e->value;
    }
    return NULL;
}

/* An int64 parameter in [lo, hi] into *out (left as it is when absent). */
static int int_param(struct f8d_grpc_infer *in, void *const *entries, size_t n, const char *key,
                     int64_t lo, int64_t hi, int64_t *out)
{
    const Inference__InferParameter *p = param(entries, n, key);
    if (p == NULL)
        return F8D_OK;
    if (p->parameter_choice_case != INFERENCE__INFER_PARAMETER__PARAMETER_CHOICE_INT64_PARAM ||
        p->int64_param < lo || p->int64_param > hi)
        return fail(in, F8D_EINVAL, "parameter \"%s\" must be an int64_param from %" PRId64
                    " to %" PRId64, key, lo, hi);
    *out = p->int64_param;
    return F8D_OK;
}

static int parse_outputs(struct f8d_grpc_infer *in, const Inference__ModelInferRequest *r,
                         uint32_t classes)
{
    int64_t req_k = 0;
    if (int_param(in, (void *const *)r->parameters, r->n_parameters, "classification", 1,
                  classes, &req_k) != F8D_OK)
        return in->code;
    if (r->n_outputs == 0) {
        in->n_outputs = f8d_outputs_default(in->outputs, (uint32_t)req_k, false);
        return F8D_OK;
    }
    if (r->n_outputs > F8D_MAX_OUTPUTS)
        return fail(in, F8D_EINVAL, "at most %d outputs may be asked for", F8D_MAX_OUTPUTS);
    for (size_t i = 0; i < r->n_outputs; i++) {
        const Inference__ModelInferRequest__InferRequestedOutputTensor *o = r->outputs[i];
        struct f8d_output out;
        if (f8d_output_named(o->name, (uint32_t)req_k, false, &out) != 0)
            return fail(in, F8D_EINVAL, "unknown output '%.64s' (outputs: logits, probabilities)",
                        o->name);
        int64_t k = out.classification;
        if (int_param(in, (void *const *)o->parameters, o->n_parameters, "classification", 1,
                      classes, &k) != F8D_OK)
            return in->code;
        out.classification = (uint32_t)k;
        in->outputs[in->n_outputs++] = out;
    }
    return F8D_OK;
}

static int make_items(struct f8d_grpc_infer *in, uint64_t n, unsigned max_images)
{
    if (n == 0 || n > max_images)
        return fail(in, F8D_EINVAL, "a request holds 1 to %u images (max_queue), not %" PRIu64,
                    max_images, n);
    if ((in->items = calloc(n, sizeof(*in->items))) == NULL)
        return fail(in, F8D_ENOMEM, "out of memory for %" PRIu64 " images", n);
    in->n_items = (unsigned)n;
    return F8D_OK;
}

/* BYTES: N JPEGs, raw (u32 LE length + bytes, N times) or as bytes_contents. */
static int parse_jpegs(struct f8d_grpc_infer *in, const Inference__ModelInferRequest__InferInputTensor *t,
                       const ProtobufCBinaryData *raw, unsigned max_images)
{
    if (!(t->n_shape == 1 || (t->n_shape == 2 && t->shape[1] == 1)) || t->shape[0] < 0)
        return fail(in, F8D_EINVAL, "a BYTES input has shape [N] or [N,1] (one JPEG per image)");
    uint64_t n = (uint64_t)t->shape[0];
    if (make_items(in, n, max_images) != F8D_OK)
        return in->code;
    if (raw != NULL) {
        size_t off = 0;
        for (unsigned i = 0; i < n; i++) {
            if (raw->len - off < 4)
                return fail(in, F8D_EINVAL, "raw_input_contents ends before image %u", i);
            const uint8_t *b = raw->data + off;
            uint32_t l = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            off += 4;
            if (l > raw->len - off)
                return fail(in, F8D_EINVAL, "raw_input_contents ends inside image %u", i);
            in->items[i] = (struct f8d_grpc_item){raw->data + off, l, false};
            off += l;
        }
        if (off != raw->len)
            return fail(in, F8D_EINVAL, "raw_input_contents holds more than %" PRIu64 " images",
                        n);
        return F8D_OK;
    }
    const Inference__InferTensorContents *c = t->contents;
    if (c == NULL || c->n_bytes_contents != n)
        return fail(in, F8D_EINVAL, "a BYTES input of shape [%" PRIu64 "] needs %" PRIu64
                    " bytes_contents (or raw_input_contents)", n, n);
    for (unsigned i = 0; i < n; i++)
        in->items[i] = (struct f8d_grpc_item){c->bytes_contents[i].data, c->bytes_contents[i].len,
                                              false};
    return F8D_OK;
}

/* UINT8: N images of the model's input, raw or as uint_contents. */
static int parse_pixels(struct f8d_grpc_infer *in, const Inference__ModelInferRequest__InferInputTensor *t,
                        const ProtobufCBinaryData *raw, const struct f8d_input_spec *m)
{
    int64_t n, h, w, c;
    if (t->n_shape == 4) {
        n = t->shape[0], h = t->shape[1], w = t->shape[2], c = t->shape[3];
    } else if (t->n_shape == 3) {
        n = 1, h = t->shape[0], w = t->shape[1], c = t->shape[2];
    } else {
        return fail(in, F8D_EINVAL, "a UINT8 input has shape [N,H,W,C]");
    }
    if (h != m->input_h || w != m->input_w || c != m->input_c)
        return fail(in, F8D_EINVAL,
                    "UINT8 input must be [N,%" PRIu32 ",%" PRIu32 ",%" PRIu32 "], got [%" PRId64
                    ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
                    m->input_h, m->input_w, m->input_c, n, h, w, c);
    if (n < 0 || make_items(in, (uint64_t)n, m->max_images) != F8D_OK)
        return n < 0 ? fail(in, F8D_EINVAL, "the image count must not be negative") : in->code;
    size_t image_bytes = (size_t)h * (size_t)w * (size_t)c;
    size_t bytes = (size_t)n * image_bytes;
    const uint8_t *pixels;
    if (raw != NULL) {
        if (raw->len != bytes)
            return fail(in, F8D_EINVAL, "raw_input_contents must be %zu bytes, not %zu", bytes,
                        raw->len);
        pixels = raw->data;
    } else {
        const Inference__InferTensorContents *tc = t->contents;
        if (tc == NULL || tc->n_uint_contents != bytes)
            return fail(in, F8D_EINVAL, "a UINT8 input needs %zu uint_contents from 0 to 255 (or "
                        "raw_input_contents)", bytes);
        if ((in->blob = malloc(bytes)) == NULL)
            return fail(in, F8D_ENOMEM, "out of memory");
        for (size_t i = 0; i < bytes; i++) {
            if (tc->uint_contents[i] > 255)
                return fail(in, F8D_EINVAL, "uint_contents[%zu] = %" PRIu32 " is not a byte", i,
                            tc->uint_contents[i]);
            in->blob[i] = (uint8_t)tc->uint_contents[i];
        }
        pixels = in->blob;
    }
    for (unsigned i = 0; i < in->n_items; i++)
        in->items[i] = (struct f8d_grpc_item){pixels + (size_t)i * image_bytes, image_bytes, true};
    return F8D_OK;
}

int f8d_grpc_parse_infer(const Inference__ModelInferRequest *r, const struct f8d_input_spec *spec,
                         struct f8d_grpc_infer *out)
{
    memset(out, 0, sizeof(*out));
    if (parse_outputs(out, r, spec->num_classes) != F8D_OK)
        return out->code;
    int64_t timeout = 0;
    if (int_param(out, (void *const *)r->parameters, r->n_parameters, "timeout", 1,
                  INT64_MAX / 1000, &timeout) != F8D_OK)
        return out->code;
    out->timeout_us = (uint64_t)timeout;
    if (r->n_inputs != 1)
        return fail(out, F8D_EINVAL, "a request has exactly one input (image_bytes: BYTES, or "
                    "image: UINT8), not %zu", r->n_inputs);
    const Inference__ModelInferRequest__InferInputTensor *t = r->inputs[0];
    const ProtobufCBinaryData *raw = NULL;
    if (r->n_raw_input_contents > 1)
        return fail(out, F8D_EINVAL, "raw_input_contents must hold one entry per input (1), not "
                    "%zu", r->n_raw_input_contents);
    if (r->n_raw_input_contents == 1) {
        raw = &r->raw_input_contents[0];
        if (t->contents != NULL)
            return fail(out, F8D_EINVAL, "an input's data goes in contents or in "
                        "raw_input_contents, not both");
    }
    if (strcmp(t->datatype, "BYTES") == 0)
        return parse_jpegs(out, t, raw, spec->max_images);
    if (strcmp(t->datatype, "UINT8") == 0)
        return parse_pixels(out, t, raw, spec);
    return fail(out, F8D_EINVAL, "input datatype must be BYTES (JPEG images) or UINT8 (pixels), "
                "not '%.32s'", t->datatype);
}

void f8d_grpc_infer_clear(struct f8d_grpc_infer *in)
{
    free(in->items);
    free(in->blob);
    in->items = NULL;
    in->blob = NULL;
    in->n_items = 0;
}
