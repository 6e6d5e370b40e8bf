/*
 * GET / : the demo page (demo.html, built in by demo_page.S): pick or drop a JPEG, see the
 * top-k labels with score bars and the latency. It uses the public endpoints only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "handlers.h"
#include "json_reply.h"

extern const char f8d_demo_page[];
extern const char f8d_demo_page_end[];

enum MHD_Result f8d_demo_handle(struct f8d_http_request *req)
{
    size_t len = (size_t)(f8d_demo_page_end - f8d_demo_page);
    char *copy = malloc(len); /* the reply owns (and frees) its buffer */
    if (copy == NULL)
        return f8d_reply_error(req, F8D_ENOMEM, "out of memory");
    memcpy(copy, f8d_demo_page, len);
    return f8d_reply_buffer(req, 200, "text/html; charset=utf-8", copy, len);
}
