/*
 * f8d gRPC ModelInfer: the request (infer_parse.h) becomes a core request whose images go to
 * the model's batcher like REST's; its completion builds the answer.
 *
 * Answer: ModelInferResponse with model_name, model_version "1", the request's id, and per
 * output asked for an InferOutputTensor (name, datatype, shape [N, classes or K]) whose data
 * is in raw_output_contents, as Triton answers: INT32 logits and FP32 probabilities little-
 * endian, BYTES classification entries "score:index:label" as u32 length + bytes. The logits
 * output carries its fixed-point "fractional_length" as a parameter.
 *
 * Deadline: the call's (grpc-timeout) or the "timeout" parameter's, the earlier; images still
 * queued when it passes are dropped before they reach the engine (DEADLINE_EXCEEDED). A
 * cancelled call drops its queued images the same way (grpc_server.c, call_closed).
 */
#include <stdlib.h>
#include <string.h>

#include <grpc/support/time.h>

#include "core/background.h"
#include "core/bytes.h"
#include "core/errors.h"
#include "core/scores.h"
#include "core/server.h"
#include "grpc_call.h"
#include "infer_parse.h"

void f8d_grpc_infer_free(struct f8d_grpc_call *c)
{
    if (c->infer == NULL)
        return;
    f8d_grpc_infer_clear(c->infer);
    free(c->infer);
    c->infer = NULL;
}

/* Nanoseconds from now to a gRPC deadline; UINT64_MAX for none, 0 when it has passed. */
static uint64_t ns_left(gpr_timespec deadline)
{
    if (deadline.tv_sec == INT64_MAX)
        return UINT64_MAX; /* gpr_inf_future */
    gpr_timespec now = gpr_now(deadline.clock_type);
    if (gpr_time_cmp(deadline, now) <= 0)
        return 0;
    gpr_timespec d = gpr_time_sub(deadline, now);
    return (uint64_t)d.tv_sec * 1000000000u + (uint64_t)d.tv_nsec;
}

/* One output's data for every image, as raw_output_contents lays it out. */
static void output_bytes(const struct f8d_request *req, const struct f8d_output *o,
                         double *probs, uint32_t *idx, struct f8d_bytes *b)
{
    const struct f8d_model *m = req->model;
    uint32_t classes = m->info->num_classes;
    int fl = m->info->output_fl;
    for (unsigned i = 0; i < req->n_items; i++) {
        const int32_t *lg = req->logits + (size_t)i * classes;
        if (o->classification != 0) {
            uint32_t k = f8d_scores_top_k(lg, classes, fl, o->classification, idx, probs);
            for (uint32_t j = 0; j < k; j++) {
                char text[512];
                size_t n = f8d_output_class(text, sizeof(text), o->kind, probs[j], lg[idx[j]], fl,
                                            idx[j], f8_model_label(m->model, idx[j]));
                f8d_bytes_put_string(b, text, n);
            }
        } else if (o->kind == F8D_OUT_LOGITS) {
            for (uint32_t j = 0; j < classes; j++)
                f8d_bytes_put_u32(b, (uint32_t)lg[j]);
        } else {
            f8d_softmax(lg, classes, fl, probs);
            for (uint32_t j = 0; j < classes; j++) {
                float f = (float)probs[j];
                uint32_t u;
                memcpy(&u, &f, 4);
                f8d_bytes_put_u32(b, u);
            }
        }
    }
}

