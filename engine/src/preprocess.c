/*
 * Image resize (docs/FORMAT.md §4), top-k ranking (§5) and the names of things.
 */
#include <stdlib.h>

#include "f8_internal.h"

/* One axis of the §4 bilinear map: for output index o, the two source indices and the
 * 16-bit fraction of the second. All arithmetic unsigned 64-bit, exactly as written there. */
typedef struct {
    uint32_t i0, i1, f;
} axis_tap;

static axis_tap axis_map(uint64_t in, uint64_t out, uint64_t o)
{
    const uint64_t step = (in << 16) / out;
    uint64_t s = ((2 * o + 1) * step) >> 1;
    s = s >= 32768 ? s - 32768 : 0;
    axis_tap t;
    uint64_t i0 = s >> 16, i1 = i0 + 1 < in - 1 ? i0 + 1 : in - 1;
    uint64_t f = s & 0xFFFF;
    if (i0 >= in - 1) {
        i0 = i1 = in - 1;
        f = 0;
    }
    t.i0 = (uint32_t)i0;
    t.i1 = (uint32_t)i1;
    t.f = (uint32_t)f;
    return t;
}

int f8_image_resize(const uint8_t *src, uint32_t src_h, uint32_t src_w, uint32_t channels,
                    uint8_t *dst, uint32_t dst_h, uint32_t dst_w)
{
    if (!src || !dst || !src_h || !src_w || !channels || !dst_h || !dst_w)
        return F8_EINVAL;
    const size_t row = (size_t)src_w * channels;
    for (uint32_t oy = 0; oy < dst_h; oy++) {
        const axis_tap ty = axis_map(src_h, dst_h, oy);
        const uint8_t *r0 = src + (size_t)ty.i0 * row, *r1 = src + (size_t)ty.i1 * row;
        const uint64_t fy = ty.f;
        for (uint32_t ox = 0; ox < dst_w; ox++) {
            const axis_tap tx = axis_map(src_w, dst_w, ox);
            const uint64_t fx = tx.f;
            const size_t x0 = (size_t)tx.i0 * channels, x1 = (size_t)tx.i1 * channels;
            uint8_t *d = dst + ((size_t)oy * dst_w + ox) * channels;
            for (uint32_t c = 0; c < channels; c++) {
                const uint64_t top = r0[x0 + c] * (65536 - fx) + r0[x1 + c] * fx;
                const uint64_t bot = r1[x0 + c] * (65536 - fx) + r1[x1 + c] * fx;
                d[c] = (uint8_t)((top * (65536 - fy) + bot * fy + ((uint64_t)1 << 31)) >> 32);
            }
        }
    }
    return F8_OK;
}

uint32_t f8_top_k(const int32_t *logits, uint32_t n, uint32_t k, uint32_t *indices)
{
    if (!logits || !indices)
        return 0;
    if (k > n)
        k = n;
    /* Insertion into a sorted list of k: scanning indices in increasing order and moving
     * only past strictly smaller logits keeps ties in index order. */
    uint32_t have = 0;
    for (uint32_t i = 0; i < n && k; i++) {
        if (have == k && logits[i] <= logits[indices[k - 1]])
            continue;
        uint32_t pos = have < k ? have++ : k - 1;
        while (pos > 0 && logits[indices[pos - 1]] < logits[i]) {
            indices[pos] = indices[pos - 1];
            pos--;
        }
        indices[pos] = i;
    }
    return have;
}

const char *f8_strerror(int err)
{
    switch (err) {
    case F8_OK: return "success";
    case F8_EIO: return "I/O error";
    case F8_EFORMAT: return "invalid model file";
    case F8_ENOMEM: return "out of memory";
    case F8_EINVAL: return "invalid argument";
    case F8_ERANGE: return "index out of range";
    default: return "unknown error";
    }
}

const char *f8_op_type_name(f8_op_type type)
{
    switch (type) {
    case F8_OP_CONV2D: return "CONV2D";
    case F8_OP_DENSE: return "DENSE";
    case F8_OP_ADD: return "ADD";
    case F8_OP_MAXPOOL: return "MAXPOOL";
    case F8_OP_AVGPOOL: return "AVGPOOL";
    default: return "UNKNOWN";
    }
}

const char *f8_dtype_name(f8_dtype dtype)
{
    switch (dtype) {
    case F8_DTYPE_U8: return "u8";
    case F8_DTYPE_S8: return "s8";
    case F8_DTYPE_S32: return "s32";
    default: return "unknown";
    }
}
