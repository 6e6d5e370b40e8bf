/*
 * f8d dispatch: MHD's access handler and "request completed" callback. Creates the request
 * on the first call (from the server's free list), gives it an id, routes it, hands body
 * chunks and the final call to the route's handler, answers errors known before the body (at
 * once when no body is coming, after draining it otherwise, so the connection stays usable),
 * suspends and resumes connections around work done on workers, and writes the access log
 * and the request metrics.
 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn_deadline.h"
#include "conn_watch.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/server.h"
#include "handlers.h"
#include "http_guard.h"
#include "http_loop.h"
#include "json_reply.h"
#include "restricted.h"

long long f8d_http_content_length(const struct f8d_http_request *req)
{
    const char *v =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (v == NULL)
        return -1;
    char *end;
    long long n = strtoll(v, &end, 10);
    return (end == v || n < 0) ? -1 : n; /* MHD has already refused malformed lengths */
}

enum MHD_Result f8d_http_body_data(struct f8d_http_request *req, const char *data, size_t size)
{
    uint64_t max = req->server->opts.max_body_bytes;

    if ((uint64_t)req->body_len + size > max) {
        f8d_request_fail(&req->core, F8D_ETOOBIG, "body is over the limit of %" PRIu64 " bytes",
                         max);
        req->discarded = 0; /* drain up to another max_body_bytes, then close */
        req->body_len = 0;
        return MHD_YES;
    }
    if (req->body_len + size > req->body_cap) {
        /* The announced length (bounded by max above) is the exact size; chunked uploads
         * grow by doubling. */
        long long announced = f8d_http_content_length(req);
        size_t need = req->body_len + size;
        size_t cap;
        if (announced > 0 && (uint64_t)announced <= max && (size_t)announced >= need) {
            cap = (size_t)announced;
        } else {
            cap = req->body_cap ? req->body_cap * 2 : 64 * 1024;
            if (cap < need)
                cap = need;
            if (cap > max)
                cap = (size_t)max;
        }
        uint8_t *grown = realloc(req->body, cap);
        if (grown == NULL) {
            f8d_request_fail(&req->core, F8D_ENOMEM, "out of memory for a body of %zu bytes",
                             req->body_len + size);
            return MHD_YES;
        }
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    return MHD_YES;
}

void f8d_http_decode_body(struct f8d_http_request *req)
{
    struct f8d_error *e = &req->decoded;
    uint8_t *out;
    size_t n;
    e->code = f8d_coding_decode(req->coding, req->body, req->body_len,
                                req->server->opts.max_body_bytes, &out, &n, e->message,
                                sizeof(e->message));
    if (e->code != F8D_OK)
        return;
    free(req->body);
    req->body = out;
    req->body_len = n;
    req->body_cap = n; /* at most what was allocated: enough for realloc and the free list */
    req->coding = F8D_CODING_IDENTITY;
}

void f8d_http_suspend(struct f8d_http_request *req)
{
    assert(req->conn != NULL && !req->suspended);
    req->suspended = true;
    req->counted = true;
    req->server->work_in_flight++;
    MHD_suspend_connection(req->conn);
}

void f8d_http_resume(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    req->phase = F8D_PHASE_DONE;
    if (req->counted) {
        req->counted = false;
        s->work_in_flight--;
    }
    if (!req->suspended)
        return;
    req->suspended = false;
    if (req->conn == NULL) {
        f8d_http_request_free(req); /* the connection went away meanwhile */
        return;
    }
    MHD_resume_connection(req->conn); /* answered when MHD runs, at the end of this turn */
}

void f8d_http_request_done(struct f8d_request *core)
{
    f8d_http_resume(core->owner);
}

int f8d_http_submit(struct f8d_http_request *req)
{
    int rc = f8d_request_submit(&req->core);
    if (rc != F8D_OK)
        return rc;
    req->phase = F8D_PHASE_QUEUED;
    if (!req->suspended)
        f8d_http_suspend(req);
    return F8D_OK;
}

/* Whether an error found in the headers is answered before reading the body: when the
 * client waits for "100 Continue", or when the body is too big to drain (the connection then
 * closes). With no body coming, the error is answered on the request's last call, which comes
 * at once, and the connection stays open. */
static int answer_before_body(const struct f8d_http_request *req)
{
    const struct f8d_server *s = req->server;
    long long len = f8d_http_content_length(req);
    const char *expect =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

    if (req->core.err.code == F8D_ETOOBIG)
        return 1;
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
        return 1;
    return len > 0 && (uint64_t)len > s->opts.max_body_bytes;
}

static bool failed(const struct f8d_http_request *req)
{
    return req->core.err.code != F8D_OK;
}

/* The client's X-Request-Id when it is short and plain, else a fresh one. */
static void set_id(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    const char *v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (v != NULL && *v != '\0' && strlen(v) <= F8D_REQUEST_ID_MAX) {
        const char *p = v;
        while (*p && (isalnum((unsigned char)*p) || strchr("-_.:", *p) != NULL))
            p++;
        if (*p == '\0') {
            memcpy(req->id, v, strlen(v) + 1);
            return;
        }
    }
    snprintf(req->id, sizeof(req->id), "%08" PRIx32 "%08" PRIx64, s->id_seed,
             ++s->next_request_id);
}

static struct f8d_http_request *request_new(struct f8d_server *s, struct MHD_Connection *conn,
                                            const char *url, const char *method)
{
    struct f8d_http_request *req = s->free_requests;
    uint8_t *body = NULL;
    size_t body_cap = 0;
    if (req != NULL) {
        s->free_requests = req->next_free;
        s->n_free_requests--;
        body = req->body;
        body_cap = req->body_cap;
        memset(req, 0, sizeof(*req));
    } else {
        req = calloc(1, sizeof(*req));
        if (req == NULL)
            return NULL;
    }
    req->body = body;
    req->body_cap = body_cap;
    req->server = s;
    f8d_request_init(&req->core, f8d_http_request_done, req);
    req->conn = conn;
    req->start_ns = uv_hrtime();
    snprintf(req->path, sizeof(req->path), "%s", url);
    snprintf(req->method, sizeof(req->method), "%s", method);
    return req;
}

void f8d_http_request_free(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    f8d_infer_release(req);
    f8d_request_release(&req->core);
    if (req->body_cap > F8D_KEEP_BODY_BYTES || s->n_free_requests >= F8D_REQUEST_POOL_MAX ||
        s->stopped) {
        free(req->body);
        req->body = NULL;
        req->body_cap = 0;
    }
    if (s->n_free_requests >= F8D_REQUEST_POOL_MAX || s->stopped) {
        free(req);
        return;
    }
    req->next_free = s->free_requests;
    s->free_requests = req;
    s->n_free_requests++;
}

void f8d_http_free_requests(struct f8d_server *s)
{
    while (s->free_requests != NULL) {
        struct f8d_http_request *r = s->free_requests;
        s->free_requests = r->next_free;
        free(r->body);
        free(r);
    }
    s->n_free_requests = 0;
}

/* First call: route, look the model up, let the route's handler look at the headers. */
static enum MHD_Result first_call(struct f8d_http_request *req, const char *url,
                                  const char *method)
{
    struct f8d_server *s = req->server;
    struct f8d_request *core = &req->core;
    int rc = f8d_route_parse(method, url, &req->route);
    char why[F8D_ERR_SIZE];

    if (req->route.model[0] != '\0') /* held until the request ends, across reloads */
        f8d_request_set_model(core, f8d_models_find(&s->models, req->route.model));
    if (rc == 405 && strcmp(method, "OPTIONS") == 0) {
        req->preflight = true; /* what the path allows; a CORS preflight (answered last) */
        return MHD_YES;
    }
    if (rc == 404) {
        f8d_request_fail(core, F8D_ENOTFOUND, "no such path: %s", url);
    } else if (req->route.model[0] != '\0' && core->model == NULL) {
        f8d_request_fail(core, F8D_ENOTFOUND, "unknown model '%s'", req->route.model);
    } else if (req->route.version[0] != '\0' &&
               strcmp(req->route.version, core->model->version) != 0) {
        f8d_request_fail(core, F8D_ENOTFOUND, "model '%s' has no version '%s' (serving: %s)",
                         req->route.model, req->route.version, core->model->version);
    } else if (rc == 405) {
        f8d_request_fail(core, F8D_EMETHOD, "method %s is not allowed on %s (allowed: %s)",
                         method, url, req->route.allow);
    } else if (req->route.changes_server &&
               f8d_restricted_check(&s->opts, req->conn, why, sizeof(why)) != F8D_OK) {
        f8d_request_fail(core, F8D_EFORBIDDEN, "%s", why); /* every management route, here */
    } else if ((req->route.kind == F8D_ROUTE_PREDICT || req->route.kind == F8D_ROUTE_INFER) &&
               f8d_coding_parse(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_CONTENT_ENCODING),
                                &req->coding, why, sizeof(why)) != F8D_OK) {
        f8d_request_fail(core, F8D_EMEDIA, "%s", why); /* 415, naming the coding */
    } else if (req->route.kind == F8D_ROUTE_PREDICT) {
        f8d_predict_begin(req);
    } else if (req->route.kind == F8D_ROUTE_INFER) {
        f8d_infer_begin(req);
    }
    /* Every other route is answered on the request's last call, once MHD has read the whole
     * (empty or ignored) body: an answer queued on the first call makes libmicrohttpd 0.9.75
     * close the connection, so every GET cost the client a new connection. */
    if (failed(req) && answer_before_body(req))
        return f8d_reply_failure(req);
    return MHD_YES;
}

