/* f8d base64: decoding of BYTES tensors in KServe v2 JSON (RFC 4648, standard or URL-safe
 * alphabet, padding optional, no whitespace). */
#ifndef F8D_BASE64_H
#define F8D_BASE64_H

#include <stddef.h>

/* Decodes len characters of text into out (at least len / 4 * 3 + 3 bytes). Returns the
 * number of bytes written, or (size_t)-1 when the text is not base64. */
size_t f8d_base64_decode(const char *text, size_t len, unsigned char *out);

#endif /* F8D_BASE64_H */
