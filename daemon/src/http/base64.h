/* f8d text encodings: base64 decoding of BYTES tensors in KServe v2 JSON (RFC 4648, standard
 * or URL-safe alphabet, padding optional, no whitespace), and hex digits (percent-encoded
 * paths, JSON \u escapes). */
#ifndef F8D_BASE64_H
#define F8D_BASE64_H

#include <stddef.h>

/* Decodes len characters of text into out (at least len / 4 * 3 + 3 bytes). Returns the
 * number of bytes written, or (size_t)-1 when the text is not base64. */
size_t f8d_base64_decode(const char *text, size_t len, unsigned char *out);

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int f8d_hex_digit(char c);

#endif /* F8D_BASE64_H */
