/* f8d pre-decoding of large JPEGs off the inference workers (predecode.h). */
#include "predecode.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "f8img.h"

#include "background.h"
#include "batch.h"
#include "batcher.h"
#include "errors.h"
#include "metrics.h"
#include "models.h"
#include "pool.h"
#include "request.h"

struct predecode {
    struct f8d_bg_job job;
    struct f8d_item *item;
    /* read by the job (the model and the item are held by the request meanwhile) */
    const uint8_t *jpeg;
    size_t len;
    uint32_t h, w, c;
    uint64_t max_pixels;
    size_t bytes;
    /* written by the job */
    uint8_t *pixels;
    int err;
    char message[F8D_ITEM_ERR_SIZE];
    uint64_t ns;
};

bool f8d_predecode_wanted(const struct f8d_request *req)
{
    if (req->model->batcher.pool->background == NULL)
        return false; /* no background pool (a test's core): the workers decode */
    for (unsigned i = 0; i < req->n_items; i++)
        if (!req->items[i].raw && req->items[i].len >= F8D_PREDECODE_BYTES)
            return true;
    return false;
}

static void decode_work(struct f8d_bg_job *job)
{
    struct predecode *p = job->data;
    uint64_t t0 = uv_hrtime();
    f8img_decoder *d = NULL;
    p->pixels = malloc(p->bytes ? p->bytes : 1);
    if (p->pixels == NULL || f8img_decoder_create(&d) != 0) {
        p->err = F8D_ENOMEM;
        snprintf(p->message, sizeof(p->message), "out of memory to decode the image");
    } else {
        char err[F8D_ITEM_ERR_SIZE] = "";
        int rc = f8img_decode_to_input(d, p->jpeg, p->len, p->h, p->w, p->c, p->max_pixels,
                                       p->pixels, err, sizeof(err));
        if (rc != 0) {
            p->err = f8d_decode_error(rc);
            snprintf(p->message, sizeof(p->message), "%s", err[0] ? err : f8img_strerror(rc));
        }
    }
    if (d != NULL)
        f8img_decoder_destroy(d);
    p->ns = uv_hrtime() - t0;
}

static void fail(struct f8d_item *it, int code, const char *msg)
{
    it->err = code;
    snprintf(it->message, sizeof(it->message), "%s", msg);
    f8d_request_item_done(it);
}

static void decode_done(struct f8d_bg_job *job)
{
    struct predecode *p = job->data;
    struct f8d_item *it = p->item;
    struct f8d_request *req = it->req;
    struct f8d_model *m = req->model;
    it->decode_ns = p->ns;
    if (req->cancelled) {
        if (m->metrics != NULL)
            m->metrics->dropped_cancelled++;
        fail(it, F8D_ECANCELED, "the request was cancelled");
    } else if (req->deadline_ns != 0 && uv_hrtime() >= req->deadline_ns) {
        if (m->metrics != NULL)
            m->metrics->dropped_deadline++;
        fail(it, F8D_EDEADLINE, "the deadline passed while the image was decoded");
    } else if (p->err != F8D_OK) {
        fail(it, p->err, p->message);
    } else {
        it->decoded = p->pixels; /* the request frees it */
        p->pixels = NULL;
        it->data = it->decoded;
        it->len = p->bytes;
        it->raw = true;
        if (f8d_batcher_submit(&m->batcher, it, 1) != F8D_OK) {
            if (m->metrics != NULL)
                m->metrics->rejected_queue_full++;
            fail(it, F8D_EOVERLOAD, "the model's queue filled up while the image was decoded");
        }
    }
    free(p->pixels);
    free(p);
}

int f8d_predecode_submit(struct f8d_request *req)
{
    struct f8d_model *m = req->model;
    if (f8d_batcher_room(&m->batcher) < req->n_items)
        return F8D_EOVERLOAD;
    /* every job first: a failure leaves nothing started, so on_done never runs in here */
    struct predecode **jobs = calloc(req->n_items, sizeof(*jobs));
    bool ok = jobs != NULL;
    for (unsigned i = 0; ok && i < req->n_items; i++) {
        if (req->items[i].raw)
            continue;
        ok = (jobs[i] = calloc(1, sizeof(**jobs))) != NULL;
    }
    if (!ok) {
        for (unsigned i = 0; jobs != NULL && i < req->n_items; i++)
            free(jobs[i]);
        free(jobs);
        return F8D_ENOMEM;
    }
    struct f8d_background *bg = m->batcher.pool->background;
    for (unsigned i = 0; i < req->n_items; i++) {
        struct f8d_item *it = &req->items[i];
        if (it->raw) {
            int rc = f8d_batcher_submit(&m->batcher, it, 1); /* room was checked */
            assert(rc == F8D_OK);
            (void)rc;
            continue;
        }
        struct predecode *p = jobs[i];
        p->item = it;
        p->jpeg = it->data;
        p->len = it->len;
        p->h = m->info->input_h;
        p->w = m->info->input_w;
        p->c = m->info->input_c;
        p->max_pixels = m->cfg.max_pixels;
        p->bytes = m->image_bytes;
        f8d_background_queue(bg, &p->job, decode_work, decode_done, p);
    }
    free(jobs);
    return F8D_OK;
}
