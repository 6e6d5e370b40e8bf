/* f8d responses: JSON bodies and error replies. */
#include "json_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server.h"
#include "http_status.h"

json_t *f8d_json_string(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    /* Not valid UTF-8 (a model name from a URL, say): keep printable ASCII only. */
    char *copy = strdup(s);
    if (copy == NULL)
        return NULL;
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j;
}

/* Serialises with a trailing newline (nicer on a terminal); NULL if out of memory. */
static char *dump(json_t *body, size_t *len)
{
    const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(6);
    size_t n = json_dumpb(body, NULL, 0, flags);
    if (n == 0)
        return NULL;
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    json_dumpb(body, buf, n, flags);
    buf[n] = '\n';
    *len = n + 1;
    return buf;
}

enum MHD_Result f8d_reply_json(struct f8d_http_request *req, unsigned status, json_t *body)
{
    size_t len = 0;
    char *text = body ? dump(body, &len) : NULL;
    json_decref(body);
    if (text == NULL)
        return MHD_NO; /* out of memory: MHD closes the connection */
    return f8d_reply_buffer(req, status, "application/json", text, len);
}

static enum MHD_Result reply(struct f8d_http_request *req, unsigned status,
                             const char *content_type, char *text, size_t len,
                             long long header_len);

enum MHD_Result f8d_reply_buffer(struct f8d_http_request *req, unsigned status,
                                 const char *content_type, char *text, size_t len)
{
    return reply(req, status, content_type, text, len, -1);
}

enum MHD_Result f8d_reply_binary(struct f8d_http_request *req, unsigned status, char *data,
                                 size_t len, size_t json_len)
{
    return reply(req, status, "application/octet-stream", data, len, (long long)json_len);
}

/* cors_origin: which web pages may read the answers (and the headers they may see). */
static void add_cors(const struct f8d_http_request *req, struct MHD_Response *resp)
{
    const char *origin = req->server->opts.cors_origin;
    if (origin[0] == '\0')
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "X-Request-Id, Inference-Header-Content-Length, Retry-After");
    if (strcmp(origin, "*") != 0)
        MHD_add_response_header(resp, "Vary", "Origin");
}

enum MHD_Result f8d_reply_options(struct f8d_http_request *req)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    if (req->id[0] != '\0')
        MHD_add_response_header(resp, "X-Request-Id", req->id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->route.allow);
    if (req->server->opts.cors_origin[0] != '\0') {
        char headers[256];
        const char *restricted = req->server->opts.restricted_header;
        snprintf(headers, sizeof(headers),
                 "Content-Type, Inference-Header-Content-Length, X-Request-Id%s%s",
                 restricted[0] ? ", " : "", restricted);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", req->route.allow);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", headers);
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    add_cors(req, resp);
    enum MHD_Result ret = MHD_queue_response(req->conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        req->status = MHD_HTTP_NO_CONTENT;
    return ret;
}

static enum MHD_Result reply(struct f8d_http_request *req, unsigned status,
                             const char *content_type, char *text, size_t len,
                             long long header_len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (req->id[0] != '\0')
        MHD_add_response_header(resp, "X-Request-Id", req->id);
    if (header_len >= 0) {
        char v[32];
        snprintf(v, sizeof(v), "%lld", header_len);
        MHD_add_response_header(resp, "Inference-Header-Content-Length", v);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && req->route.allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->route.allow);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (req->server->stopping || req->close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    add_cors(req, resp);
    enum MHD_Result ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        req->status = status;
    return ret;
}

static enum MHD_Result reply_note(struct f8d_http_request *req, int code)
{
    json_t *body = json_object();
    if (body != NULL)
        json_object_set_new(body, "error", f8d_json_string(req->note));
    return f8d_reply_json(req, f8d_http_status(code), body);
}

enum MHD_Result f8d_reply_error(struct f8d_http_request *req, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->note, sizeof(req->note), fmt, ap);
    va_end(ap);
    return reply_note(req, code);
}

enum MHD_Result f8d_reply_failure(struct f8d_http_request *req)
{
    snprintf(req->note, sizeof(req->note), "%s", req->core.err.message);
    return reply_note(req, req->core.err.code);
}
