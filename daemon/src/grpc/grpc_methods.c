/*
 * f8d gRPC: the methods that answer at once, from the server's state. They say what the
 * REST side says (http/handlers_health.c):
 *   ServerLive        live = true while the process serves
 *   ServerReady       ready = models loaded (and warmed up) and not shutting down
 *   ModelReady        ready as above for a model; NOT_FOUND for an unknown one
 *   ServerMetadata    name "f8d", version, extensions ["classification"]
 *   ModelMetadata     versions ["1"], platform "f8", inputs, outputs
 *   Health.Check      SERVING / NOT_SERVING for "" and "inference.GRPCInferenceService",
 *                     NOT_FOUND for other services (grpc.health.v1)
 *   Health.Watch      the status now, then each change (checked every second), until the
 *                     client cancels or the server shuts down
 */
#include <string.h>

#include "core/errors.h"
#include "core/server.h"
#include "grpc_call.h"
#include "grpc_predict_v2.pb-c.h"
#include "health.pb-c.h"

#define SERVICE_NAME "inference.GRPCInferenceService"

struct f8d_model *f8d_grpc_model(struct f8d_grpc_call *c, const char *name, const char *version)
{
    struct f8d_server *s = f8d_grpc_server_of(c);
    struct f8d_model *m = f8d_models_find(&s->models, name);
    if (m == NULL) {
        f8d_grpc_fail(c, F8D_ENOTFOUND, "no model named '%.200s'", name);
        return NULL;
    }
    if (version[0] != '\0' && strcmp(version, m->version) != 0) {
        f8d_grpc_fail(c, F8D_ENOTFOUND, "model '%.200s' has no version '%.32s' (serving: %s)",
                      name, version, m->version);
        return NULL;
    }
    f8d_request_set_model(&c->core, m); /* for the metrics' model label */
    return m;
}

static void model_metadata(struct f8d_grpc_call *c, const Inference__ModelMetadataRequest *r)
{
    const struct f8d_model *m = f8d_grpc_model(c, r->name, r->version);
    if (m == NULL)
        return;
    const f8_model_info *info = m->info;
    Inference__ModelMetadataResponse resp = INFERENCE__MODEL_METADATA_RESPONSE__INIT;
    Inference__ModelMetadataResponse__TensorMetadata in[2], out[2];
    Inference__ModelMetadataResponse__TensorMetadata *ins[2] = {&in[0], &in[1]};
    Inference__ModelMetadataResponse__TensorMetadata *outs[2] = {&out[0], &out[1]};
    int64_t image_shape[4] = {-1, info->input_h, info->input_w, info->input_c};
    int64_t bytes_shape[1] = {-1};
    int64_t class_shape[2] = {-1, info->num_classes};
    for (int i = 0; i < 2; i++) {
        inference__model_metadata_response__tensor_metadata__init(&in[i]);
        inference__model_metadata_response__tensor_metadata__init(&out[i]);
    }
    in[0].name = "image";
    in[0].datatype = "UINT8";
    in[0].n_shape = 4;
    in[0].shape = image_shape;
    in[1].name = "image_bytes";
    in[1].datatype = "BYTES";
    in[1].n_shape = 1;
    in[1].shape = bytes_shape;
    out[0].name = "logits";
    out[0].datatype = "INT32";
    out[1].name = "probabilities";
    out[1].datatype = "FP32";
    for (int i = 0; i < 2; i++) {
        out[i].n_shape = 2;
        out[i].shape = class_shape;
    }
    char *versions[1] = {(char *)m->version};
    resp.name = m->name;
    resp.n_versions = 1;
    resp.versions = versions;
    resp.platform = "f8";
    resp.n_inputs = 2;
    resp.inputs = ins;
    resp.n_outputs = 2;
    resp.outputs = outs;
    f8d_grpc_reply(c, &resp.base);
}

int f8d_grpc_health_status(const struct f8d_server *s, const char *service)
{
    if (service[0] != '\0' && strcmp(service, SERVICE_NAME) != 0 &&
        strcmp(service, "grpc.health.v1.Health") != 0)
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    return f8d_server_ready(s) ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                               : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static void health_check(struct f8d_grpc_call *c, const Grpc__Health__V1__HealthCheckRequest *r)
{
    int st = f8d_grpc_health_status(f8d_grpc_server_of(c), r->service);
    if (st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN) {
        f8d_grpc_fail(c, F8D_ENOTFOUND, "unknown service '%.200s' (f8d serves \"\" and "
                      SERVICE_NAME ")", r->service);
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
    f8d_grpc_reply(c, &resp.base);
}

void f8d_grpc_watch_update(struct f8d_grpc_call *c)
{
    const Grpc__Health__V1__HealthCheckRequest *r =
        (const Grpc__Health__V1__HealthCheckRequest *)c->msg;
    int st = f8d_grpc_health_status(f8d_grpc_server_of(c), r->service);
    if (c->sending || st == c->watch_sent)
        return;
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
    c->watch_sent = st;
    f8d_grpc_send_message(c, &resp.base);
}

void f8d_grpc_watch_start(struct f8d_grpc_call *c)
{
    c->watch_sent = -1; /* nothing sent yet */
    f8d_grpc_watch_update(c);
}

void f8d_grpc_handle_simple(struct f8d_grpc_call *c)
{
    struct f8d_server *s = f8d_grpc_server_of(c);
    switch (c->method) {
    case F8D_RPC_SERVER_LIVE: {
        Inference__ServerLiveResponse resp = INFERENCE__SERVER_LIVE_RESPONSE__INIT;
        resp.live = 1;
        f8d_grpc_reply(c, &resp.base);
        return;
    }
    case F8D_RPC_SERVER_READY: {
        Inference__ServerReadyResponse resp = INFERENCE__SERVER_READY_RESPONSE__INIT;
        resp.ready = f8d_server_ready(s);
        f8d_grpc_reply(c, &resp.base);
        return;
    }
    case F8D_RPC_MODEL_READY: {
        const Inference__ModelReadyRequest *r = (const Inference__ModelReadyRequest *)c->msg;
        if (f8d_grpc_model(c, r->name, r->version) == NULL)
            return;
        Inference__ModelReadyResponse resp = INFERENCE__MODEL_READY_RESPONSE__INIT;
        resp.ready = f8d_server_ready(s);
        f8d_grpc_reply(c, &resp.base);
        return;
    }
    case F8D_RPC_SERVER_METADATA: {
        Inference__ServerMetadataResponse resp = INFERENCE__SERVER_METADATA_RESPONSE__INIT;
        char *extensions[] = {"classification"};
        resp.name = "f8d";
        resp.version = F8D_VERSION;
        resp.n_extensions = 1;
        resp.extensions = extensions;
        f8d_grpc_reply(c, &resp.base);
        return;
    }
    case F8D_RPC_MODEL_METADATA:
        model_metadata(c, (const Inference__ModelMetadataRequest *)c->msg);
        return;
    case F8D_RPC_HEALTH_CHECK:
        health_check(c, (const Grpc__Health__V1__HealthCheckRequest *)c->msg);
        return;
    default:
        f8d_grpc_fail(c, F8D_EINTERNAL, "no handler for this method");
        return;
    }
}
