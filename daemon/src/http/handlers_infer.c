/*
 * POST /v2/models/{model}[/versions/1]/infer: KServe v2 / Open Inference Protocol, JSON.
 *
 *   {"id":"a","parameters":{"classification":3},
 *    "inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[2],
 *               "data":["<base64 JPEG>","<base64 JPEG>"]}],
 *    "outputs":[{"name":"logits","parameters":{"classification":3}}]}
 *
 * Inputs (exactly one):
 *   BYTES  shape [N] or [N,1]: N JPEGs, base64 strings in "data", or, with the binary tensor
 *          extension (Inference-Header-Content-Length), "parameters":{"binary_data_size":B}
 *          and B bytes after the JSON holding N times (u32 little-endian length, bytes).
 *   UINT8  shape [N,H,W,C] (or [H,W,C]) equal to the model's input: raw pixels, as a JSON
 *          array (flat or nested) or as binary data.
 * Outputs: "logits" (INT32 [N,classes]) and "probabilities" (FP32 [N,classes]); both when
 * none are named. With "classification":K (on the output, or on the request) the output is
 * BYTES [N,K] of "score:index:label", best first (Triton's classification extension).
 *
 * The JSON is parsed and the base64 decoded on a worker thread (the connection suspended);
 * each image then goes to the model's batcher as its own item, so the N images of a request
 * are batched together with other requests' images.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "core/background.h"
#include "core/errors.h"
#include "core/scores.h"
#include "core/server.h"
#include "handlers.h"
#include "json_reply.h"
#include "json_scan.h"

#define MAX_OUTPUTS 4

enum out_kind { OUT_LOGITS = 1, OUT_PROBS = 2 };

struct out_req {
    enum out_kind kind;
    const char *name; /* static */
    uint32_t classification; /* 0 = plain tensor */
    bool binary;             /* binary tensor extension: data after the JSON */
};

struct f8d_infer {
    long long header_len;    /* Inference-Header-Content-Length, -1 if absent */
    char *id;                /* echoed, or NULL */
    uint8_t *blob;           /* decoded images / pixels */
    struct out_req outputs[MAX_OUTPUTS];
    unsigned n_outputs;
    const char *json;        /* the JSON text while parsing, and where its input's */
    struct f8d_json_scan scan; /* "data" array is (read from the text, not by jansson) */
    int code;                /* parse result: F8D_OK, or what was wrong */
    char error[F8D_ERR_SIZE];
};

static int fail(struct f8d_infer *in, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct f8d_infer *in, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->error, sizeof(in->error), fmt, ap);
    va_end(ap);
    in->code = code;
    return -1;
}

void f8d_infer_begin(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    req->infer = calloc(1, sizeof(*req->infer));
    if (req->infer == NULL) {
        f8d_request_fail(&req->core, F8D_ENOMEM, "out of memory");
        return;
    }
    req->infer->header_len = -1;
    const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                "Inference-Header-Content-Length");
    if (h != NULL) {
        char *end;
        long long v = strtoll(h, &end, 10);
        if (end == h || *end != '\0' || v < 0) {
            f8d_request_fail(&req->core, F8D_EINVAL,
                             "Inference-Header-Content-Length must be a length, got '%.32s'", h);
            return;
        }
        req->infer->header_len = v;
    }
    long long len = f8d_http_content_length(req);
    if (len > 0 && (uint64_t)len > s->opts.max_body_bytes)
        f8d_request_fail(&req->core, F8D_ETOOBIG, "body of %lld bytes is over the limit of %" PRIu64 " bytes",
                         len, s->opts.max_body_bytes);
}

void f8d_infer_release(struct f8d_http_request *req)
{
    struct f8d_infer *in = req->infer;
    if (in == NULL)
        return;
    free(in->id);
    free(in->blob);
    free(in);
    req->infer = NULL;
}

/* ---- parsing (worker thread) ---------------------------------------------------------- */

