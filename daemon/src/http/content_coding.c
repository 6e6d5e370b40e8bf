/* f8d request body content codings: the Content-Encoding header, and gzip/deflate bodies
 * inflated with zlib under a bound on the decoded size. */
#include "content_coding.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/errors.h"

static const struct {
    const char *name;
    enum f8d_coding coding;
} CODINGS[] = {
    {"identity", F8D_CODING_IDENTITY},
    {"gzip", F8D_CODING_GZIP},
    {"x-gzip", F8D_CODING_GZIP}, /* RFC 9110 8.4.1.3: same as gzip */
    {"deflate", F8D_CODING_DEFLATE},
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

int f8d_coding_parse(const char *header, enum f8d_coding *out, char *err, size_t errlen)
{
    *out = F8D_CODING_IDENTITY;
    if (header == NULL)
        return F8D_OK;
    int found = 0;
    const char *p = header;
    while (*p != '\0') {
        while (is_space(*p) || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && is_space(p[end - 1]))
            end--;
        if (end == 0)
            break;
        size_t i = 0;
        while (i < sizeof(CODINGS) / sizeof(CODINGS[0]) &&
               !(strlen(CODINGS[i].name) == end && strncasecmp(p, CODINGS[i].name, end) == 0))
            i++;
        int shown = end > 64 ? 64 : (int)end;
        if (i == sizeof(CODINGS) / sizeof(CODINGS[0])) {
            snprintf(err, errlen,
                     "unsupported Content-Encoding '%.*s': send the body as is, or with gzip "
                     "or deflate",
                     shown, p);
            return F8D_EMEDIA;
        }
        if (CODINGS[i].coding != F8D_CODING_IDENTITY) {
            /* Codings applied one over another (gzip, gzip) are legal but nobody sends them
             * on purpose: one decoding pass each would multiply a bomb's reach. */
            if (found++ > 0) {
                snprintf(err, errlen,
                         "unsupported Content-Encoding '%.64s': only one coding (gzip or "
                         "deflate) may be applied",
                         header);
                return F8D_EMEDIA;
            }
            *out = CODINGS[i].coding;
        }
        p += len;
    }
    return F8D_OK;
}

const char *f8d_coding_name(enum f8d_coding coding)
{
    switch (coding) {
    case F8D_CODING_IDENTITY: return "identity";
    case F8D_CODING_GZIP: return "gzip";
    case F8D_CODING_DEFLATE: return "deflate";
    }
    return "unknown";
}

/* RFC 1950's two-byte header: compression method 8 and a check over both bytes. HTTP's
 * "deflate" means this format, but some clients send a raw deflate stream without it. */
static bool zlib_header(const uint8_t *in, size_t n)
{
    return n >= 2 && (in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 &&
           ((unsigned)in[0] * 256u + in[1]) % 31u == 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int f8d_coding_decode(enum f8d_coding coding, const uint8_t *in, size_t n, uint64_t max,
                      uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
    assert(coding != F8D_CODING_IDENTITY); /* callers decode only coded bodies */
    const char *name = f8d_coding_name(coding);
    *out = NULL;
    *out_len = 0;
    int window = coding == F8D_CODING_GZIP ? 16 + MAX_WBITS
                 : zlib_header(in, n)      ? MAX_WBITS
                                           : -MAX_WBITS;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, window) != Z_OK) {
        set_err(err, errlen, "out of memory to decode a %s body", name);
        return F8D_ENOMEM;
    }

    /* One byte over max tells a body of exactly max bytes from a longer one (a max too large
     * to allocate anyway stops at SIZE_MAX, where realloc fails first). */
    uint64_t limit = max < SIZE_MAX ? max + 1 : SIZE_MAX;
    size_t cap = n < 16 * 1024 ? 64 * 1024 : n * 4;
    if (cap > limit)
        cap = (size_t)limit;
    size_t len = 0, used = 0;
    uint8_t *buf = NULL;
    const char *why = NULL; /* set when the data is not a valid stream */
    int rc = Z_OK;
    for (;;) {
        if (buf == NULL || len == cap) {
            if (buf != NULL) {
                if (cap == limit)
                    break; /* over max: reported below */
                cap = (uint64_t)cap * 2 > limit ? (size_t)limit : cap * 2;
            }
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                rc = Z_MEM_ERROR;
                break;
            }
            buf = grown;
        }
        if (z.avail_in == 0 && used < n) {
            size_t chunk = n - used > UINT_MAX ? UINT_MAX : n - used;
            z.next_in = (Bytef *)(in + used);
            z.avail_in = (uInt)chunk;
            used += chunk;
        }
        size_t room = cap - len > UINT_MAX ? UINT_MAX : cap - len;
        z.next_out = buf + len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        len += room - z.avail_out;
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0 && used == n)
                break;
            /* RFC 1952 2.2: a gzip body may be a series of members; anything else after the
             * end of the stream is not part of the body. */
            if (coding != F8D_CODING_GZIP || inflateReset(&z) != Z_OK) {
                why = "data after the end of the compressed stream";
                break;
            }
        } else if (rc == Z_BUF_ERROR) {
            /* No progress with room to write: all input is used (it is refilled above). */
            why = "the compressed stream ends early";
            break;
        } else if (rc == Z_NEED_DICT) {
            why = "the stream needs a preset dictionary";
            break;
        } else if (rc != Z_OK) {
            why = z.msg ? z.msg : "invalid data";
            break;
        }
    }
    char reason[128];
    snprintf(reason, sizeof(reason), "%s", why ? why : "");
    inflateEnd(&z);
    if (rc == Z_MEM_ERROR) {
        free(buf);
        set_err(err, errlen, "out of memory to decode a %s body", name);
        return F8D_ENOMEM;
    }
    if (len > max) {
        free(buf);
        set_err(err, errlen, "the %s body decodes to more than the limit of %" PRIu64 " bytes",
                name, max);
        return F8D_ETOOBIG;
    }
    if (why != NULL) {
        free(buf);
        set_err(err, errlen, "the body is not valid %s data (Content-Encoding: %s): %s", name,
                name, reason);
        return F8D_EINVAL;
    }
    *out = buf;
    *out_len = len;
    return F8D_OK;
}
