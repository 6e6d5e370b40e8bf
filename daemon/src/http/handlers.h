/*
 * f8d handlers: what each route does with a request. dispatch.c calls them from MHD's access
 * handler; they queue a response (json_reply.h), record an error to answer once the body is
 * drained (f8d_request_fail), or, for work done elsewhere, suspend the connection until a
 * worker is done (f8d_request_suspend / f8d_request_resume).
 */
#ifndef F8D_HANDLERS_H
#define F8D_HANDLERS_H

#include <microhttpd.h>

#include "core/request.h"

/* Records an error to answer instead of the route's normal answer (dispatch.c decides when:
 * at once if no body is coming, else after the body is read and thrown away). */
void f8d_request_fail(struct f8d_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error found after the body was read, answered when the request is DONE. */
void f8d_request_set_error(struct f8d_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Body length the client announced (Content-Length), or -1 if none. */
long long f8d_request_content_length(const struct f8d_request *req);

/* Appends a body chunk (413 once over max_body_bytes). */
enum MHD_Result f8d_request_body_data(struct f8d_request *req, const char *data, size_t size);

/* Suspends the connection (counted in work_in_flight) / marks the request DONE and resumes
 * it (the caller runs MHD afterwards, outside any MHD callback). */
void f8d_request_suspend(struct f8d_request *req);
void f8d_request_resume(struct f8d_request *req);

/* Queues req->items (n_items of them, logits buffers set) on req->model. Suspends the
 * connection if it is not already. Returns 0, or 503 when the model's queue is full (nothing
 * queued; the caller answers). */
unsigned f8d_request_submit(struct f8d_request *req);

/* Batcher callback, loop thread: one item is done; the last one resumes the request. */
void f8d_request_item_done(struct f8d_request *req, struct f8d_item *item);

/* The first failed item's status and message (0 if all succeeded). */
unsigned f8d_request_item_error(const struct f8d_request *req, const char **msg);

/* Health, metadata and metrics routes: answered on the first call. */
enum MHD_Result f8d_health_handle(struct f8d_request *req);
enum MHD_Result f8d_metrics_handle(struct f8d_request *req);

/* Predictions: first call (headers) and the final call(s). */
void f8d_predict_begin(struct f8d_request *req);
enum MHD_Result f8d_predict_finish(struct f8d_request *req);

/* KServe v2 infer: first call and final call(s); release frees the parsed request. */
void f8d_infer_begin(struct f8d_request *req);
enum MHD_Result f8d_infer_finish(struct f8d_request *req);
void f8d_infer_release(struct f8d_request *req);

/* Repository: reload (suspends until done) and index. */
enum MHD_Result f8d_repository_finish(struct f8d_request *req);

/* Returns a request to the server's free list (or frees it). */
void f8d_request_free(struct f8d_request *req);

/* MHD callbacks (http_loop.c registers them; cls is the f8d_server). */
enum MHD_Result f8d_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls);
void f8d_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe);

#endif /* F8D_HANDLERS_H */
