/*
 * A scanner over the raw text of a KServe v2 inference request, run before jansson sees it,
 * so that what the JSON costs in memory is bounded by a small multiple of its size.
 *
 * f8d_json_scan() checks the syntax of the whole document without allocating, finds the
 * array value of "data" in the first element of the root's "inputs" (keys compared after
 * unescaping) and counts every other value. The caller then hands jansson the document with
 * that array read as "[]" (f8d_json_load(), same length, so error positions do not move) and
 * decodes the array itself from the text: numbers straight into a pixel buffer
 * (f8d_json_span_bytes()), or, for strings, counted first (f8d_json_span_strings()) so that
 * jansson only ever builds as many as the shape allows.
 */
#ifndef F8D_HTTP_JSON_SCAN_H
#define F8D_HTTP_JSON_SCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Values (scalars, arrays, objects and object keys) allowed outside inputs[0].data: jansson
 * spends some 60 to 100 bytes on each, so this bounds its part to a few MB. A KServe request
 * needs a few dozen. */
#define F8D_JSON_MAX_VALUES 65536u
/* Nesting allowed in the scanned text (jansson's own limit is 2048). */
#define F8D_JSON_MAX_DEPTH 128u

enum f8d_json_scan_result {
    F8D_JSON_SCAN_OK = 0,
    F8D_JSON_SCAN_SYNTAX = -1,     /* malformed: error, line and column say where */
    F8D_JSON_SCAN_TOO_MANY = -2,   /* more than max_values values outside the data array */
};

struct f8d_json_scan {
    size_t data_start, data_end;   /* inputs[0].data's array: text[data_start, data_end), the
                                    * brackets included; data_end == 0 when there is none */
    size_t values;                 /* values outside it */
    int line, column;              /* of a syntax error, 1-based */
    const char *error;             /* static text of a syntax error */
};

int f8d_json_scan(const char *text, size_t len, size_t max_values, struct f8d_json_scan *out);

/* json_loadb() of text[0, len) with the scanned data array read as "[]" padded with blanks. */
json_t *f8d_json_load(const char *text, size_t len, const struct f8d_json_scan *scan,
                      size_t flags, json_error_t *err);

/* The leaves of the scanned (so well-formed) array text[start, end), nested arrays allowed
 * as jansson's were (at most 8 deep). Each leaf must be an integer from 0 to 255: written to
 * out (when out is not NULL). Returns the number of leaves, or -1 when a leaf is anything
 * else, the nesting is deeper, or there are more than max leaves (stopping there). */
long long f8d_json_span_bytes(const char *text, size_t start, size_t end, uint8_t *out,
                              size_t max);

/* The same for strings: their number, or -1 when a leaf is not a string, or there are more
 * than max. */
long long f8d_json_span_strings(const char *text, size_t start, size_t end, size_t max);

#endif
