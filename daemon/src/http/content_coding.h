/*
 * f8d request body content codings (RFC 9110 8.4): which `Content-Encoding` a request may
 * carry, and the inflation of a gzip or deflate body into the bytes the handlers read.
 *
 * Pure functions (zlib, no MHD, no server): the header is checked on the loop when the request
 * starts; the body is inflated off the loop (the background pool), with the decoded size bounded by
 * the same max_body_bytes that bounds a plain body, so a small "gzip bomb" costs at most that
 * much memory and time before it is refused with F8D_ETOOBIG (413).
 */
#ifndef F8D_CONTENT_CODING_H
#define F8D_CONTENT_CODING_H

#include <stddef.h>
#include <stdint.h>

enum f8d_coding {
    F8D_CODING_IDENTITY = 0, /* no header, or "identity" */
    F8D_CODING_GZIP,         /* "gzip" or "x-gzip": RFC 1952, members may be concatenated */
    F8D_CODING_DEFLATE       /* "deflate": the zlib format (RFC 1950); a raw deflate stream,
                              * as some clients send, is taken too */
};

/* Reads a Content-Encoding header value (NULL: none sent; case and spaces ignored). Returns
 * F8D_OK with *out set, or F8D_EMEDIA (415) with a message naming the encoding when it is
 * none of the above or lists several codings. */
int f8d_coding_parse(const char *header, enum f8d_coding *out, char *err, size_t errlen);

/* "identity", "gzip", "deflate". */
const char *f8d_coding_name(enum f8d_coding coding);

/* Decodes `in` (n bytes, coded with `coding`, not identity) into a new malloc'd buffer of at
 * most `max` bytes: *out (owned by the caller) and *out_len. Returns F8D_OK, F8D_ETOOBIG when
 * the decoded body would be longer than max, F8D_EINVAL when the data is not a whole valid
 * stream of that coding, or F8D_ENOMEM; on an error *out is NULL and err says why. */
int f8d_coding_decode(enum f8d_coding coding, const uint8_t *in, size_t n, uint64_t max,
                      uint8_t **out, size_t *out_len, char *err, size_t errlen);

#endif /* F8D_CONTENT_CODING_H */
