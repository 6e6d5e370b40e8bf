/*
 * f8d responses: every answer is JSON (Content-Type: application/json), errors are
 * {"error":"..."}. These queue the response on the request's connection and record the
 * status for the log line.
 */
#ifndef F8D_JSON_REPLY_H
#define F8D_JSON_REPLY_H

#include <jansson.h>
#include <microhttpd.h>

#include "http_request.h"

/* Queues `body` (consumed, even on failure) with the given status. */
enum MHD_Result f8d_reply_json(struct f8d_http_request *req, unsigned status, json_t *body);

/* Queues `text` (malloc'd, consumed) with a content type: the common path of every reply
 * (X-Request-Id, Allow on 405, Retry-After on 503, Connection: close while stopping or when
 * req->close_after). */
enum MHD_Result f8d_reply_buffer(struct f8d_http_request *req, unsigned status,
                                 const char *content_type, char *text, size_t len);

/* 204 to an OPTIONS request on a known path: Allow, and the CORS preflight headers when
 * cors_origin is set. */
enum MHD_Result f8d_reply_options(struct f8d_http_request *req);

/* Queues a binary tensor extension answer: json_len bytes of JSON, then tensor bytes
 * (Content-Type application/octet-stream, Inference-Header-Content-Length: json_len). */
enum MHD_Result f8d_reply_binary(struct f8d_http_request *req, unsigned status, char *data,
                                 size_t len, size_t json_len);

/* Queues {"error": message} with the HTTP status of an F8D_E* code (http_status.h). A 405
 * also gets the route's Allow header, a 503 Retry-After. */
enum MHD_Result f8d_reply_error(struct f8d_http_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers the error recorded in the request's slot. */
enum MHD_Result f8d_reply_failure(struct f8d_http_request *req);

/* A JSON string from arbitrary bytes: invalid UTF-8 becomes '?', never NULL unless out of
 * memory. */
json_t *f8d_json_string(const char *s);

#endif /* F8D_JSON_REPLY_H */
