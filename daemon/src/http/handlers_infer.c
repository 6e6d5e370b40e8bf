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
 * The JSON is parsed and the base64 decoded on a worker thread (the connection suspended),
 * after inflating a gzip or deflate body (Content-Encoding, as tritonclient's
 * request_compression_algorithm sends) within max_body_bytes; each image then goes to the
 * model's batcher as its own item, so the N images of a request are batched together with
 * other requests' images.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/background.h"
#include "core/bytes.h"
#include "core/errors.h"
#include "core/scores.h"
#include "core/server.h"
#include "handlers.h"
#include "json_reply.h"
#include "kserve_parse.h"

struct f8d_infer {
    long long header_len;    /* Inference-Header-Content-Length, -1 if absent */
    struct f8d_kserve_request parsed; /* outputs, id, blob; items copied into core.items */
};

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
    f8d_kserve_request_free(&in->parsed);
    free(in);
    req->infer = NULL;
}

/* ---- parsing (worker thread): kserve_parse.c, then the items for the batcher ------------ */

static void parse_work(struct f8d_bg_job *w)
{
    struct f8d_http_request *req = w->data;
    struct f8d_kserve_request *p = &req->infer->parsed;
    const struct f8d_model *m = req->core.model;
    if (req->coding != F8D_CODING_IDENTITY) {
        f8d_http_decode_body(req);
        if (req->decoded.code != F8D_OK) {
            p->code = req->decoded.code;
            snprintf(p->error, sizeof(p->error), "%s", req->decoded.message);
            return;
        }
    }
    struct f8d_input_spec km = {m->info->input_h, m->info->input_w, m->info->input_c,
                                  m->info->num_classes, m->cfg.max_queue};
    if (f8d_kserve_parse(req->body, req->body_len, req->infer->header_len, &km, p) != F8D_OK)
        return;
    if (f8d_request_alloc_items(&req->core, p->n_items) != F8D_OK) {
        p->code = F8D_ENOMEM;
        snprintf(p->error, sizeof(p->error), "out of memory for %u images", p->n_items);
        return;
    }
    for (unsigned i = 0; i < p->n_items; i++) {
        req->core.items[i].data = p->items[i].data;
        req->core.items[i].len = p->items[i].len;
        req->core.items[i].raw = p->items[i].raw;
    }
}

/* The "timeout" parameter counts from the request's first byte. */
static void set_deadline(struct f8d_http_request *req)
{
    uint64_t t = req->infer->parsed.timeout_us;
    if (t != 0)
        req->core.deadline_ns = req->start_ns + t * 1000u;
}

static void parse_done(struct f8d_bg_job *w)
{
    struct f8d_http_request *req = w->data;
    struct f8d_kserve_request *in = &req->infer->parsed;

    if (in->code != F8D_OK) {
        f8d_request_fail(&req->core, in->code, "%s", in->error);
    } else if (req->core.cancelled) {
        f8d_request_fail(&req->core, F8D_ECANCELED, "the client went away");
    } else {
        set_deadline(req);
        if (f8d_http_submit(req) == F8D_OK)
            return; /* queued: the completion resumes the request */
    }
    f8d_http_resume(req);
}

static json_t *output_json(const struct f8d_http_request *req, const struct f8d_output *o,
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
                char text[512];
                f8d_output_class(text, sizeof(text), o->kind, probs[j], lg[idx[j]],
                                 m->info->output_fl, idx[j], f8_model_label(m->model, idx[j]));
                json_array_append_new(data, f8d_json_string(text));
            }
        } else if (o->kind == F8D_OUT_LOGITS) {
            for (uint32_t j = 0; j < c; j++)
                json_array_append_new(data, json_integer(lg[j]));
        } else {
            f8d_softmax(lg, c, m->info->output_fl, probs);
            for (uint32_t j = 0; j < c; j++)
                json_array_append_new(data, json_real((double)(float)probs[j]));
        }
    }
    uint32_t cols = o->classification ? o->classification : c;
    const char *dt = o->classification ? "BYTES" : (o->kind == F8D_OUT_LOGITS ? "INT32" : "FP32");
    json_t *out = json_pack("{s:s, s:s, s:[I,I], s:o}", "name", o->name, "datatype", dt,
                            "shape", (json_int_t)n, (json_int_t)cols, "data", data);
    if (out != NULL && o->kind == F8D_OUT_LOGITS && !o->classification)
        json_object_set_new(out, "parameters",
                            json_pack("{s:i}", "fractional_length", m->info->output_fl));
    return out;
}

/* Moves an output's "data" into b as the binary tensor extension lays it out (INT32 and
 * FP32 little-endian, BYTES as u32 little-endian length + bytes) and records its size. */
static void to_binary(json_t *out, struct f8d_bytes *b)
{
    json_t *data = json_object_get(out, "data");
    const char *dt = json_string_value(json_object_get(out, "datatype"));
    size_t start = b->len, i;
    json_t *v;
    json_array_foreach(data, i, v) {
        if (strcmp(dt, "INT32") == 0) {
            f8d_bytes_put_u32(b, (uint32_t)(int32_t)json_integer_value(v));
        } else if (strcmp(dt, "FP32") == 0) {
            float f = (float)json_real_value(v);
            uint32_t u;
            memcpy(&u, &f, 4);
            f8d_bytes_put_u32(b, u);
        } else {
            f8d_bytes_put_string(b, json_string_value(v), json_string_length(v));
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
    const struct f8d_kserve_request *in = &req->infer->parsed;
    uint32_t c = req->core.model->info->num_classes;
    double *probs = malloc(c * sizeof(double));
    uint32_t *idx = malloc(c * sizeof(uint32_t));
    json_t *outs = (probs && idx) ? json_array() : NULL;
    struct f8d_bytes bin = {NULL, 0, 0, false};
    for (unsigned i = 0; outs != NULL && i < in->n_outputs; i++) {
        json_t *o = output_json(req, &in->outputs[i], probs, idx);
        if (o != NULL && in->outputs[i].binary)
            to_binary(o, &bin);
        json_array_append_new(outs, o);
    }
    free(probs);
    free(idx);
    json_t *body = outs ? json_pack("{s:o, s:s, s:o}", "model_name",
                                    f8d_json_string(req->core.model->name), "model_version",
                                    req->core.model->version,
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
    f8d_background_queue(&s->background, &req->work, parse_work, parse_done, req);
    f8d_http_suspend(req);
    return MHD_YES;
}
