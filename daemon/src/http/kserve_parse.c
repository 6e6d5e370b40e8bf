/*
 * f8d KServe v2 request parsing (kserve_parse.h): JSON header + binary tail -> outputs and
 * items, or an F8D_E* code with a message. No MHD, no server: handlers_infer.c calls it on a
 * worker thread, fuzz/fuzz_kserve.c calls it on fuzzed bodies.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "core/errors.h"
#include "kserve_parse.h"

static int fail(struct f8d_kserve_request *in, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct f8d_kserve_request *in, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->error, sizeof(in->error), fmt, ap);
    va_end(ap);
    in->code = code;
    return -1;
}

static int get_uint(json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Classification count from a "parameters" object: 0 if absent, -1 if bad. */
static int classification_of(struct f8d_kserve_request *in, json_t *params, uint32_t classes,
                             uint32_t *k)
{
    if (params == NULL)
        return 0;
    if (!json_is_object(params))
        return fail(in, F8D_EINVAL, "\"parameters\" must be an object");
    json_t *c = json_object_get(params, "classification");
    if (c == NULL)
        return 0;
    uint64_t v;
    if (get_uint(c, classes, &v) != 0 || v == 0)
        return fail(in, F8D_EINVAL, "\"classification\" must be an integer from 1 to %" PRIu32,
                    classes);
    *k = (uint32_t)v;
    return 0;
}

/* "binary_data": true on an output (or "binary_data_output": true on the request). */
static int binary_of(struct f8d_kserve_request *in, json_t *params, const char *key, bool *out)
{
    json_t *b = params ? json_object_get(params, key) : NULL;
    if (b == NULL)
        return 0;
    if (!json_is_boolean(b))
        return fail(in, F8D_EINVAL, "\"%s\" must be true or false", key);
    *out = json_is_true(b);
    return 0;
}

/* "timeout": microseconds (Triton's request parameter), 0 when absent. */
static int timeout_of(struct f8d_kserve_request *in, json_t *params)
{
    json_t *t = params ? json_object_get(params, "timeout") : NULL;
    uint64_t v;
    if (t == NULL)
        return 0;
    if (get_uint(t, UINT64_MAX / 1000, &v) != 0 || v == 0)
        return fail(in, F8D_EINVAL, "\"timeout\" must be a positive integer (microseconds)");
    in->timeout_us = v;
    return 0;
}

static int parse_outputs(struct f8d_kserve_request *in, json_t *root, uint32_t classes)
{
    uint32_t req_k = 0;
    bool req_bin = false;
    if (classification_of(in, json_object_get(root, "parameters"), classes, &req_k) != 0 ||
        binary_of(in, json_object_get(root, "parameters"), "binary_data_output", &req_bin) != 0)
        return -1;
    json_t *outs = json_object_get(root, "outputs");
    if (outs == NULL || (json_is_array(outs) && json_array_size(outs) == 0)) {
        in->n_outputs = f8d_outputs_default(in->outputs, req_k, req_bin);
        return 0;
    }
    if (!json_is_array(outs) || json_array_size(outs) > F8D_MAX_OUTPUTS)
        return fail(in, F8D_EINVAL, "\"outputs\" must be an array of at most %d objects",
                    F8D_MAX_OUTPUTS);
    size_t i;
    json_t *o;
    json_array_foreach(outs, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        if (!json_is_object(o) || name == NULL)
            return fail(in, F8D_EINVAL, "each output needs a \"name\"");
        struct f8d_output r;
        if (f8d_output_named(name, req_k, req_bin, &r) != 0)
            return fail(in, F8D_EINVAL, "unknown output '%.64s' (outputs: logits, probabilities)",
                        name);
        if (classification_of(in, json_object_get(o, "parameters"), classes,
                              &r.classification) != 0 ||
            binary_of(in, json_object_get(o, "parameters"), "binary_data", &r.binary) != 0)
            return -1;
        in->outputs[in->n_outputs++] = r;
    }
    return 0;
}

/* Counts the leaves of a (possibly nested) JSON array; -1 if a leaf is not `pred`. */
static long long count_leaves(json_t *a, int (*pred)(const json_t *), int depth)
{
    if (depth > 8)
        return -1;
    if (!json_is_array(a))
        return pred(a) ? 1 : -1;
    long long n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        long long c = count_leaves(v, pred, depth + 1);
        if (c < 0)
            return -1;
        n += c;
    }
    return n;
}

