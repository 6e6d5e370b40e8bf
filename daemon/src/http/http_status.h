/*
 * f8d HTTP statuses: the one table from the core's F8D_E* codes to HTTP status codes. Nothing
 * below the HTTP front end knows these numbers.
 */
#ifndef F8D_HTTP_STATUS_H
#define F8D_HTTP_STATUS_H

/* 200 for F8D_OK; 400, 404, 405, 413, 415, 422, 501, 503, 504, 499 or 500 for the errors. */
unsigned f8d_http_status(int err);

#endif /* F8D_HTTP_STATUS_H */
