/*
 * f8d request: one inference request as the core sees it, whatever protocol brought it.
 *
 * A front end (HTTP today, gRPC next) fills one in: the model (a reference), the images as
 * items, an optional deadline, and the completion callback it wants called. The core runs the
 * items through the model's batcher and the inference pool and calls `on_done` on the loop
 * thread once every item is back (or at once when the request fails before that), with the
 * logits written and `err` saying what went wrong, if anything. A front end that loses its
 * client calls f8d_request_cancel: items not yet taken by a worker are dropped, not decoded,
 * not run.
 *
 * Errors: one slot per request (`err`: an F8D_E* code and a message), set through
 * f8d_request_fail, first error wins. A failed image fails the request ("image 2 of 3: ...").
 *
 * Threads: loop thread only, except the items' fields a worker writes while it holds them
 * (batch.h).
 */
#ifndef F8D_REQUEST_H
#define F8D_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define F8D_ERR_SIZE 256
#define F8D_ITEM_ERR_SIZE 200
#define F8D_INLINE_LOGITS 64

struct f8d_model;
struct f8d_request;

/* What went wrong: code F8D_OK (0) while nothing did. */
struct f8d_error {
    int code;
    char message[F8D_ERR_SIZE];
};

/* One image of a request. The loop thread owns it, except while a worker holds its batch. */
struct f8d_item {
    struct f8d_request *req;
    struct f8d_item *next;      /* a list the batcher keeps for a moment */
    const uint8_t *data;        /* a JPEG, or the model's input bytes when `raw` */
    size_t len;
    bool raw;
    int32_t *logits;            /* num_classes of them, in the request's buffer */
    uint8_t *decoded;           /* pre-decoded pixels (predecode.h) that `data` points at,
                                 * freed with the request; NULL otherwise */
    uint64_t enqueue_ns;
    uint64_t decode_ns;         /* set by the worker */
    unsigned row;               /* row in the batch (worker) */
    int err;                    /* F8D_OK, or what failed (set by the worker or the batcher) */
    char message[F8D_ITEM_ERR_SIZE];
};

typedef void (*f8d_request_done_cb)(struct f8d_request *req);

struct f8d_request {
    struct f8d_model *model;    /* a reference, dropped by f8d_request_release */
    struct f8d_item *items;
    unsigned n_items;
    unsigned pending;           /* items queued or running: > 0 from submit to on_done */
    int32_t *logits;            /* n_items * num_classes */
    uint64_t deadline_ns;       /* uv_hrtime() after which queued items are dropped; 0: none */
    bool cancelled;
    struct f8d_error err;
    f8d_request_done_cb on_done;
    void *owner;                /* the front end's state for this request */
    struct f8d_request *next_waiter; /* a reload's list of requests to answer (server.c) */

    struct f8d_item one;        /* one image needs no allocation */
    int32_t inline_logits[F8D_INLINE_LOGITS];
};

/* Clears the request and sets its completion callback. */
void f8d_request_init(struct f8d_request *req, f8d_request_done_cb on_done, void *owner);

/* Takes a reference to `m` for the request (dropping any earlier one). */
void f8d_request_set_model(struct f8d_request *req, struct f8d_model *m);

/* Records an error unless one is recorded already (the first error is the one answered).
 * Returns the request's error code. */
int f8d_request_fail(struct f8d_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Makes room for n images and their logits (the model must be set). Returns F8D_OK or
 * F8D_ENOMEM (recorded). */
int f8d_request_alloc_items(struct f8d_request *req, unsigned n);

/* Queues every item on the model's batcher. F8D_OK: on_done will be called, after this
 * returns. Otherwise (F8D_EOVERLOAD, F8D_EDEADLINE: recorded, nothing queued) it will not. */
int f8d_request_submit(struct f8d_request *req);

/* The client is gone: items still queued are dropped (F8D_ECANCELED); on_done is still called
 * once the items a worker holds are back. */
void f8d_request_cancel(struct f8d_request *req);

/* Batcher side: one item is back (or dropped); the last one completes the request. */
void f8d_request_item_done(struct f8d_item *item);

/* Frees the items and logits and drops the model reference; the struct may be reused. */
void f8d_request_release(struct f8d_request *req);

#endif /* F8D_REQUEST_H */
