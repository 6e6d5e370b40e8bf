/*
 * f8d gRPC front end: gRPC's C core serving inference.GRPCInferenceService (KServe v2) and
 * grpc.health.v1.Health on `grpc_port` of every `host` address.
 *
 * Threads and life cycle: grpc_call.h. Each method is registered with the library, which
 * reads a call's request message before reporting the call; a few calls of each method are
 * requested ahead, and each one that arrives is replaced at once, so that calls never wait for
 * the loop to ask for them. Calls to methods not listed here are answered UNIMPLEMENTED.
 *
 * Shutdown: quiesce stops accepting (grpc_server_shutdown_and_notify: no new calls; calls in
 * progress finish, Watch streams end with UNAVAILABLE); stop cancels what is still open,
 * waits for the library to give every call back, and joins the pump thread.
 */
#include "grpc_frontend.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "core/errors.h"
#include "core/hosts.h"
#include "core/log.h"
#include "core/server.h"
#include "cq_pump.h"
#include "grpc_call.h"
#include "grpc_status.h"
#include "grpc_tls.h"
#include "grpc_predict_v2.pb-c.h"
#include "health.pb-c.h"

/* Methods not registered: answered UNIMPLEMENTED (grpc_server_request_call). */
#define F8D_RPC_UNKNOWN F8D_RPC_COUNT

static const struct method_def {
    const char *path;
    const ProtobufCMessageDescriptor *request;
    unsigned ahead; /* calls requested ahead of need */
} METHODS[F8D_RPC_COUNT] = {
    [F8D_RPC_SERVER_LIVE] = {"/inference.GRPCInferenceService/ServerLive",
                             &inference__server_live_request__descriptor, 2},
    [F8D_RPC_SERVER_READY] = {"/inference.GRPCInferenceService/ServerReady",
                              &inference__server_ready_request__descriptor, 2},
    [F8D_RPC_MODEL_READY] = {"/inference.GRPCInferenceService/ModelReady",
                             &inference__model_ready_request__descriptor, 2},
    [F8D_RPC_SERVER_METADATA] = {"/inference.GRPCInferenceService/ServerMetadata",
                                 &inference__server_metadata_request__descriptor, 2},
    [F8D_RPC_MODEL_METADATA] = {"/inference.GRPCInferenceService/ModelMetadata",
                                &inference__model_metadata_request__descriptor, 2},
    [F8D_RPC_MODEL_INFER] = {"/inference.GRPCInferenceService/ModelInfer",
                             &inference__model_infer_request__descriptor, 64},
    [F8D_RPC_HEALTH_CHECK] = {"/grpc.health.v1.Health/Check",
                              &grpc__health__v1__health_check_request__descriptor, 2},
    [F8D_RPC_HEALTH_WATCH] = {"/grpc.health.v1.Health/Watch",
                              &grpc__health__v1__health_check_request__descriptor, 2},
};

static const char *method_name(unsigned m)
{
    if (m >= F8D_RPC_COUNT)
        return "(unknown method)";
    return strrchr(METHODS[m].path, '/') + 1;
}

struct f8d_grpc {
    struct f8d_server *server;
    grpc_server *gs;
    bool grpc_inited;
    struct f8d_cq_pump pump;
    bool pump_ready;
    void *registered[F8D_RPC_COUNT];
    unsigned requested[F8D_RPC_COUNT + 1]; /* asked for, not yet arrived (+ unknown) */
    struct f8d_grpc_call *open;            /* arrived, not yet freed */
    struct f8d_grpc_tag shutdown_tag;
    bool shutting_down, shutdown_done;
    struct f8d_grpc_tls tls;               /* tls_cert / tls_key, when set */
    uv_timer_t watch_timer;                /* Health.Watch: readiness checks */
    bool watch_timer_open;
    unsigned handles;                      /* loop handles not yet closed (timer, pump) */
    bool released;                         /* freed by the last handle's close */
    unsigned port;                         /* bound */
};

/* The generic call's details (method name, deadline): unknown methods only. */
struct unknown_call {
    struct f8d_grpc_call c;
    grpc_call_details details;
};

struct f8d_server *f8d_grpc_server_of(const struct f8d_grpc_call *c)
{
    return c->grpc->server;
}

/* ---- asking for calls ----------------------------------------------------------------- */

