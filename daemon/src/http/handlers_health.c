/*
 * Health, metadata and metrics, KServe v2 style:
 *   GET /v2                        {"name":"f8d","version":...,"extensions":[...]}
 *   GET /v2/health/live            200 {"live":true} while the process serves
 *   GET /v2/health/ready           200 {"ready":true} when models are loaded (and warmed up)
 *                                  and the server is not shutting down, else 503
 *   GET /v2/models/{m}             name, versions, platform, inputs, outputs, labels,
 *                                  quantization (weight bits, group sizes, activation bits)
 *   GET /v2/models/{m}/ready       200 {"name":m,"ready":true}, 503 while shutting down
 *   GET /metrics                   Prometheus text format 0.0.4
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/errors.h"
#include "core/server.h"
#include "handlers.h"
#include "json_reply.h"

static json_t *labels_of(const struct f8d_model *m)
{
    json_t *labels = json_array();
    for (uint32_t i = 0; labels != NULL && i < m->info->num_classes; i++) {
        const char *l = f8_model_label(m->model, i);
        json_array_append_new(labels, l ? f8d_json_string(l) : json_null());
    }
    return labels;
}

/* Appends v to the sorted array a of distinct integers (a handful of entries). */
static void add_distinct(json_t *a, json_int_t v)
{
    size_t i = 0;
    for (; i < json_array_size(a); i++) {
        const json_int_t x = json_integer_value(json_array_get(a, i));
        if (x == v)
            return;
        if (x > v)
            break;
    }
    json_array_insert_new(a, i, json_integer(v));
}

/* How the model is quantized (docs/FORMAT.md §2.2, §2.5): the distinct weight bits of its
 * weighted ops (8; 2 for FGQ ternary), the group sizes of its ternary ops, and the word
 * lengths of its u8/s8 activations (8, or 4 for FGQ's 4-bit activations). */
static json_t *quantization_of(const struct f8d_model *m)
{
    json_t *wbits = json_array(), *groups = json_array(), *abits = json_array();
    for (uint32_t i = 0; wbits && groups && i < m->info->num_ops; i++) {
        f8_op_desc d;
        if (f8_model_op(m->model, i, &d) != F8_OK || d.weight_bits == 0)
            continue;
        add_distinct(wbits, d.weight_bits);
        if (d.group_size)
            add_distinct(groups, d.group_size);
    }
    for (uint32_t i = 0; abits && i < m->info->num_values; i++) {
        f8_value_desc v;
        if (f8_model_value(m->model, i, &v) == F8_OK && v.dtype != F8_DTYPE_S32)
            add_distinct(abits, v.bits ? v.bits : 8);
    }
    return json_pack("{s:o, s:o, s:o}", "weight_bits", wbits, "group_sizes", groups,
                     "activation_bits", abits);
}

static json_t *model_metadata(const struct f8d_model *m)
{
    const f8_model_info *info = m->info;
    return json_pack(
        "{s:o, s:[s], s:s, s:[{s:s, s:s, s:[i,i,i,i]}, {s:s, s:s, s:[i]}],"
        " s:[{s:s, s:s, s:[i,i]}, {s:s, s:s, s:[i,i]}],"
        " s:{s:i, s:i, s:i, s:i, s:i, s:s, s:I, s:o, s:o}}",
        "name", f8d_json_string(m->name), "versions", m->version, "platform", "f8",
        "inputs", "name", "image", "datatype", "UINT8", "shape", -1, (int)info->input_h,
        (int)info->input_w, (int)info->input_c,
        "name", "image_bytes", "datatype", "BYTES", "shape", -1,
        "outputs", "name", "logits", "datatype", "INT32", "shape", -1, (int)info->num_classes,
        "name", "probabilities", "datatype", "FP32", "shape", -1, (int)info->num_classes,
        "parameters", "input_fl", info->input_fl, "output_fl", info->output_fl,
        "max_batch_size", (int)m->cfg.max_batch_size, "max_queue", (int)m->cfg.max_queue,
        "max_queue_delay_us", (int)m->cfg.max_queue_delay_us, "execution",
        m->cfg.execution == F8D_EXECUTION_LATENCY      ? "latency"
        : m->cfg.execution == F8D_EXECUTION_THROUGHPUT ? "throughput"
                                                        : "auto",
        "image_us", (json_int_t)(m->image_ns / 1000), "labels", labels_of(m),
        "quantization", quantization_of(m));
}

enum MHD_Result f8d_health_handle(struct f8d_http_request *req)
{
    const struct f8d_server *s = req->server;
    int ready = f8d_server_ready(s);

    switch (req->route.kind) {
    case F8D_ROUTE_LIVE:
        return f8d_reply_json(req, 200, json_pack("{s:b}", "live", 1));
    case F8D_ROUTE_READY:
        return f8d_reply_json(req, ready ? 200 : 503, json_pack("{s:b}", "ready", ready));
    case F8D_ROUTE_SERVER_META:
        return f8d_reply_json(req, 200,
                              json_pack("{s:s, s:s, s:[s,s,s]}", "name", "f8d", "version",
                                        F8D_VERSION, "extensions", "classification",
                                        "binary_tensor_data", "model_repository"));
    case F8D_ROUTE_MODEL_META:
        return f8d_reply_json(req, 200, model_metadata(req->core.model));
    case F8D_ROUTE_MODEL_READY:
        return f8d_reply_json(req, ready ? 200 : 503,
                              json_pack("{s:o, s:b}", "name", f8d_json_string(req->core.model->name),
                                        "ready", ready));
    default:
        break;
    }
    return f8d_reply_error(req, F8D_ENOTFOUND, "no such path: %s", req->path);
}

enum MHD_Result f8d_metrics_handle(struct f8d_http_request *req)
{
    size_t len = 0;
    char *text = f8d_metrics_render(req->server, &len);
    if (text == NULL)
        return f8d_reply_error(req, F8D_ENOMEM, "out of memory");
    return f8d_reply_buffer(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
