/* f8d gRPC ModelInfer parsing (grpc/infer_parse.c) without gRPC: messages built with
 * protobuf-c as a client would send them, the input forms, parameters, outputs, and refusals
 * with their messages; and the packed bytes a client sends round-trip through unpack. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "grpc/infer_parse.h"
#include "unit.h"

static const struct f8d_input_spec small = {2, 2, 3, 3, 4}; /* 2x2x3, 3 classes, 4 images */

/* A request with one input tensor; the caller fills the rest. */
struct msg {
    Inference__ModelInferRequest r;
    Inference__ModelInferRequest__InferInputTensor in, *ins[1];
    Inference__InferTensorContents contents;
    int64_t shape[4];
    ProtobufCBinaryData raw;
    Inference__InferParameter param;
    Inference__ModelInferRequest__ParametersEntry entry, *entries[1];
    Inference__ModelInferRequest__InferRequestedOutputTensor out, *outs[1];
};

static void msg_init(struct msg *m, const char *datatype, const int64_t *shape, size_t nd)
{
    inference__model_infer_request__init(&m->r);
    inference__model_infer_request__infer_input_tensor__init(&m->in);
    inference__infer_tensor_contents__init(&m->contents);
    m->ins[0] = &m->in;
    m->r.model_name = "small";
    m->r.n_inputs = 1;
    m->r.inputs = m->ins;
    m->in.name = "x";
    m->in.datatype = (char *)datatype;
    memcpy(m->shape, shape, nd * sizeof(int64_t));
    m->in.n_shape = nd;
    m->in.shape = m->shape;
}

static void msg_raw(struct msg *m, const void *data, size_t len)
{
    m->raw.data = (uint8_t *)data;
    m->raw.len = len;
    m->r.n_raw_input_contents = 1;
    m->r.raw_input_contents = &m->raw;
}

static void msg_param(struct msg *m, const char *key, int64_t value)
{
    inference__infer_parameter__init(&m->param);
    inference__model_infer_request__parameters_entry__init(&m->entry);
    m->param.parameter_choice_case = INFERENCE__INFER_PARAMETER__PARAMETER_CHOICE_INT64_PARAM;
    m->param.int64_param = value;
    m->entry.key = (char *)key;
    m->entry.value = &m->param;
    m->entries[0] = &m->entry;
    m->r.n_parameters = 1;
    m->r.parameters = m->entries;
}

static void test_bytes_raw_default_outputs(void)
{
    /* two JPEGs as Triton's clients send BYTES: u32 little-endian length, then the bytes */
    static const uint8_t raw[] = {3, 0, 0, 0, 'f', 'o', 'o', 2, 0, 0, 0, 'b', 'a'};
    struct msg m;
    struct f8d_grpc_infer in;
    msg_init(&m, "BYTES", (int64_t[]){2}, 1);
    msg_raw(&m, raw, sizeof(raw));
    CU_ASSERT_EQUAL_FATAL(f8d_grpc_parse_infer(&m.r, &small, &in), F8D_OK);
    CU_ASSERT_EQUAL(in.n_outputs, 2);
    CU_ASSERT_EQUAL(in.outputs[0].kind, F8D_OUT_LOGITS);
    CU_ASSERT_EQUAL(in.outputs[1].kind, F8D_OUT_PROBS);
    CU_ASSERT_EQUAL(in.timeout_us, 0);
    CU_ASSERT_EQUAL_FATAL(in.n_items, 2);
    CU_ASSERT_EQUAL(in.items[0].len, 3);
    CU_ASSERT_EQUAL(memcmp(in.items[0].data, "foo", 3), 0);
    CU_ASSERT_EQUAL(in.items[1].len, 2);
    CU_ASSERT_EQUAL(memcmp(in.items[1].data, "ba", 2), 0);
    CU_ASSERT_FALSE(in.items[0].raw);
    f8d_grpc_infer_clear(&in);
}

static void test_uint8_contents_and_classification(void)
{
    uint32_t px[12];
    for (int i = 0; i < 12; i++)
        px[i] = (uint32_t)(i * 20);
    struct msg m;
    struct f8d_grpc_infer in;
    msg_init(&m, "UINT8", (int64_t[]){1, 2, 2, 3}, 4);
    m.contents.n_uint_contents = 12;
    m.contents.uint_contents = px;
    m.in.contents = &m.contents;
    msg_param(&m, "classification", 2);
    CU_ASSERT_EQUAL_FATAL(f8d_grpc_parse_infer(&m.r, &small, &in), F8D_OK);
    CU_ASSERT_EQUAL(in.n_outputs, 1);
    CU_ASSERT_EQUAL(in.outputs[0].kind, F8D_OUT_PROBS);
    CU_ASSERT_EQUAL(in.outputs[0].classification, 2);
    CU_ASSERT_EQUAL_FATAL(in.n_items, 1);
    CU_ASSERT_TRUE(in.items[0].raw);
    CU_ASSERT_EQUAL(in.items[0].len, 12);
    CU_ASSERT_EQUAL(in.items[0].data[11], 220);
    f8d_grpc_infer_clear(&in);
}

