/*
 * f8d gRPC ModelInfer requests: an unpacked inference.ModelInferRequest -> the images for the
 * batcher, the outputs asked for and the timeout, or an F8D_E* code with a message. A pure
 * function (no gRPC, no server), so that it can be tested and fuzzed on its own
 * (fuzz/fuzz_grpc_infer.c unpacks fuzzed bytes and calls it).
 *
 * Exactly one input:
 *   BYTES  shape [N] or [N,1]: N JPEGs, in raw_input_contents[0] (each element a u32
 *          little-endian length then its bytes, as Triton's clients send them) or in
 *          contents.bytes_contents (one entry per image).
 *   UINT8  shape [N,H,W,C] or [H,W,C] equal to the model's input: raw pixels, in
 *          raw_input_contents[0] or contents.uint_contents.
 * Parameters (request): "classification" (int64, 1..classes) asks for the K best classes of
 * every output named without its own; "timeout" (int64, microseconds, Triton's) bounds the
 * time in the queue. Outputs: "logits", "probabilities", each with an optional
 * "classification"; none named: both tensors, or the K best probabilities.
 */
#ifndef F8D_GRPC_INFER_PARSE_H
#define F8D_GRPC_INFER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/infer_spec.h"
#include "core/request.h" /* F8D_ERR_SIZE */
#include "grpc_predict_v2.pb-c.h"

/* One image: a JPEG, or (raw) the model's input bytes; points into the message or the blob. */
struct f8d_grpc_item {
    const uint8_t *data;
    size_t len;
    bool raw;
};

struct f8d_grpc_infer {
    struct f8d_grpc_item *items;
    unsigned n_items;
    uint8_t *blob;               /* pixels given as uint_contents, as bytes */
    struct f8d_output outputs[F8D_MAX_OUTPUTS];
    unsigned n_outputs;
    uint64_t timeout_us;         /* 0: none */
    int code;                    /* F8D_OK, or what was wrong */
    char error[F8D_ERR_SIZE];
};

/* Parses r for a model of the given input (out cleared first). Returns F8D_OK or an F8D_E*
 * code with the message in out->error; free with f8d_grpc_infer_clear either way. The items
 * point into r (and out->blob), which must outlive them. */
int f8d_grpc_parse_infer(const Inference__ModelInferRequest *r, const struct f8d_input_spec *spec,
                         struct f8d_grpc_infer *out);

void f8d_grpc_infer_clear(struct f8d_grpc_infer *in);

#endif /* F8D_GRPC_INFER_PARSE_H */
