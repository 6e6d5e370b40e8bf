/* f8d gRPC statuses: F8D_E* -> gRPC status codes. */
#include "grpc_status.h"

#include "core/errors.h"

grpc_status_code f8d_grpc_status(int f8d_err)
{
    switch (f8d_err) {
    case F8D_OK: return GRPC_STATUS_OK;
    case F8D_EINVAL:
    case F8D_EDECODE:
    case F8D_EMEDIA:
    case F8D_EPIXELS: return GRPC_STATUS_INVALID_ARGUMENT; /* resending it will not help */
    case F8D_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
    case F8D_EMETHOD:
    case F8D_EUNSUPPORTED: return GRPC_STATUS_UNIMPLEMENTED;
    case F8D_ETOOBIG:                  /* over max_body_bytes */
    case F8D_EOVERLOAD:                /* the model's queue is full: retry later */
    case F8D_ENOMEM: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case F8D_ESHUTDOWN: return GRPC_STATUS_UNAVAILABLE; /* draining: another replica may do */
    case F8D_EDEADLINE: return GRPC_STATUS_DEADLINE_EXCEEDED;
    case F8D_ECANCELED: return GRPC_STATUS_CANCELLED;
    case F8D_EFORBIDDEN: return GRPC_STATUS_PERMISSION_DENIED;
    case F8D_ELOAD:
    case F8D_EINTERNAL:
    default: return GRPC_STATUS_INTERNAL;
    }
}

const char *f8d_grpc_status_name(grpc_status_code code)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    if ((unsigned)code < sizeof(names) / sizeof(names[0]))
        return names[code];
    return "UNKNOWN";
}
