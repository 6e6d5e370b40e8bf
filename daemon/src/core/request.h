/*
 * f8d request: the state of one HTTP request, from MHD's first access-handler call to its
 * "completed" notification (MHD's con_cls). Owned by the loop thread; while the connection is
 * suspended, a worker may own the parts its job names (the body for an infer parse job, the
 * items for a batch), and the loop does not touch them.
 *
 * Request structs are recycled through a free list on the server (with their body buffer when
 * it is small), so a request on the hot path allocates nothing.
 */
#ifndef F8D_REQUEST_H
#define F8D_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "batcher.h"
#include "http/router.h"

#define F8D_ERR_SIZE 256
#define F8D_REQUEST_ID_MAX 64
#define F8D_INLINE_LOGITS 64

struct MHD_Connection;
struct f8d_server;
struct f8d_model;
struct f8d_infer;

enum f8d_phase {
    F8D_PHASE_BODY = 0,   /* headers seen, body being read */
    F8D_PHASE_PARSING,    /* infer: JSON being parsed on a worker (suspended) */
    F8D_PHASE_QUEUED,     /* items queued or running (suspended) */
    F8D_PHASE_DONE        /* answer ready to send */
};

struct f8d_request {
    struct f8d_server *server;
    struct MHD_Connection *conn;
    struct f8d_request *next_free;
    uint64_t start_ns;
    char method[16];
    char path[256];              /* for the log line (truncated) */
    char id[F8D_REQUEST_ID_MAX + 1];
    struct f8d_route route;
    struct f8d_model *model;     /* a reference, dropped when the request is freed */

    unsigned status;             /* status of the queued response; 0 = none yet */
    bool close_after;            /* answer with Connection: close (MHD then closes) */
    char note[F8D_ERR_SIZE];     /* error message sent, for the log */

    /* An error known before the body is read: answered once the body is drained. */
    unsigned deferred_status;
    char deferred_error[F8D_ERR_SIZE];
    uint64_t discarded;          /* body bytes thrown away while draining */
    uint64_t body_received;      /* body bytes MHD has handed over, kept or not */

    uint8_t *body;
    size_t body_len, body_cap;

    enum f8d_phase phase;
    bool suspended;
    bool counted;                /* in server->work_in_flight */
    uint32_t top_k;

    /* images: one inline item for /predictions, an array for infer */
    struct f8d_item one;
    struct f8d_item *items;
    unsigned n_items;
    unsigned pending;            /* items not back yet */
    int32_t *logits;             /* n_items * num_classes */
    int32_t inline_logits[F8D_INLINE_LOGITS];

    /* an error found after the body (parse, queue full): answered when DONE */
    unsigned fail_status;
    char fail_error[F8D_ERR_SIZE];

    uv_work_t work;              /* infer parse job */
    struct f8d_infer *infer;     /* parsed infer request (handlers_infer.c) */
};

#endif /* F8D_REQUEST_H */
