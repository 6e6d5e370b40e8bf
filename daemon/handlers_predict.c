/*
 * POST|PUT /predictions/{model}[?top_k=N]: the body is a JPEG; the answer is
 *   {"model":"fashion","predictions":[{"label":"Trouser","index":1,"score":0.97},...]}
 *
 * Headers are checked first (top_k, Content-Type, Content-Length against --max-body-bytes),
 * the body is collected (413 as soon as it grows past the limit), then the connection is
 * suspended and the decode + inference job goes to a worker thread. Back on the loop, the
 * connection is resumed, MHD is run, and MHD calls the handler again: the answer goes out.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http_loop.h"
#include "json_reply.h"
#include "log.h"
#include "media.h"
#include "server.h"

void f8d_predict_begin(struct f8d_request *req)
{
    struct f8d_server *s = req->server;
    const f8_model_info *info = req->model->info;
    const char *top_k = NULL;
    size_t top_k_len = 0;
    char err[F8D_ERR_SIZE];

    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, "top_k", 5, &top_k,
                                      &top_k_len) == MHD_YES &&
        top_k == NULL)
        top_k = ""; /* "?top_k" without a value */
    if (f8d_parse_top_k(top_k, info->num_classes, &req->top_k) != 0) {
        f8d_request_fail(req, 400, "top_k must be an integer from 1 to %" PRIu32 ", got '%.32s'",
                         info->num_classes, top_k);
        return;
    }
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    unsigned status = (unsigned)f8d_content_type_check(ct, err, sizeof(err));
    if (status != 0) {
        f8d_request_fail(req, status, "%s", err);
        return;
    }
    long long len = f8d_request_content_length(req);
    if (len > 0 && (uint64_t)len > s->opts.max_body_bytes) {
        f8d_request_fail(req, 413, "body of %lld bytes is over the limit of %" PRIu64 " bytes",
                         len, s->opts.max_body_bytes);
        return;
    }
}

enum MHD_Result f8d_predict_data(struct f8d_request *req, const char *data, size_t size)
{
    uint64_t max = req->server->opts.max_body_bytes;

    if ((uint64_t)req->body_len + size > max) {
        f8d_request_fail(req, 413, "body is over the limit of %" PRIu64 " bytes", max);
        req->discarded = 0; /* drain up to another max_body_bytes, then close */
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return MHD_YES;
    }
    if (req->body_len + size > req->body_cap) {
        /* The announced length (bounded by max above) is the exact size; chunked uploads
         * grow by doubling. */
        long long announced = f8d_request_content_length(req);
        size_t need = req->body_len + size;
        size_t cap;
        if (announced > 0 && (uint64_t)announced <= max && (size_t)announced >= need) {
            cap = (size_t)announced;
        } else {
            cap = req->body_cap ? req->body_cap * 2 : 64 * 1024;
            if (cap < need)
                cap = need;
            if (cap > max)
                cap = (size_t)max;
        }
        uint8_t *grown = realloc(req->body, cap);
        if (grown == NULL) {
            f8d_request_fail(req, 503, "out of memory for a body of %zu bytes",
                             req->body_len + size);
            return MHD_YES;
        }
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    return MHD_YES;
}

static void work_cb(uv_work_t *work)
{
    struct f8d_request *req = work->data;
    f8d_job_run(&req->job);
}

static void after_work_cb(uv_work_t *work, int status)
{
    struct f8d_request *req = work->data;
    struct f8d_server *s = req->server;

    s->work_in_flight--;
    req->done = true;
    if (status != 0) { /* UV_ECANCELED: we never cancel, but answer sensibly */
        req->job.status = 503;
        snprintf(req->job.error, sizeof(req->job.error), "prediction was cancelled");
    }
    free(req->body); /* the worker is done with it */
    req->body = NULL;
    req->body_len = req->body_cap = 0;
    if (req->conn == NULL) {
        f8d_request_free(req); /* the connection went away meanwhile */
    } else {
        MHD_resume_connection(req->conn);
    }
    /* A resumed connection waits for the next MHD_run; we are on the loop, outside MHD. */
    f8d_http_run(s);
}

static enum MHD_Result submit(struct f8d_request *req)
{
    struct f8d_server *s = req->server;
    const f8_model_info *info = req->model->info;
    size_t n = info->num_classes, k = req->top_k;

    /* logits (n s32), then scores (k doubles), then indices (k u32) */
    req->job_buffers = malloc(n * sizeof(int32_t) + k * sizeof(double) + k * sizeof(uint32_t) +
                              sizeof(double));
    if (req->job_buffers == NULL)
        return f8d_reply_error(req, 503, "out of memory");
    uint8_t *p = req->job_buffers;
    size_t scores_off = (n * sizeof(int32_t) + sizeof(double) - 1) / sizeof(double) *
                        sizeof(double);
    req->job = (struct f8d_job){
        .model = req->model->model,
        .pool = &req->model->pool,
        .body = req->body,
        .body_len = req->body_len,
        .max_pixels = s->opts.max_pixels,
        .top_k = req->top_k,
        .logits = (int32_t *)(void *)p,
        .scores = (double *)(void *)(p + scores_off),
        .indices = (uint32_t *)(void *)(p + scores_off + k * sizeof(double)),
    };
    req->work.data = req;
    int rc = uv_queue_work(&s->loop, &req->work, work_cb, after_work_cb);
    if (rc != 0)
        return f8d_reply_error(req, 503, "cannot queue the prediction: %s", uv_strerror(rc));
    s->work_in_flight++;
    req->submitted = true;
    MHD_suspend_connection(req->conn);
    return MHD_YES;
}

static enum MHD_Result answer(struct f8d_request *req)
{
    const struct f8d_job *job = &req->job;
    if (job->status != 200)
        return f8d_reply_error(req, job->status, "%s", job->error);

    json_t *preds = json_array();
    for (uint32_t i = 0; preds != NULL && i < job->count; i++) {
        uint32_t idx = job->indices[i];
        const char *label = f8_model_label(req->model->model, idx);
        char fallback[16];
        if (label == NULL) {
            snprintf(fallback, sizeof(fallback), "%" PRIu32, idx);
            label = fallback;
        }
        json_array_append_new(preds, json_pack("{s:o, s:I, s:f}", "label",
                                               f8d_json_string(label), "index",
                                               (json_int_t)idx, "score", job->scores[i]));
    }
    json_t *body = json_pack("{s:o, s:o}", "model", f8d_json_string(req->model->name),
                             "predictions", preds);
    return f8d_reply_json(req, 200, body);
}

enum MHD_Result f8d_predict_finish(struct f8d_request *req)
{
    if (req->done)
        return answer(req);
    if (req->submitted)
        return MHD_YES; /* not called while suspended; nothing to do until the worker is back */
    if (req->body_len == 0)
        return f8d_reply_error(req, 400, "empty body: send a JPEG image as the request body");
    enum f8d_media media = f8d_media_sniff(req->body, req->body_len);
    if (media != F8D_MEDIA_JPEG && media != F8D_MEDIA_UNKNOWN)
        return f8d_reply_error(req, 415, "the body is a %s image; only JPEG is supported",
                               f8d_media_name(media));
    return submit(req);
}

void f8d_predict_release(struct f8d_request *req)
{
    free(req->body);
    req->body = NULL;
    free(req->job_buffers);
    req->job_buffers = NULL;
}
