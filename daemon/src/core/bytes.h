/*
 * f8d byte strings: a buffer that grows as bytes are appended, for answers laid out as the
 * binary tensor formats want them (REST's binary extension, gRPC's raw_output_contents:
 * little-endian INT32 / FP32, BYTES as a u32 little-endian length before each string). Out of
 * memory is remembered (`failed`) and checked once at the end.
 */
#ifndef F8D_BYTES_H
#define F8D_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct f8d_bytes {
    uint8_t *p;   /* malloc'd; the owner frees it */
    size_t len, cap;
    bool failed;
};

void f8d_bytes_put(struct f8d_bytes *b, const void *data, size_t n);

/* v as 4 little-endian bytes. */
void f8d_bytes_put_u32(struct f8d_bytes *b, uint32_t v);

/* A BYTES element: its length (u32 little-endian), then the bytes. */
void f8d_bytes_put_string(struct f8d_bytes *b, const void *data, size_t n);

#endif /* F8D_BYTES_H */
