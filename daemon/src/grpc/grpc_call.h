/*
 * f8d gRPC calls: the state of one call, from the library's "new call" to its last event.
 *
 * Threads (docs/ARCHITECTURE.md, "gRPC"): gRPC's C core moves bytes on its own threads and
 * reports each finished operation on one completion queue. The pump thread (cq_pump.h) is
 * the only reader of that queue: it unpacks a new call's request message (protobuf-c) and
 * hands the event to the loop thread. Everything else (the call's state, the core request,
 * the answer, freeing) happens on the loop thread, so nothing below needs a lock.
 *
 * A unary call's life: arrival (request and message in hand) -> the close watch is armed
 * (RECV_CLOSE_ON_SERVER: completes when the call ends, telling whether the client cancelled
 * or the deadline passed) -> the method answers, at once or when its core request is done ->
 * the answer is sent (initial metadata, message, status in one batch) -> once both the send
 * and the close have completed, the call is freed. A server-streaming Health.Watch call stays
 * open, sending a message each time readiness changes.
 */
#ifndef F8D_GRPC_CALL_H
#define F8D_GRPC_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include <uv.h>

#include "core/background.h"
#include "core/infer_spec.h"
#include "core/request.h"

struct f8d_server;
struct f8d_grpc;
struct f8d_grpc_call;

enum f8d_grpc_method {
    F8D_RPC_SERVER_LIVE,
    F8D_RPC_SERVER_READY,
    F8D_RPC_MODEL_READY,
    F8D_RPC_SERVER_METADATA,
    F8D_RPC_MODEL_METADATA,
    F8D_RPC_MODEL_INFER,
    F8D_RPC_HEALTH_CHECK,
    F8D_RPC_HEALTH_WATCH,
    F8D_RPC_COUNT
};

/* What a completion-queue tag stands for. */
enum f8d_grpc_tag_kind {
    F8D_TAG_NEW,        /* a requested call arrived (or, failed: the server shuts down) */
    F8D_TAG_CLOSE,      /* RECV_CLOSE_ON_SERVER: the call is over on the wire */
    F8D_TAG_SEND,       /* the answer (or a Watch message) has been sent */
    F8D_TAG_SHUTDOWN    /* grpc_server_shutdown_and_notify is done */
};

/* A tag given to the completion queue; the pump hands it back with `success` set. */
struct f8d_grpc_tag {
    enum f8d_grpc_tag_kind kind;
    struct f8d_grpc_call *call; /* NULL for F8D_TAG_SHUTDOWN */
    bool success;
    struct f8d_grpc_tag *next;  /* the pump's list of events for the loop */
};

struct f8d_grpc_call {
    struct f8d_grpc *grpc;
    enum f8d_grpc_method method;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_byte_buffer *payload;      /* the request message as it arrived (pump thread) */
    ProtobufCMessage *msg;          /* ...unpacked by the pump thread, or NULL */
    bool bad_message;               /* a payload that did not unpack */

    struct f8d_grpc_tag on_new, on_close, on_send;
    int cancelled;                  /* written by the library when on_close completes */
    bool arrived, close_armed, closed;
    bool answered;                  /* the status is decided (f8d_grpc_reply / _fail) */
    bool metadata_sent, sending, status_started;
    bool counted;                   /* counted in the server's active requests */
    bool in_event;                  /* an event of this call is being handled: not freed */
    uint64_t start_ns;

    /* The answer being sent (freed once on_send completes). */
    grpc_byte_buffer *reply;
    grpc_slice details;
    bool has_details;
    grpc_status_code status;
    int err;                        /* the F8D_E* code answered (metrics) */

    /* ModelInfer: the protocol-free request and what the answer needs. */
    struct f8d_request core;
    bool submitted;                 /* core is queued: on_done is still to come */
    struct f8d_grpc_infer *infer;   /* the parsed request (infer_parse.h) */
    struct f8d_bg_job parse_work;   /* a large uint_contents request parsed off the loop */
    struct f8d_input_spec spec;     /* ...for this model input */

    /* Health.Watch: the status last sent, and one that changed while a send was out. */
    int watch_sent, watch_pending;

    struct f8d_grpc_call *prev, *next; /* the front end's open calls */
};

/* The front end's state (grpc_server.c). */
struct f8d_server *f8d_grpc_server_of(const struct f8d_grpc_call *c);

/* Answers the call: `msg` (packed here; NULL for none) with status OK. */
void f8d_grpc_reply(struct f8d_grpc_call *c, const ProtobufCMessage *msg);

/* Answers the call with the gRPC status for an F8D_E* code and a message. */
void f8d_grpc_fail(struct f8d_grpc_call *c, int f8d_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees the call if it is done with (answered, sent, closed, no core work out); for answers
 * given outside the call's own events (a core request's completion). */
void f8d_grpc_call_settle(struct f8d_grpc_call *c);

/* The model a request names (version "" or "1"), referenced by the call's core request; or
 * NULL after answering NOT_FOUND. */
struct f8d_model *f8d_grpc_model(struct f8d_grpc_call *c, const char *name, const char *version);

/* The methods (grpc_methods.c, grpc_infer.c): each answers, now or later, exactly once. */
void f8d_grpc_handle_simple(struct f8d_grpc_call *c);
void f8d_grpc_handle_infer(struct f8d_grpc_call *c);

/* Health: the serving status of a service name (grpc.health.v1 values), and Watch. */
int f8d_grpc_health_status(const struct f8d_server *s, const char *service);
void f8d_grpc_watch_start(struct f8d_grpc_call *c);
/* Sends a watcher the current status if it changed (one message out at a time). */
void f8d_grpc_watch_update(struct f8d_grpc_call *c);
/* Sends one streamed message (no status): Watch's updates. */
void f8d_grpc_send_message(struct f8d_grpc_call *c, const ProtobufCMessage *msg);

/* ModelInfer's state, freed with the call. */
void f8d_grpc_infer_free(struct f8d_grpc_call *c);

#endif /* F8D_GRPC_CALL_H */
