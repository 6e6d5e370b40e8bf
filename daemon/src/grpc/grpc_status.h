/*
 * f8d gRPC statuses: the one table from F8D_E* codes to gRPC status codes (the HTTP front
 * end has its own, http/http_status.c), and their names for logs and metrics labels.
 */
#ifndef F8D_GRPC_STATUS_H
#define F8D_GRPC_STATUS_H

#include <grpc/status.h>

grpc_status_code f8d_grpc_status(int f8d_err);

/* "OK", "INVALID_ARGUMENT", ... */
const char *f8d_grpc_status_name(grpc_status_code code);

#endif /* F8D_GRPC_STATUS_H */
