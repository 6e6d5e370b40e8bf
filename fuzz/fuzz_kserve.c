/*
 * libFuzzer harness: the KServe v2 infer body (daemon/src/http/kserve_parse.c): JSON header,
 * base64 BYTES, nested UINT8 arrays, the binary tensor extension's tail.
 *
 * Input layout: the first 2 bytes pick the Inference-Header-Content-Length (0xffff: absent,
 * else that many bytes of the rest are the JSON header); the rest is the body. Each body is
 * parsed for two models: Fashion's 28x28x1 with 10 classes and a 2x2x3 model with 3 classes.
 * A successful parse is checked: 1 to 4 outputs, 1 to max_images items, each inside the body
 * or the decoded blob, raw items exactly one input long.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "http/kserve_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *body, size_t body_len, long long header_len,
                  const struct f8d_input_spec *m)
{
    struct f8d_kserve_request r;
    int rc = f8d_kserve_parse(body, body_len, header_len, m, &r);
    if (rc != r.code || memchr(r.error, '\0', sizeof(r.error)) == NULL)
        abort();
    if (rc != F8D_OK) {
        if (r.error[0] == '\0')
            abort(); /* every refusal says why */
    } else {
        if (r.n_outputs < 1 || r.n_outputs > F8D_MAX_OUTPUTS)
            abort();
        for (unsigned i = 0; i < r.n_outputs; i++)
            if (r.outputs[i].classification > m->num_classes)
                abort();
        if (r.n_items < 1 || r.n_items > m->max_images)
            abort();
        size_t image_bytes = (size_t)m->input_h * m->input_w * m->input_c;
        unsigned sum = 0;
        for (unsigned i = 0; i < r.n_items; i++) {
            const struct f8d_kserve_item *it = &r.items[i];
            if (it->raw && it->len != image_bytes)
                abort();
            for (size_t j = 0; j < it->len; j++) /* ASan: each item is readable */
                sum += it->data[j];
        }
        (void)sum;
    }
    f8d_kserve_request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned hl = (unsigned)data[0] | (unsigned)data[1] << 8;
    long long header_len = hl == 0xffff ? -1 : (long long)hl;
    /* a copy of exactly the body's size, so ASan sees any read past its end */
    size_t body_len = size - 2;
    uint8_t *body = malloc(body_len ? body_len : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data + 2, body_len);
    static const struct f8d_input_spec models[2] = {
        {28, 28, 1, 10, 16},
        {2, 2, 3, 3, 4},
    };
    for (int i = 0; i < 2; i++)
        check(body, body_len, header_len, &models[i]);
    free(body);
    return 0;
}