static int request_call(struct f8d_grpc *g, unsigned m)
{
    struct f8d_grpc_call *c;
    struct unknown_call *u = NULL;
    if (m == F8D_RPC_UNKNOWN) {
        u = calloc(1, sizeof(*u));
        c = u ? &u->c : NULL;
    } else {
        c = calloc(1, sizeof(*c));
    }
    if (c == NULL)
        return -1;
    c->grpc = g;
    c->method = (enum f8d_grpc_method)m;
    c->on_new = (struct f8d_grpc_tag){F8D_TAG_NEW, c, false, NULL};
    c->on_close = (struct f8d_grpc_tag){F8D_TAG_CLOSE, c, false, NULL};
    c->on_send = (struct f8d_grpc_tag){F8D_TAG_SEND, c, false, NULL};
    grpc_metadata_array_init(&c->metadata);
    grpc_call_error e;
    if (u != NULL) {
        grpc_call_details_init(&u->details);
        e = grpc_server_request_call(g->gs, &c->call, &u->details, &c->metadata, g->pump.cq,
                                     g->pump.cq, &c->on_new);
    } else {
        e = grpc_server_request_registered_call(g->gs, g->registered[m], &c->call, &c->deadline,
                                                &c->metadata, &c->payload, g->pump.cq,
                                                g->pump.cq, &c->on_new);
    }
    if (e != GRPC_CALL_OK) {
        f8d_log("gRPC: cannot ask for a %s call: error %d", method_name(m), (int)e);
        grpc_metadata_array_destroy(&c->metadata);
        if (u != NULL)
            grpc_call_details_destroy(&u->details);
        free(u ? (void *)u : (void *)c);
        return -1;
    }
    g->requested[m]++;
    return 0;
}

/* Pump thread: the request message of a call that just arrived, unpacked. */
static void unpack_request(struct f8d_grpc_tag *t)
{
    struct f8d_grpc_call *c = t->call;
    if (c->method == (enum f8d_grpc_method)F8D_RPC_UNKNOWN)
        return;
    if (c->payload == NULL) {
        c->bad_message = true; /* the client closed without sending one */
        return;
    }
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, c->payload)) {
        c->bad_message = true;
    } else {
        grpc_slice all = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        c->msg = protobuf_c_message_unpack(METHODS[c->method].request, NULL,
                                           GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
        c->bad_message = c->msg == NULL;
        grpc_slice_unref(all);
    }
    grpc_byte_buffer_destroy(c->payload);
    c->payload = NULL;
}

/* ---- answering -------------------------------------------------------------------------- */

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Metrics and the access log, when the answer is queued (before the client can see it). */
static void record(struct f8d_grpc_call *c)
{
    struct f8d_server *s = c->grpc->server;
    uint64_t ns = uv_hrtime() - c->start_ns;
    const struct f8d_model *m = c->core.model;
    struct f8d_model_metrics *mm = (m && m->metrics) ? m->metrics : &s->metrics.none;
    const char *status = f8d_grpc_status_name(c->status);
    f8d_metrics_request(mm, "grpc", status, c->err, (double)ns / 1e9);
    bool failed_badly = c->status == GRPC_STATUS_INTERNAL;
    if (s->opts.access_log || failed_badly) {
        char details[F8D_ERR_SIZE] = "";
        if (c->has_details)
            snprintf(details, sizeof(details), " (%.*s)", (int)GRPC_SLICE_LENGTH(c->details),
                     (const char *)GRPC_SLICE_START_PTR(c->details));
        f8d_log("gRPC %s %s %.3f ms model=%s%s", method_name(c->method), status,
                (double)ns / 1e6, m ? m->name : "-", details);
    }
}

static void start_send(struct f8d_grpc_call *c, bool with_status)
{
    grpc_op ops[3];
    size_t n = 0;
    assert(!c->sending && !c->status_started);
    memset(ops, 0, sizeof(ops));
    if (!c->metadata_sent) { /* the call's first send carries the initial metadata */
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->metadata_sent = true;
    }
    if (c->reply != NULL) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->reply;
        n++;
    }
    if (with_status) {
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = c->status;
        ops[n].data.send_status_from_server.status_details = c->has_details ? &c->details : NULL;
        n++;
        c->status_started = true;
        if (c->arrived)
            record(c);
    }
    c->sending = true;
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->on_send, NULL);
    if (e != GRPC_CALL_OK) {
        /* Only a bug gets here (ops out of order): the call cannot be answered, so cancel it;
         * its close still comes. */
        f8d_log("gRPC: cannot send on a %s call: error %d", method_name(c->method), (int)e);
        grpc_call_cancel(c->call, NULL);
        c->sending = false;
        c->status_started = true;
    }
}