static int is_string(const json_t *v) { return json_is_string(v); }
static int is_byte(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255;
}

/* Visits the leaves in order. */
static void leaves(json_t *a, void (*f)(json_t *, void *), void *arg)
{
    if (!json_is_array(a)) {
        f(a, arg);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) leaves(v, f, arg);
}

struct fill {
    uint8_t *p;
    size_t used;
};

static void fill_byte(json_t *v, void *arg)
{
    struct fill *f = arg;
    f->p[f->used++] = (uint8_t)json_integer_value(v);
}

struct b64ctx {
    struct f8d_kserve_request *in;
    uint8_t *p;
    size_t used;
    unsigned i;
    int bad;
};

static void fill_b64(json_t *v, void *arg)
{
    struct b64ctx *c = arg;
    if (c->bad)
        return;
    size_t n = f8d_base64_decode(json_string_value(v), json_string_length(v), c->p + c->used);
    if (n == (size_t)-1) {
        c->bad = (int)c->i + 1;
        return;
    }
    c->in->items[c->i].data = c->p + c->used;
    c->in->items[c->i].len = n;
    c->used += n;
    c->i++;
}

static void sum_len(json_t *v, void *arg)
{
    *(size_t *)arg += json_string_length(v);
}

static int shape_of(struct f8d_kserve_request *in, json_t *input, uint64_t dims[4],
                    size_t *ndims)
{
    json_t *shape = json_object_get(input, "shape");
    if (!json_is_array(shape) || json_array_size(shape) == 0 || json_array_size(shape) > 4)
        return fail(in, F8D_EINVAL, "input \"shape\" must be an array of 1 to 4 integers");
    *ndims = json_array_size(shape);
    for (size_t i = 0; i < *ndims; i++) {
        if (get_uint(json_array_get(shape, i), 1u << 30, &dims[i]) != 0)
            return fail(in, F8D_EINVAL, "input \"shape\" must hold non-negative integers");
    }
    return 0;
}

/* Allocates n items. */
static int make_items(struct f8d_kserve_request *in, unsigned n)
{
    if ((in->items = calloc(n, sizeof(*in->items))) == NULL)
        return fail(in, F8D_ENOMEM, "out of memory for %u images", n);
    in->n_items = n;
    return 0;
}

