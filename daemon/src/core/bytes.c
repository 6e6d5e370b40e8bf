/* f8d byte strings (bytes.h). */
#include "bytes.h"

#include <stdlib.h>
#include <string.h>

void f8d_bytes_put(struct f8d_bytes *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->cap + n) * 2;
        uint8_t *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void f8d_bytes_put_u32(struct f8d_bytes *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    f8d_bytes_put(b, le, 4);
}

void f8d_bytes_put_string(struct f8d_bytes *b, const void *data, size_t n)
{
    f8d_bytes_put_u32(b, (uint32_t)n);
    f8d_bytes_put(b, data, n);
}
