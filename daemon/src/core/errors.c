/* f8d error codes: their names and texts. */
#include "errors.h"

#include <stddef.h>

static const struct {
    const char *name, *text;
} ERRORS[F8D_NUM_ERRORS] = {
    [0] = {"OK", "success"},
    [-F8D_EINVAL] = {"EINVAL", "invalid request"},
    [-F8D_ENOTFOUND] = {"ENOTFOUND", "no such path or model"},
    [-F8D_EMETHOD] = {"EMETHOD", "method not allowed"},
    [-F8D_ETOOBIG] = {"ETOOBIG", "request too large"},
    [-F8D_EPIXELS] = {"EPIXELS", "image too large"},
    [-F8D_EMEDIA] = {"EMEDIA", "unsupported media type"},
    [-F8D_EDECODE] = {"EDECODE", "image cannot be decoded"},
    [-F8D_EOVERLOAD] = {"EOVERLOAD", "overloaded: retry later"},
    [-F8D_ENOMEM] = {"ENOMEM", "out of memory: retry later"},
    [-F8D_ESHUTDOWN] = {"ESHUTDOWN", "the server is shutting down"},
    [-F8D_EDEADLINE] = {"EDEADLINE", "deadline exceeded"},
    [-F8D_ECANCELED] = {"ECANCELED", "cancelled"},
    [-F8D_ELOAD] = {"ELOAD", "a model could not be loaded"},
    [-F8D_EINTERNAL] = {"EINTERNAL", "internal error"},
    [-F8D_EUNSUPPORTED] = {"EUNSUPPORTED", "not implemented"},
    [-F8D_EFORBIDDEN] = {"EFORBIDDEN", "forbidden"},
};

static int known(int err)
{
    return err <= 0 && err > -F8D_NUM_ERRORS;
}

const char *f8d_strerror(int err)
{
    return known(err) ? ERRORS[-err].text : "unknown error";
}

const char *f8d_err_name(int err)
{
    return known(err) ? ERRORS[-err].name : "EUNKNOWN";
}