void f8d_grpc_send_message(struct f8d_grpc_call *c, const ProtobufCMessage *msg)
{
    assert(!c->answered && c->reply == NULL);
    c->reply = pack(msg);
    start_send(c, false);
}

void f8d_grpc_reply(struct f8d_grpc_call *c, const ProtobufCMessage *msg)
{
    assert(!c->answered && c->reply == NULL);
    c->answered = true;
    c->status = GRPC_STATUS_OK;
    c->err = F8D_OK;
    c->reply = msg ? pack(msg) : NULL;
    start_send(c, true);
}

void f8d_grpc_fail(struct f8d_grpc_call *c, int f8d_code, const char *fmt, ...)
{
    assert(!c->answered && f8d_code != F8D_OK);
    char text[F8D_ERR_SIZE + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    c->answered = true;
    c->err = f8d_code;
    c->status = f8d_grpc_status(f8d_code);
    c->details = grpc_slice_from_copied_string(text);
    c->has_details = true;
    if (!c->sending) /* else a Watch message is going out: the status follows it */
        start_send(c, true);
}

/* ---- a call's life ---------------------------------------------------------------------- */

static void unlink_call(struct f8d_grpc *g, struct f8d_grpc_call *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (g->open == c)
        g->open = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}


static void free_call(struct f8d_grpc_call *c)
{
    struct f8d_grpc *g = c->grpc;
    struct f8d_server *s = g->server;
    assert(!c->submitted);
    if (c->arrived) {
        unlink_call(g, c);
        if (c->counted) {
            s->active_requests--;
            s->requests_total++;
        }
    }
    if (c->call != NULL)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->metadata);
    if (c->payload != NULL)
        grpc_byte_buffer_destroy(c->payload);
    if (c->msg != NULL)
        protobuf_c_message_free_unpacked(c->msg, NULL);
    if (c->reply != NULL)
        grpc_byte_buffer_destroy(c->reply);
    if (c->has_details)
        grpc_slice_unref(c->details);
    f8d_grpc_infer_free(c);
    f8d_request_release(&c->core);
    if (c->method == (enum f8d_grpc_method)F8D_RPC_UNKNOWN) {
        struct unknown_call *u = (struct unknown_call *)c;
        grpc_call_details_destroy(&u->details);
        free(u);
    } else {
        free(c);
    }
}

/* A call is done with once it has answered, the answer is out, the close has come and no
 * core request is out. */
static void maybe_free(struct f8d_grpc_call *c)
{
    if (c->status_started && !c->sending && c->closed && !c->submitted)
        free_call(c);
}

void f8d_grpc_call_settle(struct f8d_grpc_call *c)
{
    if (!c->in_event) /* else the event's handler frees it when it is done with it */
        maybe_free(c);
}

static void dispatch(struct f8d_grpc_call *c)
{
    if (c->method == (enum f8d_grpc_method)F8D_RPC_UNKNOWN) {
        struct unknown_call *u = (struct unknown_call *)c;
        f8d_grpc_fail(c, F8D_EUNSUPPORTED, "f8d does not implement %.*s",
                      (int)GRPC_SLICE_LENGTH(u->details.method),
                      (const char *)GRPC_SLICE_START_PTR(u->details.method));
        return;
    }
    if (c->bad_message) {
        f8d_grpc_fail(c, F8D_EINVAL, "the request is not a valid %s message",
                      METHODS[c->method].request->name);
        return;
    }
    switch (c->method) {
    case F8D_RPC_MODEL_INFER: f8d_grpc_handle_infer(c); break;
    case F8D_RPC_HEALTH_WATCH: f8d_grpc_watch_start(c); break;
    default: f8d_grpc_handle_simple(c); break;
    }
}