static void test_named_output_and_timeout(void)
{
    static const uint8_t px[2 * 12] = {0};
    struct msg m;
    struct f8d_grpc_infer in;
    msg_init(&m, "UINT8", (int64_t[]){2, 2, 2, 3}, 4);
    msg_raw(&m, px, sizeof(px));
    msg_param(&m, "timeout", 250000);
    inference__model_infer_request__infer_requested_output_tensor__init(&m.out);
    m.out.name = "logits";
    m.outs[0] = &m.out;
    m.r.n_outputs = 1;
    m.r.outputs = m.outs;
    CU_ASSERT_EQUAL_FATAL(f8d_grpc_parse_infer(&m.r, &small, &in), F8D_OK);
    CU_ASSERT_EQUAL(in.timeout_us, 250000);
    CU_ASSERT_EQUAL(in.n_outputs, 1);
    CU_ASSERT_EQUAL(in.outputs[0].kind, F8D_OUT_LOGITS);
    CU_ASSERT_EQUAL(in.outputs[0].classification, 0);
    CU_ASSERT_EQUAL(in.n_items, 2);
    CU_ASSERT_PTR_EQUAL(in.items[1].data, px + 12);
    f8d_grpc_infer_clear(&in);
}

/* Packs m, unpacks it as the pump thread does, parses: the result code and message. */
static int via_wire(struct msg *m, char *error, size_t n)
{
    size_t len = inference__model_infer_request__get_packed_size(&m->r);
    uint8_t *buf = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    inference__model_infer_request__pack(&m->r, buf);
    Inference__ModelInferRequest *r = inference__model_infer_request__unpack(NULL, len, buf);
    free(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct f8d_grpc_infer in;
    int rc = f8d_grpc_parse_infer(r, &small, &in);
    snprintf(error, n, "%s", in.error);
    f8d_grpc_infer_clear(&in);
    inference__model_infer_request__free_unpacked(r, NULL);
    return rc;
}

static void test_refusals_have_messages(void)
{
    char err[F8D_ERR_SIZE];
    struct msg m;
    static const uint8_t short_raw[] = {9, 0, 0, 0, 'x'};
    static const uint8_t px[12] = {0};

    msg_init(&m, "BYTES", (int64_t[]){1}, 1);
    msg_raw(&m, short_raw, sizeof(short_raw));
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ends inside image 0"));

    msg_init(&m, "BYTES", (int64_t[]){5}, 1); /* over max_images (4) */
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 to 4 images"));

    msg_init(&m, "UINT8", (int64_t[]){1, 3, 2, 3}, 4); /* wrong height */
    msg_raw(&m, px, sizeof(px));
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "[N,2,2,3]"));

    msg_init(&m, "UINT8", (int64_t[]){-1, 2, 2, 3}, 4); /* negative count */
    msg_raw(&m, px, sizeof(px));
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);

    msg_init(&m, "FP32", (int64_t[]){1, 2, 2, 3}, 4);
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "FP32"));

    msg_init(&m, "UINT8", (int64_t[]){1, 2, 2, 3}, 4);
    msg_raw(&m, px, sizeof(px));
    msg_param(&m, "classification", 4); /* 3 classes */
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "classification"));

    msg_init(&m, "UINT8", (int64_t[]){1, 2, 2, 3}, 4);
    msg_raw(&m, px, sizeof(px));
    m.in.contents = &m.contents; /* raw and contents both */
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not both"));

    msg_init(&m, "UINT8", (int64_t[]){1, 2, 2, 3}, 4);
    m.r.n_inputs = 0;
    CU_ASSERT_EQUAL(via_wire(&m, err, sizeof(err)), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exactly one input"));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"BYTES raw, default outputs", test_bytes_raw_default_outputs},
        {"UINT8 uint_contents, classification", test_uint8_contents_and_classification},
        {"named output, timeout", test_named_output_and_timeout},
        {"refusals have messages", test_refusals_have_messages},
        CU_TEST_INFO_NULL,
    };
    return unit_run("grpc_parse", tests);
}