static int get_uint(json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Classification count from a "parameters" object: 0 if absent, -1 if bad. */
static int classification_of(struct f8d_infer *in, json_t *params, uint32_t classes,
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
static int binary_of(struct f8d_infer *in, json_t *params, const char *key, bool *out)
{
    json_t *b = params ? json_object_get(params, key) : NULL;
    if (b == NULL)
        return 0;
    if (!json_is_boolean(b))
        return fail(in, F8D_EINVAL, "\"%s\" must be true or false", key);
    *out = json_is_true(b);
    return 0;
}

static int parse_outputs(struct f8d_infer *in, json_t *root, uint32_t classes)
{
    uint32_t req_k = 0;
    bool req_bin = false;
    if (classification_of(in, json_object_get(root, "parameters"), classes, &req_k) != 0 ||
        binary_of(in, json_object_get(root, "parameters"), "binary_data_output", &req_bin) != 0)
        return -1;
    json_t *outs = json_object_get(root, "outputs");
    if (outs == NULL || (json_is_array(outs) && json_array_size(outs) == 0)) {
        if (req_k != 0) {
            in->outputs[0] = (struct out_req){OUT_PROBS, "probabilities", req_k, req_bin};
            in->n_outputs = 1;
        } else {
            in->outputs[0] = (struct out_req){OUT_LOGITS, "logits", 0, req_bin};
            in->outputs[1] = (struct out_req){OUT_PROBS, "probabilities", 0, req_bin};
            in->n_outputs = 2;
        }
        return 0;
    }
    if (!json_is_array(outs) || json_array_size(outs) > MAX_OUTPUTS)
        return fail(in, F8D_EINVAL, "\"outputs\" must be an array of at most %d objects", MAX_OUTPUTS);
    size_t i;
    json_t *o;
    json_array_foreach(outs, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        if (!json_is_object(o) || name == NULL)
            return fail(in, F8D_EINVAL, "each output needs a \"name\"");
        struct out_req r = {0, NULL, req_k, req_bin};
        if (strcmp(name, "logits") == 0)
            r = (struct out_req){OUT_LOGITS, "logits", req_k, req_bin};
        else if (strcmp(name, "probabilities") == 0)
            r = (struct out_req){OUT_PROBS, "probabilities", req_k, req_bin};
        else
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
    struct f8d_http_request *req;
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
    c->req->core.items[c->i].data = c->p + c->used;
    c->req->core.items[c->i].len = n;
    c->used += n;
    c->i++;
}

static void sum_len(json_t *v, void *arg)
{
    *(size_t *)arg += json_string_length(v);
}

static int shape_of(struct f8d_infer *in, json_t *input, uint64_t dims[4], size_t *ndims)
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

/* Allocates n items and their logits. */
static int make_items(struct f8d_http_request *req, unsigned n)
{
    if (f8d_request_alloc_items(&req->core, n) != F8D_OK)
        return fail(req->infer, F8D_ENOMEM, "out of memory for %u images", n);
    return 0;
}

/* The binary section after the JSON: [bin, bin + bin_len). */
static int parse_input(struct f8d_http_request *req, json_t *input, const uint8_t *bin,
                       size_t bin_len)
{
    struct f8d_infer *in = req->infer;
    const struct f8d_model *m = req->core.model;
    const f8_model_info *info = m->info;
    unsigned max_images = m->cfg.max_queue;

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
        if (make_items(req, (unsigned)n) != 0)
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
                req->core.items[i].data = bin + off;
                req->core.items[i].len = l;
                off += l;
            }
            if (off != bin_len)
                return fail(in, F8D_EINVAL, "binary data holds more than %" PRIu64 " images", n);
            return 0;
        }
        json_t *strings = NULL; /* the data array, built once its length is known to be n */
        if (in->scan.data_end != 0) {
            long long k = f8d_json_span_strings(in->json, in->scan.data_start, in->scan.data_end, n);
            if (k < 0 || (uint64_t)k != n)
                return fail(in, F8D_EINVAL, "BYTES \"data\" must hold %" PRIu64 " base64 strings", n);
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
            struct b64ctx c = {req, in->blob, 0, 0, 0};
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
        if (h != info->input_h || w != info->input_w || c != info->input_c)
            return fail(in, F8D_EINVAL,
                        "UINT8 input must be [N,%" PRIu32 ",%" PRIu32 ",%" PRIu32 "], got [%" PRIu64
                        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]",
                        info->input_h, info->input_w, info->input_c, n, h, w, c);
        if (n == 0 || n > max_images)
            return fail(in, F8D_EINVAL, "a request holds 1 to %u images (max_queue), not %" PRIu64,
                        max_images, n);
        size_t bytes = (size_t)n * m->image_bytes;
        if (make_items(req, (unsigned)n) != 0)
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
            req->core.items[i].raw = true;
            req->core.items[i].data = pixels + (size_t)i * m->image_bytes;
            req->core.items[i].len = m->image_bytes;
        }
        return 0;
    }
    return fail(in, F8D_EINVAL, "unsupported datatype '%.32s' (BYTES: JPEG images; UINT8: pixels)",
                dt);
}

