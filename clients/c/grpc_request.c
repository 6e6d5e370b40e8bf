/* f8-classify (and bench/grpc_load): one JPEG as a packed KServe v2 ModelInferRequest. */
#include <stdlib.h>
#include <string.h>

#include "grpc_request.h"
#include "grpc_predict_v2.pb-c.h"

grpc_byte_buffer *f8c_grpc_request(const char *model, const unsigned char *jpeg, size_t len,
                                   int classification)
{
    uint8_t *raw = malloc(len + 4);
    if (raw == NULL)
        return NULL;
    raw[0] = (uint8_t)len, raw[1] = (uint8_t)(len >> 8), raw[2] = (uint8_t)(len >> 16);
    raw[3] = (uint8_t)(len >> 24);
    memcpy(raw + 4, jpeg, len);
    Inference__ModelInferRequest r = INFERENCE__MODEL_INFER_REQUEST__INIT;
    Inference__ModelInferRequest__InferInputTensor in =
        INFERENCE__MODEL_INFER_REQUEST__INFER_INPUT_TENSOR__INIT;
    Inference__ModelInferRequest__InferInputTensor *ins[1] = {&in};
    int64_t shape[1] = {1};
    in.name = "image_bytes";
    in.datatype = "BYTES";
    in.n_shape = 1;
    in.shape = shape;
    ProtobufCBinaryData contents = {len + 4, raw};
    Inference__InferParameter k = INFERENCE__INFER_PARAMETER__INIT;
    k.parameter_choice_case = INFERENCE__INFER_PARAMETER__PARAMETER_CHOICE_INT64_PARAM;
    k.int64_param = classification;
    Inference__ModelInferRequest__ParametersEntry ke =
        INFERENCE__MODEL_INFER_REQUEST__PARAMETERS_ENTRY__INIT;
    ke.key = "classification";
    ke.value = &k;
    Inference__ModelInferRequest__ParametersEntry *params[1] = {&ke};
    r.model_name = (char *)model;
    r.n_inputs = 1;
    r.inputs = ins;
    r.n_raw_input_contents = 1;
    r.raw_input_contents = &contents;
    if (classification > 0) {
        r.n_parameters = 1;
        r.parameters = params;
    }
    size_t n = inference__model_infer_request__get_packed_size(&r);
    grpc_slice s = grpc_slice_malloc(n);
    inference__model_infer_request__pack(&r, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    free(raw);
    return bb;
}