static void call_arrived(struct f8d_grpc *g, struct f8d_grpc_call *c, bool ok)
{
    struct f8d_server *s = g->server;
    unsigned m = c->method;
    assert(g->requested[m] > 0);
    g->requested[m]--;
    if (!ok) { /* the server is shutting down: this call never came */
        if (c->call != NULL) {
            grpc_call_unref(c->call);
            c->call = NULL;
        }
        free_call(c);
        return;
    }
    if (!g->shutting_down)
        request_call(g, m); /* the next one (a failure is logged; the others still serve) */
    if (m == F8D_RPC_UNKNOWN)
        c->deadline = ((struct unknown_call *)c)->details.deadline;
    c->arrived = true;
    c->start_ns = uv_hrtime();
    c->next = g->open;
    if (g->open != NULL)
        g->open->prev = c;
    g->open = c;
    /* A Watch stream lives until the client leaves: it must not hold up a drain. */
    c->counted = m != F8D_RPC_HEALTH_WATCH;
    if (c->counted)
        s->active_requests++;

    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(c->call, &op, 1, &c->on_close, NULL) == GRPC_CALL_OK) {
        c->close_armed = true;
    } else {
        f8d_log("gRPC: cannot watch a %s call for its end", method_name(m));
        c->closed = true; /* answered below; nothing will report its close */
    }
    c->in_event = true;
    dispatch(c);
    c->in_event = false;
    maybe_free(c);
}

static void call_closed(struct f8d_grpc_call *c)
{
    c->closed = true;
    if (!c->cancelled)
        return;
    /* The client cancelled, went away, or its deadline passed: drop the work still queued
     * (the core request's completion answers it), or end a Watch. */
    /* The library also cancels a call when its deadline passes: then it is an expired
     * request, dropped and counted as such, whichever clock noticed first. */
    const bool expired = gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) <= 0;
    if (c->submitted) {
        if (expired)
            c->core.deadline_ns = uv_hrtime();
        f8d_request_cancel(&c->core);
    }
    else if (!c->answered)
        f8d_grpc_fail(c, expired ? F8D_EDEADLINE : F8D_ECANCELED,
                      expired ? "the deadline passed" : "the call was cancelled");
}

static void on_event(struct f8d_grpc_tag *t, void *arg)
{
    struct f8d_server *s = arg;
    struct f8d_grpc *g = s->grpc;
    struct f8d_grpc_call *c = t->call;
    switch (t->kind) {
    case F8D_TAG_SHUTDOWN:
        g->shutdown_done = true;
        return;
    case F8D_TAG_NEW:
        call_arrived(g, c, t->success);
        return;
    case F8D_TAG_CLOSE:
        c->in_event = true; /* cancelling may complete the core request at once */
        call_closed(c);
        c->in_event = false;
        break;
    case F8D_TAG_SEND:
        c->sending = false;
        if (c->reply != NULL) {
            grpc_byte_buffer_destroy(c->reply);
            c->reply = NULL;
        }
        if (c->answered && !c->status_started)
            start_send(c, true); /* a Watch ended while its last message was out */
        else if (!c->answered)
            f8d_grpc_watch_update(c); /* a change that came while that one was out */
        break;
    }
    maybe_free(c);
}

/* ---- the watch timer: Health.Watch streams follow readiness ---------------------------- */

static void on_watch_timer(uv_timer_t *t)
{
    struct f8d_server *s = t->data;
    for (struct f8d_grpc_call *c = s->grpc->open; c != NULL; c = c->next)
        if (c->method == F8D_RPC_HEALTH_WATCH && !c->answered && !c->sending)
            f8d_grpc_watch_update(c);
}

/* ---- the front end ---------------------------------------------------------------------- */

/* The state holds loop handles: it is freed once released and the last one has closed. */
static void handle_gone(struct f8d_grpc *g)
{
    g->server->handles_open--;
    assert(g->handles > 0);
    if (--g->handles == 0 && g->released)
        free(g);
}

static void watch_timer_closed(uv_handle_t *h)
{
    handle_gone((struct f8d_grpc *)((char *)h - offsetof(struct f8d_grpc, watch_timer)));
}

static void pump_closed(uv_handle_t *h)
{
    handle_gone((struct f8d_grpc *)((char *)h - offsetof(struct f8d_grpc, pump.async)));
}