/* The whole request: JSON header (all of the body, or Inference-Header-Content-Length
 * bytes of it), then outputs and the one input. */
static int parse_request(struct f8d_http_request *req)
{
    struct f8d_infer *in = req->infer;
    size_t json_len = req->body_len;
    if (in->header_len >= 0) {
        if ((unsigned long long)in->header_len > req->body_len)
            return fail(in, F8D_EINVAL, "Inference-Header-Content-Length %lld is over the body's %zu "
                                 "bytes", in->header_len, req->body_len);
        json_len = (size_t)in->header_len;
    }
    /* The scanner checks the syntax and bounds the values jansson will build; the input's
     * "data" array is then read from the text by parse_input, and jansson sees "[]". */
    in->json = (const char *)req->body;
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
    } else if (parse_outputs(in, root, req->core.model->info->num_classes) == 0) {
        if (id != NULL && (in->id = strdup(json_string_value(id))) == NULL)
            fail(in, F8D_ENOMEM, "out of memory");
        else
            rc = parse_input(req, json_array_get(inputs, 0), req->body + json_len,
                             req->body_len - json_len);
    }
    json_decref(root);
    return rc;
}

static void parse_work(uv_work_t *w)
{
    struct f8d_http_request *req = w->data;
    f8d_background_thread();
    if (parse_request(req) != 0 && req->infer->code == F8D_OK)
        fail(req->infer, F8D_EINVAL, "invalid request");
}

static void parse_done(uv_work_t *w, int status)
{
    struct f8d_http_request *req = w->data;
    struct f8d_infer *in = req->infer;

    if (status != 0)
        f8d_request_fail(&req->core, F8D_ECANCELED, "the request was cancelled");
    else if (in->code != F8D_OK)
        f8d_request_fail(&req->core, in->code, "%s", in->error);
    else if (req->core.cancelled)
        f8d_request_fail(&req->core, F8D_ECANCELED, "the client went away");
    else if (f8d_http_submit(req) == F8D_OK)
        return; /* queued: the completion resumes the request */
    f8d_http_resume(req);
}

/* "score:index:label", Triton's classification format. */
static json_t *class_string(const struct f8d_model *m, double score, uint32_t idx)
{
    char text[512];
    const char *label = f8_model_label(m->model, idx);
    snprintf(text, sizeof(text), "%.6f:%" PRIu32 ":%s", score, idx, label ? label : "");
    return f8d_json_string(text);
}

static json_t *output_json(const struct f8d_http_request *req, const struct out_req *o,
                           double *probs, uint32_t *idx)
{
    const struct f8d_model *m = req->core.model;
    uint32_t c = m->info->num_classes;
    unsigned n = req->core.n_items;
    json_t *data = json_array();
    for (unsigned i = 0; data != NULL && i < n; i++) {
        const int32_t *lg = req->core.logits + (size_t)i * c;
        if (o->classification != 0) {
            uint32_t k = f8d_scores_top_k(lg, c, m->info->output_fl, o->classification, idx,
                                          probs);
            for (uint32_t j = 0; j < k; j++) {
                double v = o->kind == OUT_LOGITS ? ldexp((double)lg[idx[j]], -m->info->output_fl)
                                                 : probs[j];
                json_array_append_new(data, class_string(m, v, idx[j]));
            }
        } else if (o->kind == OUT_LOGITS) {
            for (uint32_t j = 0; j < c; j++)
                json_array_append_new(data, json_integer(lg[j]));
        } else {
            f8d_softmax(lg, c, m->info->output_fl, probs);
            for (uint32_t j = 0; j < c; j++)
                json_array_append_new(data, json_real((double)(float)probs[j]));
        }
    }
    uint32_t cols = o->classification ? o->classification : c;
    const char *dt = o->classification ? "BYTES" : (o->kind == OUT_LOGITS ? "INT32" : "FP32");
    json_t *out = json_pack("{s:s, s:s, s:[I,I], s:o}", "name", o->name, "datatype", dt,
                            "shape", (json_int_t)n, (json_int_t)cols, "data", data);
    if (out != NULL && o->kind == OUT_LOGITS && !o->classification)
        json_object_set_new(out, "parameters",
                            json_pack("{s:i}", "fractional_length", m->info->output_fl));
    return out;
}

