/*
 * f8d request: the state of one HTTP request, from MHD's first access-handler call to its
 * "completed" notification (MHD's con_cls). Owned by the loop thread, except `job`, which a
 * worker owns while work_in_flight is set.
 */
#ifndef F8D_REQUEST_H
#define F8D_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "router.h"
#include "worker.h"

struct MHD_Connection;
struct f8d_server;
struct f8d_model;

struct f8d_request {
    struct f8d_server *server;
    struct MHD_Connection *conn;
    uint64_t start_ns;
    char method[16];
    char *path;                  /* for the log line */
    struct f8d_route route;
    struct f8d_model *model;

    unsigned status;             /* status of the queued response; 0 = none yet */
    char note[F8D_ERR_SIZE];     /* error message sent, for the log */

    /* An error known before the body is read: answered once the body is drained. */
    unsigned deferred_status;
    char deferred_error[F8D_ERR_SIZE];
    uint64_t discarded;          /* body bytes thrown away while draining */

    /* predictions */
    uint32_t top_k;
    uint8_t *body;
    size_t body_len, body_cap;
    bool submitted;              /* handed to a worker (connection suspended) */
    bool done;                   /* worker finished: job holds the answer */
    uv_work_t work;
    struct f8d_job job;
    void *job_buffers;           /* logits, indices, scores (one allocation) */
};

#endif /* F8D_REQUEST_H */
