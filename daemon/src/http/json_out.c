/* f8d JSON text written straight into a byte buffer (see the header). */
#include "json_out.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void f8d_json_out_raw(struct f8d_bytes *b, const char *text)
{
    f8d_bytes_put(b, text, strlen(text));
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0: the rules of jansson's
 * utf8_check_first/utf8_check_full (no overlong forms, no surrogates, at most U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s)
{
    const unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0; /* a continuation byte, 0xC0/0xC1 (overlong) or beyond U+10FFFF */
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_sequence(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

void f8d_json_out_string(struct f8d_bytes *b, const char *s)
{
    const bool valid = utf8_valid(s);
    f8d_bytes_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const unsigned char c = *p;
        char esc[8];
        const char *out = esc;
        size_t n = 2;
        switch (c) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\b': out = "\\b"; break;
        case '\f': out = "\\f"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        default:
            if (c < 0x20) {
                n = (size_t)snprintf(esc, sizeof(esc), "\\u%04X", c);
            } else {
                esc[0] = (char)(c >= 0x80 && !valid ? '?' : c);
                n = 1;
            }
        }
        f8d_bytes_put(b, out, n);
    }
    f8d_bytes_put(b, "\"", 1);
}

void f8d_json_out_uint(struct f8d_bytes *b, uint64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%" PRIu64, v);
    f8d_bytes_put(b, text, (size_t)n);
}

void f8d_json_out_real6(struct f8d_bytes *b, double v)
{
    assert(isfinite(v)); /* jansson has no text for NaN or infinities either */
    char text[40];
    size_t n = (size_t)snprintf(text, sizeof(text) - 2, "%.6g", v);
    if (strchr(text, '.') == NULL && strchr(text, 'e') == NULL) {
        memcpy(text + n, ".0", 3); /* else it would read back as an integer */
        n += 2;
    }
    char *e = strchr(text, 'e');
    if (e != NULL) { /* "1e-07" -> "1e-7", "1e+20" -> "1e20" */
        char *digits = e + 1 + (e[1] == '-');
        char *end = e + 1;
        if (*end == '+' || *end == '-')
            end++;
        while (*end == '0' && end[1] != '\0')
            end++;
        memmove(digits, end, strlen(end) + 1);
        n = strlen(text);
    }
    f8d_bytes_put(b, text, n);
}
