/*
 * One JPEG as a packed KServe v2 ModelInferRequest: a BYTES input "image_bytes" of shape [1]
 * in raw_input_contents (u32 little-endian length, then the bytes), and the classification
 * extension's parameter when classification > 0. Shared by f8-classify and bench/grpc_load.
 */
#ifndef F8C_GRPC_REQUEST_H
#define F8C_GRPC_REQUEST_H

#include <stddef.h>

#include <grpc/byte_buffer.h>

/* NULL when out of memory. The caller destroys the buffer (and copies it per call: sending
 * takes its slices). */
grpc_byte_buffer *f8c_grpc_request(const char *model, const unsigned char *jpeg, size_t len,
                                   int classification);

#endif /* F8C_GRPC_REQUEST_H */
