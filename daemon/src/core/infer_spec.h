/*
 * f8d inference requests, the parts every protocol shares: what the model takes (the input
 * shape and the images a request may carry) and which outputs a client asked for (logits,
 * probabilities, or Triton's classification extension: the K best as "score:index:label").
 * The REST parser (http/kserve_parse.h) and the gRPC one (grpc/infer_parse.h) both fill
 * these, and both answer from them with the same scores (f8d_output_class).
 */
#ifndef F8D_INFER_SPEC_H
#define F8D_INFER_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define F8D_MAX_OUTPUTS 4

enum f8d_out_kind { F8D_OUT_LOGITS = 1, F8D_OUT_PROBS = 2 };

struct f8d_output {
    enum f8d_out_kind kind;
    const char *name;        /* static: "logits" or "probabilities" */
    uint32_t classification; /* 0 = plain tensor, else K of "score:index:label" */
    bool binary;             /* REST's binary tensor extension: data after the JSON */
};

/* What a parser needs to know about the model. */
struct f8d_input_spec {
    uint32_t input_h, input_w, input_c;
    uint32_t num_classes;
    unsigned max_images;     /* images per request (the model's max_queue) */
};

/* The output named `name` ("logits", "probabilities") with classification k (0: none) into
 * *out; -1 for another name. */
int f8d_output_named(const char *name, uint32_t k, bool binary, struct f8d_output *out);

/* The outputs of a request that names none, into out[0..): with classification k, the K best
 * by probability; without, both tensors. Returns how many. */
unsigned f8d_outputs_default(struct f8d_output *out, uint32_t k, bool binary);

/* One classification entry, "score:index:label", into out (NUL-terminated, truncated to n).
 * The score is the class's probability, or its logit (value * 2^-fl) for the logits output.
 * Returns the length written. */
size_t f8d_output_class(char *out, size_t n, enum f8d_out_kind kind, double prob,
                        int32_t logit, int fl, uint32_t index, const char *label);

#endif /* F8D_INFER_SPEC_H */