static void answer(struct f8d_grpc_call *c)
{
    const struct f8d_request *req = &c->core;
    const struct f8d_grpc_infer *in = c->infer;
    const struct f8d_model *m = req->model;
    const Inference__ModelInferRequest *r = (const Inference__ModelInferRequest *)c->msg;
    uint32_t classes = m->info->num_classes;
    unsigned no = in->n_outputs;

    Inference__ModelInferResponse resp = INFERENCE__MODEL_INFER_RESPONSE__INIT;
    Inference__ModelInferResponse__InferOutputTensor outs[F8D_MAX_OUTPUTS];
    Inference__ModelInferResponse__InferOutputTensor *out_ptrs[F8D_MAX_OUTPUTS];
    int64_t shapes[F8D_MAX_OUTPUTS][2];
    ProtobufCBinaryData raw[F8D_MAX_OUTPUTS];
    struct f8d_bytes data[F8D_MAX_OUTPUTS];
    Inference__InferParameter fl_value = INFERENCE__INFER_PARAMETER__INIT;
    Inference__ModelInferResponse__InferOutputTensor__ParametersEntry fl_entry =
        INFERENCE__MODEL_INFER_RESPONSE__INFER_OUTPUT_TENSOR__PARAMETERS_ENTRY__INIT;
    Inference__ModelInferResponse__InferOutputTensor__ParametersEntry *fl_entries[1] = {&fl_entry};
    fl_value.parameter_choice_case = INFERENCE__INFER_PARAMETER__PARAMETER_CHOICE_INT64_PARAM;
    fl_value.int64_param = m->info->output_fl;
    fl_entry.key = "fractional_length";
    fl_entry.value = &fl_value;

    double *probs = malloc(classes * sizeof(double));
    uint32_t *idx = malloc(classes * sizeof(uint32_t));
    bool failed = probs == NULL || idx == NULL;
    memset(data, 0, sizeof(data));
    for (unsigned i = 0; i < no && !failed; i++) {
        const struct f8d_output *o = &in->outputs[i];
        inference__model_infer_response__infer_output_tensor__init(&outs[i]);
        out_ptrs[i] = &outs[i];
        outs[i].name = (char *)o->name;
        outs[i].datatype = o->classification ? "BYTES"
                           : o->kind == F8D_OUT_LOGITS ? "INT32" : "FP32";
        shapes[i][0] = req->n_items;
        shapes[i][1] = o->classification ? (int64_t)o->classification : (int64_t)classes;
        if (o->classification && o->classification > classes)
            shapes[i][1] = classes;
        outs[i].n_shape = 2;
        outs[i].shape = shapes[i];
        if (o->kind == F8D_OUT_LOGITS && !o->classification) {
            outs[i].n_parameters = 1;
            outs[i].parameters = fl_entries;
        }
        output_bytes(req, o, probs, idx, &data[i]);
        failed = data[i].failed;
        raw[i].data = data[i].p;
        raw[i].len = data[i].len;
    }
    free(probs);
    free(idx);
    if (failed) {
        for (unsigned i = 0; i < no; i++)
            free(data[i].p);
        f8d_grpc_fail(c, F8D_ENOMEM, "out of memory for the answer");
        return;
    }
    resp.model_name = m->name;
    resp.model_version = (char *)m->version;
    resp.id = r->id;
    resp.n_outputs = no;
    resp.outputs = out_ptrs;
    resp.n_raw_output_contents = no;
    resp.raw_output_contents = raw;
    f8d_grpc_reply(c, &resp.base);
    for (unsigned i = 0; i < no; i++)
        free(data[i].p);
}

static void infer_done(struct f8d_request *req)
{
    struct f8d_grpc_call *c = req->owner;
    struct f8d_server *s = f8d_grpc_server_of(c);
    c->submitted = false;
    s->work_in_flight--;
    if (req->err.code != F8D_OK)
        f8d_grpc_fail(c, req->err.code, "%s", req->err.message);
    else
        answer(c);
    f8d_grpc_call_settle(c);
}

/* Pixels given one protobuf value each take a pass per pixel to convert: past this many, the
 * parse runs on the background pool (core/background.h), as REST's JSON does, not on the loop. */
#define F8D_GRPC_INLINE_VALUES 65536u

