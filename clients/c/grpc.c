/*
 * f8-classify over gRPC: one channel, one unary ModelInfer call per image (a BYTES input in
 * raw_input_contents, the "classification" parameter), waited for on a completion queue of
 * its own; the answer's BYTES "score:index:label" strings parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "f8_classify.h"
#include "grpc_request.h"
#include "grpc_predict_v2.pb-c.h"

struct grpc_client {
    struct f8c_client base;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    char *model;
    int top_k;
    double timeout_s;
};

/* The answer's first output: "score:index:label" strings. */
static int parse_answer(grpc_byte_buffer *bb, struct f8c_answer *a)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return -1;
    grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    Inference__ModelInferResponse *r = inference__model_infer_response__unpack(
        NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    if (r == NULL || r->n_raw_output_contents < 1) {
        if (r != NULL)
            inference__model_infer_response__free_unpacked(r, NULL);
        return -1;
    }
    const ProtobufCBinaryData *raw = &r->raw_output_contents[0];
    a->model = strdup(r->model_name);
    size_t cap = 8, off = 0;
    a->p = calloc(cap, sizeof(*a->p));
    int rc = a->model && a->p ? 0 : -1;
    while (rc == 0 && off + 4 <= raw->len) {
        const uint8_t *b = raw->data + off;
        size_t l = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
        if (l > raw->len - off - 4 || l >= 1024) {
            rc = -1;
            break;
        }
        char text[1024];
        memcpy(text, b + 4, l);
        text[l] = '\0';
        off += 4 + l;
        char *c1 = strchr(text, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            rc = -1;
            break;
        }
        if (a->n == cap) {
            struct f8c_prediction *grown = realloc(a->p, 2 * cap * sizeof(*a->p));
            if (grown == NULL) {
                rc = -1;
                break;
            }
            a->p = grown;
            cap *= 2;
        }
        a->p[a->n].score = strtod(text, NULL);
        a->p[a->n].index = (unsigned)strtoul(c1 + 1, NULL, 10);
        a->p[a->n].label = strdup(c2 + 1);
        a->n++;
    }
    inference__model_infer_response__free_unpacked(r, NULL);
    return rc;
}

static const char *status_name(grpc_status_code s)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

static int grpc_classify(struct f8c_client *c, const unsigned char *jpeg, size_t len,
                         struct f8c_answer *a, char *err, size_t errlen)
{
    struct grpc_client *g = (struct grpc_client *)c;
    memset(a, 0, sizeof(*a));
    grpc_byte_buffer *req = f8c_grpc_request(g->model, jpeg, len, g->top_k > 0 ? g->top_k : 5);
    if (req == NULL) {
        snprintf(err, errlen, "out of memory");
        return 3;
    }
    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_REALTIME),
        gpr_time_from_millis((int64_t)(g->timeout_s * 1000), GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(
        g->channel, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq,
        grpc_slice_from_static_string("/inference.GRPCInferenceService/ModelInfer"), NULL,
        deadline, NULL);
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_byte_buffer *reply = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &reply;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    int rc = 3;
    if (grpc_call_start_batch(call, ops, 6, call, NULL) != GRPC_CALL_OK) {
        snprintf(err, errlen, "cannot start a gRPC call");
    } else {
        grpc_event ev;
        do
            ev = grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        while (ev.type != GRPC_OP_COMPLETE || ev.tag != call);
        if (status == GRPC_STATUS_OK && reply != NULL) {
            rc = parse_answer(reply, a) == 0 ? 0 : 3;
            if (rc != 0)
                snprintf(err, errlen, "the answer is not a ModelInferResponse with strings");
        } else {
            /* UNAVAILABLE and DEADLINE_EXCEEDED: f8d was not reached in time; else it refused */
            rc = status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED ? 3 : 1;
            snprintf(err, errlen, "gRPC %s: %.*s", status_name(status),
                     (int)GRPC_SLICE_LENGTH(details), (const char *)GRPC_SLICE_START_PTR(details));
        }
    }
    if (rc != 0)
        f8c_answer_free(a);
    if (reply != NULL)
        grpc_byte_buffer_destroy(reply);
    grpc_byte_buffer_destroy(req);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    return rc;
}

static void grpc_close(struct f8c_client *c)
{
    struct grpc_client *g = (struct grpc_client *)c;
    grpc_channel_destroy(g->channel);
    grpc_completion_queue_shutdown(g->cq);
    while (grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(g->cq);
    free(g->model);
    free(g);
    grpc_shutdown();
}

struct f8c_client *f8c_grpc_open(const struct f8c_options *o, char *err, size_t errlen)
{
    if (strchr(o->grpc, ':') == NULL) {
        snprintf(err, errlen, "usage: --grpc takes HOST:PORT, not '%s'", o->grpc);
        return NULL;
    }
    struct grpc_client *g = calloc(1, sizeof(*g));
    if (g == NULL || (g->model = strdup(o->model)) == NULL) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    g->channel = grpc_channel_create(o->grpc, creds, NULL);
    grpc_channel_credentials_release(creds);
    g->cq = grpc_completion_queue_create_for_next(NULL);
    g->top_k = o->top_k;
    g->timeout_s = o->timeout_s;
    g->base.classify = grpc_classify;
    g->base.close = grpc_close;
    g->base.table = o->table;
    return &g->base;
}
