/*
 * f8d HTTP handlers: what each route does with a request. dispatch.c calls them from MHD's
 * access handler; they queue a response (json_reply.h), record an error in the request's one
 * slot (f8d_request_fail on &req->core: answered at once if no body is coming, else after the
 * body is read and thrown away, or when the request is DONE), or, for work done elsewhere,
 * suspend the connection until the core's completion callback resumes it.
 */
#ifndef F8D_HANDLERS_H
#define F8D_HANDLERS_H

#include <microhttpd.h>

#include "http_request.h"

/* Body length the client announced (Content-Length), or -1 if none. */
long long f8d_http_content_length(const struct f8d_http_request *req);

/* Appends a body chunk (F8D_ETOOBIG once over max_body_bytes). */
enum MHD_Result f8d_http_body_data(struct f8d_http_request *req, const char *data, size_t size);

/* Decodes a gzip or deflate body (req->coding) in place, within max_body_bytes, into
 * req->decoded (F8D_OK, or the error and its message). Runs off the loop, on the thread that
 * owns the body while the connection is suspended (the background pool). */
void f8d_http_decode_body(struct f8d_http_request *req);

/* Suspends the connection (counted in work_in_flight) until f8d_http_resume, which marks the
 * request DONE and resumes it (MHD answers it on the loop's next turn). */
void f8d_http_suspend(struct f8d_http_request *req);
void f8d_http_resume(struct f8d_http_request *req);

/* Queues the core request's items on its model and suspends the connection. Returns F8D_OK,
 * or the error (recorded in the slot; nothing queued) for the caller to answer. */
int f8d_http_submit(struct f8d_http_request *req);

/* The core's completion callback for every HTTP request: resumes the connection. */
void f8d_http_request_done(struct f8d_request *core);

/* Health, metadata and metrics routes: answered on the first call. */
enum MHD_Result f8d_health_handle(struct f8d_http_request *req);
enum MHD_Result f8d_metrics_handle(struct f8d_http_request *req);
enum MHD_Result f8d_demo_handle(struct f8d_http_request *req);

/* Predictions: first call (headers) and the final call(s). */
void f8d_predict_begin(struct f8d_http_request *req);
enum MHD_Result f8d_predict_finish(struct f8d_http_request *req);

/* KServe v2 infer: first call and final call(s); release frees the parsed request. */
void f8d_infer_begin(struct f8d_http_request *req);
enum MHD_Result f8d_infer_finish(struct f8d_http_request *req);
void f8d_infer_release(struct f8d_http_request *req);

/* Repository: reload (suspends until done) and index. */
enum MHD_Result f8d_repository_finish(struct f8d_http_request *req);

/* Returns a request to the server's free list (or frees it). */
void f8d_http_request_free(struct f8d_http_request *req);

/* MHD callbacks (http_loop.c registers them; cls is the f8d_server). */
enum MHD_Result f8d_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls);
void f8d_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe);

#endif /* F8D_HANDLERS_H */
