/*
 * f8d KServe v2 request parsing: the JSON header and the binary tensor extension's tail of an
 * infer request, as a pure function (no MHD, no server, no model struct), so that it can be
 * tested and fuzzed on its own. handlers_infer.c runs it on a worker thread and turns the
 * parsed items into the core request's items.
 *
 * The request format is described at the top of handlers_infer.c.
 */
#ifndef F8D_KSERVE_PARSE_H
#define F8D_KSERVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/infer_spec.h"
#include "core/request.h" /* F8D_ERR_SIZE */
#include "json_scan.h"

/* One image: a JPEG, or (raw) the model's input bytes. Points into the body or the blob. */
struct f8d_kserve_item {
    const uint8_t *data;
    size_t len;
    bool raw;
};

struct f8d_kserve_request {
    char *id;                /* echoed, or NULL */
    uint8_t *blob;           /* decoded images / pixels */
    struct f8d_kserve_item *items;
    unsigned n_items;
    struct f8d_output outputs[F8D_MAX_OUTPUTS];
    unsigned n_outputs;
    uint64_t timeout_us;     /* the "timeout" parameter (microseconds), 0: none */
    int code;                /* F8D_OK, or what was wrong */
    char error[F8D_ERR_SIZE];
    /* while parsing: the JSON text, and where its input's "data" array lies in it (read from
     * the text, not built by jansson: json_scan.h) */
    const char *json;
    struct f8d_json_scan scan;
};

/* Parses body[0 .. body_len): the JSON header is all of it, or its first header_len bytes
 * when header_len >= 0 (Inference-Header-Content-Length), the rest the binary data. Fills
 * *out (which it clears first); the items point into `body` and out->blob, so the body must
 * outlive them. Returns F8D_OK, or an F8D_E* code with the message in out->error. Free with
 * f8d_kserve_request_free in either case. */
int f8d_kserve_parse(const uint8_t *body, size_t body_len, long long header_len,
                     const struct f8d_input_spec *model, struct f8d_kserve_request *out);

void f8d_kserve_request_free(struct f8d_kserve_request *r);

#endif /* F8D_KSERVE_PARSE_H */
