/* f8d request guard: framing headers and path checked before routing (see the header). */
#include "http_guard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "core/errors.h"

void f8d_guard_scan_init(struct f8d_guard_scan *scan)
{
    memset(scan, 0, sizeof(*scan));
}

static void copy_value(char *out, size_t n, const char *value, size_t len)
{
    if (len >= n)
        len = n - 1;
    memcpy(out, value, len);
    out[len] = '\0';
}

/* The transfer codings of one Transfer-Encoding line, comma-separated, each possibly with
 * parameters (";q=..."): every coding but a single "chunked" is one f8d cannot decode. */
static void scan_codings(struct f8d_guard_scan *scan, const char *value)
{
    const char *p = value;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        bool chunked = end == 7 && strncasecmp(p, "chunked", 7) == 0; /* no parameters */
        scan->codings++;
        if ((!chunked || scan->codings > 1) && scan->bad_coding[0] == '\0')
            copy_value(scan->bad_coding, sizeof(scan->bad_coding), p, end);
        p += len;
    }
    if (value[strspn(value, " \t,")] == '\0' && scan->bad_coding[0] == '\0') {
        scan->codings++; /* an empty Transfer-Encoding names no coding we know either */
        snprintf(scan->bad_coding, sizeof(scan->bad_coding), "(empty)");
    }
}

void f8d_guard_scan_header(struct f8d_guard_scan *scan, const char *name, const char *value)
{
    if (name == NULL)
        return;
    if (value == NULL)
        value = "";
    if (strcasecmp(name, MHD_HTTP_HEADER_HOST) == 0) {
        scan->hosts++;
    } else if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (scan->lengths++ == 0)
            copy_value(scan->length, sizeof(scan->length), value, strlen(value));
        else if (!scan->lengths_differ && strncmp(value, scan->length, sizeof(scan->length)) != 0) {
            scan->lengths_differ = true;
            copy_value(scan->other_length, sizeof(scan->other_length), value, strlen(value));
        }
    } else if (strcasecmp(name, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        scan->encodings++;
        scan_codings(scan, value);
    }
}

/* The first control character (C0 or DEL) in the path, or -1. */
static int control_char(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return *p;
    }
    return -1;
}

int f8d_guard_verdict(const struct f8d_guard_scan *scan, const char *version,
                           const char *path, char *err, size_t errlen)
{
    bool http10 = version != NULL && strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
    bool http11 = version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
    int c = path ? control_char(path) : -1;

    if (c >= 0) {
        snprintf(err, errlen, "the path has a control character (%s)",
                 c == 0x7f ? "%00 or %7F" : "a byte below 0x20");
        return F8D_EINVAL;
    }
    if (scan->encodings > 0 && scan->lengths > 0) {
        snprintf(err, errlen, "Transfer-Encoding and Content-Length together: the body's "
                              "length would be ambiguous");
        return F8D_EINVAL;
    }
    if (scan->encodings > 0 && http10) {
        snprintf(err, errlen, "Transfer-Encoding in an HTTP/1.0 request");
        return F8D_EINVAL;
    }
    if (scan->bad_coding[0] != '\0') {
        snprintf(err, errlen, "transfer coding '%s' is not supported (only a single chunked)",
                 scan->bad_coding);
        return F8D_EUNSUPPORTED;
    }
    if (scan->lengths_differ) {
        snprintf(err, errlen, "Content-Length appears more than once with different values "
                              "('%s', '%s')", scan->length, scan->other_length);
        return F8D_EINVAL;
    }
    if (http11 && scan->hosts == 0) {
        snprintf(err, errlen, "an HTTP/1.1 request needs a Host header");
        return F8D_EINVAL;
    }
    if (scan->hosts > 1) {
        snprintf(err, errlen, "more than one Host header");
        return F8D_EINVAL;
    }
    return 0;
}

static enum MHD_Result scan_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    f8d_guard_scan_header(cls, key, value);
    return MHD_YES;
}

int f8d_http_guard(struct MHD_Connection *conn, const char *version, const char *url,
                        char *err, size_t errlen)
{
    struct f8d_guard_scan scan;
    f8d_guard_scan_init(&scan);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_one, &scan);
    return f8d_guard_verdict(&scan, version, url, err, errlen);
}

size_t f8d_http_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    char *r = uri, *w = uri;
    while (*r != '\0') {
        int hi = r[0] == '%' ? f8d_hex_digit(r[1]) : -1;
        int lo = hi >= 0 ? f8d_hex_digit(r[2]) : -1;
        if (lo >= 0) {
            int byte = hi * 16 + lo;
            *w++ = byte == 0 ? (char)0x7f : (char)byte;
            r += 3;
        } else {
            *w++ = *r++; /* a '%' not followed by two hex digits stays as it is, as in MHD */
        }
    }
    *w = '\0';
    return (size_t)(w - uri);
}