static int add_ports(struct f8d_grpc *g, char *err, size_t errlen)
{
    const struct f8d_options *o = &g->server->opts;
    char list[sizeof(o->host)], urls[F8D_MAX_LISTENERS * 80] = "";
    size_t used = 0;
    char *save = NULL;
    snprintf(list, sizeof(list), "%s", o->host);
    grpc_server_credentials *creds = NULL;
    if (f8d_grpc_tls_start(&g->tls, o, &creds, err, errlen) != 0)
        return -1;
    const char *scheme = g->tls.on ? "grpcs" : "grpc";
    int rc = 0;
    for (char *entry = strtok_r(list, ", \t", &save); entry != NULL && rc == 0;
         entry = strtok_r(NULL, ", \t", &save)) {
        unsigned port = o->grpc_port;
        bool named_port;
        const char *host = f8d_host_split(entry, &port, &named_port, err, errlen);
        if (host == NULL) {
            rc = -1;
            break;
        }
        char addr[300];
        snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
                 o->grpc_port); /* an entry's own port is HTTP's */
        int bound = grpc_server_add_http2_port(g->gs, addr, creds);
        if (bound == 0) {
            snprintf(err, errlen, "cannot listen for gRPC on %s (address in use or not local)",
                     addr);
            rc = -1;
            break;
        }
        g->port = (unsigned)bound;
        used += (size_t)snprintf(urls + used, sizeof(urls) - used, "%s%s://%s", used ? ", " : "",
                                 scheme, addr);
        if (used >= sizeof(urls))
            used = sizeof(urls) - 1;
    }
    grpc_server_credentials_release(creds);
    if (rc == 0)
        f8d_log("gRPC listening on %s (max message %" PRIu64 " bytes)", urls,
                o->max_body_bytes);
    return rc;
}

static int grpc_start(struct f8d_server *s, char *err, size_t errlen)
{
    struct f8d_grpc *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->grpc = g;
    g->server = s;
    if (s->opts.grpc_port == 0)
        return 0; /* gRPC off */
    grpc_init();
    g->grpc_inited = true;
    if (f8d_cq_pump_init(&g->pump, &s->loop, on_event, unpack_request, s) != 0) {
        snprintf(err, errlen, "cannot set up gRPC's completion queue");
        return -1;
    }
    g->pump_ready = true;
    s->handles_open++; /* the pump's async handle */
    g->handles++;

    uint64_t max_msg = s->opts.max_body_bytes < INT_MAX ? s->opts.max_body_bytes : INT_MAX;
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = (int)max_msg}},
        {GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS,
         {.integer = (int)s->opts.grpc_keepalive_time_ms}},
        {GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
         {.integer = (int)s->opts.grpc_keepalive_timeout_ms}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_CONCURRENT_STREAMS,
         {.integer = (int)s->opts.grpc_max_streams}},
        /* a connection with no call for `timeout` s is closed (GOAWAY), as HTTP's idle ones */
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_CONNECTION_IDLE_MS,
         {.integer = (int)(s->opts.timeout_s * 1000u)}},
        /* a connection that has not finished its handshake (TLS, HTTP/2 preface) within
         * header_timeout is closed, as a slow HTTP request head is */
        {GRPC_ARG_INTEGER, GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
         {.integer = (int)(s->opts.header_timeout_s * 1000u)}},
        /* no SO_REUSEPORT: a second f8d on the same port must fail, not split the traffic */
        {GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}},
    };
    grpc_channel_args cargs = {sizeof(args) / sizeof(args[0]), args};
    g->gs = grpc_server_create(&cargs, NULL);
    if (g->gs == NULL) {
        snprintf(err, errlen, "cannot create the gRPC server");
        return -1;
    }
    grpc_server_register_completion_queue(g->gs, g->pump.cq, NULL);
    for (unsigned m = 0; m < F8D_RPC_COUNT; m++) {
        g->registered[m] = grpc_server_register_method(
            g->gs, METHODS[m].path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (g->registered[m] == NULL) {
            snprintf(err, errlen, "cannot register gRPC method %s", METHODS[m].path);
            return -1;
        }
    }
    if (add_ports(g, err, errlen) != 0)
        return -1;
    grpc_server_start(g->gs);
    if (f8d_cq_pump_run(&g->pump) != 0) {
        snprintf(err, errlen, "cannot start the gRPC thread");
        return -1;
    }
    for (unsigned m = 0; m <= F8D_RPC_UNKNOWN; m++) {
        unsigned ahead = m < F8D_RPC_COUNT ? METHODS[m].ahead : 2;
        for (unsigned i = 0; i < ahead; i++)
            if (request_call(g, m) != 0) {
                snprintf(err, errlen, "cannot ask gRPC for calls");
                return -1;
            }
    }
    uv_timer_init(&s->loop, &g->watch_timer);
    g->watch_timer.data = s;
    g->watch_timer_open = true;
    s->handles_open++;
    g->handles++;
    uv_timer_start(&g->watch_timer, on_watch_timer, 1000, 1000);
    return 0;
}

