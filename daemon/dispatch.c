/*
 * f8d dispatch: MHD's access handler and "request completed" callback. Creates the request
 * on the first call, routes it, hands body chunks and the final call to the route's handler,
 * answers errors known before the body (at once when no body is coming, after draining it
 * otherwise, so the connection stays usable), and logs one line per request.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "json_reply.h"
#include "log.h"
#include "server.h"

void f8d_request_fail(struct f8d_request *req, unsigned status, const char *fmt, ...)
{
    va_list ap;
    if (req->deferred_status != 0)
        return; /* the first error found is the one reported */
    req->deferred_status = status;
    va_start(ap, fmt);
    vsnprintf(req->deferred_error, sizeof(req->deferred_error), fmt, ap);
    va_end(ap);
}

long long f8d_request_content_length(const struct f8d_request *req)
{
    const char *v =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (v == NULL)
        return -1;
    char *end;
    long long n = strtoll(v, &end, 10);
    return (end == v || n < 0) ? -1 : n; /* MHD has already refused malformed lengths */
}

/* Whether an error found in the headers is answered before reading the body: when no body
 * is coming, when the client waits for "100 Continue", or when the body is too big to drain. */
static int answer_before_body(const struct f8d_request *req)
{
    const struct f8d_server *s = req->server;
    long long len = f8d_request_content_length(req);
    const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *expect =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

    if (req->deferred_status == MHD_HTTP_CONTENT_TOO_LARGE)
        return 1;
    if (te == NULL && len <= 0)
        return 1;
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
        return 1;
    return len > 0 && (uint64_t)len > s->opts.max_body_bytes;
}

static enum MHD_Result answer_deferred(struct f8d_request *req)
{
    return f8d_reply_error(req, req->deferred_status, "%s", req->deferred_error);
}

static struct f8d_request *request_new(struct f8d_server *s, struct MHD_Connection *conn,
                                       const char *url, const char *method)
{
    struct f8d_request *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return NULL;
    req->path = strdup(url);
    if (req->path == NULL) {
        free(req);
        return NULL;
    }
    req->server = s;
    req->conn = conn;
    req->start_ns = uv_hrtime();
    snprintf(req->method, sizeof(req->method), "%s", method);
    return req;
}

void f8d_request_free(struct f8d_request *req)
{
    f8d_predict_release(req);
    free(req->path);
    free(req);
}

/* First call: route, look the model up, let the route's handler look at the headers. */
static enum MHD_Result first_call(struct f8d_request *req, const char *url, const char *method)
{
    struct f8d_server *s = req->server;
    int rc = f8d_route_parse(method, url, &req->route);

    if (rc == 404) {
        f8d_request_fail(req, 404, "no such path: %s", url);
    } else if (req->route.model[0] != '\0' &&
               (req->model = f8d_models_find(&s->models, req->route.model)) == NULL) {
        f8d_request_fail(req, 404, "unknown model '%s'", req->route.model);
    } else if (rc == 405) {
        f8d_request_fail(req, 405, "method %s is not allowed on %s (allowed: %s)", method, url,
                         req->route.allow);
    } else if (req->route.kind == F8D_ROUTE_PREDICT) {
        f8d_predict_begin(req);
    } else {
        return f8d_health_handle(req);
    }
    if (req->deferred_status != 0 && answer_before_body(req))
        return answer_deferred(req);
    return MHD_YES;
}

enum MHD_Result f8d_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    struct f8d_server *s = cls;
    struct f8d_request *req = *con_cls;

    if (req == NULL) {
        req = request_new(s, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        s->active_requests++;
        return first_call(req, url, method);
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        if (req->deferred_status != 0) {
            /* Draining the body of a request already known to fail; a body too long to
             * drain closes the connection instead. */
            req->discarded += size;
            return req->discarded > s->opts.max_body_bytes ? MHD_NO : MHD_YES;
        }
        if (req->route.kind == F8D_ROUTE_PREDICT)
            return f8d_predict_data(req, upload_data, size);
        return MHD_YES;
    }
    if (req->deferred_status != 0)
        return answer_deferred(req);
    if (req->route.kind == F8D_ROUTE_PREDICT)
        return f8d_predict_finish(req);
    return f8d_health_handle(req);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "completed";
    case MHD_REQUEST_TERMINATED_WITH_ERROR: return "connection error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timed out";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "server shut down";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "client closed or sent a malformed request";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client closed the connection";
    }
    return "terminated";
}

void f8d_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct f8d_server *s = cls;
    struct f8d_request *req = *con_cls;

    if (req == NULL)
        return;
    *con_cls = NULL;
    double ms = (double)(uv_hrtime() - req->start_ns) / 1e6;
    if (req->status == 0)
        f8d_log("%s %s - %.2f ms (%s)", req->method, req->path, ms, termination_name(toe));
    else if (req->note[0] != '\0')
        f8d_log("%s %s %u %.2f ms (%s)", req->method, req->path, req->status, ms, req->note);
    else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        f8d_log("%s %s %u %.2f ms (%s)", req->method, req->path, req->status, ms,
                termination_name(toe));
    else
        f8d_log("%s %s %u %.2f ms", req->method, req->path, req->status, ms);
    s->active_requests--;
    s->requests_total++;
    if (req->submitted && !req->done) {
        /* A worker still holds the job (cannot happen while MHD keeps suspended
         * connections, but never free what another thread uses): after_work frees it. */
        req->conn = NULL;
        return;
    }
    f8d_request_free(req);
}