/* The binary section after the JSON: [bin, bin + bin_len). */
static int parse_input(struct f8d_kserve_request *in, const struct f8d_input_spec *m,
                       json_t *input, const uint8_t *bin, size_t bin_len)
{
    unsigned max_images = m->max_images;
    size_t image_bytes = (size_t)m->input_h * m->input_w * m->input_c;

    const char *dt = json_string_value(json_object_get(input, "datatype"));
    if (!json_is_object(input) || dt == NULL)
        return fail(in, F8D_EINVAL, "each input needs \"name\", \"datatype\", \"shape\" and \"data\"");
    uint64_t dims[4] = {0, 0, 0, 0};
    size_t nd = 0;
    if (shape_of(in, input, dims, &nd) != 0)
        return -1;
    json_t *params = json_object_get(input, "parameters");
    json_t *bds = params ? json_object_get(params, "binary_data_size") : NULL;
    uint64_t bin_size = 0;
    if (bds != NULL && (get_uint(bds, bin_len, &bin_size) != 0 || bin_size != bin_len))
        return fail(in, F8D_EINVAL, "binary_data_size must equal the %zu bytes after the JSON header",
                    bin_len);
    json_t *data = json_object_get(input, "data");
    if (bds == NULL && data == NULL)
        return fail(in, F8D_EINVAL, "input has no \"data\" (and no binary_data_size)");

    if (strcmp(dt, "BYTES") == 0) {
        if (!(nd == 1 || (nd == 2 && dims[1] == 1)))
            return fail(in, F8D_EINVAL, "a BYTES input has shape [N] or [N,1] (one JPEG per image)");
        uint64_t n = dims[0];
        if (n == 0 || n > max_images)
            return fail(in, F8D_EINVAL, "a request holds 1 to %u images (max_queue), not %" PRIu64,
                        max_images, n);
        if (make_items(in, (unsigned)n) != 0)
            return -1;
        if (bds != NULL) { /* u32 LE length + bytes, n times, pointing into the body */
            size_t off = 0;
            for (unsigned i = 0; i < n; i++) {
                if (bin_len - off < 4)
                    return fail(in, F8D_EINVAL, "binary data ends before image %u", i);
                uint32_t l = (uint32_t)bin[off] | (uint32_t)bin[off + 1] << 8 |
                             (uint32_t)bin[off + 2] << 16 | (uint32_t)bin[off + 3] << 24;
                off += 4;
                if (l > bin_len - off)
                    return fail(in, F8D_EINVAL, "binary data ends inside image %u", i);
                in->items[i].data = bin + off;
                in->items[i].len = l;
                off += l;
            }
            if (off != bin_len)
                return fail(in, F8D_EINVAL, "binary data holds more than %" PRIu64 " images", n);
            return 0;
        }
        json_t *strings = NULL; /* the data array, built once its length is known to be n */
        if (in->scan.data_end != 0) {
            long long k = f8d_json_span_strings(in->json, in->scan.data_start, in->scan.data_end,
                                                n);
            if (k < 0 || (uint64_t)k != n)
                return fail(in, F8D_EINVAL, "BYTES \"data\" must hold %" PRIu64 " base64 strings",
                            n);
            json_error_t jerr;
            strings = json_loadb(in->json + in->scan.data_start,
                                 in->scan.data_end - in->scan.data_start, 0, &jerr);
            if (strings == NULL)
                return fail(in, F8D_EINVAL, "malformed JSON in the BYTES \"data\": %s", jerr.text);
            data = strings;
        }
        int rc = 0;
        long long leaves_n = count_leaves(data, is_string, 0);
        size_t text = 0;
        if (leaves_n < 0 || (uint64_t)leaves_n != n) {
            rc = fail(in, F8D_EINVAL, "BYTES \"data\" must hold %" PRIu64 " base64 strings", n);
        } else {
            leaves(data, sum_len, &text);
            in->blob = malloc(text / 4 * 3 + 3);
            if (in->blob == NULL)
                rc = fail(in, F8D_ENOMEM, "out of memory");
        }
        if (rc == 0) {
            struct b64ctx c = {in, in->blob, 0, 0, 0};
            leaves(data, fill_b64, &c);
            if (c.bad)
                rc = fail(in, F8D_EINVAL, "image %d of the BYTES input is not valid base64",
                          c.bad - 1);
        }
        json_decref(strings);
        return rc;
    }
    if (strcmp(dt, "UINT8") == 0) {
        uint64_t n, h, w, c;
        if (nd == 4) {
            n = dims[0], h = dims[1], w = dims[2], c = dims[3];
        } else if (nd == 3) {
            n = 1, h = dims[0], w = dims[1], c = dims[2];
        } else {
            return fail(in, F8D_EINVAL, "a UINT8 input has shape [N,H,W,C]");
        }
        if (h != m->input_h || w != m->input_w || c != m->input_c)
            return fail(in, F8D_EINVAL,
                        "UINT8 input must be [N,%" PRIu32 ",%" PRIu32 ",%" PRIu32 "], got [%" PRIu64
                        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]",
                        m->input_h, m->input_w, m->input_c, n, h, w, c);
        if (n == 0 || n > max_images)
            return fail(in, F8D_EINVAL, "a request holds 1 to %u images (max_queue), not %" PRIu64,
                        max_images, n);
        size_t bytes = (size_t)n * image_bytes;
        if (make_items(in, (unsigned)n) != 0)
            return -1;
        const uint8_t *pixels;
        if (bds != NULL) {
            if (bin_len != bytes)
                return fail(in, F8D_EINVAL, "binary data must be %zu bytes", bytes);
            pixels = bin;
        } else {
            /* counted before the buffer is allocated; read from the text when the scanner
             * found the array (always, unless "data" is not an array) */
            bool span = in->scan.data_end != 0;
            long long leaves_n = span ? f8d_json_span_bytes(in->json, in->scan.data_start,
                                                            in->scan.data_end, NULL, bytes)
                                      : count_leaves(data, is_byte, 0);
            if (leaves_n < 0 || (uint64_t)leaves_n != bytes)
                return fail(in, F8D_EINVAL, "UINT8 \"data\" must hold %zu integers from 0 to 255",
                            bytes);
            in->blob = malloc(bytes);
            if (in->blob == NULL)
                return fail(in, F8D_ENOMEM, "out of memory");
            if (span) {
                f8d_json_span_bytes(in->json, in->scan.data_start, in->scan.data_end, in->blob,
                                    bytes);
            } else {
                struct fill f = {in->blob, 0};
                leaves(data, fill_byte, &f);
            }
            pixels = in->blob;
        }
        for (unsigned i = 0; i < n; i++) {
            in->items[i].raw = true;
            in->items[i].data = pixels + (size_t)i * image_bytes;
            in->items[i].len = image_bytes;
        }
        return 0;
    }
    return fail(in, F8D_EINVAL, "unsupported datatype '%.32s' (BYTES: JPEG images; UINT8: pixels)",
                dt);
}