static void begin_shutdown(struct f8d_grpc *g)
{
    if (g->gs == NULL || g->shutting_down)
        return;
    g->shutting_down = true;
    g->shutdown_tag = (struct f8d_grpc_tag){F8D_TAG_SHUTDOWN, NULL, false, NULL};
    grpc_server_shutdown_and_notify(g->gs, g->pump.cq, &g->shutdown_tag);
}

static void grpc_quiesce(struct f8d_server *s)
{
    struct f8d_grpc *g = s->grpc;
    if (g == NULL || g->gs == NULL)
        return;
    begin_shutdown(g);
    /* Watch streams never end by themselves; the library's shutdown waits for every call. */
    for (struct f8d_grpc_call *c = g->open, *next; c != NULL; c = next) {
        next = c->next;
        if (c->method == F8D_RPC_HEALTH_WATCH && !c->answered)
            f8d_grpc_fail(c, F8D_ESHUTDOWN, "the server is shutting down");
    }
}

static bool all_given_back(const struct f8d_grpc *g)
{
    if (!g->shutdown_done || g->open != NULL)
        return false;
    for (unsigned m = 0; m <= F8D_RPC_UNKNOWN; m++)
        if (g->requested[m] != 0)
            return false;
    return true;
}

static void grpc_stop(struct f8d_server *s)
{
    struct f8d_grpc *g = s->grpc;
    if (g == NULL)
        return;
    if (g->watch_timer_open) {
        g->watch_timer_open = false;
        uv_timer_stop(&g->watch_timer);
        uv_close((uv_handle_t *)&g->watch_timer, watch_timer_closed);
    }
    if (g->gs != NULL) {
        begin_shutdown(g);
        grpc_server_cancel_all_calls(g->gs);
        /* Calls still open hold no core work (the server waits for workers before stopping):
         * answer them; their sends and closes complete on the pump thread, waited for here,
         * on the loop thread, which cannot run the pump's async callback meanwhile. */
        for (struct f8d_grpc_call *c = g->open; c != NULL; c = c->next) {
            assert(!c->submitted);
            if (!c->answered) {
                s->requests_cut_at_stop++; /* the drain timed out on it: see server.h */
                f8d_grpc_fail(c, F8D_ESHUTDOWN, "the server is shutting down");
            }
        }
        if (g->pump.thread_running || f8d_cq_pump_run(&g->pump) == 0)
            while (!all_given_back(g))
                f8d_cq_pump_wait(&g->pump);
        grpc_server_destroy(g->gs);
        g->gs = NULL;
    }
    f8d_grpc_tls_free(&g->tls); /* the server is gone: nothing fetches the pair any more */
    if (g->pump_ready) {
        g->pump_ready = false;
        f8d_cq_pump_close(&g->pump, pump_closed);
    }
}

static void grpc_release(struct f8d_server *s)
{
    struct f8d_grpc *g = s->grpc;
    if (g == NULL)
        return;
    assert(g->gs == NULL);
    if (g->grpc_inited)
        grpc_shutdown_blocking();
    s->grpc = NULL;
    g->released = true;
    if (g->handles == 0)
        free(g); /* else the last handle's close frees it */
}

/* SIGHUP: a renewed certificate for the next handshakes. */
static void grpc_reload(struct f8d_server *s)
{
    if (s->grpc != NULL && s->grpc->gs != NULL)
        f8d_grpc_tls_reload(&s->grpc->tls, &s->opts);
}

unsigned f8d_grpc_port(const struct f8d_server *s)
{
    return s->grpc != NULL ? s->grpc->port : 0;
}

const struct f8d_frontend f8d_grpc_frontend = {
    .name = "grpc",
    .start = grpc_start,
    .quiesce = grpc_quiesce,
    .stop = grpc_stop,
    .release = grpc_release,
    .reload = grpc_reload,
};
