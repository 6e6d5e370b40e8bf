/*
 * f8d HTTP request: the HTTP front end's state for one request, from MHD's first access-handler
 * call to its "completed" notification (MHD's con_cls), around the protocol-free core request
 * (core/request.h) it hands to the batcher.
 *
 * Owned by the loop thread; while the connection is suspended, a worker may own the parts its
 * job names (the body for an infer parse job, the items for a batch), and the loop does not
 * touch them. Errors live in one place, the core request's slot (`core.err`): an error found
 * before the body is answered once the body is drained; one found after it when the request
 * is DONE. Only http_status.c turns its code into an HTTP status.
 *
 * Structs are recycled through a free list on the server (with their body buffer when it is
 * small), so a request on the hot path allocates nothing.
 */
#ifndef F8D_HTTP_REQUEST_H
#define F8D_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "content_coding.h"
#include "core/background.h"
#include "core/request.h"
#include "router.h"

#define F8D_REQUEST_ID_MAX 64

struct MHD_Connection;
struct f8d_server;
struct f8d_infer;

enum f8d_phase {
    F8D_PHASE_BODY = 0,   /* headers seen, body being read */
    F8D_PHASE_PARSING,    /* infer: JSON being parsed on a worker (suspended) */
    F8D_PHASE_QUEUED,     /* items queued or running, or a reload (suspended) */
    F8D_PHASE_DONE        /* answer ready to send */
};

struct f8d_http_request {
    struct f8d_server *server;
    struct MHD_Connection *conn;  /* NULL once MHD is done with the connection */
    struct f8d_http_request *next_free;
    uint64_t start_ns;
    char method[16];
    char path[256];              /* for the log line (truncated) */
    char id[F8D_REQUEST_ID_MAX + 1];
    struct f8d_route route;

    unsigned status;             /* HTTP status of the queued response; 0 = none yet */
    char note[F8D_ERR_SIZE];     /* error message sent, for the log */
    uint64_t discarded;          /* body bytes thrown away while draining */
    uint64_t body_received;      /* body bytes seen in all (kept or thrown away) */

    uint8_t *body;
    size_t body_len, body_cap;
    enum f8d_coding coding;      /* the body's Content-Encoding until it is decoded */
    struct f8d_error decoded;    /* the decoding's outcome, written off the loop */

    enum f8d_phase phase;
    bool suspended;
    bool counted;                /* in server->work_in_flight */
    bool close_after;            /* answer with Connection: close (framing in doubt) */
    bool preflight;              /* OPTIONS on a known path: answered with what it allows */
    uint32_t top_k;

    struct f8d_request core;     /* model, items, logits, deadline, the error slot */

    struct f8d_bg_job work;      /* background job: infer parse, body inflate */
    struct f8d_infer *infer;     /* parsed infer request (handlers_infer.c) */
};

#endif /* F8D_HTTP_REQUEST_H */
