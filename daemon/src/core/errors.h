/*
 * f8d error codes: what went wrong with a request, in words any protocol can answer.
 *
 * Below the protocol front ends (batcher, models, decode, pool, server) nothing knows HTTP or
 * gRPC: functions return F8D_OK or a negative F8D_E* code (like libuv's UV_E*), and a request
 * carries one code with its message (request.h). Each front end maps the codes to its own
 * statuses in one table (http/http_status.c for HTTP).
 */
#ifndef F8D_ERRORS_H
#define F8D_ERRORS_H

enum {
    F8D_OK = 0,
    F8D_EINVAL = -1,      /* the request is malformed or asks for something invalid */
    F8D_ENOTFOUND = -2,   /* no such path, model or version */
    F8D_EMETHOD = -3,     /* the path does not take that method */
    F8D_ETOOBIG = -4,     /* the body is over max_body_bytes */
    F8D_EPIXELS = -5,     /* the image is over max_pixels */
    F8D_EMEDIA = -6,      /* a media type the server does not take */
    F8D_EDECODE = -7,     /* the image is not a JPEG it can decode */
    F8D_EOVERLOAD = -8,   /* the model's queue is full: retry later */
    F8D_ENOMEM = -9,      /* out of memory: retry later */
    F8D_ESHUTDOWN = -10,  /* the server is shutting down */
    F8D_EDEADLINE = -11,  /* the request's deadline passed before it ran */
    F8D_ECANCELED = -12,  /* the client went away or cancelled it */
    F8D_ELOAD = -13,      /* a model could not be loaded (a reload's answer) */
    F8D_EINTERNAL = -14,  /* the engine failed: a bug */
    F8D_EUNSUPPORTED = -15, /* a feature of the protocol the server does not implement */
    F8D_EFORBIDDEN = -16  /* the call changes the server and lacks the restricted_api header */
};

/* Number of codes, F8D_OK included (for tables indexed by -code). */
#define F8D_NUM_ERRORS 17

/* "invalid request", "no such model or path", ...; "unknown error" for other values. */
const char *f8d_strerror(int err);

/* "EINVAL", "ENOTFOUND", ... ("OK" for 0): for logs and metrics labels. */
const char *f8d_err_name(int err);

#endif /* F8D_ERRORS_H */
