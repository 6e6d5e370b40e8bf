/*
 * f8d handlers: what each route does with a request. dispatch.c calls them from MHD's access
 * handler; they queue a response (json_reply.h), record an error to answer once the body is
 * drained (f8d_request_fail), or, for predictions, suspend the connection until a worker
 * is done.
 */
#ifndef F8D_HANDLERS_H
#define F8D_HANDLERS_H

#include <microhttpd.h>

#include "request.h"

/* Records an error to answer instead of the route's normal answer (dispatch.c decides when:
 * at once if no body is coming, else after the body is read and thrown away). */
void f8d_request_fail(struct f8d_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Body length the client announced (Content-Length), or -1 if none. */
long long f8d_request_content_length(const struct f8d_request *req);

/* Health and metadata routes: answered on the first call. */
enum MHD_Result f8d_health_handle(struct f8d_request *req);

/* Predictions: first call (headers), each chunk of body, and the final call(s). */
void f8d_predict_begin(struct f8d_request *req);
enum MHD_Result f8d_predict_data(struct f8d_request *req, const char *data, size_t size);
enum MHD_Result f8d_predict_finish(struct f8d_request *req);
/* Frees what a prediction allocated (body, job buffers). */
void f8d_predict_release(struct f8d_request *req);

/* Frees a request and everything it holds. */
void f8d_request_free(struct f8d_request *req);

/* MHD callbacks (http_loop.c registers them; cls is the f8d_server). */
enum MHD_Result f8d_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls);
void f8d_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe);

#endif /* F8D_HANDLERS_H */
