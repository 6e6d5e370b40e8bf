/* f8d request: the protocol-free life cycle (items, one error slot, completion callback). */
#include "request.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "batcher.h"
#include "errors.h"
#include "metrics.h"
#include "models.h"
#include "pool.h"
#include "predecode.h"

void f8d_request_init(struct f8d_request *req, f8d_request_done_cb on_done, void *owner)
{
    memset(req, 0, sizeof(*req));
    req->on_done = on_done;
    req->owner = owner;
}

void f8d_request_set_model(struct f8d_request *req, struct f8d_model *m)
{
    if (m != NULL)
        f8d_model_ref(m);
    if (req->model != NULL)
        f8d_model_unref(req->model);
    req->model = m;
}

int f8d_request_fail(struct f8d_request *req, int code, const char *fmt, ...)
{
    assert(code < 0);
    if (req->err.code != F8D_OK)
        return req->err.code; /* the first error found is the one answered */
    req->err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->err.message, sizeof(req->err.message), fmt, ap);
    va_end(ap);
    return code;
}

int f8d_request_alloc_items(struct f8d_request *req, unsigned n)
{
    assert(req->model != NULL && req->items == NULL && n > 0);
    uint32_t c = req->model->info->num_classes;
    if (n == 1) {
        req->items = &req->one;
    } else if ((req->items = calloc(n, sizeof(*req->items))) == NULL) {
        return f8d_request_fail(req, F8D_ENOMEM, "out of memory for %u images", n);
    }
    if ((size_t)n * c <= F8D_INLINE_LOGITS)
        req->logits = req->inline_logits;
    else if ((req->logits = calloc((size_t)n * c, sizeof(int32_t))) == NULL)
        return f8d_request_fail(req, F8D_ENOMEM, "out of memory for %u images", n);
    memset(req->items, 0, n * sizeof(*req->items));
    req->n_items = n;
    for (unsigned i = 0; i < n; i++) {
        req->items[i].req = req;
        req->items[i].logits = req->logits + (size_t)i * c;
    }
    return F8D_OK;
}

int f8d_request_submit(struct f8d_request *req)
{
    struct f8d_model *m = req->model;
    assert(m != NULL && req->n_items > 0 && req->pending == 0);
    /* Refused here rather than dropped by the batcher during this call: on_done must never
     * run before submit has returned F8D_OK. */
    if (req->deadline_ns != 0 && uv_hrtime() >= req->deadline_ns)
        return f8d_request_fail(req, F8D_EDEADLINE, "the deadline passed before the request "
                                "was queued");
    req->pending = req->n_items;
    int rc = f8d_predecode_wanted(req) ? f8d_predecode_submit(req)
                                       : f8d_batcher_submit(&m->batcher, req->items, req->n_items);
    if (rc == F8D_ENOMEM) {
        req->pending = 0;
        return f8d_request_fail(req, rc, "out of memory for %u images", req->n_items);
    }
    if (rc != F8D_OK) {
        req->pending = 0;
        if (m->metrics != NULL) /* every front end's overload counts */
            m->metrics->rejected_queue_full++;
        return f8d_request_fail(req, rc,
                                "model '%s' is overloaded: %u images queued (max_queue); retry "
                                "later",
                                m->name, m->cfg.max_queue);
    }
    return F8D_OK;
}

void f8d_request_cancel(struct f8d_request *req)
{
    if (req->cancelled)
        return;
    req->cancelled = true;
    if (req->pending > 0)
        f8d_batcher_drop_cancelled(&req->model->batcher);
}

/* The first failed image fails the request. */
static void fold_item_errors(struct f8d_request *req)
{
    for (unsigned i = 0; i < req->n_items; i++) {
        const struct f8d_item *it = &req->items[i];
        if (it->err == F8D_OK)
            continue;
        if (req->n_items > 1)
            f8d_request_fail(req, it->err, "image %u of %u: %s", i, req->n_items, it->message);
        else
            f8d_request_fail(req, it->err, "%s", it->message);
        return;
    }
}

void f8d_request_item_done(struct f8d_item *item)
{
    struct f8d_request *req = item->req;
    assert(req->pending > 0); /* told once per item, on the loop thread */
    F8D_ASSERT_LOOP_THREAD(req->model->batcher.pool);
    if (--req->pending > 0)
        return;
    fold_item_errors(req);
    req->on_done(req);
}

void f8d_request_release(struct f8d_request *req)
{
    assert(req->pending == 0); /* a worker may still hold its items */
    for (unsigned i = 0; req->items != NULL && i < req->n_items; i++) {
        free(req->items[i].decoded);
        req->items[i].decoded = NULL;
    }
    if (req->items != NULL && req->items != &req->one)
        free(req->items);
    req->items = NULL;
    if (req->logits != NULL && req->logits != req->inline_logits)
        free(req->logits);
    req->logits = NULL;
    req->n_items = 0;
    f8d_request_set_model(req, NULL);
}