/* The parsed request's images to the core request, its deadline, and submit. */
static void submit_parsed(struct f8d_grpc_call *c)
{
    struct f8d_server *s = f8d_grpc_server_of(c);
    struct f8d_grpc_infer *in = c->infer;
    if (in->code != F8D_OK) {
        f8d_grpc_fail(c, in->code, "%s", in->error);
        return;
    }
    if (c->core.cancelled) {
        /* call_closed sets the deadline to "now" when the library cancelled the call because
         * its deadline passed (here: while the request was parsed on the pool) */
        if (c->core.deadline_ns != 0)
            f8d_grpc_fail(c, F8D_EDEADLINE, "the deadline passed while the request was parsed");
        else
            f8d_grpc_fail(c, F8D_ECANCELED, "the call was cancelled");
        return;
    }
    c->core.on_done = infer_done;
    c->core.owner = c;
    if (f8d_request_alloc_items(&c->core, in->n_items) != F8D_OK) {
        f8d_grpc_fail(c, c->core.err.code, "%s", c->core.err.message);
        return;
    }
    for (unsigned i = 0; i < in->n_items; i++) {
        c->core.items[i].data = in->items[i].data;
        c->core.items[i].len = in->items[i].len;
        c->core.items[i].raw = in->items[i].raw;
    }
    /* the earlier of the call's deadline and the `timeout` parameter, which counts from the
     * call's arrival (as REST's does), so a long parse on the pool counts against it */
    uint64_t left = ns_left(c->deadline);
    if (left != UINT64_MAX)
        c->core.deadline_ns = uv_hrtime() + left;
    if (in->timeout_us != 0) {
        uint64_t by_parameter = c->start_ns + in->timeout_us * 1000u;
        if (c->core.deadline_ns == 0 || by_parameter < c->core.deadline_ns)
            c->core.deadline_ns = by_parameter;
    }
    if (f8d_request_submit(&c->core) != F8D_OK) {
        f8d_grpc_fail(c, c->core.err.code, "%s", c->core.err.message);
        return;
    }
    c->submitted = true;
    s->work_in_flight++;
}

static void parse_work(struct f8d_bg_job *w)
{
    struct f8d_grpc_call *c = w->data;
    f8d_grpc_parse_infer((const Inference__ModelInferRequest *)c->msg, &c->spec, c->infer);
}

static void parse_done(struct f8d_bg_job *w)
{
    struct f8d_grpc_call *c = w->data;
    f8d_grpc_server_of(c)->work_in_flight--;
    c->submitted = false; /* the parse is back: the call may be freed again */
    submit_parsed(c);
    f8d_grpc_call_settle(c);
}

void f8d_grpc_handle_infer(struct f8d_grpc_call *c)
{
    struct f8d_server *s = f8d_grpc_server_of(c);
    const Inference__ModelInferRequest *r = (const Inference__ModelInferRequest *)c->msg;
    struct f8d_model *m = f8d_grpc_model(c, r->model_name, r->model_version);
    if (m == NULL)
        return;
    if ((c->infer = calloc(1, sizeof(*c->infer))) == NULL) {
        f8d_grpc_fail(c, F8D_ENOMEM, "out of memory");
        return;
    }
    c->spec = (struct f8d_input_spec){m->info->input_h, m->info->input_w, m->info->input_c,
                                      m->info->num_classes, m->cfg.max_queue};
    bool heavy = r->n_inputs == 1 && r->inputs[0]->contents != NULL &&
                 r->inputs[0]->contents->n_uint_contents > F8D_GRPC_INLINE_VALUES;
    if (!heavy) {
        f8d_grpc_parse_infer(r, &c->spec, c->infer);
        submit_parsed(c);
        return;
    }
    /* held meanwhile like a queued request: not freed, and the shutdown waits for it; a
     * cancel sets core.cancelled, seen when the parse is back */
    c->submitted = true;
    s->work_in_flight++;
    f8d_background_queue(&s->background, &c->parse_work, parse_work, parse_done, c);
}
