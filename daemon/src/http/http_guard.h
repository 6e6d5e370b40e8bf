/*
 * f8d request guard: refuses a request whose head could be read two ways before anything
 * else looks at it (request smuggling, RFC 9112 §6.3), and one whose path hides a control
 * character. Every refusal is answered with Connection: close: once the framing of a request
 * is in doubt, so is where the next one starts.
 *
 *   Transfer-Encoding and Content-Length together          F8D_EINVAL (400)
 *   Content-Length twice with different values             F8D_EINVAL (400)
 *   a transfer coding other than a single "chunked"        F8D_EUNSUPPORTED (501, RFC 9112 §6.1)
 *   Transfer-Encoding in an HTTP/1.0 request               F8D_EINVAL (400, RFC 9112 §6.1)
 *   HTTP/1.1 without Host, or Host twice                   F8D_EINVAL (400, RFC 9112 §3.2)
 *   a control character in the decoded path (NUL: %00)     F8D_EINVAL (400)
 *
 * The checks are a pure function over the header lines (f8d_guard_scan_*, f8d_guard_verdict),
 * tested on their own; f8d_http_guard feeds it the headers of an MHD connection.
 */
#ifndef F8D_HTTP_GUARD_H
#define F8D_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

/* What the header lines of one request said about its framing. Zero it before the first
 * line (f8d_guard_scan_init). */
struct f8d_guard_scan {
    unsigned hosts;              /* Host lines */
    unsigned lengths;            /* Content-Length lines */
    bool lengths_differ;         /* two of them disagree */
    char length[32];             /* the first one (truncated: only for comparing and errors) */
    char other_length[32];       /* the first that differs from it */
    unsigned encodings;          /* Transfer-Encoding lines */
    unsigned codings;            /* transfer codings listed in them, all lines together */
    char bad_coding[64];         /* the first coding that is not the final single "chunked" */
};

void f8d_guard_scan_init(struct f8d_guard_scan *scan);

/* Takes one header line (name as sent, any case; value as MHD keeps it, trimmed). */
void f8d_guard_scan_header(struct f8d_guard_scan *scan, const char *name, const char *value);

/* The verdict on a request: F8D_OK when it may go on, else the F8D_E* code to answer with
 * the reason in err. `version` is the request's ("HTTP/1.1"), `path` the decoded path. */
int f8d_guard_verdict(const struct f8d_guard_scan *scan, const char *version,
                           const char *path, char *err, size_t errlen);

/* The verdict on an MHD connection's request (its headers, version and decoded URL). */
int f8d_http_guard(struct MHD_Connection *conn, const char *version, const char *url,
                        char *err, size_t errlen);

/* MHD_OPTION_UNESCAPE_CALLBACK: percent-decodes the path as MHD's own unescaper does, except
 * that a decoded NUL (%00), which would end the C string and shorten the path unseen, is
 * written as DEL (0x7f): f8d_guard_verdict refuses both as control characters. cls unused. */
size_t f8d_http_unescape(void *cls, struct MHD_Connection *conn, char *uri);

#endif /* F8D_HTTP_GUARD_H */