/* The whole request: JSON header (all of the body, or header_len bytes of it), then outputs
 * and the one input. */
static int parse_request(struct f8d_kserve_request *in, const uint8_t *body, size_t body_len,
                         long long header_len, const struct f8d_input_spec *m)
{
    size_t json_len = body_len;
    if (header_len >= 0) {
        if ((unsigned long long)header_len > body_len)
            return fail(in, F8D_EINVAL, "Inference-Header-Content-Length %lld is over the body's %zu "
                                 "bytes", header_len, body_len);
        json_len = (size_t)header_len;
    }
    /* The scanner checks the syntax and bounds the values jansson will build; the input's
     * "data" array is then read from the text by parse_input, and jansson sees "[]". */
    in->json = (const char *)body;
    int src = f8d_json_scan(in->json, json_len, F8D_JSON_MAX_VALUES, &in->scan);
    if (src == F8D_JSON_SCAN_SYNTAX)
        return fail(in, F8D_EINVAL, "malformed JSON at line %d column %d: %s", in->scan.line,
                    in->scan.column, in->scan.error);
    if (src == F8D_JSON_SCAN_TOO_MANY)
        return fail(in, F8D_EINVAL, "the JSON request holds more than %u values besides the "
                    "input's \"data\" array", F8D_JSON_MAX_VALUES);
    json_error_t jerr;
    json_t *root = f8d_json_load(in->json, json_len, &in->scan, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(in, F8D_EINVAL, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    int rc = -1;
    json_t *inputs = json_object_get(root, "inputs");
    json_t *id = json_object_get(root, "id");
    if (!json_is_object(root)) {
        fail(in, F8D_EINVAL, "the request must be a JSON object");
    } else if (id != NULL && !json_is_string(id)) {
        fail(in, F8D_EINVAL, "\"id\" must be a string");
    } else if (!json_is_array(inputs) || json_array_size(inputs) != 1) {
        fail(in, F8D_EINVAL, "\"inputs\" must be an array holding one input (the image)");
    } else if (parse_outputs(in, root, m->num_classes) == 0 &&
               timeout_of(in, json_object_get(root, "parameters")) == 0) {
        if (id != NULL && (in->id = strdup(json_string_value(id))) == NULL)
            fail(in, F8D_ENOMEM, "out of memory");
        else
            rc = parse_input(in, m, json_array_get(inputs, 0), body + json_len,
                             body_len - json_len);
    }
    json_decref(root);
    return rc;
}

int f8d_kserve_parse(const uint8_t *body, size_t body_len, long long header_len,
                     const struct f8d_input_spec *model, struct f8d_kserve_request *out)
{
    memset(out, 0, sizeof(*out));
    if (parse_request(out, body, body_len, header_len, model) != 0 && out->code == F8D_OK)
        fail(out, F8D_EINVAL, "invalid request");
    return out->code;
}

void f8d_kserve_request_free(struct f8d_kserve_request *r)
{
    free(r->id);
    free(r->blob);
    free(r->items);
    r->id = NULL;
    r->blob = NULL;
    r->items = NULL;
    r->n_items = 0;
}
