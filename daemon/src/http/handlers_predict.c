/*
 * POST|PUT /predictions/{model}[?top_k=N]: the body is a JPEG; the answer is
 *   {"model":"fashion","predictions":[{"label":"Trouser","index":1,"score":0.97},...]}
 *
 * Headers are checked first (top_k, Content-Type, Content-Length against max_body_bytes),
 * the body is collected (413 as soon as it grows past the limit; a gzip or deflate body is
 * inflated on the background pool, 413 when it decodes past the limit), then the image is queued
 * on the model's batcher and the connection suspended (503 + Retry-After at once when the
 * queue is full). When its batch is done the connection is resumed, MHD calls the handler
 * again, and the answer goes out.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/background.h"
#include "core/errors.h"
#include "core/scores.h"
#include "core/server.h"
#include "handlers.h"
#include "json_out.h"
#include "json_reply.h"
#include "media.h"

void f8d_predict_begin(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    const f8_model_info *info = req->core.model->info;
    const char *top_k = NULL;
    size_t top_k_len = 0;
    char err[F8D_ERR_SIZE];

    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, "top_k", 5, &top_k,
                                      &top_k_len) == MHD_YES &&
        top_k == NULL)
        top_k = ""; /* "?top_k" without a value */
    if (f8d_parse_top_k(top_k, info->num_classes, &req->top_k) != 0) {
        f8d_request_fail(&req->core, F8D_EINVAL, "top_k must be an integer from 1 to %" PRIu32 ", got '%.32s'",
                         info->num_classes, top_k);
        return;
    }
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (f8d_content_type_check(ct, err, sizeof(err)) != 0) {
        f8d_request_fail(&req->core, F8D_EMEDIA, "%s", err);
        return;
    }
    long long len = f8d_http_content_length(req);
    if (len > 0 && (uint64_t)len > s->opts.max_body_bytes) {
        f8d_request_fail(&req->core, F8D_ETOOBIG, "body of %lld bytes is over the limit of %" PRIu64 " bytes",
                         len, s->opts.max_body_bytes);
        return;
    }
}

static enum MHD_Result answer(struct f8d_http_request *req)
{
    if (req->core.err.code != F8D_OK)
        return f8d_reply_failure(req);

    const struct f8d_model *m = req->core.model;
    uint32_t n = m->info->num_classes, k = req->top_k;
    uint32_t indices[F8D_INLINE_LOGITS];
    double scores[F8D_INLINE_LOGITS];
    uint32_t *idx = indices;
    double *sc = scores;
    if (k > F8D_INLINE_LOGITS) {
        idx = malloc(k * sizeof(*idx));
        sc = malloc(k * sizeof(*sc));
    }
    /* written straight out (json_out.h): this answer goes out on every request */
    struct f8d_bytes out = {.failed = idx == NULL || sc == NULL};
    uint32_t count = out.failed ? 0 : f8d_scores_top_k(req->core.logits, n, m->info->output_fl,
                                                        k, idx, sc);
    f8d_json_out_raw(&out, "{\"model\":");
    f8d_json_out_string(&out, m->name);
    f8d_json_out_raw(&out, ",\"predictions\":[");
    for (uint32_t i = 0; i < count; i++) {
        const char *label = f8_model_label(m->model, idx[i]);
        char fallback[16];
        if (label == NULL) {
            snprintf(fallback, sizeof(fallback), "%" PRIu32, idx[i]);
            label = fallback;
        }
        f8d_json_out_raw(&out, i ? ",{\"label\":" : "{\"label\":");
        f8d_json_out_string(&out, label);
        f8d_json_out_raw(&out, ",\"index\":");
        f8d_json_out_uint(&out, idx[i]);
        f8d_json_out_raw(&out, ",\"score\":");
        f8d_json_out_real6(&out, sc[i]);
        f8d_json_out_raw(&out, "}");
    }
    f8d_json_out_raw(&out, "]}\n");
    if (idx != indices)
        free(idx);
    if (sc != scores)
        free(sc);
    if (out.failed) {
        free(out.p);
        return MHD_NO; /* out of memory: MHD closes the connection */
    }
    return f8d_reply_buffer(req, 200, "application/json", (char *)out.p, out.len);
}

/* The body, now a JPEG or something else, becomes the request's one item on the model's
 * batcher. Returns F8D_OK (queued, the connection suspended) or the error recorded. */
static int submit_image(struct f8d_http_request *req)
{
    if (req->body_len == 0)
        return f8d_request_fail(&req->core, F8D_EINVAL,
                                "empty body: send a JPEG image as the request body");
    enum f8d_media media = f8d_media_sniff(req->body, req->body_len);
    if (media != F8D_MEDIA_JPEG && media != F8D_MEDIA_UNKNOWN)
        return f8d_request_fail(&req->core, F8D_EMEDIA,
                                "the body is a %s image; only JPEG is supported",
                                f8d_media_name(media));
    if (f8d_request_alloc_items(&req->core, 1) != F8D_OK)
        return req->core.err.code;
    req->core.items[0].data = req->body;
    req->core.items[0].len = req->body_len;
    return f8d_http_submit(req);
}

/* A gzip or deflate body is inflated on the background pool, then submitted from the loop. */
static void decode_work(struct f8d_bg_job *w)
{
    f8d_http_decode_body(w->data);
}

static void decode_done(struct f8d_bg_job *w)
{
    struct f8d_http_request *req = w->data;
    if (req->decoded.code != F8D_OK)
        f8d_request_fail(&req->core, req->decoded.code, "%s", req->decoded.message);
    else if (req->core.cancelled)
        f8d_request_fail(&req->core, F8D_ECANCELED, "the client went away");
    else if (submit_image(req) == F8D_OK)
        return; /* queued: the completion resumes the request */
    f8d_http_resume(req);
}

enum MHD_Result f8d_predict_finish(struct f8d_http_request *req)
{
    if (req->phase == F8D_PHASE_DONE)
        return answer(req);
    if (req->phase != F8D_PHASE_BODY)
        return MHD_YES; /* not called while suspended */
    if (req->coding != F8D_CODING_IDENTITY && req->body_len > 0) {
        req->phase = F8D_PHASE_PARSING;
        f8d_background_queue(&req->server->background, &req->work, decode_work, decode_done,
                             req);
        f8d_http_suspend(req);
        return MHD_YES;
    }
    if (submit_image(req) != F8D_OK)
        return f8d_reply_failure(req);
    return MHD_YES;
}
