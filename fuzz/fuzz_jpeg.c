/*
 * libFuzzer harness: libf8img's JPEG path, as the daemon's decode workers run it: the header
 * (f8img_read_header), then f8img_decode_to_input into the input of a Fashion-sized model
 * (28x28x1), of a small colour model (32x32x3) and of a shape picked from the input's size
 * (1..61 x 1..61, grey or colour: odd sizes, upscaling, 1-pixel outputs for the resize), with a
 * max_pixels limit, so that a fuzzed header cannot ask for gigabytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "f8img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIXELS (1u << 20)

static f8img_decoder *decoder;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (decoder == NULL && f8img_decoder_create(&decoder) != F8IMG_OK)
        abort();
    char err[256];
    uint32_t w = 0, h = 0;
    int rc = f8img_read_header(decoder, data, size, &w, &h, err, sizeof(err));
    if (rc == F8IMG_OK && (w == 0 || h == 0))
        abort(); /* a header that reads must give a size */

    const uint32_t shapes[3][3] = {
        {28, 28, 1},
        {32, 32, 3},
        {1 + (uint32_t)(size % 61), 1 + (uint32_t)(size / 61 % 61), size / 3721 % 2 ? 3u : 1u},
    };
    for (int s = 0; s < 3; s++) {
        uint32_t oh = shapes[s][0], ow = shapes[s][1], oc = shapes[s][2];
        uint8_t *out = malloc((size_t)oh * ow * oc); /* exact size: ASan sees overruns */
        if (out == NULL)
            abort();
        err[0] = '\0';
        rc = f8img_decode_to_input(decoder, data, size, oh, ow, oc, MAX_PIXELS, out, err,
                                   sizeof(err));
        if (rc != F8IMG_OK && (rc < F8IMG_EINVAL || err[0] == '\0'))
            abort(); /* failures are one of the codes, with a message */
        if (rc == F8IMG_OK) {
            unsigned sum = 0; /* every output byte written (MSan would tell; ASan sees reads) */
            for (size_t i = 0; i < (size_t)oh * ow * oc; i++)
                sum += out[i];
            (void)sum;
        }
        free(out);
    }
    return 0;
}
