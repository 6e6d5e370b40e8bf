/*
 * f8d batcher: per-model dynamic batching.
 *
 * Each image of a request is one item. Items wait in the model's bounded queue (a ring of
 * cfg.max_queue pointers, allocated once); a batch leaves when cfg.max_batch items are queued
 * or the oldest has waited cfg.max_delay_ns, and an instance is free (at most cfg.instances
 * batches of a model run at once). A uv_timer on the loop enforces the deadline. A stopping
 * server flushes the queue without waiting.
 *
 * The batch job runs on a libuv worker thread: it decodes each JPEG straight into its row of
 * the instance's input buffer (so decoding never happens on the loop thread), runs f8_run on
 * all the rows at once, and copies each image's logits to its item. Back on the loop (libuv's
 * uv_async under uv_queue_work), the metrics are recorded and each item's request is told;
 * the last item of a request resumes its suspended connection.
 *
 * Nothing here allocates per request: queues, batches and instance buffers are made when
 * the model is loaded.
 */
#ifndef F8D_BATCHER_H
#define F8D_BATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "models.h"

#define F8D_ITEM_ERR_SIZE 200

struct f8d_request;

struct f8d_item {
    struct f8d_request *req;    /* told on the loop when the item is done */
    const uint8_t *data;        /* a JPEG, or image_bytes raw pixels when `raw` */
    size_t len;
    bool raw;
    int32_t *logits;            /* num_classes, owned by the request */
    uint64_t enqueue_ns;
    uint64_t decode_ns;         /* set by the worker */
    unsigned status;            /* 200, or the HTTP status of the error */
    unsigned row;               /* row in the batch (worker) */
    char error[F8D_ITEM_ERR_SIZE];
};

struct f8d_batch {
    uv_work_t work;
    struct f8d_model *model;
    unsigned instance;          /* index in model->instances */
    struct f8d_item **items;    /* cfg.max_batch slots */
    unsigned n;
    unsigned rows;              /* images that reached f8_run */
    uint64_t start_ns, compute_ns;
};

/* Allocates the batch jobs of a loaded model (one per instance). Thread-safe. */
int f8d_batcher_prepare(struct f8d_model *m);
/* Frees what prepare made. */
void f8d_batcher_free(struct f8d_model *m);

/* Loop thread: queues n items (all or none). Returns 0, or 503 when the queue has no room
 * for them (the caller answers 503 + Retry-After). */
unsigned f8d_batcher_submit(struct f8d_model *m, struct f8d_item *items, unsigned n);

/* Loop thread: starts every batch that may start now and re-arms the deadline timer. */
void f8d_batcher_pump(struct f8d_model *m);

/* Loop thread: images queued, and batches running. */
unsigned f8d_batcher_queued(const struct f8d_model *m);
unsigned f8d_batcher_running(const struct f8d_model *m);

/* Maps an f8img error code to the HTTP status a client gets. */
unsigned f8d_decode_status(int f8img_err);

/* Worker side of one batch (exposed for tests): decode, run, copy logits. */
void f8d_batch_run(struct f8d_batch *b);

#endif /* F8D_BATCHER_H */
