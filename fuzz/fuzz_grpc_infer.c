/*
 * libFuzzer harness: gRPC ModelInfer decoding — the request message as protobuf-c unpacks it
 * (what the pump thread does with a call's bytes) and daemon/src/grpc/infer_parse.c on what
 * unpacks (BYTES raw and bytes_contents, UINT8 raw and uint_contents, parameters, outputs).
 *
 * Each message is parsed for two models: Fashion's 28x28x1 with 10 classes and a 2x2x3 model
 * with 3 classes. A successful parse is checked: 1 to 4 outputs with classification within
 * the classes, 1 to max_images items, raw items exactly one input long, every item readable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "grpc/infer_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const Inference__ModelInferRequest *r, const struct f8d_input_spec *m)
{
    struct f8d_grpc_infer in;
    int rc = f8d_grpc_parse_infer(r, m, &in);
    if (rc != in.code || memchr(in.error, '\0', sizeof(in.error)) == NULL)
        abort();
    if (rc != F8D_OK) {
        if (in.error[0] == '\0')
            abort(); /* every refusal says why */
    } else {
        if (in.n_outputs < 1 || in.n_outputs > F8D_MAX_OUTPUTS)
            abort();
        for (unsigned i = 0; i < in.n_outputs; i++)
            if (in.outputs[i].classification > m->num_classes)
                abort();
        if (in.n_items < 1 || in.n_items > m->max_images)
            abort();
        size_t image_bytes = (size_t)m->input_h * m->input_w * m->input_c;
        unsigned sum = 0;
        for (unsigned i = 0; i < in.n_items; i++) {
            const struct f8d_grpc_item *it = &in.items[i];
            if (it->raw && it->len != image_bytes)
                abort();
            for (size_t j = 0; j < it->len; j++) /* ASan: each item is readable */
                sum += it->data[j];
        }
        (void)sum;
    }
    f8d_grpc_infer_clear(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Inference__ModelInferRequest *r = inference__model_infer_request__unpack(NULL, size, data);
    if (r == NULL)
        return 0;
    static const struct f8d_input_spec fashion = {28, 28, 1, 10, 64};
    static const struct f8d_input_spec tiny = {2, 2, 3, 3, 4};
    check(r, &fashion);
    check(r, &tiny);
    inference__model_infer_request__free_unpacked(r, NULL);
    return 0;
}
