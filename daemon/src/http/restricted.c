/* f8d restricted API: the header check of the calls that change the server. */
#include "restricted.h"

#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "core/errors.h"
#include "core/options.h"

bool f8d_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Every byte of b is looked at whatever a holds; no early exit. */
    volatile unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        diff |= (unsigned char)(x ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

int f8d_restricted_check(const struct f8d_options *opts, struct MHD_Connection *conn, char *why,
                         size_t whylen)
{
    if (opts->restricted_header[0] == '\0')
        return F8D_OK;
    const char *want = f8d_options_restricted_value(opts);
    const char *got = NULL;
    size_t got_len = 0;
    if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, opts->restricted_header,
                                      strlen(opts->restricted_header), &got,
                                      &got_len) == MHD_YES &&
        got != NULL && f8d_secret_equal(got, got_len, want, strlen(want)))
        return F8D_OK;
    snprintf(why, whylen, "this call changes the server: it needs the header %s with the "
                          "value configured in restricted_api (%s)",
             opts->restricted_header, got == NULL ? "the header is missing" : "wrong value");
    return F8D_EFORBIDDEN;
}