struct bin {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void bin_put(struct bin *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->cap + n) * 2;
        uint8_t *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* Moves an output's "data" into b as the binary tensor extension lays it out (INT32 and
 * FP32 little-endian, BYTES as u32 little-endian length + bytes) and records its size. */
static void to_binary(json_t *out, struct bin *b)
{
    json_t *data = json_object_get(out, "data");
    const char *dt = json_string_value(json_object_get(out, "datatype"));
    size_t start = b->len, i;
    json_t *v;
    json_array_foreach(data, i, v) {
        if (strcmp(dt, "INT32") == 0) {
            int32_t x = (int32_t)json_integer_value(v);
            uint8_t le[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16),
                             (uint8_t)((uint32_t)x >> 24)};
            bin_put(b, le, 4);
        } else if (strcmp(dt, "FP32") == 0) {
            float f = (float)json_real_value(v);
            uint32_t u;
            memcpy(&u, &f, 4);
            uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16),
                             (uint8_t)(u >> 24)};
            bin_put(b, le, 4);
        } else {
            uint32_t n = (uint32_t)json_string_length(v);
            uint8_t le[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
                             (uint8_t)(n >> 24)};
            bin_put(b, le, 4);
            bin_put(b, json_string_value(v), n);
        }
    }
    json_object_del(out, "data");
    json_t *params = json_object_get(out, "parameters");
    if (params == NULL) {
        params = json_object();
        json_object_set_new(out, "parameters", params);
    }
    json_object_set_new(params, "binary_data_size", json_integer((json_int_t)(b->len - start)));
}

static enum MHD_Result answer(struct f8d_http_request *req)
{
    if (req->core.err.code != F8D_OK)
        return f8d_reply_failure(req);
    const struct f8d_infer *in = req->infer;
    uint32_t c = req->core.model->info->num_classes;
    double *probs = malloc(c * sizeof(double));
    uint32_t *idx = malloc(c * sizeof(uint32_t));
    json_t *outs = (probs && idx) ? json_array() : NULL;
    struct bin bin = {NULL, 0, 0, false};
    for (unsigned i = 0; outs != NULL && i < in->n_outputs; i++) {
        json_t *o = output_json(req, &in->outputs[i], probs, idx);
        if (o != NULL && in->outputs[i].binary)
            to_binary(o, &bin);
        json_array_append_new(outs, o);
    }
    free(probs);
    free(idx);
    json_t *body = outs ? json_pack("{s:o, s:s, s:o}", "model_name",
                                    f8d_json_string(req->core.model->name), "model_version", "1",
                                    "outputs", outs)
                        : NULL;
    if (body != NULL && in->id != NULL)
        json_object_set_new(body, "id", f8d_json_string(in->id));
    if (bin.p == NULL && !bin.failed)
        return f8d_reply_json(req, 200, body);
    /* binary tensor extension: the JSON header, then the outputs' bytes */
    char *text = (body && !bin.failed) ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6))
                                       : NULL;
    json_decref(body);
    size_t hlen = text ? strlen(text) : 0;
    char *all = text ? malloc(hlen + bin.len) : NULL;
    if (all != NULL) {
        memcpy(all, text, hlen);
        memcpy(all + hlen, bin.p, bin.len);
    }
    free(text);
    free(bin.p);
    if (all == NULL)
        return f8d_reply_error(req, F8D_ENOMEM, "out of memory");
    return f8d_reply_binary(req, 200, all, hlen + bin.len, hlen);
}

enum MHD_Result f8d_infer_finish(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    if (req->phase == F8D_PHASE_DONE)
        return answer(req);
    if (req->phase != F8D_PHASE_BODY)
        return MHD_YES; /* not called while suspended */
    if (req->body_len == 0)
        return f8d_reply_error(req, F8D_EINVAL, "empty body: send a JSON inference request");
    req->phase = F8D_PHASE_PARSING;
    req->work.data = req;
    int rc = uv_queue_work(&s->loop, &req->work, parse_work, parse_done);
    if (rc != 0)
        return f8d_reply_error(req, F8D_ENOMEM, "cannot queue the request: %s", uv_strerror(rc));
    f8d_http_suspend(req);
    return MHD_YES;
}
