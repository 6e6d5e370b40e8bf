/*
 * f8d gRPC front end: the KServe v2 GRPCInferenceService and the standard health service on
 * `grpc_port` (0: off), over gRPC's C core. main.c hands it to the server next to HTTP.
 * Threads: grpc_call.h; the methods and their statuses: docs/API.md, "gRPC".
 */
#ifndef F8D_GRPC_FRONTEND_H
#define F8D_GRPC_FRONTEND_H

#include "core/frontend.h"

extern const struct f8d_frontend f8d_grpc_frontend;

/* The bound gRPC port (the last address's), 0 when gRPC is off. */
unsigned f8d_grpc_port(const struct f8d_server *s);

#endif /* F8D_GRPC_FRONTEND_H */
