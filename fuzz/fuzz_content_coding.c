/*
 * libFuzzer harness: request body content codings (daemon/src/http/content_coding.c): the
 * Content-Encoding header and the inflation of gzip / deflate bodies under a size limit.
 *
 * Input layout: byte 0 picks the coding (even: gzip, odd: deflate), byte 1 the limit
 * (1 << (byte % 21) bytes, 1 B to 1 MiB, so bombs meet small and large limits); the rest is
 * the body, which is also read as a header value. Checked: a success gives at most the limit,
 * every byte readable; a failure gives no buffer and says why, with one of the documented
 * codes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "http/content_coding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum f8d_coding coding = (data[0] & 1) ? F8D_CODING_DEFLATE : F8D_CODING_GZIP;
    uint64_t max = UINT64_C(1) << (data[1] % 21);
    /* a copy of exactly the body's size, so ASan sees any read past its end */
    size_t n = size - 2;
    uint8_t *body = malloc(n ? n : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data + 2, n);

    uint8_t *out = NULL;
    size_t len = 0;
    char err[256] = "";
    int rc = f8d_coding_decode(coding, body, n, max, &out, &len, err, sizeof(err));
    if (rc == F8D_OK) {
        if (len > max || (out == NULL && len > 0))
            abort();
        unsigned sum = 0;
        for (size_t i = 0; i < len; i++)
            sum += out[i];
        (void)sum;
    } else {
        if (out != NULL || len != 0 || err[0] == '\0')
            abort();
        if (rc != F8D_EINVAL && rc != F8D_ETOOBIG && rc != F8D_ENOMEM)
            abort();
    }
    free(out);

    /* the body as a header value (NUL-terminated copy) */
    char *header = malloc(n + 1);
    if (header != NULL) {
        memcpy(header, body, n);
        header[n] = '\0';
        enum f8d_coding c;
        rc = f8d_coding_parse(header, &c, err, sizeof(err));
        if (rc != F8D_OK && (rc != F8D_EMEDIA || err[0] == '\0'))
            abort();
        free(header);
    }
    free(body);
    return 0;
}
