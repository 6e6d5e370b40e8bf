/*
 * f8d restricted API (Triton's --http-restricted-api): with `restricted_api = HEADER:VALUE`,
 * every route that changes the server (router.h: `changes_server`) must carry HEADER with
 * exactly VALUE, or is refused with F8D_EFORBIDDEN (403). The message names the header, never
 * the value; values are compared in constant time.
 */
#ifndef F8D_RESTRICTED_H
#define F8D_RESTRICTED_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct f8d_options;

/* Whether a[0..alen) equals b[0..blen), in a time that depends on blen (the secret's length
 * is not hidden) but not on where the bytes differ. */
bool f8d_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

/* F8D_OK when the request may change the server (no restriction set, or the header carries
 * the value), else F8D_EFORBIDDEN with the reason in why. */
int f8d_restricted_check(const struct f8d_options *opts, struct MHD_Connection *conn, char *why,
                         size_t whylen);

#endif /* F8D_RESTRICTED_H */
