/*
 * libFuzzer harness: what f8d does with a request's head before a handler sees it, without a
 * socket: percent-decoding of the URI (f8d_http_unescape), routing (f8d_route_parse), the
 * smuggling guard (f8d_guard_scan_*, f8d_guard_verdict) and the top_k query value
 * (f8d_parse_top_k).
 *
 * Input layout, newline-separated: method, URI, version, then header lines "Name: value"
 * (a line without ':' is a name with an empty value). A NUL inside a line ends it as it
 * would in MHD's C strings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "http/http_guard.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *lines[MAX_LINES];
    size_t n = 0;
    char *p = text;
    while (n < MAX_LINES) {
        lines[n++] = p;
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    const char *method = lines[0];
    char root[] = "/";
    char *uri = n > 1 ? lines[1] : root;
    const char *version = n > 2 ? lines[2] : "HTTP/1.1";

    /* the query string is split off before unescaping, as MHD does */
    char *query = strchr(uri, '?');
    if (query != NULL)
        *query++ = '\0';
    size_t before = strlen(uri);
    size_t len = f8d_http_unescape(NULL, NULL, uri);
    if (len > before || len != strlen(uri))
        abort(); /* decoding only shortens, and the length is the string's */

    struct f8d_route route;
    memset(&route, 0, sizeof(route));
    int rc = f8d_route_parse(method, uri, &route);
    if (rc != 0 && rc != 404 && rc != 405)
        abort();
    if (memchr(route.model, '\0', sizeof(route.model)) == NULL ||
        memchr(route.version, '\0', sizeof(route.version)) == NULL)
        abort();
    if (rc == 404 && route.kind != F8D_ROUTE_NONE)
        abort();

    struct f8d_guard_scan scan;
    f8d_guard_scan_init(&scan);
    for (size_t i = 3; i < n; i++) {
        char *colon = strchr(lines[i], ':');
        const char *value = "";
        if (colon != NULL) {
            *colon = '\0';
            value = colon + 1;
            while (*value == ' ' || *value == '\t')
                value++;
        }
        f8d_guard_scan_header(&scan, lines[i], value);
    }
    char err[256];
    err[0] = '\0';
    rc = f8d_guard_verdict(&scan, version, uri, err, sizeof(err));
    if (rc != F8D_OK && (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
        abort();

    /* top_k: each query parameter's value, for a model of 10 and of 1000 classes */
    for (char *q = query; q != NULL && *q != '\0';) {
        char *amp = strchr(q, '&');
        if (amp != NULL)
            *amp = '\0';
        char *eq = strchr(q, '=');
        const char *value = eq != NULL ? eq + 1 : q;
        static const uint32_t classes[] = {10, 1000, 0};
        for (int c = 0; c < 3; c++) {
            uint32_t k = 0;
            if (f8d_parse_top_k(value, classes[c], &k) == 0 && (k < 1 || k > classes[c]))
                abort();
        }
        q = amp != NULL ? amp + 1 : NULL;
    }
    free(text);
    return 0;
}
