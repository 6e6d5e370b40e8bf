/*
 * libf8 internal: the model object shared by the loader, the runner and the tests.
 */
#ifndef F8_INTERNAL_H
#define F8_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "f8.h"
#include "kernels/kernels.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libf8 reads little-endian tensors in place: big-endian hosts are not supported"
#endif

/* Per-image element limit for one value (h*w*c). Far above any real model; it keeps all
 * size arithmetic well inside 64 bits. */
#define F8_MAX_VALUE_ELEMS ((uint64_t)1 << 31)

typedef struct {
    f8_op_desc desc;
    f8_kernel_args args; /* shapes and tensor pointers into the model's bytes */
    f8_packed pk;        /* SIMD layouts (pack.c); kind NONE: scalar kernel only */
} f8_op_impl;

struct f8_model {
    const uint8_t *data; /* the whole file: mmap'ed or a 64-aligned heap copy */
    size_t size;
    int mapped;

    f8_model_info info;
    uint32_t output_value;
    f8_value_desc *values; /* [num_values] */
    f8_op_impl *ops;       /* [num_ops] */

    uint32_t num_meta;
    const char **meta_keys, **meta_values; /* point into `strings` */
    char *strings;
    const char **labels; /* [num_classes], point into `strings` */
    uint8_t *zero;       /* zero bytes, as many as the widest packed input pixel (+64) */
};

/* Runs one op on `batch` images (back to back) with the kernels `isa` selects, exactly as a
 * runner would (for the tests). `zero`: at least op->pk.seg4 + 64 zero bytes. */
void f8_op_exec(const f8_op_impl *op, f8_isa isa, const uint8_t *zero, uint32_t batch,
                const void *x0, const void *x1, void *y);

/* Resolves F8_ISA_AUTO (cpuid, or the F8_ISA environment variable) and checks support. */
int f8_isa_resolve(f8_isa want, f8_isa *out);

/* CRC-32 (zlib / ISO-HDLC): crc = f8_crc32(0, data, n), or chained over several pieces. */
uint32_t f8_crc32(uint32_t crc, const void *data, size_t n);

#endif /* F8_INTERNAL_H */
