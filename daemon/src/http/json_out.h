/*
 * f8d JSON text written straight into a byte buffer, for the small answers sent on every
 * request (`/predictions`): no jansson objects built and serialised twice. The text is the
 * one jansson writes for the same values with JSON_COMPACT | JSON_REAL_PRECISION(6) and
 * f8d_json_string's strings (test_daemon_json_out checks it byte for byte against jansson).
 * Out of memory is remembered in the buffer (`failed`), as f8d_bytes does.
 */
#ifndef F8D_JSON_OUT_H
#define F8D_JSON_OUT_H

#include <stdint.h>

#include "core/bytes.h"

/* Literal JSON syntax: braces, commas, "key": prefixes. */
void f8d_json_out_raw(struct f8d_bytes *b, const char *text);

/* s as a JSON string: quoted, escaped as jansson escapes it; if s is not valid UTF-8 its
 * bytes >= 0x80 become '?' (f8d_json_string's rule). */
void f8d_json_out_string(struct f8d_bytes *b, const char *s);

void f8d_json_out_uint(struct f8d_bytes *b, uint64_t v);

/* A finite v with 6 significant digits ("%.6g"), always with a '.' or an exponent, the
 * exponent without '+' or leading zeros: jansson's JSON_REAL_PRECISION(6). */
void f8d_json_out_real6(struct f8d_bytes *b, double v);

#endif /* F8D_JSON_OUT_H */