enum MHD_Result f8d_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    struct f8d_server *s = cls;
    struct f8d_http_request *req = *con_cls;

    struct f8d_conn *c = f8d_conn_of(conn);
    if (c != NULL)
        f8d_deadlines_request_call(&c->deadline, conn, req == NULL, *upload_data_size);
    if (req == NULL) {
        req = request_new(s, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        s->active_requests++;
        if (c != NULL)
            c->req = req;
        set_id(req);
        char why[F8D_ERR_SIZE];
        int refused = f8d_http_guard(conn, version, url, why, sizeof(why));
        if (refused != F8D_OK) {
            req->close_after = true; /* its framing is in doubt: so is the next request's */
            return f8d_reply_error(req, refused, "%s", why);
        }
        return first_call(req, url, method);
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        req->body_received += size;
        if (failed(req)) {
            /* Draining the body of a request already known to fail; a body too long to
             * drain closes the connection instead. */
            req->discarded += size;
            return req->discarded > s->opts.max_body_bytes ? MHD_NO : MHD_YES;
        }
        if (req->route.kind == F8D_ROUTE_PREDICT || req->route.kind == F8D_ROUTE_INFER)
            return f8d_http_body_data(req, upload_data, size);
        return MHD_YES;
    }
    if (req->preflight)
        return f8d_reply_options(req);
    if (failed(req) && req->phase == F8D_PHASE_BODY)
        return f8d_reply_failure(req); /* found before the body ended, which is now drained */
    switch (req->route.kind) {
    case F8D_ROUTE_PREDICT: return f8d_predict_finish(req);
    case F8D_ROUTE_INFER: return f8d_infer_finish(req);
    case F8D_ROUTE_RELOAD:
    case F8D_ROUTE_REPO_LOAD:
    case F8D_ROUTE_REPO_UNLOAD:
    case F8D_ROUTE_REPO_INDEX: return f8d_repository_finish(req);
    case F8D_ROUTE_METRICS: return f8d_metrics_handle(req);
    case F8D_ROUTE_DEMO: return f8d_demo_handle(req);
    default: return f8d_health_handle(req);
    }
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

static void access_log(const struct f8d_http_request *req, double ms,
                       enum MHD_RequestTerminationCode toe)
{
    const char *model = req->core.model ? req->core.model->name : "-";
    if (req->status == 0)
        f8d_log("%s %s - %.3f ms id=%s model=%s (%s)", req->method, req->path, ms, req->id,
                model, termination_name(toe));
    else if (req->note[0] != '\0')
        f8d_log("%s %s %u %.3f ms id=%s model=%s (%s)", req->method, req->path, req->status, ms,
                req->id, model, req->note);
    else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        f8d_log("%s %s %u %.3f ms id=%s model=%s (%s)", req->method, req->path, req->status, ms,
                req->id, model, termination_name(toe));
    else
        f8d_log("%s %s %u %.3f ms id=%s model=%s", req->method, req->path, req->status, ms,
                req->id, model);
}

void f8d_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct f8d_server *s = cls;
    struct f8d_http_request *req = *con_cls;

    struct f8d_conn *c = f8d_conn_of(conn);
    if (c != NULL) {
        f8d_deadlines_request_ended(&c->deadline);
        c->req = NULL;
    }
    if (req == NULL)
        return;
    *con_cls = NULL;
    uint64_t ns = uv_hrtime() - req->start_ns;
    if (s->opts.access_log || (req->status >= 500 && req->status != 503))
        access_log(req, (double)ns / 1e6, toe);
    if (req->status != 0) {
        const struct f8d_model *m = req->core.model;
        struct f8d_model_metrics *mm = (m && m->metrics) ? m->metrics : &s->metrics.none;
        char code[12];
        snprintf(code, sizeof(code), "%u", req->status);
        f8d_metrics_request(mm, "http", code, req->core.err.code, (double)ns / 1e9);
    }
    s->active_requests--;
    s->requests_total++;
    if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
        s->requests_cut_at_stop++; /* the drain timed out on it, or a second signal came */
    if (req->suspended) {
        /* Work is still out (MHD completes suspended connections only when it stops): drop
         * what is queued, and let the completion free the request. */
        req->conn = NULL;
        f8d_request_cancel(&req->core);
        return;
    }
    f8d_http_request_free(req);
}
