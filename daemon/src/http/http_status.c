/* f8d HTTP statuses: F8D_E* -> HTTP. */
#include "http_status.h"

#include "core/errors.h"

unsigned f8d_http_status(int err)
{
    switch (err) {
    case F8D_OK: return 200;
    case F8D_EINVAL:
    case F8D_EDECODE: return 400;       /* the client sent something it should not have */
    case F8D_EFORBIDDEN: return 403;    /* restricted_api: the header is missing or wrong */
    case F8D_ENOTFOUND: return 404;
    case F8D_EMETHOD: return 405;
    case F8D_ETOOBIG: return 413;
    case F8D_EMEDIA: return 415;
    case F8D_EPIXELS: return 422;       /* well-formed, but more pixels than allowed */
    case F8D_EOVERLOAD:
    case F8D_ENOMEM:
    case F8D_ESHUTDOWN: return 503;     /* with Retry-After: the same request may work later */
    case F8D_EDEADLINE: return 504;
    case F8D_ECANCELED: return 499;
    case F8D_EUNSUPPORTED: return 501;     /* nginx's "client closed request": never reaches one */
    case F8D_ELOAD:
    case F8D_EINTERNAL:
    default: return 500;
    }
}
